//! One storage story, run on SQLite always and on PostgreSQL when the test
//! script provides a server (CI requires it: SUQIU_REQUIRE_POSTGRES=1).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use suqiu_domain::case::{Actor, Channel, Event, Intake, Reporter};
use suqiu_store::testing::{self, TestDb};
use suqiu_store::{
    CaseFilter, CaseRow, CaseWrite, DeadlineRow, Store, StoreError, UnitRow, UserRow,
};

async fn both(
    story: impl Fn(Store) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
) {
    let db: TestDb = testing::sqlite().await.expect("sqlite");
    story(db.store.clone()).await;
    if let Some(server) = testing::postgres_server_url() {
        let db = testing::postgres(&server).await.expect("postgres");
        story(db.store.clone()).await;
    }
}

fn unit(code: &str, level: &str, parent: Option<&str>, path: &str) -> UnitRow {
    UnitRow {
        code: code.into(),
        name: format!("单位{code}"),
        level: level.into(),
        parent: parent.map(Into::into),
        path: path.into(),
    }
}

fn org() -> Vec<UnitRow> {
    vec![
        unit("D", "district", None, "/D/"),
        unit("S1", "street", Some("D"), "/D/S1/"),
        unit("S10", "street", Some("D"), "/D/S10/"),
        unit("C1", "community", Some("S1"), "/D/S1/C1/"),
        unit("C2", "community", Some("S10"), "/D/S10/C2/"),
    ]
}

fn received(place: &str) -> Event {
    Event::Received(Box::new(Intake {
        channel: Channel::Web,
        place_unit: place.into(),
        triage_unit: place.into(),
        street: "S1".into(),
        title: "路灯不亮".into(),
        content: "门口路灯坏了".into(),
        address: None,
        reporter: Reporter {
            name: "张三".into(),
            phone: "13812341234".into(),
            id_number: None,
            confidential: false,
        },
        proxy: None,
        accused_unit: None,
        accused_person: None,
        chat: None,
        contact: None,
        location: None,
    }))
}

fn row(code: &str, place: &str, path: &str, at: i64, version: u64, channel: &str) -> CaseRow {
    CaseRow {
        id: 0,
        tracking_code: code.into(),
        status: "received".into(),
        channel: channel.into(),
        place_unit: place.into(),
        place_path: path.into(),
        current_unit: place.into(),
        title: "路灯不亮".into(),
        reporter_name: "张三".into(),
        reporter_phone: "13812341234".into(),
        received_at: at,
        updated_at: at,
        version,
        category: None,
        urgency: None,
        accused_path: None,
        accused_login: None,
    }
}

fn new_case(code: &str, place: &str, path: &str, at: i64, channel: &str) -> CaseWrite {
    CaseWrite {
        case_id: None,
        expected_version: 0,
        events: vec![(at, Actor::Resident, received(place))],
        row: row(code, place, path, at, 1, channel),
        queues: vec![(place.into(), "triage".into())],
        deadlines: vec![DeadlineRow {
            rule: "triage".into(),
            unit: place.into(),
            due_at: at + 100,
            warn_at: at + 50,
            warned: false,
            overdue: false,
            provisional: false,
        }],
        involved: vec![],
        before: None,
        notifications: vec![(
            0,
            r#"{"type":"resident"}"#.into(),
            "received".into(),
            "已受理".into(),
        )],
        audit: None,
        photos: Vec::new(),
        chat_message: None,
    }
}

fn note(id: i64, code: &str, from: u64, at: i64, text: &str) -> CaseWrite {
    let mut r = row(code, "C1", "/D/S1/C1/", 1000, from + 1, "web");
    r.id = id;
    r.updated_at = at;
    CaseWrite {
        case_id: Some(id),
        expected_version: from,
        events: vec![(at, Actor::System, Event::NoteAdded { text: text.into() })],
        row: r,
        queues: vec![],
        deadlines: vec![],
        involved: vec![],
        before: None,
        notifications: vec![],
        audit: None,
        photos: Vec::new(),
        chat_message: None,
    }
}

fn deadline(rule: &str, due_at: i64, warned: bool) -> DeadlineRow {
    DeadlineRow {
        rule: rule.into(),
        unit: "C1".into(),
        due_at,
        warn_at: due_at - 50,
        warned,
        overdue: false,
        provisional: false,
    }
}

fn queues(q: &[&str]) -> Vec<(String, String)> {
    q.iter()
        .map(|q| ("C1".to_string(), q.to_string()))
        .collect()
}

#[tokio::test]
async fn migrations_are_idempotent() {
    both(|s| {
        Box::pin(async move {
            assert_eq!(s.migrate().await.unwrap(), 0, "second migrate runs nothing");
        })
    })
    .await;
}

#[tokio::test]
async fn org_users_and_sessions() {
    both(|s| {
        Box::pin(async move {
            let user = UserRow {
                login: "li".into(),
                name: "李芳".into(),
                role: "grid_worker".into(),
                unit: "C1".into(),
                linked_units: vec!["S1".into()],
                password_hash: "hash-1".into(),
                disabled: false,
            };
            s.put_org(org(), vec![user.clone()]).await.unwrap();
            let units = s.units().await.unwrap();
            assert_eq!(units.len(), 5);
            assert_eq!(units[0].code, "D");
            // loading again only adds what is missing: stored rows are kept
            let mut renamed = user.clone();
            renamed.name = "李芳芳".into();
            renamed.role = "community_staff".into();
            renamed.password_hash = "other".into();
            let mut units = org();
            units[1].name = "改过的名字".into();
            s.put_org(units, vec![renamed]).await.unwrap();
            let got = s.user("li").await.unwrap().unwrap();
            assert_eq!(
                (
                    got.name.as_str(),
                    got.role.as_str(),
                    got.password_hash.as_str()
                ),
                ("李芳", "grid_worker", "hash-1")
            );
            assert_eq!(s.units().await.unwrap()[1].name, "单位S1");
            assert_eq!(s.all_users().await.unwrap(), vec![user.clone()]);
            assert_eq!(got.linked_units, vec!["S1".to_string()]);
            assert_eq!(s.logins().await.unwrap(), vec!["li".to_string()]);
            assert!(s.user("nobody").await.unwrap().is_none());

            s.insert_session("tok", "li", 100, 200).await.unwrap();
            assert_eq!(
                s.session_user("tok", 150).await.unwrap().unwrap().login,
                "li"
            );
            assert!(
                s.session_user("tok", 200).await.unwrap().is_none(),
                "expired"
            );
            assert!(s.session_user("nope", 150).await.unwrap().is_none());
            assert!(s.delete_session("tok").await.unwrap());
            assert!(s.session_user("tok", 150).await.unwrap().is_none());
            assert!(!s.delete_session("tok").await.unwrap());
        })
    })
    .await;
}

#[tokio::test]
async fn units_are_added_renamed_and_removed_only_when_nothing_refers_to_them() {
    use suqiu_store::UnitRemoval;
    both(|s| {
        Box::pin(async move {
            let leader = UserRow {
                login: "wang".into(),
                name: "王强".into(),
                role: "leader".into(),
                unit: "D".into(),
                linked_units: vec!["S10".into()],
                password_hash: "h".into(),
                disabled: false,
            };
            s.put_org(org(), vec![leader]).await.unwrap();
            // add: a taken code is refused and changes nothing
            assert!(s
                .insert_unit(unit("G1", "grid", Some("C1"), "/D/S1/C1/G1/"))
                .await
                .unwrap());
            assert!(!s
                .insert_unit(unit("G1", "hamlet", Some("C2"), "/D/S10/C2/G1/"))
                .await
                .unwrap());
            let g1 = s.units().await.unwrap();
            let g1 = g1.iter().find(|u| u.code == "G1").unwrap();
            assert_eq!(
                (g1.level.as_str(), g1.path.as_str()),
                ("grid", "/D/S1/C1/G1/")
            );
            // rename
            assert!(s.rename_unit("G1", "一网格").await.unwrap());
            assert!(!s.rename_unit("NOPE", "x").await.unwrap());
            assert!(s.units().await.unwrap().iter().any(|u| u.name == "一网格"));
            // removal: each reference keeps the unit
            assert_eq!(s.remove_unit("NOPE").await.unwrap(), UnitRemoval::NotFound);
            assert_eq!(
                s.remove_unit("C1").await.unwrap(),
                UnitRemoval::InUse("units")
            );
            assert_eq!(
                s.remove_unit("S10").await.unwrap(),
                UnitRemoval::InUse("units")
            );
            assert_eq!(s.remove_unit("C2").await.unwrap(), UnitRemoval::Removed);
            assert_eq!(
                s.remove_unit("S10").await.unwrap(),
                UnitRemoval::InUse("users"),
                "a leader is linked to it"
            );
            s.insert_unit(unit("G2", "grid", Some("C1"), "/D/S1/C1/G2/"))
                .await
                .unwrap();
            s.write_case(new_case("UUUUUUUUUA", "G2", "/D/S1/C1/G2/", 1000, "web"))
                .await
                .unwrap();
            assert_eq!(
                s.remove_unit("G2").await.unwrap(),
                UnitRemoval::InUse("cases")
            );
            assert_eq!(s.remove_unit("G1").await.unwrap(), UnitRemoval::Removed);
            let codes: Vec<String> = s
                .units()
                .await
                .unwrap()
                .into_iter()
                .map(|u| u.code)
                .collect();
            assert_eq!(codes, ["D", "S1", "C1", "G2", "S10"]);
            // G1 can be added again once removed
            assert!(s
                .insert_unit(unit("G1", "grid", Some("C1"), "/D/S1/C1/G1/"))
                .await
                .unwrap());
        })
    })
    .await;
}

#[tokio::test]
async fn queues_page_by_position_without_gaps_or_repeats() {
    use suqiu_store::{QueueFilter, QueuePosition};
    both(|s| {
        Box::pin(async move {
            s.put_org(org(), vec![]).await.unwrap();
            // three cases entering at one instant (ties broken by id), two later
            let mut ids = Vec::new();
            for (i, at) in [3000, 1000, 1000, 1000, 2000].into_iter().enumerate() {
                let code = format!("QQQQQQQQQ{}", (b'A' + i as u8) as char);
                ids.push((
                    at,
                    s.write_case(new_case(&code, "C1", "/D/S1/C1/", at, "web"))
                        .await
                        .unwrap()
                        .id,
                ));
            }
            let mut expected = ids.clone();
            expected.sort();
            let mut seen = Vec::new();
            let mut after = None;
            loop {
                let page = s
                    .queue_page("C1", "triage", after, &QueueFilter::default(), 2)
                    .await
                    .unwrap();
                assert!(page.len() <= 2);
                if page.is_empty() {
                    break;
                }
                for (pos, row) in &page {
                    assert_eq!(pos.case_id, row.id);
                    seen.push((pos.since, row.id));
                }
                after = page.last().map(|(p, _)| *p);
            }
            assert_eq!(seen, expected, "every case once, oldest first");
            let all = s.queue("C1", "triage", 10).await.unwrap();
            assert_eq!(
                all.iter().map(|r| r.id).collect::<Vec<_>>(),
                expected.iter().map(|e| e.1).collect::<Vec<_>>()
            );
            // narrowed: by the place's subtree, by category (none has one yet)
            let narrowed = |f: QueueFilter| {
                let s = s.clone();
                async move {
                    s.queue_page("C1", "triage", None, &f, 10)
                        .await
                        .unwrap()
                        .len()
                }
            };
            let sub = |p: &str| QueueFilter {
                subtree: Some(p.into()),
                ..Default::default()
            };
            assert_eq!(narrowed(sub("/D/S1/")).await, 5);
            assert_eq!(narrowed(sub("/D/S1/C1/")).await, 5);
            assert_eq!(narrowed(sub("/D/S10/")).await, 0);
            assert_eq!(
                narrowed(sub("/D/S")).await,
                0,
                "a path prefix is a whole unit"
            );
            let cat = QueueFilter {
                category: Some("基础建设".into()),
                ..Default::default()
            };
            assert_eq!(narrowed(cat).await, 0);
            // the cursor's text form round-trips; garbage does not parse
            let p = QueuePosition {
                since: 1000,
                case_id: 7,
            };
            assert_eq!(QueuePosition::parse(&p.encode()), Some(p));
            assert_eq!(QueuePosition::parse("1000"), None);
            assert_eq!(QueuePosition::parse("x.7"), None);
        })
    })
    .await;
}

#[tokio::test]
async fn journal_and_projections() {
    both(|s| {
        Box::pin(async move {
            let r = s
                .write_case(new_case("AAAAAAAAAA", "C1", "/D/S1/C1/", 1000, "web"))
                .await
                .unwrap();
            assert_eq!(r.version, 1);
            let got = s.case_by_id(r.id).await.unwrap().unwrap();
            assert_eq!(got.tracking_code, "AAAAAAAAAA");
            assert_eq!(got.id, r.id);
            assert_eq!(
                s.case_by_tracking_code("AAAAAAAAAA")
                    .await
                    .unwrap()
                    .unwrap()
                    .id,
                r.id
            );
            assert!(s
                .case_by_tracking_code("BBBBBBBBBB")
                .await
                .unwrap()
                .is_none());
            assert_eq!(s.queue("C1", "triage", 10).await.unwrap().len(), 1);

            let r2 = s
                .write_case(note(r.id, "AAAAAAAAAA", 1, 2000, "已联系"))
                .await
                .unwrap();
            assert_eq!(r2.version, 2);
            let events = s.events(r.id).await.unwrap();
            assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2]);
            assert_eq!(
                events[1].event,
                Event::NoteAdded {
                    text: "已联系".into()
                }
            );
            assert_eq!(events[1].at, 2000);
            assert_eq!(s.case_by_id(r.id).await.unwrap().unwrap().version, 2);
            // the note write replaced queue memberships with none
            assert!(s.queue("C1", "triage", 10).await.unwrap().is_empty());

            // a stale write is refused and changes nothing
            let e = s
                .write_case(note(r.id, "AAAAAAAAAA", 1, 3000, "stale"))
                .await
                .unwrap_err();
            assert!(matches!(e, StoreError::Conflict { expected: 1, .. }), "{e}");
            assert_eq!(s.events(r.id).await.unwrap().len(), 2);
            let e = s
                .write_case(note(999_999, "X", 1, 3000, "x"))
                .await
                .unwrap_err();
            assert!(matches!(e, StoreError::CaseNotFound(999_999)), "{e}");

            // duplicate tracking codes are refused, nothing half-written
            let before = s.count_cases().await.unwrap();
            let e = s
                .write_case(new_case("AAAAAAAAAA", "C1", "/D/S1/C1/", 1000, "web"))
                .await
                .unwrap_err();
            assert!(matches!(e, StoreError::DuplicateTrackingCode), "{e}");
            assert_eq!(s.count_cases().await.unwrap(), before);
        })
    })
    .await;
}

#[tokio::test]
async fn concurrent_writes_to_one_case_exactly_one_wins() {
    both(|s| {
        Box::pin(async move {
            let r = s
                .write_case(new_case("CCCCCCCCCC", "C1", "/D/S1/C1/", 1000, "web"))
                .await
                .unwrap();
            for round in 0..5u64 {
                let from = 1 + round;
                let mut tasks = Vec::new();
                for i in 0..8 {
                    let s = s.clone();
                    tasks.push(tokio::spawn(async move {
                        s.write_case(note(
                            r.id,
                            "CCCCCCCCCC",
                            from,
                            2000 + i,
                            &format!("writer {i}"),
                        ))
                        .await
                    }));
                }
                let mut wins = 0;
                for t in tasks {
                    match t.await.unwrap() {
                        Ok(_) => wins += 1,
                        Err(StoreError::Conflict { .. }) => {}
                        Err(e) => panic!("unexpected {e}"),
                    }
                }
                assert_eq!(wins, 1, "round {round}");
            }
            let events = s.events(r.id).await.unwrap();
            assert_eq!(events.len(), 6);
            assert_eq!(s.case_by_id(r.id).await.unwrap().unwrap().version, 6);
        })
    })
    .await;
}

#[tokio::test]
async fn list_filters_and_keyset_pages() {
    both(|s| {
        Box::pin(async move {
            for i in 0..25i64 {
                let (place, path) = if i % 2 == 0 {
                    ("C1", "/D/S1/C1/")
                } else {
                    ("C2", "/D/S10/C2/")
                };
                let channel = if i % 5 == 0 { "hotline_12345" } else { "web" };
                s.write_case(new_case(
                    &format!("L{i:09}"),
                    place,
                    path,
                    10_000 + i,
                    channel,
                ))
                .await
                .unwrap();
            }
            let all = s
                .list_cases(CaseFilter {
                    limit: 100,
                    ..Default::default()
                })
                .await
                .unwrap();
            assert_eq!(all.len(), 25);
            assert!(all.windows(2).all(|w| w[0].id > w[1].id), "newest first");

            // subtree: S1 must not match S10 (prefix trap)
            let s1 = s
                .list_cases(CaseFilter {
                    subtree: Some("/D/S1/".into()),
                    limit: 100,
                    ..Default::default()
                })
                .await
                .unwrap();
            assert_eq!(s1.len(), 13);
            assert!(s1.iter().all(|r| r.place_unit == "C1"));
            let scoped = s
                .list_cases(CaseFilter {
                    scopes: Some(vec!["/D/S10/".into()]),
                    limit: 100,
                    ..Default::default()
                })
                .await
                .unwrap();
            assert_eq!(scoped.len(), 12);
            let none = s
                .list_cases(CaseFilter {
                    scopes: Some(vec![]),
                    limit: 100,
                    ..Default::default()
                })
                .await
                .unwrap();
            assert!(none.is_empty());

            let hotline = s
                .list_cases(CaseFilter {
                    channels: vec!["hotline_12345".into()],
                    limit: 100,
                    ..Default::default()
                })
                .await
                .unwrap();
            assert_eq!(hotline.len(), 5);
            let ranged = s
                .list_cases(CaseFilter {
                    from: Some(10_005),
                    to: Some(10_010),
                    limit: 100,
                    ..Default::default()
                })
                .await
                .unwrap();
            assert_eq!(ranged.len(), 5);
            let status = s
                .list_cases(CaseFilter {
                    statuses: vec!["closed".into()],
                    limit: 100,
                    ..Default::default()
                })
                .await
                .unwrap();
            assert!(status.is_empty());

            // keyset pages cover everything exactly once
            let mut seen = Vec::new();
            let mut cursor = None;
            loop {
                let page = s
                    .list_cases(CaseFilter {
                        before_id: cursor,
                        limit: 7,
                        ..Default::default()
                    })
                    .await
                    .unwrap();
                if page.is_empty() {
                    break;
                }
                cursor = page.last().map(|r| r.id);
                seen.extend(page.into_iter().map(|r| r.id));
            }
            assert_eq!(seen, all.iter().map(|r| r.id).collect::<Vec<_>>());
            assert_eq!(s.queue("C2", "triage", 5).await.unwrap().len(), 5);
        })
    })
    .await;
}

#[tokio::test]
async fn deadlines_involvement_and_notifications() {
    both(|s| {
        Box::pin(async move {
            let a = s
                .write_case(new_case("DDDDDDDDDA", "C1", "/D/S1/C1/", 1000, "web"))
                .await
                .unwrap();
            let b = s
                .write_case(new_case("DDDDDDDDDB", "C2", "/D/S10/C2/", 5000, "web"))
                .await
                .unwrap();
            assert_eq!(s.deadlines(a.id).await.unwrap().len(), 1);
            let n = s.notifications(a.id).await.unwrap();
            assert_eq!((n.len(), n[0].seq, n[0].status.as_str()), (1, 1, "pending"));

            // due_cases: warn time of a passed at 1050, b at 5050
            assert!(s.due_cases(1049, 10).await.unwrap().is_empty());
            assert_eq!(s.due_cases(1050, 10).await.unwrap(), vec![a.id]);
            assert_eq!(s.due_cases(6000, 10).await.unwrap(), vec![a.id, b.id]);
            assert_eq!(s.due_cases(6000, 1).await.unwrap(), vec![a.id]);

            // a write replaces deadlines, adds involvement
            let mut w = note(a.id, "DDDDDDDDDA", 1, 2000, "派单");
            w.deadlines = vec![DeadlineRow {
                rule: "triage".into(),
                unit: "C1".into(),
                due_at: 1100,
                warn_at: 1050,
                warned: true,
                overdue: false,
                provisional: false,
            }];
            w.involved = vec!["DEP1".into()];
            w.notifications = vec![(
                0,
                r#"{"type":"unit","code":"DEP1"}"#.into(),
                "dispatched".into(),
                "新派单".into(),
            )];
            s.write_case(w).await.unwrap();
            let d = s.deadlines(a.id).await.unwrap();
            assert!(d[0].warned && !d[0].overdue);
            assert_eq!(
                s.due_cases(1099, 10).await.unwrap(),
                Vec::<i64>::new(),
                "warned already"
            );
            assert_eq!(
                s.due_cases(1100, 10).await.unwrap(),
                vec![a.id],
                "now overdue"
            );
            let n = s.notifications(a.id).await.unwrap();
            assert_eq!((n.len(), n[1].seq), (2, 2));

            // a department sees what was dispatched to it, and nothing else
            let f = |unit: &str| CaseFilter {
                scopes: Some(vec![]),
                involved_unit: Some(unit.into()),
                limit: 10,
                ..Default::default()
            };
            let seen = s.list_cases(f("DEP1")).await.unwrap();
            assert_eq!(seen.iter().map(|r| r.id).collect::<Vec<_>>(), vec![a.id]);
            assert!(s.list_cases(f("DEP2")).await.unwrap().is_empty());

            let ev = s.events_of(vec![a.id, b.id]).await.unwrap();
            assert_eq!(ev.iter().filter(|e| e.case_id == a.id).count(), 2);
            assert_eq!(ev.iter().filter(|e| e.case_id == b.id).count(), 1);
        })
    })
    .await;
}

#[tokio::test]
async fn audit_chain_sessions_and_throttle_records() {
    both(|s| {
        Box::pin(async move {
            let e = |i: i64| suqiu_store::AuditEntry {
                at: 1000 + i,
                actor: "li".into(),
                action: "case.unmask".into(),
                target: format!("case:{i}"),
                reason: "回访".into(),
                detail: "{}".into(),
            };
            for i in 0..5 {
                assert_eq!(s.append_audit(e(i)).await.unwrap(), i + 1);
            }
            let rows = s.audit_rows(0, 100).await.unwrap();
            assert_eq!(rows.len(), 5);
            assert_eq!(rows[0].prev_hash, suqiu_store::AUDIT_GENESIS);
            for w in rows.windows(2) {
                assert_eq!(w[1].prev_hash, w[0].hash);
            }
            for r in &rows {
                assert_eq!(
                    suqiu_store::audit_hash(&r.prev_hash, r.seq, &r.entry),
                    r.hash
                );
            }
            // retention keeps the newest record
            assert_eq!(s.purge_audit_before(1003, true).await.unwrap(), 3);
            assert_eq!(s.audit_rows(0, 100).await.unwrap().len(), 5, "dry run");
            assert_eq!(s.purge_audit_before(1003, false).await.unwrap(), 3);
            assert_eq!(s.audit_rows(0, 100).await.unwrap()[0].seq, 4);

            s.record_login_failure("li", "10.0.0.1", 100).await.unwrap();
            s.record_login_failure("li", "10.0.0.1", 200).await.unwrap();
            s.record_login_failure("li", "10.0.0.2", 210).await.unwrap();
            s.record_login_failure("wang", "10.0.0.1", 220)
                .await
                .unwrap();
            let f = s.login_failures_since("li", "10.0.0.1", 150).await.unwrap();
            assert_eq!((f.account, f.pair, f.address), (2, 1, 2));
            // a good login clears the account's failures from that address only
            s.clear_login_failures("li", "10.0.0.1").await.unwrap();
            let f = s.login_failures_since("li", "10.0.0.1", 0).await.unwrap();
            assert_eq!((f.account, f.pair, f.address), (1, 0, 1));

            s.put_org(
                org(),
                vec![UserRow {
                    login: "li".into(),
                    name: "李".into(),
                    role: "grid_worker".into(),
                    unit: "C1".into(),
                    linked_units: vec![],
                    password_hash: "h".into(),
                    disabled: false,
                }],
            )
            .await
            .unwrap();
            s.insert_session("a", "li", 0, 10_000).await.unwrap();
            s.insert_session("b", "li", 0, 10_000).await.unwrap();
            assert!(s.set_user_disabled("li", true).await.unwrap());
            assert!(
                s.session_user("a", 1).await.unwrap().is_none(),
                "disabled at once"
            );
            assert!(s.set_user_disabled("li", false).await.unwrap());
            assert_eq!(s.delete_sessions_of("li").await.unwrap(), 2);
            assert!(!s.set_user_disabled("nobody", true).await.unwrap());
        })
    })
    .await;
}

#[tokio::test]
async fn accusations_are_filtered_for_the_accused() {
    both(|s| {
        Box::pin(async move {
            let mut w = new_case("ACCUSED001", "C1", "/D/S1/C1/", 1000, "web");
            w.row.accused_path = Some("/D/S1/".into());
            w.row.accused_login = Some("boss".into());
            let a = s.write_case(w).await.unwrap();
            let f = |paths: Vec<&str>, login: &str| CaseFilter {
                viewer_paths: paths.into_iter().map(String::from).collect(),
                viewer_login: Some(login.into()),
                limit: 10,
                ..Default::default()
            };
            // a viewer inside the accused street (its community) and the street itself: hidden
            assert!(s
                .list_cases(f(vec!["/D/S1/C1/"], "x"))
                .await
                .unwrap()
                .is_empty());
            assert!(s
                .list_cases(f(vec!["/D/S1/"], "x"))
                .await
                .unwrap()
                .is_empty());
            // the accused person: hidden wherever they sit
            assert!(s
                .list_cases(f(vec!["/D/"], "boss"))
                .await
                .unwrap()
                .is_empty());
            // the district above, and the neighbouring street S10 (prefix trap): visible
            assert_eq!(s.list_cases(f(vec!["/D/"], "x")).await.unwrap()[0].id, a.id);
            assert_eq!(
                s.list_cases(f(vec!["/D/S10/"], "x")).await.unwrap()[0].id,
                a.id
            );
        })
    })
    .await;
}

#[tokio::test]
async fn batched_writes_change_only_what_differs_and_audit_every_change() {
    both(|s| {
        Box::pin(async move {
            // a batch of new cases, each with an audit entry, in one transaction
            let mut batch = Vec::new();
            for i in 0..50 {
                let mut w = new_case(&format!("Q{i:09}"), "C1", "/D/S1/C1/", 1000 + i, "web");
                w.audit = Some(suqiu_store::AuditEntry {
                    at: 1000 + i,
                    actor: "system".into(),
                    action: "case.received".into(),
                    target: String::new(),
                    reason: String::new(),
                    detail: "{}".into(),
                });
                batch.push(w);
            }
            let refs = s.write_cases(batch).await.unwrap();
            assert_eq!(refs.len(), 50);
            for (i, r) in refs.iter().enumerate() {
                let got = s.case_by_id(r.id).await.unwrap().unwrap();
                assert_eq!(got.tracking_code, format!("Q{i:09}"), "ids in write order");
            }
            let audit = s.audit_rows(0, 1000).await.unwrap();
            assert_eq!(audit.len(), 50);
            let mut targets: Vec<String> = audit.iter().map(|a| a.entry.target.clone()).collect();
            targets.sort();
            let mut want: Vec<String> = refs.iter().map(|r| format!("case:{}", r.id)).collect();
            want.sort();
            assert_eq!(targets, want, "each entry names its case");
            for w in audit.windows(2) {
                assert_eq!(w[1].prev_hash, w[0].hash);
            }

            // with `before`, only the difference is written: memberships that
            // stay keep their start time, deadlines change in place
            let first = refs[0].id;
            let before = s.queue("C1", "triage", 100).await.unwrap();
            assert_eq!(before.len(), 50);
            let was = suqiu_store::Stored {
                queues: queues(&["triage"]),
                deadlines: vec![deadline("triage", 1100, false)],
                involved: vec![],
            };
            let mut w = note(first, "Q000000000", 1, 5000, "看过");
            w.queues = queues(&["triage", "due_soon"]);
            w.deadlines = vec![
                deadline("triage", 1100, true),
                deadline("extra", 9000, false),
            ];
            w.involved = vec!["D1".into()];
            w.before = Some(was.clone());
            // the second case, in the same batch, loses its membership and deadline
            let mut w2 = note(refs[1].id, "Q000000001", 1, 5000, "办结");
            w2.before = Some(suqiu_store::Stored {
                deadlines: vec![deadline("triage", 1101, false)],
                ..was.clone()
            });
            s.write_cases(vec![w, w2]).await.unwrap();
            let after = s.queue("C1", "triage", 100).await.unwrap();
            assert_eq!(after.len(), 49);
            assert_eq!(after[0].id, first, "still first in its queue");
            assert!(after.iter().all(|c| c.id != refs[1].id));
            let soon = s.queue("C1", "due_soon", 100).await.unwrap();
            assert_eq!(soon.iter().map(|c| c.id).collect::<Vec<_>>(), vec![first]);
            let d = s.deadlines(first).await.unwrap();
            assert_eq!(
                d,
                vec![
                    deadline("triage", 1100, true),
                    deadline("extra", 9000, false)
                ]
            );
            assert!(s.deadlines(refs[1].id).await.unwrap().is_empty());
            let involved = s
                .list_cases(CaseFilter {
                    scopes: Some(vec![]),
                    involved_unit: Some("D1".into()),
                    limit: 100,
                    ..CaseFilter::default()
                })
                .await
                .unwrap();
            assert_eq!(
                involved.iter().map(|c| c.id).collect::<Vec<_>>(),
                vec![first]
            );

            // a later write drops a membership and a deadline; one stays as it was
            let mut w = note(first, "Q000000000", 2, 5100, "再看");
            w.queues = queues(&["due_soon"]);
            w.deadlines = vec![deadline("extra", 9000, false)];
            w.involved = vec!["D1".into()];
            w.before = Some(suqiu_store::Stored {
                queues: queues(&["triage", "due_soon"]),
                deadlines: vec![
                    deadline("triage", 1100, true),
                    deadline("extra", 9000, false),
                ],
                involved: vec!["D1".into()],
            });
            s.write_case(w).await.unwrap();
            assert!(s
                .queue("C1", "triage", 100)
                .await
                .unwrap()
                .iter()
                .all(|c| c.id != first));
            assert_eq!(s.queue("C1", "due_soon", 100).await.unwrap().len(), 1);
            assert_eq!(
                s.deadlines(first).await.unwrap(),
                vec![deadline("extra", 9000, false)]
            );

            // without `before`, the stored memberships and deadlines are replaced
            let w = note(first, "Q000000000", 3, 5200, "重置");
            s.write_case(w).await.unwrap();
            assert!(s.queue("C1", "due_soon", 100).await.unwrap().is_empty());
            assert!(s.deadlines(first).await.unwrap().is_empty());

            // a batch where one write is stale: nothing of the batch is written
            let ok = note(refs[3].id, "Q000000003", 1, 6000, "一");
            let stale = note(refs[2].id, "Q000000002", 5, 6000, "二");
            let e = s.write_cases(vec![ok, stale]).await.unwrap_err();
            assert!(matches!(e, StoreError::Conflict { .. }), "{e}");
            assert_eq!(s.events(refs[3].id).await.unwrap().len(), 1, "rolled back");
            assert_eq!(s.case_by_id(refs[3].id).await.unwrap().unwrap().version, 1);
            assert_eq!(
                s.deadlines(refs[3].id).await.unwrap().len(),
                1,
                "rolled back"
            );
        })
    })
    .await;
}

#[tokio::test]
async fn projections_are_replaced_by_difference_at_a_version() {
    both(|s| {
        Box::pin(async move {
            let a = s
                .write_case(new_case("P000000001", "C1", "/D/S1/C1/", 1000, "web"))
                .await
                .unwrap();
            let b = s
                .write_case(new_case("P000000002", "C1", "/D/S1/C1/", 1001, "web"))
                .await
                .unwrap();
            let same = suqiu_store::Stored {
                queues: queues(&["triage"]),
                deadlines: vec![DeadlineRow {
                    rule: "triage".into(),
                    unit: "C1".into(),
                    due_at: 1100,
                    warn_at: 1050,
                    warned: false,
                    overdue: false,
                    provisional: false,
                }],
                involved: vec![],
            };
            // another version: nothing is changed
            let r = s
                .replace_projections(a.id, 7, same.clone(), 2000)
                .await
                .unwrap();
            assert_eq!(r, None);
            assert_eq!(
                s.replace_projections(999_999, 1, same.clone(), 2000)
                    .await
                    .unwrap(),
                None
            );
            // the same projections: nothing to change
            let r = s
                .replace_projections(a.id, 1, same.clone(), 2000)
                .await
                .unwrap();
            assert_eq!(r, Some(false));
            // what the journal now gives: one more membership, a flag, a unit
            let mut p = same.clone();
            p.queues = queues(&["due_soon", "triage"]);
            p.deadlines[0].warned = true;
            p.involved = vec!["D1".into()];
            let r = s
                .replace_projections(a.id, 1, p.clone(), 2000)
                .await
                .unwrap();
            assert_eq!(r, Some(true));
            let triage = s.queue("C1", "triage", 10).await.unwrap();
            assert_eq!(
                triage.iter().map(|c| c.id).collect::<Vec<_>>(),
                vec![a.id, b.id],
                "the kept membership keeps its place"
            );
            assert_eq!(s.queue("C1", "due_soon", 10).await.unwrap()[0].id, a.id);
            assert_eq!(s.deadlines(a.id).await.unwrap(), p.deadlines);
            assert_eq!(
                s.replace_projections(a.id, 1, p, 2000).await.unwrap(),
                Some(false)
            );
            assert_eq!(
                s.case_by_id(a.id).await.unwrap().unwrap().version,
                1,
                "no event"
            );
        })
    })
    .await;
}

fn photo(n: u32, data: &[u8]) -> suqiu_store::NewPhoto {
    suqiu_store::NewPhoto {
        n,
        content_type: "image/png".into(),
        sha256: format!("sha-{n}"),
        data: data.to_vec(),
    }
}

/// A write of `photo_attached` events with their bytes.
fn attach(id: i64, code: &str, from: u64, at: i64, photos: &[(u32, &[u8])]) -> CaseWrite {
    let mut w = note(id, code, from, at, "");
    w.events = photos
        .iter()
        .map(|(n, d)| {
            (
                at,
                Actor::Resident,
                Event::PhotoAttached {
                    photo: *n,
                    content_type: "image/png".into(),
                    bytes: d.len() as u64,
                },
            )
        })
        .collect();
    w.row.version = from + photos.len() as u64;
    w.photos = photos.iter().map(|(n, d)| photo(*n, d)).collect();
    w
}

#[tokio::test]
async fn photos_are_written_with_their_events_and_deleted_with_personal_data() {
    both(|s| {
        Box::pin(async move {
            s.put_org(org(), vec![]).await.unwrap();
            // filed with a photo: one write
            let mut w = new_case("PHOTOAAAAA", "C1", "/D/S1/C1/", 1000, "web");
            w.events.push((
                1000,
                Actor::Resident,
                Event::PhotoAttached {
                    photo: 1,
                    content_type: "image/png".into(),
                    bytes: 3,
                },
            ));
            w.row.version = 2;
            w.photos = vec![photo(1, b"abc")];
            let r = s.write_case(w).await.unwrap();
            let p = s.photo(r.id, 1).await.unwrap().unwrap();
            assert_eq!(
                (p.data.as_slice(), p.content_type.as_str(), p.added_at),
                (&b"abc"[..], "image/png", 1000)
            );
            // two more later; a stale write of the same number conflicts and stores nothing
            s.write_case(attach(
                r.id,
                "PHOTOAAAAA",
                2,
                2000,
                &[(2, b"de"), (3, b"f")],
            ))
            .await
            .unwrap();
            let e = s
                .write_case(attach(r.id, "PHOTOAAAAA", 2, 3000, &[(2, b"zz")]))
                .await
                .unwrap_err();
            assert!(matches!(e, StoreError::Conflict { .. }), "{e:?}");
            let list = s.photos(r.id).await.unwrap();
            assert_eq!(
                list.iter().map(|p| (p.n, p.size)).collect::<Vec<_>>(),
                vec![(1, 3), (2, 2), (3, 1)]
            );
            assert_eq!(s.photo(r.id, 2).await.unwrap().unwrap().data, b"de");
            assert!(s.photo(r.id, 4).await.unwrap().is_none());
            assert_eq!(s.events(r.id).await.unwrap().len(), 4);
            // another case's photos are its own
            let other = s
                .write_case(new_case("PHOTOBBBBB", "C1", "/D/S1/C1/", 1000, "web"))
                .await
                .unwrap();
            assert!(s.photos(other.id).await.unwrap().is_empty());
            // retention: the photos go with the personal data
            s.rewrite_personal_data(r.id, vec![], "（已匿名）", "")
                .await
                .unwrap();
            assert!(s.photos(r.id).await.unwrap().is_empty());
            assert!(s.photo(r.id, 1).await.unwrap().is_none());
            assert_eq!(s.events(r.id).await.unwrap().len(), 4, "the journal stays");
        })
    })
    .await;
}

#[tokio::test]
async fn a_chat_message_files_one_case_even_when_delivered_concurrently() {
    both(|s| {
        Box::pin(async move {
            let key = |group: &str, id: &str| suqiu_store::ChatMessageKey {
                group: group.into(),
                platform: "wecom".into(),
                message_id: id.into(),
            };
            let with_key = |code: &str, k: suqiu_store::ChatMessageKey| {
                let mut w = new_case(code, "C1", "/D/S1/C1/", 1000, "chat_group");
                w.chat_message = Some(k);
                w
            };
            assert_eq!(s.chat_message_case(&key("g1", "42")).await.unwrap(), None);
            let first = s
                .write_case(with_key("CHAT000001", key("g1", "42")))
                .await
                .unwrap();
            assert_eq!(
                s.chat_message_case(&key("g1", "42")).await.unwrap(),
                Some(first.id)
            );
            let before = s.count_cases().await.unwrap();
            let e = s
                .write_case(with_key("CHAT000002", key("g1", "42")))
                .await
                .unwrap_err();
            assert!(matches!(e, StoreError::DuplicateChatMessage), "{e}");
            assert_eq!(s.count_cases().await.unwrap(), before, "nothing written");
            assert!(s
                .case_by_tracking_code("CHAT000002")
                .await
                .unwrap()
                .is_none());
            // the same id in another group is another message
            s.write_case(with_key("CHAT000003", key("g2", "42")))
                .await
                .unwrap();
            // concurrent deliveries: exactly one case
            let mut tasks = Vec::new();
            for i in 0..6 {
                let s = s.clone();
                let w = with_key(&format!("CHATC0000{i}"), key("g1", "43"));
                tasks.push(tokio::spawn(async move { s.write_case(w).await }));
            }
            let mut ok = 0;
            for t in tasks {
                match t.await.unwrap() {
                    Ok(_) => ok += 1,
                    Err(StoreError::DuplicateChatMessage) => {}
                    Err(e) => panic!("{e}"),
                }
            }
            assert_eq!(ok, 1);
            assert_eq!(s.count_cases().await.unwrap(), before + 2);
        })
    })
    .await;
}

#[tokio::test]
async fn rule_sets_are_versioned_and_users_created_and_changed() {
    both(|s| {
        Box::pin(async move {
            assert!(s.latest_rule_set(0).await.unwrap().is_none());
            let v1 = s.put_rule_set(r#"{"a":1}"#, 10, "admin").await.unwrap();
            let v2 = s.put_rule_set(r#"{"a":2}"#, 20, "admin").await.unwrap();
            assert!(v2 > v1);
            assert_eq!(
                s.latest_rule_set(0).await.unwrap(),
                Some((v2, r#"{"a":2}"#.to_string()))
            );
            assert_eq!(s.latest_rule_set(v1).await.unwrap().map(|r| r.0), Some(v2));
            assert!(
                s.latest_rule_set(v2).await.unwrap().is_none(),
                "nothing newer"
            );

            s.put_org(org(), vec![]).await.unwrap();
            let u = UserRow {
                login: "new".into(),
                name: "新人".into(),
                role: "community_staff".into(),
                unit: "C1".into(),
                linked_units: vec![],
                password_hash: "h".into(),
                disabled: false,
            };
            assert!(s.insert_user(u.clone()).await.unwrap());
            let mut again = u.clone();
            again.password_hash = "other".into();
            assert!(!s.insert_user(again).await.unwrap(), "the login is taken");
            assert_eq!(s.user("new").await.unwrap().unwrap(), u);
            assert!(s
                .update_user("new", "leader", "D", vec!["S1".into()])
                .await
                .unwrap());
            let got = s.user("new").await.unwrap().unwrap();
            assert_eq!(
                (
                    got.role.as_str(),
                    got.unit.as_str(),
                    got.linked_units.clone(),
                    got.password_hash.as_str()
                ),
                ("leader", "D", vec!["S1".to_string()], "h")
            );
            assert!(!s
                .update_user("nobody", "leader", "D", vec![])
                .await
                .unwrap());
        })
    })
    .await;
}

#[tokio::test]
async fn template_overrides_are_versioned_and_audited() {
    both(|s| {
        Box::pin(async move {
            let audit = |action: &str| suqiu_store::AuditEntry {
                at: 5000,
                actor: "admin".into(),
                action: action.into(),
                target: "template:received/resident/zh".into(),
                reason: String::new(),
                detail: "{}".into(),
            };
            let t = suqiu_store::TemplateOverrideRow {
                kind: "received".into(),
                audience: "resident".into(),
                lang: "zh".into(),
                subject: "已受理".into(),
                text: "查询码{tracking_code}".into(),
                markdown: None,
                updated_at: 5000,
                updated_by: "admin".into(),
            };
            assert_eq!(s.template_overrides().await.unwrap(), (0, vec![]));
            assert_eq!(s.template_version().await.unwrap(), 0);
            let v1 = s
                .put_template_override(t.clone(), audit("template.put"))
                .await
                .unwrap();
            assert_eq!(v1, 1);
            let mut t2 = t.clone();
            t2.text = "新的{tracking_code}".into();
            t2.markdown = Some("**{title}**".into());
            let v2 = s
                .put_template_override(t2.clone(), audit("template.put"))
                .await
                .unwrap();
            assert_eq!(v2, 2);
            assert_eq!(s.template_overrides().await.unwrap(), (2, vec![t2]));
            assert_eq!(
                s.delete_template_override("received", "resident", "zh", audit("template.delete"))
                    .await
                    .unwrap(),
                Some(3)
            );
            assert_eq!(
                s.delete_template_override("received", "resident", "zh", audit("template.delete"))
                    .await
                    .unwrap(),
                None,
                "nothing to delete: no version, no audit"
            );
            assert_eq!(s.template_overrides().await.unwrap(), (3, vec![]));
            let actions: Vec<String> = s
                .audit_rows(0, 100)
                .await
                .unwrap()
                .into_iter()
                .map(|r| r.entry.action)
                .collect();
            assert_eq!(
                actions,
                ["template.put", "template.put", "template.delete"],
                "each change audited once, in its transaction"
            );
        })
    })
    .await;
}

#[tokio::test]
async fn case_signatures_are_stored_and_paged() {
    both(|s| {
        Box::pin(async move {
            s.put_org(org(), vec![]).await.unwrap();
            let mut ids = Vec::new();
            for (i, code) in ["SIG0000001", "SIG0000002", "SIG0000003"]
                .iter()
                .enumerate()
            {
                let w = new_case(code, "C1", "/D/S1/C1/", 1_000 + i as i64, "web");
                ids.push(s.write_case(w).await.unwrap().id);
            }
            // nothing stored yet: every case listed without a signature
            let rows = s.case_signatures(0, 10).await.unwrap();
            assert_eq!(rows.iter().map(|r| r.case_id).collect::<Vec<_>>(), ids);
            assert!(rows.iter().all(|r| r.sig.is_none()));
            assert_eq!(rows[0].place_unit, "C1");
            assert_eq!(rows[1].received_at, 1_001);
            s.put_case_signatures(vec![(ids[0], vec![1, 2, 3]), (ids[2], vec![9])])
                .await
                .unwrap();
            // replacing one keeps one row per case
            s.put_case_signatures(vec![(ids[2], vec![7, 7])])
                .await
                .unwrap();
            s.put_case_signatures(vec![]).await.unwrap();
            let rows = s.case_signatures(ids[0], 10).await.unwrap();
            assert_eq!(rows.len(), 2);
            assert_eq!(rows[0].sig, None);
            assert_eq!(rows[1].sig, Some(vec![7, 7]));
            let first = s.case_signatures(0, 1).await.unwrap();
            assert_eq!(first.len(), 1);
            assert_eq!(first[0].sig, Some(vec![1, 2, 3]));
            assert_eq!(first[0].reporter_phone, rows[0].reporter_phone);
        })
    })
    .await;
}
