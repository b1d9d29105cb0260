//! `warden keys`: the trust domain's JWT signing keys and X.509 CAs, kept
//! in the store sealed under the key-encryption key.

use std::process::ExitCode;

use clap::Subcommand;
use warden_gateway::ca_keys::{X509_CA_KEYS, rotate_authority};
use warden_gateway::signing_keys::{JWT_SVID_KEYS, MAX_SVID_TTL, rotate_signing_key};
use warden_store::KeyStore as _;

use crate::common::Common;

#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// The JWT signing keys and the X.509 CAs: the one that signs, and the
    /// retired ones still trusted, with when they stop.
    List,
    /// Make a new JWT signing key current (with `--ca`, a new X.509 CA;
    /// with `--all`, both). The old one stays trusted until every token or
    /// certificate it signed has expired (24 h, the longest an SVID lives),
    /// then leaves the bundle. Running gateways take the new one at once.
    Rotate {
        /// Rotate the X.509 CA instead of the JWT signing key.
        #[arg(long, conflicts_with = "all")]
        ca: bool,
        /// Rotate both the JWT signing key and the X.509 CA.
        #[arg(long)]
        all: bool,
    },
}

fn when(ms: i64) -> String {
    warden_types::rfc3339(ms)
}

pub(crate) async fn run(common: &Common, command: KeysCommand) -> anyhow::Result<ExitCode> {
    let store = common.open_store().await?;
    let (keys, kek) = common.signing_keys(&store).await?;
    let config = common.load_config(&common.source())?;
    let trust_domain = &config.trust_domain;
    let authorities = common.x509_authorities(&store, trust_domain).await?;
    match command {
        KeysCommand::List => {
            let now = crate::serve::now_millis();
            for (kind, title, stays) in [
                (JWT_SVID_KEYS, "JWT-SVID signing keys", "verifies"),
                (X509_CA_KEYS, "X.509 CAs", "trusted"),
            ] {
                println!("{title} ({kind}):");
                for row in store.keys(kind, now).await? {
                    match (row.retired_at, row.expires_at) {
                        (None, _) => {
                            println!("  {}  current since {}", row.kid, when(row.created_at));
                        }
                        (Some(retired), Some(expires)) => println!(
                            "  {}  retired {}, {stays} until {}",
                            row.kid,
                            when(retired),
                            when(expires)
                        ),
                        (Some(retired), None) => {
                            println!("  {}  retired {}", row.kid, when(retired));
                        }
                    }
                }
            }
        }
        KeysCommand::Rotate { ca, all } => {
            let hours = MAX_SVID_TTL.as_secs() / 3600;
            let leeway = warden_identity::DEFAULT_LEEWAY;
            if !ca || all {
                let before = keys.current.key_id().to_owned();
                let after = rotate_signing_key(&store, &kek, leeway).await?;
                println!(
                    "signing key rotated: `{}` signs from now on; `{before}` verifies for {hours} h more, until the tokens it signed have expired",
                    after.current.key_id(),
                );
            }
            if ca || all {
                let before = authorities.current.certificate().fingerprint();
                let after = rotate_authority(&store, &kek, trust_domain, leeway).await?;
                println!(
                    "X.509 CA rotated: `{}` issues from now on; `{before}` stays trusted for {hours} h more, until the certificates it issued have expired",
                    after.current.certificate().fingerprint(),
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
