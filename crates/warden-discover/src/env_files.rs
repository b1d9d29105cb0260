//! LLM provider keys in `.env` files, shell profiles and CI configuration:
//! line by line, `NAME=value` (and `export`, `set -x`, `NAME: value`),
//! reported by name, provider and fingerprint.

use std::sync::LazyLock;

use regex::Regex;

use crate::finding::{Finding, Kind, Place, ValueKind};
use crate::secrets::{Secret, evidence_value, provider_by_name};
use crate::text::{short, unquote};

/// Where keys are looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyFile {
    /// `.env`, `.env.*`, `*.env`, `.envrc`.
    Env,
    /// `.bashrc`, `.zshrc`, `.profile`, `config.fish`, ….
    Profile,
    /// GitHub Actions, GitLab CI, CircleCI, Azure Pipelines, Jenkins, ….
    Ci,
}

impl KeyFile {
    /// The kind of key file at `path` (`/`-separated), if any.
    pub(crate) fn of(path: &str) -> Option<KeyFile> {
        let name = path.rsplit('/').next().unwrap_or(path);
        let yaml = name.ends_with(".yml") || name.ends_with(".yaml");
        if name == ".env" || name.starts_with(".env.") || name.ends_with(".env") || name == ".envrc"
        {
            return Some(KeyFile::Env);
        }
        if matches!(
            name,
            ".bashrc"
                | ".bash_profile"
                | ".bash_login"
                | ".profile"
                | ".zshrc"
                | ".zshenv"
                | ".zprofile"
                | ".zlogin"
                | ".kshrc"
                | ".cshrc"
                | ".tcshrc"
        ) || path.ends_with("/fish/config.fish")
        {
            return Some(KeyFile::Profile);
        }
        if (yaml && (path.contains("/.github/workflows/") || path.contains("/.buildkite/")))
            || matches!(
                name,
                ".gitlab-ci.yml"
                    | "azure-pipelines.yml"
                    | "bitbucket-pipelines.yml"
                    | ".travis.yml"
                    | ".drone.yml"
                    | "Jenkinsfile"
                    | "cloudbuild.yaml"
            )
            || path.ends_with("/.circleci/config.yml")
        {
            return Some(KeyFile::Ci);
        }
        None
    }

    fn describe(self) -> &'static str {
        match self {
            KeyFile::Env => "an env file",
            KeyFile::Profile => "a shell profile",
            KeyFile::Ci => "CI configuration",
        }
    }
}

// INVARIANT: the patterns are constants, each compiled by the tests.
#[expect(clippy::expect_used, reason = "constant patterns, covered by tests")]
fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("a valid constant pattern")
}

/// `NAME=value`, `export NAME=value`, `- NAME=value`.
static SHELL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^[ \t]*(?:-[ \t]+)?(?:export[ \t]+|declare[ \t]+-x[ \t]+|readonly[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)[ \t]*=(.*)$",
    )
});
/// `set -gx NAME value` (fish), `setenv NAME value` (csh).
static FISH: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^[ \t]*(?:set[ \t]+(?:-[A-Za-z]+[ \t]+)*|setenv[ \t]+)([A-Za-z_][A-Za-z0-9_]*)[ \t]+(.*)$")
});
/// `NAME: value` (YAML).
static YAML: LazyLock<Regex> =
    LazyLock::new(|| re(r"^[ \t]*(?:-[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)[ \t]*:[ \t]+(.*)$"));

/// The provider key findings of one file.
pub(crate) fn analyse(kind: KeyFile, text: &str, place: &Place) -> Vec<Finding> {
    let patterns: &[&Regex] = match kind {
        KeyFile::Env | KeyFile::Profile => &[&SHELL, &FISH],
        KeyFile::Ci => &[&YAML, &SHELL],
    };
    let mut out = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        let Some((name, raw)) = patterns.iter().find_map(|p| {
            let c = p.captures(line)?;
            Some((c.get(1)?.as_str(), c.get(2)?.as_str()))
        }) else {
            continue;
        };
        let value = unquote(raw);
        let secret = Secret::new(value);
        let Some(provider) = provider_by_name(name).or_else(|| secret.provider()) else {
            continue;
        };
        let Some(mut secret_ref) = crate::secrets::secret_ref(name, value) else {
            continue;
        };
        secret_ref.provider = provider.to_owned();
        let value_kind = secret_ref.value;
        let mut f = Finding::new(Kind::ProviderKey, name, place, index + 1);
        f.what = match value_kind {
            ValueKind::Literal => format!(
                "{} API key `{name}` written in {}",
                provider_label(provider),
                kind.describe()
            ),
            ValueKind::Reference => format!(
                "reference to a {} API key `{name}` in {}",
                provider_label(provider),
                kind.describe()
            ),
            ValueKind::Placeholder => format!(
                "placeholder for a {} API key `{name}` in {}",
                provider_label(provider),
                kind.describe()
            ),
        };
        f.evidence = match value_kind {
            // A reference is a name, not a secret: show it.
            ValueKind::Reference => short(&format!("{name}={value}"), 120),
            _ => format!("{name}={}", evidence_value(&secret_ref)),
        };
        f.provider = Some(provider.to_owned());
        f.value = Some(value_kind);
        f.secrets.push(secret_ref);
        out.push(f);
    }
    out
}

/// The provider's name for people.
pub(crate) fn provider_label(provider: &str) -> &str {
    match provider {
        "openai" => "OpenAI",
        "azure-openai" => "Azure OpenAI",
        "anthropic" => "Anthropic",
        "google" => "Google Gemini",
        "groq" => "Groq",
        "mistral" => "Mistral",
        "cohere" => "Cohere",
        "huggingface" => "Hugging Face",
        "aws-bedrock" => "AWS Bedrock",
        "openrouter" => "OpenRouter",
        "deepseek" => "DeepSeek",
        "xai" => "xAI",
        "perplexity" => "Perplexity",
        "together" => "Together AI",
        "fireworks" => "Fireworks AI",
        "replicate" => "Replicate",
        "voyage" => "Voyage AI",
        "langsmith" => "LangSmith",
        "cerebras" => "Cerebras",
        "nvidia" => "NVIDIA",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place() -> Place {
        Place {
            root: 0,
            path: "/r/.env".into(),
            relative: ".env".into(),
        }
    }

    #[test]
    fn recognises_key_files() {
        assert_eq!(KeyFile::of("/r/.env"), Some(KeyFile::Env));
        assert_eq!(KeyFile::of("/r/.env.local"), Some(KeyFile::Env));
        assert_eq!(KeyFile::of("/h/.zshrc"), Some(KeyFile::Profile));
        assert_eq!(
            KeyFile::of("/r/.github/workflows/ci.yml"),
            Some(KeyFile::Ci)
        );
        assert_eq!(KeyFile::of("/r/.gitlab-ci.yml"), Some(KeyFile::Ci));
        assert_eq!(KeyFile::of("/r/src/env.rs"), None);
    }

    #[test]
    fn finds_keys_without_values() {
        let key = "sk-ant-api03-Q7vR2mK9pL4xN8wT3yB6cD1eF5gH0jK2";
        let text = format!(
            "# comment OPENAI_API_KEY=sk-nope\nexport ANTHROPIC_API_KEY=\"{key}\"\nOPENAI_API_KEY=${{OPENAI}}\nGROQ_API_KEY=\nPORT=3000\nOPENAI_BASE_URL=http://x\n"
        );
        let found = analyse(KeyFile::Env, &text, &place());
        let names: Vec<(&str, usize, Option<ValueKind>)> = found
            .iter()
            .map(|f| (f.name.as_str(), f.line, f.value))
            .collect();
        assert_eq!(
            names,
            [
                ("ANTHROPIC_API_KEY", 2, Some(ValueKind::Literal)),
                ("OPENAI_API_KEY", 3, Some(ValueKind::Reference)),
                ("GROQ_API_KEY", 4, Some(ValueKind::Placeholder)),
            ]
        );
        let json = serde_json::to_string(&found).unwrap();
        assert!(!json.contains("Q7vR2mK9"), "{json}");
        assert_eq!(found[0].provider.as_deref(), Some("anthropic"));
    }

    #[test]
    fn ci_and_fish_syntax() {
        let ci = "env:\n  OPENAI_API_KEY: ${{ secrets.OPENAI_API_KEY }}\n";
        let found = analyse(KeyFile::Ci, ci, &place());
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].evidence,
            "OPENAI_API_KEY=${{ secrets.OPENAI_API_KEY }}"
        );
        let fish = "set -gx MISTRAL_API_KEY Zr8vQ2mP9kL4xN7wT3yB6cD1\n";
        let found = analyse(KeyFile::Profile, fish, &place());
        assert_eq!(found[0].provider.as_deref(), Some("mistral"));
    }
}
