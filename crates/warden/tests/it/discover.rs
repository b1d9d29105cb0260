//! `warden discover` as a user runs it, over the fixture tree of
//! `warden-discover` (copied outside any git repository, with `HOME` pointed
//! away from the user's global gitignore).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::{examples, text};

/// Every fake secret in the fixtures holds this marker, and nothing else does.
const SECRET_MARKER: &str = "WardenFixture";

struct Fixture {
    dir: tempfile::TempDir,
    tree: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    let source =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../warden-discover/tests/fixtures/tree");
    warden_test::copy_dir(&source, &tree);
    Fixture { dir, tree }
}

fn discover(f: &Fixture, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_warden"))
        .arg("--config")
        .arg(examples().join("warden.toml"))
        .arg("--data-dir")
        .arg(f.dir.path().join("data"))
        .arg("discover")
        .arg(&f.tree)
        .args(args)
        .env("HOME", f.dir.path())
        .env("XDG_CONFIG_HOME", f.dir.path())
        .env_remove("WARDEN_STORE")
        .env_remove("WARDEN_ADMIN_TOKEN")
        .env("WARDEN_LOG", "warn")
        .output()
        .unwrap()
}

#[test]
fn table_lists_servers_that_bypass_warden() {
    let f = fixture();
    let out = discover(&f, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.contains("claude_desktop_config.json:3"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        line.starts_with("mcp_server") && line.contains("filesystem") && line.contains("BYPASS"),
        "{line}"
    );
    // research-bot is an agent of the example configuration: covered.
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("shared-files") && l.contains("covered (research-bot)")),
        "{stdout}"
    );
    assert!(
        stdout.contains("49 findings: 22 MCP servers (18 bypass Warden)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("files/s")
            && stdout.contains("MB/s")
            && stdout.contains("skipped 1 binary"),
        "{stdout}"
    );
    assert!(
        text(&out.stderr).contains("registered agents from"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        !stdout.contains("ignored-server") && !stdout.contains("binary-server"),
        "{stdout}"
    );
}

#[test]
fn no_secret_in_table_json_or_sarif() {
    let f = fixture();
    for format in ["table", "json", "sarif"] {
        let out = discover(&f, &["--format", format]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(
            !all.contains(SECRET_MARKER),
            "{format} leaks a secret:\n{all}"
        );
        if format != "table" {
            let value: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert!(value.is_object(), "{format}");
        }
    }
}

#[test]
fn fail_on_bypass_sets_the_exit_status() {
    let f = fixture();
    let out = discover(&f, &["--fail-on", "bypass", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    // Governed only: the Warden-wrapped server alone passes.
    let only = tempfile::tempdir().unwrap();
    std::fs::write(
        only.path().join(".mcp.json"),
        r#"{"mcpServers": {"files": {"command": "warden", "args": ["mcp", "wrap", "--server", "filesystem", "--token-file", "bot.jwt"]}}}"#,
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["discover", "--no-config", "--fail-on", "bypass"])
        .arg(only.path())
        .env("HOME", only.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("governed"),
        "{}",
        text(&out.stdout)
    );
}

/// One HTTP request read by a listener thread: request line, headers, body.
fn serve_once(
    listener: TcpListener,
    answer: &'static str,
) -> std::thread::JoinHandle<(String, Vec<String>, String)> {
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut request_line = String::new();
        reader.read_line(&mut request_line).unwrap();
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line.trim().is_empty() {
                break;
            }
            headers.push(line.trim().to_owned());
        }
        let length: usize = headers
            .iter()
            .find_map(|h| {
                h.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse().unwrap())
            })
            .unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let mut stream = stream;
        write!(
            stream,
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
            answer.len()
        )
        .unwrap();
        (request_line, headers, String::from_utf8(body).unwrap())
    })
}

#[test]
fn report_pushes_the_json_to_warden() {
    let f = fixture();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = serve_once(listener, r#"{"accepted":49}"#);
    let token = f.dir.path().join("admin.token");
    std::fs::write(&token, "wdn_adm_test-token\n").unwrap();
    let out = discover(
        &f,
        &[
            "--format",
            "json",
            "--report",
            &url,
            "--token-file",
            token.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (request_line, headers, body) = server.join().unwrap();
    assert_eq!(
        request_line.trim(),
        "POST /v1/inventory/discoveries HTTP/1.1"
    );
    assert!(
        headers
            .iter()
            .any(|h| h == "authorization: Bearer wdn_adm_test-token"),
        "{headers:?}"
    );
    let sent: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(sent["version"], 1);
    assert_eq!(sent["findings"].as_array().unwrap().len(), 49);
    assert!(!body.contains(SECRET_MARKER));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("reported 49 findings") && stderr.contains(r#"{"accepted":49}"#),
        "{stderr}"
    );
}

#[test]
fn report_without_a_token_says_where_it_looked() {
    let f = fixture();
    let out = discover(&f, &["--report", "http://127.0.0.1:9"]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("admin.token") && stderr.contains("WARDEN_ADMIN_TOKEN"),
        "{stderr}"
    );
}
