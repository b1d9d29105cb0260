//! Cedar entities and the generated schema.
//!
//! Entity names, documented for org-wide policies:
//!
//! | Cedar | what | attributes / parents |
//! | --- | --- | --- |
//! | `Warden::Agent::"<name>"` | an agent (principal) | `owner`, `eu_ai_act`, `dora_critical`; in its `Warden::Group`s |
//! | `Warden::Group::"<group>"` | a group named in `groups:` | — |
//! | `Warden::Action::"read"` … `"execute"` | the operation kind (action) | — |
//! | `Warden::Tool::"<server>/<tool>"` | a tool (resource) | `name`, `server`, `operation`, `destination`, `kind` (`tool`, or `model` for a provider's `chat`); in its server |
//! | `Warden::Server::"<server>"` | a tool server or model provider | `destination` |
//! | `Warden::List::"<name>"` | a named list | `members` (set of strings) |

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use cedar_policy::{Entity, EntityId, EntityTypeName, EntityUid, RestrictedExpression};
use serde_json::{Value, json};
use warden_types::Operation;

/// Builds `Warden::<kind>::"<id>"`.
pub(crate) fn uid(kind: &str, id: &str) -> EntityUid {
    // INVARIANT: every `kind` passed here is one of the fixed type names below.
    #[expect(clippy::expect_used, reason = "fixed, valid type names")]
    let ty = EntityTypeName::from_str(&format!("Warden::{kind}")).expect("valid entity type name");
    EntityUid::from_type_name_and_id(ty, EntityId::new(id))
}

/// The action entity of an operation kind.
pub(crate) fn action_uid(op: Operation) -> EntityUid {
    uid("Action", op.as_str())
}

fn string(s: &str) -> RestrictedExpression {
    RestrictedExpression::new_string(s.to_owned())
}

/// An agent entity.
pub(crate) fn agent_entity(
    name: &str,
    owner: &str,
    eu_ai_act: Option<&str>,
    dora_critical: bool,
    groups: &[String],
) -> Result<Entity, String> {
    let attrs = HashMap::from([
        ("owner".to_owned(), string(owner)),
        (
            "eu_ai_act".to_owned(),
            string(eu_ai_act.unwrap_or("unclassified")),
        ),
        (
            "dora_critical".to_owned(),
            RestrictedExpression::new_bool(dora_critical),
        ),
    ]);
    let parents = groups.iter().map(|g| uid("Group", g)).collect();
    Entity::new(uid("Agent", name), attrs, parents).map_err(|e| e.to_string())
}

/// A tool entity, child of its server.
pub(crate) fn tool_entity(
    server: &str,
    tool: &str,
    op: Operation,
    destination: &str,
    kind: &str,
) -> Result<Entity, String> {
    let attrs = HashMap::from([
        ("name".to_owned(), string(tool)),
        ("server".to_owned(), string(server)),
        ("operation".to_owned(), string(op.as_str())),
        ("destination".to_owned(), string(destination)),
        ("kind".to_owned(), string(kind)),
    ]);
    let parents = HashSet::from([uid("Server", server)]);
    Entity::new(uid("Tool", &format!("{server}/{tool}")), attrs, parents).map_err(|e| e.to_string())
}

/// A server entity.
pub(crate) fn server_entity(server: &str, destination: &str) -> Result<Entity, String> {
    let attrs = HashMap::from([("destination".to_owned(), string(destination))]);
    Entity::new(uid("Server", server), attrs, HashSet::new()).map_err(|e| e.to_string())
}

/// A named list entity.
pub(crate) fn list_entity(name: &str, members: &[String]) -> Result<Entity, String> {
    let attrs = HashMap::from([(
        "members".to_owned(),
        RestrictedExpression::new_set(members.iter().map(|m| string(m))),
    )]);
    Entity::new(uid("List", name), attrs, HashSet::new()).map_err(|e| e.to_string())
}

/// Lowers a tool's JSON Schema to a Cedar record type, or `None` when some
/// property has a type Cedar cannot express (then conditions are not
/// type-checked for that tool, only parsed, and errors deny).
pub(crate) fn args_type(input_schema: &Value) -> Option<Value> {
    fn lower(schema: &Value, depth: usize) -> Option<Value> {
        if depth > 16 {
            return None;
        }
        match schema.get("type")?.as_str()? {
            "string" => Some(json!({"type": "String"})),
            "number" | "integer" => Some(json!({"type": "Long"})),
            "boolean" => Some(json!({"type": "Boolean"})),
            "array" => {
                Some(json!({"type": "Set", "element": lower(schema.get("items")?, depth + 1)?}))
            }
            "object" => {
                let mut attributes = serde_json::Map::new();
                if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                    for (name, prop) in props {
                        let mut ty = lower(prop, depth + 1)?;
                        // Absent arguments are an evaluation error (which denies),
                        // so the type checker treats every declared one as present.
                        ty["required"] = Value::Bool(true);
                        attributes.insert(name.clone(), ty);
                    }
                }
                Some(json!({"type": "Record", "attributes": attributes}))
            }
            _ => None,
        }
    }
    lower(input_schema, 0)
}

/// The Cedar schema (JSON form) with `args` as the given record type.
pub(crate) fn schema_json(
    args: &Value,
    hosts: &[String],
    paths: &[String],
    provenance: &[String],
) -> Value {
    let provenance_attrs: serde_json::Map<String, Value> = provenance
        .iter()
        .map(|h| (h.clone(), json!({"type": "String", "required": true})))
        .collect();
    let host_attrs: serde_json::Map<String, Value> = hosts
        .iter()
        .map(|h| (h.clone(), json!({"type": "String", "required": true})))
        .collect();
    let path_attrs: serde_json::Map<String, Value> = paths
        .iter()
        .map(|h| (h.clone(), json!({"type": "String", "required": true})))
        .collect();
    let context = json!({
        "type": "Record",
        "attributes": {
            "args": args,
            "hosts": {"type": "Record", "attributes": host_attrs},
            "paths": {"type": "Record", "attributes": path_attrs},
            "provenance": {"type": "Record", "attributes": provenance_attrs},
            "classes": {"type": "Set", "element": {"type": "String"}},
            "instance": {"type": "String"},
            "destination": {"type": "String"},
            "session": {"type": "Record", "attributes": {
                "actions": {"type": "Long"},
                "tools": {"type": "Set", "element": {"type": "String"}},
                "taint": {"type": "Set", "element": {"type": "String"}},
                "flagged": {"type": "Boolean"},
            }},
        }
    });
    let applies =
        json!({"principalTypes": ["Agent"], "resourceTypes": ["Tool"], "context": context});
    let actions: serde_json::Map<String, Value> = Operation::ALL
        .iter()
        .map(|op| (op.as_str().to_owned(), json!({"appliesTo": applies})))
        .collect();
    let s = |a: &[&str]| -> Value {
        let attrs: serde_json::Map<String, Value> = a
            .iter()
            .map(|n| ((*n).to_owned(), json!({"type": "String"})))
            .collect();
        Value::Object(attrs)
    };
    let mut agent_attrs = s(&["owner", "eu_ai_act"]);
    agent_attrs["dora_critical"] = json!({"type": "Boolean"});
    json!({"Warden": {
        "entityTypes": {
            "Group": {},
            "Agent": {"memberOfTypes": ["Group"], "shape": {"type": "Record", "attributes": agent_attrs}},
            "Server": {"shape": {"type": "Record", "attributes": s(&["destination"])}},
            "Tool": {"memberOfTypes": ["Server"], "shape": {"type": "Record", "attributes": s(&["name", "server", "operation", "destination", "kind"])}},
            "List": {"shape": {"type": "Record", "attributes": {"members": {"type": "Set", "element": {"type": "String"}}}}},
        },
        "actions": actions,
    }})
}
