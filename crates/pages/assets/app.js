// suqiu pages: the little behaviour that is not htmx attributes.
// No inline scripts anywhere (the Content-Security-Policy forbids them).
(function () {
  "use strict";
  // htmx requests carry the page's CSRF token.
  document.addEventListener("htmx:configRequest", function (ev) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) { ev.detail.headers["X-CSRF-Token"] = meta.getAttribute("content"); }
  });
})();
