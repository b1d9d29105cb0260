//! The walk: every root in parallel, honouring `.gitignore`, `.ignore` and
//! git's excludes (also outside git repositories), hidden files included,
//! `.git`, `.hg`, `.svn` and `node_modules` skipped. Each file whose path
//! names something we read (see [`crate::dispatch`]) is read once, up to
//! [`ScanOptions::max_file_bytes`], and skipped when it holds a NUL byte in
//! its first 8 KiB or is not UTF-8 (binary).

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use ignore::{DirEntry, ParallelVisitor, ParallelVisitorBuilder, WalkBuilder, WalkState};

use crate::DiscoverError;
use crate::dispatch::analyse_file;
use crate::finding::{Finding, Kind, Place};
use crate::governance::Gateways;
use crate::report::{Problem, Report, Stats};

/// Directories never entered: version control metadata and installed
/// JavaScript packages (their `package.json` files are not the project's).
pub const SKIPPED_DIRS: &[&str] = &[".git", ".hg", ".svn", "node_modules"];

/// The default bound on a file read for parsing: 8 MiB.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// At most this many parse problems are kept in a report.
const MAX_PROBLEMS: usize = 200;

/// What to scan and how.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Files and directories to scan.
    pub roots: Vec<PathBuf>,
    /// Where Warden gateways listen (URL entries under them are governed).
    pub gateways: Gateways,
    /// The registered agents: a governed entry acting as one is covered.
    pub registered_agents: BTreeSet<String>,
    /// Files larger than this are counted, not read.
    pub max_file_bytes: u64,
    /// Walker threads; 0 picks one per CPU.
    pub threads: usize,
    /// Globs (gitignore syntax) of paths not to enter or read.
    pub exclude: Vec<String>,
    /// The host name the report carries.
    pub host: String,
    /// Honour the user's global gitignore (`core.excludesFile`) too.
    pub global_gitignore: bool,
}

impl ScanOptions {
    /// Defaults for `roots`: Warden's default gateway, no registered
    /// agents, 8 MiB, one thread per CPU, no excludes, host `unknown`, the
    /// global gitignore honoured.
    pub fn new(roots: Vec<PathBuf>) -> ScanOptions {
        ScanOptions {
            roots,
            gateways: Gateways::default(),
            registered_agents: BTreeSet::new(),
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            threads: 0,
            exclude: Vec::new(),
            host: "unknown".to_owned(),
            global_gitignore: true,
        }
    }
}

/// What analysers need besides the file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Context<'a> {
    pub(crate) gateways: &'a Gateways,
    pub(crate) registered: &'a BTreeSet<String>,
    pub(crate) max_file_bytes: u64,
}

/// Scans the roots and reports what it found.
pub fn scan(options: &ScanOptions) -> Result<Report, DiscoverError> {
    let started = Instant::now();
    let roots = options
        .roots
        .iter()
        .map(|r| {
            std::fs::canonicalize(r).map_err(|source| DiscoverError::Root {
                path: r.clone(),
                source,
            })
        })
        .collect::<Result<Vec<PathBuf>, DiscoverError>>()?;
    let (first, rest) = roots.split_first().ok_or(DiscoverError::NoRoots)?;
    let mut builder = WalkBuilder::new(first);
    for root in rest {
        builder.add(root);
    }
    builder
        .hidden(false)
        .require_git(false)
        .git_global(options.global_gitignore)
        .follow_links(false)
        .threads(options.threads)
        .filter_entry(|e| {
            let dir = e.file_type().is_some_and(|t| t.is_dir());
            !(dir
                && e.file_name()
                    .to_str()
                    .is_some_and(|n| SKIPPED_DIRS.contains(&n)))
        });
    if !options.exclude.is_empty() {
        let mut overrides = ignore::overrides::OverrideBuilder::new("/");
        for glob in &options.exclude {
            overrides
                .add(&format!("!{glob}"))
                .map_err(|e| DiscoverError::Exclude {
                    glob: glob.clone(),
                    reason: e.to_string(),
                })?;
        }
        let built = overrides.build().map_err(|e| DiscoverError::Exclude {
            glob: options.exclude.join(", "),
            reason: e.to_string(),
        })?;
        builder.overrides(built);
    }
    let shared = Shared::default();
    let cx = Context {
        gateways: &options.gateways,
        registered: &options.registered_agents,
        max_file_bytes: options.max_file_bytes,
    };
    builder.build_parallel().visit(&mut Builder {
        shared: &shared,
        roots: &roots,
        cx,
    });
    let mut findings = shared
        .findings
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    let mut stats = shared.stats.into_inner().unwrap_or_else(|e| e.into_inner());
    let mut problems = shared
        .problems
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    drop_locked_duplicates(&mut findings);
    findings.sort_by(|a, b| {
        (&a.path, a.line, a.kind, &a.name).cmp(&(&b.path, b.line, b.kind, &b.name))
    });
    problems.sort_by(|a, b| a.path.cmp(&b.path));
    problems.truncate(MAX_PROBLEMS);
    stats.seconds = started.elapsed().as_secs_f64();
    Ok(Report::new(
        &options.host,
        &roots,
        stats,
        findings,
        problems,
    ))
}

/// A package declared in a manifest is reported there, not again from the
/// lock file beside it.
fn drop_locked_duplicates(findings: &mut Vec<Finding>) {
    let dir = |f: &Finding| {
        f.path
            .rsplit_once('/')
            .map_or(String::new(), |(d, _)| d.to_owned())
    };
    let declared: HashSet<(String, Option<String>, String)> = findings
        .iter()
        .filter(|f| f.kind == Kind::AgentFramework && !f.from_lock)
        .map(|f| (dir(f), f.ecosystem.clone(), f.name.clone()))
        .collect();
    findings.retain(|f| {
        !f.from_lock || !declared.contains(&(dir(f), f.ecosystem.clone(), f.name.clone()))
    });
}

#[derive(Default)]
struct Shared {
    findings: Mutex<Vec<Finding>>,
    stats: Mutex<Stats>,
    problems: Mutex<Vec<Problem>>,
}

struct Builder<'s> {
    shared: &'s Shared,
    roots: &'s [PathBuf],
    cx: Context<'s>,
}

impl<'s> ParallelVisitorBuilder<'s> for Builder<'s> {
    fn build(&mut self) -> Box<dyn ParallelVisitor + 's> {
        Box::new(Visitor {
            shared: self.shared,
            roots: self.roots,
            cx: self.cx,
            findings: Vec::new(),
            stats: Stats::default(),
            problems: Vec::new(),
        })
    }
}

/// One walker thread: collects locally, merges into [`Shared`] when dropped.
struct Visitor<'s> {
    shared: &'s Shared,
    roots: &'s [PathBuf],
    cx: Context<'s>,
    findings: Vec<Finding>,
    stats: Stats,
    problems: Vec<Problem>,
}

impl ParallelVisitor for Visitor<'_> {
    fn visit(&mut self, entry: Result<DirEntry, ignore::Error>) -> WalkState {
        let entry = match entry {
            Ok(entry) => entry,
            Err(_) => {
                self.stats.unreadable += 1;
                return WalkState::Continue;
            }
        };
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            return WalkState::Continue;
        }
        let path = entry.path();
        let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
        self.stats.files += 1;
        self.stats.bytes += size;
        let (roots, cx) = (self.roots, self.cx);
        analyse_file(
            path,
            size,
            || place(roots, path),
            &cx,
            &mut self.stats,
            &mut self.findings,
            &mut self.problems,
        );
        WalkState::Continue
    }
}

/// Where `path` is: its root (the first that holds it) and its path under it.
fn place(roots: &[PathBuf], path: &Path) -> Place {
    let (root, relative) = roots
        .iter()
        .enumerate()
        .find_map(|(i, r)| {
            let rel = path.strip_prefix(r).ok()?;
            let rel = if rel.as_os_str().is_empty() {
                Path::new(path.file_name()?)
            } else {
                rel
            };
            Some((i, rel.to_string_lossy().into_owned()))
        })
        .unwrap_or_else(|| (0, path.to_string_lossy().into_owned()));
    Place {
        root,
        path: path.to_string_lossy().into_owned(),
        relative,
    }
}

impl Drop for Visitor<'_> {
    fn drop(&mut self) {
        let mut findings = self
            .shared
            .findings
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        findings.append(&mut self.findings);
        drop(findings);
        self.shared
            .stats
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .add(&self.stats);
        let mut problems = self
            .shared
            .problems
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        problems.append(&mut self.problems);
    }
}
