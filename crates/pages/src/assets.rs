//! Vendored and own static files, served from the binary with long cache
//! headers. Names carry the version (or a content hash) so a new build never
//! serves a stale file from a browser's cache.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// htmx, vendored from npm `htmx.org@2.0.4` (see `assets/VENDORED.md`).
pub const HTMX: &[u8] = include_bytes!("../assets/htmx-2.0.4.min.js");
pub const HTMX_PATH: &str = "/assets/htmx-2.0.4.min.js";

pub const CSS: &[u8] = include_bytes!("../assets/app.css");
pub const JS: &[u8] = include_bytes!("../assets/app.js");
/// Bump the suffix when app.css or app.js change (they are cached for a year).
pub const CSS_PATH: &str = "/assets/app-8.css";
pub const JS_PATH: &str = "/assets/app-7.js";

/// The site's icon (32×32, PNG in an ICO container), at the address browsers ask for.
pub const FAVICON: &[u8] = include_bytes!("../assets/favicon.ico");

pub async fn favicon() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/x-icon"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        FAVICON,
    )
        .into_response()
}

pub async fn serve(Path(name): Path<String>) -> Response {
    let (body, ctype): (&'static [u8], &str) = match format!("/assets/{name}").as_str() {
        HTMX_PATH => (HTMX, "text/javascript; charset=utf-8"),
        CSS_PATH => (CSS, "text/css; charset=utf-8"),
        JS_PATH => (JS, "text/javascript; charset=utf-8"),
        _ => return (StatusCode::NOT_FOUND, "not found").into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, ctype),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    /// SHA-256 of [`HTMX`], as recorded in `assets/VENDORED.md`.
    const HTMX_SHA256: &str = "e209dda5c8235479f3166defc7750e1dbcd5a5c1808b7792fc2e6733768fb447";

    #[test]
    fn vendored_assets_match_their_checksums() {
        assert_eq!(hex::encode(Sha256::digest(HTMX)), HTMX_SHA256);
        let recorded = include_str!("../assets/VENDORED.md");
        assert!(
            recorded.contains(HTMX_SHA256),
            "VENDORED.md lists the checksum"
        );
        let license = include_bytes!("../assets/htmx-LICENSE");
        let sum = hex::encode(Sha256::digest(license));
        assert!(
            recorded.contains(&sum),
            "VENDORED.md lists the license's checksum"
        );
        assert!(HTMX_PATH.contains("2.0.4") && recorded.contains("htmx.org@2.0.4"));
    }
}
