//! What a request to a model holds that Warden uses: the user's messages
//! and the tool results in the conversation (for provenance), in the three
//! API shapes (Chat Completions, Responses, Messages).

use std::collections::HashMap;

use serde_json::Value;

/// The parts of a conversation provenance needs.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Conversation {
    /// The user's messages (their text).
    pub(crate) user: Vec<Value>,
    /// Tool results: the function's name (when the conversation names it)
    /// and the result.
    pub(crate) results: Vec<(String, Value)>,
}

/// The text of a message's `content`: a string, or the text parts of a list.
fn text_of(content: &Value) -> Value {
    match content {
        Value::String(_) => content.clone(),
        Value::Array(parts) => Value::Array(
            parts
                .iter()
                .filter_map(|p| match p {
                    Value::String(_) => Some(p.clone()),
                    Value::Object(o) => o
                        .get("text")
                        .or_else(|| o.get("content"))
                        .filter(|t| t.is_string())
                        .cloned(),
                    _ => None,
                })
                .collect(),
        ),
        _ => Value::Null,
    }
}

/// Reads the conversation of a request body, whichever API it is for.
pub(crate) fn read(body: &Value) -> Conversation {
    let mut out = Conversation::default();
    let mut names: HashMap<String, String> = HashMap::new();
    // Chat Completions and Messages: `messages`; Responses: `input`.
    if let Some(Value::String(text)) = body.get("input") {
        out.user.push(Value::String(text.clone()));
    }
    let items = body
        .get("messages")
        .or_else(|| body.get("input"))
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    for item in items {
        let role = item.get("role").and_then(Value::as_str).unwrap_or_default();
        let kind = item.get("type").and_then(Value::as_str).unwrap_or_default();
        match (role, kind) {
            ("user", _) => match item.get("content") {
                // Messages: a user turn holds text and tool_result blocks.
                Some(Value::Array(blocks)) if blocks.iter().any(|b| b["type"] == "tool_result") => {
                    for b in blocks {
                        if b["type"] == "tool_result" {
                            let id = b["tool_use_id"].as_str().unwrap_or_default();
                            let name = names.get(id).cloned().unwrap_or_default();
                            out.results.push((name, text_of(&b["content"])));
                        } else if b["type"] == "text" {
                            out.user.push(b["text"].clone());
                        }
                    }
                }
                Some(content) => out.user.push(text_of(content)),
                None => {}
            },
            ("assistant", _) => {
                // Chat Completions: tool_calls; Messages: tool_use blocks.
                for call in item["tool_calls"].as_array().map_or(&[][..], Vec::as_slice) {
                    if let (Some(id), Some(name)) =
                        (call["id"].as_str(), call["function"]["name"].as_str())
                    {
                        names.insert(id.to_owned(), name.to_owned());
                    }
                }
                for block in item["content"].as_array().map_or(&[][..], Vec::as_slice) {
                    if block["type"] == "tool_use"
                        && let (Some(id), Some(name)) =
                            (block["id"].as_str(), block["name"].as_str())
                    {
                        names.insert(id.to_owned(), name.to_owned());
                    }
                }
            }
            ("tool", _) => {
                let id = item["tool_call_id"].as_str().unwrap_or_default();
                let name = names.get(id).cloned().unwrap_or_default();
                out.results.push((name, text_of(&item["content"])));
            }
            (_, "function_call") => {
                if let (Some(id), Some(name)) = (item["call_id"].as_str(), item["name"].as_str()) {
                    names.insert(id.to_owned(), name.to_owned());
                }
            }
            (_, "function_call_output") => {
                let id = item["call_id"].as_str().unwrap_or_default();
                let name = names.get(id).cloned().unwrap_or_default();
                out.results.push((name, text_of(&item["output"])));
            }
            _ => {}
        }
    }
    out.user.retain(|v| !v.is_null());
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn chat_completions_name_the_function_a_result_answers() {
        let body = json!({"model": "m", "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "mail the customer"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "lookup_customer", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "eve@evil.example"}]});
        let c = read(&body);
        assert_eq!(c.user, vec![json!("mail the customer")]);
        assert_eq!(
            c.results,
            vec![("lookup_customer".to_owned(), json!("eve@evil.example"))]
        );
    }

    #[test]
    fn messages_and_responses_too() {
        let messages = json!({"model": "m", "messages": [
            {"role": "user", "content": [{"type": "text", "text": "hi"}]},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "tu_1", "name": "lookup_customer", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "tu_1", "content": [{"type": "text", "text": "x@y.example"}]}]}]});
        let c = read(&messages);
        assert_eq!(c.user, vec![json!(["hi"])]);
        assert_eq!(
            c.results,
            vec![("lookup_customer".to_owned(), json!(["x@y.example"]))]
        );
        let responses = json!({"model": "m", "input": [
            {"role": "user", "content": "find her"},
            {"type": "function_call", "call_id": "c1", "name": "lookup_customer", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "z@w.example"}]});
        let c = read(&responses);
        assert_eq!(c.user, vec![json!("find her")]);
        assert_eq!(
            c.results,
            vec![("lookup_customer".to_owned(), json!("z@w.example"))]
        );
        assert_eq!(
            read(&json!({"model": "m", "input": "just text"})).user,
            vec![json!("just text")]
        );
    }
}
