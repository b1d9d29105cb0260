//! A deterministic corpus for the benchmark: English-like prose with sparse
//! sensitive lines (about one per 4 KiB), numbers, dates, versions and
//! non-ASCII words, so every anchor fires now and then.

/// SplitMix64: small, deterministic, good enough to pick words.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items.get(self.below(items.len())).copied().unwrap_or("")
    }
}

const WORDS: &[&str] = &[
    "the",
    "agent",
    "reads",
    "a",
    "record",
    "and",
    "then",
    "sends",
    "summary",
    "to",
    "team",
    "of",
    "in",
    "for",
    "with",
    "policy",
    "server",
    "tool",
    "request",
    "result",
    "data",
    "is",
    "was",
    "will",
    "customer",
    "account",
    "report",
    "quarter",
    "review",
    "meeting",
    "notes",
    "über",
    "café",
    "naïve",
    "résumé",
    "Zürich",
    "déjà",
    "vu",
    "secretary",
    "tokenism",
    "Asia",
    "public",
    "cubic",
    "confidentiality",
    "born",
    "this",
    "that",
    "from",
    "at",
    "by",
    "on",
    "after",
    "before",
    "during",
    "invoice",
    "shipment",
    "warehouse",
    "engineer",
];

const FILLERS: &[&str] = &[
    "in 2024",
    "page 42",
    "3 items",
    "v1.2.3",
    "at 10:30",
    "on 2024-01-15",
    "about 17%",
    "version 1.2.3.4",
    "order 12345678901234567890",
    "room 101",
    "1,250 units",
    "x2",
];

const SENSITIVE: &[&str] = &[
    "Contact jane.doe@example.com for details.",
    "Card 4111 1111 1111 1111 was charged.",
    "IBAN GB82 WEST 1234 5698 7654 32 on file.",
    "key AKIAIOSFODNN7EXAMPLE leaked",
    "token ghp_16C7e42F292c6912E7710c838347Ae178B4a here",
    "SSN 536-22-8714 on the form.",
    "Call +44 20 7946 0958 now.",
    "from 192.168.10.4 yesterday",
    "mail jürgen@bücher.de bitte",
    "postgres://app:s3cr3t-Pa55@db.internal/app",
];

/// About `bytes` bytes of prose (a little more, ending at a sentence),
/// the same for the same `seed`.
pub fn prose(bytes: usize, seed: u64) -> String {
    let mut rng = Rng(seed);
    let mut out = String::with_capacity(bytes + 256);
    let mut since_sensitive = 0;
    while out.len() < bytes {
        let start = out.len();
        let words = 8 + rng.below(12);
        for i in 0..words {
            let w = rng.pick(WORDS);
            if i == 0 {
                let mut cs = w.chars();
                if let Some(c) = cs.next() {
                    out.extend(c.to_uppercase());
                    out.push_str(cs.as_str());
                }
            } else {
                out.push(' ');
                out.push_str(w);
            }
            if rng.below(20) == 0 {
                out.push(' ');
                out.push_str(rng.pick(FILLERS));
            }
        }
        out.push_str(". ");
        if rng.below(8) == 0 {
            out.push('\n');
        }
        since_sensitive += out.len() - start;
        if since_sensitive > 4096 {
            since_sensitive = 0;
            out.push_str(rng.pick(SENSITIVE));
            out.push('\n');
        }
    }
    out
}

/// A JSON array of about `bytes` bytes of customer-like records, mostly
/// harmless prose with a sensitive field now and then.
pub fn records_json(bytes: usize, seed: u64) -> String {
    let mut rng = Rng(seed);
    let mut items = Vec::new();
    let mut size = 0;
    let mut n = 0u64;
    while size < bytes {
        n += 1;
        let notes = prose(200 + rng.below(400), seed ^ n);
        let mut item = serde_json::json!({
            "id": n,
            "name": rng.pick(WORDS),
            "notes": notes,
            "tags": [rng.pick(WORDS), rng.pick(WORDS)],
            "amount": rng.below(100_000),
        });
        if rng.below(10) == 0 {
            item["iban"] = "DE89 3704 0044 0532 0130 00".into();
            item["email"] = "ann@example.com".into();
        }
        let text = item.to_string();
        size += text.len() + 1;
        items.push(item);
    }
    serde_json::Value::Array(items).to_string()
}

const PAGE_PARTS: &[&str] = &[
    "<div class=\"card\">",
    "</div>\n",
    "<!-- sidebar -->",
    "<a href=\"/docs/start\" title=\"Getting started\">docs</a>",
    "<img src=\"/img/team.png\" alt=\"The team at the offsite\">",
    "<span style=\"display:none\">Loading</span>",
    "<ul><li>one</li><li>two</li></ul>\n",
    "![diagram](/img/flow.svg)",
    "[the changelog](https://example.com/changes \"Release notes\")",
    "<img src=\"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==\">",
    "## Overview\n",
    "<h2 id=\"faq\">FAQ</h2>\n",
];

/// About `bytes` bytes of an ordinary web page: the prose of [`prose`] in
/// paragraphs, with tags, comments, links with titles, images with alt
/// text, hidden elements, markdown and a base64 image now and then, and no
/// injection.
pub fn web_page(bytes: usize, seed: u64) -> String {
    let mut rng = Rng(seed ^ 0x5EED);
    let mut out = String::with_capacity(bytes + 512);
    out.push_str("<!DOCTYPE html>\n<html><head><title>Acme</title></head><body>\n");
    let mut n = 0u64;
    while out.len() < bytes {
        n += 1;
        out.push_str("<p>");
        out.push_str(&prose(200 + rng.below(600), seed ^ n));
        out.push_str("</p>\n");
        for _ in 0..rng.below(4) {
            out.push_str(rng.pick(PAGE_PARTS));
        }
    }
    out.push_str("</body></html>\n");
    out
}
