//! OpenTelemetry traces: one span per governed action, exported over OTLP
//! (HTTP, protobuf) from a background task.
//!
//! [`TraceContext`] reads and writes the W3C `traceparent` header;
//! [`Tracer`] takes finished [`Span`]s without ever waiting — a bounded
//! queue, a span that does not fit is dropped and counted — and a task it
//! owns sends them in batches to `{endpoint}/v1/traces`.

mod context;
mod export;
mod otlp;

pub use context::TraceContext;
pub use export::{Tracer, TracerConfig};

/// What went wrong with trace context or the exporter's settings.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// A `traceparent` value that is not W3C Trace Context.
    #[error("invalid traceparent `{value}`: {why}")]
    Traceparent {
        /// The value (its first 64 characters).
        value: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The OTLP endpoint or a header cannot be used.
    #[error("cannot export traces to `{endpoint}`: {why}")]
    Exporter {
        /// The configured endpoint.
        endpoint: String,
        /// Why.
        why: String,
    },
}

/// A span's kind (OTLP `Span.SpanKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKind {
    /// An operation inside Warden.
    Internal,
    /// Warden serving a request from a client.
    Server,
}

/// An attribute's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttributeValue {
    /// A string.
    String(String),
    /// An integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// A list of strings.
    Strings(Vec<String>),
}

/// A finished span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// Its trace and its own span id.
    pub context: TraceContext,
    /// The span id of its parent, when the client sent one.
    pub parent_span_id: Option<[u8; 8]>,
    /// Its name (`execute_tool read_invoice`).
    pub name: String,
    /// Its kind.
    pub kind: SpanKind,
    /// When it started, in nanoseconds since the Unix epoch.
    pub start_unix_nanos: u64,
    /// When it ended, in nanoseconds since the Unix epoch.
    pub end_unix_nanos: u64,
    /// Its attributes, by semantic-convention key.
    pub attributes: Vec<(&'static str, AttributeValue)>,
}

/// Now, in nanoseconds since the Unix epoch.
pub fn unix_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}
