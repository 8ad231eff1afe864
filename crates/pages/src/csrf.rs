//! Cross-site request forgery protection for the pages' form posts.
//!
//! Two independent checks on every POST:
//! 1. a token in the hidden field `csrf` (or the `X-CSRF-Token` header for
//!    htmx requests) equal to SHA-256 of a per-browser secret: the session
//!    token when logged in (an HttpOnly cookie), else the random pre-login
//!    cookie. Another site can neither read the cookie nor the page, so it
//!    cannot know the token;
//! 2. the `Origin` header (or, without it, the `Referer`) must name this host.
//!    Pages ask for `Referrer-Policy: same-origin` in a meta element so that
//!    browsers send the real origin on same-site posts.

use axum::http::{header, HeaderMap};
use sha2::{Digest, Sha256};

/// The token for a secret seed.
pub fn token(seed: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"suqiu-pages-csrf-v1\0");
    h.update(seed.as_bytes());
    hex::encode(h.finalize())
}

/// Constant-time comparison of two tokens.
pub fn equal(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && !a.is_empty()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Whether the post comes from a page of this host: the `Origin` header (or
/// else the `Referer`) must be `http(s)://<Host>`. A request with neither
/// (not a browser) is left to the token check.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return headers.get(header::ORIGIN).is_none() && headers.get(header::REFERER).is_none();
    };
    let ok = |o: &str| o == format!("http://{host}") || o == format!("https://{host}");
    if let Some(origin) = headers.get(header::ORIGIN) {
        return origin.to_str().map(ok).unwrap_or(false);
    }
    if let Some(referer) = headers.get(header::REFERER) {
        let Ok(r) = referer.to_str() else {
            return false;
        };
        // scheme://host followed by '/', '?', '#' or the end
        let origin_end = r
            .find("://")
            .map(|i| i + 3)
            .and_then(|s| r[s..].find(['/', '?', '#']).map(|e| s + e))
            .unwrap_or(r.len());
        return ok(&r[..origin_end]);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(k.clone(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn tokens_differ_per_seed_and_compare() {
        assert_ne!(token("a"), token("b"));
        assert!(equal(&token("a"), &token("a")));
        assert!(!equal(&token("a"), &token("b")));
        assert!(!equal("", ""));
    }

    #[test]
    fn origin_must_be_this_host() {
        let h = header::HOST;
        assert!(same_origin(&headers(&[(h.clone(), "127.0.0.1:8080")])));
        assert!(same_origin(&headers(&[
            (h.clone(), "127.0.0.1:8080"),
            (header::ORIGIN, "http://127.0.0.1:8080")
        ])));
        assert!(!same_origin(&headers(&[
            (h.clone(), "127.0.0.1:8080"),
            (header::ORIGIN, "http://evil.example")
        ])));
        assert!(!same_origin(&headers(&[
            (h.clone(), "127.0.0.1:8080"),
            (header::ORIGIN, "null")
        ])));
        assert!(same_origin(&headers(&[
            (h.clone(), "127.0.0.1:8080"),
            (header::REFERER, "http://127.0.0.1:8080/report?x=1")
        ])));
        assert!(!same_origin(&headers(&[
            (h.clone(), "127.0.0.1:8080"),
            (header::REFERER, "http://127.0.0.1:8080.evil.example/")
        ])));
    }
}
