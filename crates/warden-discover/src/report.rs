//! The report: what was scanned, how fast, and the findings; as JSON (its
//! `Serialize` form) or as a table for people.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;

use crate::finding::{Finding, Kind, ValueKind};

/// Counters of one scan.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    /// Files visited (after `.gitignore` and the skipped directories).
    pub files: u64,
    /// Their total size.
    pub bytes: u64,
    /// Files read because their path names something analysed.
    pub files_read: u64,
    /// Bytes read.
    pub bytes_read: u64,
    /// Files not read: a NUL byte in the first 8 KiB, or not UTF-8.
    pub skipped_binary: u64,
    /// Files not read: over the size bound.
    pub skipped_large: u64,
    /// Files or directories that could not be read.
    pub unreadable: u64,
    /// Recognised files that did not parse.
    pub unparsable: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
}

impl Stats {
    pub(crate) fn add(&mut self, other: &Stats) {
        self.files += other.files;
        self.bytes += other.bytes;
        self.files_read += other.files_read;
        self.bytes_read += other.bytes_read;
        self.skipped_binary += other.skipped_binary;
        self.skipped_large += other.skipped_large;
        self.unreadable += other.unreadable;
        self.unparsable += other.unparsable;
    }
}

/// The `scanned` object of the JSON report.
#[derive(Debug, Clone, Serialize)]
pub struct Scanned {
    /// The roots, absolute.
    pub roots: Vec<String>,
    /// Files visited.
    pub files: u64,
    /// Their total size in bytes.
    pub bytes: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Files visited per second.
    pub files_per_second: f64,
    /// Megabytes (10^6 bytes) visited per second.
    pub megabytes_per_second: f64,
    /// Files read for analysis.
    pub files_read: u64,
    /// Bytes read for analysis.
    pub bytes_read: u64,
    /// Files skipped as binary.
    pub skipped_binary: u64,
    /// Files skipped as too large.
    pub skipped_large: u64,
    /// Files or directories that could not be read.
    pub unreadable: u64,
    /// Recognised files that did not parse (see `problems`).
    pub unparsable: u64,
}

/// A recognised file that did not parse.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// The file.
    pub path: String,
    /// The parser's message.
    pub message: String,
}

/// Everything one scan found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The format version: 1.
    pub version: u32,
    /// The host scanned.
    pub host: String,
    /// What was scanned and how fast.
    pub scanned: Scanned,
    /// The findings, by path and line.
    pub findings: Vec<Finding>,
    /// Recognised files that did not parse.
    pub problems: Vec<Problem>,
}

impl Report {
    pub(crate) fn new(
        host: &str,
        roots: &[PathBuf],
        stats: Stats,
        findings: Vec<Finding>,
        problems: Vec<Problem>,
    ) -> Report {
        let per_second = |n: f64| {
            if stats.seconds > 0.0 {
                n / stats.seconds
            } else {
                0.0
            }
        };
        let round = |x: f64| (x * 10.0).round() / 10.0;
        Report {
            version: 1,
            host: host.to_owned(),
            scanned: Scanned {
                roots: roots
                    .iter()
                    .map(|r| r.to_string_lossy().into_owned())
                    .collect(),
                files: stats.files,
                bytes: stats.bytes,
                seconds: (stats.seconds * 1000.0).round() / 1000.0,
                files_per_second: round(per_second(stats.files as f64)),
                megabytes_per_second: round(per_second(stats.bytes as f64 / 1e6)),
                files_read: stats.files_read,
                bytes_read: stats.bytes_read,
                skipped_binary: stats.skipped_binary,
                skipped_large: stats.skipped_large,
                unreadable: stats.unreadable,
                unparsable: stats.unparsable,
            },
            findings,
            problems,
        }
    }

    /// MCP servers and containers that do not go through Warden.
    pub fn bypassing(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.bypasses())
    }

    /// A table for people, with a summary line.
    pub fn table(&self) -> String {
        let rows: Vec<[String; 5]> = self.findings.iter().map(row).collect();
        let headers = ["KIND", "NAME", "SOURCE", "WARDEN", "WHERE"];
        let mut widths = headers.map(str::len);
        for r in &rows {
            for (w, cell) in widths.iter_mut().zip(r) {
                *w = (*w).max(cell.chars().count().min(48));
            }
        }
        let mut out = String::new();
        if !rows.is_empty() {
            line(&mut out, &headers.map(str::to_owned), &widths);
            for r in &rows {
                line(&mut out, r, &widths);
            }
            out.push('\n');
        }
        out.push_str(&self.summary());
        out
    }

    /// `12 findings: …` and the speed line.
    pub fn summary(&self) -> String {
        let count = |k: Kind| self.findings.iter().filter(|f| f.kind == k).count();
        let mcp = count(Kind::McpServer);
        let bypass = self
            .findings
            .iter()
            .filter(|f| f.kind == Kind::McpServer && !f.governed)
            .count();
        let live = self
            .findings
            .iter()
            .filter(|f| f.kind == Kind::ProviderKey && f.value == Some(ValueKind::Literal))
            .count();
        let s = &self.scanned;
        let mut out = format!(
            "{} findings: {mcp} MCP servers ({bypass} bypass Warden), {} agent frameworks, {} provider keys ({live} written in files), {} containers\n",
            self.findings.len(),
            count(Kind::AgentFramework),
            count(Kind::ProviderKey),
            count(Kind::Container),
        );
        let _ = writeln!(
            out,
            "scanned {} files ({:.1} MB) in {:.2} s: {:.0} files/s, {:.1} MB/s; read {} ({:.1} MB); skipped {} binary, {} too large; {} unreadable, {} unparsable",
            s.files,
            s.bytes as f64 / 1e6,
            s.seconds,
            s.files_per_second,
            s.megabytes_per_second,
            s.files_read,
            s.bytes_read as f64 / 1e6,
            s.skipped_binary,
            s.skipped_large,
            s.unreadable,
            s.unparsable,
        );
        out
    }
}

fn row(f: &Finding) -> [String; 5] {
    let source = match f.kind {
        Kind::McpServer => {
            let t = f.transport.map_or("", |t| t.as_str());
            format!("{} ({t})", f.client.as_deref().unwrap_or("unknown"))
        }
        Kind::AgentFramework => format!(
            "{} ({})",
            f.framework.as_deref().unwrap_or_default(),
            f.ecosystem.as_deref().unwrap_or_default()
        ),
        Kind::ProviderKey => format!(
            "{} ({})",
            f.provider.as_deref().unwrap_or_default(),
            f.value.map_or("", ValueKind::as_str)
        ),
        Kind::Container => f
            .secrets
            .first()
            .map_or_else(String::new, |_| match f.secrets.len() {
                1 => "1 provider key".to_owned(),
                n => format!("{n} provider keys"),
            }),
    };
    let warden = match (f.kind, f.governed, f.covered) {
        (Kind::McpServer | Kind::Container, false, _) => "BYPASS".to_owned(),
        (_, true, true) => format!("covered ({})", f.agent.as_deref().unwrap_or_default()),
        (_, true, false) => match &f.agent {
            Some(a) => format!("governed ({a}, unregistered)"),
            None => "governed".to_owned(),
        },
        (_, false, _) => "-".to_owned(),
    };
    let mut warden = warden;
    if f.kind != Kind::ProviderKey && f.has_live_secret() {
        warden.push_str(" +secret");
    }
    [
        f.kind.as_str().to_owned(),
        f.name.clone(),
        source,
        warden,
        format!("{}:{}", f.path, f.line),
    ]
}

fn line(out: &mut String, cells: &[String; 5], widths: &[usize; 5]) {
    let last = cells.len() - 1;
    for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
        if i == last {
            out.push_str(cell);
        } else {
            let _ = write!(out, "{:<w$}  ", crate::text::short(cell, 48), w = *w);
        }
    }
    out.push('\n');
}
