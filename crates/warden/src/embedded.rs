//! The example set, compiled in, so that `warden serve` runs anywhere.

use warden_gateway::ConfigSource;

/// The embedded example configuration, manifests and policies.
pub(crate) fn source() -> ConfigSource {
    ConfigSource::Embedded {
        config: include_str!("../../../examples/warden.toml"),
        manifests: vec![
            (
                "invoice-bot.yaml",
                include_str!("../../../examples/agents/invoice-bot.yaml"),
            ),
            (
                "support-bot.yaml",
                include_str!("../../../examples/agents/support-bot.yaml"),
            ),
            (
                "research-bot.yaml",
                include_str!("../../../examples/agents/research-bot.yaml"),
            ),
        ],
        policies: vec![(
            "org.cedar",
            include_str!("../../../examples/policies/org.cedar"),
        )],
    }
}
