//! Registration entries: which local processes get which SPIFFE ID.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use warden_types::SpiffeId;

use crate::attest::Workload;
use crate::error::WorkloadError;

/// The `[workload]` section of a configuration: where the socket is and
/// who gets which identity.
///
/// ```toml
/// [workload]
/// socket = "/run/warden/workload.sock"
///
/// [[workload.entries]]
/// spiffe_id = "spiffe://example.org/agent/invoice-bot/worker-1"
/// uid = 1001
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadConfig {
    /// The Unix socket to serve on.
    pub socket: PathBuf,
    /// The registration entries.
    #[serde(default)]
    pub entries: Vec<RegistrationEntry>,
}

impl WorkloadConfig {
    /// The entries, checked ([`Entries::new`]).
    pub fn checked_entries(&self) -> Result<Entries, WorkloadError> {
        Entries::new(self.entries.clone())
    }
}

/// One registration entry as written in the configuration
/// (`[[workload.entries]]`): the selectors a process must match, all of them,
/// and the SPIFFE ID it is then issued.
///
/// ```toml
/// [[workload.entries]]
/// spiffe_id = "spiffe://example.org/agent/invoice-bot/worker-1"
/// uid = 1001
/// path = "/usr/local/bin/invoice-bot"
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrationEntry {
    /// The identity granted to a matching process.
    pub spiffe_id: SpiffeId,
    /// The process's user id must be this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    /// The process's group id must be this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    /// The process's executable (`/proc/<pid>/exe`) must be this absolute path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// Guidance to the workload when it has several identities (the SVIDs'
    /// `hint`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl RegistrationEntry {
    /// An entry granting `spiffe_id` to processes of user `uid`.
    pub fn for_uid(spiffe_id: SpiffeId, uid: u32) -> Self {
        Self {
            spiffe_id,
            uid: Some(uid),
            gid: None,
            path: None,
            hint: None,
        }
    }

    /// Whether `workload` matches every selector this entry has. A `path`
    /// selector never matches a process whose executable could not be read.
    pub fn matches(&self, workload: &Workload) -> bool {
        self.uid.is_none_or(|uid| uid == workload.uid)
            && self.gid.is_none_or(|gid| gid == workload.gid)
            && self
                .path
                .as_ref()
                .is_none_or(|path| workload.path.as_ref() == Some(path))
    }
}

/// A checked list of registration entries: each has at least one selector,
/// paths are absolute.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entries {
    entries: Vec<RegistrationEntry>,
}

impl Entries {
    /// Checks `entries`: an entry without selectors would hand its identity
    /// to every local process, so it is refused, as is a relative `path`.
    pub fn new(entries: Vec<RegistrationEntry>) -> Result<Self, WorkloadError> {
        for (index, entry) in entries.iter().enumerate() {
            if entry.uid.is_none() && entry.gid.is_none() && entry.path.is_none() {
                return Err(WorkloadError::InvalidEntry {
                    index,
                    spiffe_id: entry.spiffe_id.to_string(),
                    reason:
                        "it has no selector (`uid`, `gid` or `path`): it would match every process"
                            .to_owned(),
                });
            }
            if let Some(path) = &entry.path
                && !path.is_absolute()
            {
                return Err(WorkloadError::InvalidEntry {
                    index,
                    spiffe_id: entry.spiffe_id.to_string(),
                    reason: format!("`path` `{}` is not absolute", path.display()),
                });
            }
        }
        Ok(Self { entries })
    }

    /// The entries `workload` matches, in configuration order, one per
    /// SPIFFE ID.
    pub fn matching(&self, workload: &Workload) -> Vec<&RegistrationEntry> {
        let mut found: Vec<&RegistrationEntry> = Vec::new();
        for entry in self.entries.iter().filter(|entry| entry.matches(workload)) {
            if !found.iter().any(|seen| seen.spiffe_id == entry.spiffe_id) {
                found.push(entry);
            }
        }
        found
    }

    /// All entries.
    pub fn as_slice(&self) -> &[RegistrationEntry] {
        &self.entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(instance: &str) -> SpiffeId {
        format!("spiffe://example.org/agent/bot/{instance}")
            .parse()
            .unwrap()
    }

    fn workload(uid: u32, gid: u32, path: Option<&str>) -> Workload {
        Workload {
            uid,
            gid,
            pid: Some(42),
            path: path.map(PathBuf::from),
        }
    }

    #[test]
    fn all_selectors_must_match() {
        let entry = RegistrationEntry {
            spiffe_id: id("a"),
            uid: Some(1000),
            gid: Some(100),
            path: Some("/bin/bot".into()),
            hint: None,
        };
        assert!(entry.matches(&workload(1000, 100, Some("/bin/bot"))));
        assert!(!entry.matches(&workload(1001, 100, Some("/bin/bot"))));
        assert!(!entry.matches(&workload(1000, 101, Some("/bin/bot"))));
        assert!(!entry.matches(&workload(1000, 100, Some("/bin/other"))));
        assert!(!entry.matches(&workload(1000, 100, None)));
        let uid_only = RegistrationEntry::for_uid(id("b"), 1000);
        assert!(uid_only.matches(&workload(1000, 5, None)));
    }

    #[test]
    fn entries_without_selectors_or_with_relative_paths_are_refused() {
        let mut open = RegistrationEntry::for_uid(id("a"), 1);
        open.uid = None;
        let error = Entries::new(vec![open]).unwrap_err().to_string();
        assert!(error.contains("no selector"), "{error}");
        let mut relative = RegistrationEntry::for_uid(id("a"), 1);
        relative.path = Some("bin/bot".into());
        let error = Entries::new(vec![relative]).unwrap_err().to_string();
        assert!(error.contains("not absolute"), "{error}");
    }

    #[test]
    fn matching_keeps_order_and_drops_repeated_ids() {
        let entries = Entries::new(vec![
            RegistrationEntry::for_uid(id("a"), 1),
            RegistrationEntry::for_uid(id("b"), 2),
            RegistrationEntry::for_uid(id("c"), 1),
            RegistrationEntry::for_uid(id("a"), 1),
        ])
        .unwrap();
        let found: Vec<String> = entries
            .matching(&workload(1, 0, None))
            .iter()
            .map(|entry| entry.spiffe_id.to_string())
            .collect();
        assert_eq!(
            found,
            [
                "spiffe://example.org/agent/bot/a",
                "spiffe://example.org/agent/bot/c"
            ]
        );
        assert!(entries.matching(&workload(3, 0, None)).is_empty());
    }

    #[test]
    fn the_workload_section_parses() {
        #[derive(Deserialize)]
        struct Config {
            workload: WorkloadConfig,
        }
        let config: Config = toml::from_str(
            r#"
            [workload]
            socket = "/run/warden/workload.sock"

            [[workload.entries]]
            spiffe_id = "spiffe://example.org/agent/invoice-bot/worker-1"
            uid = 1001
            gid = 1001
            hint = "internal"
            "#,
        )
        .unwrap();
        assert_eq!(
            config.workload.socket,
            PathBuf::from("/run/warden/workload.sock")
        );
        let entries = config.workload.checked_entries().unwrap();
        assert_eq!(entries.as_slice()[0].hint.as_deref(), Some("internal"));
        assert!(toml::from_str::<Config>("[workload]\nsocket = \"/s\"\nport = 1\n").is_err());
    }

    #[test]
    fn entries_parse_from_toml_and_refuse_unknown_fields() {
        #[derive(Deserialize)]
        struct Config {
            entries: Vec<RegistrationEntry>,
        }
        let config: Config = toml::from_str(
            r#"
            [[entries]]
            spiffe_id = "spiffe://example.org/agent/invoice-bot/worker-1"
            uid = 1001
            path = "/usr/local/bin/invoice-bot"
            "#,
        )
        .unwrap();
        assert_eq!(config.entries[0].uid, Some(1001));
        let error = toml::from_str::<Config>(
            "[[entries]]\nspiffe_id = \"spiffe://example.org/agent/a/b\"\nselector = 1\n",
        )
        .err()
        .unwrap()
        .to_string();
        assert!(error.contains("unknown field"), "{error}");
        let error =
            toml::from_str::<Config>("[[entries]]\nspiffe_id = \"spiffe://x/y\"\nuid = 1\n")
                .err()
                .unwrap()
                .to_string();
        assert!(error.contains("spiffe"), "{error}");
    }
}
