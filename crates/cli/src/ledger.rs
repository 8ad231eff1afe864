//! `suqiu ledger import|export|bench`: ledgers (台账) from the command line.

use anyhow::Context;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use suqiu_app::ledger::{
    ColumnMapping, CsvEncoding, ExportFormat, ImportOutcome, LedgerImport, LedgerSource,
};
use suqiu_app::{App, CaseFilter, Store, SystemClock};

#[derive(clap::Subcommand)]
pub enum LedgerCommand {
    /// 导入台账（xlsx 或 csv）：全部成功或全部不导入 / Import a ledger (xlsx or csv): all rows or none (unless --lenient).
    /// Progress goes to stderr, the report (JSON) to stdout; exit 2 when refused.
    Import {
        /// 台账文件 / The ledger file
        file: PathBuf,
        /// 列映射（TOML），默认按常用中文表头 / Column mapping (TOML); default: the usual Chinese headers.
        #[arg(long)]
        mapping: Option<PathBuf>,
        /// 导入正确的行，报告错误的行 / Import the good rows and report the bad ones.
        #[arg(long)]
        lenient: bool,
        /// csv 编码：auto、utf8 或 gb18030 / csv encoding: auto, utf8 or gb18030.
        #[arg(long, default_value = "auto")]
        encoding: String,
        /// 只检查，不写入 / Check every row, write nothing.
        #[arg(long)]
        dry_run: bool,
        /// 以哪位工作人员的身份导入（按其权限和辖区） / The staff member importing (their rights and area apply).
        #[arg(long = "as")]
        login: String,
        /// 要同步的检索索引目录 / Search index directory to feed (default: next to a SQLite database).
        #[arg(long)]
        search_dir: Option<PathBuf>,
        /// 数据库地址：sqlite://路径（默认，内嵌）或 postgres://用户@主机:端口/库 / Database: sqlite://PATH (default, embedded) or postgres://USER@HOST:PORT/DB
        #[arg(long, default_value = crate::DEFAULT_DB)]
        database_url: String,
    },
    /// 导出某工作人员可见的诉求（已脱敏） / Export the cases a staff member sees (masked) as xlsx or csv.
    Export {
        /// 工作人员账号 / The staff member's login
        #[arg(long = "as")]
        login: String,
        /// 格式：xlsx 或 csv / Format: xlsx or csv
        #[arg(long, default_value = "xlsx")]
        format: String,
        /// 输出文件 / Output file
        #[arg(long)]
        out: PathBuf,
        /// 只导出这些状态（可重复） / Only these statuses (repeatable).
        #[arg(long)]
        status: Vec<String>,
        /// 只导出此单位辖区内的诉求 / Only cases at places within this unit.
        #[arg(long)]
        unit: Option<String>,
        /// 显示完整个人信息的理由（记入审计） / Unmask personal data (audited) for this reason, if the user may.
        #[arg(long)]
        unmask_reason: Option<String>,
        /// 数据库地址：sqlite://路径（默认，内嵌）或 postgres://用户@主机:端口/库 / Database: sqlite://PATH (default, embedded) or postgres://USER@HOST:PORT/DB
        #[arg(long, default_value = crate::DEFAULT_DB)]
        database_url: String,
    },
    /// 生成 N 行演示台账并导入，输出耗时 JSON / Generate a ledger of N rows (csv, GB18030) for the demo district, import
    /// it into a fresh SQLite database, print the timings as JSON.
    Bench {
        /// 行数 / Rows
        #[arg(long, default_value_t = 100_000)]
        rows: usize,
    },
}

pub async fn run(cmd: LedgerCommand) -> anyhow::Result<()> {
    match cmd {
        LedgerCommand::Import {
            file,
            mapping,
            lenient,
            encoding,
            dry_run,
            login,
            search_dir,
            database_url,
        } => {
            let mapping = match mapping {
                Some(p) => {
                    let text = std::fs::read_to_string(&p)
                        .with_context(|| format!("reading {}", p.display()))?;
                    ColumnMapping::from_toml_str(&text)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?
                }
                None => ColumnMapping::default(),
            };
            let encoding = parse_encoding(&encoding)?;
            let store = Store::open(&database_url)
                .await
                .with_context(|| format!("opening {database_url}"))?;
            let mut app = App::new(store, Arc::new(SystemClock)).await?;
            let dir = search_dir.or_else(|| default_search_dir(&database_url));
            if let Some(dir) = dir.filter(|d| d.exists()) {
                match suqiu_app::SearchIndex::open(&dir) {
                    Ok(index) => app = app.with_search(index),
                    Err(e) => eprintln!(
                        "warning: search index {} not opened ({e}); rebuild it or import through the API",
                        dir.display()
                    ),
                }
            }
            let summary =
                match import_file(&app, &login, &file, mapping, lenient, encoding, dry_run).await {
                    Ok(s) => s,
                    Err(e) => match e.downcast_ref::<suqiu_app::AppError>() {
                        // a zip bomb, too many rows or cells: refused like a bad file
                        Some(suqiu_app::AppError::LedgerTooLarge(t)) => {
                            let v = serde_json::json!({
                                "outcome": "rejected",
                                "code": suqiu_app::ledger::sheet::TooLarge::CODE,
                                "field": t.limit.as_str(),
                                "message_zh": t.message_zh(),
                                "message_en": t.message_en(),
                            });
                            println!("{}", serde_json::to_string_pretty(&v)?);
                            std::process::exit(2);
                        }
                        _ => return Err(e),
                    },
                };
            app.flush_search().await;
            println!("{}", serde_json::to_string_pretty(&summary)?);
            if summary.outcome == ImportOutcome::Rejected {
                std::process::exit(2);
            }
            Ok(())
        }
        LedgerCommand::Export {
            login,
            format,
            out,
            status,
            unit,
            unmask_reason,
            database_url,
        } => {
            let format = ExportFormat::parse(&format)
                .ok_or_else(|| anyhow::anyhow!("--format {format}: use xlsx or csv"))?;
            let store = Store::open(&database_url)
                .await
                .with_context(|| format!("opening {database_url}"))?;
            let app = App::new(store, Arc::new(SystemClock)).await?;
            let user = app.staff_by_login(&login).await?;
            let filter = CaseFilter {
                statuses: status,
                ..Default::default()
            };
            let e = app
                .export_cases(
                    &user,
                    unit.as_deref(),
                    filter,
                    format,
                    unmask_reason.as_deref(),
                )
                .await?;
            std::fs::write(&out, &e.bytes).with_context(|| format!("writing {}", out.display()))?;
            println!(
                "{}",
                serde_json::json!({"rows": e.rows, "bytes": e.bytes.len(), "unmasked": e.unmasked, "out": out})
            );
            Ok(())
        }
        LedgerCommand::Bench { rows } => bench(rows).await,
    }
}

fn parse_encoding(s: &str) -> anyhow::Result<CsvEncoding> {
    Ok(match s {
        "auto" => CsvEncoding::Auto,
        "utf8" | "utf-8" => CsvEncoding::Utf8,
        "gb18030" | "gbk" => CsvEncoding::Gb18030,
        other => anyhow::bail!("--encoding {other}: use auto, utf8 or gb18030"),
    })
}

fn default_search_dir(database_url: &str) -> Option<PathBuf> {
    database_url
        .strip_prefix("sqlite://")
        .and_then(|p| Path::new(p).parent().map(|d| d.join("search-index")))
}

/// Imports a file as `login`, printing progress to stderr about every 5%.
async fn import_file(
    app: &App,
    login: &str,
    file: &Path,
    mapping: ColumnMapping,
    lenient: bool,
    encoding: CsvEncoding,
    dry_run: bool,
) -> anyhow::Result<suqiu_app::ledger::ImportSummary> {
    let user = app.staff_by_login(login).await?;
    let mut last_pct = None;
    let mut progress = |done: u64, total: Option<u64>| {
        let mut err = std::io::stderr().lock();
        match total {
            Some(t) if t > 0 => {
                let pct = done * 100 / t;
                let due = match last_pct {
                    None => true,
                    Some(l) => pct >= l + 5 || (done == t && l != pct),
                };
                if due {
                    last_pct = Some(pct);
                    let _ = writeln!(err, "read {done}/{t} rows ({pct}%)");
                }
            }
            _ => {
                let _ = writeln!(err, "read {done} rows");
            }
        }
    };
    let opts = LedgerImport {
        mapping,
        lenient,
        encoding,
        dry_run,
        progress: Some(&mut progress),
        progress_every: 500,
        ..Default::default()
    };
    Ok(app
        .import_ledger(&user, LedgerSource::Path(file), opts)
        .await?)
}

/// Rows of a realistic ledger for the demo district: places by name inside
/// an address, phones, some ID numbers, dates over two years, ledger-only columns.
pub fn demo_ledger_rows(app: &App, n: usize) -> Vec<Vec<String>> {
    let org = app.org();
    // communities by name, grids as 社区名+网格名 (grid names repeat)
    let places: Vec<String> = org
        .units()
        .filter(|(u, _)| u.level.is_place())
        .map(
            |(u, _)| match u.parent.as_deref().and_then(|p| org.unit(p)) {
                Some(p) if p.level.is_place() => format!("{}{}", p.name, u.name),
                _ => u.name.clone(),
            },
        )
        .collect();
    let topics = [
        (
            "路灯不亮",
            "小区门口的路灯坏了一个星期，晚上出行不便，请尽快维修。",
        ),
        ("垃圾清运不及时", "垃圾桶已经满了三天没有人清运，气味很大。"),
        ("噪音扰民", "楼下商铺晚上十一点以后还在放音乐，影响休息。"),
        ("道路积水", "下雨后路面积水严重，行人无法通过。"),
        (
            "邻里纠纷",
            "邻居在公共楼道堆放杂物，多次协商无果，请社区调解。",
        ),
    ];
    let channels = ["来访", "来信", "走访", "社区群", "微信群"];
    let statuses = ["已办结", "办理中", "已答复"];
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let (title, content) = topics[i % topics.len()];
        let place = &places[(i * 7) % places.len().max(1)];
        let day = (i % 700) as i64;
        let date = time::Date::from_calendar_date(2024, time::Month::January, 1)
            .map(|d| d + time::Duration::days(day))
            .map(|d| d.to_string())
            .unwrap_or_default();
        out.push(vec![
            format!("TZ{:06}", i + 1),
            format!("{date} {:02}:{:02}", 8 + i % 10, i % 60),
            channels[i % channels.len()].to_string(),
            format!(
                "{}{}",
                ["王", "李", "张", "刘", "陈"][i % 5],
                ["明", "芳", "伟", "娜"][i % 4]
            ),
            format!("139{:08}", i),
            format!("{place}{}号楼", 1 + i % 30),
            format!("{title}（{}）", i + 1),
            content.to_string(),
            ["市政设施", "环境卫生", "矛盾纠纷"][i % 3].to_string(),
            statuses[i % statuses.len()].to_string(),
        ]);
    }
    out
}

/// Headers of [`demo_ledger_rows`].
pub const DEMO_HEADERS: [&str; 10] = [
    "序号",
    "受理时间",
    "来源渠道",
    "姓名",
    "联系电话",
    "地址",
    "标题",
    "诉求内容",
    "问题类别",
    "办理状态",
];

async fn bench(rows: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store = Store::open(&db).await?;
    let app = App::new(store, Arc::new(SystemClock)).await?;
    app.load_org(suqiu_app::orgconfig::DEMO_DISTRICT).await?;
    let file = dir.path().join("台账.csv");
    let t = std::time::Instant::now();
    let data = demo_ledger_rows(&app, rows);
    let mut csv = DEMO_HEADERS.join(",");
    csv.push_str("\r\n");
    for r in &data {
        csv.push_str(&r.join(","));
        csv.push_str("\r\n");
    }
    let (gb, _, _) = encoding_rs::GB18030.encode(&csv);
    std::fs::write(&file, &gb)?;
    let generated_ms = t.elapsed().as_millis();
    let login = "xinfang.he";
    let summary = import_file(
        &app,
        login,
        &file,
        ColumnMapping::default(),
        false,
        CsvEncoding::Auto,
        false,
    )
    .await?;
    let cases = app.store().count_cases().await?;
    println!(
        "{}",
        serde_json::json!({
            "rows": rows,
            "file_bytes": gb.len(),
            "encoding": summary.report.encoding,
            "generate_ms": generated_ms,
            "import_ms": summary.elapsed_ms,
            "rows_per_second": (rows as f64) / (summary.elapsed_ms.max(1) as f64 / 1000.0),
            "outcome": summary.outcome,
            "created": summary.created,
            "errors": summary.report.errors,
            "cases_in_database": cases,
            "backend": "sqlite",
        })
    );
    Ok(())
}
