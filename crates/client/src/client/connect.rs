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
    if url.scheme() != "http" {
        return Err(invalid(
            "the node's API speaks plain HTTP on its own host: use an http:// URL",
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("it names no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("it has a query or fragment"));
    }
    Ok(url)
}

/// The API address and token file of an organisation directory.
pub(super) fn read_org_config(dir: &Path) -> Result<(String, std::path::PathBuf)> {
    /// The part of the node's `config.toml` the client reads.
    #[derive(serde::Deserialize)]
    struct OrgConfig {
        api_listen: std::net::SocketAddr,
        api_token_file: Option<std::path::PathBuf>,
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
    let token_file = match config.api_token_file {
        Some(file) if file.is_relative() => dir.join(file),
        Some(file) => file,
        None => dir.join("api.token"),
    };
    Ok((address.to_string(), token_file))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Client;

    #[test]
    fn a_base_url_without_scheme_is_http_and_others_are_refused() {
        assert_eq!(
            parse_base("127.0.0.1:8001").unwrap().as_str(),
            "http://127.0.0.1:8001/"
        );
        assert_eq!(
            parse_base("http://node:8001/").unwrap().as_str(),
            "http://node:8001/"
        );
        for bad in [
            "",
            "https://node:8001",
            "ftp://x",
            "http://",
            "http://a:1/?x=1",
        ] {
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
}
