//! `custodia init`: creates an organisation's keys (DESIGN §6) in a directory: `org.key` with
//! both secrets (mode 0600, never overwritten) and `org.pub.toml`, the public half and the
//! addresses, to hand to whoever assembles the genesis.

use crate::files;
use anyhow::{Context, Result, anyhow};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use custodia_protocol::{OrgKeys, OrgPublic, Role, genesis::GenesisError};
use std::path::PathBuf;

/// Name of the secret key file inside the org directory.
pub const KEY_FILE: &str = "org.key";
/// Name of the public file inside the org directory.
pub const PUB_FILE: &str = "org.pub.toml";

const PUB_HEADER: &str = "# custodia organisation: public keys and addresses.\n\
# Hand this file to whoever runs `custodia genesis`; the secrets stay in org.key.\n";

/// Arguments of `custodia init`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Organisation name: lowercase letters, digits, '.', '_' or '-' (e.g. member-a).
    #[arg(long)]
    pub name: String,
    /// The organisation's role in the consortium.
    #[arg(long, value_parser = role_parser())]
    pub role: Role,
    /// p2p address IP:PORT that the other nodes connect to.
    #[arg(long, default_value = "127.0.0.1:7000")]
    pub p2p: String,
    /// REST API address IP:PORT for the organisation's own users.
    #[arg(long, default_value = "127.0.0.1:8000")]
    pub api: String,
    /// Directory to write org.key and org.pub.toml to (created if missing).
    #[arg(long)]
    pub dir: PathBuf,
}

fn role_parser() -> impl TypedValueParser<Value = Role> {
    PossibleValuesParser::new([Role::Supervisor.as_str(), Role::Member.as_str()])
        .try_map(|text| text.parse::<Role>())
}

/// Runs `custodia init`.
pub fn run(args: Args) -> Result<()> {
    let keys = OrgKeys::generate();
    let public = OrgPublic {
        name: args.name,
        role: args.role,
        identity_key: keys.identity_key(),
        encryption_key: keys.encryption_key(),
        p2p: args.p2p,
        api: args.api,
    };
    // Check everything before touching the disk.
    public.validate("").map_err(flag_error)?;
    let public_text = format!(
        "{PUB_HEADER}{}",
        toml::to_string(&public).context("cannot serialize org.pub.toml")?
    );

    let dir = &args.dir;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create directory {}", dir.display()))?;
    let key_path = dir.join(KEY_FILE);
    let pub_path = dir.join(PUB_FILE);

    files::create_private(&key_path, &keys.to_toml()).map_err(|err| {
        if files::already_exists(&err) {
            anyhow!(
                "{} already exists: refusing to overwrite an organisation's secret keys; \
                 choose another --dir, or move the old org.key away if you really mean to \
                 replace it",
                key_path.display()
            )
        } else {
            anyhow!(err).context(format!("cannot create {}", key_path.display()))
        }
    })?;
    if let Err(err) = std::fs::write(&pub_path, public_text) {
        // Without its public half the new key is useless and would block a retry: remove it.
        let _ = std::fs::remove_file(&key_path);
        return Err(anyhow!(err).context(format!(
            "cannot write {} (org.key was not kept)",
            pub_path.display()
        )));
    }

    eprintln!(
        "wrote {} (secret keys, mode 0600: keep it private)",
        key_path.display()
    );
    eprintln!(
        "wrote {} ({} '{}': hand it to whoever runs `custodia genesis`)",
        pub_path.display(),
        public.role.as_str(),
        public.name
    );
    Ok(())
}

/// Names the command-line flag an org-entry error is about.
fn flag_error(err: GenesisError) -> anyhow::Error {
    let GenesisError::Invalid { field, message } = err;
    anyhow!("--{field}: {message}")
}
