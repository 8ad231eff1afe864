//! Property-based fuzzing of the public endpoints (no login): random bodies,
//! headers and paths never make the server panic or answer 5xx, and nothing
//! invalid is stored. Runs a bounded number of cases in CI.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use axum::body::Body;
use axum::http::{header, Request};
use proptest::prelude::*;
use std::sync::Arc;
use suqiu_app::{orgconfig, App, FixedClock};
use tower::ServiceExt;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

struct Target {
    rt: tokio::runtime::Runtime,
    router: axum::Router,
    app: App,
    _db: suqiu_store::testing::TestDb,
}

fn target() -> Target {
    let rt = runtime();
    let (router, app, db) = rt.block_on(async {
        let db = suqiu_store::testing::sqlite().await.unwrap();
        let app = App::new(
            db.store.clone(),
            Arc::new(FixedClock::new(1_795_395_600_000)),
        )
        .await
        .unwrap()
        .with_limits(suqiu_app::limits::Limits::UNLIMITED);
        app.load_org(orgconfig::DEMO_DISTRICT).await.unwrap();
        (suqiu_web::router(app.clone()), app, db)
    });
    Target {
        rt,
        router,
        app,
        _db: db,
    }
}

impl Target {
    fn send(&self, req: Request<Body>) -> u16 {
        self.rt.block_on(async {
            self.router
                .clone()
                .oneshot(req)
                .await
                .unwrap()
                .status()
                .as_u16()
        })
    }
}

/// JSON-ish values around the intake shape, with hostile strings.
fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("'; DROP TABLE cases; --".to_string()),
        Just("../../etc/passwd".to_string()),
        Just("%00%ff".to_string()),
        Just("\u{0000}\u{202e}".to_string()),
        "\\PC{0,40}",
        "[0-9]{0,20}",
        Just("字".repeat(6000)),
    ]
}

fn body() -> impl Strategy<Value = String> {
    let field = prop_oneof![
        hostile().prop_map(serde_json::Value::String),
        any::<i64>().prop_map(serde_json::Value::from),
        Just(serde_json::Value::Null),
        Just(serde_json::json!({"name": "王", "phone": "13912345678"})),
        Just(serde_json::json!([1, 2])),
    ];
    let obj = proptest::collection::vec(
        (
            prop_oneof![
                Just("channel".to_string()),
                Just("unit".to_string()),
                Just("title".to_string()),
                Just("content".to_string()),
                Just("reporter".to_string()),
                Just("accused".to_string()),
                "[a-z]{1,8}"
            ],
            field,
        ),
        0..8,
    )
    .prop_map(|kv| serde_json::Value::Object(kv.into_iter().collect()).to_string());
    prop_oneof![
        obj,
        "\\PC{0,200}",
        proptest::collection::vec(any::<u8>(), 0..300)
            .prop_map(|b| String::from_utf8_lossy(&b).to_string())
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn public_endpoints_never_fail_inside(
        b in body(),
        ctype in prop_oneof![Just("application/json"), Just("text/plain"), Just("application/json; charset=utf-8"), Just("")],
        code in hostile(),
        rating in hostile(),
    ) {
        let t = target_once();
        let before = t.rt.block_on(t.app.store().count_cases()).unwrap();
        let mut req = Request::post("/api/v1/cases");
        if !ctype.is_empty() {
            req = req.header(header::CONTENT_TYPE, ctype);
        }
        let s = t.send(req.body(Body::from(b.clone())).unwrap());
        prop_assert!(s < 500, "intake {s} for {b:?}");
        let after = t.rt.block_on(t.app.store().count_cases()).unwrap();
        prop_assert!(s == 201 || after == before, "a refused request wrote something");

        let path: String = code.chars().filter(|c| !c.is_control() && *c != ' ' && *c != '?' && *c != '#' && *c != '%').collect();
        if let Ok(req) = Request::get(format!("/api/v1/track/{path}")).body(Body::empty()) {
            let s = t.send(req);
            prop_assert!(s < 500, "track {s} for {path:?}");
        }
        let r = serde_json::json!({"rating": rating}).to_string();
        if let Ok(req) = Request::post(format!("/api/v1/track/{path}/rating"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(r))
        {
            let s = t.send(req);
            prop_assert!(s < 500, "rating {s}");
        }
        let login = serde_json::json!({"login": code, "password": rating}).to_string();
        let s = t.send(Request::post("/api/v1/auth/login").header(header::CONTENT_TYPE, "application/json").body(Body::from(login)).unwrap());
        prop_assert!(s < 500, "login {s}");
    }
}

/// One target for the whole property run (a database per case would be slow).
fn target_once() -> &'static Target {
    static T: std::sync::OnceLock<Target> = std::sync::OnceLock::new();
    T.get_or_init(target)
}
