//! The search index catches up from the journal after a crash: cases written to the
//! store whose indexing never committed (the process died first) are found after the
//! next start, on SQLite and (when the test script provides it) PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use std::sync::Arc;
use suqiu_app::{orgconfig, App, FixedClock, SearchIndex};
use suqiu_domain::case::IntakeInput;
use suqiu_domain::workflow::Command;
use suqiu_store::testing::{self, TestDb};

const T0: i64 = 1_795_395_600_000;

async fn app(db: &TestDb, index: Option<SearchIndex>) -> App {
    let mut app = App::new(db.store.clone(), Arc::new(FixedClock::new(T0)))
        .await
        .unwrap();
    if let Some(index) = index {
        app = app.with_search(index);
    }
    app.load_org(orgconfig::DEMO_DISTRICT).await.unwrap();
    app
}

fn intake(title: &str) -> IntakeInput {
    IntakeInput {
        channel: Some("web".into()),
        unit: Some("430799001002-01".into()),
        title: Some(title.into()),
        content: Some(format!("{title}，已经一个星期了")),
        reporter_name: Some("王小明".into()),
        reporter_phone: Some("13900001111".into()),
        ..Default::default()
    }
}

async fn found(app: &App, text: &str) -> Vec<i64> {
    let user = app.staff_by_login("shequ.chen").await.unwrap();
    let (_, hits) = app
        .search(&user, text, None, vec![], None, None, 50, 0)
        .await
        .unwrap();
    let mut ids: Vec<i64> = hits.iter().map(|h| h.row.id).collect();
    ids.sort_unstable();
    ids
}

async fn story(db: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    // a first run: cases indexed and the mark committed
    let first = app(&db, Some(SearchIndex::open(dir.path()).unwrap())).await;
    let a = first.file_case(&intake("路灯不亮"), None).await.unwrap();
    let b = first.file_case(&intake("路灯闪烁"), None).await.unwrap();
    assert_eq!(first.catch_up_search().await.unwrap(), 2);
    assert_eq!(found(&first, "路灯").await, vec![a.id, b.id]);
    assert_eq!(first.catch_up_search().await.unwrap(), 0, "nothing new");
    drop(first);

    // the crash: writes reach the store but the indexer never commits them (here: the
    // process that wrote them had no index at all)
    let crashed = app(&db, None).await;
    let c = crashed.file_case(&intake("路灯倒了"), None).await.unwrap();
    let d = crashed.file_case(&intake("噪音扰民"), None).await.unwrap();
    let staff = crashed.staff_by_login("shequ.chen").await.unwrap();
    crashed
        .execute(
            &staff,
            a.id,
            None,
            &Command::AddNote {
                text: "已联系供电所更换灯泡".into(),
            },
        )
        .await
        .unwrap();
    drop(crashed);

    // the restart: the index on disk lacks them until the catch-up
    let mut tries = 0;
    let index = loop {
        // the first app's indexer task ends (and releases the writer lock) soon after
        match SearchIndex::open(dir.path()) {
            Ok(i) => break i,
            Err(_) if tries < 250 => {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(20)).await
            }
            Err(e) => panic!("reopening the index: {e}"),
        }
    };
    let mark = index.high_water();
    assert!(mark > 0, "the first run committed a mark");
    let restarted = app(&db, Some(index)).await;
    assert_eq!(found(&restarted, "路灯").await, vec![a.id, b.id]);
    assert!(found(&restarted, "供电所").await.is_empty());
    // the two new cases and the one with a note, nothing more
    assert_eq!(restarted.catch_up_search().await.unwrap(), 3);
    assert_eq!(found(&restarted, "路灯").await, vec![a.id, b.id, c.id]);
    assert_eq!(found(&restarted, "扰民").await, vec![d.id]);
    assert_eq!(found(&restarted, "供电所").await, vec![a.id]);
    assert_eq!(restarted.catch_up_search().await.unwrap(), 0);
}

#[tokio::test]
async fn search_catches_up_after_a_crash() {
    story(testing::sqlite().await.unwrap()).await;
    if let Some(server) = testing::postgres_server_url() {
        story(testing::postgres(&server).await.unwrap()).await;
    }
}
