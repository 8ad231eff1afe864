//! `GET /metrics`: the Prometheus text format (prometheus-client), for the
//! county's IT office. Requests by route (the route pattern, never the raw
//! path: no case id or tracking code becomes a label) and status, latencies,
//! cases filed, the outbox's depth and age, the sweeper's lag, the search
//! index's lag and PostgreSQL's pool, read from the store at each scrape.
//!
//! Who may read it: an administrator (session or a token with the `admin`
//! scope), or a scraper presenting the token given with `serve --metrics-token`
//! (`Authorization: Bearer …`). Counts are operational, never about a person,
//! but they still say how busy each route is, so they are not public.

use crate::problem::Problem;
use crate::ApiError;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use suqiu_app::App;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: String,
}

/// The process's metrics: counters updated by the middleware, gauges set at
/// each scrape.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    filed: Counter<u64, AtomicU64>,
    cases: Gauge,
    outbox_pending: Gauge,
    outbox_age: Gauge,
    outbox_dead: Gauge,
    sweeper_lag: Gauge,
    search_lag: Gauge,
    pool: Family<StateLabels, Gauge>,
    /// Scheduled backups (`serve --backup-dir`), when configured.
    backups: Option<BackupSeries>,
    /// The scraper's bearer token (`serve --metrics-token`).
    token: Option<String>,
}

/// The series of scheduled backups, read from their stats at each scrape.
struct BackupSeries {
    stats: Arc<suqiu_store::backup::BackupStats>,
    last_success: Gauge,
    duration: Gauge<f64, std::sync::atomic::AtomicU64>,
    bytes: Gauge,
    successes: Counter<u64, AtomicU64>,
    failures: Counter<u64, AtomicU64>,
}

impl BackupSeries {
    fn register(
        registry: &mut Registry,
        stats: Arc<suqiu_store::backup::BackupStats>,
    ) -> BackupSeries {
        let s = BackupSeries {
            stats,
            last_success: Gauge::default(),
            duration: Gauge::default(),
            bytes: Gauge::default(),
            successes: Counter::default(),
            failures: Counter::default(),
        };
        registry.register(
            "backup_last_success_timestamp_seconds",
            "When the last scheduled backup completed (Unix time; 0: none since start)",
            s.last_success.clone(),
        );
        registry.register(
            "backup_last_duration_seconds",
            "How long the last completed scheduled backup took",
            s.duration.clone(),
        );
        registry.register(
            "backup_last_size_bytes",
            "Bytes of the last completed scheduled backup",
            s.bytes.clone(),
        );
        registry.register(
            "backup_successes",
            "Scheduled backups completed since start",
            s.successes.clone(),
        );
        registry.register(
            "backup_failures",
            "Scheduled backups that failed since start",
            s.failures.clone(),
        );
        s
    }

    fn update(&self) {
        use std::sync::atomic::Ordering::Relaxed;
        let st = &self.stats;
        self.last_success
            .set(st.last_success_at_ms.load(Relaxed) / 1000);
        self.duration
            .set(st.last_duration_ms.load(Relaxed) as f64 / 1000.0);
        self.bytes
            .set(i64::try_from(st.last_bytes.load(Relaxed)).unwrap_or(i64::MAX));
        for (counter, now) in [
            (&self.successes, st.successes.load(Relaxed)),
            (&self.failures, st.failures.load(Relaxed)),
        ] {
            let seen = counter.get();
            if now > seen {
                counter.inc_by(now - seen);
            }
        }
    }
}

fn latency_histogram() -> Histogram {
    // 1 ms … ~16 s
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

impl Metrics {
    pub fn new(
        token: Option<String>,
        backups: Option<Arc<suqiu_store::backup::BackupStats>>,
    ) -> Metrics {
        let mut registry = Registry::with_prefix("suqiu");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by method, route pattern and status",
            requests.clone(),
        );
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to the response's head, by method and route pattern",
            latency.clone(),
        );
        let filed = Counter::<u64, AtomicU64>::default();
        registry.register(
            "cases_filed",
            "Cases this process filed since it started (every channel)",
            filed.clone(),
        );
        let gauge = |registry: &mut Registry, name: &str, help: &str| {
            let g = Gauge::default();
            registry.register(name, help, g.clone());
            g
        };
        let cases = gauge(
            &mut registry,
            "cases",
            "Cases in the journal (all instances)",
        );
        let outbox_pending = gauge(
            &mut registry,
            "outbox_pending",
            "Notifications waiting to be sent",
        );
        let outbox_age = gauge(
            &mut registry,
            "outbox_oldest_pending_age_seconds",
            "Age of the oldest notification waiting to be sent (0: none waits)",
        );
        let outbox_dead = gauge(
            &mut registry,
            "outbox_dead",
            "Notifications given up on after every retry",
        );
        let sweeper_lag = gauge(
            &mut registry,
            "sweeper_lag_seconds",
            "How long the oldest deadline past due has waited to be marked overdue (0: up to date)",
        );
        let search_lag = gauge(
            &mut registry,
            "search_index_behind_cases",
            "Cases changed since the search index's last committed high-water mark (caught up every 30 s; -1: no index)",
        );
        let pool = Family::<StateLabels, Gauge>::default();
        registry.register(
            "db_pool_connections",
            "PostgreSQL connections: open, idle and the most allowed (absent on SQLite)",
            pool.clone(),
        );
        let backups = backups.map(|b| BackupSeries::register(&mut registry, b));
        Metrics {
            backups,
            registry,
            requests,
            latency,
            filed,
            cases,
            outbox_pending,
            outbox_age,
            outbox_dead,
            sweeper_lag,
            search_lag,
            pool,
            token: token.filter(|t| !t.is_empty()),
        }
    }

    /// Reads the gauges from the app and its store, then renders everything.
    async fn render(&self, app: &App) -> Result<String, ApiError> {
        let now = app.now();
        let s = app
            .store()
            .ops_stats(now)
            .await
            .map_err(suqiu_app::AppError::from)?;
        let secs = |at: Option<i64>| at.map_or(0, |t| ((now - t).max(0)) / 1000);
        self.cases.set(s.cases);
        self.outbox_pending.set(s.outbox_pending);
        self.outbox_age.set(secs(s.outbox_oldest_pending_at));
        self.outbox_dead.set(s.outbox_dead);
        self.sweeper_lag.set(secs(s.oldest_unmarked_due_at));
        let lag = app.search_lag().await?;
        self.search_lag
            .set(lag.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX)));
        if let Some((open, idle, max)) = s.pool {
            for (state, n) in [("open", open), ("idle", idle), ("max", max)] {
                self.pool
                    .get_or_create(&StateLabels {
                        state: state.into(),
                    })
                    .set(i64::try_from(n).unwrap_or(i64::MAX));
            }
        }
        // the counter follows the app's own count (every channel files through it)
        let filed = app.cases_filed();
        let seen = self.filed.get();
        if filed > seen {
            self.filed.inc_by(filed - seen);
        }
        if let Some(b) = &self.backups {
            b.update();
        }
        let mut out = String::new();
        encode(&mut out, &self.registry).map_err(|_| ApiError(Problem::internal()))?;
        Ok(out)
    }
}

/// Counts and times every request by its route pattern.
pub async fn track(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let method = req.method().as_str().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let started = std::time::Instant::now();
    let res = next.run(req).await;
    metrics
        .latency
        .get_or_create(&RouteLabels {
            method: method.clone(),
            route: route.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    metrics
        .requests
        .get_or_create(&RequestLabels {
            method,
            route,
            status: res.status().as_u16(),
        })
        .inc();
    res
}

/// `GET /metrics`.
pub async fn metrics(
    State(app): State<App>,
    axum::Extension(metrics): axum::Extension<Arc<Metrics>>,
    req: Request,
) -> Result<Response, ApiError> {
    let (parts, _) = req.into_parts();
    let bearer = crate::bearer(&parts.headers);
    let scraper = match (&metrics.token, &bearer) {
        (Some(t), Some(b)) => constant_time_eq(t.as_bytes(), b.as_bytes()),
        _ => false,
    };
    if !scraper {
        let Some(b) = bearer else {
            return Err(suqiu_app::AppError::Unauthenticated.into());
        };
        let user = app.authenticate(&b).await?;
        crate::check_scope(&parts, &user)?;
        if !suqiu_app::privacy::allowed(user.role, suqiu_app::privacy::Permission::ViewMetrics) {
            return Err(suqiu_app::AppError::Forbidden.into());
        }
    }
    let body = metrics.render(&app).await?;
    let mut res = (StatusCode::OK, body).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(res)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
