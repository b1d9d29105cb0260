//! What Warden reads in a model's answer, whole or streamed: the tool calls
//! it proposes, the tokens it used, and its text (classified when the answer
//! ends). A stream is passed on chunk by chunk as it arrives; this only
//! watches it.

use serde_json::Value;

/// Most answer text kept for classification (bytes).
const MAX_TEXT: usize = 1 << 20;
/// Longest SSE line waited for before it is dropped unread.
const MAX_LINE: usize = 1 << 20;

/// What a response showed so far.
#[derive(Debug, Default)]
pub(crate) struct Watch {
    /// Tool names proposed, in order, each once.
    pub(crate) tools: Vec<String>,
    /// Prompt tokens (the largest count reported).
    pub(crate) input_tokens: u64,
    /// Completion tokens (the largest count reported).
    pub(crate) output_tokens: u64,
    /// The answer's text, up to [`MAX_TEXT`].
    pub(crate) text: String,
    /// Whether text was cut at [`MAX_TEXT`].
    pub(crate) truncated: bool,
    /// Bytes of an SSE line not yet complete.
    partial: Vec<u8>,
    /// Whether the stream stands at an event boundary.
    pub(crate) at_boundary: bool,
}

impl Watch {
    /// Tokens used in all.
    pub(crate) fn tokens(&self) -> u64 {
        self.input_tokens.saturating_add(self.output_tokens)
    }

    fn tool(&mut self, name: &str) {
        if !self.tools.iter().any(|t| t == name) && self.tools.len() < 64 {
            self.tools.push(name.to_owned());
        }
    }

    fn text(&mut self, piece: &str) {
        if self.text.len() + piece.len() > MAX_TEXT {
            self.truncated = true;
            return;
        }
        self.text.push_str(piece);
    }

    /// Reads one JSON document of the answer (a whole body, or one event).
    pub(crate) fn read(&mut self, value: &Value) {
        self.walk(value, 0);
    }

    fn walk(&mut self, value: &Value, depth: usize) {
        if depth > 16 {
            return;
        }
        match value {
            Value::Object(map) => {
                // Chat Completions: tool_calls[].function.name.
                if let Some(Value::Array(calls)) = map.get("tool_calls") {
                    for call in calls {
                        if let Some(name) = call["function"]["name"].as_str() {
                            self.tool(name);
                        }
                    }
                }
                // Responses `function_call` items, Messages `tool_use` blocks.
                if matches!(
                    map.get("type").and_then(Value::as_str),
                    Some("function_call" | "tool_use")
                ) && let Some(name) = map.get("name").and_then(Value::as_str)
                {
                    self.tool(name);
                }
                if let Some(Value::Object(usage)) = map.get("usage") {
                    let count = |keys: &[&str]| {
                        keys.iter()
                            .filter_map(|k| usage.get(*k).and_then(Value::as_u64))
                            .max()
                            .unwrap_or(0)
                    };
                    self.input_tokens = self
                        .input_tokens
                        .max(count(&["prompt_tokens", "input_tokens"]));
                    self.output_tokens = self
                        .output_tokens
                        .max(count(&["completion_tokens", "output_tokens"]));
                }
                for (key, v) in map {
                    match (key.as_str(), v) {
                        (
                            "content" | "text" | "arguments" | "partial_json" | "delta" | "refusal",
                            Value::String(s),
                        ) => {
                            self.text(s);
                            self.text("\n");
                        }
                        (_, Value::Object(_) | Value::Array(_)) => self.walk(v, depth + 1),
                        _ => {}
                    }
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.walk(item, depth + 1);
                }
            }
            _ => {}
        }
    }

    /// Reads a chunk of a Server-Sent Events stream: each complete `data:`
    /// line that holds JSON is read.
    pub(crate) fn read_sse(&mut self, chunk: &[u8]) {
        let mut rest = chunk;
        while let Some(end) = rest.iter().position(|b| *b == b'\n') {
            let (line, tail) = rest.split_at(end);
            rest = &tail[1..];
            let whole: Vec<u8>;
            let line = if self.partial.is_empty() {
                line
            } else {
                self.partial.extend_from_slice(line);
                whole = std::mem::take(&mut self.partial);
                &whole
            };
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            self.at_boundary = line.is_empty();
            if let Some(data) = line.strip_prefix(b"data:") {
                let data = data.strip_prefix(b" ").unwrap_or(data);
                if let Ok(value) = serde_json::from_slice::<Value>(data) {
                    self.read(&value);
                }
            }
        }
        if !rest.is_empty() {
            self.at_boundary = false;
            if self.partial.len() + rest.len() <= MAX_LINE {
                self.partial.extend_from_slice(rest);
            } else {
                self.partial.clear();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn whole_answers_of_each_api() {
        let mut w = Watch::default();
        w.read(&json!({"choices": [{"message": {"role": "assistant", "content": "hello",
            "tool_calls": [{"id": "c", "type": "function", "function": {"name": "send_mail", "arguments": "{\"to\":\"a@b.example\"}"}}]}}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}}));
        assert_eq!(w.tools, ["send_mail"]);
        assert_eq!(w.tokens(), 17);
        assert!(w.text.contains("hello") && w.text.contains("a@b.example"));
        let mut w = Watch::default();
        w.read(&json!({"content": [{"type": "text", "text": "hi"}, {"type": "tool_use", "id": "t", "name": "lookup", "input": {}}],
            "usage": {"input_tokens": 3, "output_tokens": 4}}));
        assert_eq!(
            (w.tools.as_slice(), w.tokens()),
            (&["lookup".to_owned()][..], 7)
        );
        let mut w = Watch::default();
        w.read(&json!({"output": [{"type": "function_call", "name": "wire", "arguments": "{}"}], "usage": {"input_tokens": 1, "output_tokens": 1}}));
        assert_eq!(w.tools, ["wire"]);
    }

    #[test]
    fn streams_are_read_across_chunk_boundaries() {
        let mut w = Watch::default();
        let stream = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":9,\"output_tokens\":1}}}\n\n\
            data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"delete_everything\",\"input\":{}}}\n\n\
            data: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":15}}\n\n";
        for piece in stream.as_bytes().chunks(7) {
            w.read_sse(piece);
        }
        assert_eq!(w.tools, ["delete_everything"]);
        assert_eq!((w.input_tokens, w.output_tokens), (9, 15));
        assert!(w.at_boundary);
        w.read_sse(b"data: {\"x\":");
        assert!(!w.at_boundary);
    }
}
