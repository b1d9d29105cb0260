//! `warden classify [FILE|-] [--jsonl|--json]`: find sensitive data in text
//! or in a JSON document.

use std::io::{BufRead, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use serde_json::json;
use warden_classify::{Finding, JsonSink, Positions};

#[derive(Debug, Args)]
pub(crate) struct ClassifyArgs {
    /// The file to read; `-` or nothing reads standard input.
    file: Option<PathBuf>,
    /// Read one JSON object `{"text": …}` per line; write one `{"findings": […]}` line per input.
    #[arg(long, conflicts_with = "json")]
    jsonl: bool,
    /// Read one JSON document; findings name the JSON path of the value
    /// they are in, with the nearest key as context (as the gateway reads
    /// arguments and results).
    #[arg(long)]
    json: bool,
}

fn finding_json(at: &mut Positions<'_>, f: &Finding) -> serde_json::Value {
    let (_, start) = at.at(f.start);
    let (_, end) = at.at(f.end);
    // Two decimals: the f32 confidence would otherwise print as 0.949999988….
    let confidence = (f64::from(f.confidence) * 100.0).round() / 100.0;
    json!({"type": f.detector, "class": f.class, "start": start, "end": end, "confidence": confidence})
}

/// The lines of `warden classify --json`: the path and the span in the
/// value, never the value itself.
struct FindingLines<'a> {
    name: &'a str,
    out: Vec<u8>,
    count: usize,
    /// Each confidence seen (its bits), as `{:.2}` writes it.
    confidences: Vec<(u32, String)>,
}

impl JsonSink for FindingLines<'_> {
    fn push(&mut self, path: &str, _text: &str, f: Finding) {
        // Written by hand, as `{name}:{path}: {detector:<16} {class:<18}
        // bytes {start}..{end}  confidence {confidence:.2}`: through
        // `writeln!` the padding and the float took a fifth of the run.
        self.count += 1;
        let pad = |out: &mut Vec<u8>, s: &str, width: usize| {
            out.extend_from_slice(s.as_bytes());
            let n = width.saturating_sub(s.chars().count());
            out.resize(out.len() + n, b' ');
        };
        let out = &mut self.out;
        out.extend_from_slice(self.name.as_bytes());
        out.push(b':');
        out.extend_from_slice(path.as_bytes());
        out.extend_from_slice(b": ");
        pad(out, f.detector, 16);
        out.push(b' ');
        pad(out, &f.class, 18);
        // Writing to a `Vec` cannot fail.
        let _ = write!(out, " bytes {}..{}  confidence ", f.start, f.end);
        let bits = f.confidence.to_bits();
        match self.confidences.iter().find(|(b, _)| *b == bits) {
            Some((_, text)) => out.extend_from_slice(text.as_bytes()),
            None => {
                let text = format!("{:.2}", f.confidence);
                out.extend_from_slice(text.as_bytes());
                self.confidences.push((bits, text));
            }
        }
        out.push(b'\n');
    }

    fn clear(&mut self) {
        self.out.clear();
        self.count = 0;
    }
}

pub(crate) fn run(common: &crate::common::Common, args: ClassifyArgs) -> anyhow::Result<ExitCode> {
    // The detectors warden.toml configures (`[classify]`), as the gateway runs them.
    let source = common.source();
    let config = common.load_config(&source)?;
    let classifier = warden_gateway::build_classifier(&config)
        .with_context(|| format!("cannot build the classifier of {}", source.describe()))?;
    let (name, mut input): (String, Box<dyn BufRead>) = match &args.file {
        None => (
            "<stdin>".into(),
            Box::new(std::io::BufReader::new(std::io::stdin())),
        ),
        Some(p) if p.as_os_str() == "-" => (
            "<stdin>".into(),
            Box::new(std::io::BufReader::new(std::io::stdin())),
        ),
        Some(p) => (
            p.display().to_string(),
            Box::new(std::io::BufReader::new(
                std::fs::File::open(p).with_context(|| format!("cannot read `{}`", p.display()))?,
            )),
        ),
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if args.json {
        let mut text = String::new();
        input
            .read_to_string(&mut text)
            .with_context(|| format!("`{name}` is not UTF-8 text"))?;
        // Walked as it is parsed, no tree built; the lines wait in memory
        // until the whole text has proved to be one JSON document, so that
        // one that is not prints its error and nothing else.
        let mut lines = FindingLines {
            name: &name,
            out: Vec::new(),
            count: 0,
            confidences: Vec::new(),
        };
        classifier
            .classify_json_text(&text, &mut lines)
            .map_err(|e| anyhow::anyhow!("`{name}` {e}"))?;
        writeln!(lines.out, "{} findings", lines.count)?;
        out.write_all(&lines.out)?;
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    if !args.jsonl {
        let mut text = String::new();
        input
            .read_to_string(&mut text)
            .with_context(|| format!("`{name}` is not UTF-8 text"))?;
        let mut findings = classifier.classify_text(&text);
        // In order, so that positions are found in one walk of the text.
        findings.sort_by_key(|f| (f.start, f.end));
        let mut at = Positions::new(&text);
        for f in &findings {
            let (line, start) = at.at(f.start);
            let (_, end) = at.at(f.end);
            writeln!(
                out,
                "{name}:{line}: {:<16} {:<18} chars {start}..{end}  confidence {:.2}",
                f.detector, f.class, f.confidence
            )?;
        }
        writeln!(out, "{} findings", findings.len())?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut bad = 0usize;
    for (n, line) in input.lines().enumerate() {
        let line = line.with_context(|| format!("`{name}` line {}: not UTF-8", n + 1))?;
        let text = serde_json::from_str::<serde_json::Value>(&line)
            .map_err(|e| format!("invalid JSON: {e}"))
            .and_then(|v| match v.get("text").and_then(|t| t.as_str()) {
                Some(t) => Ok(t.to_owned()),
                None => Err("expected an object with a string field `text`".to_owned()),
            });
        let answer = match text {
            Ok(text) => {
                let mut findings = classifier.classify_text(&text);
                findings.sort_by_key(|f| (f.start, f.end));
                let mut at = Positions::new(&text);
                let findings: Vec<_> = findings.iter().map(|f| finding_json(&mut at, f)).collect();
                json!({"findings": findings})
            }
            Err(message) => {
                bad += 1;
                json!({"error": {"line": n + 1, "message": message}})
            }
        };
        writeln!(out, "{answer}")?;
    }
    out.flush()?;
    if bad > 0 {
        eprintln!("{bad} input lines of `{name}` could not be read (see their `error` lines)");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
