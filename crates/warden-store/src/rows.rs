//! Reading rows into records, shared by both backends.
//!
//! Both schemas store the same columns with the same meaning (text, 64-bit
//! integers, booleans, JSON as text), so decoding is written once over
//! [`SqlRow`] and every value from the database is validated on the way out.

use std::str::FromStr;

use serde::de::DeserializeOwned;
use sqlx::Row;
use warden_types::{AgentName, InstanceId, Role};

use crate::error::StoreError;
use crate::records::{AdminTokenRecord, AgentRecord, ApprovalRecord, RevocationRecord};

/// The typed column reads the records need, implemented for each backend's row.
pub(crate) trait SqlRow: Row {
    fn text(&self, column: &str) -> Result<String, sqlx::Error>;
    fn optional_text(&self, column: &str) -> Result<Option<String>, sqlx::Error>;
    fn int(&self, column: &str) -> Result<i64, sqlx::Error>;
    fn optional_int(&self, column: &str) -> Result<Option<i64>, sqlx::Error>;
    fn flag(&self, column: &str) -> Result<bool, sqlx::Error>;
}

macro_rules! impl_sql_row {
    ($row:ty) => {
        impl SqlRow for $row {
            fn text(&self, column: &str) -> Result<String, sqlx::Error> {
                self.try_get(column)
            }
            fn optional_text(&self, column: &str) -> Result<Option<String>, sqlx::Error> {
                self.try_get(column)
            }
            fn int(&self, column: &str) -> Result<i64, sqlx::Error> {
                self.try_get(column)
            }
            fn optional_int(&self, column: &str) -> Result<Option<i64>, sqlx::Error> {
                self.try_get(column)
            }
            fn flag(&self, column: &str) -> Result<bool, sqlx::Error> {
                self.try_get(column)
            }
        }
    };
}

impl_sql_row!(sqlx::sqlite::SqliteRow);
impl_sql_row!(sqlx::postgres::PgRow);

/// Wraps a column read error as a query error of `operation`.
fn read(operation: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |source| StoreError::Query { operation, source }
}

fn parse<T: FromStr>(what: &'static str, value: &str) -> Result<T, StoreError>
where
    T::Err: std::fmt::Display,
{
    value.parse().map_err(|err: T::Err| StoreError::Corrupt {
        what,
        detail: format!("`{value}`: {err}"),
    })
}

fn json<T: DeserializeOwned>(what: &'static str, value: &str) -> Result<T, StoreError> {
    serde_json::from_str(value).map_err(|err| StoreError::Corrupt {
        what,
        detail: err.to_string(),
    })
}

pub(crate) fn agent<R: SqlRow>(row: &R, op: &'static str) -> Result<AgentRecord, StoreError> {
    let e = read(op);
    Ok(AgentRecord {
        name: parse::<AgentName>("agent name", &row.text("name").map_err(&e)?)?,
        manifest: row.text("manifest").map_err(&e)?,
        source: row.text("source").map_err(&e)?,
        registered_at: row.int("registered_at").map_err(&e)?,
        updated_at: row.int("updated_at").map_err(&e)?,
    })
}

pub(crate) fn revocation<R: SqlRow>(
    row: &R,
    op: &'static str,
) -> Result<RevocationRecord, StoreError> {
    let e = read(op);
    let instance = match row.optional_text("instance").map_err(&e)? {
        Some(text) => Some(parse::<InstanceId>("revocation instance", &text)?),
        None => None,
    };
    Ok(RevocationRecord {
        id: row.int("id").map_err(&e)?,
        agent: parse::<AgentName>("revocation agent", &row.text("agent").map_err(&e)?)?,
        instance,
        reason: row.text("reason").map_err(&e)?,
        revoked_by: row.text("revoked_by").map_err(&e)?,
        revoked_at: row.int("revoked_at").map_err(&e)?,
    })
}

pub(crate) fn admin_token<R: SqlRow>(
    row: &R,
    op: &'static str,
) -> Result<AdminTokenRecord, StoreError> {
    let e = read(op);
    Ok(AdminTokenRecord {
        id: row.int("id").map_err(&e)?,
        name: row.text("name").map_err(&e)?,
        role: parse::<Role>("admin token role", &row.text("role").map_err(&e)?)?,
        digest: row.text("digest").map_err(&e)?,
        created_at: row.int("created_at").map_err(&e)?,
    })
}

pub(crate) fn approval<R: SqlRow>(row: &R, op: &'static str) -> Result<ApprovalRecord, StoreError> {
    let e = read(op);
    Ok(ApprovalRecord {
        id: row.text("id").map_err(&e)?,
        agent: parse::<AgentName>("approval agent", &row.text("agent").map_err(&e)?)?,
        instance: parse::<InstanceId>("approval instance", &row.text("instance").map_err(&e)?)?,
        session: row.text("session").map_err(&e)?,
        server: row.text("server").map_err(&e)?,
        tool: row.text("tool").map_err(&e)?,
        operation: row.text("operation").map_err(&e)?,
        args: json("approval args", &row.text("args").map_err(&e)?)?,
        args_digest: row.text("args_digest").map_err(&e)?,
        reasons: json("approval reasons", &row.text("reasons").map_err(&e)?)?,
        policies: json("approval policies", &row.text("policies").map_err(&e)?)?,
        policy_digest: row.text("policy_digest").map_err(&e)?,
        status: parse("approval status", &row.text("status").map_err(&e)?)?,
        created_at: row.int("created_at").map_err(&e)?,
        expires_at: row.int("expires_at").map_err(&e)?,
        decided_by: row.optional_text("decided_by").map_err(&e)?,
        decided_at: row.optional_int("decided_at").map_err(&e)?,
        note: row.optional_text("note").map_err(&e)?,
        consumed: row.flag("consumed").map_err(&e)?,
    })
}

/// The JSON text of an approval's `args`, `reasons` and `policies`, for binding.
pub(crate) struct ApprovalJson {
    pub(crate) args: String,
    pub(crate) reasons: String,
    pub(crate) policies: String,
}

impl ApprovalJson {
    pub(crate) fn of(record: &ApprovalRecord) -> Result<Self, StoreError> {
        let encode = |what: &'static str, result: Result<String, serde_json::Error>| {
            result.map_err(|err| StoreError::Corrupt {
                what,
                detail: err.to_string(),
            })
        };
        Ok(Self {
            args: encode("approval args", serde_json::to_string(&record.args))?,
            reasons: encode("approval reasons", serde_json::to_string(&record.reasons))?,
            policies: encode("approval policies", serde_json::to_string(&record.policies))?,
        })
    }
}

/// The message of the conflict raised when an approval cannot be decided.
pub(crate) fn undecidable(id: &str, status: crate::ApprovalStatus) -> StoreError {
    use crate::ApprovalStatus::*;
    let state = match status {
        Pending => "is still pending",
        Approved => "was already approved",
        Rejected => "was already rejected",
        Expired => "has expired",
    };
    StoreError::Conflict {
        message: format!("approval `{id}` {state} ({status}) and cannot be decided"),
    }
}
