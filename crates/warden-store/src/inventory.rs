//! What the inventory is built from, besides manifests: each agent's activity
//! (counted in the same transaction as the audit records it comes from, so
//! the two always agree), the JWT-SVIDs issued and when each was last used,
//! and sightings of callers Warden could not tie to a registered agent.

use std::future::Future;

use sqlx::Row;

use crate::error::StoreError;
use crate::{AnyStore, PostgresStore, SqliteStore};

/// Actions of one agent on one tool with one outcome in one clock hour, to
/// add to what is stored (part of an [`crate::AuditBatch`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityDelta {
    /// The agent.
    pub agent: String,
    /// The clock hour (hours since the Unix epoch).
    pub hour: i64,
    /// The tool server (empty when the record names none).
    pub server: String,
    /// The tool (empty when the record names none).
    pub tool: String,
    /// `allow`, `deny`, `needs_approval`, `observation` or `approval`.
    pub outcome: String,
    /// How many.
    pub count: i64,
    /// The earliest of them (unix ms).
    pub first_ms: i64,
    /// The latest of them (unix ms).
    pub last_ms: i64,
}

/// A data class an agent's arguments or results held, to add to what is
/// stored (part of an [`crate::AuditBatch`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassDelta {
    /// The agent.
    pub agent: String,
    /// The class (`pii.contact`, …).
    pub class: String,
    /// In how many records.
    pub count: i64,
    /// The earliest (unix ms).
    pub first_ms: i64,
    /// The latest (unix ms).
    pub last_ms: i64,
}

/// One agent's activity on one tool with one outcome, summed over windows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivitySummary {
    /// The agent.
    pub agent: String,
    /// The tool server (empty for none).
    pub server: String,
    /// The tool (empty for none).
    pub tool: String,
    /// The outcome.
    pub outcome: String,
    /// In the current clock hour and the 23 before it.
    pub day: i64,
    /// In the current clock hour and the 167 before it.
    pub week: i64,
    /// In the current clock hour and the 719 before it.
    pub month: i64,
    /// Ever.
    pub total: i64,
    /// The first (unix ms).
    pub first_ms: i64,
    /// The last (unix ms).
    pub last_ms: i64,
}

/// A JWT-SVID Warden issued or accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// Its `jti`.
    pub jti: String,
    /// The agent it names.
    pub agent: String,
    /// The instance it names.
    pub instance: String,
    /// When it was issued (unix ms), if Warden issued it.
    pub issued_at: Option<i64>,
    /// When it expires (unix ms).
    pub expires_at: i64,
    /// Who issued it (`cli`, an admin token's name), if Warden did.
    pub issued_by: Option<String>,
    /// When an agent last presented it (unix ms); `None` if never.
    pub last_used_at: Option<i64>,
}

/// A caller Warden could not tie to a registered agent (from traffic), or
/// agent tooling `warden discover` found (from a scan); aggregated by `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SightingRecord {
    /// Stable id: a digest of what identifies it.
    pub id: String,
    /// `traffic` or `discover`.
    pub origin: String,
    /// What was seen: `no_token`, `invalid_token`, `foreign_trust_domain`,
    /// `unknown_agent`, `revoked`, `mcp_server`, `agent_framework`, …
    pub kind: String,
    /// The identity it claimed (SPIFFE ID, issuer) or the name found.
    pub claimed: String,
    /// Where from: the source address, or the host a scan ran on.
    pub source: String,
    /// Its `User-Agent`.
    pub user_agent: String,
    /// The MCP client (`name/version`) or the client configuration it was found in.
    pub client: String,
    /// More, as a JSON object (the refusal, the file and line, the evidence).
    pub detail: String,
    /// The tools it tried (a JSON array of strings).
    pub tools: String,
    /// How many times (added up when saved).
    pub count: i64,
    /// First seen (unix ms).
    pub first_seen: i64,
    /// Last seen (unix ms).
    pub last_seen: i64,
}

/// Storage for the inventory's facts. Implemented by both backends.
pub trait InventoryStore: Clone + Send + Sync + 'static {
    /// Every agent's (or one agent's) activity, summed over the 24 h, 7 d and
    /// 30 d windows ending in the clock hour of `now_ms`.
    fn activity(
        &self,
        agent: Option<&str>,
        now_ms: i64,
    ) -> impl Future<Output = Result<Vec<ActivitySummary>, StoreError>> + Send;

    /// The classes every agent's (or one agent's) records held.
    fn activity_classes(
        &self,
        agent: Option<&str>,
    ) -> impl Future<Output = Result<Vec<ClassDelta>, StoreError>> + Send;

    /// Folds hourly activity older than `before_hour` into one all-time row
    /// per agent, tool and outcome (hour 0); returns the rows folded.
    fn compact_activity(
        &self,
        before_hour: i64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Records a token Warden issued.
    fn record_token(
        &self,
        token: &TokenRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records tokens' last use (a token not yet known is added); a time never
    /// goes back.
    fn token_uses(
        &self,
        uses: &[TokenRecord],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Every token of every agent (or of one), newest first, at most `limit`.
    fn tokens(
        &self,
        agent: Option<&str>,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<TokenRecord>, StoreError>> + Send;

    /// Forgets tokens that expired before `before` (unix ms); returns how many.
    fn forget_tokens(&self, before: i64) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Adds sightings (counts add up, times widen, the other fields take the
    /// newer value), then drops those last seen before `expire_before` and
    /// all but the `keep` most recent.
    fn save_sightings(
        &self,
        sightings: &[SightingRecord],
        expire_before: i64,
        keep: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Sightings, most recently seen first, at most `limit`.
    fn sightings(
        &self,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<SightingRecord>, StoreError>> + Send;

    /// The sighting with this id.
    fn sighting(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<SightingRecord>, StoreError>> + Send;

    /// Deletes a sighting (once promoted to an agent); `false` if there was none.
    fn delete_sighting(&self, id: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Rows written per statement (at most 8 parameters each).
const ROWS_PER_STATEMENT: usize = 500;

/// The statements that differ between the backends.
struct Sql {
    activity: &'static str,
    activity_of: &'static str,
    classes: &'static str,
    classes_of: &'static str,
    fold: &'static str,
    fold_delete: &'static str,
    activity_conflict: &'static str,
    classes_conflict: &'static str,
    record_token: &'static str,
    token_conflict: &'static str,
    tokens: &'static str,
    tokens_of: &'static str,
    forget_tokens: &'static str,
    sighting_conflict: &'static str,
    expire_sightings: &'static str,
    trim_sightings: &'static str,
    sightings: &'static str,
    sighting: &'static str,
    delete_sighting: &'static str,
}

macro_rules! activity_select {
    ($p1:literal, $p2:literal, $p3:literal, $where:literal) => {
        concat!(
            "SELECT agent, server, tool, outcome, ",
            "CAST(SUM(CASE WHEN hour >= ",
            $p1,
            " THEN count ELSE 0 END) AS BIGINT) AS day, ",
            "CAST(SUM(CASE WHEN hour >= ",
            $p2,
            " THEN count ELSE 0 END) AS BIGINT) AS week, ",
            "CAST(SUM(CASE WHEN hour >= ",
            $p3,
            " THEN count ELSE 0 END) AS BIGINT) AS month, ",
            "CAST(SUM(count) AS BIGINT) AS total, ",
            "CAST(MIN(first_ms) AS BIGINT) AS first_ms, CAST(MAX(last_ms) AS BIGINT) AS last_ms ",
            "FROM warden_activity ",
            $where,
            " GROUP BY agent, server, tool, outcome ORDER BY agent, server, tool, outcome"
        )
    };
}

const SIGHTING_COLUMNS: &str = "id, origin, kind, claimed, source, user_agent, client, detail, tools, count, first_seen, last_seen";

/// How SQLite adds a batch's activity to an hour's row.
pub(crate) const SQLITE_ACTIVITY_CONFLICT: &str = " ON CONFLICT (agent, hour, server, tool, outcome) DO UPDATE SET \
        count = count + excluded.count, first_ms = MIN(first_ms, excluded.first_ms), \
        last_ms = MAX(last_ms, excluded.last_ms)";

/// How SQLite adds a batch's data classes to an agent's row.
pub(crate) const SQLITE_CLASSES_CONFLICT: &str = " ON CONFLICT (agent, class) DO UPDATE SET \
        count = count + excluded.count, first_ms = MIN(first_ms, excluded.first_ms), \
        last_ms = MAX(last_ms, excluded.last_ms)";

const SQLITE: Sql = Sql {
    activity: activity_select!("?", "?", "?", ""),
    activity_of: activity_select!("?", "?", "?", "WHERE agent = ?"),
    classes: "SELECT * FROM warden_activity_classes ORDER BY agent, class",
    classes_of: "SELECT * FROM warden_activity_classes WHERE agent = ? ORDER BY class",
    fold: "INSERT INTO warden_activity (agent, hour, server, tool, outcome, count, first_ms, last_ms) \
        SELECT agent, 0, server, tool, outcome, SUM(count), MIN(first_ms), MAX(last_ms) \
        FROM warden_activity WHERE hour > 0 AND hour < ? GROUP BY agent, server, tool, outcome \
        ON CONFLICT (agent, hour, server, tool, outcome) DO UPDATE SET \
        count = count + excluded.count, first_ms = MIN(first_ms, excluded.first_ms), \
        last_ms = MAX(last_ms, excluded.last_ms)",
    fold_delete: "DELETE FROM warden_activity WHERE hour > 0 AND hour < ?",
    activity_conflict: SQLITE_ACTIVITY_CONFLICT,
    classes_conflict: SQLITE_CLASSES_CONFLICT,
    record_token: "INSERT INTO warden_tokens \
        (jti, agent, instance, issued_at, expires_at, issued_by, last_used_at) \
        VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (jti) DO NOTHING",
    token_conflict: " ON CONFLICT (jti) DO UPDATE SET \
        last_used_at = MAX(COALESCE(last_used_at, 0), COALESCE(excluded.last_used_at, 0))",
    tokens: "SELECT * FROM warden_tokens ORDER BY COALESCE(issued_at, last_used_at) DESC LIMIT ?",
    tokens_of: "SELECT * FROM warden_tokens WHERE agent = ? \
        ORDER BY COALESCE(issued_at, last_used_at) DESC LIMIT ?",
    forget_tokens: "DELETE FROM warden_tokens WHERE expires_at < ?",
    sighting_conflict: " ON CONFLICT (id) DO UPDATE SET \
        count = count + excluded.count, first_seen = MIN(first_seen, excluded.first_seen), \
        last_seen = MAX(last_seen, excluded.last_seen), user_agent = excluded.user_agent, \
        client = excluded.client, detail = excluded.detail, \
        tools = CASE WHEN excluded.tools = '[]' THEN tools ELSE excluded.tools END",
    expire_sightings: "DELETE FROM warden_sightings WHERE last_seen < ?",
    trim_sightings: "DELETE FROM warden_sightings WHERE id IN \
        (SELECT id FROM warden_sightings ORDER BY last_seen DESC, id LIMIT -1 OFFSET ?)",
    sightings: "SELECT * FROM warden_sightings ORDER BY last_seen DESC, id LIMIT ?",
    sighting: "SELECT * FROM warden_sightings WHERE id = ?",
    delete_sighting: "DELETE FROM warden_sightings WHERE id = ?",
};

const POSTGRES: Sql = Sql {
    activity: activity_select!("$1", "$2", "$3", ""),
    activity_of: activity_select!("$1", "$2", "$3", "WHERE agent = $4"),
    classes: "SELECT * FROM warden_activity_classes ORDER BY agent, class",
    classes_of: "SELECT * FROM warden_activity_classes WHERE agent = $1 ORDER BY class",
    fold: "INSERT INTO warden_activity (agent, hour, server, tool, outcome, count, first_ms, last_ms) \
        SELECT agent, 0, server, tool, outcome, SUM(count), MIN(first_ms), MAX(last_ms) \
        FROM warden_activity WHERE hour > 0 AND hour < $1 GROUP BY agent, server, tool, outcome \
        ON CONFLICT (agent, hour, server, tool, outcome) DO UPDATE SET \
        count = warden_activity.count + excluded.count, \
        first_ms = LEAST(warden_activity.first_ms, excluded.first_ms), \
        last_ms = GREATEST(warden_activity.last_ms, excluded.last_ms)",
    fold_delete: "DELETE FROM warden_activity WHERE hour > 0 AND hour < $1",
    activity_conflict: " ON CONFLICT (agent, hour, server, tool, outcome) DO UPDATE SET \
        count = warden_activity.count + excluded.count, \
        first_ms = LEAST(warden_activity.first_ms, excluded.first_ms), \
        last_ms = GREATEST(warden_activity.last_ms, excluded.last_ms)",
    classes_conflict: " ON CONFLICT (agent, class) DO UPDATE SET \
        count = warden_activity_classes.count + excluded.count, \
        first_ms = LEAST(warden_activity_classes.first_ms, excluded.first_ms), \
        last_ms = GREATEST(warden_activity_classes.last_ms, excluded.last_ms)",
    record_token: "INSERT INTO warden_tokens \
        (jti, agent, instance, issued_at, expires_at, issued_by, last_used_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (jti) DO NOTHING",
    token_conflict: " ON CONFLICT (jti) DO UPDATE SET last_used_at = \
        GREATEST(COALESCE(warden_tokens.last_used_at, 0), COALESCE(excluded.last_used_at, 0))",
    tokens: "SELECT * FROM warden_tokens ORDER BY COALESCE(issued_at, last_used_at) DESC LIMIT $1",
    tokens_of: "SELECT * FROM warden_tokens WHERE agent = $1 \
        ORDER BY COALESCE(issued_at, last_used_at) DESC LIMIT $2",
    forget_tokens: "DELETE FROM warden_tokens WHERE expires_at < $1",
    sighting_conflict: " ON CONFLICT (id) DO UPDATE SET \
        count = warden_sightings.count + excluded.count, \
        first_seen = LEAST(warden_sightings.first_seen, excluded.first_seen), \
        last_seen = GREATEST(warden_sightings.last_seen, excluded.last_seen), \
        user_agent = excluded.user_agent, client = excluded.client, detail = excluded.detail, \
        tools = CASE WHEN excluded.tools = '[]' THEN warden_sightings.tools ELSE excluded.tools END",
    expire_sightings: "DELETE FROM warden_sightings WHERE last_seen < $1",
    trim_sightings: "DELETE FROM warden_sightings WHERE id IN \
        (SELECT id FROM warden_sightings ORDER BY last_seen DESC, id LIMIT ALL OFFSET $1)",
    sightings: "SELECT * FROM warden_sightings ORDER BY last_seen DESC, id LIMIT $1",
    sighting: "SELECT * FROM warden_sightings WHERE id = $1",
    delete_sighting: "DELETE FROM warden_sightings WHERE id = $1",
};

/// Reads a column, naming the operation on failure.
fn col<'r, R, T>(row: &'r R, name: &str, op: &'static str) -> Result<T, StoreError>
where
    R: Row,
    T: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'n> &'n str: sqlx::ColumnIndex<R>,
{
    row.try_get(name).map_err(StoreError::query(op))
}

fn summary<R>(row: &R) -> Result<ActivitySummary, StoreError>
where
    R: Row,
    for<'n> &'n str: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    const OP: &str = "read activity";
    Ok(ActivitySummary {
        agent: col(row, "agent", OP)?,
        server: col(row, "server", OP)?,
        tool: col(row, "tool", OP)?,
        outcome: col(row, "outcome", OP)?,
        day: col(row, "day", OP)?,
        week: col(row, "week", OP)?,
        month: col(row, "month", OP)?,
        total: col(row, "total", OP)?,
        first_ms: col(row, "first_ms", OP)?,
        last_ms: col(row, "last_ms", OP)?,
    })
}

fn class_row<R>(row: &R) -> Result<ClassDelta, StoreError>
where
    R: Row,
    for<'n> &'n str: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    const OP: &str = "read activity classes";
    Ok(ClassDelta {
        agent: col(row, "agent", OP)?,
        class: col(row, "class", OP)?,
        count: col(row, "count", OP)?,
        first_ms: col(row, "first_ms", OP)?,
        last_ms: col(row, "last_ms", OP)?,
    })
}

fn token_row<R>(row: &R) -> Result<TokenRecord, StoreError>
where
    R: Row,
    for<'n> &'n str: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    const OP: &str = "read tokens";
    Ok(TokenRecord {
        jti: col(row, "jti", OP)?,
        agent: col(row, "agent", OP)?,
        instance: col(row, "instance", OP)?,
        issued_at: col(row, "issued_at", OP)?,
        expires_at: col(row, "expires_at", OP)?,
        issued_by: col(row, "issued_by", OP)?,
        last_used_at: col(row, "last_used_at", OP)?,
    })
}

fn sighting_row<R>(row: &R) -> Result<SightingRecord, StoreError>
where
    R: Row,
    for<'n> &'n str: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    const OP: &str = "read sightings";
    Ok(SightingRecord {
        id: col(row, "id", OP)?,
        origin: col(row, "origin", OP)?,
        kind: col(row, "kind", OP)?,
        claimed: col(row, "claimed", OP)?,
        source: col(row, "source", OP)?,
        user_agent: col(row, "user_agent", OP)?,
        client: col(row, "client", OP)?,
        detail: col(row, "detail", OP)?,
        tools: col(row, "tools", OP)?,
        count: col(row, "count", OP)?,
        first_seen: col(row, "first_seen", OP)?,
        last_seen: col(row, "last_seen", OP)?,
    })
}

/// The hour windows of [`InventoryStore::activity`]: the first hour counted
/// in the last 24 h, 7 d and 30 d.
fn windows(now_ms: i64) -> [i64; 3] {
    let hour = now_ms.div_euclid(3_600_000);
    [hour - 23, hour - 24 * 7 + 1, hour - 24 * 30 + 1]
}

/// Writes a batch's activity inside the audit append's transaction.
macro_rules! write_activity {
    ($tx:expr, $db:ty, $sql:expr, $activity:expr, $classes:expr, $op:expr) => {{
        for chunk in $activity.chunks(ROWS_PER_STATEMENT) {
            let mut q = sqlx::QueryBuilder::<$db>::new(
                "INSERT INTO warden_activity \
                 (agent, hour, server, tool, outcome, count, first_ms, last_ms) ",
            );
            q.push_values(chunk, |mut b, a| {
                b.push_bind(&a.agent)
                    .push_bind(a.hour)
                    .push_bind(&a.server)
                    .push_bind(&a.tool)
                    .push_bind(&a.outcome)
                    .push_bind(a.count)
                    .push_bind(a.first_ms)
                    .push_bind(a.last_ms);
            });
            q.push($sql.activity_conflict);
            q.build()
                .execute(&mut **$tx)
                .await
                .map_err(StoreError::query($op))?;
        }
        for chunk in $classes.chunks(ROWS_PER_STATEMENT) {
            let mut q = sqlx::QueryBuilder::<$db>::new(
                "INSERT INTO warden_activity_classes (agent, class, count, first_ms, last_ms) ",
            );
            q.push_values(chunk, |mut b, c| {
                b.push_bind(&c.agent)
                    .push_bind(&c.class)
                    .push_bind(c.count)
                    .push_bind(c.first_ms)
                    .push_bind(c.last_ms);
            });
            q.push($sql.classes_conflict);
            q.build()
                .execute(&mut **$tx)
                .await
                .map_err(StoreError::query($op))?;
        }
    }};
}

/// Adds a batch's activity in the SQLite audit transaction.
pub(crate) async fn write_activity_sqlite(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    activity: &[ActivityDelta],
    classes: &[ClassDelta],
) -> Result<(), StoreError> {
    write_activity!(
        tx,
        sqlx::Sqlite,
        SQLITE,
        activity,
        classes,
        "count activity"
    );
    Ok(())
}

/// Adds a batch's activity in the PostgreSQL audit transaction.
pub(crate) async fn write_activity_postgres(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    activity: &[ActivityDelta],
    classes: &[ClassDelta],
) -> Result<(), StoreError> {
    write_activity!(
        tx,
        sqlx::Postgres,
        POSTGRES,
        activity,
        classes,
        "count activity"
    );
    Ok(())
}

macro_rules! inventory_store_impl {
    ($store:ty, $db:ty, $sql:expr, $begin:literal) => {
        impl InventoryStore for $store {
            async fn activity(
                &self,
                agent: Option<&str>,
                now_ms: i64,
            ) -> Result<Vec<ActivitySummary>, StoreError> {
                let [day, week, month] = windows(now_ms);
                let q = match agent {
                    Some(agent) => sqlx::query($sql.activity_of)
                        .bind(day)
                        .bind(week)
                        .bind(month)
                        .bind(agent.to_owned()),
                    None => sqlx::query($sql.activity)
                        .bind(day)
                        .bind(week)
                        .bind(month),
                };
                let rows = q
                    .fetch_all(self.pool())
                    .await
                    .map_err(StoreError::query("read activity"))?;
                rows.iter().map(summary).collect()
            }

            async fn activity_classes(
                &self,
                agent: Option<&str>,
            ) -> Result<Vec<ClassDelta>, StoreError> {
                let q = match agent {
                    Some(agent) => sqlx::query($sql.classes_of).bind(agent.to_owned()),
                    None => sqlx::query($sql.classes),
                };
                let rows = q
                    .fetch_all(self.pool())
                    .await
                    .map_err(StoreError::query("read activity classes"))?;
                rows.iter().map(class_row).collect()
            }

            async fn compact_activity(&self, before_hour: i64) -> Result<u64, StoreError> {
                const OP: &str = "fold old activity";
                let mut tx = crate::sessions::begin(self.pool(), $begin)
                    .await
                    .map_err(StoreError::query(OP))?;
                sqlx::query($sql.fold)
                    .bind(before_hour)
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::query(OP))?;
                let n = sqlx::query($sql.fold_delete)
                    .bind(before_hour)
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::query(OP))?
                    .rows_affected();
                tx.commit().await.map_err(StoreError::query(OP))?;
                Ok(n)
            }

            async fn record_token(&self, t: &TokenRecord) -> Result<(), StoreError> {
                sqlx::query($sql.record_token)
                    .bind(&t.jti)
                    .bind(&t.agent)
                    .bind(&t.instance)
                    .bind(t.issued_at)
                    .bind(t.expires_at)
                    .bind(&t.issued_by)
                    .bind(t.last_used_at)
                    .execute(self.pool())
                    .await
                    .map_err(StoreError::query("record a token"))?;
                Ok(())
            }

            async fn token_uses(&self, uses: &[TokenRecord]) -> Result<(), StoreError> {
                const OP: &str = "record token use";
                if uses.is_empty() {
                    return Ok(());
                }
                let mut tx = crate::sessions::begin(self.pool(), $begin)
                    .await
                    .map_err(StoreError::query(OP))?;
                for chunk in uses.chunks(ROWS_PER_STATEMENT) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO warden_tokens \
                         (jti, agent, instance, issued_at, expires_at, issued_by, last_used_at) ",
                    );
                    q.push_values(chunk, |mut b, t| {
                        b.push_bind(&t.jti)
                            .push_bind(&t.agent)
                            .push_bind(&t.instance)
                            .push_bind(t.issued_at)
                            .push_bind(t.expires_at)
                            .push_bind(&t.issued_by)
                            .push_bind(t.last_used_at);
                    });
                    q.push($sql.token_conflict);
                    q.build()
                        .execute(&mut *tx)
                        .await
                        .map_err(StoreError::query(OP))?;
                }
                tx.commit().await.map_err(StoreError::query(OP))
            }

            async fn tokens(
                &self,
                agent: Option<&str>,
                limit: i64,
            ) -> Result<Vec<TokenRecord>, StoreError> {
                let q = match agent {
                    Some(agent) => sqlx::query($sql.tokens_of)
                        .bind(agent.to_owned())
                        .bind(limit),
                    None => sqlx::query($sql.tokens).bind(limit),
                };
                let rows = q
                    .fetch_all(self.pool())
                    .await
                    .map_err(StoreError::query("read tokens"))?;
                rows.iter().map(token_row).collect()
            }

            async fn forget_tokens(&self, before: i64) -> Result<u64, StoreError> {
                Ok(sqlx::query($sql.forget_tokens)
                    .bind(before)
                    .execute(self.pool())
                    .await
                    .map_err(StoreError::query("forget tokens"))?
                    .rows_affected())
            }

            async fn save_sightings(
                &self,
                sightings: &[SightingRecord],
                expire_before: i64,
                keep: i64,
            ) -> Result<(), StoreError> {
                const OP: &str = "save sightings";
                let mut tx = crate::sessions::begin(self.pool(), $begin)
                    .await
                    .map_err(StoreError::query(OP))?;
                for chunk in sightings.chunks(ROWS_PER_STATEMENT / 2) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(format!(
                        "INSERT INTO warden_sightings ({SIGHTING_COLUMNS}) "
                    ));
                    q.push_values(chunk, |mut b, s| {
                        b.push_bind(&s.id)
                            .push_bind(&s.origin)
                            .push_bind(&s.kind)
                            .push_bind(&s.claimed)
                            .push_bind(&s.source)
                            .push_bind(&s.user_agent)
                            .push_bind(&s.client)
                            .push_bind(&s.detail)
                            .push_bind(&s.tools)
                            .push_bind(s.count)
                            .push_bind(s.first_seen)
                            .push_bind(s.last_seen);
                    });
                    q.push($sql.sighting_conflict);
                    q.build()
                        .execute(&mut *tx)
                        .await
                        .map_err(StoreError::query(OP))?;
                }
                sqlx::query($sql.expire_sightings)
                    .bind(expire_before)
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::query(OP))?;
                sqlx::query($sql.trim_sightings)
                    .bind(keep.max(0))
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::query(OP))?;
                tx.commit().await.map_err(StoreError::query(OP))
            }

            async fn sightings(&self, limit: i64) -> Result<Vec<SightingRecord>, StoreError> {
                let rows = sqlx::query($sql.sightings)
                    .bind(limit)
                    .fetch_all(self.pool())
                    .await
                    .map_err(StoreError::query("read sightings"))?;
                rows.iter().map(sighting_row).collect()
            }

            async fn sighting(&self, id: &str) -> Result<Option<SightingRecord>, StoreError> {
                let row = sqlx::query($sql.sighting)
                    .bind(id.to_owned())
                    .fetch_optional(self.pool())
                    .await
                    .map_err(StoreError::query("read a sighting"))?;
                row.as_ref().map(sighting_row).transpose()
            }

            async fn delete_sighting(&self, id: &str) -> Result<bool, StoreError> {
                Ok(sqlx::query($sql.delete_sighting)
                    .bind(id.to_owned())
                    .execute(self.pool())
                    .await
                    .map_err(StoreError::query("delete a sighting"))?
                    .rows_affected()
                    > 0)
            }
        }
    };
}

inventory_store_impl!(SqliteStore, sqlx::Sqlite, SQLITE, "BEGIN IMMEDIATE");
inventory_store_impl!(PostgresStore, sqlx::Postgres, POSTGRES, "");

impl InventoryStore for AnyStore {
    async fn activity(
        &self,
        agent: Option<&str>,
        now_ms: i64,
    ) -> Result<Vec<ActivitySummary>, StoreError> {
        any_dispatch!(self.activity(agent, now_ms))
    }

    async fn activity_classes(&self, agent: Option<&str>) -> Result<Vec<ClassDelta>, StoreError> {
        any_dispatch!(self.activity_classes(agent))
    }

    async fn compact_activity(&self, before_hour: i64) -> Result<u64, StoreError> {
        any_dispatch!(self.compact_activity(before_hour))
    }

    async fn record_token(&self, token: &TokenRecord) -> Result<(), StoreError> {
        any_dispatch!(self.record_token(token))
    }

    async fn token_uses(&self, uses: &[TokenRecord]) -> Result<(), StoreError> {
        any_dispatch!(self.token_uses(uses))
    }

    async fn tokens(
        &self,
        agent: Option<&str>,
        limit: i64,
    ) -> Result<Vec<TokenRecord>, StoreError> {
        any_dispatch!(self.tokens(agent, limit))
    }

    async fn forget_tokens(&self, before: i64) -> Result<u64, StoreError> {
        any_dispatch!(self.forget_tokens(before))
    }

    async fn save_sightings(
        &self,
        sightings: &[SightingRecord],
        expire_before: i64,
        keep: i64,
    ) -> Result<(), StoreError> {
        any_dispatch!(self.save_sightings(sightings, expire_before, keep))
    }

    async fn sightings(&self, limit: i64) -> Result<Vec<SightingRecord>, StoreError> {
        any_dispatch!(self.sightings(limit))
    }

    async fn sighting(&self, id: &str) -> Result<Option<SightingRecord>, StoreError> {
        any_dispatch!(self.sighting(id))
    }

    async fn delete_sighting(&self, id: &str) -> Result<bool, StoreError> {
        any_dispatch!(self.delete_sighting(id))
    }
}
