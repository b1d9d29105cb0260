//! Warden's discovery of agents and agent tooling that Warden does not
//! govern yet: a static, offline, read-only scan of hosts and repositories.
//!
//! It finds
//! - MCP server entries in MCP client configurations (Claude Desktop, Claude
//!   Code, Cursor, VS Code, Windsurf, Zed, Continue, Cline, Roo Code, Goose,
//!   Gemini CLI, Codex, Amazon Q, LM Studio, opencode, Kiro, …), and whether
//!   each goes through `warden mcp wrap` or a Warden `/mcp/` URL;
//! - agent frameworks, MCP SDKs and LLM SDKs in dependency manifests and
//!   lock files (Python, JavaScript/TypeScript, Rust, Go, Java, .NET);
//! - LLM provider keys in env files, shell profiles and CI configuration, by
//!   name, provider and fingerprint, never by value;
//! - Dockerfiles, Compose services and Kubernetes workloads that run any of
//!   the above.
//!
//! The walk is parallel and honours `.gitignore` (the `ignore` crate, as in
//! ripgrep); only files whose path names something analysed are read.
//!
//! ```
//! use warden_discover::{Kind, ScanOptions, scan};
//!
//! let dir = tempfile::tempdir()?;
//! std::fs::create_dir(dir.path().join(".cursor"))?;
//! std::fs::write(
//!     dir.path().join(".cursor/mcp.json"),
//!     r#"{"mcpServers": {"github": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-github"]}}}"#,
//! )?;
//! let report = scan(&ScanOptions::new(vec![dir.path().to_owned()]))?;
//! let server = &report.findings[0];
//! assert_eq!((server.kind, server.name.as_str()), (Kind::McpServer, "github"));
//! assert!(!server.governed);
//! let sarif = warden_discover::to_sarif(&report);
//! assert_eq!(sarif["version"], "2.1.0");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod clients;
mod containers;
mod dependencies;
mod dispatch;
mod env_files;
mod error;
mod finding;
mod frameworks;
mod governance;
mod manifest_toml;
mod mcp_config;
mod mcp_layouts;
mod redact;
mod report;
mod sarif;
mod scan;
mod secrets;
mod text;
mod workloads;

pub use error::DiscoverError;
pub use finding::{Finding, Kind, SecretRef, Transport, ValueKind};
pub use governance::Gateways;
pub use report::{Problem, Report, Scanned, Stats};
pub use sarif::{SARIF_SCHEMA, to_sarif};
pub use scan::{DEFAULT_MAX_FILE_BYTES, SKIPPED_DIRS, ScanOptions, scan};
