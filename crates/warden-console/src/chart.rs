//! Charts drawn as SVG on the server: no script, no canvas, readable in
//! both colour schemes (colours come from the stylesheet), with a text
//! alternative.

use std::fmt::Write as _;

use crate::html::esc;

/// The series of [`minute_bars`], in stacking order: (label, CSS class).
pub const OUTCOMES: [(&str, &str); 3] = [
    ("allow", "s-allow"),
    ("deny", "s-deny"),
    ("needs_approval", "s-approval"),
];

/// Stacked bars, one per minute, oldest first: `counts[i]` holds the
/// allow, deny and needs-approval counts of minute `i`. `label` is the
/// chart's accessible name.
pub fn minute_bars(id: &str, label: &str, counts: &[[u64; 3]]) -> String {
    let (width, height, pad) = (600.0_f64, 160.0_f64, 24.0_f64);
    let max = counts
        .iter()
        .map(|c| c.iter().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let slot = (width - pad) / counts.len().max(1) as f64;
    let scale = (height - pad) / max as f64;
    let mut out = format!(
        "<svg id=\"{id}\" class=\"chart\" viewBox=\"0 0 {width} {height}\" role=\"img\" \
         aria-label=\"{}\" preserveAspectRatio=\"none\">",
        esc(label)
    );
    let _ = write!(
        out,
        "<text class=\"axis\" x=\"0\" y=\"12\">{max}</text>\
         <line class=\"grid\" x1=\"{pad}\" y1=\"{}\" x2=\"{width}\" y2=\"{}\"/>",
        height - pad,
        height - pad
    );
    for (i, minute) in counts.iter().enumerate() {
        let x = pad + i as f64 * slot;
        let mut y = height - pad;
        for (value, (name, class)) in minute.iter().zip(OUTCOMES) {
            if *value == 0 {
                continue;
            }
            let h = *value as f64 * scale;
            y -= h;
            let _ = write!(
                out,
                "<rect class=\"{class}\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{h:.1}\">\
                 <title>{value} {name}</title></rect>",
                (slot - 1.0).max(1.0)
            );
        }
    }
    let _ = write!(
        out,
        "<text class=\"axis\" x=\"{pad}\" y=\"{}\">−{} min</text>\
         <text class=\"axis\" x=\"{}\" y=\"{}\" text-anchor=\"end\">now</text></svg>",
        height - 6.0,
        counts.len(),
        width,
        height - 6.0
    );
    out
}

/// Horizontal bars for a ranked list: (label, count), largest first.
pub fn ranked_bars(id: &str, label: &str, items: &[(String, u64)]) -> String {
    let max = items.iter().map(|(_, c)| *c).max().unwrap_or(1).max(1);
    let mut out = format!(
        "<ol id=\"{id}\" class=\"ranked\" aria-label=\"{}\">",
        esc(label)
    );
    for (text, count) in items {
        let share = (*count as f64 / max as f64 * 100.0).round();
        let _ = write!(
            out,
            "<li><span class=\"rank-label\">{}</span><span class=\"rank-count\">{count}</span>\
             <svg class=\"rank-bar\" viewBox=\"0 0 100 6\" preserveAspectRatio=\"none\" aria-hidden=\"true\">\
             <rect class=\"s-deny\" x=\"0\" y=\"0\" width=\"{share}\" height=\"6\"/></svg></li>",
            esc(text)
        );
    }
    out.push_str("</ol>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_busiest_minute() {
        let svg = minute_bars("c", "decisions", &[[1, 0, 0], [2, 1, 1], [0, 0, 0]]);
        assert!(svg.starts_with("<svg id=\"c\""));
        assert_eq!(svg.matches("<rect").count(), 4);
        assert!(svg.contains(">4</text>"), "{svg}");
        assert!(svg.contains("<title>1 needs_approval</title>"));
    }

    #[test]
    fn ranked_labels_are_escaped() {
        let html = ranked_bars("r", "reasons", &[("<script>".into(), 3)]);
        assert!(html.contains("&lt;script&gt;") && !html.contains("<script>"));
    }
}
