//! Where the store lives, parsed from the `--store` option.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::StoreError;

/// The file name of the SQLite database inside the data directory.
pub const SQLITE_FILE_NAME: &str = "warden.db";

/// Where the store lives: an embedded SQLite file or a PostgreSQL server.
///
/// `Display` and `Debug` redact a PostgreSQL password (in the URL's user info or a
/// `password` query parameter), so a location can be logged.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// SQLite in `<data_dir>/warden.db`.
    Sqlite {
        /// The data directory; created with mode 0700 if missing.
        data_dir: PathBuf,
    },
    /// A PostgreSQL server.
    Postgres {
        /// A `postgres://` or `postgresql://` URL. It may hold a password: never
        /// log it, log the location's `Display` instead.
        url: String,
    },
}

impl StoreLocation {
    /// Reads a store option: a `postgres://` or `postgresql://` URL selects
    /// PostgreSQL; `sqlite:PATH` selects SQLite in the directory `PATH`; `None` (or
    /// a bare `sqlite:`) selects SQLite in `data_dir`.
    pub fn parse(store: Option<&str>, data_dir: &Path) -> Result<StoreLocation, StoreError> {
        let Some(store) = store.map(str::trim) else {
            return Ok(StoreLocation::Sqlite {
                data_dir: data_dir.to_owned(),
            });
        };
        if store.starts_with("postgres://") || store.starts_with("postgresql://") {
            if let Err(err) = url::Url::parse(store) {
                return Err(StoreError::InvalidLocation {
                    location: redact_url(store),
                    reason: err.to_string(),
                });
            }
            return Ok(StoreLocation::Postgres {
                url: store.to_owned(),
            });
        }
        if let Some(path) = store.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            let data_dir = if path.is_empty() {
                data_dir.to_owned()
            } else {
                PathBuf::from(path)
            };
            return Ok(StoreLocation::Sqlite { data_dir });
        }
        Err(StoreError::InvalidLocation {
            location: redact_url(store),
            reason: "expected `sqlite:PATH`, `postgres://…` or `postgresql://…`".to_owned(),
        })
    }
}

/// The URL with any password replaced by `***`; text that is not a URL is
/// reduced to its scheme, since it may hold a secret we cannot find.
pub(crate) fn redact_url(text: &str) -> String {
    let Ok(mut url) = url::Url::parse(text) else {
        let scheme = text.split_once(':').map_or("", |(scheme, _)| scheme);
        return format!("{scheme}:<unparseable, redacted>");
    };
    if url.password().is_some() {
        // Fails only for URLs that cannot have a password, which this one has.
        let _ = url.set_password(Some("***"));
    }
    if url.query_pairs().any(|(key, _)| key == "password") {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(key, value)| {
                let value = if key == "password" {
                    "***".into()
                } else {
                    value
                };
                (key.into_owned(), value.into_owned())
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
}

impl fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreLocation::Sqlite { data_dir } => {
                write!(f, "sqlite:{}", data_dir.join(SQLITE_FILE_NAME).display())
            }
            StoreLocation::Postgres { url } => f.write_str(&redact_url(url)),
        }
    }
}

impl fmt::Debug for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreLocation::Sqlite { data_dir } => f
                .debug_struct("Sqlite")
                .field("data_dir", data_dir)
                .finish(),
            StoreLocation::Postgres { url } => f
                .debug_struct("Postgres")
                .field("url", &redact_url(url))
                .finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_and_bare_sqlite_select_the_data_dir() {
        let dir = Path::new("/var/lib/warden");
        let want = StoreLocation::Sqlite {
            data_dir: dir.to_owned(),
        };
        assert_eq!(StoreLocation::parse(None, dir).unwrap(), want);
        assert_eq!(StoreLocation::parse(Some("sqlite:"), dir).unwrap(), want);
        assert_eq!(
            StoreLocation::parse(Some("sqlite:/tmp/w"), dir).unwrap(),
            StoreLocation::Sqlite {
                data_dir: PathBuf::from("/tmp/w")
            }
        );
        assert_eq!(want.to_string(), "sqlite:/var/lib/warden/warden.db");
    }

    #[test]
    fn postgres_urls_select_postgres_and_display_redacted() {
        let dir = Path::new(".");
        for url in [
            "postgres://warden:s3cret@db:5432/warden",
            "postgresql://warden:s3cret@db/warden",
            "postgres://warden@db/warden?password=s3cret&sslmode=require",
        ] {
            let location = StoreLocation::parse(Some(url), dir).unwrap();
            assert!(matches!(location, StoreLocation::Postgres { .. }));
            let shown = location.to_string();
            assert!(!shown.contains("s3cret"), "{shown}");
            assert!(shown.contains("***"), "{shown}");
            assert!(!format!("{location:?}").contains("s3cret"));
        }
    }

    #[test]
    fn other_schemes_are_rejected_without_echoing_secrets() {
        let err = StoreLocation::parse(Some("mysql://root:s3cret@db/x"), Path::new("."))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("invalid store location"), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
    }
}
