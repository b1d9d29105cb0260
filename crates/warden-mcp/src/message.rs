//! JSON-RPC 2.0 messages as MCP uses them: parsed once, kept as JSON so that
//! what Warden does not change passes through as the peer sent it.

use serde_json::{Map, Value};

/// JSON-RPC error codes Warden answers with.
pub mod codes {
    /// Invalid JSON.
    pub const PARSE_ERROR: i64 = -32700;
    /// Not a valid JSON-RPC request (a batch, a missing `method`, a reused id).
    pub const INVALID_REQUEST: i64 = -32600;
    /// The method does not exist.
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// Invalid method parameters.
    pub const INVALID_PARAMS: i64 = -32602;
    /// Internal error.
    pub const INTERNAL_ERROR: i64 = -32603;
    /// Warden's policy denied the request (the error's `data` holds the
    /// decision: id, outcome, reasons).
    pub const DENIED: i64 = -32001;
    /// The tool server failed: it exited, hung past the timeout, or answered
    /// with something that is not JSON-RPC.
    pub const UPSTREAM: i64 = -32002;
    /// Warden cannot decide (the gateway is unreachable): denied, fail closed.
    pub const UNAVAILABLE: i64 = -32003;
}

/// What kind of JSON-RPC message this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A request: `method` and `id`.
    Request,
    /// A notification: `method`, no `id`.
    Notification,
    /// A response: `id` and `result` or `error`.
    Response,
}

/// Why bytes are not a JSON-RPC message Warden accepts.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MessageError {
    /// Not JSON.
    #[error("not JSON: {0}")]
    NotJson(String),
    /// A JSON array: batches were removed from MCP in revision 2025-06-18.
    #[error(
        "JSON-RPC batches are not supported (MCP removed them in revision 2025-06-18): send one message at a time"
    )]
    Batch,
    /// JSON, but not a JSON-RPC 2.0 message.
    #[error("not a JSON-RPC 2.0 message: {0}")]
    Invalid(String),
}

impl MessageError {
    /// The JSON-RPC error code for this problem.
    pub fn code(&self) -> i64 {
        match self {
            Self::NotJson(_) => codes::PARSE_ERROR,
            Self::Batch | Self::Invalid(_) => codes::INVALID_REQUEST,
        }
    }
}

/// One JSON-RPC message.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    kind: Kind,
    body: Map<String, Value>,
}

impl Message {
    /// Parses one message. The id, if any, must be a string or an integer
    /// (MCP forbids `null` ids).
    pub fn parse(bytes: &[u8]) -> Result<Message, MessageError> {
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| MessageError::NotJson(e.to_string()))?;
        // A repeated key or an inexact number: a tool could act on a value
        // Warden never judged.
        if let Some(why) = crate::strict::ambiguity(bytes) {
            return Err(MessageError::Invalid(why));
        }
        Message::from_value(value)
    }

    /// Checks a parsed JSON value.
    pub fn from_value(value: Value) -> Result<Message, MessageError> {
        let body = match value {
            Value::Object(map) => map,
            Value::Array(_) => return Err(MessageError::Batch),
            _ => return Err(MessageError::Invalid("not a JSON object".into())),
        };
        if body.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
            return Err(MessageError::Invalid("`jsonrpc` must be \"2.0\"".into()));
        }
        let id = body.get("id");
        if let Some(id) = id
            && !(id.is_string() || id.is_i64() || id.is_u64())
        {
            return Err(MessageError::Invalid(
                "`id` must be a string or an integer".into(),
            ));
        }
        let kind = match (body.get("method"), id) {
            (Some(Value::String(_)), Some(_)) => Kind::Request,
            (Some(Value::String(_)), None) => Kind::Notification,
            (Some(_), _) => return Err(MessageError::Invalid("`method` must be a string".into())),
            (None, Some(_)) if body.contains_key("result") || body.contains_key("error") => {
                Kind::Response
            }
            (None, _) => {
                return Err(MessageError::Invalid(
                    "neither a request (`method`) nor a response (`id` with `result` or `error`)"
                        .into(),
                ));
            }
        };
        Ok(Message { kind, body })
    }

    /// Its kind.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Its id (requests and responses).
    pub fn id(&self) -> Option<&Value> {
        self.body.get("id")
    }

    /// Its method (requests and notifications).
    pub fn method(&self) -> Option<&str> {
        self.body.get("method").and_then(Value::as_str)
    }

    /// Its `params`.
    pub fn params(&self) -> Option<&Value> {
        self.body.get("params")
    }

    /// Its `result` (responses).
    pub fn result(&self) -> Option<&Value> {
        self.body.get("result")
    }

    /// Its `result`, to rewrite in place.
    pub fn result_mut(&mut self) -> Option<&mut Value> {
        self.body.get_mut("result")
    }

    /// Its `params`, to rewrite in place.
    pub fn params_mut(&mut self) -> Option<&mut Value> {
        self.body.get_mut("params")
    }

    /// The message as JSON.
    pub fn into_value(self) -> Value {
        Value::Object(self.body)
    }

    /// The message as bytes (compact JSON, no newline).
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.body).unwrap_or_default()
    }
}

/// A JSON-RPC error response.
pub fn error_response(id: Value, code: i64, message: &str, data: Option<Value>) -> Value {
    let mut error = Map::new();
    error.insert("code".into(), Value::from(code));
    error.insert("message".into(), Value::from(message));
    if let Some(data) = data {
        error.insert("data".into(), data);
    }
    let mut body = Map::new();
    body.insert("jsonrpc".into(), Value::from("2.0"));
    body.insert("id".into(), id);
    body.insert("error".into(), Value::Object(error));
    Value::Object(body)
}

/// The error answering a request the server left unanswered for `timeout`.
pub fn timed_out(id: Value, timeout: std::time::Duration) -> Value {
    error_response(
        id,
        codes::UPSTREAM,
        &format!(
            "the tool server did not answer within {} s",
            timeout.as_secs()
        ),
        None,
    )
}

/// A JSON-RPC success response.
pub fn result_response(id: Value, result: Value) -> Value {
    let mut body = Map::new();
    body.insert("jsonrpc".into(), Value::from("2.0"));
    body.insert("id".into(), id);
    body.insert("result".into(), result);
    Value::Object(body)
}

/// A key for an id in a map: ids `1` and `"1"` are different ids.
pub fn id_key(id: &Value) -> String {
    match id {
        Value::String(s) => format!("s:{s}"),
        other => format!("n:{other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_told_apart() -> Result<(), MessageError> {
        let r = Message::parse(br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)?;
        assert_eq!(r.kind(), Kind::Request);
        let n = Message::parse(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)?;
        assert_eq!(n.kind(), Kind::Notification);
        let s = Message::parse(br#"{"jsonrpc":"2.0","id":"a","result":{}}"#)?;
        assert_eq!(s.kind(), Kind::Response);
        Ok(())
    }

    #[test]
    fn bad_messages_are_refused_with_the_right_code() {
        let cases: &[(&[u8], i64)] = &[
            (b"{not json", codes::PARSE_ERROR),
            (
                br#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#,
                codes::INVALID_REQUEST,
            ),
            (br#"{"id":1,"method":"ping"}"#, codes::INVALID_REQUEST),
            (
                br#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#,
                codes::INVALID_REQUEST,
            ),
            (
                br#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#,
                codes::INVALID_REQUEST,
            ),
            (br#"{"jsonrpc":"2.0","id":1}"#, codes::INVALID_REQUEST),
            (br#"{"jsonrpc":"2.0","method":7}"#, codes::INVALID_REQUEST),
            (b"42", codes::INVALID_REQUEST),
        ];
        for (bytes, code) in cases {
            let err = Message::parse(bytes).err();
            assert_eq!(
                err.map(|e| e.code()),
                Some(*code),
                "{}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn ids_of_different_types_do_not_collide() {
        assert_ne!(id_key(&Value::from(1)), id_key(&Value::from("1")));
    }
}
