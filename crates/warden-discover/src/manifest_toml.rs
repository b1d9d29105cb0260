//! The packages TOML manifests declare: `pyproject.toml` (PEP 621, PEP 735
//! groups, Poetry, uv), `Pipfile` and `Cargo.toml`.

use toml::{Table, Value};

use crate::dependencies::Manifest;

/// The package names a TOML manifest declares.
pub(crate) fn declared(manifest: Manifest, text: &str) -> Result<Vec<String>, String> {
    let table: Table = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut names = Vec::new();
    match manifest {
        Manifest::PyProject => pyproject(&table, &mut names),
        Manifest::Pipfile => {
            for section in ["packages", "dev-packages"] {
                keys(table.get(section), &mut names);
            }
        }
        Manifest::CargoToml => cargo(&table, &mut names),
        _ => {}
    }
    Ok(names)
}

fn pyproject(table: &Table, names: &mut Vec<String>) {
    let at = |path: &[&str]| -> Option<&Value> {
        let (first, rest) = path.split_first()?;
        rest.iter().try_fold(table.get(*first)?, |v, k| v.get(*k))
    };
    requirements(at(&["project", "dependencies"]), names);
    for group in tables(at(&["project", "optional-dependencies"])) {
        requirements(Some(group), names);
    }
    for group in tables(at(&["dependency-groups"])) {
        requirements(Some(group), names);
    }
    requirements(at(&["tool", "uv", "dev-dependencies"]), names);
    keys(at(&["tool", "poetry", "dependencies"]), names);
    keys(at(&["tool", "poetry", "dev-dependencies"]), names);
    for group in tables(at(&["tool", "poetry", "group"])) {
        keys(group.get("dependencies"), names);
    }
}

fn cargo(table: &Table, names: &mut Vec<String>) {
    const SECTIONS: [&str; 3] = ["dependencies", "dev-dependencies", "build-dependencies"];
    let mut tables_with_deps: Vec<&Value> = Vec::new();
    for section in SECTIONS {
        tables_with_deps.extend(table.get(section));
    }
    if let Some(workspace) = table.get("workspace") {
        tables_with_deps.extend(workspace.get("dependencies"));
    }
    for target in tables(table.get("target")) {
        for section in SECTIONS {
            tables_with_deps.extend(target.get(section));
        }
    }
    for deps in tables_with_deps {
        let Some(deps) = deps.as_table() else {
            continue;
        };
        for (key, spec) in deps {
            // `alias = { package = "real-name", … }`
            let real = spec.get("package").and_then(Value::as_str).unwrap_or(key);
            names.push(real.to_owned());
        }
    }
}

/// PEP 508 requirement strings (`"langchain-core[openai]>=0.3; python_version>'3.9'"`).
fn requirements(list: Option<&Value>, names: &mut Vec<String>) {
    let Some(list) = list.and_then(Value::as_array) else {
        return;
    };
    for item in list.iter().filter_map(Value::as_str) {
        let end = item
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
            .unwrap_or(item.len());
        let name = item.get(..end).unwrap_or_default().trim();
        if !name.is_empty() {
            names.push(name.to_owned());
        }
    }
}

fn keys(table: Option<&Value>, names: &mut Vec<String>) {
    if let Some(table) = table.and_then(Value::as_table) {
        names.extend(table.keys().filter(|k| k.as_str() != "python").cloned());
    }
}

fn tables(value: Option<&Value>) -> impl Iterator<Item = &Value> {
    value
        .and_then(Value::as_table)
        .into_iter()
        .flat_map(|t| t.values())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pyproject_sections() {
        let text = r#"
[project]
name = "app"
dependencies = ["langchain-core[openai]>=0.3", "requests"]
[project.optional-dependencies]
mcp = ["mcp>=1.2 ; python_version >= '3.10'"]
[dependency-groups]
dev = ["pytest"]
[tool.poetry.dependencies]
python = "^3.11"
crewai = "^0.80"
"#;
        let mut names = declared(Manifest::PyProject, text).unwrap();
        names.sort();
        assert_eq!(
            names,
            ["crewai", "langchain-core", "mcp", "pytest", "requests"]
        );
    }

    #[test]
    fn cargo_sections_and_renames() {
        let text = r#"
[dependencies]
rmcp = "0.8"
llm = { package = "rig-core", version = "0.20" }
[target.'cfg(unix)'.dependencies]
async-openai = "0.29"
"#;
        let mut names = declared(Manifest::CargoToml, text).unwrap();
        names.sort();
        assert_eq!(names, ["async-openai", "rig-core", "rmcp"]);
        assert!(declared(Manifest::CargoToml, "not [toml").is_err());
    }
}
