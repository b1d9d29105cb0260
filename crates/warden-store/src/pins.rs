//! Tool definitions as Warden pinned them: per tool server and tool, the
//! definition accepted (pinned on first sight, or by an admin) and the one
//! last seen in a `tools/list` answer. The gateway keeps them in memory and
//! compares every tool list against them; a change is a drift, withheld
//! until an admin accepts it. Every write moves the change counter, so every
//! node reloads.

use std::future::Future;

use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::error::StoreError;
use crate::{AnyStore, PostgresStore, SqliteStore};

/// One tool of one server: the definition pinned and the one last seen.
/// Fingerprints are `sha256:<hex>` of the definition's canonical JSON;
/// definitions are canonical JSON text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolPinRecord {
    /// The tool server, as `warden.toml` names it.
    pub server: String,
    /// The tool's name.
    pub tool: String,
    /// The fingerprint of the accepted definition; `None` when no definition
    /// of this tool was ever accepted.
    pub pinned_fingerprint: Option<String>,
    /// The accepted definition.
    pub pinned_definition: Option<String>,
    /// The fingerprint of the definition last seen.
    pub seen_fingerprint: String,
    /// The definition last seen.
    pub seen_definition: String,
    /// Injected-instruction findings in the definition last seen (`kind at
    /// path`, joined by `, `), if any.
    pub finding: Option<String>,
    /// When the tool was first seen (unix ms).
    pub first_seen: i64,
    /// When the definition last seen was first seen (unix ms).
    pub seen_at: i64,
    /// Who accepted the pinned definition; `None` when it was pinned on
    /// first sight.
    pub accepted_by: Option<String>,
    /// When the pinned definition was pinned or accepted (unix ms).
    pub accepted_at: Option<i64>,
}

/// A tool definition seen in a tool list, to record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToolSighting<'a> {
    /// The tool's name.
    pub tool: &'a str,
    /// Its fingerprint.
    pub fingerprint: &'a str,
    /// Its definition.
    pub definition: &'a str,
    /// Injected-instruction findings in it, if any.
    pub finding: Option<&'a str>,
    /// Whether a tool seen for the first time is pinned as it is (trust on
    /// first use). A tool already stored keeps its pinned definition
    /// whatever this says: only [`ToolPinStore::accept_tools`] changes it.
    pub pin: bool,
}

/// A server's first complete tool list, as one set of client features
/// saw it: after it, a tool new to lists seen with those features is a
/// drift. (A server may list more tools to a client that can answer
/// sampling, elicitation or roots requests.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolBaseline {
    /// The tool server.
    pub server: String,
    /// The client features the server was told of, sorted and joined by
    /// `,` (empty for none).
    pub features: String,
    /// When the list was seen (unix ms).
    pub closed_at: i64,
}

/// Where tool pins are kept.
pub trait ToolPinStore: Clone + Send + Sync + 'static {
    /// Every pinned tool, by server and tool.
    fn tool_pins(&self) -> impl Future<Output = Result<Vec<ToolPinRecord>, StoreError>> + Send;

    /// Every baseline, by server and features.
    fn tool_baselines(&self) -> impl Future<Output = Result<Vec<ToolBaseline>, StoreError>> + Send;

    /// Records what one tool list of `server` showed, in one transaction:
    /// each sighting (inserted, or updating the definition last seen), and
    /// with `complete`, the baseline of `server` and `features` (kept from
    /// the first time). Moves the change counter.
    fn record_tool_sightings(
        &self,
        server: &str,
        features: &str,
        sightings: &[ToolSighting<'_>],
        complete: bool,
        at: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Accepts the definitions last seen of `server`'s tools (only those
    /// named in `tools`, if given) whose pinned definition differs: they
    /// become the pinned ones, accepted `by` at `at`. Returns the tools
    /// accepted, as they were before. Moves the change counter when any was.
    fn accept_tools(
        &self,
        server: &str,
        tools: Option<&[String]>,
        by: &str,
        at: i64,
    ) -> impl Future<Output = Result<Vec<ToolPinRecord>, StoreError>> + Send;
}

trait PinRow {
    fn pin(&self) -> Result<ToolPinRecord, StoreError>;
}

macro_rules! pin_row_impl {
    ($row:ty) => {
        impl PinRow for $row {
            fn pin(&self) -> Result<ToolPinRecord, StoreError> {
                const OP: &str = "read tool pins";
                let get = StoreError::query;
                Ok(ToolPinRecord {
                    server: self.try_get("server").map_err(get(OP))?,
                    tool: self.try_get("tool").map_err(get(OP))?,
                    pinned_fingerprint: self.try_get("pinned_fingerprint").map_err(get(OP))?,
                    pinned_definition: self.try_get("pinned_definition").map_err(get(OP))?,
                    seen_fingerprint: self.try_get("seen_fingerprint").map_err(get(OP))?,
                    seen_definition: self.try_get("seen_definition").map_err(get(OP))?,
                    finding: self.try_get("finding").map_err(get(OP))?,
                    first_seen: self.try_get("first_seen").map_err(get(OP))?,
                    seen_at: self.try_get("seen_at").map_err(get(OP))?,
                    accepted_by: self.try_get("accepted_by").map_err(get(OP))?,
                    accepted_at: self.try_get("accepted_at").map_err(get(OP))?,
                })
            }
        }
    };
}
pin_row_impl!(sqlx::sqlite::SqliteRow);
pin_row_impl!(sqlx::postgres::PgRow);

/// The statements, with `?` placeholders (SQLite) or `$n` (PostgreSQL).
struct Sql {
    all: &'static str,
    baselines: &'static str,
    upsert: &'static str,
    baseline: &'static str,
    of_server: &'static str,
    accept: &'static str,
}

/// The definition last seen replaces the one stored; `seen_at` moves only
/// when the fingerprint does.
const SQLITE: Sql = Sql {
    all: "SELECT * FROM warden_tool_pins ORDER BY server, tool",
    baselines: "SELECT * FROM warden_tool_baselines ORDER BY server, features",
    upsert: "INSERT INTO warden_tool_pins (server, tool, pinned_fingerprint, pinned_definition, \
        seen_fingerprint, seen_definition, finding, first_seen, seen_at, accepted_by, \
        accepted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?) \
        ON CONFLICT (server, tool) DO UPDATE SET \
        seen_at = CASE WHEN warden_tool_pins.seen_fingerprint = excluded.seen_fingerprint \
        THEN warden_tool_pins.seen_at ELSE excluded.seen_at END, \
        seen_fingerprint = excluded.seen_fingerprint, seen_definition = excluded.seen_definition, \
        finding = excluded.finding",
    baseline: "INSERT INTO warden_tool_baselines (server, features, closed_at) VALUES (?, ?, ?) \
        ON CONFLICT (server, features) DO NOTHING",
    of_server: "SELECT * FROM warden_tool_pins WHERE server = ? ORDER BY tool",
    accept: "UPDATE warden_tool_pins SET pinned_fingerprint = seen_fingerprint, \
        pinned_definition = seen_definition, accepted_by = ?, accepted_at = ? \
        WHERE server = ? AND tool = ? AND seen_fingerprint = ?",
};

const POSTGRES: Sql = Sql {
    all: "SELECT * FROM warden_tool_pins ORDER BY server, tool",
    baselines: "SELECT * FROM warden_tool_baselines ORDER BY server, features",
    upsert: "INSERT INTO warden_tool_pins (server, tool, pinned_fingerprint, pinned_definition, \
        seen_fingerprint, seen_definition, finding, first_seen, seen_at, accepted_by, \
        accepted_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, $10) \
        ON CONFLICT (server, tool) DO UPDATE SET \
        seen_at = CASE WHEN warden_tool_pins.seen_fingerprint = excluded.seen_fingerprint \
        THEN warden_tool_pins.seen_at ELSE excluded.seen_at END, \
        seen_fingerprint = excluded.seen_fingerprint, seen_definition = excluded.seen_definition, \
        finding = excluded.finding",
    baseline: "INSERT INTO warden_tool_baselines (server, features, closed_at) \
        VALUES ($1, $2, $3) ON CONFLICT (server, features) DO NOTHING",
    of_server: "SELECT * FROM warden_tool_pins WHERE server = $1 ORDER BY tool FOR UPDATE",
    accept: "UPDATE warden_tool_pins SET pinned_fingerprint = seen_fingerprint, \
        pinned_definition = seen_definition, accepted_by = $1, accepted_at = $2 \
        WHERE server = $3 AND tool = $4 AND seen_fingerprint = $5",
};

macro_rules! pin_store_impl {
    ($store:ty, $sql:expr, $begin:literal, $bump:path) => {
        impl ToolPinStore for $store {
            async fn tool_pins(&self) -> Result<Vec<ToolPinRecord>, StoreError> {
                let rows = sqlx::query($sql.all)
                    .fetch_all(self.pool())
                    .await
                    .map_err(StoreError::query("read tool pins"))?;
                rows.iter().map(PinRow::pin).collect()
            }

            async fn tool_baselines(&self) -> Result<Vec<ToolBaseline>, StoreError> {
                const OP: &str = "read tool baselines";
                let rows = sqlx::query($sql.baselines)
                    .fetch_all(self.pool())
                    .await
                    .map_err(StoreError::query(OP))?;
                rows.iter()
                    .map(|r| {
                        Ok(ToolBaseline {
                            server: r.try_get("server").map_err(StoreError::query(OP))?,
                            features: r.try_get("features").map_err(StoreError::query(OP))?,
                            closed_at: r.try_get("closed_at").map_err(StoreError::query(OP))?,
                        })
                    })
                    .collect()
            }

            async fn record_tool_sightings(
                &self,
                server: &str,
                features: &str,
                sightings: &[ToolSighting<'_>],
                complete: bool,
                at: i64,
            ) -> Result<(), StoreError> {
                const OP: &str = "record tool sightings";
                let mut tx = begin(self.pool(), $begin)
                    .await
                    .map_err(StoreError::query(OP))?;
                for s in sightings {
                    let pinned = s.pin.then_some(s.fingerprint);
                    let definition = s.pin.then_some(s.definition);
                    sqlx::query($sql.upsert)
                        .bind(server)
                        .bind(s.tool)
                        .bind(pinned)
                        .bind(definition)
                        .bind(s.fingerprint)
                        .bind(s.definition)
                        .bind(s.finding)
                        .bind(at)
                        .bind(at)
                        .bind(s.pin.then_some(at))
                        .execute(&mut *tx)
                        .await
                        .map_err(StoreError::query(OP))?;
                }
                if complete {
                    sqlx::query($sql.baseline)
                        .bind(server)
                        .bind(features)
                        .bind(at)
                        .execute(&mut *tx)
                        .await
                        .map_err(StoreError::query(OP))?;
                }
                $bump(&mut tx, OP).await?;
                tx.commit().await.map_err(StoreError::query(OP))
            }

            async fn accept_tools(
                &self,
                server: &str,
                tools: Option<&[String]>,
                by: &str,
                at: i64,
            ) -> Result<Vec<ToolPinRecord>, StoreError> {
                const OP: &str = "accept tools";
                let mut tx = begin(self.pool(), $begin)
                    .await
                    .map_err(StoreError::query(OP))?;
                let rows = sqlx::query($sql.of_server)
                    .bind(server)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(StoreError::query(OP))?;
                let mut accepted = Vec::new();
                for row in &rows {
                    let pin = PinRow::pin(row)?;
                    let named = tools.is_none_or(|t| t.contains(&pin.tool));
                    if !named
                        || pin.pinned_fingerprint.as_deref() == Some(pin.seen_fingerprint.as_str())
                    {
                        continue;
                    }
                    sqlx::query($sql.accept)
                        .bind(by)
                        .bind(at)
                        .bind(server)
                        .bind(&pin.tool)
                        .bind(&pin.seen_fingerprint)
                        .execute(&mut *tx)
                        .await
                        .map_err(StoreError::query(OP))?;
                    accepted.push(pin);
                }
                if accepted.is_empty() {
                    return Ok(accepted);
                }
                $bump(&mut tx, OP).await?;
                tx.commit().await.map_err(StoreError::query(OP))?;
                Ok(accepted)
            }
        }
    };
}

async fn begin<DB: sqlx::Database>(
    pool: &sqlx::Pool<DB>,
    statement: &'static str,
) -> Result<sqlx::Transaction<'static, DB>, sqlx::Error> {
    if statement.is_empty() {
        pool.begin().await
    } else {
        pool.begin_with(statement).await
    }
}

pin_store_impl!(
    SqliteStore,
    SQLITE,
    "BEGIN IMMEDIATE",
    crate::sqlite::bump_change
);
pin_store_impl!(PostgresStore, POSTGRES, "", crate::postgres::bump_change);

impl ToolPinStore for AnyStore {
    async fn tool_pins(&self) -> Result<Vec<ToolPinRecord>, StoreError> {
        any_dispatch!(self.tool_pins())
    }

    async fn tool_baselines(&self) -> Result<Vec<ToolBaseline>, StoreError> {
        any_dispatch!(self.tool_baselines())
    }

    async fn record_tool_sightings(
        &self,
        server: &str,
        features: &str,
        sightings: &[ToolSighting<'_>],
        complete: bool,
        at: i64,
    ) -> Result<(), StoreError> {
        any_dispatch!(self.record_tool_sightings(server, features, sightings, complete, at))
    }

    async fn accept_tools(
        &self,
        server: &str,
        tools: Option<&[String]>,
        by: &str,
        at: i64,
    ) -> Result<Vec<ToolPinRecord>, StoreError> {
        any_dispatch!(self.accept_tools(server, tools, by, at))
    }
}
