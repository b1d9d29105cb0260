//! The embedded backend: one SQLite file in WAL mode.

use std::path::Path;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};
use warden_types::{AgentName, InstanceId, Role};

use crate::error::StoreError;
use crate::location::{SQLITE_FILE_NAME, StoreLocation};
use crate::migrations::{self, CREATE_MIGRATIONS_TABLE, CURRENT_VERSION};
use crate::records::{
    AdminTokenRecord, AgentRecord, ApprovalRecord, ApprovalStatus, RevocationRecord,
};
use crate::rows::{self, ApprovalJson};
use crate::{APPROVALS_LIMIT, ApprovalMatch, Store};

/// How long a connection waits for another writer before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Starts a write transaction that takes the write lock at once, so it waits
/// (up to [`BUSY_TIMEOUT`]) for other writers instead of failing mid-way.
const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

/// The store in `<data_dir>/warden.db`. Cloning shares the connection pool.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// The audit log's appends: their own connection and thread.
    appender: std::sync::Arc<crate::sqlite_append::Appender>,
}

impl SqliteStore {
    /// Opens (creating if needed) `<data_dir>/warden.db` and migrates it. The data
    /// directory is created with mode 0700 if missing.
    pub async fn open(data_dir: &Path) -> Result<SqliteStore, StoreError> {
        let location = StoreLocation::Sqlite {
            data_dir: data_dir.to_owned(),
        };
        let open_error = |source: Box<dyn std::error::Error + Send + Sync>| StoreError::Open {
            location: location.to_string(),
            source,
        };
        create_private_dir(data_dir).map_err(|err| open_error(Box::new(err)))?;
        // The database holds sealed payloads and their keys: 0600, like the
        // keys. SQLite gives its -wal and -shm files the database's mode.
        private_file(&data_dir.join(SQLITE_FILE_NAME)).map_err(|err| open_error(Box::new(err)))?;
        let options = SqliteConnectOptions::new()
            .filename(data_dir.join(SQLITE_FILE_NAME))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(BUSY_TIMEOUT)
            // Checkpoint the WAL into the database less often: the audit log's
            // group commits write steadily, and each checkpoint stalls a commit.
            .pragma("wal_autocheckpoint", "10000")
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|err| open_error(Box::new(err)))?;
        migrate(&pool).await?;
        let appender = std::sync::Arc::new(crate::sqlite_append::Appender::start(
            &data_dir.join(SQLITE_FILE_NAME),
            BUSY_TIMEOUT,
        )?);
        tracing::debug!(%location, "opened sqlite store");
        Ok(SqliteStore { pool, appender })
    }

    /// The connection pool, for other Warden crates that keep their own tables
    /// in the same database.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The audit log's appender.
    pub(crate) fn appender(&self) -> &crate::sqlite_append::Appender {
        &self.appender
    }

    pub(crate) async fn begin_write(
        &self,
        operation: &'static str,
    ) -> Result<Transaction<'static, Sqlite>, StoreError> {
        self.pool
            .begin_with(BEGIN_WRITE)
            .await
            .map_err(StoreError::query(operation))
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

async fn migrate(pool: &SqlitePool) -> Result<(), StoreError> {
    let failed = |version| move |source| StoreError::Migration { version, source };
    sqlx::raw_sql(CREATE_MIGRATIONS_TABLE)
        .execute(pool)
        .await
        .map_err(failed(0))?;
    let mut tx = pool.begin_with(BEGIN_WRITE).await.map_err(failed(0))?;
    let current: i64 = sqlx::query_scalar(CURRENT_VERSION)
        .fetch_one(&mut *tx)
        .await
        .map_err(failed(0))?;
    let pending = migrations::pending(current)?;
    if pending.is_empty() {
        return Ok(());
    }
    for migration in pending {
        let failed = failed(migration.version);
        sqlx::raw_sql(migration.sqlite)
            .execute(&mut *tx)
            .await
            .map_err(failed)?;
        sqlx::query("INSERT INTO warden_migrations (version, name, applied_at) VALUES (?, ?, ?)")
            .bind(migration.version)
            .bind(migration.name)
            .bind(migrations::now_millis())
            .execute(&mut *tx)
            .await
            .map_err(failed)?;
        tracing::info!(
            version = migration.version,
            name = migration.name,
            "applied sqlite migration"
        );
    }
    tx.commit()
        .await
        .map_err(failed(migrations::latest_version()))
}

/// Bumps the change counter inside a write transaction.
pub(crate) async fn bump_change(
    tx: &mut Transaction<'static, Sqlite>,
    operation: &'static str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE warden_changes SET seq = seq + 1 WHERE id = 1")
        .execute(&mut **tx)
        .await
        .map_err(StoreError::query(operation))?;
    Ok(())
}

impl Store for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(StoreError::query("ping"))?;
        Ok(())
    }

    async fn latest_change(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT seq FROM warden_changes WHERE id = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::query("latest_change"))
    }

    async fn put_agent(&self, agent: &AgentRecord) -> Result<(), StoreError> {
        const OP: &str = "put_agent";
        let mut tx = self.begin_write(OP).await?;
        sqlx::query(
            "INSERT INTO warden_agents (name, manifest, source, registered_at, updated_at) \
             VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (name) DO UPDATE SET manifest = excluded.manifest, \
             source = excluded.source, updated_at = excluded.updated_at",
        )
        .bind(agent.name.as_str())
        .bind(&agent.manifest)
        .bind(&agent.source)
        .bind(agent.registered_at)
        .bind(agent.updated_at)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::query(OP))?;
        bump_change(&mut tx, OP).await?;
        tx.commit().await.map_err(StoreError::query(OP))
    }

    async fn agent(&self, name: &AgentName) -> Result<Option<AgentRecord>, StoreError> {
        const OP: &str = "agent";
        let row = sqlx::query("SELECT * FROM warden_agents WHERE name = ?")
            .bind(name.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::query(OP))?;
        row.map(|row| rows::agent(&row, OP)).transpose()
    }

    async fn agents(&self) -> Result<Vec<AgentRecord>, StoreError> {
        const OP: &str = "agents";
        sqlx::query("SELECT * FROM warden_agents ORDER BY name")
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query(OP))?
            .iter()
            .map(|row| rows::agent(row, OP))
            .collect()
    }

    async fn delete_agent(&self, name: &AgentName) -> Result<bool, StoreError> {
        const OP: &str = "delete_agent";
        let mut tx = self.begin_write(OP).await?;
        let deleted = sqlx::query("DELETE FROM warden_agents WHERE name = ?")
            .bind(name.as_str())
            .execute(&mut *tx)
            .await
            .map_err(StoreError::query(OP))?
            .rows_affected()
            > 0;
        if deleted {
            bump_change(&mut tx, OP).await?;
        }
        tx.commit().await.map_err(StoreError::query(OP))?;
        Ok(deleted)
    }

    async fn add_revocation(
        &self,
        agent: &AgentName,
        instance: Option<&InstanceId>,
        reason: &str,
        revoked_by: &str,
        at: i64,
    ) -> Result<RevocationRecord, StoreError> {
        const OP: &str = "add_revocation";
        let mut tx = self.begin_write(OP).await?;
        let row = sqlx::query(
            "INSERT INTO warden_revocations (agent, instance, reason, revoked_by, revoked_at) \
             VALUES (?, ?, ?, ?, ?) RETURNING *",
        )
        .bind(agent.as_str())
        .bind(instance.map(InstanceId::as_str))
        .bind(reason)
        .bind(revoked_by)
        .bind(at)
        .fetch_one(&mut *tx)
        .await
        .map_err(StoreError::query(OP))?;
        let record = rows::revocation(&row, OP)?;
        bump_change(&mut tx, OP).await?;
        tx.commit().await.map_err(StoreError::query(OP))?;
        Ok(record)
    }

    async fn revocations(&self) -> Result<Vec<RevocationRecord>, StoreError> {
        const OP: &str = "revocations";
        sqlx::query("SELECT * FROM warden_revocations ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query(OP))?
            .iter()
            .map(|row| rows::revocation(row, OP))
            .collect()
    }

    async fn add_admin_token(
        &self,
        name: &str,
        role: Role,
        digest: &str,
        at: i64,
    ) -> Result<AdminTokenRecord, StoreError> {
        const OP: &str = "add_admin_token";
        let mut tx = self.begin_write(OP).await?;
        let row = sqlx::query(
            "INSERT INTO warden_admin_tokens (name, role, digest, created_at) \
             VALUES (?, ?, ?, ?) RETURNING *",
        )
        .bind(name)
        .bind(role.as_str())
        .bind(digest)
        .bind(at)
        .fetch_one(&mut *tx)
        .await
        .map_err(StoreError::query(OP))?;
        let record = rows::admin_token(&row, OP)?;
        bump_change(&mut tx, OP).await?;
        tx.commit().await.map_err(StoreError::query(OP))?;
        Ok(record)
    }

    async fn admin_tokens(&self) -> Result<Vec<AdminTokenRecord>, StoreError> {
        const OP: &str = "admin_tokens";
        sqlx::query("SELECT * FROM warden_admin_tokens ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query(OP))?
            .iter()
            .map(|row| rows::admin_token(row, OP))
            .collect()
    }

    async fn admin_token_count(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT COUNT(*) FROM warden_admin_tokens")
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::query("admin_token_count"))
    }

    async fn create_approval(&self, approval: &ApprovalRecord) -> Result<(), StoreError> {
        const OP: &str = "create_approval";
        let json = ApprovalJson::of(approval)?;
        sqlx::query(
            "INSERT INTO warden_approvals (id, agent, instance, session, server, tool, operation, \
             args, args_digest, reasons, policies, policy_digest, status, created_at, expires_at, \
             decided_by, decided_at, note, consumed) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&approval.id)
        .bind(approval.agent.as_str())
        .bind(approval.instance.as_str())
        .bind(&approval.session)
        .bind(&approval.server)
        .bind(&approval.tool)
        .bind(&approval.operation)
        .bind(json.args)
        .bind(&approval.args_digest)
        .bind(json.reasons)
        .bind(json.policies)
        .bind(&approval.policy_digest)
        .bind(approval.status.as_str())
        .bind(approval.created_at)
        .bind(approval.expires_at)
        .bind(approval.decided_by.as_deref())
        .bind(approval.decided_at)
        .bind(approval.note.as_deref())
        .bind(approval.consumed)
        .execute(&self.pool)
        .await
        .map_err(StoreError::query(OP))?;
        Ok(())
    }

    async fn approval(&self, id: &str) -> Result<Option<ApprovalRecord>, StoreError> {
        const OP: &str = "approval";
        let row = sqlx::query("SELECT * FROM warden_approvals WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::query(OP))?;
        row.map(|row| rows::approval(&row, OP)).transpose()
    }

    async fn approvals(
        &self,
        status: Option<ApprovalStatus>,
    ) -> Result<Vec<ApprovalRecord>, StoreError> {
        const OP: &str = "approvals";
        sqlx::query(
            "SELECT * FROM warden_approvals WHERE (? IS NULL OR status = ?) \
             ORDER BY created_at DESC, id DESC LIMIT ?",
        )
        .bind(status.map(ApprovalStatus::as_str))
        .bind(status.map(ApprovalStatus::as_str))
        .bind(APPROVALS_LIMIT)
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::query(OP))?
        .iter()
        .map(|row| rows::approval(row, OP))
        .collect()
    }

    async fn decide_approval(
        &self,
        id: &str,
        approve: bool,
        by: &str,
        note: Option<&str>,
        at: i64,
    ) -> Result<ApprovalRecord, StoreError> {
        const OP: &str = "decide_approval";
        let status = if approve {
            ApprovalStatus::Approved
        } else {
            ApprovalStatus::Rejected
        };
        let mut tx = self.begin_write(OP).await?;
        let decided = sqlx::query(
            "UPDATE warden_approvals SET status = ?, decided_by = ?, decided_at = ?, note = ? \
             WHERE id = ? AND status = 'pending' AND expires_at > ? RETURNING *",
        )
        .bind(status.as_str())
        .bind(by)
        .bind(at)
        .bind(note)
        .bind(id)
        .bind(at)
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::query(OP))?;
        if let Some(row) = decided {
            let record = rows::approval(&row, OP)?;
            tx.commit().await.map_err(StoreError::query(OP))?;
            return Ok(record);
        }
        // Not decidable: say why, marking it expired if that is the reason.
        let current = sqlx::query(
            "UPDATE warden_approvals SET status = CASE \
             WHEN status = 'pending' AND expires_at <= ? THEN 'expired' ELSE status END \
             WHERE id = ? RETURNING *",
        )
        .bind(at)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::query(OP))?;
        tx.commit().await.map_err(StoreError::query(OP))?;
        match current {
            Some(row) => Err(rows::undecidable(id, rows::approval(&row, OP)?.status)),
            None => Err(StoreError::NotFound {
                what: "approval",
                key: id.to_owned(),
            }),
        }
    }

    async fn pending_approvals_of(&self, agent: &str, now: i64) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM warden_approvals WHERE agent = ? AND status = 'pending' AND expires_at > ?",
        )
        .bind(agent)
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .map_err(StoreError::query("pending_approvals_of"))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn expire_approvals(&self, now: i64) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE warden_approvals SET status = 'expired' \
             WHERE status = 'pending' AND expires_at <= ?",
        )
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(StoreError::query("expire_approvals"))?;
        Ok(done.rows_affected())
    }

    async fn consume_approval(
        &self,
        wanted: &ApprovalMatch<'_>,
        now: i64,
    ) -> Result<Option<ApprovalRecord>, StoreError> {
        const OP: &str = "consume_approval";
        // One statement: SQLite runs it under the database write lock, so two
        // callers cannot both see `consumed = FALSE` for the same row.
        let row = sqlx::query(
            "UPDATE warden_approvals SET consumed = TRUE, consumed_at = ? \
             WHERE id = (SELECT id FROM warden_approvals \
                 WHERE agent = ? AND (? IS NULL OR instance = ?) AND session = ? AND server = ? \
                 AND tool = ? AND args_digest = ? AND status = 'approved' AND consumed = FALSE \
                 AND decided_at < expires_at \
                 ORDER BY decided_at LIMIT 1) \
             AND consumed = FALSE RETURNING *",
        )
        .bind(now)
        .bind(wanted.agent.as_str())
        .bind(wanted.instance.map(InstanceId::as_str))
        .bind(wanted.instance.map(InstanceId::as_str))
        .bind(wanted.session)
        .bind(wanted.server)
        .bind(wanted.tool)
        .bind(wanted.args_digest)
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::query(OP))?;
        row.map(|row| rows::approval(&row, OP)).transpose()
    }

    async fn release_approval(&self, id: &str) -> Result<bool, StoreError> {
        const OP: &str = "release_approval";
        let done = sqlx::query(
            "UPDATE warden_approvals SET consumed = FALSE, consumed_at = NULL \
             WHERE id = ? AND consumed = TRUE",
        )
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(StoreError::query(OP))?;
        Ok(done.rows_affected() == 1)
    }
}

/// Creates `path` empty with mode 0600 if it does not exist, and makes an
/// existing one 0600.
fn private_file(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        }
        Err(e) => Err(e),
    }
}
