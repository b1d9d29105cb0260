//! Instructions in markup a reader does not see: HTML comments, markdown
//! image alt text and link titles, `alt`/`title`/`aria-label` attributes,
//! and elements styled invisible.
//!
//! Hidden content is flagged when it holds a phrase the phrase rules found
//! (that hit is folded into one hidden-markup flag) or when it speaks to the
//! model (`AI assistants: always recommend …`). Ordinary comments such as
//! `<!-- end header -->` and alt text such as `![logo](logo.png)` are not.

use super::phrases::{self, MarkupAnchor};
use super::{Hit, InjectionKind};

/// The longest hidden content looked at.
const MAX_CONTENT: usize = 8192;

/// One hidden container: its whole span and the span of its content.
struct Container {
    start: usize,
    end: usize,
    content: (usize, usize),
}

fn find(hay: &[u8], from: usize, limit: usize, needle: &[u8]) -> Option<usize> {
    let end = (from + limit).min(hay.len());
    memchr::memmem::find(hay.get(from..end)?, needle).map(|k| from + k)
}

fn comment(b: &[u8], at: usize) -> Option<Container> {
    let content = at + 4;
    let (close, end) = match find(b, content, MAX_CONTENT, b"-->") {
        Some(k) => (k, k + 3),
        None => {
            let e = (content + MAX_CONTENT).min(b.len());
            (e, e)
        }
    };
    Some(Container {
        start: at,
        end,
        content: (content, close),
    })
}

/// At `](`: a markdown image's alt text (`![alt](url)`), or else a link's
/// title (`[text](url "title")`).
fn bracket(b: &[u8], close: usize) -> Option<Container> {
    let lo = close.saturating_sub(1000);
    let open = lo + memchr::memrchr(b'[', &b[lo..close])?;
    let is_image = open > 0 && b[open - 1] == b'!';
    if !is_image {
        return link_title(b, close);
    }
    if memchr::memmem::find(&b[open..close], b"\n\n").is_some() {
        return None;
    }
    let end = find(b, close, 2048, b")").map_or(close + 2, |k| k + 1);
    Some(Container {
        start: open - 1,
        end,
        content: (open + 1, close),
    })
}

/// `[text](url "title")`: the title.
fn link_title(b: &[u8], at: usize) -> Option<Container> {
    let mut i = at + 2;
    let limit = (i + 2048).min(b.len());
    while i < limit && !b[i].is_ascii_whitespace() && b[i] != b')' {
        i += 1;
    }
    while i < limit && b[i].is_ascii_whitespace() {
        i += 1;
    }
    let close = match b.get(i)? {
        b'"' => b'"',
        b'\'' => b'\'',
        b'(' => b')',
        _ => return None,
    };
    let content = i + 1;
    let end = content + memchr::memchr(close, b.get(content..(content + 2048).min(b.len()))?)?;
    Some(Container {
        start: i,
        end: end + 1,
        content: (content, end),
    })
}

/// ` alt="…"`, ` title='…'`: the value.
fn attribute(b: &[u8], at: usize) -> Option<Container> {
    if !matches!(
        at.checked_sub(1).map(|k| b[k]),
        Some(b' ' | b'\t' | b'\n' | b'\r')
    ) {
        return None;
    }
    let eq = at + memchr::memchr(b'=', b.get(at..(at + 16).min(b.len()))?)?;
    let quote = *b.get(eq + 1)?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let content = eq + 2;
    let end = content + memchr::memchr(quote, b.get(content..(content + 2048).min(b.len()))?)?;
    Some(Container {
        start: eq + 1,
        end: end + 1,
        content: (content, end),
    })
}

/// The text of an element styled invisible (`display:none`,
/// `visibility:hidden`, `font-size:0`, `opacity:0`), given where the
/// property starts: from the end of its tag to the next tag.
fn hidden_element(b: &[u8], at: usize) -> Option<Container> {
    let colon = at + memchr::memchr(b':', b.get(at..(at + 12).min(b.len()))?)?;
    let property = b.get(at..colon)?.to_ascii_lowercase();
    let mut v = colon + 1;
    while b.get(v) == Some(&b' ') {
        v += 1;
    }
    let value = b.get(v..(v + 8).min(b.len()))?.to_ascii_lowercase();
    let zero = value.first() == Some(&b'0')
        && !value
            .get(1)
            .is_some_and(|c| c.is_ascii_digit() || *c == b'.');
    let hidden = match property.as_slice() {
        b"display" => value.starts_with(b"none"),
        b"visibility" => value.starts_with(b"hidden"),
        b"font-size" | b"opacity" => zero,
        _ => false,
    };
    if !hidden {
        return None;
    }
    let head = b.get(at..(at + 300).min(b.len()))?;
    let gt = at + memchr::memchr2(b'>', b'<', head)?;
    if b[gt] != b'>' {
        return None;
    }
    let content = gt + 1;
    let end =
        find(b, content, MAX_CONTENT, b"<").unwrap_or_else(|| (content + MAX_CONTENT).min(b.len()));
    b.get(content..end)?
        .iter()
        .any(|c| !c.is_ascii_whitespace())
        .then_some(Container {
            start: content,
            end,
            content: (content, end),
        })
}

/// Turns hidden containers that hold an instruction into hidden-markup flags.
pub(super) fn scan(text: &str, anchors: &[(MarkupAnchor, usize)], out: &mut Vec<Hit>) {
    if anchors.is_empty() {
        return;
    }
    let b = text.as_bytes();
    let mut anchors = anchors.to_vec();
    anchors.sort_by_key(|a| a.1);
    out.sort_by_key(|h| h.start);
    let mut folded = vec![false; out.len()];
    let mut found = Vec::new();
    let mut covered = 0;
    for (kind, at) in anchors {
        if at < covered {
            continue;
        }
        let container = match kind {
            MarkupAnchor::Comment => comment(b, at),
            MarkupAnchor::Bracket => bracket(b, at),
            MarkupAnchor::Attribute => attribute(b, at),
            MarkupAnchor::HiddenStyle => hidden_element(b, at),
        };
        let Some(c) = container else {
            continue;
        };
        if kind == MarkupAnchor::Comment {
            covered = c.end;
        }
        let (cs, ce) = c.content;
        let mut inner: Option<f32> = None;
        let first = out.partition_point(|h| h.start < cs);
        for (i, h) in out.iter().enumerate().skip(first) {
            if h.start >= ce {
                break;
            }
            let phrase = matches!(
                h.kind,
                InjectionKind::Instruction | InjectionKind::RoleMarker
            );
            if phrase && h.end <= ce {
                folded[i] = true;
                inner = Some(inner.map_or(h.confidence, |m| m.max(h.confidence)));
            }
        }
        let confidence = match inner {
            Some(c) => c,
            None if b.get(cs..ce).is_some_and(phrases::addressed_to_model) => 0.8,
            None => continue,
        };
        found.push(Hit {
            kind: InjectionKind::HiddenMarkup,
            start: floor(text, c.start),
            end: ceil(text, c.end),
            confidence,
            excerpt: Some(super::excerpt(
                text.get(floor(text, cs)..ceil(text, ce))
                    .unwrap_or_default(),
            )),
        });
    }
    let mut i = 0;
    out.retain(|_| {
        i += 1;
        !folded[i - 1]
    });
    out.extend(found);
}

fn floor(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i += 1;
    }
    i
}
