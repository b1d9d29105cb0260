//! The behaviour every `Store` must have. Each check gets a fresh, empty store.

use warden_store::{
    ActivityDelta, AgentRecord, ApprovalMatch, ApprovalRecord, ApprovalStatus, AuditBatch,
    AuditStore, ClassDelta, HourBudgetRecord, IncidentRow, IncidentStore, InventoryStore,
    SessionStateRecord, SessionStore, SightingRecord, Store, StoreError, SuspensionRecord,
    SuspensionStore, TokenRecord, ToolBaseline, ToolPinStore, ToolSighting,
};
use warden_types::{AgentName, InstanceId, Role};

const T0: i64 = 1_700_000_000_000;
const MINUTE: i64 = 60_000;

fn name(text: &str) -> AgentName {
    AgentName::new(text).unwrap()
}

fn instance(text: &str) -> InstanceId {
    InstanceId::new(text).unwrap()
}

fn agent_record(agent: &str, manifest: &str, at: i64) -> AgentRecord {
    AgentRecord {
        name: name(agent),
        manifest: manifest.to_owned(),
        source: format!("{agent}.yaml"),
        registered_at: at,
        updated_at: at,
    }
}

fn pending(id: &str, args_digest: &str, created_at: i64) -> ApprovalRecord {
    ApprovalRecord {
        id: id.to_owned(),
        agent: name("invoice-bot"),
        instance: instance("i-1"),
        session: "s-1".to_owned(),
        server: "accounting".to_owned(),
        tool: "pay_invoice".to_owned(),
        operation: "write".to_owned(),
        args: serde_json::json!({ "invoice": 42, "amount": "120.00" }),
        args_digest: args_digest.to_owned(),
        reasons: vec!["payments over 100 need approval".to_owned()],
        policies: vec!["invoice-bot/approve-large".to_owned()],
        policy_digest: "pd-1".to_owned(),
        status: ApprovalStatus::Pending,
        created_at,
        expires_at: created_at + 10 * MINUTE,
        decided_by: None,
        decided_at: None,
        note: None,
        consumed: false,
    }
}

fn retry<'a>(agent: &'a AgentName, args_digest: &'a str) -> ApprovalMatch<'a> {
    ApprovalMatch {
        agent,
        instance: None,
        session: "s-1",
        server: "accounting",
        tool: "pay_invoice",
        args_digest,
    }
}

fn assert_conflict(result: Result<impl std::fmt::Debug, StoreError>, mentions: &str) {
    match result {
        Err(StoreError::Conflict { message }) => {
            assert!(
                message.contains(mentions),
                "conflict `{message}` does not mention `{mentions}`"
            );
        }
        other => panic!("expected a conflict mentioning `{mentions}`, got {other:?}"),
    }
}

pub(crate) async fn ping<S: Store>(store: S) {
    store.ping().await.unwrap();
}

pub(crate) async fn agents_crud<S: Store>(store: S) {
    assert!(store.agents().await.unwrap().is_empty());
    assert_eq!(store.agent(&name("invoice-bot")).await.unwrap(), None);

    store
        .put_agent(&agent_record("invoice-bot", "v1", T0))
        .await
        .unwrap();
    store
        .put_agent(&agent_record("audit-bot", "v1", T0 + 1))
        .await
        .unwrap();
    assert_eq!(
        store.agent(&name("invoice-bot")).await.unwrap(),
        Some(agent_record("invoice-bot", "v1", T0))
    );

    // Replacing keeps the first registration time.
    store
        .put_agent(&agent_record("invoice-bot", "v2", T0 + 5))
        .await
        .unwrap();
    let replaced = store.agent(&name("invoice-bot")).await.unwrap().unwrap();
    assert_eq!(replaced.manifest, "v2");
    assert_eq!(replaced.registered_at, T0);
    assert_eq!(replaced.updated_at, T0 + 5);

    let names: Vec<String> = store
        .agents()
        .await
        .unwrap()
        .into_iter()
        .map(|agent| agent.name.to_string())
        .collect();
    assert_eq!(names, ["audit-bot", "invoice-bot"]);

    assert!(store.delete_agent(&name("invoice-bot")).await.unwrap());
    assert!(!store.delete_agent(&name("invoice-bot")).await.unwrap());
    assert_eq!(store.agent(&name("invoice-bot")).await.unwrap(), None);
    assert_eq!(store.agents().await.unwrap().len(), 1);
}

pub(crate) async fn revocations<S: Store>(store: S) {
    assert!(store.revocations().await.unwrap().is_empty());
    let whole = store
        .add_revocation(&name("invoice-bot"), None, "compromised", "alice", T0)
        .await
        .unwrap();
    let one = store
        .add_revocation(
            &name("invoice-bot"),
            Some(&instance("i-7")),
            "leaked key",
            "bob",
            T0 + 1,
        )
        .await
        .unwrap();
    assert!(one.id > whole.id);
    assert_eq!(whole.instance, None);
    assert_eq!(one.instance, Some(instance("i-7")));
    assert_eq!(one.reason, "leaked key");
    assert_eq!(one.revoked_by, "bob");
    assert_eq!(one.revoked_at, T0 + 1);
    assert_eq!(store.revocations().await.unwrap(), vec![whole, one]);
}

pub(crate) async fn admin_tokens<S: Store>(store: S) {
    assert_eq!(store.admin_token_count().await.unwrap(), 0);
    let first = store
        .add_admin_token("bootstrap", Role::Admin, "d1", T0)
        .await
        .unwrap();
    let second = store
        .add_admin_token("oncall", Role::Approver, "d2", T0 + 1)
        .await
        .unwrap();
    assert_eq!(store.admin_token_count().await.unwrap(), 2);
    assert_eq!(first.role, Role::Admin);
    assert_eq!(second.role, Role::Approver);
    assert_eq!(second.digest, "d2");
    assert_eq!(store.admin_tokens().await.unwrap(), vec![first, second]);

    assert_conflict(
        store
            .add_admin_token("again", Role::Auditor, "d1", T0 + 2)
            .await,
        "add_admin_token",
    );
    assert_eq!(store.admin_token_count().await.unwrap(), 2);
}

pub(crate) async fn approval_lifecycle<S: Store>(store: S) {
    let created = pending("dec-1", "a1", T0);
    store.create_approval(&created).await.unwrap();
    assert_eq!(
        store.approval("dec-1").await.unwrap(),
        Some(created.clone())
    );
    assert_eq!(store.approval("nope").await.unwrap(), None);
    assert_conflict(store.create_approval(&created).await, "create_approval");

    let approved = store
        .decide_approval("dec-1", true, "alice", Some("ok for this one"), T0 + MINUTE)
        .await
        .unwrap();
    assert_eq!(approved.status, ApprovalStatus::Approved);
    assert_eq!(approved.decided_by.as_deref(), Some("alice"));
    assert_eq!(approved.decided_at, Some(T0 + MINUTE));
    assert_eq!(approved.note.as_deref(), Some("ok for this one"));
    assert_eq!(store.approval("dec-1").await.unwrap(), Some(approved));

    // Deciding again is a conflict naming the current status.
    assert_conflict(
        store
            .decide_approval("dec-1", false, "bob", None, T0 + 2 * MINUTE)
            .await,
        "approved",
    );

    store
        .create_approval(&pending("dec-2", "a2", T0 + 1))
        .await
        .unwrap();
    let rejected = store
        .decide_approval("dec-2", false, "bob", None, T0 + MINUTE)
        .await
        .unwrap();
    assert_eq!(rejected.status, ApprovalStatus::Rejected);
    assert_conflict(
        store
            .decide_approval("dec-2", true, "bob", None, T0 + MINUTE)
            .await,
        "rejected",
    );

    // Deciding after expiry marks it expired.
    store
        .create_approval(&pending("dec-3", "a3", T0 + 2))
        .await
        .unwrap();
    let too_late = T0 + 2 + 10 * MINUTE;
    assert_conflict(
        store
            .decide_approval("dec-3", true, "alice", None, too_late)
            .await,
        "expired",
    );
    let expired = store.approval("dec-3").await.unwrap().unwrap();
    assert_eq!(expired.status, ApprovalStatus::Expired);
    assert_eq!(expired.decided_by, None);

    match store
        .decide_approval("missing", true, "alice", None, T0)
        .await
    {
        Err(StoreError::NotFound {
            what: "approval",
            key,
        }) => assert_eq!(key, "missing"),
        other => panic!("expected not found, got {other:?}"),
    }

    // The sweeper expires only pending approvals past their expiry.
    store
        .create_approval(&pending("dec-4", "a4", T0 + 3))
        .await
        .unwrap();
    store
        .create_approval(&pending("dec-5", "a5", T0 + 20 * MINUTE))
        .await
        .unwrap();
    assert_eq!(store.expire_approvals(T0 + 15 * MINUTE).await.unwrap(), 1);
    assert_eq!(store.expire_approvals(T0 + 15 * MINUTE).await.unwrap(), 0);
    let status_of = |id: &'static str| {
        let store = store.clone();
        async move { store.approval(id).await.unwrap().unwrap().status }
    };
    assert_eq!(status_of("dec-4").await, ApprovalStatus::Expired);
    assert_eq!(status_of("dec-5").await, ApprovalStatus::Pending);
    assert_eq!(status_of("dec-1").await, ApprovalStatus::Approved);
}

pub(crate) async fn approvals_listing<S: Store>(store: S) {
    for (index, id) in ["old", "mid", "new"].into_iter().enumerate() {
        store
            .create_approval(&pending(id, id, T0 + index as i64))
            .await
            .unwrap();
    }
    store
        .decide_approval("mid", true, "alice", None, T0 + MINUTE)
        .await
        .unwrap();
    let ids = |records: Vec<ApprovalRecord>| -> Vec<String> {
        records.into_iter().map(|record| record.id).collect()
    };
    assert_eq!(
        ids(store.approvals(None).await.unwrap()),
        ["new", "mid", "old"]
    );
    assert_eq!(
        ids(store
            .approvals(Some(ApprovalStatus::Pending))
            .await
            .unwrap()),
        ["new", "old"]
    );
    assert_eq!(
        ids(store
            .approvals(Some(ApprovalStatus::Approved))
            .await
            .unwrap()),
        ["mid"]
    );
    assert!(
        store
            .approvals(Some(ApprovalStatus::Rejected))
            .await
            .unwrap()
            .is_empty()
    );
}

pub(crate) async fn consume_once<S: Store>(store: S) {
    let agent = name("invoice-bot");
    store
        .create_approval(&pending("dec-1", "a1", T0))
        .await
        .unwrap();
    // Pending approvals cannot be consumed.
    assert_eq!(
        store
            .consume_approval(&retry(&agent, "a1"), T0 + 1)
            .await
            .unwrap(),
        None
    );

    store
        .decide_approval("dec-1", true, "alice", None, T0 + MINUTE)
        .await
        .unwrap();
    let now = T0 + 2 * MINUTE;
    assert_eq!(
        store
            .consume_approval(&retry(&agent, "other"), now)
            .await
            .unwrap(),
        None
    );
    let wrong_instance = instance("i-2");
    let elsewhere = ApprovalMatch {
        instance: Some(&wrong_instance),
        ..retry(&agent, "a1")
    };
    assert_eq!(store.consume_approval(&elsewhere, now).await.unwrap(), None);
    let wrong_session = ApprovalMatch {
        session: "s-2",
        ..retry(&agent, "a1")
    };
    assert_eq!(
        store.consume_approval(&wrong_session, now).await.unwrap(),
        None
    );

    let right_instance = instance("i-1");
    let exact = ApprovalMatch {
        instance: Some(&right_instance),
        ..retry(&agent, "a1")
    };
    let consumed = store.consume_approval(&exact, now).await.unwrap().unwrap();
    assert_eq!(consumed.id, "dec-1");
    assert!(consumed.consumed);
    assert!(store.approval("dec-1").await.unwrap().unwrap().consumed);
    assert_eq!(
        store
            .consume_approval(&retry(&agent, "a1"), now)
            .await
            .unwrap(),
        None
    );
    // An approval whose action could not be recorded is released, once.
    assert!(store.release_approval("dec-1").await.unwrap());
    assert!(!store.release_approval("dec-1").await.unwrap());
    assert!(!store.approval("dec-1").await.unwrap().unwrap().consumed);
    let again = store.consume_approval(&exact, now).await.unwrap().unwrap();
    assert_eq!(again.id, "dec-1");
}

pub(crate) async fn concurrent_consume_has_one_winner<S: Store>(store: S) {
    store
        .create_approval(&pending("dec-1", "a1", T0))
        .await
        .unwrap();
    store
        .decide_approval("dec-1", true, "alice", None, T0 + MINUTE)
        .await
        .unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let agent = name("invoice-bot");
                store
                    .consume_approval(&retry(&agent, "a1"), T0 + 2 * MINUTE)
                    .await
            })
        })
        .collect();
    let mut winners = 0;
    for task in tasks {
        if task.await.unwrap().unwrap().is_some() {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
}

pub(crate) async fn latest_change_moves_on_writes<S: Store>(store: S) {
    let mut last = store.latest_change().await.unwrap();
    let mut assert_moved = async |what: &str| {
        let now = store.latest_change().await.unwrap();
        assert!(
            now > last,
            "latest_change did not move after {what}: {last} -> {now}"
        );
        last = now;
    };
    store
        .put_agent(&agent_record("invoice-bot", "v1", T0))
        .await
        .unwrap();
    assert_moved("put_agent").await;
    store
        .put_agent(&agent_record("invoice-bot", "v2", T0))
        .await
        .unwrap();
    assert_moved("put_agent (replace)").await;
    store
        .add_revocation(&name("invoice-bot"), None, "r", "alice", T0)
        .await
        .unwrap();
    assert_moved("add_revocation").await;
    store
        .add_admin_token("t", Role::Auditor, "d", T0)
        .await
        .unwrap();
    assert_moved("add_admin_token").await;
    store.delete_agent(&name("invoice-bot")).await.unwrap();
    assert_moved("delete_agent").await;

    // Reads do not move it.
    store.agents().await.unwrap();
    store.revocations().await.unwrap();
    assert_eq!(store.latest_change().await.unwrap(), last);
}

pub(crate) async fn session_state<S: Store + SessionStore>(store: S) {
    let row = |session: &str, state: &str, at: i64| SessionStateRecord {
        agent: "support-bot".into(),
        instance: "i-1".into(),
        session: session.into(),
        state: state.into(),
        updated_at: at,
    };
    store
        .save_sessions(&[row("a", "{\"actions\":1}", T0), row("b", "{}", T0 + MINUTE)])
        .await
        .unwrap();
    // A later save replaces the state.
    store
        .save_sessions(&[row("a", "{\"actions\":2}", T0 + 2 * MINUTE)])
        .await
        .unwrap();
    let mut got = store.sessions_since(T0).await.unwrap();
    got.sort_by(|x, y| x.session.cmp(&y.session));
    assert_eq!(
        got,
        [
            row("a", "{\"actions\":2}", T0 + 2 * MINUTE),
            row("b", "{}", T0 + MINUTE)
        ]
    );
    assert_eq!(store.sessions_since(T0 + 90_000).await.unwrap().len(), 1);
    // Hourly counts never go down.
    let hour = |used| HourBudgetRecord {
        agent: "support-bot",
        hour: 7,
        used,
    };
    store.save_hour_budgets(&[hour(5)]).await.unwrap();
    store.save_hour_budgets(&[hour(3)]).await.unwrap();
    assert_eq!(
        store.hour_budgets(7).await.unwrap(),
        [("support-bot".to_owned(), 5)]
    );
    assert!(store.hour_budgets(8).await.unwrap().is_empty());
    // Idle sessions and past hours are forgotten.
    assert_eq!(store.forget_sessions(T0 + 90_000, 8).await.unwrap(), 1);
    assert_eq!(store.sessions_since(0).await.unwrap().len(), 1);
    assert!(store.hour_budgets(7).await.unwrap().is_empty());
}

fn activity(agent: &str, hour: i64, outcome: &str, count: i64) -> ActivityDelta {
    ActivityDelta {
        agent: agent.into(),
        hour,
        server: "crm".into(),
        tool: "lookup".into(),
        outcome: outcome.into(),
        count,
        first_ms: hour * 3_600_000 + 1,
        last_ms: hour * 3_600_000 + 2,
    }
}

fn audit_row(index: u64) -> warden_store::AuditRow {
    warden_store::AuditRow {
        index,
        record: vec![1],
        leaf: [index as u8; 32],
        payload: None,
        payload_key: None,
        created_at: 1,
    }
}

/// Activity is counted with the audit batch that carries it, adds up
/// across batches, sums over windows and folds old hours into hour 0.
pub(crate) async fn inventory_activity<S: Store + InventoryStore + AuditStore>(store: S) {
    let now_hour = 500_000;
    let now_ms = now_hour * 3_600_000 + 10;
    let batch = |index, activity, classes| AuditBatch {
        records: vec![audit_row(index)],
        nodes: vec![],
        activity,
        classes,
        wrap_key: None,
    };
    let classes = vec![ClassDelta {
        agent: "bot".into(),
        class: "pii.contact".into(),
        count: 2,
        first_ms: 5,
        last_ms: 9,
    }];
    store
        .audit_append(
            0,
            &batch(
                0,
                vec![
                    activity("bot", now_hour, "allow", 3),
                    activity("bot", now_hour - 30, "allow", 4),
                    activity("bot", now_hour - 24 * 10, "deny", 5),
                    activity("other", now_hour, "deny", 1),
                ],
                classes.clone(),
            ),
        )
        .await
        .unwrap();
    store
        .audit_append(
            1,
            &batch(1, vec![activity("bot", now_hour, "allow", 2)], classes),
        )
        .await
        .unwrap();
    // A refused append adds nothing.
    let err = store
        .audit_append(
            1,
            &batch(1, vec![activity("bot", now_hour, "allow", 100)], vec![]),
        )
        .await;
    assert!(err.is_err());

    let rows = store.activity(Some("bot"), now_ms).await.unwrap();
    let allow = rows.iter().find(|r| r.outcome == "allow").unwrap();
    assert_eq!(
        (allow.day, allow.week, allow.month, allow.total),
        (5, 9, 9, 9)
    );
    let deny = rows.iter().find(|r| r.outcome == "deny").unwrap();
    assert_eq!((deny.day, deny.week, deny.month, deny.total), (0, 0, 5, 5));
    assert_eq!(store.activity(None, now_ms).await.unwrap().len(), 3);
    let classes = store.activity_classes(Some("bot")).await.unwrap();
    assert_eq!(classes.len(), 1);
    assert_eq!(
        (classes[0].count, classes[0].first_ms, classes[0].last_ms),
        (4, 5, 9)
    );

    // Folding keeps the totals.
    let folded = store.compact_activity(now_hour - 24 * 2).await.unwrap();
    assert_eq!(folded, 1);
    let after = store.activity(Some("bot"), now_ms).await.unwrap();
    let totals: i64 = after.iter().map(|r| r.total).sum();
    assert_eq!(totals, 14);
}

/// Tokens are recorded once; their last use only moves forward; expired
/// ones are forgotten.
pub(crate) async fn inventory_tokens<S: Store + InventoryStore>(store: S) {
    let token = |jti: &str, used: Option<i64>, issued: Option<i64>| TokenRecord {
        jti: jti.into(),
        agent: "bot".into(),
        instance: "laptop".into(),
        issued_at: issued,
        expires_at: 1_000,
        issued_by: issued.map(|_| "cli".to_owned()),
        last_used_at: used,
    };
    store
        .record_token(&token("a", None, Some(10)))
        .await
        .unwrap();
    store
        .record_token(&token("a", None, Some(11)))
        .await
        .unwrap();
    store
        .token_uses(&[token("a", Some(50), None), token("b", Some(40), None)])
        .await
        .unwrap();
    store
        .token_uses(&[token("a", Some(20), None)])
        .await
        .unwrap();
    let tokens = store.tokens(Some("bot"), 10).await.unwrap();
    assert_eq!(tokens.len(), 2);
    let a = tokens.iter().find(|t| t.jti == "a").unwrap();
    assert_eq!(
        (a.issued_at, a.last_used_at, a.issued_by.as_deref()),
        (Some(10), Some(50), Some("cli"))
    );
    assert!(store.tokens(Some("nobody"), 10).await.unwrap().is_empty());
    assert_eq!(store.forget_tokens(1_001).await.unwrap(), 2);
}

/// Sightings add up, expire and are trimmed to the most recent.
pub(crate) async fn inventory_sightings<S: Store + InventoryStore>(store: S) {
    let sighting = |id: &str, count, seen, tools: &str| SightingRecord {
        id: id.into(),
        origin: "traffic".into(),
        kind: "unknown_agent".into(),
        claimed: "spiffe://example.org/agent/ghost/1".into(),
        source: "127.0.0.1".into(),
        user_agent: "curl".into(),
        client: String::new(),
        detail: "{}".into(),
        tools: tools.into(),
        count,
        first_seen: seen,
        last_seen: seen,
    };
    store
        .save_sightings(
            &[
                sighting("a", 2, 100, r#"["crm/x"]"#),
                sighting("b", 1, 50, "[]"),
            ],
            0,
            10,
        )
        .await
        .unwrap();
    store
        .save_sightings(&[sighting("a", 3, 200, "[]")], 0, 10)
        .await
        .unwrap();
    let a = store.sighting("a").await.unwrap().unwrap();
    assert_eq!((a.count, a.first_seen, a.last_seen), (5, 100, 200));
    assert_eq!(
        a.tools, r#"["crm/x"]"#,
        "an empty list keeps the tools seen"
    );
    let all = store.sightings(10).await.unwrap();
    assert_eq!(
        all.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        ["a", "b"]
    );
    // Trimmed to the most recent one.
    store.save_sightings(&[], 0, 1).await.unwrap();
    assert_eq!(store.sightings(10).await.unwrap().len(), 1);
    // Expired.
    store.save_sightings(&[], 201, 10).await.unwrap();
    assert!(store.sightings(10).await.unwrap().is_empty());
    store
        .save_sightings(&[sighting("c", 1, 300, "[]")], 0, 10)
        .await
        .unwrap();
    assert!(store.delete_sighting("c").await.unwrap());
    assert!(!store.delete_sighting("c").await.unwrap());
}

/// A suspension replaces an earlier one, moves the change counter, and is
/// lifted once.
pub(crate) async fn suspensions<S: Store + SuspensionStore>(store: S) {
    let before = store.latest_change().await.unwrap();
    let record = |reason: &str| SuspensionRecord {
        agent: "bot".into(),
        reason: reason.into(),
        by: "cli".into(),
        at: 5,
    };
    store.suspend(&record("first")).await.unwrap();
    store.suspend(&record("alert `burst`")).await.unwrap();
    assert!(store.latest_change().await.unwrap() > before);
    let all = store.suspensions().await.unwrap();
    assert_eq!(all, [record("alert `burst`")]);
    let moved = store.latest_change().await.unwrap();
    assert!(store.resume("bot").await.unwrap());
    assert!(store.latest_change().await.unwrap() > moved);
    assert!(!store.resume("bot").await.unwrap());
    assert!(store.suspensions().await.unwrap().is_empty());
}

pub(crate) async fn tool_pins<S: Store + ToolPinStore>(store: S) {
    let sighting = |tool, fingerprint, pin| ToolSighting {
        tool,
        fingerprint,
        definition: "{\"name\":\"x\"}",
        finding: None,
        pin,
    };
    let baseline = |features: &str, at| ToolBaseline {
        server: "fs".into(),
        features: features.into(),
        closed_at: at,
    };
    let before = store.latest_change().await.unwrap();
    // First sight: one tool pinned, one flagged and not pinned; the list was
    // complete, so the baseline closes.
    let flagged = ToolSighting {
        finding: Some("instruction at $.description"),
        ..sighting("evil", "sha256:e1", false)
    };
    store
        .record_tool_sightings(
            "fs",
            "",
            &[sighting("read", "sha256:r1", true), flagged],
            true,
            T0,
        )
        .await
        .unwrap();
    assert!(store.latest_change().await.unwrap() > before);
    let pins = store.tool_pins().await.unwrap();
    assert_eq!(pins.len(), 2);
    assert_eq!(pins[0].tool, "evil");
    assert_eq!(pins[0].pinned_fingerprint, None);
    assert_eq!(
        pins[0].finding.as_deref(),
        Some("instruction at $.description")
    );
    assert_eq!(pins[1].tool, "read");
    assert_eq!(pins[1].pinned_fingerprint.as_deref(), Some("sha256:r1"));
    assert_eq!(pins[1].accepted_at, Some(T0));
    assert_eq!(pins[1].accepted_by, None);
    assert_eq!(store.tool_baselines().await.unwrap(), [baseline("", T0)]);

    // A drift keeps the pin and records what was seen; a baseline keeps
    // its first time; another set of client features has its own.
    store
        .record_tool_sightings(
            "fs",
            "",
            &[sighting("read", "sha256:r2", true)],
            true,
            T0 + MINUTE,
        )
        .await
        .unwrap();
    store
        .record_tool_sightings("fs", "roots,sampling", &[], true, T0 + MINUTE)
        .await
        .unwrap();
    let pins = store.tool_pins().await.unwrap();
    assert_eq!(pins[1].pinned_fingerprint.as_deref(), Some("sha256:r1"));
    assert_eq!(pins[1].seen_fingerprint, "sha256:r2");
    assert_eq!(pins[1].seen_at, T0 + MINUTE);
    assert_eq!(pins[1].first_seen, T0);
    assert_eq!(
        store.tool_baselines().await.unwrap(),
        [baseline("", T0), baseline("roots,sampling", T0 + MINUTE)]
    );
    // Seen again unchanged: `seen_at` stays.
    store
        .record_tool_sightings(
            "fs",
            "",
            &[sighting("read", "sha256:r2", true)],
            false,
            T0 + 2 * MINUTE,
        )
        .await
        .unwrap();
    assert_eq!(store.tool_pins().await.unwrap()[1].seen_at, T0 + MINUTE);

    // Accepting one named tool: only it; again: nothing to accept, and the
    // change counter stays.
    let only = ["read".to_owned()];
    let accepted = store
        .accept_tools("fs", Some(&only), "alice", T0 + 3 * MINUTE)
        .await
        .unwrap();
    assert_eq!(accepted.len(), 1);
    assert_eq!(
        accepted[0].pinned_fingerprint.as_deref(),
        Some("sha256:r1"),
        "as it was before"
    );
    let change = store.latest_change().await.unwrap();
    assert!(
        store
            .accept_tools("fs", Some(&only), "alice", T0)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.latest_change().await.unwrap(), change);
    let pins = store.tool_pins().await.unwrap();
    assert_eq!(pins[1].pinned_fingerprint.as_deref(), Some("sha256:r2"));
    assert_eq!(pins[1].accepted_by.as_deref(), Some("alice"));
    assert_eq!(pins[1].accepted_at, Some(T0 + 3 * MINUTE));
    assert_eq!(pins[0].pinned_fingerprint, None);
    // Accepting every tool of the server takes the flagged one too; other
    // servers are untouched.
    store
        .record_tool_sightings(
            "mail",
            "",
            &[sighting("send", "sha256:s1", false)],
            false,
            T0,
        )
        .await
        .unwrap();
    let accepted = store.accept_tools("fs", None, "bob", T0).await.unwrap();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0].tool, "evil");
    let pins = store.tool_pins().await.unwrap();
    assert_eq!(pins[0].pinned_fingerprint.as_deref(), Some("sha256:e1"));
    assert_eq!(
        pins[0].pinned_definition.as_deref(),
        Some("{\"name\":\"x\"}")
    );
    assert_eq!(pins[2].server, "mail");
    assert_eq!(pins[2].pinned_fingerprint, None);
}

/// Incidents are kept whole, replaced by id, listed newest first.
pub(crate) async fn incidents<S: Store + IncidentStore>(store: S) {
    let row = |id: &str, at, status: &str| IncidentRow {
        id: id.into(),
        opened_at: at,
        status: status.into(),
        body: format!("{{\"id\":\"{id}\"}}"),
    };
    store.put_incident(&row("a", 1, "open")).await.unwrap();
    store.put_incident(&row("b", 2, "open")).await.unwrap();
    store.put_incident(&row("a", 1, "closed")).await.unwrap();
    assert_eq!(store.incident("a").await.unwrap().unwrap().status, "closed");
    let ids: Vec<String> = store
        .incidents(10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, ["b", "a"]);
    assert!(store.incident("zz").await.unwrap().is_none());
}

/// A stand-in for a key wrapped under `id` (the store reads only the id at
/// bytes 2..18): `W1 ‖ id ‖ tag`, where `tag` tells the rows apart.
fn wrapped(id: [u8; 16], tag: u8) -> Vec<u8> {
    let mut out = b"W1".to_vec();
    out.extend_from_slice(&id);
    out.extend_from_slice(&[tag; 60]);
    out
}

/// Appends refuse a destroyed wrapping key; an erasure deletes one key,
/// hands every other key wrapped under the same wrapping key to `rewrap`
/// (and only those), registers the new key and destroys the old, all or
/// nothing.
pub(crate) async fn audit_wrapped_erasure<S: Store + AuditStore>(store: S) {
    let (a, b, c) = ([0xaa; 16], [0xbb; 16], [0xcc; 16]);
    store.audit_add_wrap_key(a).await.unwrap();
    store.audit_add_wrap_key(b).await.unwrap();
    let rows: Vec<_> = (0..5u64)
        .map(|i| {
            let mut row = audit_row(i);
            row.payload = Some(vec![1, 2, 3]);
            // Records 0, 1, 3 under a; 2 under b; 4 has no payload key.
            row.payload_key = match i {
                2 => Some(wrapped(b, 2)),
                4 => None,
                _ => Some(wrapped(a, u8::try_from(i).unwrap())),
            };
            row
        })
        .collect();
    let batch = AuditBatch {
        records: rows,
        wrap_key: Some(a),
        ..AuditBatch::default()
    };
    store.audit_append(0, &batch).await.unwrap();

    // A rewrap that fails changes nothing.
    let failing = |_: u64, _: &[u8]| Err("no".to_owned());
    let err = store
        .audit_erase_wrapped(1, a, c, &failing)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    assert!(
        store.audit_records(1, 2).await.unwrap()[0]
            .payload_key
            .is_some()
    );
    assert!(
        store
            .audit_wrap_keys()
            .await
            .unwrap()
            .iter()
            .all(|(_, d)| !d)
    );

    // The key named must be the record's.
    let seen = std::sync::Mutex::new(Vec::new());
    let rewrap = |i: u64, key: &[u8]| {
        assert_eq!(&key[2..18], &a, "only keys under the old wrapping key");
        seen.lock().unwrap().push(i);
        Ok(wrapped(c, 0xc0 + u8::try_from(i).unwrap()))
    };
    let err = store
        .audit_erase_wrapped(2, a, c, &rewrap)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");

    let done = store.audit_erase_wrapped(1, a, c, &rewrap).await.unwrap();
    assert_eq!(done.rewrapped, 2);
    assert_eq!(*seen.lock().unwrap(), vec![0, 3]);
    let keys: Vec<_> = store
        .audit_records(0, 5)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.payload_key)
        .collect();
    assert_eq!(
        keys,
        vec![
            Some(wrapped(c, 0xc0)),
            None,
            Some(wrapped(b, 2)),
            Some(wrapped(c, 0xc3)),
            None
        ]
    );
    let states = store.audit_wrap_keys().await.unwrap();
    assert!(states.contains(&(a, true)), "{states:?}");
    assert!(states.contains(&(b, false)) && states.contains(&(c, false)));

    // A destroyed key refuses appends and a second erasure under it.
    let late = AuditBatch {
        records: vec![audit_row(5)],
        wrap_key: Some(a),
        ..AuditBatch::default()
    };
    let err = store.audit_append(5, &late).await.unwrap_err();
    assert!(matches!(err, StoreError::WrapKeyDestroyed { .. }), "{err}");
    assert_eq!(store.audit_size().await.unwrap(), 5);
    let err = store
        .audit_erase_wrapped(0, a, [0xdd; 16], &rewrap)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err}");
    // An unregistered key is refused too.
    let stranger = AuditBatch {
        wrap_key: Some([0xee; 16]),
        ..late.clone()
    };
    let err = store.audit_append(5, &stranger).await.unwrap_err();
    assert!(matches!(err, StoreError::WrapKeyDestroyed { .. }), "{err}");
    let fine = AuditBatch {
        wrap_key: Some(c),
        ..late
    };
    store.audit_append(5, &fine).await.unwrap();
}

/// Numbers a late batch from the size it is told, as the audit writer does.
struct Renumber {
    asked: Vec<u64>,
    nodes: Vec<warden_store::StoredNode>,
    count: u64,
}

impl warden_store::AuditCatchUp for Renumber {
    fn border(&self, size: u64) -> Vec<(u8, u64)> {
        // The border of a tree of 3 leaves: the subtree of leaves 0..2, and leaf 2.
        assert_eq!(size, 3);
        vec![(1, 0), (0, 2)]
    }

    fn rebuild(
        &mut self,
        size: u64,
        nodes: &[warden_store::StoredNode],
    ) -> Result<AuditBatch, StoreError> {
        self.asked.push(size);
        self.nodes = nodes.to_vec();
        Ok(AuditBatch {
            records: (size..size + self.count).map(audit_row).collect(),
            ..AuditBatch::default()
        })
    }
}

/// A batch built on a size another writer has moved past is numbered again
/// inside the append's transaction, on the border as stored; without a
/// catch-up it is refused.
pub(crate) async fn audit_catch_up<S: Store + AuditStore>(store: S) {
    let first = AuditBatch {
        records: (0..3).map(audit_row).collect(),
        nodes: vec![(1, 0, [0x10; 32])],
        ..AuditBatch::default()
    };
    assert_eq!(
        store
            .audit_append_caught_up(
                0,
                &first,
                &mut Renumber {
                    asked: Vec::new(),
                    nodes: Vec::new(),
                    count: 3
                }
            )
            .await
            .unwrap(),
        0,
        "in place: not numbered again"
    );
    let late = AuditBatch {
        records: (0..2).map(audit_row).collect(),
        ..AuditBatch::default()
    };
    let err = store.audit_append(0, &late).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err}");
    let mut again = Renumber {
        asked: Vec::new(),
        nodes: Vec::new(),
        count: 2,
    };
    let at = store
        .audit_append_caught_up(0, &late, &mut again)
        .await
        .unwrap();
    assert_eq!(at, 3);
    assert_eq!(again.asked, vec![3]);
    let mut nodes = again.nodes.clone();
    nodes.sort_unstable();
    assert_eq!(nodes, vec![((0, 2), [2; 32]), ((1, 0), [0x10; 32])]);
    assert_eq!(store.audit_size().await.unwrap(), 5);
    let leaves: Vec<u8> = store
        .audit_records(0, 5)
        .await
        .unwrap()
        .iter()
        .map(|r| r.leaf[0])
        .collect();
    assert_eq!(leaves, vec![0, 1, 2, 3, 4]);
}

fn key(kid: &str, at: i64) -> warden_store::KeyRow {
    warden_store::KeyRow {
        kind: "jwt-svid".into(),
        kid: kid.into(),
        sealed: kid.as_bytes().to_vec(),
        created_at: at,
        retired_at: None,
        expires_at: None,
    }
}

/// The first key made wins, also when two nodes make one at once; a
/// rotation retires the current key until it expires; the change counter
/// moves so that other nodes reload.
pub(crate) async fn signing_keys<S: Store + warden_store::KeyStore + 'static>(store: S) {
    let (a, b) = tokio::join!(
        {
            let store = store.clone();
            async move { store.put_key(&key("a", 10), None).await.unwrap() }
        },
        {
            let store = store.clone();
            async move { store.put_key(&key("b", 10), None).await.unwrap() }
        }
    );
    assert_eq!(a.kid, b.kid, "one first key for every node");
    let first = a.kid.clone();
    assert_eq!(store.keys("jwt-svid", 20).await.unwrap().len(), 1);
    assert!(store.keys("x509-ca", 20).await.unwrap().is_empty());

    let before = store.latest_change().await.unwrap();
    let replace = |kid| warden_store::Replace {
        kid,
        expires_at: 500,
    };
    let now = store
        .put_key(&key("c", 100), Some(replace(first.as_str())))
        .await
        .unwrap();
    assert_eq!(now.kid, "c");
    // A second node rotating from the same key at once loses: one rotation.
    let late = store
        .put_key(&key("d", 100), Some(replace(first.as_str())))
        .await
        .unwrap();
    assert_eq!(late.kid, "c");
    assert!(store.latest_change().await.unwrap() > before);
    let keys = store.keys("jwt-svid", 200).await.unwrap();
    let listed: Vec<(&str, Option<i64>, Option<i64>)> = keys
        .iter()
        .map(|k| (k.kid.as_str(), k.retired_at, k.expires_at))
        .collect();
    assert_eq!(
        listed,
        vec![("c", None, None), (first.as_str(), Some(100), Some(500))]
    );
    assert_eq!(keys[0].sealed, b"c".to_vec());
    // Expired: no longer listed.
    let keys = store.keys("jwt-svid", 500).await.unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].kid, "c");
}
