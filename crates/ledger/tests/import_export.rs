#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Import and export of ledgers, against fixtures written by independent
//! implementations (openpyxl, Python's codecs: see fixtures/make_fixtures.py).

use std::io::Cursor;
use std::path::PathBuf;
use suqiu_domain::case::Channel;
use suqiu_ledger::*;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn lenient() -> ImportOptions<'static> {
    ImportOptions {
        lenient: true,
        ..ImportOptions::default()
    }
}

fn at(s: &str) -> Option<ReceivedAt> {
    Some(ReceivedAt::parse(s).unwrap())
}

const GOOD_ID: &str = "430702198001011236";

fn problem<'r>(report: &'r Report, row: u32, code: &str) -> &'r Problem {
    report
        .problems
        .iter()
        .find(|p| p.row == Some(row) && p.code == code)
        .unwrap_or_else(|| panic!("no {code} on row {row}: {:#?}", report.problems))
}

fn check_xlsx_errors(report: &Report) {
    let p = problem(report, 4, codes::INVALID_PHONE);
    assert_eq!(p.column.as_deref(), Some("电话"));
    assert_eq!(p.field, Some(Field::Phone));
    assert_eq!(p.severity, Severity::Error);
    assert_eq!(p.value.as_deref(), Some("138***3800"), "phone masked");
    assert!(p.message_zh.starts_with("第 4 行"), "{}", p.message_zh);
    assert!(p.message_en.starts_with("row 4:"), "{}", p.message_en);

    let p = problem(report, 5, codes::INVALID_ID_NUMBER);
    assert_eq!(p.column.as_deref(), Some("身份证号"));
    assert_eq!(p.value.as_deref(), Some("430702********1230"), "ID masked");

    let p = problem(report, 7, codes::FIELD_EMPTY);
    assert_eq!(p.column.as_deref(), Some("反映内容"));
    assert_eq!(p.field, Some(Field::Content));

    let p = problem(report, 8, codes::UNKNOWN_CHANNEL);
    assert_eq!(p.column.as_deref(), Some("渠道"));
    assert_eq!(p.value.as_deref(), Some("飞鸽传书"));

    let w = problem(report, 1, codes::UNKNOWN_COLUMN);
    assert_eq!(w.severity, Severity::Warning);
    assert_eq!(w.column.as_deref(), Some("核查人"));
    // 备注 is ignored by the default mapping: no warning
    assert!(report
        .problems
        .iter()
        .all(|p| p.column.as_deref() != Some("备注")));

    assert_eq!(report.errors, 4, "{:#?}", report.problems);
    assert_eq!(report.warnings, 1);
    assert_eq!(report.rows_read, 6, "the blank row is not counted");
    assert_eq!(report.rows_rejected, 4);
    assert_eq!(report.rows_ok, 2);
}

#[test]
fn openpyxl_xlsx_lenient_keeps_good_rows_and_reports_the_bad() {
    let got = import_path(fixture("openpyxl_ledger.xlsx"), lenient()).unwrap();
    check_xlsx_errors(&got.report);
    assert_eq!(got.rows.len(), 2);
    let r = &got.rows[0];
    assert_eq!(r.row, 2);
    assert_eq!(r.serial.as_deref(), Some("1"));
    assert_eq!(r.received_at, at("2024-03-05 14:20"), "datetime cell");
    assert_eq!(r.channel, Some(Channel::Hotline12345));
    assert_eq!(r.reporter_name.as_deref(), Some("张三"));
    assert_eq!(r.phone.as_deref(), Some("13800138000"), "number cell");
    assert_eq!(r.id_number.as_deref(), Some(GOOD_ID));
    assert_eq!(r.place.as_deref(), Some("城关镇东门社区"));
    assert_eq!(r.content, "小区门口路灯坏了一个月，晚上出行不便。");
    assert_eq!(r.category.as_deref(), Some("市政设施"));
    assert_eq!(r.handling_unit.as_deref(), Some("城关镇"));
    assert_eq!(r.status.as_deref(), Some("已办结"));
    assert_eq!(r.reply.as_deref(), Some("已安排维修，路灯恢复照明。"));
    assert_eq!(r.satisfaction, Some(Satisfaction::Satisfied));
    let r = &got.rows[1];
    assert_eq!(r.row, 3);
    assert_eq!(r.received_at, at("2024-03-06"), "Chinese text date");
    assert_eq!(r.channel, Some(Channel::ChatGroup));
    assert_eq!(r.phone.as_deref(), Some("0731-8123456"));
    assert_eq!(r.id_number, None);
    assert_eq!(r.content, "村道积水严重，\n请求疏通排水沟。");
    assert_eq!(r.reply, None);
    assert_eq!(r.satisfaction, None);
}

#[test]
fn openpyxl_xlsx_all_or_nothing_refuses_with_the_full_report() {
    let err = import_path(fixture("openpyxl_ledger.xlsx"), ImportOptions::default()).unwrap_err();
    let report = err.report().expect("a report");
    check_xlsx_errors(report);
}

#[test]
fn xlsx_sheet_by_name_and_missing_sheet() {
    let opts = ImportOptions {
        sheet: Some("2024年台账".into()),
        lenient: true,
        ..ImportOptions::default()
    };
    assert_eq!(
        import_path(fixture("openpyxl_ledger.xlsx"), opts)
            .unwrap()
            .rows
            .len(),
        2
    );
    let opts = ImportOptions {
        sheet: Some("Sheet9".into()),
        lenient: true,
        ..ImportOptions::default()
    };
    let err = import_path(fixture("openpyxl_ledger.xlsx"), opts).unwrap_err();
    assert_eq!(
        err.report().unwrap().problems[0].code,
        codes::SHEET_NOT_FOUND
    );
}

fn expected_csv_rows() -> Vec<LedgerRow> {
    vec![
        LedgerRow {
            row: 2,
            serial: Some("1".into()),
            received_at: at("2024-03-05"),
            channel: Some(Channel::Hotline12345),
            reporter_name: Some("张三".into()),
            phone: Some("13800138000".into()),
            place: Some("东门社区".into()),
            content: "路灯不亮，“夜里”出行不便, 请尽快处理".into(),
            category: Some("市政".into()),
            satisfaction: Some(Satisfaction::Satisfied),
            ..LedgerRow::default()
        },
        LedgerRow {
            row: 3,
            serial: Some("2".into()),
            received_at: at("2024-03-05 14:20"),
            channel: Some(Channel::Hotline12345),
            reporter_name: Some("吉𠮷".into()),
            phone: Some("010-12345678".into()),
            place: Some("白沙村".into()),
            content: "多行内容\n第二行".into(),
            category: Some("农业".into()),
            satisfaction: Some(Satisfaction::Average),
            ..LedgerRow::default()
        },
        LedgerRow {
            row: 4,
            serial: Some("3".into()),
            received_at: at("2024-03-05"),
            channel: Some(Channel::ChatGroup),
            reporter_name: Some("欧阳娜娜".into()),
            phone: Some("13912345678".into()),
            place: Some("河西村".into()),
            content: "引号\"测试\"".into(),
            category: None,
            satisfaction: Some(Satisfaction::Unsatisfied),
            ..LedgerRow::default()
        },
    ]
}

#[test]
fn gb18030_csv_from_python_codecs_is_detected() {
    let bytes = std::fs::read(fixture("gb18030.csv")).unwrap();
    assert!(std::str::from_utf8(&bytes).is_err(), "fixture is not UTF-8");
    let got = import_csv(&bytes, ImportOptions::default()).unwrap();
    assert_eq!(got.report.encoding.as_deref(), Some("gb18030"));
    assert_eq!(got.rows, expected_csv_rows());
    assert_eq!(got.report.problems, vec![]);

    // forced: the same result; forced to UTF-8 it is not the same text
    let forced = import_csv(
        &bytes,
        ImportOptions {
            encoding: CsvEncoding::Gb18030,
            ..ImportOptions::default()
        },
    )
    .unwrap();
    assert_eq!(forced.rows, expected_csv_rows());
    let wrong = import_csv(
        &bytes,
        ImportOptions {
            encoding: CsvEncoding::Utf8,
            ..ImportOptions::default()
        },
    );
    assert!(
        wrong.is_err(),
        "GB18030 read as UTF-8 should have no known header"
    );
}

#[test]
fn utf8_bom_csv_from_python_codecs() {
    let got = import_path(fixture("utf8_bom.csv"), ImportOptions::default()).unwrap();
    assert_eq!(got.report.encoding.as_deref(), Some("utf-8-bom"));
    assert_eq!(got.rows, expected_csv_rows(), "序号 not spoilt by the BOM");
}

#[test]
fn gb18030_encoded_with_encoding_rs_and_plain_utf8() {
    let text = "登记日期,来源,诉求内容\r\n2024-03-05,来访,反映内容一\r\n";
    let (gb, _, unmappable) = encoding_rs::GB18030.encode(text);
    assert!(!unmappable);
    let a = import_csv(&gb, ImportOptions::default()).unwrap();
    let b = import_csv(text.as_bytes(), ImportOptions::default()).unwrap();
    assert_eq!(a.report.encoding.as_deref(), Some("gb18030"));
    assert_eq!(b.report.encoding.as_deref(), Some("utf-8"));
    assert_eq!(a.rows, b.rows);
    assert_eq!(a.rows[0].channel, Some(Channel::Visit));
}

#[test]
fn date_formats() {
    let csv = "受理时间,诉求内容\n\
               2024-03-05,a\n\
               2024/3/5 14:20,b\n\
               2024年3月5日,c\n\
               2024.3.5,d\n\
               20240305,e\n\
               2024年3月5日 14时20分,f\n\
               2024-03-05T14:20:00,g\n\
               2024-02-30,h\n\
               下周一,i\n";
    let got = import_csv(csv.as_bytes(), lenient()).unwrap();
    let dates: Vec<String> = got
        .rows
        .iter()
        .map(|r| r.received_at.unwrap().to_string())
        .collect();
    assert_eq!(
        dates,
        [
            "2024-03-05",
            "2024-03-05 14:20",
            "2024-03-05",
            "2024-03-05",
            "2024-03-05",
            "2024-03-05 14:20",
            "2024-03-05 14:20"
        ]
    );
    let bad: Vec<(u32, &str)> = got
        .report
        .problems
        .iter()
        .map(|p| (p.row.unwrap(), p.code.as_str()))
        .collect();
    assert_eq!(bad, [(9, codes::INVALID_DATE), (10, codes::INVALID_DATE)]);
    assert_eq!(got.report.problems[0].column.as_deref(), Some("受理时间"));
}

#[test]
fn missing_required_column_is_a_file_error_even_when_lenient() {
    let csv = "姓名,电话\n张三,13800138000\n";
    let err = import_csv(csv.as_bytes(), lenient()).unwrap_err();
    let r = err.report().unwrap();
    assert_eq!(r.errors, 1);
    assert_eq!(r.problems[0].code, codes::REQUIRED_COLUMN_MISSING);
    assert_eq!(r.problems[0].row, None);
    assert_eq!(r.rows_read, 0);

    let err = import_csv(b"", lenient()).unwrap_err();
    assert_eq!(err.report().unwrap().problems[0].code, codes::NO_HEADER);
}

#[test]
fn custom_mapping_from_toml_with_required_phone_and_title_row() {
    let mapping = ColumnMapping::from_toml_str(
        r#"
required = ["content", "phone"]
[columns]
content = ["群众诉求"]
[channels]
"书记信箱" = "web"
"#,
    )
    .unwrap();
    let csv = "某镇2024年诉求台账,,\n群众诉求,电话,来源\n修路,13800138000,书记信箱\n清淤,,来访\n";
    let got = import_csv(
        csv.as_bytes(),
        ImportOptions {
            mapping,
            header_row: Some(2),
            lenient: true,
            ..ImportOptions::default()
        },
    )
    .unwrap();
    assert_eq!(got.rows.len(), 1);
    assert_eq!(got.rows[0].row, 3);
    assert_eq!(got.rows[0].channel, Some(Channel::Web));
    let p = problem(&got.report, 4, codes::FIELD_EMPTY);
    assert_eq!(p.column.as_deref(), Some("电话"));
}

#[test]
fn place_resolver_gives_unit_codes_or_errors() {
    let calls = std::cell::Cell::new(0);
    let resolver = |place: &str| -> Result<Option<String>, PlaceError> {
        calls.set(calls.get() + 1);
        match place {
            "白沙村" => Ok(Some("430702001001".to_string())),
            "外地" => Ok(None),
            _ => Err(PlaceError {
                message_zh: "不是本区的村（社区）".into(),
                message_en: "is not a village or community of this district".into(),
            }),
        }
    };
    let csv = "所在村（社区）,诉求内容\n白沙村,a\n外地,b\n火星村,c\n白沙村,d\n";
    let got = import_csv(
        csv.as_bytes(),
        ImportOptions {
            resolver: Some(&resolver),
            lenient: true,
            ..ImportOptions::default()
        },
    )
    .unwrap();
    let units: Vec<Option<&str>> = got.rows.iter().map(|r| r.place_unit.as_deref()).collect();
    assert_eq!(units, [Some("430702001001"), None, Some("430702001001")]);
    let p = problem(&got.report, 4, codes::UNRESOLVED_PLACE);
    assert_eq!(p.column.as_deref(), Some("所在村（社区）"));
    assert!(p.message_zh.contains("不是本区"));
    assert_eq!(calls.get(), 3, "results cached per distinct place");
}

#[test]
fn placeholders_duplicates_and_excel_errors() {
    let csv = "诉求内容,电话,联系电话,满意度\n事项一,/,13800138000,无\n";
    let got = import_csv(csv.as_bytes(), ImportOptions::default()).unwrap();
    assert_eq!(
        got.rows[0].phone, None,
        "second phone column is not imported"
    );
    assert_eq!(got.rows[0].satisfaction, None);
    let w = problem(&got.report, 1, codes::DUPLICATE_COLUMN);
    assert_eq!(w.column.as_deref(), Some("联系电话"));
}

/// Write an xlsx with our writer, import it, and return the progress calls.
fn xlsx_import_with_progress(
    headers: &[String],
    rows: &[Vec<String>],
) -> (Imported, Vec<(u64, Option<u64>)>) {
    let mut buf = Cursor::new(Vec::new());
    write_xlsx(&mut buf, "台账", headers, rows).unwrap();
    let mut calls = Vec::new();
    let mut cb = |done: u64, total: Option<u64>| calls.push((done, total));
    let got = import_bytes(
        buf.get_ref(),
        None,
        ImportOptions {
            progress: Some(&mut cb),
            ..ImportOptions::default()
        },
    )
    .unwrap();
    (got, calls)
}

#[test]
fn progress_is_reported_with_totals() {
    let mut csv = String::from("诉求内容\n");
    for i in 0..2_500 {
        csv.push_str(&format!("事项{i}\n"));
    }
    let mut calls: Vec<(u64, Option<u64>)> = Vec::new();
    let mut cb = |done: u64, total: Option<u64>| calls.push((done, total));
    let got = import_csv(
        csv.as_bytes(),
        ImportOptions {
            progress: Some(&mut cb),
            progress_every: 1_000,
            ..ImportOptions::default()
        },
    )
    .unwrap();
    assert_eq!(got.rows.len(), 2_500);
    assert_eq!(
        calls,
        [
            (1_000, Some(2_500)),
            (2_000, Some(2_500)),
            (2_500, Some(2_500))
        ]
    );

    // xlsx: the total comes from the sheet's dimension
    let table = Table {
        headers: vec!["诉求内容".into()],
        rows: (0..2_100).map(|i| vec![format!("事项{i}")]).collect(),
    };
    let (_, calls) = xlsx_import_with_progress(&table.headers, &table.rows);
    assert_eq!(
        calls,
        [
            (1_000, Some(2_100)),
            (2_000, Some(2_100)),
            (2_100, Some(2_100))
        ]
    );
}

fn sample_rows() -> Vec<LedgerRow> {
    let mut rows = expected_csv_rows();
    rows.push(LedgerRow {
        row: 5,
        serial: Some("0004".into()),
        received_at: at("2023-12-31 23:59:58"),
        channel: Some(Channel::LeaderReception),
        reporter_name: Some("李, \"四\"".into()),
        phone: Some("0731-8123456".into()),
        id_number: Some(GOOD_ID.into()),
        place: Some("城关镇=东门社区".into()),
        title: Some("-负数开头的标题".into()),
        content: "=HYPERLINK(\"http://x\")\r\n第二行,逗号".into(),
        category: Some("@提及".into()),
        handling_unit: Some("城关镇".into()),
        status: Some("已办结".into()),
        reply: Some("+已答复".into()),
        satisfaction: Some(Satisfaction::BasicallySatisfied),
        place_unit: None,
        other_phones: vec!["13912345678".into(), "010-87654321".into()],
    });
    for c in Channel::ALL {
        rows.push(LedgerRow {
            row: rows.len() as u32 + 2,
            channel: Some(c),
            content: format!("渠道 {}", c.zh()),
            ..LedgerRow::default()
        });
    }
    rows
}

#[test]
fn csv_export_round_trip() {
    let rows = sample_rows();
    let t = ledger_table(&rows);
    let mut buf = Vec::new();
    let n = write_csv(&mut buf, &t.headers, &t.rows).unwrap();
    assert_eq!(n, rows.len() as u64);
    assert!(buf.starts_with(b"\xEF\xBB\xBF"), "BOM for Excel");
    let text = std::str::from_utf8(&buf[3..]).unwrap();
    assert!(text.contains("\"李, \"\"四\"\"\""), "quoted: {text}");
    assert!(text.contains("'=HYPERLINK"), "formula guarded");
    let back = import_csv(&buf, ImportOptions::default()).unwrap();
    assert_eq!(back.report.problems, vec![]);
    assert_eq!(back.rows, rows);
}

#[test]
fn xlsx_export_round_trip() {
    let rows = sample_rows();
    let t = ledger_table(&rows);
    let mut buf = Cursor::new(Vec::new());
    let n = write_xlsx(&mut buf, "台账", &t.headers, &t.rows).unwrap();
    assert_eq!(n, rows.len() as u64);
    let back = import_bytes(buf.get_ref(), None, ImportOptions::default()).unwrap();
    assert_eq!(back.report.problems, vec![]);
    assert_eq!(back.rows, rows);

    // and through files, by extension
    let dir = tempfile::tempdir().unwrap();
    for name in ["out.xlsx", "out.csv"] {
        let p = dir.path().join(name);
        export_path(&p, &t.headers, &t.rows).unwrap();
        assert_eq!(
            import_path(&p, ImportOptions::default()).unwrap().rows,
            rows
        );
    }
}

#[test]
fn export_refuses_a_cell_excel_cannot_hold() {
    let rows = vec![vec!["x".repeat(MAX_CELL_CHARS + 1)]];
    let err = write_xlsx(Cursor::new(Vec::new()), "台账", &["诉求内容"], &rows).unwrap_err();
    assert!(matches!(err, ExportError::CellTooLong { row: 1, .. }));
}

#[test]
fn xlsx_export_has_bold_frozen_header_and_widths() {
    let rows = vec![vec!["张三".to_string(), "一".repeat(100)]];
    let mut buf = Cursor::new(Vec::new());
    write_xlsx(&mut buf, "台账", &["诉求人", "诉求内容"], &rows).unwrap();
    let mut zip = zip::ZipArchive::new(Cursor::new(buf.into_inner())).unwrap();
    let mut read = |name: &str| {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut zip.by_name(name).unwrap(), &mut s).unwrap();
        s
    };
    let sheet = read("xl/worksheets/sheet1.xml");
    assert!(sheet.contains(r#"ySplit="1""#), "frozen first row: {sheet}");
    assert!(sheet.contains(r#"state="frozen""#));
    // 诉求人: 6 display columns + 2; 诉求内容: 200 capped at 60
    assert!(sheet.contains(r#"width="8.7109375""#), "{sheet}");
    assert!(sheet.contains(r#"width="60.7109375""#), "{sheet}");
    let styles = read("xl/styles.xml");
    assert!(styles.contains("<b/>"), "bold font: {styles}");
    let book = read("xl/workbook.xml");
    assert!(book.contains(r#"name="台账""#));
}

#[test]
fn xlsx_progress_total_from_an_openpyxl_sheet() {
    let mut calls: Vec<(u64, Option<u64>)> = Vec::new();
    let mut cb = |done: u64, total: Option<u64>| calls.push((done, total));
    let _ = import_path(
        fixture("openpyxl_ledger.xlsx"),
        ImportOptions {
            progress: Some(&mut cb),
            progress_every: 2,
            lenient: true,
            ..ImportOptions::default()
        },
    )
    .unwrap();
    // rows 2..=8 (the blank row 6 included), total from <dimension ref="A1:O8">
    assert_eq!(
        calls,
        [(2, Some(7)), (4, Some(7)), (6, Some(7)), (7, Some(7))]
    );
}

#[test]
fn problems_past_the_cap_are_counted_not_kept() {
    let mut csv = String::from("诉求内容,联系电话\n");
    for _ in 0..20 {
        csv.push_str("事项,12345\n");
    }
    let got = import_csv(
        csv.as_bytes(),
        ImportOptions {
            max_problems: 5,
            lenient: true,
            ..ImportOptions::default()
        },
    )
    .unwrap();
    assert_eq!(got.rows, vec![]);
    assert_eq!(got.report.problems.len(), 5);
    assert_eq!(got.report.errors, 20);
    assert_eq!(got.report.rows_rejected, 20);
    assert!(got.report.truncated);
    assert_eq!(got.report.problems[4].row, Some(6));
}

#[test]
fn rows_become_domain_intakes() {
    use suqiu_domain::case::parse_intake;
    let got = import_path(fixture("utf8_bom.csv"), ImportOptions::default()).unwrap();
    let r = &got.rows[0];
    assert_eq!(r.title, None);
    assert_eq!(r.title_or_derived(), "路灯不亮，“夜里”出行不便, 请尽快处理");
    let parsed = parse_intake(&r.to_intake_input(Channel::DoorToDoor, "430702001")).unwrap();
    assert_eq!(parsed.channel, Channel::Hotline12345);
    assert_eq!(parsed.unit, "430702001");
    assert_eq!(parsed.address.as_deref(), Some("东门社区"));
    assert_eq!(parsed.reporter.phone, "13800138000");
    assert_eq!(parsed.content, r.content);

    // a long first sentence is cut; a row without channel takes the fallback
    let row = LedgerRow {
        content: format!("{}。第二句", "很".repeat(40)),
        place_unit: Some("430702001002".into()),
        reporter_name: Some("王五".into()),
        phone: Some("13800138000".into()),
        ..LedgerRow::default()
    };
    assert_eq!(row.title_or_derived(), format!("{}…", "很".repeat(30)));
    let parsed = parse_intake(&row.to_intake_input(Channel::DoorToDoor, "x")).unwrap();
    assert_eq!(parsed.channel, Channel::DoorToDoor);
    assert_eq!(parsed.unit, "430702001002");
}

#[test]
fn several_phones_in_one_cell() {
    let csv =
        "诉求内容,联系电话\na,13800138000/0731-8123456、+86 139 1234 5678\nb,13800138000/123\n";
    let got = import_csv(csv.as_bytes(), lenient()).unwrap();
    assert_eq!(got.rows.len(), 1);
    assert_eq!(got.rows[0].phone.as_deref(), Some("13800138000"));
    assert_eq!(got.rows[0].other_phones, ["0731-8123456", "13912345678"]);
    let p = problem(&got.report, 3, codes::INVALID_PHONE);
    assert_eq!(p.value.as_deref(), Some("138********/123"));
}

#[test]
fn title_rows_above_the_headers_are_skipped() {
    // csv: a title row and a blank row, then the headers on row 3
    let csv = "白沙镇2024年群众诉求台账,,\n,,\n序号,诉求内容,联系电话\n1,修路,13800138000\n";
    let got = import_csv(csv.as_bytes(), ImportOptions::default()).unwrap();
    assert_eq!(got.rows.len(), 1);
    assert_eq!(got.rows[0].row, 4);
    assert_eq!(got.rows[0].content, "修路");

    // xlsx: the same through our writer (the title as the "header" cell of row 1)
    let rows = vec![
        vec!["".to_string()],
        vec!["序号".into(), "诉求内容".into()],
        vec!["1".into(), "清淤".into()],
    ];
    let (got, calls) = xlsx_import_with_progress(&["白沙镇2024年群众诉求台账".to_string()], &rows);
    assert_eq!(got.rows.len(), 1);
    assert_eq!(got.rows[0].row, 4);
    assert_eq!(calls, [(1, Some(1))]);

    // a fixed header row is taken as it is
    let err = import_csv(
        csv.as_bytes(),
        ImportOptions {
            header_row: Some(1),
            ..ImportOptions::default()
        },
    )
    .unwrap_err();
    assert_eq!(
        err.report().unwrap().problems.last().unwrap().code,
        codes::REQUIRED_COLUMN_MISSING
    );

    // nothing recognised anywhere: the first row is the header, and is refused
    let err = import_csv(b"abc,def\n1,2\n", ImportOptions::default()).unwrap_err();
    let r = err.report().unwrap();
    assert_eq!(r.warnings, 2, "abc and def are unknown columns");
    assert_eq!(r.problems[0].row, Some(1));
    assert_eq!(r.problems[2].code, codes::REQUIRED_COLUMN_MISSING);
}

#[test]
fn excel_unicode_text_utf16_tab_separated() {
    let text = "序号\t诉求内容\t来源\r\n1\t路灯不亮\t来访\r\n";
    let mut le = vec![0xFF, 0xFE];
    le.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let mut be = vec![0xFE, 0xFF];
    be.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
    for (bytes, enc) in [(le, "utf-16le"), (be, "utf-16be")] {
        let got = import_csv(&bytes, ImportOptions::default()).unwrap();
        assert_eq!(got.report.encoding.as_deref(), Some(enc));
        assert_eq!(got.rows[0].content, "路灯不亮");
        assert_eq!(got.rows[0].channel, Some(Channel::Visit));
        assert_eq!(got.rows[0].serial.as_deref(), Some("1"));
    }
}
