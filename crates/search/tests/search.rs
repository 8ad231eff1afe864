#![allow(clippy::unwrap_used, clippy::expect_used)]

use suqiu_search::{CaseDoc, Query, SearchError, SearchIndex};

fn case(id: i64, path: &str, status: &str, at: i64, title: &str, content: &str) -> CaseDoc {
    CaseDoc {
        id,
        unit_path: path.to_string(),
        status: status.to_string(),
        received_at: at,
        title: title.to_string(),
        content: content.to_string(),
        extra: Vec::new(),
        involved: Vec::new(),
        accused_path: None,
        accused_login: None,
    }
}

fn q(text: &str) -> Query {
    Query {
        text: text.to_string(),
        limit: 20,
        ..Query::default()
    }
}

fn ids(index: &SearchIndex, query: &Query) -> Vec<i64> {
    index
        .search(query)
        .unwrap()
        .hits
        .iter()
        .map(|h| h.id)
        .collect()
}

fn corpus() -> Vec<CaseDoc> {
    vec![
        case(
            1,
            "/D/S1/G1/",
            "received",
            1_000,
            "楼下烧烤店",
            "噪音扰民严重，晚上睡不着",
        ),
        case(
            2,
            "/D/S1/G2/",
            "closed",
            2_000,
            "路灯不亮",
            "网格员上门看过了，还是没修",
        ),
        case(
            3,
            "/D/S10/G1/",
            "received",
            3_000,
            "广场舞",
            "广场舞音响噪音太大",
        ),
        case(
            4,
            "/D/S2/",
            "processing",
            4_000,
            "垃圾清运",
            "小区垃圾三天没人清运",
        ),
        case(
            5,
            "/D/S1/",
            "received",
            5_000,
            "ＷＩＦＩ信号",
            "社区图书室wifi连不上",
        ),
    ]
}

fn loaded() -> SearchIndex {
    let index = SearchIndex::in_memory().unwrap();
    index.upsert(&corpus()).unwrap();
    index.commit().unwrap();
    index
}

#[test]
fn sub_word_matches() {
    let index = loaded();
    assert_eq!(ids(&index, &q("扰民")), vec![1]);
    assert_eq!(ids(&index, &q("噪音")), vec![3, 1]);
    assert_eq!(ids(&index, &q("网格")), vec![2]);
    assert_eq!(ids(&index, &q("噪音扰民")), vec![1]);
    // One character: a prefix search on the bigrams, including the last one of a run.
    assert_eq!(ids(&index, &q("修")), vec![2]);
    assert_eq!(ids(&index, &q("灯")), vec![2]);
}

#[test]
fn and_semantics_and_no_syntax() {
    let index = loaded();
    assert_eq!(ids(&index, &q("噪音 广场舞")), vec![3]);
    assert_eq!(ids(&index, &q("噪音，烧烤")), vec![1]);
    assert!(ids(&index, &q("噪音 垃圾")).is_empty());
    // Query-parser syntax is plain text, never an error.
    assert_eq!(ids(&index, &q("\"噪音\" +烧烤 (")), vec![1]);
    assert!(ids(&index, &q("噪音 AND 垃圾")).is_empty());
    assert!(ids(&index, &q("title:噪音 OR")).is_empty());
}

#[test]
fn normalises_width_and_case() {
    let index = loaded();
    assert_eq!(ids(&index, &q("wifi")), vec![5]);
    assert_eq!(ids(&index, &q("ＷiＦi")), vec![5]);
    let hit = &index.search(&q("wifi")).unwrap().hits[0];
    assert_eq!(hit.title_snippet, "<mark>ＷＩＦＩ</mark>信号");
}

#[test]
fn empty_and_invalid_queries() {
    let index = loaded();
    for text in ["", "   ", "，。！", "\"\""] {
        assert!(matches!(
            index.search(&q(text)),
            Err(SearchError::EmptyQuery)
        ));
    }
    let mut page = q("噪音");
    page.limit = 0;
    assert!(matches!(
        index.search(&page),
        Err(SearchError::InvalidPaging)
    ));
    assert!(matches!(
        index.search(&q(&"噪".repeat(300))),
        Err(SearchError::QueryTooLong)
    ));
}

#[test]
fn scope_prefix_filter() {
    let index = loaded();
    let mut query = q("噪音");
    query.scopes = Some(vec!["/D/S1/".into()]);
    assert_eq!(ids(&index, &query), vec![1]);
    query.scopes = Some(vec!["/D/S10".into()]);
    assert_eq!(ids(&index, &query), vec![3]);
    query.scopes = Some(vec!["/D/S1/".into(), "/D/S10/".into()]);
    assert_eq!(ids(&index, &query), vec![3, 1]);
    query.scopes = Some(Vec::new());
    assert_eq!(index.search(&query).unwrap().total, 0);
    query.scopes = Some(vec!["/D/".into()]);
    query.subtree = Some("/D/S1/G1/".into());
    assert_eq!(ids(&index, &query), vec![1]);
    query.subtree = Some("/D/S1/G2/".into());
    assert!(ids(&index, &query).is_empty());
    query.scopes = None;
    query.subtree = Some("/D/S".into());
    assert!(ids(&index, &query).is_empty());
}

#[test]
fn status_and_time_filters() {
    let index = loaded();
    let mut query = q("噪音");
    query.statuses = vec!["received".into()];
    assert_eq!(ids(&index, &query), vec![3, 1]);
    query.statuses = vec!["closed".into(), "processing".into()];
    assert!(ids(&index, &query).is_empty());
    let mut query = q("噪音");
    query.from = Some(2_000);
    assert_eq!(ids(&index, &query), vec![3]);
    query.from = Some(1_000);
    query.to = Some(3_000);
    assert_eq!(ids(&index, &query), vec![1]);
    query.from = Some(3_000);
    query.to = Some(3_000);
    assert!(ids(&index, &query).is_empty());
}

#[test]
fn upsert_replaces_and_delete_removes() {
    let index = loaded();
    let mut changed = case(1, "/D/S1/G1/", "closed", 1_000, "楼下烧烤店", "油烟很大");
    changed.extra = vec!["已联系城管执法".into()];
    index.upsert(&[changed]).unwrap();
    // Not visible before the commit.
    assert_eq!(ids(&index, &q("扰民")), vec![1]);
    index.commit().unwrap();
    assert!(ids(&index, &q("扰民")).is_empty());
    assert_eq!(ids(&index, &q("油烟")), vec![1]);
    // Replies and notes are searched.
    assert_eq!(ids(&index, &q("城管")), vec![1]);
    assert_eq!(index.num_docs(), 5);
    index.delete(1).unwrap();
    index.commit().unwrap();
    assert!(ids(&index, &q("油烟")).is_empty());
    assert_eq!(index.num_docs(), 4);
}

#[test]
fn snippets_mark_and_escape() {
    let index = SearchIndex::in_memory().unwrap();
    let long = format!("{}<b>噪音</b>扰民&{}", "前".repeat(200), "后".repeat(200));
    index
        .upsert(&[case(9, "/D/", "received", 0, "噪音问题", &long)])
        .unwrap();
    index.commit().unwrap();
    let hit = &index.search(&q("噪音")).unwrap().hits[0];
    assert_eq!(hit.title_snippet, "<mark>噪音</mark>问题");
    assert!(hit
        .content_snippet
        .contains("&lt;b&gt;<mark>噪音</mark>&lt;/b&gt;"));
    assert!(hit.content_snippet.starts_with('…') && hit.content_snippet.ends_with('…'));
    assert!(!hit.content_snippet.contains("<b>"));
}

#[test]
fn title_hit_ranks_above_content_hit_and_ties_by_id() {
    let index = SearchIndex::in_memory().unwrap();
    index
        .upsert(&[
            case(1, "/D/", "r", 0, "路面积水", "下雨后噪音很大的那条路积水"),
            case(2, "/D/", "r", 0, "噪音", "晚上很吵"),
            case(3, "/D/", "r", 0, "路灯", "路灯坏了"),
            case(4, "/D/", "r", 0, "路灯", "路灯坏了"),
            case(5, "/D/", "r", 0, "路灯", "路灯坏了"),
        ])
        .unwrap();
    index.commit().unwrap();
    assert_eq!(ids(&index, &q("噪音")), vec![2, 1]);
    assert_eq!(ids(&index, &q("路灯")), vec![5, 4, 3]);
    let mut page = q("路灯");
    page.limit = 1;
    page.offset = 1;
    assert_eq!(ids(&index, &page), vec![4]);
    assert_eq!(index.search(&page).unwrap().total, 3);
}

#[test]
fn rebuild_gives_the_same_results() {
    let incremental = SearchIndex::in_memory().unwrap();
    for doc in corpus() {
        incremental.upsert(&[doc]).unwrap();
        incremental.commit().unwrap();
    }
    let rebuilt = SearchIndex::in_memory().unwrap();
    rebuilt
        .upsert(&[case(99, "/X/", "x", 0, "噪音", "会被重建清掉")])
        .unwrap();
    rebuilt.commit().unwrap();
    assert_eq!(rebuilt.rebuild(corpus()).unwrap(), 5);
    assert_eq!(rebuilt.num_docs(), 5);
    for text in ["噪音", "扰民", "网格", "wifi", "垃圾 清运", "修"] {
        let a = incremental.search(&q(text)).unwrap();
        let b = rebuilt.search(&q(text)).unwrap();
        assert_eq!(a, b, "{text}");
    }
}

#[test]
fn persists_across_reopen() {
    let dir = std::env::temp_dir().join(format!("suqiu-search-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let before = {
        let index = SearchIndex::open(&dir).unwrap();
        index.upsert(&corpus()).unwrap();
        index.commit().unwrap();
        index.search(&q("噪音")).unwrap()
    };
    let index = SearchIndex::open(&dir).unwrap();
    assert_eq!(index.num_docs(), 5);
    assert_eq!(index.search(&q("噪音")).unwrap(), before);
    drop(index);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The high-water mark is committed with the documents (tantivy's commit payload): it
/// survives a reopen, a plain commit keeps it, an uncommitted write (a crash before the
/// commit) neither shows its documents nor moves the mark, a rebuild resets it.
#[test]
fn high_water_mark_is_committed_with_the_documents() {
    let dir = std::env::temp_dir().join(format!("suqiu-search-hw-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let docs = corpus();
    {
        let index = SearchIndex::open(&dir).unwrap();
        assert_eq!(index.high_water(), 0);
        index.upsert(&docs[..2]).unwrap();
        index.commit_with_high_water(17).unwrap();
        assert_eq!(index.high_water(), 17);
        index.upsert(&docs[2..3]).unwrap();
        index.commit().unwrap();
        assert_eq!(index.high_water(), 17, "a plain commit keeps the mark");
        // written, never committed: lost with the process
        index.upsert(&docs[3..]).unwrap();
    }
    let index = SearchIndex::open(&dir).unwrap();
    assert_eq!(index.high_water(), 17);
    assert_eq!(index.num_docs(), 3);
    index.rebuild(docs.clone()).unwrap();
    assert_eq!(index.high_water(), 0);
    drop(index);
    let index = SearchIndex::open(&dir).unwrap();
    assert_eq!((index.high_water(), index.num_docs()), (0, 5));
    drop(index);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// What a department sees: the cases dispatched to it, wherever they were filed (the
/// rule of the case lists); accusations never reach the accused subtree or person; the
/// total counts only what may be seen.
#[test]
fn dispatched_cases_and_accusations_follow_the_list_rule() {
    let index = SearchIndex::in_memory().unwrap();
    let mut dispatched = case(1, "/D/S1/C1/", "dispatched", 10, "路灯损坏", "小区路灯坏了");
    dispatched.involved = vec!["DEP1".into()];
    let other = case(2, "/D/S2/C3/", "received", 11, "路灯不亮", "路灯不亮很久了");
    let mut accusation = case(
        3,
        "/D/S1/C1/",
        "received",
        12,
        "举报路灯工程",
        "路灯工程有问题",
    );
    accusation.accused_path = Some("/D/S1/".into());
    accusation.involved = vec!["DEP1".into()];
    let mut against_person = case(
        4,
        "/D/S1/C1/",
        "received",
        13,
        "举报路灯维修",
        "路灯维修收钱",
    );
    against_person.accused_login = Some("zhang".into());
    against_person.involved = vec!["DEP1".into()];
    index
        .upsert(&[dispatched, other, accusation, against_person])
        .unwrap();
    index.commit().unwrap();

    // a department: no subtree of its own, sees what was dispatched to it
    let dep = Query {
        scopes: Some(vec![]),
        involved_unit: Some("DEP1".into()),
        viewer_paths: vec!["/D/DEP1/".into()],
        viewer_login: Some("zhang".into()),
        ..q("路灯")
    };
    let r = index.search(&dep).unwrap();
    assert_eq!(sorted_ids(&r), vec![1, 3]);
    assert_eq!(r.total, 2);
    // without the unit: nothing at all
    let none = Query {
        involved_unit: None,
        ..dep.clone()
    };
    assert_eq!(index.search(&none).unwrap().total, 0);
    // staff of the accused street: the accusation is neither listed nor counted
    let street = Query {
        scopes: Some(vec!["/D/S1/".into()]),
        involved_unit: Some("S1".into()),
        viewer_paths: vec!["/D/S1/".into()],
        viewer_login: Some("li".into()),
        ..q("路灯")
    };
    let r = index.search(&street).unwrap();
    assert_eq!(sorted_ids(&r), vec![1, 4]);
    assert_eq!(r.total, 2);
    // a community below it is inside the accused subtree too
    let community = Query {
        scopes: Some(vec!["/D/S1/C1/".into()]),
        viewer_paths: vec!["/D/S1/C1/".into()],
        ..q("路灯")
    };
    assert_eq!(index.search(&community).unwrap().total, 2);
    // the whole district, from outside the accused subtree: everything
    let bureau = Query {
        viewer_paths: vec!["/D/".into()],
        viewer_login: Some("he".into()),
        ..q("路灯")
    };
    assert_eq!(index.search(&bureau).unwrap().total, 4);
}

fn sorted_ids(r: &suqiu_search::SearchResult) -> Vec<i64> {
    let mut ids: Vec<i64> = r.hits.iter().map(|h| h.id).collect();
    ids.sort_unstable();
    ids
}
