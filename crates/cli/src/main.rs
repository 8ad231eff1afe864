//! `suqiu`: the one binary. Subcommands: serve, migrate, bench, routing.

mod backup;
mod bench;
mod bench_text;
mod http1;
mod ledger;
mod scenario;

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::sync::Arc;
use suqiu_app::{orgconfig, App, Store, SystemClock};

#[derive(Parser)]
#[command(
    name = "suqiu",
    version,
    about = "诉求 suqiu：区县群众诉求、信访和矛盾纠纷办理平台 / requests, petitions and disputes of a district"
)]
struct Cli {
    /// 日志格式：text（默认）或 json（每行一个 JSON 对象，带请求编号） / Log format: text (default) or json (one JSON object per line, with request ids)
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

const DEFAULT_DB: &str = "sqlite://suqiu-data/suqiu.db";

#[derive(Subcommand)]
enum Command {
    /// 启动服务器 / Run the server.
    Serve {
        /// 载入演示辖区（芙蓉湾区）及演示账号 / Load the demo district (芙蓉湾区) and its demo logins.
        #[arg(long)]
        demo: bool,
        /// 组织架构配置文件（TOML），启动时载入 / Organisation config file (TOML) to load at start.
        #[arg(long)]
        org: Option<std::path::PathBuf>,
        /// 办理时限规则文件（TOML），默认内置 / Deadline rules file (TOML, see config/deadline-rules.toml); default: built in.
        #[arg(long)]
        rules: Option<std::path::PathBuf>,
        /// 每个客户端地址每天允许的群众提交数 / Residents' submissions allowed per client address per day.
        #[arg(long, default_value_t = 200)]
        intake_per_address_per_day: u32,
        /// 每个手机号每天允许的群众提交数 / Residents' submissions allowed per phone number per day.
        #[arg(long, default_value_t = 10)]
        intake_per_phone_per_day: u32,
        /// 全文检索索引目录 / Directory of the full-text search index (default: next to a SQLite
        /// database, else ./suqiu-data/search-index). Caught up from the journal at start
        /// and every 30 s (a high-water mark kept in the index's commits).
        #[arg(long)]
        search_dir: Option<std::path::PathBuf>,
        /// 审计链头签名记录文件（与数据库分开保存） / File the audit chain's head is appended to (HMAC-signed), kept apart
        /// from the database (default: next to a SQLite database, else
        /// ./suqiu-data/audit-checkpoints); `suqiu audit verify --checkpoints` checks it.
        #[arg(long)]
        audit_checkpoints: Option<std::path::PathBuf>,
        /// 审计签名密钥文件 / Key of the checkpoints (default: the checkpoint file + `.key`, made at first use).
        #[arg(long)]
        audit_key: Option<std::path::PathBuf>,
        /// 审计签名间隔秒数 / Seconds between audit checkpoints (written only when the head moved).
        #[arg(long, default_value_t = 60)]
        audit_checkpoint_secs: u64,
        /// 每个地址每分钟允许的查询次数 / Tracking lookups allowed per client address per minute.
        #[arg(long, default_value_t = 120)]
        track_per_address_per_minute: u32,
        /// 每个地址每小时允许的查询码错误次数 / Tracking codes that match no case (or wrong phone digits) allowed per
        /// client address per hour; past it the address is refused until the hour ends.
        #[arg(long, default_value_t = 30)]
        track_misses_per_address_per_hour: u32,
        /// 通知渠道与发送设置（TOML） / Notification channels, routes and sender settings (TOML, see
        /// config/notify.example.toml); without it notifications wait in the outbox.
        #[arg(long)]
        notify: Option<std::path::PathBuf>,
        /// 监控抓取令牌：Prometheus 以 `Authorization: Bearer …` 读取 /metrics（管理员也可） / Token a Prometheus scraper presents to GET /metrics (administrators may read it too)
        #[arg(long, env = "SUQIU_METRICS_TOKEN", hide_env_values = true)]
        metrics_token: Option<String>,
        /// 监听地址 / Address to listen on
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// 数据库地址 / sqlite://PATH (default, embedded) or postgres://USER@HOST:PORT/DB
        #[arg(long, default_value = DEFAULT_DB)]
        database_url: String,
        /// 定时备份目录（每次一个 suqiu-<时间> 子目录） / Directory of scheduled backups (one suqiu-<UTC time> directory each).
        #[arg(long)]
        backup_dir: Option<std::path::PathBuf>,
        /// 定时备份间隔，如 24h、30m / Time between scheduled backups, e.g. 24h, 30m, 90s, 7d.
        #[arg(long, default_value = "24h", value_parser = backup::parse_every)]
        backup_every: std::time::Duration,
        /// 保留最近几份定时备份 / How many of the newest scheduled backups to keep.
        #[arg(long, default_value_t = 14)]
        backup_keep: usize,
    },
    /// 在线备份（服务器运行时也可） / Take a consistent online backup (while servers run) into a new directory.
    #[command(args_conflicts_with_subcommands = true)]
    Backup {
        #[command(subcommand)]
        which: Option<backup::BackupCommand>,
        /// 备份目录（不能已存在） / The backup directory to create (must not exist).
        #[arg(long)]
        out: Option<std::path::PathBuf>,
        /// 数据库地址：sqlite://路径（默认，内嵌）或 postgres://用户@主机:端口/库 / Database: sqlite://PATH (default, embedded) or postgres://USER@HOST:PORT/DB
        #[arg(long, default_value = DEFAULT_DB)]
        database_url: String,
    },
    /// 把备份恢复到空数据库，并重建派生数据 / Restore a backup into an empty database (same backend), then rebuild derived data.
    Restore {
        /// 备份目录 / The backup directory
        dir: std::path::PathBuf,
        /// 目标数据库（必须为空） / The target database (must be empty): sqlite://PATH or postgres://USER@HOST:PORT/DB
        #[arg(long)]
        database_url: String,
        /// 全文检索索引目录（重建） / Search index directory to rebuild (default: where serve looks for it).
        #[arg(long)]
        search_dir: Option<std::path::PathBuf>,
    },
    /// 执行数据库迁移后退出 / Apply the embedded migrations and exit.
    Migrate {
        /// 数据库地址：sqlite://路径（默认，内嵌）或 postgres://用户@主机:端口/库 / Database: sqlite://PATH (default, embedded) or postgres://USER@HOST:PORT/DB
        #[arg(long, default_value = DEFAULT_DB)]
        database_url: String,
        /// 迁移后按事件日志重建队列与时限 / Then rewrite every case's queue memberships and deadlines from its
        /// journal (after an upgrade that changes how they are derived).
        #[arg(long)]
        rebuild_projections: bool,
    },
    /// 性能测试（输出 JSON） / Benchmarks that print JSON.
    Bench {
        #[command(subcommand)]
        which: BenchCommand,
    },
    /// 分派分类模型 / The routing classifier.
    Routing {
        #[command(subcommand)]
        which: RoutingCommand,
    },
    /// 六单工作法的 YAML 场景 / Declarative YAML stories of the six orders (docs/scenarios.md).
    Scenario {
        #[command(subcommand)]
        which: ScenarioCommand,
    },
    /// 哈希链审计日志 / The hash-chained audit log.
    Audit {
        #[command(subcommand)]
        which: AuditCommand,
    },
    /// 保存期限：清理过期的审计记录、个人信息和通知 / Retention: purge audit records older than the retention period (at least 180 days).
    Retention {
        /// 数据库地址：sqlite://路径（默认，内嵌）或 postgres://用户@主机:端口/库 / Database: sqlite://PATH (default, embedded) or postgres://USER@HOST:PORT/DB
        #[arg(long, default_value = DEFAULT_DB)]
        database_url: String,
        /// 审计记录保留天数（至少 180） / Days audit records are kept (at least 180)
        #[arg(long, default_value_t = 365)]
        audit_days: u32,
        /// 办结后保留群众个人信息的天数 / Days after closing that a case keeps its reporter's personal data.
        #[arg(long, default_value_t = 1095)]
        personal_data_days: u32,
        /// 已发送和发送失败通知的保留天数 / Days that sent and dead notifications are kept.
        #[arg(long, default_value_t = 180)]
        notification_days: u32,
        /// 只报告将清理的内容，不实际清理 / Only report what would be purged.
        #[arg(long)]
        dry_run: bool,
    },
    /// 台账：导入 xlsx/csv、导出诉求列表 / Ledgers (台账): import xlsx/csv as cases, export case lists.
    Ledger {
        #[command(subcommand)]
        which: ledger::LedgerCommand,
    },
    /// 热点问题：按热度归并同一问题的留言 / Hot topics: groups of messages about one local problem, by heat.
    Topics {
        /// 输入文件（JSON Lines） / JSON Lines {id, time, title, detail, likes?, dislikes?}
        #[arg(long)]
        input: std::path::PathBuf,
        /// 输出前几个热点 / How many topics to print
        #[arg(long, default_value_t = 10)]
        top: usize,
        /// 输出 JSON（唯一格式） / Print JSON (the only output format).
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// 校验审计链：重算每条哈希、检查无缺号，并核对保存的链头 / Recompute every hash and check the sequence has no gap; with kept heads
    /// (`--expect-head`, `--checkpoints`), check the log still holds them (a log
    /// cut at its end, or cut and re-chained, does not). Exits non-zero and
    /// names the first bad record.
    Verify {
        /// 数据库地址：sqlite://路径（默认，内嵌）或 postgres://用户@主机:端口/库 / Database: sqlite://PATH (default, embedded) or postgres://USER@HOST:PORT/DB
        #[arg(long, default_value = DEFAULT_DB)]
        database_url: String,
        /// 之前记下的链头（序号:哈希），可重复 / A head printed by `suqiu audit head` earlier (SEQ:HASH); repeatable.
        #[arg(long)]
        expect_head: Vec<suqiu_app::privacy::AuditHead>,
        /// 服务器的审计签名记录文件 / The server's checkpoint file (every line's HMAC is checked too).
        #[arg(long)]
        checkpoints: Option<std::path::PathBuf>,
        /// 审计签名密钥文件 / Key of the checkpoints (default: the checkpoint file + `.key`).
        #[arg(long)]
        audit_key: Option<std::path::PathBuf>,
    },
    /// 打印审计链头（序号:哈希），供异地保存 / Print the audit chain's head (SEQ:HASH) to keep off-site.
    Head {
        /// 数据库地址：sqlite://路径（默认，内嵌）或 postgres://用户@主机:端口/库 / Database: sqlite://PATH (default, embedded) or postgres://USER@HOST:PORT/DB
        #[arg(long, default_value = DEFAULT_DB)]
        database_url: String,
    },
    /// 以 JSON Lines 导出审计日志 / Print the log as JSON Lines.
    Export {
        /// 数据库地址：sqlite://路径（默认，内嵌）或 postgres://用户@主机:端口/库 / Database: sqlite://PATH (default, embedded) or postgres://USER@HOST:PORT/DB
        #[arg(long, default_value = DEFAULT_DB)]
        database_url: String,
    },
}

#[derive(Subcommand)]
enum ScenarioCommand {
    /// 逐个在全新实例上运行场景文件 / Run scenario files against a fresh instance each.
    Run {
        /// 场景文件 / Scenario files
        files: Vec<std::path::PathBuf>,
        /// PostgreSQL 服务器（每个文件新建数据库） / A PostgreSQL server (a fresh database per file); default in-memory SQLite.
        #[arg(long)]
        database_url: Option<String>,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// 文本性能：分派预测、检索延迟和重复件查找 / Routing predictions/s, search p50/p99 (rare and common words) and duplicate
    /// lookup at intake over a synthetic corpus built from the shared messages.
    Text {
        /// 合成语料的诉求数 / Cases of the synthetic corpus.
        #[arg(long, default_value_t = 1_000_000)]
        cases: usize,
        /// 共享数据目录 / Directory with routing/train.jsonl and hot-topics/messages.jsonl.
        #[arg(long, default_value = "/work/shared/data")]
        data: std::path::PathBuf,
        /// 分派训练文件 / Routing training file (default: DATA/routing/train.jsonl).
        #[arg(long)]
        train: Option<std::path::PathBuf>,
        /// 受理时重复件查找次数 / Duplicate lookups at intake.
        #[arg(long, default_value_t = 2_000)]
        probes: usize,
        /// 每个词的检索次数 / Searches per word (20 rare and 20 common words).
        #[arg(long, default_value_t = 50)]
        repeat: usize,
    },
    /// 时限巡检性能，以及一个单位的队列 / Deadline sweep over many open cases, and one unit's queue over HTTP.
    Sweep {
        /// 要创建的未办结诉求数 / Open cases to create.
        #[arg(long, default_value_t = 1_000_000)]
        cases: usize,
        /// 同时在此 PostgreSQL 服务器上运行 / Also run against this PostgreSQL server (a fresh database is created on it).
        #[arg(long)]
        postgres_url: Option<String>,
        /// 跳过 SQLite / Skip the SQLite run.
        #[arg(long)]
        no_sqlite: bool,
    },
    /// 本机回环 HTTP 并发受理性能 / Case creation over HTTP on loopback with concurrent clients.
    Intake {
        /// 并发长连接数 / Concurrent keep-alive connections.
        #[arg(long, default_value_t = 64)]
        clients: usize,
        /// 每种数据库要创建的诉求数 / Cases to create per backend (after a warm-up of 1,000).
        #[arg(long, default_value_t = 60_000)]
        requests: usize,
        /// 同时在此 PostgreSQL 服务器上运行 / Also run against this PostgreSQL server (a fresh database is created on it).
        #[arg(long)]
        postgres_url: Option<String>,
        /// 跳过 SQLite / Skip the SQLite run.
        #[arg(long)]
        no_sqlite: bool,
        /// 每种数据库重复次数（报告中位数） / Repetitions per backend; the median run is reported with all runs.
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
}

#[derive(Subcommand)]
enum RoutingCommand {
    /// 训练并评估分派模型，输出 JSON 指标 / Train on one JSON Lines file, predict another, print metrics as JSON.
    Evaluate {
        /// 训练文件（JSON Lines） / Training file (JSON Lines)
        #[arg(long)]
        train: std::path::PathBuf,
        /// 测试文件（JSON Lines） / Test file (JSON Lines)
        #[arg(long)]
        test: std::path::PathBuf,
    },
    /// 训练分派模型并存入数据库（各实例自动载入） / Train a routing model on JSON Lines {text, label} and store it in the
    /// database as the newest version (every server instance loads it).
    Train {
        /// 训练文件（JSON Lines {text, label}） / Training file (JSON Lines {text, label})
        #[arg(long)]
        input: std::path::PathBuf,
        /// 模型类型：category（问题类别）或 unit（部门） / `category` (labels are categories) or `unit` (labels are department codes).
        #[arg(long, default_value = "category")]
        kind: String,
        /// 数据库地址：sqlite://路径（默认，内嵌）或 postgres://用户@主机:端口/库 / Database: sqlite://PATH (default, embedded) or postgres://USER@HOST:PORT/DB
        #[arg(long, default_value = DEFAULT_DB)]
        database_url: String,
    },
}

/// The command line with clap's own words in both languages too: headings,
/// `--help`, `--version`.
fn command_line() -> clap::Command {
    use clap::{Arg, ArgAction};
    fn bilingual(c: clap::Command) -> clap::Command {
        let template = if c.has_subcommands() {
            "{about-with-newline}\n用法 / Usage: {usage}\n\n命令 / Commands:\n{subcommands}\n\n选项 / Options:\n{options}{after-help}"
        } else if c.get_positionals().next().is_some() {
            "{about-with-newline}\n用法 / Usage: {usage}\n\n参数 / Arguments:\n{positionals}\n\n选项 / Options:\n{options}{after-help}"
        } else {
            "{about-with-newline}\n用法 / Usage: {usage}\n\n选项 / Options:\n{options}{after-help}"
        };
        c.help_template(template)
            .disable_help_subcommand(true)
            .disable_help_flag(true)
            .arg(
                Arg::new("help")
                    .short('h')
                    .long("help")
                    .action(ArgAction::Help)
                    .help("打印帮助 / Print help"),
            )
            .mut_subcommands(bilingual)
    }
    bilingual(<Cli as clap::CommandFactory>::command())
        .disable_version_flag(true)
        .arg(
            Arg::new("version")
                .short('V')
                .long("version")
                .action(ArgAction::Version)
                .help("打印版本 / Print version"),
        )
}

fn main() -> anyhow::Result<()> {
    let cli = match <Cli as clap::FromArgMatches>::from_arg_matches(&command_line().get_matches()) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => logs.init(),
        // with the current span (a request's id, method and path) on every line
        LogFormat::Json => logs.json().with_current_span(true).init(),
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            demo,
            org,
            rules,
            intake_per_address_per_day,
            intake_per_phone_per_day,
            track_per_address_per_minute,
            track_misses_per_address_per_hour,
            search_dir,
            audit_checkpoints,
            audit_key,
            audit_checkpoint_secs,
            notify,
            metrics_token,
            listen,
            database_url,
            backup_dir,
            backup_every,
            backup_keep,
        } => {
            let limits = suqiu_app::limits::Limits {
                intake_per_address_per_day,
                intake_per_phone_per_day,
                track_per_address_per_minute,
                track_misses_per_address_per_hour,
            };
            let opts = ServeOptions {
                demo,
                org,
                rules,
                limits,
                search_dir,
                audit: (audit_checkpoints, audit_key, audit_checkpoint_secs),
                notify,
                web: suqiu_web::WebConfig {
                    metrics_token,
                    backups: None,
                },
                backups: backup_dir.map(|dir| backup::Schedule {
                    dir,
                    every: backup_every,
                    keep: backup_keep,
                }),
            };
            serve(opts, &listen, &database_url).await
        }
        Command::Ledger { which } => ledger::run(which).await,
        Command::Backup {
            which: Some(backup::BackupCommand::Verify { dir }),
            ..
        } => backup::verify(dir).await,
        Command::Backup {
            which: None,
            out,
            database_url,
        } => match out {
            Some(out) => backup::take(&database_url, &out).await,
            None => {
                anyhow::bail!("请用 --out 指定备份目录 / give the backup directory with --out DIR")
            }
        },
        Command::Restore {
            dir,
            database_url,
            search_dir,
        } => {
            let search_dir =
                search_dir.unwrap_or_else(|| data_dir(&database_url).join("search-index"));
            backup::restore(&dir, &database_url, &search_dir).await
        }
        Command::Migrate {
            database_url,
            rebuild_projections,
        } => {
            let store = Store::open(&database_url).await?;
            println!("migrations applied ({} backend)", store.backend());
            if rebuild_projections {
                let app = App::new(store, Arc::new(SystemClock)).await?;
                let (read, changed) = app.rebuild_projections().await?;
                println!("projections rebuilt: {read} cases read, {changed} changed");
            }
            Ok(())
        }
        Command::Bench {
            which:
                BenchCommand::Intake {
                    clients,
                    requests,
                    postgres_url,
                    no_sqlite,
                    runs,
                },
        } => bench::intake(clients, requests, postgres_url, !no_sqlite, runs).await,
        Command::Bench {
            which:
                BenchCommand::Text {
                    cases,
                    data,
                    train,
                    probes,
                    repeat,
                },
        } => {
            let b = bench_text::TextBench {
                train: train.unwrap_or_else(|| data.join("routing/train.jsonl")),
                data,
                cases,
                probes,
                repeat,
            };
            let out = tokio::task::spawn_blocking(move || bench_text::run(&b)).await??;
            println!("{out}");
            Ok(())
        }
        Command::Bench {
            which:
                BenchCommand::Sweep {
                    cases,
                    postgres_url,
                    no_sqlite,
                },
        } => bench::sweep(cases, postgres_url, !no_sqlite).await,
        Command::Scenario {
            which:
                ScenarioCommand::Run {
                    files,
                    database_url,
                },
        } => scenario::run_all(&files, database_url.as_deref()).await,
        Command::Audit {
            which:
                AuditCommand::Verify {
                    database_url,
                    mut expect_head,
                    checkpoints,
                    audit_key,
                },
        } => {
            if let Some(path) = &checkpoints {
                if !path.exists() {
                    anyhow::bail!("{}: no such checkpoint file", path.display());
                }
                let cp = suqiu_app::checkpoints::Checkpoints::open(path, audit_key.as_deref())?;
                expect_head.extend(cp.read().map_err(|e| anyhow::anyhow!(e))?);
            }
            let app = App::new(Store::open(&database_url).await?, Arc::new(SystemClock)).await?;
            let check = app.verify_audit_expecting(&expect_head).await?;
            match (check.first_bad, check.problem) {
                (None, _) => {
                    let head = check.head.map(|h| h.to_string()).unwrap_or_default();
                    println!(
                        "audit chain verified: {} records, head {head}, {} kept heads held",
                        check.rows,
                        expect_head.len()
                    );
                    Ok(())
                }
                (Some(seq), problem) => anyhow::bail!(
                    "audit chain broken at record {seq}: {} ({} records verified before it)",
                    problem.map_or("", |p| p.describe()),
                    check.rows
                ),
            }
        }
        Command::Audit {
            which: AuditCommand::Head { database_url },
        } => {
            let app = App::new(Store::open(&database_url).await?, Arc::new(SystemClock)).await?;
            match app.audit_head().await? {
                Some(h) => println!("{h}"),
                None => anyhow::bail!("the audit log is empty"),
            }
            Ok(())
        }
        Command::Audit {
            which: AuditCommand::Export { database_url },
        } => {
            let store = Store::open(&database_url).await?;
            let mut from = 0;
            loop {
                let rows = store.audit_rows(from, 5000).await?;
                let Some(last) = rows.last() else { break };
                from = last.seq + 1;
                for r in &rows {
                    let line = serde_json::json!({
                        "seq": r.seq, "at": r.entry.at, "actor": r.entry.actor, "action": r.entry.action,
                        "target": r.entry.target, "reason": r.entry.reason, "detail": r.entry.detail,
                        "prev_hash": r.prev_hash, "hash": r.hash,
                    });
                    println!("{line}");
                }
            }
            Ok(())
        }
        Command::Retention {
            database_url,
            audit_days,
            personal_data_days,
            notification_days,
            dry_run,
        } => {
            let app = App::new(Store::open(&database_url).await?, Arc::new(SystemClock)).await?;
            let policy = suqiu_app::privacy::RetentionPolicy {
                personal_data_days,
                audit_days,
                notification_days,
            };
            println!("{}", app.retention(&policy, dry_run).await?);
            Ok(())
        }
        Command::Topics {
            input,
            top,
            json: _,
        } => {
            let out =
                tokio::task::spawn_blocking(move || suqiu_text::hot_topics_from_path(&input, top))
                    .await??;
            println!("{}", serde_json::to_string(&out)?);
            Ok(())
        }
        Command::Routing {
            which: RoutingCommand::Evaluate { train, test },
        } => {
            let out =
                tokio::task::spawn_blocking(move || suqiu_text::evaluate(&train, &test)).await??;
            println!("{}", serde_json::to_string(&out)?);
            Ok(())
        }
        Command::Routing {
            which:
                RoutingCommand::Train {
                    input,
                    kind,
                    database_url,
                },
        } => {
            let kind = match kind.as_str() {
                "category" => suqiu_app::routing::CATEGORY,
                "unit" => suqiu_app::routing::UNIT,
                other => anyhow::bail!("--kind {other}: use category or unit"),
            };
            let data = suqiu_text::read_jsonl(&input)?;
            let app = App::new(Store::open(&database_url).await?, Arc::new(SystemClock)).await?;
            let source = format!("file {}", input.display());
            let t = app.store_routing_model(kind, data, &source).await?;
            if t.version.is_none() {
                anyhow::bail!(
                    "{}: {} examples of {} labels; at least {} examples of 2 labels are needed",
                    input.display(),
                    t.n_train,
                    t.labels,
                    suqiu_app::routing::MIN_EXAMPLES
                );
            }
            println!("{}", serde_json::to_string(&t)?);
            Ok(())
        }
    }
}

struct ServeOptions {
    demo: bool,
    org: Option<std::path::PathBuf>,
    rules: Option<std::path::PathBuf>,
    limits: suqiu_app::limits::Limits,
    search_dir: Option<std::path::PathBuf>,
    /// Checkpoint file, key file, seconds between checkpoints.
    audit: (Option<std::path::PathBuf>, Option<std::path::PathBuf>, u64),
    notify: Option<std::path::PathBuf>,
    web: suqiu_web::WebConfig,
    backups: Option<backup::Schedule>,
}

/// Where a server keeps files next to its data: beside a SQLite database,
/// else ./suqiu-data.
fn data_dir(database_url: &str) -> std::path::PathBuf {
    database_url
        .strip_prefix("sqlite://")
        .and_then(|p| std::path::Path::new(p).parent().map(|d| d.to_path_buf()))
        .unwrap_or_else(|| std::path::PathBuf::from("suqiu-data"))
}

fn read_notifier(path: &std::path::Path) -> anyhow::Result<suqiu_app::outbox::Notifier> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let cfg = suqiu_app::outbox::NotifyConfig::parse(&text)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let templates = match &cfg.sender.templates {
        Some(t) => {
            let p = path.parent().unwrap_or(std::path::Path::new(".")).join(t);
            Some(std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?)
        }
        None => None,
    };
    cfg.build(templates.as_deref())
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

async fn serve(opts: ServeOptions, listen: &str, database_url: &str) -> anyhow::Result<()> {
    let ServeOptions {
        demo,
        org,
        rules,
        limits,
        search_dir,
        audit,
        notify,
        mut web,
        backups,
    } = opts;
    let store = Store::open(database_url)
        .await
        .with_context(|| format!("opening {database_url}"))?;
    let mut app = App::new(store, Arc::new(SystemClock))
        .await?
        .with_limits(limits);
    if let Some(path) = rules {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        app = app.with_rules(App::parse_rules(&text)?);
    }
    // rules administrators stored since take precedence over the file
    app.refresh_rules().await?;
    if demo {
        app.load_org(orgconfig::DEMO_DISTRICT).await?;
    }
    if let Some(path) = &notify {
        app = app.with_notifier(read_notifier(path)?);
    }
    if let Some(path) = org {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        app.load_org(&text).await?;
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let addr = listener.local_addr()?;
    println!(
        "suqiu 诉求 is serving on http://{addr}/  (database: {})",
        app.store().backend()
    );
    println!("  API description: http://{addr}/api/v1/openapi.json");
    println!("  resident tracking: http://{addr}/api/v1/track/<tracking code>");
    if demo {
        let org = app.org();
        let district = org
            .units()
            .find(|(u, _)| u.level == suqiu_domain::Level::District)
            .map(|(u, _)| u.name.clone())
            .unwrap_or_default();
        println!(
            "demo district 演示区县: {district} — password for every demo login: {}",
            orgconfig::DEMO_PASSWORD
        );
        for p in org.people() {
            let unit = org.unit(&p.unit).map(|u| u.name.as_str()).unwrap_or("");
            println!("  {:<14} {:<6} {} ({})", p.login, p.name, p.role.zh(), unit);
        }
    }
    let search_dir = search_dir.unwrap_or_else(|| data_dir(database_url).join("search-index"));
    std::fs::create_dir_all(&search_dir)
        .with_context(|| format!("creating {}", search_dir.display()))?;
    let index = match suqiu_app::SearchIndex::open(&search_dir) {
        // derived data built with another schema: start again, rebuilt from the journal
        Err(suqiu_app::SearchError::SchemaMismatch) => {
            tracing::warn!(dir = %search_dir.display(), "search index of another schema: rebuilding");
            std::fs::remove_dir_all(&search_dir)
                .with_context(|| format!("removing {}", search_dir.display()))?;
            suqiu_app::SearchIndex::open(&search_dir)
        }
        other => other,
    }
    .with_context(|| format!("opening {}", search_dir.display()))?;
    let app = app.with_search(index);
    // derived data that follows the journal: at start (after a crash, what the indexer
    // had not committed; a new or emptied index, everything) and every 30 s (what other
    // instances wrote: each instance has its own index and catches up itself)
    let search_catch_up = app.spawn_search_catch_up(std::time::Duration::from_secs(30));
    let app = app
        .with_related(suqiu_text::RelatedConfig::default())
        .await
        .context("building the related-case index")?;
    if let Some(r) = app.related_index() {
        tracing::info!(cases = r.len(), "related-case index built");
    }
    // a recomputation of provisional deadlines cut short (a crash while a year
    // of the calendar was added) is finished at start; it writes nothing otherwise
    {
        let app = app.clone();
        tokio::spawn(async move {
            match app.recompute_provisional_deadlines().await {
                Ok(r) if r.written > 0 => tracing::info!(
                    cases = r.written,
                    deadlines = r.recomputed,
                    "provisional deadlines counted again at start"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "recomputing provisional deadlines failed"),
            }
        });
    }
    let sweeper = app.spawn_sweeper(std::time::Duration::from_secs(30));
    let chainer = app.spawn_audit_chainer(std::time::Duration::from_millis(500));
    let (cp_file, cp_key, cp_secs) = audit;
    let cp_file = cp_file.unwrap_or_else(|| data_dir(database_url).join("audit-checkpoints"));
    if let Some(dir) = cp_file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let checkpoints = suqiu_app::checkpoints::Checkpoints::open(&cp_file, cp_key.as_deref())
        .with_context(|| format!("opening audit checkpoints {}", cp_file.display()))?;
    println!("  audit checkpoints: {}", cp_file.display());
    let checkpointer =
        app.spawn_audit_checkpoints(checkpoints, std::time::Duration::from_secs(cp_secs.max(1)));
    let sender = app.spawn_outbox_sender();
    if let Err(e) = app.refresh_routing_models().await {
        tracing::warn!(error = %e, "loading routing models failed");
    }
    let trainer = app.spawn_routing_trainer(std::time::Duration::from_secs(60));
    let config = app.spawn_config_refresh(std::time::Duration::from_secs(5));
    let in_memory = database_url
        .strip_prefix("sqlite:")
        .is_some_and(|r| r.trim_start_matches("//") == ":memory:");
    if backups.is_some() && in_memory {
        anyhow::bail!(
            "内存数据库无法备份 / --backup-dir: an in-memory database cannot be backed up"
        );
    }
    let backups = backups.map(|schedule| {
        let stats = Arc::new(suqiu_store::backup::BackupStats::default());
        web.backups = Some(stats.clone());
        println!(
            "  backups: {} every {} s, keeping {}",
            schedule.dir.display(),
            schedule.every.as_secs(),
            schedule.keep
        );
        backup::spawn(database_url.to_string(), schedule, stats)
    });
    suqiu_web::serve_with(app, listener, shutdown_signal(), &web).await?;
    config.abort();
    search_catch_up.abort();
    sweeper.abort();
    chainer.abort();
    checkpointer.abort();
    trainer.abort();
    if let Some(s) = sender {
        s.abort();
    }
    if let Some(b) = backups {
        b.abort();
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
