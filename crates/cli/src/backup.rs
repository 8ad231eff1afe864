//! `suqiu backup`, `suqiu backup verify`, `suqiu restore` and the scheduled backups of
//! `serve --backup-dir`. The snapshot, the manifest and the checks are in
//! `suqiu_store::backup`; here: the commands, the rebuild of derived data after a
//! restore, and the schedule (keep the newest N, a log line and metrics per backup).

use anyhow::Context;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use suqiu_app::{App, Store, SystemClock};
use suqiu_store::backup::{self, BackupStats, Manifest};

#[derive(clap::Subcommand)]
pub enum BackupCommand {
    /// 校验备份：清单、每个文件的校验和、行数、审计链 / Check a backup on its own: manifest, every file's SHA-256, row counts,
    /// the audit chain (and SQLite's integrity check). Exits non-zero on any problem.
    Verify {
        /// 备份目录 / The backup directory
        dir: PathBuf,
    },
}

fn summary(m: &Manifest) -> String {
    let head = m
        .audit_head
        .as_ref()
        .map_or_else(|| "none".to_string(), ToString::to_string);
    format!(
        "{} backend, schema {}, {} cases, {} events, {} photos, {} files, {} bytes, audit head {head}",
        m.backend,
        m.schema_version,
        m.rows("cases"),
        m.rows("events"),
        m.rows("case_photos"),
        m.files.len(),
        m.total_bytes()
    )
}

/// `suqiu backup --out DIR`.
pub async fn take(database_url: &str, out: &Path) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let m = backup::backup(database_url, out).await?;
    println!(
        "备份完成 / backup written: {} ({}; {:.1} s)",
        out.display(),
        summary(&m),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `suqiu backup verify DIR`.
pub async fn verify(dir: PathBuf) -> anyhow::Result<()> {
    let shown = dir.display().to_string();
    let v = tokio::task::spawn_blocking(move || backup::verify(&dir))
        .await?
        .map_err(|e| anyhow::anyhow!("备份校验失败 / backup verification failed: {shown}: {e}"))?;
    println!(
        "备份校验通过 / backup verified: {shown} ({}; {} rows counted)",
        summary(&v.manifest),
        v.rows
    );
    Ok(())
}

/// `suqiu restore DIR --database-url URL`: the data, then the derived data.
pub async fn restore(dir: &Path, database_url: &str, search_dir: &Path) -> anyhow::Result<()> {
    check_search_dir(search_dir)?;
    let m = backup::restore(dir, database_url).await.map_err(|e| {
        anyhow::anyhow!(
            "恢复失败，目标数据库未改动 / restore failed, nothing was written: {}: {e}",
            dir.display()
        )
    })?;
    println!(
        "数据已恢复 / data restored into {database_url}: {}",
        summary(&m)
    );
    let store = Store::open(database_url)
        .await
        .with_context(|| format!("opening {database_url}"))?;
    let (search, signatures) = rebuild_derived(store, search_dir).await?;
    println!(
        "派生数据已重建 / derived data rebuilt: search index {} ({search} cases), related-case signatures of {signatures} cases",
        search_dir.display()
    );
    Ok(())
}

/// A search directory restore may empty: absent, empty, or a search index.
fn check_search_dir(search_dir: &Path) -> anyhow::Result<()> {
    if !search_dir.exists() {
        return Ok(());
    }
    let empty = std::fs::read_dir(search_dir)
        .with_context(|| format!("reading {}", search_dir.display()))?
        .next()
        .is_none();
    if !empty && !search_dir.join("meta.json").is_file() {
        anyhow::bail!(
            "{} 不是检索索引目录，未删除；请用 --search-dir 指定 / {} is not a search index (no meta.json): \
             not removing it; choose another --search-dir",
            search_dir.display(),
            search_dir.display()
        );
    }
    Ok(())
}

/// Rebuilds what a backup leaves out: a fresh search index at `search_dir` (what
/// was there belonged to another database), the related-case signatures; the audit
/// entries restored in PostgreSQL's inbox are chained. (Topics, statistics and work
/// queues are read from the journal and projections, which are restored.)
pub async fn rebuild_derived(store: Store, search_dir: &Path) -> anyhow::Result<(u64, usize)> {
    if search_dir.exists() {
        check_search_dir(search_dir)?;
        std::fs::remove_dir_all(search_dir)
            .with_context(|| format!("removing the old search index {}", search_dir.display()))?;
    }
    std::fs::create_dir_all(search_dir)
        .with_context(|| format!("creating {}", search_dir.display()))?;
    store.chain_audit().await?;
    let index = suqiu_app::SearchIndex::open(search_dir)
        .with_context(|| format!("opening {}", search_dir.display()))?;
    let app = App::new(store, Arc::new(SystemClock))
        .await?
        .with_search(index);
    let indexed = app.catch_up_search().await?;
    let app = app
        .with_related(suqiu_text::RelatedConfig::default())
        .await
        .context("building the related-case index")?;
    let related = app.related_index().map_or(0, |r| r.len());
    Ok((indexed, related))
}

/// `24h`, `30m`, `90s`, `7d` (a whole number and a unit).
pub fn parse_every(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let bad =
        || format!("{raw:?}：请写成 24h、30m、90s 或 7d / {raw:?}: use e.g. 24h, 30m, 90s or 7d");
    let split = raw.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (n, unit) = raw.split_at(split);
    let n: u64 = n.parse().map_err(|_| bad())?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(bad()),
    };
    if secs == 0 {
        return Err(bad());
    }
    Ok(Duration::from_secs(secs))
}

/// Names of scheduled backups: `suqiu-<UTC time>`, which sort by time.
const PREFIX: &str = "suqiu-";

fn is_partial(name: &str) -> bool {
    name.contains(".partial-")
}

/// The complete scheduled backups in `dir`, oldest first.
fn scheduled(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(PREFIX) && !is_partial(n))
                && p.join(backup::MANIFEST).is_file()
        })
        .collect();
    v.sort();
    Ok(v)
}

/// The schedule of `serve --backup-dir`.
pub struct Schedule {
    pub dir: PathBuf,
    pub every: Duration,
    pub keep: usize,
}

/// One scheduled backup: written, old ones beyond `keep` removed, partial
/// directories of backups cut short (older than an hour) removed.
async fn scheduled_backup(database_url: &str, s: &Schedule) -> anyhow::Result<(PathBuf, Manifest)> {
    std::fs::create_dir_all(&s.dir).with_context(|| format!("creating {}", s.dir.display()))?;
    let stamp = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .context("formatting the time")?;
    let mut out = s.dir.join(format!("{PREFIX}{stamp}"));
    let mut n = 1;
    while out.exists() {
        n += 1;
        out = s.dir.join(format!("{PREFIX}{stamp}-{n}"));
    }
    let m = backup::backup(database_url, &out).await?;
    let all = scheduled(&s.dir)?;
    let keep = s.keep.max(1);
    for old in all.iter().take(all.len().saturating_sub(keep)) {
        if let Err(e) = std::fs::remove_dir_all(old) {
            tracing::warn!(dir = %old.display(), error = %e, "removing an old backup failed");
        }
    }
    for e in std::fs::read_dir(&s.dir)?.filter_map(|e| e.ok()) {
        let name = e.file_name().to_string_lossy().to_string();
        let stale = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > Duration::from_secs(3600));
        if name.starts_with(PREFIX) && is_partial(&name) && stale {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
    Ok((out, m))
}

/// Backs up every `every` (the first one when the newest backup in the directory is
/// that old, so restarts never postpone it), recording each in `stats`.
pub fn spawn(
    database_url: String,
    s: Schedule,
    stats: Arc<BackupStats>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let newest_age = scheduled(&s.dir).ok().and_then(|v| {
            let m = backup::read_manifest(v.last()?).ok()?;
            let now = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
            Some(Duration::from_millis(
                u64::try_from(now - m.created_at_ms).unwrap_or(0),
            ))
        });
        let mut wait = match newest_age {
            Some(age) => s.every.saturating_sub(age),
            None => Duration::ZERO,
        };
        loop {
            tokio::time::sleep(wait).await;
            wait = s.every;
            let started = std::time::Instant::now();
            match scheduled_backup(&database_url, &s).await {
                Ok((out, m)) => {
                    let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                    stats.record_success(m.created_at_ms, ms, m.total_bytes());
                    tracing::info!(
                        dir = %out.display(),
                        cases = m.rows("cases"),
                        events = m.rows("events"),
                        bytes = m.total_bytes(),
                        millis = ms,
                        audit_head = %m.audit_head.as_ref().map_or_else(String::new, ToString::to_string),
                        "backup written"
                    );
                }
                Err(e) => {
                    stats.record_failure();
                    tracing::error!(dir = %s.dir.display(), error = %e, "backup failed");
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::parse_every;
    use std::time::Duration;

    #[test]
    fn intervals() {
        assert_eq!(parse_every("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_every("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_every("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_every("7d"), Ok(Duration::from_secs(7 * 86_400)));
        for bad in ["", "h", "0h", "12", "1w", "-1h"] {
            assert!(parse_every(bad).is_err(), "{bad}");
        }
    }
}
