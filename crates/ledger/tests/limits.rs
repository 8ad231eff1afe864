#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Bounds of an import: zip bombs, too many entries, rows, cells and columns
//! are refused with `ledger_too_large` before memory follows the file.

use std::io::{Cursor, Write};
use std::time::{Duration, Instant};
use suqiu_ledger::*;
use zip::write::SimpleFileOptions;

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>"#;
const RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;
const WORKBOOK: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="台账" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
const WORKBOOK_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#;

/// A sheet: the header 诉求内容 (inline), then `rows` rows whose content is
/// shared string 0.
fn sheet(rows: u32, extra: &str) -> String {
    let mut s = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>诉求内容</t></is></c></row>"#,
    );
    for r in 2..rows + 2 {
        s.push_str(&format!(
            r#"<row r="{r}"><c r="A{r}" t="s"><v>0</v></c></row>"#
        ));
    }
    s.push_str(extra);
    s.push_str("</sheetData></worksheet>");
    s
}

/// An xlsx whose shared string 0 is `unit` repeated until the shared strings
/// part is `shared_bytes` long, deflated while it is written (never held).
fn workbook(shared_bytes: u64, sheet_xml: &str, extra_entries: usize) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, body) in [
        ("[Content_Types].xml", CONTENT_TYPES),
        ("_rels/.rels", RELS),
        ("xl/workbook.xml", WORKBOOK),
        ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
        ("xl/worksheets/sheet1.xml", sheet_xml),
    ] {
        zip.start_file(name, opts).unwrap();
        zip.write_all(body.as_bytes()).unwrap();
    }
    zip.start_file("xl/sharedStrings.xml", opts.large_file(true))
        .unwrap();
    let head = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>"#;
    let tail = "</t></si></sst>";
    zip.write_all(head.as_bytes()).unwrap();
    // 1 MiB of 投诉内容 (12 bytes) per write
    let chunk = "投诉内容".repeat(1024 * 1024 / 12);
    let mut left = shared_bytes.saturating_sub((head.len() + tail.len()) as u64);
    while left > 0 {
        let n = (chunk.len() as u64).min(left) as usize;
        // whole characters only
        let n = n - n % 12;
        if n == 0 {
            break;
        }
        zip.write_all(&chunk.as_bytes()[..n]).unwrap();
        left -= n as u64;
    }
    zip.write_all(tail.as_bytes()).unwrap();
    for i in 0..extra_entries {
        zip.start_file(format!("xl/media/x{i}.bin"), opts).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// The process's peak resident memory (kB), from /proc/self/status.
fn vm_hwm_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn too_large(r: Result<Imported, ImportError>) -> TooLarge {
    match r {
        Err(ImportError::TooLarge(t)) => t,
        Err(e) => panic!("refused otherwise: {e}"),
        Ok(i) => panic!("imported {} rows", i.rows.len()),
    }
}

#[test]
fn a_small_workbook_is_still_read() {
    let bytes = workbook(1024, &sheet(3, ""), 0);
    let i = import_bytes(&bytes, None, ImportOptions::default()).unwrap();
    assert_eq!(i.rows.len(), 3);
    assert!(i.rows[0].content.starts_with("投诉内容"));
}

#[test]
fn a_zip_bomb_of_shared_strings_is_refused_quickly_with_flat_memory() {
    // 1 GiB of shared strings in about a megabyte of zip
    let bytes = workbook(1 << 30, &sheet(10, ""), 0);
    assert!(bytes.len() < 8 << 20, "the bomb is small: {}", bytes.len());
    let before = vm_hwm_kb();
    let started = Instant::now();
    let t = too_large(import_bytes(&bytes, None, ImportOptions::default()));
    let took = started.elapsed();
    assert_eq!(t.limit, Limit::EntryBytes);
    assert_eq!(t.entry.as_deref(), Some("xl/sharedStrings.xml"));
    assert_eq!(t.max, Limits::default().max_entry_bytes);
    assert!(
        t.message_zh().contains("解压后超过 64 MB"),
        "{}",
        t.message_zh()
    );
    assert!(
        t.message_en().contains("more than 64 MiB"),
        "{}",
        t.message_en()
    );
    assert_eq!(TooLarge::CODE, "ledger_too_large");
    // only the bounded prefix is inflated (64 MiB, not 1 GiB)
    assert!(took < Duration::from_secs(20), "took {took:?}");
    if let (Some(b), Some(a)) = (before, vm_hwm_kb()) {
        // nothing of the expanded part is kept: the peak barely moves
        assert!(a - b < 32 * 1024, "peak memory grew by {} kB", a - b);
    }
}

#[test]
fn a_zip_bomb_by_path_is_refused_too() {
    let bytes = workbook(100 << 20, &sheet(1, ""), 0);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.xlsx");
    std::fs::write(&path, &bytes).unwrap();
    let t = too_large(import_path(&path, ImportOptions::default()));
    assert_eq!(t.limit, Limit::EntryBytes);
}

#[test]
fn the_total_of_all_entries_is_bounded() {
    let bytes = workbook(3 << 20, &sheet(1, ""), 0);
    let limits = Limits {
        max_total_bytes: 2 << 20,
        ..Limits::default()
    };
    let t = too_large(import_bytes(
        &bytes,
        None,
        ImportOptions {
            limits,
            ..ImportOptions::default()
        },
    ));
    assert_eq!(t.limit, Limit::TotalBytes);
    assert_eq!(t.max, 2 << 20);
}

#[test]
fn too_many_zip_entries_are_refused() {
    let bytes = workbook(1024, &sheet(1, ""), 1_000);
    let t = too_large(import_bytes(&bytes, None, ImportOptions::default()));
    assert_eq!(t.limit, Limit::ZipEntries);
}

#[test]
fn too_many_rows_in_xlsx_and_csv() {
    let limits = Limits {
        max_rows: 5,
        ..Limits::default()
    };
    let opts = || ImportOptions {
        limits,
        lenient: true,
        ..ImportOptions::default()
    };
    let ok = import_bytes(&workbook(1024, &sheet(5, ""), 0), None, opts()).unwrap();
    assert_eq!(ok.rows.len(), 5);
    let t = too_large(import_bytes(
        &workbook(1024, &sheet(6, ""), 0),
        None,
        opts(),
    ));
    assert_eq!((t.limit, t.max), (Limit::Rows, 5));
    assert!(t.message_zh().contains("最多导入 5 行"));

    let csv = |n: usize| {
        let mut s = String::from("诉求内容\n");
        for i in 0..n {
            s.push_str(&format!("路灯坏了{i}\n"));
        }
        s
    };
    assert_eq!(
        import_bytes(csv(5).as_bytes(), None, opts())
            .unwrap()
            .rows
            .len(),
        5
    );
    let t = too_large(import_bytes(csv(6).as_bytes(), None, opts()));
    assert_eq!((t.limit, t.max), (Limit::Rows, 5));
}

#[test]
fn the_default_row_bound_is_the_import_bound() {
    // 200,001 data rows: refused while reading, before all are kept
    let mut s = String::with_capacity(3_000_000);
    s.push_str("诉求内容\n");
    for _ in 0..=MAX_ROWS {
        s.push_str("路灯坏了\n");
    }
    let t = too_large(import_bytes(s.as_bytes(), None, ImportOptions::default()));
    assert_eq!((t.limit, t.max), (Limit::Rows, MAX_ROWS));
}

#[test]
fn too_many_cells_and_columns() {
    let limits = Limits {
        max_cells: 20,
        ..Limits::default()
    };
    let opts = || ImportOptions {
        limits,
        ..ImportOptions::default()
    };
    // csv: 1 header + 3 rows of 7 fields = 22 cells
    let csv = "诉求内容,a,b,c,d,e,f\n".to_string() + &"内容,1,2,3,4,5,6\n".repeat(3);
    let t = too_large(import_bytes(csv.as_bytes(), None, opts()));
    assert_eq!((t.limit, t.max), (Limit::Cells, 20));
    let t = too_large(import_bytes(
        &workbook(1024, &sheet(30, ""), 0),
        None,
        opts(),
    ));
    assert_eq!((t.limit, t.max), (Limit::Cells, 20));

    // a cell in column 16,385 (XFE): Excel has no such column
    let far = r#"<row r="9"><c r="XFE9" t="inlineStr"><is><t>x</t></is></c></row>"#;
    let t = too_large(import_bytes(
        &workbook(1024, &sheet(3, far), 0),
        None,
        ImportOptions::default(),
    ));
    assert_eq!((t.limit, t.max), (Limit::Columns, 16_384));
    let wide = "诉求内容".to_string() + &",x".repeat(16_384) + "\n内容\n";
    let t = too_large(import_bytes(
        wide.as_bytes(),
        None,
        ImportOptions::default(),
    ));
    assert_eq!(t.limit, Limit::Columns);
}
