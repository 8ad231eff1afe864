//! Server-rendered pages (Simplified Chinese first). Mounted by `suqiu-web`.

use axum::Router;
use suqiu_app::App;

/// The page routes, merged into the web router.
pub fn router() -> Router<App> {
    Router::new()
}
