//! `custodia audit certificate [HEIGHT]`: fetches the certificate of a block's state commitment
//! (the latest certified block's when no height is given) and checks its signatures here
//! against the validator set it names (DESIGN §5.9).

use super::super::{
    client_args::{GlobalArgs, block_on, explain},
    output::{print_json, print_stdout},
};
use anyhow::{Context as _, Result, bail};
use commonware_utils::ordered::Set;
use custodia_client::CertificateView;
use custodia_node::certify::verify_certificate;
use custodia_protocol::{hash::from_hex, keys::identity_key_from_bytes};

/// Arguments of `custodia audit certificate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The certified block (the node's latest certified block when absent).
    #[arg(value_name = "HEIGHT")]
    pub height: Option<u64>,
}

/// Runs `custodia audit certificate`.
pub fn run(args: Args, global: &GlobalArgs) -> Result<()> {
    let client = global.client()?;
    let certificate = block_on(async {
        let height = match args.height {
            Some(height) => height,
            None => match client.status().await.map_err(explain)?.certified_height {
                0 => return Ok(None),
                height => height,
            },
        };
        client.certificate(height).await.map(Some).map_err(explain)
    })?;
    let Some(certificate) = certificate else {
        bail!(
            "the node holds no certificate yet: its validators certify each block's state \
             commitment a moment after they apply it; retry shortly"
        );
    };
    check_certificate(&certificate)?;
    if global.json {
        return print_json(&serde_json::json!({ "verified": true, "certificate": certificate }));
    }
    print_stdout(&account(&certificate))
}

/// Checks the certificate's signatures against the validators it names.
pub fn check_certificate(certificate: &CertificateView) -> Result<()> {
    let keys = certificate
        .validators
        .iter()
        .map(|hex| {
            hex::decode(hex)
                .ok()
                .and_then(|bytes| identity_key_from_bytes(&bytes))
                .with_context(|| format!("the node served a validator key that is not one: {hex}"))
        })
        .collect::<Result<Vec<_>>>()?;
    let set = Set::from_iter_dedup(keys);
    let commitment = from_hex(&certificate.state_commitment)
        .context("the node served a state commitment that is not 64 hex digits")?;
    let bytes = hex::decode(&certificate.certificate)
        .context("the node served a certificate that is not hex")?;
    verify_certificate(&set, certificate.height, &commitment, &bytes).map_err(|err| {
        anyhow::anyhow!(
            "the certificate of block {} does not hold: {err}",
            certificate.height
        )
    })?;
    Ok(())
}

/// What a verified certificate shows, for people.
fn account(certificate: &CertificateView) -> String {
    format!(
        "verified: the state commitment of block {} is certified by {} of the {} validators of \
         epoch {} ({})\n  state commitment {}\n",
        certificate.height,
        certificate.signers.len(),
        certificate.validators.len(),
        certificate.epoch,
        certificate.signers.join(", "),
        certificate.state_commitment,
    )
}
