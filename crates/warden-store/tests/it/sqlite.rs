//! The conformance suite on SQLite, plus what only SQLite has.

use tempfile::TempDir;
use warden_store::{AnyStore, SQLITE_FILE_NAME, SqliteStore, Store, StoreError, StoreLocation};

use crate::conformance_tests;

pub(crate) struct Context {
    store: SqliteStore,
    _dir: TempDir,
}

impl Context {
    pub(crate) fn store(&self) -> SqliteStore {
        self.store.clone()
    }

    pub(crate) async fn finish(self) {
        self.store.pool().close().await;
    }
}

async fn open() -> Option<Context> {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).await.unwrap();
    Some(Context { store, _dir: dir })
}

conformance_tests!(
    ping,
    agents_crud,
    revocations,
    admin_tokens,
    approval_lifecycle,
    approvals_listing,
    consume_once,
    concurrent_consume_has_one_winner,
    latest_change_moves_on_writes,
    session_state,
    inventory_activity,
    inventory_tokens,
    inventory_sightings,
    suspensions,
    incidents,
    tool_pins,
    audit_wrapped_erasure,
    audit_catch_up,
    signing_keys,
);

#[tokio::test]
async fn opening_twice_keeps_data_and_migrates_once() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("nested").join("data");
    let location = StoreLocation::parse(None, &data_dir).unwrap();
    let first = AnyStore::open(&location).await.unwrap();
    assert_eq!(first.backend(), "sqlite");
    first
        .add_admin_token("t", warden_types::Role::Admin, "d", 1)
        .await
        .unwrap();
    let change = first.latest_change().await.unwrap();

    let second = AnyStore::open(&location).await.unwrap();
    assert_eq!(second.admin_token_count().await.unwrap(), 1);
    assert_eq!(second.latest_change().await.unwrap(), change);
    let AnyStore::Sqlite(second) = second else {
        panic!("not sqlite")
    };
    let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM warden_migrations")
        .fetch_one(second.pool())
        .await
        .unwrap();
    assert_eq!(applied, 9, "every migration applied once");
}

#[tokio::test]
async fn uses_wal_in_a_private_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let store = SqliteStore::open(&data_dir).await.unwrap();
    assert!(data_dir.join(SQLITE_FILE_NAME).is_file());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&data_dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }
    let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(journal, "wal");
    let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(synchronous, 2, "synchronous=FULL: commits are fsynced");
    // Issue 11: database files were created 0644.
    sqlx::query("CREATE TABLE probe (x INTEGER)")
        .execute(store.pool())
        .await
        .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for name in [
            SQLITE_FILE_NAME.to_owned(),
            format!("{SQLITE_FILE_NAME}-wal"),
        ] {
            let mode = std::fs::metadata(data_dir.join(&name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
    }
}

#[tokio::test]
async fn refuses_a_newer_schema() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).await.unwrap();
    sqlx::query(
        "INSERT INTO warden_migrations (version, name, applied_at) VALUES (999, 'future', 0)",
    )
    .execute(store.pool())
    .await
    .unwrap();
    store.pool().close().await;
    match SqliteStore::open(dir.path()).await {
        Err(err @ StoreError::NewerSchema { found: 999, .. }) => {
            assert!(err.to_string().contains("upgrade warden"), "{err}");
        }
        other => panic!("expected newer schema, got {other:?}"),
    }
}

#[tokio::test]
async fn corrupt_rows_are_reported_not_panicked_on() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).await.unwrap();
    sqlx::query("INSERT INTO warden_admin_tokens (name, role, digest, created_at) VALUES ('x', 'root', 'd', 0)")
        .execute(store.pool())
        .await
        .unwrap();
    match store.admin_tokens().await {
        Err(
            err @ StoreError::Corrupt {
                what: "admin token role",
                ..
            },
        ) => {
            assert!(err.to_string().contains("`root`"), "{err}");
        }
        other => panic!("expected corrupt, got {other:?}"),
    }
}

/// Numbers a batch of three records from wherever the log stands.
struct Anywhere;

impl warden_store::AuditCatchUp for Anywhere {
    fn border(&self, _size: u64) -> Vec<(u8, u64)> {
        Vec::new()
    }

    fn rebuild(
        &mut self,
        size: u64,
        _nodes: &[warden_store::StoredNode],
    ) -> Result<warden_store::AuditBatch, StoreError> {
        Ok(batch_at(size))
    }
}

fn batch_at(size: u64) -> warden_store::AuditBatch {
    warden_store::AuditBatch {
        records: (size..size + 3)
            .map(|index| warden_store::AuditRow {
                index,
                record: index.to_be_bytes().to_vec(),
                leaf: [0; 32],
                payload: None,
                payload_key: None,
                created_at: 1,
            })
            .collect(),
        ..warden_store::AuditBatch::default()
    }
}

/// Two stores on one directory (the gateway and the CLI) append at once,
/// each through its own appending connection: every batch lands whole, the
/// one behind numbered again under the lock, and the log stays dense.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_writers_on_one_file_keep_the_log_dense() {
    use warden_store::AuditStore as _;
    let dir = tempfile::tempdir().unwrap();
    let a = SqliteStore::open(dir.path()).await.unwrap();
    let b = SqliteStore::open(dir.path()).await.unwrap();
    let writer = |store: SqliteStore| {
        tokio::spawn(async move {
            let mut at = Vec::new();
            for _ in 0..40 {
                let size = store.audit_size().await.unwrap();
                at.push(
                    store
                        .audit_append_caught_up(size, &batch_at(size), &mut Anywhere)
                        .await
                        .unwrap(),
                );
            }
            at
        })
    };
    let (first, second) = (writer(a.clone()), writer(b.clone()));
    let mut starts: Vec<u64> = first.await.unwrap();
    starts.extend(second.await.unwrap());
    starts.sort_unstable();
    assert_eq!(starts, (0..80).map(|i| i * 3).collect::<Vec<_>>());
    assert_eq!(a.audit_size().await.unwrap(), 240);
    let mut records = Vec::new();
    while (records.len() as u64) < 240 {
        let from = records.len() as u64;
        records.extend(a.audit_records(from, 240).await.unwrap());
    }
    for (i, row) in records.iter().enumerate() {
        assert_eq!(row.index, i as u64);
        assert_eq!(row.record, (i as u64).to_be_bytes());
    }
}
