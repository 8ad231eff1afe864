#!/usr/bin/env bash
# Installs Debian's headless browser for the pages' browser test
# (crates/pages/tests/browser.rs): the `chromium` and `chromium-driver`
# packages, and a Chinese font for legible screenshots (`fonts-wqy-microhei`),
# when missing and when running as root. Never downloads a browser build of
# its own.
set -euo pipefail

if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] && [ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "browser-deps: chromium/chromedriver missing and not root; install them with: apt-get install chromium chromium-driver" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update >/dev/null
apt-get install -y --no-install-recommends chromium chromium-driver fonts-wqy-microhei >/dev/null
echo "browser-deps: installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium)" >&2
