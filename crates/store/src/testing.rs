//! Fresh databases for tests, on both backends.
//!
//! PostgreSQL tests read the server URL from `SUQIU_TEST_DATABASE_URL` (the test
//! script starts a throwaway server and sets it). When it is unset the PostgreSQL
//! half of a test is skipped with a message, unless `SUQIU_REQUIRE_POSTGRES=1`
//! (set by CI), in which case the test fails: CI never silently skips them.

use crate::{Result, Store, StoreError};
use std::str::FromStr;

/// A database that lives as long as this value: the SQLite file's directory
/// is removed, the PostgreSQL database dropped (best effort: `WITH (FORCE)`
/// ends the connections still open; its name is unique so a leftover never
/// collides).
pub struct TestDb {
    pub url: String,
    pub store: Store,
    _dir: Option<TempDir>,
    _pg: Option<DropDatabase>,
}

/// Drops a PostgreSQL test database when dropped.
struct DropDatabase {
    server_url: String,
    name: String,
}

impl Drop for DropDatabase {
    fn drop(&mut self) {
        let server_url = self.server_url.clone();
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        // a thread of its own: drop may run inside (or outside) a runtime
        let done = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                let Ok(cfg) = tokio_postgres::Config::from_str(&server_url) else {
                    return;
                };
                if let Ok((client, conn)) = cfg.connect(tokio_postgres::NoTls).await {
                    tokio::spawn(conn);
                    let _ = client.batch_execute(&sql).await;
                }
            });
        });
        let _ = done.join();
    }
}

/// Minimal temp dir, removed on drop (avoids a dependency for the library).
pub struct TempDir(std::path::PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> std::io::Result<TempDir> {
        let n: u64 = rand::random();
        let p = std::env::temp_dir().join(format!("{prefix}-{}-{n:x}", std::process::id()));
        std::fs::create_dir_all(&p)?;
        Ok(TempDir(p))
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh SQLite file database in a temporary directory.
pub async fn sqlite() -> Result<TestDb> {
    let dir = TempDir::new("suqiu-test").map_err(|e| StoreError::Database(e.to_string()))?;
    let url = format!("sqlite://{}", dir.path().join("suqiu.db").display());
    let store = Store::open(&url).await?;
    Ok(TestDb {
        url,
        store,
        _dir: Some(dir),
        _pg: None,
    })
}

/// The server URL for PostgreSQL tests, if configured. Panics (failing the
/// test) when PostgreSQL is required but not configured.
pub fn postgres_server_url() -> Option<String> {
    match std::env::var("SUQIU_TEST_DATABASE_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            let required = std::env::var("SUQIU_REQUIRE_POSTGRES")
                .map(|v| v == "1")
                .unwrap_or(false);
            assert!(
                !required,
                "SUQIU_REQUIRE_POSTGRES=1 but SUQIU_TEST_DATABASE_URL is not set"
            );
            eprintln!(
                "note: SUQIU_TEST_DATABASE_URL not set; skipping the PostgreSQL half of this test"
            );
            None
        }
    }
}

/// A fresh PostgreSQL database (CREATE DATABASE with a random name) on the test server.
pub async fn postgres(server_url: &str) -> Result<TestDb> {
    let cfg = tokio_postgres::Config::from_str(server_url)
        .map_err(|e| StoreError::BadUrl(e.to_string()))?;
    let (client, conn) = cfg.connect(tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    let name = format!("suqiu_t_{:016x}", rand::random::<u64>());
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await?;
    let url = with_dbname(server_url, &name);
    let store = Store::open(&url).await?;
    Ok(TestDb {
        url,
        store,
        _dir: None,
        _pg: Some(DropDatabase {
            server_url: server_url.to_string(),
            name,
        }),
    })
}

/// Runs raw SQL against a database, bypassing the store (tests that play an
/// attacker with database access, e.g. editing the audit log).
pub async fn raw_sql(url: &str, sql: &str) -> Result<()> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        let c = rusqlite::Connection::open(path)?;
        c.execute_batch(sql)?;
        return Ok(());
    }
    let cfg =
        tokio_postgres::Config::from_str(url).map_err(|e| StoreError::BadUrl(e.to_string()))?;
    let (client, conn) = cfg.connect(tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    client.batch_execute(sql).await?;
    Ok(())
}

/// Replaces the database name in a postgres:// URL.
pub fn with_dbname(server_url: &str, db: &str) -> String {
    let (base, query) = match server_url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (server_url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn dbname_replacement() {
        use super::with_dbname;
        assert_eq!(
            with_dbname("postgres://u@h:5/postgres", "x"),
            "postgres://u@h:5/x"
        );
        assert_eq!(with_dbname("postgres://u@h:5", "x"), "postgres://u@h:5/x");
        assert_eq!(
            with_dbname("postgres://u@h/p?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
    }
}
