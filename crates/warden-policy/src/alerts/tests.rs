use std::path::Path;

use super::*;
use crate::Config;

fn parse(alerts: &str) -> Result<Config, String> {
    let text = format!("trust_domain = \"example.org\"\n\n{alerts}");
    Config::parse("warden.toml", &text, Path::new(".")).map_err(|e| e.to_string())
}

#[test]
fn baseline_rules_lower_with_their_defaults() {
    let config = parse(
        r#"
[[alerts.rules]]
name = "mix"
when = "tool_mix"

[[alerts.rules]]
name = "ratio"
when = "denial_ratio"
per = "instance"
recent = 100
sigma = 6
action = "revoke"

[[alerts.rules]]
name = "shape"
when = "argument_shape"

[[alerts.rules]]
name = "night"
when = "time_of_day"
warm_up_days = 3
utc_offset = "-05:30"

[[alerts.rules]]
name = "tool"
when = "new_tool"
"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let rules = &config.alerts.rules;
    let kinds: Vec<&str> = rules.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "tool_mix",
            "denial_ratio",
            "argument_shape",
            "time_of_day",
            "new_tool"
        ]
    );
    let (mix, ratio, night) = (&rules[0], &rules[1], &rules[3]);
    assert_eq!(
        (mix.recent, mix.threshold, mix.per),
        (50, 10, AlertScope::Agent)
    );
    assert_eq!((mix.warm_up, mix.sigma), (50, 5));
    assert_eq!(
        (
            ratio.recent,
            ratio.threshold,
            ratio.sigma,
            ratio.per,
            ratio.action
        ),
        (100, 5, 6, AlertScope::Instance, AlertAction::Revoke)
    );
    assert_eq!((night.warm_up_days, night.utc_offset_minutes), (3, -330));
    assert_eq!(rules[2].utc_offset_minutes, 0, "UTC unless configured");
}

#[test]
fn mistakes_name_the_file_line_and_field() {
    for (rule, field, message) in [
        (
            "when = \"tool_mixx\"",
            "alerts.rules[0].when",
            "unknown rule kind `tool_mixx`",
        ),
        (
            "when = \"tool_mix\"\nper = \"node\"",
            "alerts.rules[0].per",
            "unknown scope `node` (expected agent or instance)",
        ),
        (
            "when = \"denial_ratio\"\naction = \"kill\"",
            "alerts.rules[0].action",
            "unknown action `kill` (expected notify, suspend or revoke)",
        ),
        (
            "when = \"tool_mix\"\nrecent = 5",
            "alerts.rules[0].recent",
            "`recent` is 5: it must be between 10 and 1000 actions",
        ),
        (
            "when = \"tool_mix\"\nrecent = 20\nthreshold = 21",
            "alerts.rules[0].threshold",
            "1 to 20, not 21",
        ),
        (
            "when = \"time_of_day\"\nutc_offset = \"CET\"",
            "alerts.rules[0].utc_offset",
            "`CET` is not an offset from UTC like `+01:00` or `-05:30`",
        ),
        (
            "when = \"time_of_day\"\nutc_offset = \"+15:00\"",
            "alerts.rules[0].utc_offset",
            "`+15:00` is not an offset",
        ),
    ] {
        let error = parse(&format!("[[alerts.rules]]\nname = \"r\"\n{rule}\n"))
            .err()
            .unwrap_or_else(|| panic!("`{rule}` was accepted"));
        assert!(error.contains("warden.toml:3"), "{error}");
        assert!(error.contains(field), "{error}");
        assert!(error.contains(message), "{error}");
    }
}

#[test]
fn offsets_from_utc() {
    use super::lower::utc_offset;
    assert_eq!(utc_offset("+00:00"), Some(0));
    assert_eq!(utc_offset("+14:00"), Some(840));
    assert_eq!(utc_offset("-09:30"), Some(-570));
    assert_eq!(utc_offset("+05:45"), Some(345));
    for bad in [
        "", "+1:00", "01:00", "+01:60", "+01-00", "+aa:bb", "+14:01", "+01:10",
    ] {
        assert_eq!(utc_offset(bad), None, "{bad}");
    }
}
