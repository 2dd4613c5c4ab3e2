//! Where a client connects: the node's base URL, or an organisation directory's config and
//! token.

use crate::{Error, Result};
use reqwest::Url;
use std::path::Path;

/// The base URL of `text`: `http://` is assumed when no scheme is given.
pub(super) fn parse_base(text: &str) -> Result<Url> {
    let invalid = |reason: &str| Error::InvalidUrl {
        url: text.to_string(),
        reason: reason.to_string(),
    };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(invalid("it is empty"));
    }
    let full = if trimmed.contains("://") {
        trimmed.to_string()
    } else {
        format!("http://{trimmed}")
    };
    let url = Url::parse(&full).map_err(|err| invalid(&err.to_string()))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(invalid("use an http:// or https:// URL"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("it names no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("it has a query or fragment"));
    }
    Ok(url)
}

/// Where the node of an organisation directory answers, as its `config.toml` says.
pub(super) struct OrgNode {
    /// `http://` or (when the API serves TLS) `https://` and the address.
    pub(super) url: String,
    /// The file holding the token.
    pub(super) token_file: std::path::PathBuf,
    /// The API's certificate (PEM), to trust as the root of its TLS connections.
    pub(super) certificate: Option<std::path::PathBuf>,
}

/// The API address, token file and TLS certificate of an organisation directory.
pub(super) fn read_org_config(dir: &Path) -> Result<OrgNode> {
    /// The part of the node's `config.toml` the client reads.
    #[derive(serde::Deserialize)]
    struct OrgConfig {
        api_listen: std::net::SocketAddr,
        api_token_file: Option<std::path::PathBuf>,
        api_tls_cert: Option<std::path::PathBuf>,
    }
    let path = dir.join("config.toml");
    let text = std::fs::read_to_string(&path).map_err(|err| Error::OrgDir {
        path: path.clone(),
        reason: format!(
            "cannot read the node's config ({err}): pass the directory `custodia init` or \
             `custodia devnet` made for the organisation, or --node URL --token TOKEN"
        ),
    })?;
    let config: OrgConfig = toml::from_str(&text).map_err(|err| Error::OrgDir {
        path: path.clone(),
        reason: format!("not a node config: {}", err.message()),
    })?;
    let mut address = config.api_listen;
    // A node listening on every interface is reached over loopback from its own host.
    if address.ip().is_unspecified() {
        address.set_ip(match address {
            std::net::SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    let in_dir = |file: std::path::PathBuf| {
        if file.is_relative() {
            dir.join(file)
        } else {
            file
        }
    };
    let token_file = in_dir(config.api_token_file.unwrap_or_else(|| "api.token".into()));
    let certificate = config.api_tls_cert.map(in_dir);
    let scheme = if certificate.is_some() {
        "https"
    } else {
        "http"
    };
    Ok(OrgNode {
        url: format!("{scheme}://{address}"),
        token_file,
        certificate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Client;

    #[test]
    fn a_base_url_without_scheme_is_http_https_is_taken_and_others_are_refused() {
        assert_eq!(
            parse_base("127.0.0.1:8001").unwrap().as_str(),
            "http://127.0.0.1:8001/"
        );
        assert_eq!(
            parse_base("http://node:8001/").unwrap().as_str(),
            "http://node:8001/"
        );
        assert_eq!(
            parse_base("https://node:8443").unwrap().as_str(),
            "https://node:8443/"
        );
        for bad in ["", "ftp://x", "http://", "http://a:1/?x=1"] {
            assert!(parse_base(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_org_dir_gives_the_api_address_and_token() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.toml"),
            "org = \"member-a\"\napi_listen = \"0.0.0.0:8123\"\np2p_listen = \"127.0.0.1:7001\"\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("api.token"), "s3cret\n").unwrap();
        let client = Client::from_org_dir(dir.path()).unwrap();
        assert_eq!(client.base_url(), "http://127.0.0.1:8123");
        assert_eq!(client.token, "s3cret");

        let empty = tempfile::tempdir().unwrap();
        let err = Client::from_org_dir(empty.path()).unwrap_err().to_string();
        assert!(err.contains("config.toml"), "{err}");
    }

    #[test]
    fn an_org_dir_whose_api_serves_tls_gives_https_and_its_certificate() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.toml"),
            "api_listen = \"10.0.0.2:8443\"\napi_tls_cert = \"tls/cert.pem\"\n",
        )
        .unwrap();
        let node = read_org_config(dir.path()).unwrap();
        assert_eq!(node.url, "https://10.0.0.2:8443");
        assert_eq!(node.certificate, Some(dir.path().join("tls/cert.pem")));
        std::fs::write(dir.path().join("api.token"), "s3cret\n").unwrap();
        let err = Client::from_org_dir(dir.path()).unwrap_err().to_string();
        assert!(err.contains("tls/cert.pem"), "{err}");
        assert!(err.contains("certificate"), "{err}");
    }
}
