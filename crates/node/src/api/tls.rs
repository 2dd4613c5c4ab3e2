//! The API over TLS (DESIGN §7.7): a certificate chain and its key from PEM files, served with
//! rustls (aws-lc-rs, the provider commonware already builds). A node whose API listens beyond
//! loopback must use it, unless its config says `api_insecure_plaintext = true`
//! ([`crate::config::NodeConfig::api_transport`]).

use axum_server::tls_rustls::RustlsConfig;
use rustls::{
    ServerConfig,
    pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject as _},
};
use std::{path::Path, sync::Arc};

/// Why the API cannot serve TLS.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A file holds no usable PEM.
    #[error("{path} holds no {what} in PEM form: give the {what} as `-----BEGIN ...-----` PEM")]
    Empty {
        /// The file.
        path: String,
        /// What was looked for.
        what: &'static str,
    },
    /// rustls refused the certificate or the key.
    #[error("the API's certificate and key do not make a TLS configuration: {0}")]
    Config(String),
}

/// The rustls configuration of the certificate chain in `cert` and the private key in `key`.
pub fn server_config(cert: &Path, key: &Path) -> Result<RustlsConfig, TlsError> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|source| TlsError::Read {
            path: path.display().to_string(),
            source,
        })
    };
    let empty = |path: &Path, what| TlsError::Empty {
        path: path.display().to_string(),
        what,
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&read(cert)?)
        .collect::<Result<_, _>>()
        .map_err(|_| empty(cert, "certificate"))?;
    if chain.is_empty() {
        return Err(empty(cert, "certificate"));
    }
    let key = PrivateKeyDer::from_pem_slice(&read(key)?).map_err(|_| empty(key, "private key"))?;
    let config = ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|err| TlsError::Config(err.to_string()))?
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .map_err(|err| TlsError::Config(err.to_string()))?;
    Ok(RustlsConfig::from_config(Arc::new(config)))
}
