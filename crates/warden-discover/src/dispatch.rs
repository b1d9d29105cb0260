//! Which analysers a file goes to, decided by its path alone, then one read.

use std::io::Read as _;
use std::path::Path;

use crate::clients::{ClientFile, client_file};
use crate::containers;
use crate::dependencies::{self, Manifest};
use crate::env_files::{self, KeyFile};
use crate::finding::{Finding, Place};
use crate::mcp_config;
use crate::report::{Problem, Stats};
use crate::scan::Context;
use crate::workloads;

/// Bytes looked at for a NUL byte.
const BINARY_PROBE: usize = 8 * 1024;

/// What a file is read for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Client(ClientFile),
    Manifest(Manifest),
    Keys(KeyFile),
    Dockerfile,
    Compose,
    /// Any other YAML: Kubernetes workloads, when it mentions `kind:` and `containers:`.
    Yaml,
}

fn targets(path: &str) -> Vec<Target> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let mut out = Vec::new();
    out.extend(client_file(path).map(Target::Client));
    out.extend(Manifest::of(name).map(Target::Manifest));
    out.extend(KeyFile::of(path).map(Target::Keys));
    if containers::is_dockerfile(name) {
        out.push(Target::Dockerfile);
    } else if workloads::is_compose(name) {
        out.push(Target::Compose);
    } else if (name.ends_with(".yaml") || name.ends_with(".yml")) && name != "pnpm-lock.yaml" {
        out.push(Target::Yaml);
    }
    out
}

/// Reads `path` if anything analyses it, and runs the analysers; `place`
/// is made only then (most files are not read).
pub(crate) fn analyse_file(
    path: &Path,
    size: u64,
    place: impl FnOnce() -> Place,
    cx: &Context<'_>,
    stats: &mut Stats,
    findings: &mut Vec<Finding>,
    problems: &mut Vec<Problem>,
) {
    let targets = targets(&path.to_string_lossy());
    if targets.is_empty() {
        return;
    }
    let place = &place();
    if size > cx.max_file_bytes {
        stats.skipped_large += 1;
        return;
    }
    let Some(text) = read(path, cx.max_file_bytes, stats) else {
        return;
    };
    let dir = path.parent().unwrap_or(Path::new("/"));
    for target in targets {
        let result = match target {
            Target::Client(file) => mcp_config::analyse(file, &text, place, dir, cx),
            Target::Manifest(manifest) => dependencies::analyse(manifest, &text, place),
            Target::Keys(kind) => Ok(env_files::analyse(kind, &text, place)),
            Target::Dockerfile => {
                let w = containers::dockerfile(&text, place);
                Ok(containers::judge(&w, place, dir, cx).into_iter().collect())
            }
            Target::Compose => workloads::compose(&text).map(|ws| {
                ws.iter()
                    .filter_map(|w| containers::judge(w, place, dir, cx))
                    .collect()
            }),
            Target::Yaml if workloads::may_be_kubernetes(&text) => Ok(workloads::kubernetes(&text)
                .iter()
                .filter_map(|w| containers::judge(w, place, dir, cx))
                .collect()),
            Target::Yaml => Ok(Vec::new()),
        };
        match result {
            Ok(mut found) => findings.append(&mut found),
            Err(message) => {
                stats.unparsable += 1;
                problems.push(Problem {
                    path: place.path.clone(),
                    message: crate::text::short(&message, 200),
                });
            }
        }
    }
}

/// The file's text, or `None` (counted) when it is unreadable or binary.
fn read(path: &Path, max: u64, stats: &mut Stats) -> Option<String> {
    let mut bytes = Vec::new();
    let read = std::fs::File::open(path).and_then(|f| f.take(max + 1).read_to_end(&mut bytes));
    if read.is_err() {
        stats.unreadable += 1;
        return None;
    }
    if bytes.len() as u64 > max {
        stats.skipped_large += 1;
        return None;
    }
    stats.files_read += 1;
    stats.bytes_read += bytes.len() as u64;
    let probe = bytes
        .get(..BINARY_PROBE.min(bytes.len()))
        .unwrap_or_default();
    if memchr::memchr(0, probe).is_some() {
        stats.skipped_binary += 1;
        return None;
    }
    match String::from_utf8(bytes) {
        Ok(text) => Some(text),
        Err(_) => {
            stats.skipped_binary += 1;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_by_path() {
        assert!(targets("/r/src/main.rs").is_empty());
        assert_eq!(targets("/r/.env"), [Target::Keys(KeyFile::Env)]);
        assert_eq!(
            targets("/r/Cargo.toml"),
            [Target::Manifest(Manifest::CargoToml)]
        );
        assert_eq!(targets("/r/k8s/deploy.yaml"), [Target::Yaml]);
        assert_eq!(targets("/r/docker-compose.yml"), [Target::Compose]);
        assert_eq!(
            targets("/r/.github/workflows/ci.yml"),
            [Target::Keys(KeyFile::Ci), Target::Yaml]
        );
        assert_eq!(targets("/r/.continue/config.yaml").len(), 2);
    }
}
