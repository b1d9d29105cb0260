//! `warden keys`: the trust domain's JWT signing keys, kept in the store
//! sealed under the key-encryption key.

use std::process::ExitCode;

use clap::Subcommand;
use warden_gateway::signing_keys::{JWT_SVID_KEYS, MAX_SVID_TTL, rotate_signing_key};
use warden_store::KeyStore as _;

use crate::common::Common;

#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// The signing keys: the one that signs, and the retired ones that still
    /// verify, with when they stop.
    List,
    /// Make a new signing key current. The old one keeps verifying until
    /// every token it signed has expired (24 h, the longest a token lives),
    /// then leaves the bundle. Running gateways take the new key at once.
    Rotate,
}

fn when(ms: i64) -> String {
    warden_types::rfc3339(ms)
}

pub(crate) async fn run(common: &Common, command: KeysCommand) -> anyhow::Result<ExitCode> {
    let store = common.open_store().await?;
    let (keys, kek) = common.signing_keys(&store).await?;
    match command {
        KeysCommand::List => {
            let rows = store
                .keys(JWT_SVID_KEYS, crate::serve::now_millis())
                .await?;
            for row in rows {
                match (row.retired_at, row.expires_at) {
                    (None, _) => println!("{}  current since {}", row.kid, when(row.created_at)),
                    (Some(retired), Some(expires)) => println!(
                        "{}  retired {}, verifies until {}",
                        row.kid,
                        when(retired),
                        when(expires)
                    ),
                    (Some(retired), None) => {
                        println!("{}  retired {}", row.kid, when(retired));
                    }
                }
            }
        }
        KeysCommand::Rotate => {
            let before = keys.current.key_id().to_owned();
            let after = rotate_signing_key(&store, &kek, warden_identity::DEFAULT_LEEWAY).await?;
            println!(
                "signing key rotated: `{}` signs from now on; `{before}` verifies for {} h more, until the tokens it signed have expired",
                after.current.key_id(),
                MAX_SVID_TTL.as_secs() / 3600
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
