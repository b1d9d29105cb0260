//! The one mapping from errors to the wire: HTTP status plus
//! `{"error": {"code": "…", "message": "…"}}`. Internal details stay in the log.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answered to an HTTP client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// A stable, machine-readable code.
    pub code: &'static str,
    /// A message for a person.
    pub message: String,
}

impl ApiError {
    /// An error with `status`, `code` and `message`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400: the request is malformed.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 401: the caller's identity is missing or not valid.
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }

    /// 403: the caller is known but may not do this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404: no such thing.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 503: a dependency is down; the caller may retry.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    /// 500 for a store failure: logged in full, answered without detail.
    pub fn store(e: &warden_store::StoreError) -> Self {
        match e {
            warden_store::StoreError::NotFound { what, key } => {
                Self::not_found(format!("no {what} `{key}`"))
            }
            warden_store::StoreError::Conflict { message } => {
                Self::new(StatusCode::CONFLICT, "conflict", message.clone())
            }
            other => {
                tracing::error!(error = %other, "store operation failed");
                Self::unavailable("the store is unavailable; nothing was changed")
            }
        }
    }

    /// The error for a body that could not be read (too large, or cut off).
    pub fn body(rejection: &axum::extract::rejection::BytesRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "the request body is over the size limit",
            )
        } else {
            Self::bad_request(
                "bad_body",
                format!("the request body could not be read: {rejection}"),
            )
        }
    }

    /// The error for a JSON body that does not parse into the expected shape.
    pub fn json(e: &serde_json::Error) -> Self {
        Self::bad_request(
            "bad_json",
            format!(
                "invalid JSON body at line {} column {}: {e}",
                e.line(),
                e.column()
            ),
        )
    }
}

/// Reads a JSON request body into `T`: 413 over the size limit, 400 naming
/// the line and column of malformed JSON or an unexpected field.
pub(crate) fn json_body<T: serde::de::DeserializeOwned>(
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<T, ApiError> {
    let body = body.map_err(|e| ApiError::body(&e))?;
    let parsed = serde_json::from_slice(&body).map_err(|e| ApiError::json(&e))?;
    // A repeated key or an inexact number would be judged as another value
    // than the one a tool may act on.
    if let Some(why) = warden_mcp::strict::ambiguity(&body) {
        return Err(ApiError::bad_request("bad_request", why));
    }
    Ok(parsed)
}

/// As [`json_body`], in one pass, for a body type whose free-form values are
/// all [`warden_mcp::strict::StrictValue`]s (they refuse a repeated key as
/// they are parsed; serde refuses a repeated field): only the exact-number
/// check reads the text a second time, and that is a byte scan.
pub(crate) fn strict_json_body<T: serde::de::DeserializeOwned>(
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<T, ApiError> {
    let body = body.map_err(|e| ApiError::body(&e))?;
    let parsed = serde_json::from_slice(&body).map_err(|e| {
        if e.is_data() && e.to_string().contains(warden_mcp::strict::REPEATED_KEY) {
            ApiError::bad_request("bad_request", e.to_string())
        } else {
            ApiError::json(&e)
        }
    })?;
    if let Some(why) = warden_mcp::strict::inexact(&body) {
        return Err(ApiError::bad_request("bad_request", why));
    }
    Ok(parsed)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(json!({"error": {"code": self.code, "message": self.message}}));
        let mut response = (self.status, body).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"warden\""),
            );
        }
        response
    }
}

/// Why the gateway could not start or keep running.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// A listener could not be bound.
    #[error("cannot listen on `{address}`: {source}")]
    Bind {
        /// The address.
        address: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The policy inputs are invalid.
    #[error("policy set rejected:\n{0}")]
    Policy(#[from] warden_policy::PolicyError),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] warden_store::StoreError),
    /// An identity key could not be loaded or created.
    #[error("identity: {0}")]
    Identity(#[from] warden_identity::IdentityError),
    /// A file could not be written.
    #[error("cannot write `{path}`: {source}")]
    Write {
        /// The file.
        path: std::path::PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A server failed while running.
    #[error("server: {0}")]
    Serve(std::io::Error),
    /// A part of the gateway could not be set up.
    #[error("setup: {0}")]
    Setup(String),
    /// A compliance report could not be built (no checkpoint, an unknown
    /// agent, an empty period, a record that does not decode).
    #[error("report: {0}")]
    Report(String),
}
