//! The schema, as an ordered list of versioned migrations.
//!
//! Each backend's `migrate` creates `warden_migrations`, takes a lock (SQLite:
//! `BEGIN IMMEDIATE`; PostgreSQL: a transaction-scoped advisory lock), reads the
//! highest applied version, refuses a database newer than [`MIGRATIONS`] knows,
//! and applies the missing migrations in that one transaction. Migrations are
//! append-only: never edit one that has shipped.

use crate::error::StoreError;

/// One schema change, written for both backends.
#[derive(Debug)]
pub(crate) struct Migration {
    /// Its version: 1, 2, 3… in order, without gaps.
    pub(crate) version: i64,
    /// A short name, recorded in `warden_migrations`.
    pub(crate) name: &'static str,
    /// The SQLite statements.
    pub(crate) sqlite: &'static str,
    /// The PostgreSQL statements.
    pub(crate) postgres: &'static str,
}

/// Creates the table that records applied migrations.
pub(crate) const CREATE_MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS warden_migrations (\
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";

/// Reads the highest applied version (0 for a fresh database).
pub(crate) const CURRENT_VERSION: &str =
    "SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) AS version FROM warden_migrations";

/// Every migration, oldest first.
pub(crate) const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "initial",
    sqlite: "
CREATE TABLE warden_changes (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL);
INSERT INTO warden_changes (id, seq) VALUES (1, 0);
CREATE TABLE warden_agents (
    name TEXT PRIMARY KEY, manifest TEXT NOT NULL, source TEXT NOT NULL,
    registered_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE warden_revocations (
    id INTEGER PRIMARY KEY AUTOINCREMENT, agent TEXT NOT NULL, instance TEXT,
    reason TEXT NOT NULL, revoked_by TEXT NOT NULL, revoked_at INTEGER NOT NULL);
CREATE TABLE warden_admin_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, role TEXT NOT NULL,
    digest TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL);
CREATE TABLE warden_approvals (
    id TEXT PRIMARY KEY, agent TEXT NOT NULL, instance TEXT NOT NULL, session TEXT NOT NULL,
    server TEXT NOT NULL, tool TEXT NOT NULL, operation TEXT NOT NULL, args TEXT NOT NULL,
    args_digest TEXT NOT NULL, reasons TEXT NOT NULL, policies TEXT NOT NULL,
    policy_digest TEXT NOT NULL, status TEXT NOT NULL, created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL, decided_by TEXT, decided_at INTEGER, note TEXT,
    consumed BOOLEAN NOT NULL DEFAULT FALSE, consumed_at INTEGER);
CREATE INDEX warden_approvals_by_status ON warden_approvals (status, created_at);
CREATE INDEX warden_approvals_by_action ON warden_approvals (agent, session, server, tool, args_digest);
",
    postgres: "
CREATE TABLE warden_changes (id INTEGER PRIMARY KEY CHECK (id = 1), seq BIGINT NOT NULL);
INSERT INTO warden_changes (id, seq) VALUES (1, 0);
CREATE TABLE warden_agents (
    name TEXT PRIMARY KEY, manifest TEXT NOT NULL, source TEXT NOT NULL,
    registered_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
CREATE TABLE warden_revocations (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, agent TEXT NOT NULL, instance TEXT,
    reason TEXT NOT NULL, revoked_by TEXT NOT NULL, revoked_at BIGINT NOT NULL);
CREATE TABLE warden_admin_tokens (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL,
    digest TEXT NOT NULL UNIQUE, created_at BIGINT NOT NULL);
CREATE TABLE warden_approvals (
    id TEXT PRIMARY KEY, agent TEXT NOT NULL, instance TEXT NOT NULL, session TEXT NOT NULL,
    server TEXT NOT NULL, tool TEXT NOT NULL, operation TEXT NOT NULL, args TEXT NOT NULL,
    args_digest TEXT NOT NULL, reasons TEXT NOT NULL, policies TEXT NOT NULL,
    policy_digest TEXT NOT NULL, status TEXT NOT NULL, created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL, decided_by TEXT, decided_at BIGINT, note TEXT,
    consumed BOOLEAN NOT NULL DEFAULT FALSE, consumed_at BIGINT);
CREATE INDEX warden_approvals_by_status ON warden_approvals (status, created_at);
CREATE INDEX warden_approvals_by_action ON warden_approvals (agent, session, server, tool, args_digest);
",
}, Migration {
    version: 2,
    name: "audit log",
    sqlite: "
CREATE TABLE warden_audit_records (
    idx INTEGER PRIMARY KEY, record BLOB NOT NULL, leaf BLOB NOT NULL,
    payload BLOB, payload_key BLOB, created_at INTEGER NOT NULL);
CREATE TABLE warden_audit_nodes (
    level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY (level, idx)) WITHOUT ROWID;
CREATE TABLE warden_audit_checkpoints (
    size INTEGER PRIMARY KEY, note TEXT NOT NULL, created_at INTEGER NOT NULL);
",
    postgres: "
CREATE TABLE warden_audit_records (
    idx BIGINT PRIMARY KEY, record BYTEA NOT NULL, leaf BYTEA NOT NULL,
    payload BYTEA, payload_key BYTEA, created_at BIGINT NOT NULL);
CREATE TABLE warden_audit_nodes (
    level SMALLINT NOT NULL, idx BIGINT NOT NULL, hash BYTEA NOT NULL, PRIMARY KEY (level, idx));
CREATE TABLE warden_audit_checkpoints (
    size BIGINT PRIMARY KEY, note TEXT NOT NULL, created_at BIGINT NOT NULL);
",
}, Migration {
    version: 3,
    name: "session state",
    sqlite: "
CREATE TABLE warden_sessions (
    agent TEXT NOT NULL, instance TEXT NOT NULL, session TEXT NOT NULL,
    state TEXT NOT NULL, updated_at INTEGER NOT NULL,
    PRIMARY KEY (agent, instance, session));
CREATE INDEX warden_sessions_by_time ON warden_sessions (updated_at);
CREATE TABLE warden_hour_budgets (
    agent TEXT NOT NULL, hour INTEGER NOT NULL, used INTEGER NOT NULL,
    PRIMARY KEY (agent, hour));
",
    postgres: "
CREATE TABLE warden_sessions (
    agent TEXT NOT NULL, instance TEXT NOT NULL, session TEXT NOT NULL,
    state TEXT NOT NULL, updated_at BIGINT NOT NULL,
    PRIMARY KEY (agent, instance, session));
CREATE INDEX warden_sessions_by_time ON warden_sessions (updated_at);
CREATE TABLE warden_hour_budgets (
    agent TEXT NOT NULL, hour BIGINT NOT NULL, used BIGINT NOT NULL,
    PRIMARY KEY (agent, hour));
",
}, Migration {
    version: 4,
    name: "inventory",
    sqlite: "
CREATE TABLE warden_activity (
    agent TEXT NOT NULL, hour INTEGER NOT NULL, server TEXT NOT NULL, tool TEXT NOT NULL,
    outcome TEXT NOT NULL, count INTEGER NOT NULL, first_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL,
    PRIMARY KEY (agent, hour, server, tool, outcome));
CREATE TABLE warden_activity_classes (
    agent TEXT NOT NULL, class TEXT NOT NULL, count INTEGER NOT NULL,
    first_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL, PRIMARY KEY (agent, class));
CREATE TABLE warden_tokens (
    jti TEXT PRIMARY KEY, agent TEXT NOT NULL, instance TEXT NOT NULL, issued_at INTEGER,
    expires_at INTEGER NOT NULL, issued_by TEXT, last_used_at INTEGER);
CREATE INDEX warden_tokens_by_agent ON warden_tokens (agent, instance);
CREATE TABLE warden_sightings (
    id TEXT PRIMARY KEY, origin TEXT NOT NULL, kind TEXT NOT NULL, claimed TEXT NOT NULL,
    source TEXT NOT NULL, user_agent TEXT NOT NULL, client TEXT NOT NULL, detail TEXT NOT NULL,
    tools TEXT NOT NULL, count INTEGER NOT NULL, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL);
CREATE INDEX warden_sightings_by_time ON warden_sightings (last_seen);
",
    postgres: "
CREATE TABLE warden_activity (
    agent TEXT NOT NULL, hour BIGINT NOT NULL, server TEXT NOT NULL, tool TEXT NOT NULL,
    outcome TEXT NOT NULL, count BIGINT NOT NULL, first_ms BIGINT NOT NULL, last_ms BIGINT NOT NULL,
    PRIMARY KEY (agent, hour, server, tool, outcome));
CREATE TABLE warden_activity_classes (
    agent TEXT NOT NULL, class TEXT NOT NULL, count BIGINT NOT NULL,
    first_ms BIGINT NOT NULL, last_ms BIGINT NOT NULL, PRIMARY KEY (agent, class));
CREATE TABLE warden_tokens (
    jti TEXT PRIMARY KEY, agent TEXT NOT NULL, instance TEXT NOT NULL, issued_at BIGINT,
    expires_at BIGINT NOT NULL, issued_by TEXT, last_used_at BIGINT);
CREATE INDEX warden_tokens_by_agent ON warden_tokens (agent, instance);
CREATE TABLE warden_sightings (
    id TEXT PRIMARY KEY, origin TEXT NOT NULL, kind TEXT NOT NULL, claimed TEXT NOT NULL,
    source TEXT NOT NULL, user_agent TEXT NOT NULL, client TEXT NOT NULL, detail TEXT NOT NULL,
    tools TEXT NOT NULL, count BIGINT NOT NULL, first_seen BIGINT NOT NULL, last_seen BIGINT NOT NULL);
CREATE INDEX warden_sightings_by_time ON warden_sightings (last_seen);
",
}, Migration {
    version: 5,
    name: "tool pins",
    sqlite: "
CREATE TABLE warden_tool_pins (
    server TEXT NOT NULL, tool TEXT NOT NULL,
    pinned_fingerprint TEXT, pinned_definition TEXT,
    seen_fingerprint TEXT NOT NULL, seen_definition TEXT NOT NULL, finding TEXT,
    first_seen INTEGER NOT NULL, seen_at INTEGER NOT NULL, accepted_by TEXT, accepted_at INTEGER,
    PRIMARY KEY (server, tool));
CREATE TABLE warden_tool_baselines (
    server TEXT NOT NULL, features TEXT NOT NULL, closed_at INTEGER NOT NULL,
    PRIMARY KEY (server, features));
",
    postgres: "
CREATE TABLE warden_tool_pins (
    server TEXT NOT NULL, tool TEXT NOT NULL,
    pinned_fingerprint TEXT, pinned_definition TEXT,
    seen_fingerprint TEXT NOT NULL, seen_definition TEXT NOT NULL, finding TEXT,
    first_seen BIGINT NOT NULL, seen_at BIGINT NOT NULL, accepted_by TEXT, accepted_at BIGINT,
    PRIMARY KEY (server, tool));
CREATE TABLE warden_tool_baselines (
    server TEXT NOT NULL, features TEXT NOT NULL, closed_at BIGINT NOT NULL,
    PRIMARY KEY (server, features));
",
}, Migration {
    version: 6,
    name: "suspensions",
    sqlite: "
CREATE TABLE warden_suspensions (
    agent TEXT PRIMARY KEY, reason TEXT NOT NULL, suspended_by TEXT NOT NULL,
    suspended_at INTEGER NOT NULL);
",
    postgres: "
CREATE TABLE warden_suspensions (
    agent TEXT PRIMARY KEY, reason TEXT NOT NULL, suspended_by TEXT NOT NULL,
    suspended_at BIGINT NOT NULL);
",
}, Migration {
    version: 7,
    name: "incidents",
    sqlite: "
CREATE TABLE warden_incidents (
    id TEXT PRIMARY KEY, opened_at INTEGER NOT NULL, status TEXT NOT NULL, body TEXT NOT NULL);
CREATE INDEX warden_incidents_by_time ON warden_incidents (opened_at);
",
    postgres: "
CREATE TABLE warden_incidents (
    id TEXT PRIMARY KEY, opened_at BIGINT NOT NULL, status TEXT NOT NULL, body TEXT NOT NULL);
CREATE INDEX warden_incidents_by_time ON warden_incidents (opened_at);
",
}, Migration {
    version: 8,
    name: "payload wrapping keys",
    sqlite: "
CREATE TABLE warden_audit_wrap_keys (
    id BLOB PRIMARY KEY, created_at INTEGER NOT NULL, destroyed_at INTEGER);
",
    postgres: "
CREATE TABLE warden_audit_wrap_keys (
    id BYTEA PRIMARY KEY, created_at BIGINT NOT NULL, destroyed_at BIGINT);
",
}, Migration {
    version: 9,
    name: "signing keys",
    sqlite: "
CREATE TABLE warden_keys (
    kind TEXT NOT NULL, kid TEXT NOT NULL, sealed BLOB NOT NULL,
    created_at INTEGER NOT NULL, retired_at INTEGER, expires_at INTEGER,
    PRIMARY KEY (kind, kid));
",
    postgres: "
CREATE TABLE warden_keys (
    kind TEXT NOT NULL, kid TEXT NOT NULL, sealed BYTEA NOT NULL,
    created_at BIGINT NOT NULL, retired_at BIGINT, expires_at BIGINT,
    PRIMARY KEY (kind, kid));
",
}];

/// The newest schema version this build knows.
pub(crate) fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// The current time in unix milliseconds, for `warden_migrations.applied_at`.
pub(crate) fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}

/// The migrations a database at `current` still needs, or [`StoreError::NewerSchema`]
/// if it is ahead of this build.
pub(crate) fn pending(current: i64) -> Result<&'static [Migration], StoreError> {
    let known = latest_version();
    if current > known {
        return Err(StoreError::NewerSchema {
            found: current,
            known,
        });
    }
    let applied = MIGRATIONS
        .iter()
        .take_while(|m| m.version <= current)
        .count();
    Ok(MIGRATIONS.get(applied..).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_dense_and_ordered() {
        for (index, migration) in MIGRATIONS.iter().enumerate() {
            assert_eq!(migration.version, index as i64 + 1, "{}", migration.name);
        }
    }

    #[test]
    fn pending_skips_applied_and_refuses_newer() {
        assert_eq!(pending(0).unwrap().len(), MIGRATIONS.len());
        assert!(pending(latest_version()).unwrap().is_empty());
        let err = pending(latest_version() + 1).unwrap_err();
        assert!(matches!(err, StoreError::NewerSchema { .. }));
        assert!(err.to_string().contains("newer than this build"), "{err}");
    }
}
