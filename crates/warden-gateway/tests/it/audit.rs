//! The audit log, end to end: every decision is a verifiable record; tampering,
//! rollback and erasure behave as documented; on every backend.

use serde_json::json;
use warden_gateway::audit::verify_online;
use warden_store::{AnyStore, AuditStore};

use crate::harness::{TestGateway, backends, payment};

pub(crate) async fn raw_sql(store: &AnyStore, sql: &str) {
    match store {
        AnyStore::Sqlite(s) => {
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
                .execute(s.pool())
                .await
                .unwrap();
        }
        AnyStore::Postgres(s) => {
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
                .execute(s.pool())
                .await
                .unwrap();
        }
    }
}

async fn verify(gw: &TestGateway) -> Result<warden_gateway::audit::VerifyReport, String> {
    verify_online(&gw.store, &gw.signer.verifier_key(), &gw.witness, None).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_decision_is_recorded_with_its_reasons_and_verifies() {
    for backend in backends() {
        let gw = TestGateway::start(backend, |t| t).await;
        let bot = gw.token("invoice-bot");
        let (_, allowed) = gw.decide(&bot, payment(json!(98.7), "a")).await;
        let (_, denied) = gw.decide(&bot, payment(json!(25000), "a")).await;
        let (_, pending) = gw.decide(&bot, payment(json!(7500), "a")).await;
        let id = pending["id"].as_str().unwrap();
        gw.admin_post(
            &gw.admin_token,
            &format!("/v1/approvals/{id}/approve"),
            json!({"note": "ok"}),
        )
        .await;

        let (s, entries) = gw
            .admin_get(&gw.admin_token, "/v1/audit/entries?from=0&to=10")
            .await;
        assert_eq!(s, 200, "{entries}");
        let entries = entries["entries"].as_array().unwrap().clone();
        assert_eq!(
            entries.len(),
            4,
            "three decisions and one approval: {entries:?}"
        );
        let rec = |i: usize| entries[i]["record"].clone();
        assert_eq!(rec(0)["decision"], "allow");
        assert_eq!(rec(0)["decision_id"], allowed["id"]);
        assert_eq!(
            rec(0)["agent"],
            "spiffe://example.org/agent/invoice-bot/i-1"
        );
        assert_eq!(rec(0)["tool"], "schedule_payment");
        assert_eq!(rec(0)["policy_digest"], allowed["policy_digest"]);
        assert_eq!(entries[0]["payload"], "sealed");
        assert_eq!(rec(1)["decision"], "deny");
        assert_eq!(rec(1)["reasons"], denied["reasons"]);
        assert_eq!(rec(2)["decision"], "needs_approval");
        assert_eq!(rec(3)["kind"], "approval");
        assert_eq!(rec(3)["approval"]["by"], "test-admin");

        // A checkpoint on demand, then a proof a third party can check.
        let (s, _) = gw
            .admin_post(&gw.admin_token, "/v1/audit/checkpoint", json!({}))
            .await;
        assert_eq!(s, 200);
        let (_, cp) = gw.admin_get(&gw.admin_token, "/v1/audit/checkpoint").await;
        let note = cp["checkpoint"]["note"].as_str().unwrap();
        let opened = warden_audit::open_checkpoint(note, cp["vkey"].as_str().unwrap()).unwrap();
        assert_eq!(opened.size, 4);
        let (_, proof) = gw
            .admin_get(&gw.admin_token, "/v1/audit/proofs/inclusion?index=1")
            .await;
        let leaf = warden_audit::leaf_hash(entries[1]["canonical"].as_str().unwrap().as_bytes());
        let path: Vec<warden_audit::Hash> = proof["proof"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                hex::decode(h.as_str().unwrap())
                    .unwrap()
                    .try_into()
                    .unwrap()
            })
            .collect();
        warden_audit::verify_inclusion(&leaf, 1, 4, &path, &opened.root).unwrap();

        let (_, more) = gw.decide(&bot, payment(json!(10), "b")).await;
        assert_eq!(more["decision"], "allow");
        let (_, c) = gw
            .admin_get(&gw.admin_token, "/v1/audit/proofs/consistency?from=4&to=5")
            .await;
        let c_path: Vec<warden_audit::Hash> = c["proof"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                hex::decode(h.as_str().unwrap())
                    .unwrap()
                    .try_into()
                    .unwrap()
            })
            .collect();
        let new_root: warden_audit::Hash = hex::decode(c["to_root"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        warden_audit::verify_consistency(4, 5, &opened.root, &new_root, &c_path).unwrap();

        let report = verify(&gw).await.unwrap();
        assert_eq!(report.records, 5);
        // From the checkpoint of size 4: only the record after it is read.
        let ranged = verify_online(&gw.store, &gw.signer.verifier_key(), &gw.witness, Some(4))
            .await
            .unwrap();
        assert_eq!(
            (ranged.records, ranged.size, ranged.root),
            (1, 5, report.root)
        );
        let none = verify_online(&gw.store, &gw.signer.verifier_key(), &gw.witness, Some(3))
            .await
            .unwrap_err();
        assert_eq!(
            none,
            "no stored or published checkpoint of size 3 to start from"
        );
        gw.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampering_is_caught_naming_the_first_bad_place() {
    for backend in backends() {
        let gw = TestGateway::start(backend, |t| t).await;
        let bot = gw.token("invoice-bot");
        for i in 0..9 {
            gw.decide(&bot, payment(json!(100 + i), "t")).await;
        }
        gw.gateway.audit().checkpoint().await.unwrap();
        assert!(verify(&gw).await.is_ok());
        let (record_flip, node_flip, payload_flip) = match backend {
            crate::harness::Backend::Sqlite => (
                "UPDATE warden_audit_records SET record = CAST(replace(CAST(record AS TEXT), '\"decision\":\"allow\"', '\"decision\":\"deny\"') AS BLOB) WHERE idx = 5",
                "UPDATE warden_audit_nodes SET hash = zeroblob(32) WHERE level = 2 AND idx = 1",
                "UPDATE warden_audit_records SET payload = zeroblob(40) WHERE idx = 3",
            ),
            crate::harness::Backend::Postgres => (
                "UPDATE warden_audit_records SET record = convert_to(replace(convert_from(record, 'UTF8'), '\"decision\":\"allow\"', '\"decision\":\"deny\"'), 'UTF8') WHERE idx = 5",
                "UPDATE warden_audit_nodes SET hash = decode(repeat('00', 32), 'hex') WHERE level = 2 AND idx = 1",
                "UPDATE warden_audit_records SET payload = decode(repeat('00', 40), 'hex') WHERE idx = 3",
            ),
        };
        // Record 5 is a payment of 105, allowed: rewrite it as a deny.
        raw_sql(&gw.store, record_flip).await;
        let err = verify(&gw).await.unwrap_err();
        assert!(err.starts_with("record 5:"), "{err}");
        gw.stop().await;

        let gw = TestGateway::start(backend, |t| t).await;
        let bot = gw.token("invoice-bot");
        for i in 0..9 {
            gw.decide(&bot, payment(json!(100 + i), "t")).await;
        }
        raw_sql(&gw.store, node_flip).await;
        let err = verify(&gw).await.unwrap_err();
        assert_eq!(
            err,
            "tree node (level 2, index 1): its stored hash does not match the records"
        );
        gw.stop().await;

        let gw = TestGateway::start(backend, |t| t).await;
        let bot = gw.token("invoice-bot");
        for i in 0..9 {
            gw.decide(&bot, payment(json!(100 + i), "t")).await;
        }
        raw_sql(&gw.store, payload_flip).await;
        let err = verify(&gw).await.unwrap_err();
        assert!(
            err.starts_with("record 3: its sealed payload does not match"),
            "{err}"
        );
        gw.stop().await;

        let gw = TestGateway::start(backend, |t| t).await;
        let bot = gw.token("invoice-bot");
        for i in 0..9 {
            gw.decide(&bot, payment(json!(100 + i), "t")).await;
        }
        gw.gateway.audit().checkpoint().await.unwrap();
        let file = warden_gateway::audit::witness_file(&gw.witness, 9);
        let mut note = std::fs::read_to_string(&file).unwrap();
        note = note.replacen("\n9\n", "\n8\n", 1);
        std::fs::write(&file, note).unwrap();
        let err = verify(&gw).await.unwrap_err();
        assert!(err.contains("published checkpoint"), "{err}");
        gw.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_is_detected_against_published_checkpoints_and_fails_closed() {
    let gw = TestGateway::start(crate::harness::Backend::Sqlite, |t| t).await;
    let bot = gw.token("invoice-bot");
    for i in 0..6 {
        gw.decide(&bot, payment(json!(100 + i), "r")).await;
    }
    gw.gateway.audit().checkpoint().await.unwrap();
    // "Restore an older database": the last records and their nodes vanish.
    raw_sql(&gw.store, "DELETE FROM warden_audit_records WHERE idx >= 4; DELETE FROM warden_audit_nodes WHERE (idx + 1) * (1 << level) > 4; DELETE FROM warden_audit_checkpoints").await;
    let err = verify(&gw).await.unwrap_err();
    assert_eq!(err.split(':').next(), Some("rollback detected"), "{err}");

    // A writer opened on the rolled-back log refuses to record: decisions deny.
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    let settings = warden_gateway::audit::AuditSettings {
        durability: warden_policy::Durability::Sync,
        checkpoint_every: 1000,
        checkpoint_interval: std::time::Duration::from_secs(3600),
        witness_dir: gw.witness.clone(),
        signer: std::sync::Arc::clone(&gw.signer),
        origin: "example.org/warden-audit".into(),
        payload_keys: gw.payload_keys.clone(),
    };
    let (log, _task) = warden_gateway::audit::AuditLog::start(gw.store.clone(), settings, stopped)
        .await
        .unwrap();
    let problem = log.problem().unwrap();
    assert!(problem.starts_with("rollback detected"), "{problem}");
    assert_eq!(gw.store.audit_size().await.unwrap(), 4);
    gw.stop().await;
}

/// Opens record `row`'s payload with its wrapped key, if the wrapping key
/// still exists.
fn open_payload(keys: &warden_audit::WrapKeyDir, row: &warden_store::AuditRow) -> Option<Vec<u8>> {
    let wrapped = row.payload_key.as_deref()?;
    let id = warden_audit::WrapKeyId::of(wrapped)?;
    let key = keys.load(id).ok()?.unwrap(row.index, wrapped).ok()?;
    let sealed = warden_audit::SealedPayload {
        ciphertext: row.payload.clone()?,
    };
    warden_audit::open(&sealed, &key).ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erased_payload_is_gone_from_earlier_copies_and_the_log_verifies() {
    for backend in backends() {
        let gw = TestGateway::start(backend, |t| t).await;
        let bot = gw.token("invoice-bot");
        for amount in [42, 43, 44] {
            gw.decide(&bot, payment(json!(amount), "e")).await;
        }
        // A copy of the database as a backup, the WAL or old row versions
        // would keep it: every key is wrapped, none is stored as it is.
        let before = gw.store.audit_records(0, 3).await.unwrap();
        for row in &before {
            let plain = open_payload(&gw.payload_keys, row).expect("opens before the erasure");
            assert!(String::from_utf8_lossy(&plain).contains("\"amount\""));
            let key = row.payload_key.as_deref().unwrap();
            assert_eq!(key.len(), warden_audit::WRAPPED_LEN, "{backend:?}");
        }

        let erased = warden_gateway::audit::erase_payload(&gw.store, &gw.payload_keys, 0)
            .await
            .unwrap();
        assert!(!erased.bare);
        assert_eq!(
            erased.rewrapped, 2,
            "records 1 and 2 shared its wrapping key"
        );
        let again = warden_gateway::audit::erase_payload(&gw.store, &gw.payload_keys, 0).await;
        assert!(
            matches!(
                again,
                Err(warden_gateway::audit::EraseError::NoKey { index: 0 })
            ),
            "a key is destroyed once: {again:?}"
        );

        // The earlier copy no longer opens: its wrapping key is destroyed…
        for row in &before {
            assert_eq!(
                open_payload(&gw.payload_keys, row),
                None,
                "record {}",
                row.index
            );
        }
        // …while the live log still opens what was not erased.
        let after = gw.store.audit_records(0, 3).await.unwrap();
        assert_eq!(after[0].payload_key, None);
        for row in &after[1..] {
            assert!(
                open_payload(&gw.payload_keys, row).is_some(),
                "record {}",
                row.index
            );
        }

        // The running writer's key was the destroyed one: it takes a fresh
        // one and keeps deciding.
        let (_, d) = gw.decide(&bot, payment(json!(45), "e")).await;
        assert_eq!(d["decision"], "allow", "{d}");
        let newest = gw.store.audit_records(3, 4).await.unwrap();
        assert!(open_payload(&gw.payload_keys, &newest[0]).is_some());

        let (_, entries) = gw
            .admin_get(&gw.admin_token, "/v1/audit/entries?from=0")
            .await;
        assert_eq!(entries["entries"][0]["payload"], "erased");
        assert_eq!(entries["entries"][1]["payload"], "sealed");
        verify(&gw).await.unwrap();
        gw.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_writers_interleave_without_losing_or_forking_records() {
    for backend in backends() {
        let gw = TestGateway::start(backend, |t| t).await;
        let bot = gw.token("invoice-bot");
        // Another writer (as the CLI does) appends between the gateway's batches:
        // the store refuses the stale batch, the writer catches up and retries.
        for round in 0..5u64 {
            gw.decide(&bot, payment(json!(10 + round), "w")).await;
            let mut note =
                warden_audit::AuditRecord::new(0, 0, warden_audit::RecordKind::Erasure, "cli");
            note.note = Some(format!("interleaved {round}"));
            warden_gateway::audit::append_direct(&gw.store, None, vec![(note, None)])
                .await
                .unwrap();
        }
        let (_, d) = gw.decide(&bot, payment(json!(99), "w")).await;
        assert_eq!(d["decision"], "allow", "{d}");
        assert_eq!(gw.store.audit_size().await.unwrap(), 11);
        let report = verify(&gw).await.unwrap();
        assert_eq!(report.records, 11, "{backend:?}");
        // A stale append is refused, not interleaved.
        let err = gw
            .store
            .audit_append(3, &warden_store::AuditBatch::default())
            .await
            .unwrap_err();
        assert!(
            matches!(err, warden_store::StoreError::Conflict { .. }),
            "{err}"
        );
        gw.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_log_cannot_be_written_decisions_are_denied_and_readyz_says_why() {
    let gw = TestGateway::start(crate::harness::Backend::Sqlite, |t| t).await;
    let bot = gw.token("invoice-bot");
    let (_, ok) = gw.decide(&bot, payment(json!(10), "f")).await;
    assert_eq!(ok["decision"], "allow");
    // Break the log's storage under the running gateway.
    raw_sql(
        &gw.store,
        "ALTER TABLE warden_audit_records RENAME TO broken_records",
    )
    .await;
    let (status, denied) = gw.decide(&bot, payment(json!(10), "f")).await;
    assert_eq!(status, 200);
    assert_eq!(denied["decision"], "deny", "{denied}");
    let reasons = denied["reasons"].to_string();
    assert!(
        reasons.contains("audit log unavailable") && reasons.contains("could not be recorded"),
        "{reasons}"
    );
    let (s, ready) = gw.admin_get(&gw.admin_token, "/readyz").await;
    assert_eq!(s, 503, "{ready}");
    assert!(
        ready["problems"][0]
            .as_str()
            .unwrap()
            .starts_with("audit log unavailable"),
        "{ready}"
    );
    // Repaired, the next write succeeds and readiness comes back.
    raw_sql(
        &gw.store,
        "ALTER TABLE broken_records RENAME TO warden_audit_records",
    )
    .await;
    let (_, again) = gw.decide(&bot, payment(json!(10), "f")).await;
    assert_eq!(again["decision"], "allow", "{again}");
    let (s, _) = gw.admin_get(&gw.admin_token, "/readyz").await;
    assert_eq!(s, 200);
    verify(&gw).await.unwrap();
    gw.stop().await;
}
