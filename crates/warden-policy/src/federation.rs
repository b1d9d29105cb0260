//! `[[federation]]` in `warden.toml`: other SPIFFE trust domains (a SPIRE
//! deployment, another Warden) whose SVIDs Warden accepts, and the rules
//! that map their workloads onto Warden agents.
//!
//! ```toml
//! [[federation]]
//! trust_domain = "prod.acme"
//! bundle_endpoint = "https://spire.prod.acme:8443"   # SPIFFE `https_web` profile
//! # endpoint_ca = "spire-endpoint-ca.pem"           # default: the system's roots
//! # bundle_file = "bundles/prod.acme.json"          # instead of an endpoint
//!
//! [[federation.map]]
//! id = "spiffe://prod.acme/ns/payments/sa/invoice-bot"   # or prefix = "spiffe://prod.acme/ns/payments/"
//! agent = "invoice-bot"
//! instance = "prod"            # default: the foreign ID's last path segment
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;
use warden_types::{AgentName, InstanceId, TrustDomain};

use crate::error::{Diagnostics, Location};

/// One federated trust domain (`[[federation]]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FederationConfig {
    /// The foreign trust domain.
    pub trust_domain: TrustDomain,
    /// Where its bundle comes from.
    pub bundle: BundleSource,
    /// How its SPIFFE IDs map onto Warden agents (`[[federation.map]]`).
    pub map: Vec<FederationMap>,
    /// Where the entry is, for messages.
    pub location: Location,
}

/// Where a federated trust domain's bundle comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BundleSource {
    /// A SPIFFE bundle document on disk, resolved against the config's
    /// directory, read at start.
    File(PathBuf),
    /// A SPIFFE bundle endpoint (`https_web` profile), fetched at start
    /// and again on the bundle's `spiffe_refresh_hint`.
    Endpoint {
        /// The `https://` URL.
        url: url::Url,
        /// The CA certificates (PEM) the endpoint's certificate must chain
        /// to; `None`: the system's roots.
        endpoint_ca: Option<PathBuf>,
    },
}

/// A mapping rule (`[[federation.map]]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FederationMap {
    /// Which foreign SPIFFE IDs.
    pub pattern: FederatedIdPattern,
    /// The Warden agent they act as.
    pub agent: AgentName,
    /// The instance; `None`: the foreign ID's last path segment, sanitised.
    pub instance: Option<InstanceId>,
}

/// Which foreign SPIFFE IDs a rule maps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FederatedIdPattern {
    /// `id = "…"`: exactly this SPIFFE ID.
    Exact(String),
    /// `prefix = "…"`: every SPIFFE ID that starts with this.
    Prefix(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFederation {
    trust_domain: Option<toml::Spanned<String>>,
    bundle_file: Option<PathBuf>,
    bundle_endpoint: Option<toml::Spanned<String>>,
    endpoint_ca: Option<PathBuf>,
    #[serde(default)]
    map: Vec<toml::Spanned<RawMap>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMap {
    id: Option<String>,
    prefix: Option<String>,
    agent: Option<toml::Spanned<String>>,
    instance: Option<toml::Spanned<String>>,
}

/// Lowers `[[federation]]` entries; problems go to `diags`, naming the field.
pub(crate) fn lower(
    raw: Vec<toml::Spanned<RawFederation>>,
    own: &TrustDomain,
    diags: &mut Diagnostics,
    at: &dyn Fn(usize) -> Location,
    base_dir: &Path,
) -> Vec<FederationConfig> {
    let mut out: Vec<FederationConfig> = Vec::new();
    for (i, spanned) in raw.into_iter().enumerate() {
        let location = at(spanned.span().start);
        let raw = spanned.into_inner();
        let field = |f: &str| Some(format!("federation[{i}].{f}"));
        let Some(domain) = raw.trust_domain else {
            diags.push(
                location,
                field("trust_domain"),
                "[[federation]] needs `trust_domain`",
            );
            continue;
        };
        let domain_at = at(domain.span().start);
        let trust_domain = match TrustDomain::new(domain.get_ref().clone()) {
            Ok(td) => td,
            Err(e) => {
                diags.push(domain_at, field("trust_domain"), e.to_string());
                continue;
            }
        };
        if &trust_domain == own {
            diags.push(
                domain_at,
                field("trust_domain"),
                format!("`{trust_domain}` is Warden's own trust domain: it cannot be federated"),
            );
            continue;
        }
        if out.iter().any(|f| f.trust_domain == trust_domain) {
            diags.push(
                domain_at,
                field("trust_domain"),
                format!("trust domain `{trust_domain}` is federated twice"),
            );
            continue;
        }
        let bundle = match (raw.bundle_file, raw.bundle_endpoint) {
            (Some(file), None) => {
                if raw.endpoint_ca.is_some() {
                    diags.push(
                        location.clone(),
                        field("endpoint_ca"),
                        "`endpoint_ca` goes with `bundle_endpoint`, not `bundle_file`",
                    );
                }
                BundleSource::File(base_dir.join(file))
            }
            (None, Some(endpoint)) => match url::Url::parse(endpoint.get_ref()) {
                Ok(url) if url.scheme() == "https" && url.has_host() => BundleSource::Endpoint {
                    url,
                    endpoint_ca: raw.endpoint_ca.map(|p| base_dir.join(p)),
                },
                _ => {
                    diags.push(
                        at(endpoint.span().start),
                        field("bundle_endpoint"),
                        format!(
                            "`{}` is not an https URL: the SPIFFE `https_web` profile needs one, as in `https://spire.prod.acme:8443`",
                            endpoint.get_ref()
                        ),
                    );
                    continue;
                }
            },
            (Some(_), Some(_)) => {
                diags.push(
                    location,
                    field("bundle_file"),
                    "give either `bundle_file` or `bundle_endpoint`, not both",
                );
                continue;
            }
            (None, None) => {
                diags.push(
                    location,
                    field("bundle_endpoint"),
                    "[[federation]] needs `bundle_endpoint` (an https URL) or `bundle_file` (a SPIFFE bundle document)",
                );
                continue;
            }
        };
        let mut map = Vec::new();
        let root = format!("spiffe://{trust_domain}/");
        for (j, spanned) in raw.map.into_iter().enumerate() {
            let rule_at = at(spanned.span().start);
            let rule = spanned.into_inner();
            let field = |f: &str| Some(format!("federation[{i}].map[{j}].{f}"));
            let in_domain = |id: &str| {
                id.len() > root.len() && id.starts_with(&root) && !id.contains(['?', '#', ' ', '%'])
            };
            let pattern_kind = if rule.id.is_some() { "id" } else { "prefix" };
            let pattern = match (rule.id, rule.prefix) {
                (Some(id), None) if in_domain(&id) => FederatedIdPattern::Exact(id),
                (None, Some(prefix)) if in_domain(&prefix) => FederatedIdPattern::Prefix(prefix),
                (Some(value), None) | (None, Some(value)) => {
                    let name = if matches!(pattern_kind, "id") {
                        "id"
                    } else {
                        "prefix"
                    };
                    diags.push(
                        rule_at,
                        field(name),
                        format!(
                            "`{value}` is not a SPIFFE ID in trust domain `{trust_domain}`: expected `{root}` and a path"
                        ),
                    );
                    continue;
                }
                (Some(_), Some(_)) | (None, None) => {
                    diags.push(
                        rule_at,
                        field("id"),
                        "[[federation.map]] needs exactly one of `id` (one SPIFFE ID) and `prefix`",
                    );
                    continue;
                }
            };
            let Some(agent) = rule.agent else {
                diags.push(rule_at, field("agent"), "[[federation.map]] needs `agent`");
                continue;
            };
            let agent = match AgentName::new(agent.get_ref().clone()) {
                Ok(agent) => agent,
                Err(e) => {
                    diags.push(at(agent.span().start), field("agent"), e.to_string());
                    continue;
                }
            };
            let instance = match rule.instance {
                None => None,
                Some(instance) => match InstanceId::new(instance.get_ref().clone()) {
                    Ok(instance) => Some(instance),
                    Err(e) => {
                        diags.push(at(instance.span().start), field("instance"), e.to_string());
                        continue;
                    }
                },
            };
            map.push(FederationMap {
                pattern,
                agent,
                instance,
            });
        }
        out.push(FederationConfig {
            trust_domain,
            bundle,
            map,
            location,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::Config;

    const BASE: &str = "trust_domain = \"example.org\"\n";

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse("w.toml", &format!("{BASE}{text}"), Path::new("/etc/warden"))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn federation_entries_and_their_rules_are_parsed() {
        let config = parse(
            "[[federation]]\ntrust_domain = \"prod.acme\"\nbundle_endpoint = \"https://spire.prod.acme:8443\"\nendpoint_ca = \"ca.pem\"\n\
             [[federation.map]]\nid = \"spiffe://prod.acme/ns/payments/sa/invoice-bot\"\nagent = \"invoice-bot\"\ninstance = \"prod\"\n\
             [[federation.map]]\nprefix = \"spiffe://prod.acme/ns/payments/\"\nagent = \"payments\"\n\
             [[federation]]\ntrust_domain = \"partner.example\"\nbundle_file = \"bundles/partner.json\"\n",
        )
        .unwrap();
        assert_eq!(config.federation.len(), 2);
        let prod = &config.federation[0];
        assert_eq!(prod.trust_domain.as_str(), "prod.acme");
        assert_eq!(
            prod.bundle,
            BundleSource::Endpoint {
                url: "https://spire.prod.acme:8443".parse().unwrap(),
                endpoint_ca: Some(PathBuf::from("/etc/warden/ca.pem")),
            }
        );
        assert_eq!(
            prod.map,
            vec![
                FederationMap {
                    pattern: FederatedIdPattern::Exact(
                        "spiffe://prod.acme/ns/payments/sa/invoice-bot".into()
                    ),
                    agent: AgentName::new("invoice-bot").unwrap(),
                    instance: Some(InstanceId::new("prod").unwrap()),
                },
                FederationMap {
                    pattern: FederatedIdPattern::Prefix("spiffe://prod.acme/ns/payments/".into()),
                    agent: AgentName::new("payments").unwrap(),
                    instance: None,
                },
            ]
        );
        assert_eq!(
            config.federation[1].bundle,
            BundleSource::File(PathBuf::from("/etc/warden/bundles/partner.json"))
        );
        assert!(parse("").unwrap().federation.is_empty());
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (
                "[[federation]]\ntrust_domain = \"example.org\"\nbundle_file = \"b.json\"\n",
                "w.toml:3:16: field `federation[0].trust_domain`: `example.org` is Warden's own trust domain: it cannot be federated",
            ),
            (
                "[[federation]]\ntrust_domain = \"prod.acme\"\n",
                "field `federation[0].bundle_endpoint`: [[federation]] needs `bundle_endpoint` (an https URL) or `bundle_file`",
            ),
            (
                "[[federation]]\ntrust_domain = \"prod.acme\"\nbundle_endpoint = \"http://spire:8443\"\n",
                "field `federation[0].bundle_endpoint`: `http://spire:8443` is not an https URL",
            ),
            (
                "[[federation]]\ntrust_domain = \"prod.acme\"\nbundle_file = \"b\"\nbundle_endpoint = \"https://x\"\n",
                "field `federation[0].bundle_file`: give either `bundle_file` or `bundle_endpoint`, not both",
            ),
            (
                "[[federation]]\ntrust_domain = \"prod.acme\"\nbundle_file = \"b\"\n[[federation.map]]\nid = \"spiffe://other.acme/x\"\nagent = \"a\"\n",
                "field `federation[0].map[0].id`: `spiffe://other.acme/x` is not a SPIFFE ID in trust domain `prod.acme`",
            ),
            (
                "[[federation]]\ntrust_domain = \"prod.acme\"\nbundle_file = \"b\"\n[[federation.map]]\nprefix = \"spiffe://prod.acme/\"\nagent = \"a\"\n",
                "field `federation[0].map[0].prefix`",
            ),
            (
                "[[federation]]\ntrust_domain = \"prod.acme\"\nbundle_file = \"b\"\n[[federation.map]]\nid = \"spiffe://prod.acme/x\"\nagent = \"Bad Name\"\n",
                "field `federation[0].map[0].agent`: agent name `Bad Name` may hold only",
            ),
            (
                "[[federation]]\ntrust_domain = \"prod.acme\"\nbundle_file = \"b\"\n[[federation.map]]\nid = \"spiffe://prod.acme/x\"\n",
                "field `federation[0].map[0].agent`: [[federation.map]] needs `agent`",
            ),
            (
                "[[federation]]\ntrust_domain = \"prod.acme\"\nbundle_file = \"b\"\n[[federation.map]]\nid = \"spiffe://prod.acme/x\"\nprefix = \"spiffe://prod.acme/\"\nagent = \"a\"\n",
                "needs exactly one of `id` (one SPIFFE ID) and `prefix`",
            ),
            (
                "[[federation]]\ntrust_domain = \"prod.acme\"\nbundle_file = \"b\"\n[[federation]]\ntrust_domain = \"prod.acme\"\nbundle_file = \"c\"\n",
                "field `federation[1].trust_domain`: trust domain `prod.acme` is federated twice",
            ),
            (
                "[[federation]]\ntrust_domain = \"prod.acme\"\nbundle_file = \"b\"\nrefresh = 3\n",
                "unknown field `refresh`",
            ),
        ];
        for (text, expected) in cases {
            let message = parse(text).unwrap_err();
            assert!(message.contains(expected), "{text}\n=> {message}");
        }
    }
}
