//! The scale-out backend: PostgreSQL, shared by any number of gateway nodes.

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};
use warden_types::{AgentName, InstanceId, Role};

use crate::error::StoreError;
use crate::location::redact_url;
use crate::migrations::{self, CREATE_MIGRATIONS_TABLE, CURRENT_VERSION};
use crate::records::{
    AdminTokenRecord, AgentRecord, ApprovalRecord, ApprovalStatus, RevocationRecord,
};
use crate::rows::{self, ApprovalJson};
use crate::{APPROVALS_LIMIT, ApprovalMatch, Store};

/// The channel notified after every change to agents, revocations or admin
/// tokens; the payload is the new [`Store::latest_change`] value.
pub const CHANGES_CHANNEL: &str = "warden_changes";

/// The advisory lock key that serializes migrations across nodes
/// (`'warden' as ASCII`, to stay clear of other applications' keys).
const MIGRATION_LOCK: i64 = 0x7761_7264_656e;

/// The store in a PostgreSQL database. Cloning shares the connection pool.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://…`) and migrates the database.
    pub async fn open(url: &str) -> Result<PostgresStore, StoreError> {
        // A connection per decision in flight (session state is locked in a
        // transaction), plus the audit writer, the change listener and the
        // sweeps.
        let pool = PgPoolOptions::new()
            .max_connections(20)
            .connect(url)
            .await
            .map_err(|err| StoreError::Open {
                location: redact_url(url),
                source: Box::new(err),
            })?;
        tracing::debug!(location = %redact_url(url), "opened postgres store");
        PostgresStore::from_pool(pool).await
    }

    /// Uses a pool the caller configured (size, `after_connect`, `search_path`)
    /// and migrates the database it points at.
    pub async fn from_pool(pool: PgPool) -> Result<PostgresStore, StoreError> {
        migrate(&pool).await?;
        Ok(PostgresStore { pool })
    }

    /// The connection pool, for other Warden crates that keep their own tables
    /// in the same database.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub(crate) async fn begin_write(
        &self,
        operation: &'static str,
    ) -> Result<Transaction<'static, Postgres>, StoreError> {
        self.pool
            .begin()
            .await
            .map_err(StoreError::query(operation))
    }
}

async fn migrate(pool: &PgPool) -> Result<(), StoreError> {
    let failed = |version| move |source| StoreError::Migration { version, source };
    let mut tx = pool.begin().await.map_err(failed(0))?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *tx)
        .await
        .map_err(failed(0))?;
    sqlx::raw_sql(CREATE_MIGRATIONS_TABLE)
        .execute(&mut *tx)
        .await
        .map_err(failed(0))?;
    let current: i64 = sqlx::query_scalar(CURRENT_VERSION)
        .fetch_one(&mut *tx)
        .await
        .map_err(failed(0))?;
    let pending = migrations::pending(current)?;
    for migration in pending {
        let failed = failed(migration.version);
        sqlx::raw_sql(migration.postgres)
            .execute(&mut *tx)
            .await
            .map_err(failed)?;
        sqlx::query(
            "INSERT INTO warden_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
        )
        .bind(migration.version)
        .bind(migration.name)
        .bind(migrations::now_millis())
        .execute(&mut *tx)
        .await
        .map_err(failed)?;
        tracing::info!(
            version = migration.version,
            name = migration.name,
            "applied postgres migration"
        );
    }
    tx.commit()
        .await
        .map_err(failed(migrations::latest_version()))
}

/// Bumps the change counter inside a write transaction and queues a
/// notification on [`CHANGES_CHANNEL`] (delivered when the transaction commits).
pub(crate) async fn bump_change(
    tx: &mut Transaction<'static, Postgres>,
    operation: &'static str,
) -> Result<(), StoreError> {
    sqlx::query(
        "WITH bumped AS (UPDATE warden_changes SET seq = seq + 1 WHERE id = 1 RETURNING seq) \
         SELECT pg_notify($1, seq::text) FROM bumped",
    )
    .bind(CHANGES_CHANNEL)
    .execute(&mut **tx)
    .await
    .map_err(StoreError::query(operation))?;
    Ok(())
}

impl Store for PostgresStore {
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
             VALUES ($1, $2, $3, $4, $5) \
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
        let row = sqlx::query("SELECT * FROM warden_agents WHERE name = $1")
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
        let deleted = sqlx::query("DELETE FROM warden_agents WHERE name = $1")
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
             VALUES ($1, $2, $3, $4, $5) RETURNING *",
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
             VALUES ($1, $2, $3, $4) RETURNING *",
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
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
        let row = sqlx::query("SELECT * FROM warden_approvals WHERE id = $1")
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
            "SELECT * FROM warden_approvals WHERE ($1 IS NULL OR status = $2) \
             ORDER BY created_at DESC, id DESC LIMIT $3",
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
            "UPDATE warden_approvals SET status = $1, decided_by = $2, decided_at = $3, note = $4 \
             WHERE id = $5 AND status = 'pending' AND expires_at > $6 RETURNING *",
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
             WHEN status = 'pending' AND expires_at <= $1 THEN 'expired' ELSE status END \
             WHERE id = $2 RETURNING *",
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
            "SELECT COUNT(*)::BIGINT FROM warden_approvals WHERE agent = $1 AND status = 'pending' AND expires_at > $2",
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
             WHERE status = 'pending' AND expires_at <= $1",
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
        // One statement: the candidate row is locked (`FOR UPDATE`), a row another
        // caller holds is skipped, and `consumed = FALSE` is checked again on the
        // locked row, so two callers cannot both consume it.
        let row = sqlx::query(
            "UPDATE warden_approvals SET consumed = TRUE, consumed_at = $1 \
             WHERE id = (SELECT id FROM warden_approvals \
                 WHERE agent = $2 AND ($3 IS NULL OR instance = $4) AND session = $5 AND server = $6 \
                 AND tool = $7 AND args_digest = $8 AND status = 'approved' AND consumed = FALSE \
                 AND decided_at < expires_at \
                 ORDER BY decided_at LIMIT 1 FOR UPDATE SKIP LOCKED) \
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
             WHERE id = $1 AND consumed = TRUE",
        )
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(StoreError::query(OP))?;
        Ok(done.rows_affected() == 1)
    }
}
