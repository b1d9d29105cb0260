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
