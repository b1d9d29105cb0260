//! Agent frameworks in dependency manifests and lock files of Python,
//! JavaScript/TypeScript, Rust, Go, Java and .NET projects.

use std::sync::LazyLock;

use regex::Regex;

use crate::finding::{Finding, Kind, Place};
use crate::frameworks::{Ecosystem, framework};
use crate::text::{find_from, line_at, short};

/// A manifest or lock file, recognised by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Manifest {
    PyProject,
    Requirements,
    Pipfile,
    PythonLock,
    PackageJson,
    PackageLock,
    YarnLock,
    PnpmLock,
    CargoToml,
    CargoLock,
    GoMod,
    Pom,
    Gradle,
    DotNet,
}

impl Manifest {
    /// The manifest kind of a file name.
    pub(crate) fn of(name: &str) -> Option<Manifest> {
        Some(match name {
            "pyproject.toml" => Manifest::PyProject,
            "Pipfile" => Manifest::Pipfile,
            "poetry.lock" | "uv.lock" | "pdm.lock" => Manifest::PythonLock,
            "package.json" => Manifest::PackageJson,
            "package-lock.json" | "npm-shrinkwrap.json" => Manifest::PackageLock,
            "yarn.lock" => Manifest::YarnLock,
            "pnpm-lock.yaml" => Manifest::PnpmLock,
            "Cargo.toml" => Manifest::CargoToml,
            "Cargo.lock" => Manifest::CargoLock,
            "go.mod" => Manifest::GoMod,
            "pom.xml" => Manifest::Pom,
            "build.gradle" | "build.gradle.kts" | "libs.versions.toml" => Manifest::Gradle,
            "packages.config" | "Directory.Packages.props" => Manifest::DotNet,
            n if n.ends_with(".csproj") || n.ends_with(".fsproj") || n.ends_with(".vbproj") => {
                Manifest::DotNet
            }
            n if n.starts_with("requirements") && (n.ends_with(".txt") || n.ends_with(".in")) => {
                Manifest::Requirements
            }
            _ => return None,
        })
    }

    fn ecosystem(self) -> Ecosystem {
        match self {
            Manifest::PyProject
            | Manifest::Requirements
            | Manifest::Pipfile
            | Manifest::PythonLock => Ecosystem::PyPi,
            Manifest::PackageJson
            | Manifest::PackageLock
            | Manifest::YarnLock
            | Manifest::PnpmLock => Ecosystem::Npm,
            Manifest::CargoToml | Manifest::CargoLock => Ecosystem::Crates,
            Manifest::GoMod => Ecosystem::Go,
            Manifest::Pom | Manifest::Gradle => Ecosystem::Maven,
            Manifest::DotNet => Ecosystem::NuGet,
        }
    }

    /// Lock files list what is resolved, transitive packages included.
    pub(crate) fn is_lock(self) -> bool {
        matches!(
            self,
            Manifest::PythonLock
                | Manifest::PackageLock
                | Manifest::YarnLock
                | Manifest::PnpmLock
                | Manifest::CargoLock
        )
    }
}

// INVARIANT: the patterns are constants, each compiled by the tests.
#[expect(clippy::expect_used, reason = "constant patterns, covered by tests")]
fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("a valid constant pattern")
}

static REQUIREMENT: LazyLock<Regex> = LazyLock::new(|| re(r"^[ \t]*([A-Za-z0-9][A-Za-z0-9._-]*)"));
static TOML_NAME: LazyLock<Regex> = LazyLock::new(|| re(r#"(?m)^name = "([^"]+)""#));
static NPM_LOCK: LazyLock<Regex> =
    LazyLock::new(|| re(r#"(?m)^[ \t]*"(?:[^"]*/)?node_modules/((?:@[^/"]+/)?[^/"]+)": \{"#));
static YARN_LOCK: LazyLock<Regex> =
    LazyLock::new(|| re(r#"(?m)^"?((?:@[^/@" \t\r\n]+/)?[^/@" \t\r\n]+)@"#));
static PNPM_LOCK: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?m)^  '?/?((?:@[^/@ \t\r\n']+/)?[^/@ \t\r\n':]+)@"));
static GO_REQUIRE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?m)^[ \t]*(?:require[ \t]+)?([a-z0-9.-]+\.[a-z]{2,}/[^ \t\r\n]+)[ \t]+v[0-9]")
});
static POM: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"<groupId>[ \t\r\n]*([^< \t\r\n]+)[ \t\r\n]*</groupId>[ \t\r\n]*<artifactId>[ \t\r\n]*([^< \t\r\n]+)[ \t\r\n]*</artifactId>",
    )
});
static GRADLE: LazyLock<Regex> =
    LazyLock::new(|| re(r#"["']([A-Za-z0-9_.-]+):([A-Za-z0-9_.-]+)(?::[^"']*)?["']"#));
static NUGET: LazyLock<Regex> = LazyLock::new(|| {
    re(r#"<(?:PackageReference|PackageVersion|package)[ \t\r\n]+(?:Include|id)="([^"]+)""#)
});

/// The framework findings of one manifest; `Err` when it does not parse.
pub(crate) fn analyse(
    manifest: Manifest,
    text: &str,
    place: &Place,
) -> Result<Vec<Finding>, String> {
    // (package name, byte offset where it is declared)
    let mut found: Vec<(String, usize)> = Vec::new();
    let mut captures = |regex: &Regex, join: bool| {
        for c in regex.captures_iter(text) {
            let (Some(whole), Some(first)) = (c.get(0), c.get(1)) else {
                continue;
            };
            let name = match (join, c.get(2)) {
                (true, Some(second)) => format!("{}:{}", first.as_str(), second.as_str()),
                _ => first.as_str().to_owned(),
            };
            found.push((name, whole.start()));
        }
    };
    match manifest {
        Manifest::Requirements => {
            let mut offset = 0;
            for line in text.split_inclusive('\n') {
                let body = line.split('#').next().unwrap_or_default();
                if !body.trim_start().starts_with('-')
                    && let Some(c) = REQUIREMENT.captures(body).and_then(|c| c.get(1))
                {
                    found.push((c.as_str().to_owned(), offset + c.start()));
                }
                offset += line.len();
            }
        }
        Manifest::PythonLock | Manifest::CargoLock => captures(&TOML_NAME, false),
        Manifest::PackageLock => captures(&NPM_LOCK, false),
        Manifest::YarnLock => captures(&YARN_LOCK, false),
        Manifest::PnpmLock => captures(&PNPM_LOCK, false),
        Manifest::GoMod => captures(&GO_REQUIRE, false),
        Manifest::Pom => captures(&POM, true),
        Manifest::Gradle => captures(&GRADLE, true),
        Manifest::DotNet => captures(&NUGET, false),
        // Only catalogue packages are looked for in the text: searching for
        // every dependency is most of the cost on a tree of manifests.
        Manifest::PyProject | Manifest::Pipfile | Manifest::CargoToml => {
            for name in crate::manifest_toml::declared(manifest, text)? {
                if framework(manifest.ecosystem(), &name).is_some() {
                    let at = declared_at(text, &name);
                    found.push((name, at));
                }
            }
        }
        Manifest::PackageJson => found.extend(package_json(text)?),
    }
    let ecosystem = manifest.ecosystem();
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (name, at) in found {
        let Some(label) = framework(ecosystem, &name) else {
            continue;
        };
        if !seen.insert(name.clone()) {
            continue;
        }
        let line = line_at(text, at);
        let mut f = Finding::new(Kind::AgentFramework, &name, place, line);
        let file = place.relative.rsplit('/').next().unwrap_or(&place.relative);
        let verb = if manifest.is_lock() {
            "locked in"
        } else {
            "declared in"
        };
        f.what = format!(
            "{label} ({} package `{name}`) {verb} {file}",
            ecosystem.as_str()
        );
        f.evidence = short(text.lines().nth(line - 1).unwrap_or_default(), 120);
        f.framework = Some(label.to_owned());
        f.ecosystem = Some(ecosystem.as_str().to_owned());
        f.from_lock = manifest.is_lock();
        out.push(f);
    }
    Ok(out)
}

/// Where a TOML manifest names a package: `"name…` in a list or `name =` as a key.
fn declared_at(text: &str, name: &str) -> usize {
    let mut best: Option<usize> = None;
    for needle in [
        format!("\"{name}"),
        format!("'{name}"),
        format!("\n{name} ="),
        format!("\n{name}="),
    ] {
        if let Some(at) = find_from(text, 0, &needle) {
            let at = if needle.starts_with('\n') { at + 1 } else { at };
            best = Some(best.map_or(at, |b| b.min(at)));
        }
    }
    best.unwrap_or(0)
}

/// Dependencies of a `package.json`, with where each is declared.
fn package_json(text: &str) -> Result<Vec<(String, usize)>, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for section in [
        "dependencies",
        "devDependencies",
        "peerDependencies",
        "optionalDependencies",
    ] {
        let Some(deps) = value.get(section).and_then(|d| d.as_object()) else {
            continue;
        };
        let from = crate::text::find_json_key(text, 0, section).unwrap_or(0);
        for name in deps
            .keys()
            .filter(|n| framework(Ecosystem::Npm, n).is_some())
        {
            let at = crate::text::find_json_key(text, from, name).unwrap_or(from);
            out.push((name.clone(), at));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(manifest: Manifest, text: &str) -> Vec<(String, usize)> {
        let place = Place {
            root: 0,
            path: "/r/x".into(),
            relative: "x".into(),
        };
        analyse(manifest, text, &place)
            .unwrap()
            .into_iter()
            .map(|f| (f.name, f.line))
            .collect()
    }

    fn pairs(list: &[(&str, usize)]) -> Vec<(String, usize)> {
        list.iter().map(|(n, l)| ((*n).to_owned(), *l)).collect()
    }

    #[test]
    fn every_ecosystem() {
        let req =
            "# agents\nrequests==2\n-r base.txt\nlangchain-openai>=0.2 # llm\ncrewai[tools]\n";
        assert_eq!(
            names(Manifest::Requirements, req),
            pairs(&[("langchain-openai", 4), ("crewai", 5)])
        );
        let lock =
            "[[package]]\nname = \"anyio\"\n\n[[package]]\nname = \"openai\"\nversion = \"1.0\"\n";
        assert_eq!(names(Manifest::PythonLock, lock), pairs(&[("openai", 5)]));
        let pkg = "{\n  \"name\": \"app\",\n  \"dependencies\": {\n    \"express\": \"4\",\n    \"@modelcontextprotocol/sdk\": \"1\"\n  },\n  \"devDependencies\": {\"ai\": \"4\"}\n}\n";
        assert_eq!(
            names(Manifest::PackageJson, pkg),
            pairs(&[("@modelcontextprotocol/sdk", 5), ("ai", 7)])
        );
        let npm_lock = "{\n  \"packages\": {\n    \"\": {},\n    \"node_modules/@anthropic-ai/sdk\": {\n      \"version\": \"0.30\"\n    },\n    \"node_modules/x/node_modules/openai\": {\n    }\n  }\n}\n";
        assert_eq!(
            names(Manifest::PackageLock, npm_lock),
            pairs(&[("@anthropic-ai/sdk", 4), ("openai", 7)])
        );
        let yarn = "# yarn\n\"@langchain/core@^0.3.0\", \"@langchain/core@^0.3.1\":\n  version \"0.3.1\"\nopenai@^4:\n  version \"4\"\n";
        assert_eq!(
            names(Manifest::YarnLock, yarn),
            pairs(&[("@langchain/core", 2), ("openai", 4)])
        );
        let pnpm = "packages:\n\n  '@mastra/core@0.1.0':\n    resolution: {}\n  openai@4.0.0:\n    resolution: {}\n";
        assert_eq!(
            names(Manifest::PnpmLock, pnpm),
            pairs(&[("@mastra/core", 3), ("openai", 5)])
        );
        let gomod = "module example.com/agent\n\ngo 1.23\n\nrequire (\n\tgithub.com/mark3labs/mcp-go v0.20.0\n\tgolang.org/x/net v0.1.0\n)\nrequire github.com/openai/openai-go v1.0.0\n";
        assert_eq!(
            names(Manifest::GoMod, gomod),
            pairs(&[
                ("github.com/mark3labs/mcp-go", 6),
                ("github.com/openai/openai-go", 9)
            ])
        );
        let pom = "<project>\n <dependencies>\n  <dependency>\n   <groupId>dev.langchain4j</groupId>\n   <artifactId>langchain4j</artifactId>\n  </dependency>\n </dependencies>\n</project>\n";
        assert_eq!(
            names(Manifest::Pom, pom),
            pairs(&[("dev.langchain4j:langchain4j", 4)])
        );
        let gradle = "dependencies {\n  implementation(\"org.springframework.ai:spring-ai-openai:1.0.0\")\n}\n";
        assert_eq!(
            names(Manifest::Gradle, gradle),
            pairs(&[("org.springframework.ai:spring-ai-openai", 2)])
        );
        let csproj = "<Project>\n  <ItemGroup>\n    <PackageReference Include=\"Microsoft.SemanticKernel\" Version=\"1.0\" />\n  </ItemGroup>\n</Project>\n";
        assert_eq!(
            names(Manifest::DotNet, csproj),
            pairs(&[("Microsoft.SemanticKernel", 3)])
        );
        let cargo = "[package]\nname = \"bot\"\n\n[dependencies]\nserde = \"1\"\nrmcp = { version = \"0.8\" }\n";
        assert_eq!(names(Manifest::CargoToml, cargo), pairs(&[("rmcp", 6)]));
        let pyproject = "[project]\nname = \"bot\"\ndependencies = [\n  \"pydantic-ai-slim[openai]>=0.1\",\n]\n";
        assert_eq!(
            names(Manifest::PyProject, pyproject),
            pairs(&[("pydantic-ai-slim", 4)])
        );
    }

    #[test]
    fn manifests_by_name() {
        assert_eq!(
            Manifest::of("requirements-dev.txt"),
            Some(Manifest::Requirements)
        );
        assert_eq!(Manifest::of("App.csproj"), Some(Manifest::DotNet));
        assert_eq!(Manifest::of("README.md"), None);
        assert!(Manifest::of("uv.lock").is_some_and(Manifest::is_lock));
    }
}
