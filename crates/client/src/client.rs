//! [`Client`]: one typed method per endpoint of the node's REST API.

use crate::{
    Error, Result,
    events::EventStream,
    types::{
        AuditFilter, AuditTrail, BatchAccepted, BlockView, Fetched, NewRecord, NewRequest, Org,
        Orgs, RecordFilter, RecordPage, RecordStatus, RecordTx, RecordView, RequestDetail,
        RequestFilter, RequestPage, RequestTx, Status, TxAccepted, TxStatus,
    },
};
use custodia_protocol::{RecordId, RequestId};
use reqwest::{
    Method, RequestBuilder, StatusCode, Url,
    header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE},
};
use serde::{Serialize, de::DeserializeOwned};
use std::{
    path::Path,
    time::{Duration, Instant},
};

/// Content type of one signed tx for `POST /v1/txs`.
pub const TX_CONTENT_TYPE: &str = "application/octet-stream";
/// Content type of a batch of signed txs for `POST /v1/txs`.
pub const BATCH_CONTENT_TYPE: &str = "application/vnd.custodia.tx-batch";
/// How long the client tries to connect before it calls the node unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a call that does not wait on the chain may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Extra time a waiting call gets over the wait it asked the node for.
const WAIT_SLACK: Duration = Duration::from_secs(15);
/// The API's longest wait.
const MAX_WAIT_SECONDS: u64 = 600;
/// Largest answer the client reads (a delivery is at most 8 MiB sealed by default).
const MAX_ANSWER_BYTES: usize = 64 << 20;
/// Most bytes of a non-JSON error answer quoted in the error.
const MAX_QUOTED_BYTES: usize = 300;
/// First and longest pause between two polls.
const POLL_FIRST: Duration = Duration::from_millis(100);
const POLL_MAX: Duration = Duration::from_secs(1);

/// Whether a write waits for its tx to be finalized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Return once the node's mempool took the tx (HTTP 202, no receipt).
    No,
    /// Return once the tx is in a finalized block, with its receipt; fail with the receipt's
    /// code when the tx failed, or with `timeout` when not finalized within this long
    /// (rounded up to whole seconds, at most 600).
    Finalized(Duration),
}

impl Wait {
    /// Waits up to 30 s, the API's default.
    pub const DEFAULT: Wait = Wait::Finalized(Duration::from_secs(30));

    fn seconds(self) -> Option<u64> {
        match self {
            Wait::No => None,
            Wait::Finalized(timeout) => {
                let millis = timeout.as_millis().min(u128::from(u64::MAX)) as u64;
                Some(millis.div_ceil(1000).clamp(1, MAX_WAIT_SECONDS))
            }
        }
    }

    fn query(self) -> Vec<(&'static str, String)> {
        match self.seconds() {
            None => Vec::new(),
            Some(seconds) => vec![("wait", "true".into()), ("timeout", seconds.to_string())],
        }
    }

    /// How long the HTTP call may take.
    fn call_timeout(self) -> Duration {
        match self.seconds() {
            None => CALL_TIMEOUT,
            Some(seconds) => Duration::from_secs(seconds) + WAIT_SLACK,
        }
    }
}

/// A client of one node's REST API, acting as that node's organisation.
#[derive(Debug, Clone)]
pub struct Client {
    base: Url,
    token: String,
    http: reqwest::Client,
}

impl Client {
    /// A client of the node at `base_url` (`http://HOST:PORT`; `HOST:PORT` alone means http)
    /// with the bearer token from the node's `api.token`.
    pub fn new(base_url: &str, token: impl Into<String>) -> Result<Self> {
        let base = parse_base(base_url)?;
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|err| Error::InvalidUrl {
                url: base_url.to_string(),
                reason: reason_of(&err),
            })?;
        Ok(Self {
            base,
            token: token.into().trim().to_string(),
            http,
        })
    }

    /// A client of the node of the organisation directory `dir` (made by `custodia init` or
    /// `custodia devnet`): the address from `DIR/config.toml`'s `api_listen`, the token from
    /// the file its `api_token_file` names (`DIR/api.token` by default).
    pub fn from_org_dir(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let (address, token_file) = read_org_config(dir)?;
        let token = std::fs::read_to_string(&token_file).map_err(|err| Error::OrgDir {
            path: token_file.clone(),
            reason: format!(
                "cannot read the API token ({err}): run the client as a user who may read the \
                 organisation directory, or pass --node URL --token TOKEN"
            ),
        })?;
        if token.trim().is_empty() {
            return Err(Error::OrgDir {
                path: token_file,
                reason: "the API token file is empty: write the node's token into it".into(),
            });
        }
        Self::new(&format!("http://{address}"), token)
    }

    /// The node's base URL.
    pub fn base_url(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    /// `GET /healthz`: whether the node's API answers (needs no token).
    pub async fn healthz(&self) -> Result<()> {
        let _: serde_json::Value = self
            .call(Method::GET, "/healthz", |r| r, CALL_TIMEOUT)
            .await?;
        Ok(())
    }

    /// `GET /v1/status`.
    pub async fn status(&self) -> Result<Status> {
        self.get("/v1/status", &[]).await
    }

    /// `GET /v1/orgs`: every organisation of the consortium.
    pub async fn orgs(&self) -> Result<Vec<Org>> {
        Ok(self.get::<Orgs>("/v1/orgs", &[]).await?.orgs)
    }

    /// `POST /v1/records`: the node seals `record` to the supervisor, commits to its fields,
    /// signs and submits it.
    pub async fn submit_record(&self, record: &NewRecord, wait: Wait) -> Result<RecordTx> {
        self.write("/v1/records", record, wait).await
    }

    /// `GET /v1/records`: one page of the records `filter` selects.
    pub async fn records(&self, filter: &RecordFilter) -> Result<RecordPage> {
        let mut query = Vec::new();
        push(&mut query, "provider", &filter.provider);
        push(&mut query, "kind", &filter.kind);
        push(&mut query, "status", &filter.status);
        push(&mut query, "offset", &filter.offset);
        push(&mut query, "limit", &filter.limit);
        self.get("/v1/records", &query).await
    }

    /// `GET /v1/records/{id}`: a record's metadata.
    pub async fn record(&self, id: &RecordId) -> Result<RecordView> {
        self.get(&format!("/v1/records/{id}"), &[]).await
    }

    /// Polls the record until the supervisor's verdict is on the chain (its status is no
    /// longer `submitted`), for at most `timeout`.
    pub async fn wait_verdict(&self, id: &RecordId, timeout: Duration) -> Result<RecordView> {
        let deadline = Instant::now() + timeout;
        let mut pause = POLL_FIRST;
        loop {
            match self.record(id).await {
                Ok(record) if record.status != RecordStatus::Submitted => return Ok(record),
                Ok(_) => {}
                // Not applied on this node yet (a `--no-wait` submit).
                Err(err) if err.code() == Some("record_not_found") => {}
                Err(err) => return Err(err),
            }
            if Instant::now() + pause > deadline {
                return Err(Error::WaitTimeout {
                    what: format!("the supervisor's verdict on record {id}"),
                    seconds: timeout.as_secs(),
                    hint: format!(
                        "the supervisor's node checks every submitted record; is it running? \
                         follow the record with `custodia record show {id}`"
                    ),
                });
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(POLL_MAX);
        }
    }

    /// `POST /v1/requests`: asks for records.
    pub async fn create_request(&self, request: &NewRequest, wait: Wait) -> Result<RequestTx> {
        self.write("/v1/requests", request, wait).await
    }

    /// `GET /v1/requests`: one page of the requests `filter` selects.
    pub async fn requests(&self, filter: &RequestFilter) -> Result<RequestPage> {
        let mut query = Vec::new();
        push(&mut query, "status", &filter.status);
        push(&mut query, "party", &filter.party);
        push(&mut query, "offset", &filter.offset);
        push(&mut query, "limit", &filter.limit);
        self.get("/v1/requests", &query).await
    }

    /// `GET /v1/requests/{id}`: a request with its decisions and delivery.
    pub async fn request(&self, id: &RequestId) -> Result<RequestDetail> {
        self.get(&format!("/v1/requests/{id}"), &[]).await
    }

    /// `POST /v1/requests/{id}/approve`: this organisation approves, with an optional reason.
    pub async fn approve(
        &self,
        id: &RequestId,
        reason: Option<&str>,
        wait: Wait,
    ) -> Result<RequestTx> {
        let body = Reason { reason };
        self.write(&format!("/v1/requests/{id}/approve"), &body, wait)
            .await
    }

    /// `POST /v1/requests/{id}/reject`: this organisation rejects, saying why.
    pub async fn reject(&self, id: &RequestId, reason: &str, wait: Wait) -> Result<RequestTx> {
        let body = Reason {
            reason: Some(reason),
        };
        self.write(&format!("/v1/requests/{id}/reject"), &body, wait)
            .await
    }

    /// `POST /v1/requests/{id}/cancel`: the requester withdraws its request.
    pub async fn cancel(&self, id: &RequestId, wait: Wait) -> Result<RequestTx> {
        let body = Reason { reason: None };
        self.write(&format!("/v1/requests/{id}/cancel"), &body, wait)
            .await
    }

    /// `GET /v1/requests/{id}/fetch`: the delivered records, opened and verified by this
    /// node. With [`Wait::Finalized`], waits while the request is approved but not delivered.
    /// A request that is not delivered fails with HTTP 409 and its status as the code.
    pub async fn fetch(&self, id: &RequestId, wait: Wait) -> Result<Fetched> {
        let query = wait.query();
        self.call(
            Method::GET,
            &format!("/v1/requests/{id}/fetch"),
            |r| r.query(&query),
            wait.call_timeout(),
        )
        .await
    }

    /// `GET /v1/audit`: the audit trail `filter` selects, oldest first.
    pub async fn audit(&self, filter: &AuditFilter) -> Result<AuditTrail> {
        let mut query = Vec::new();
        push(&mut query, "record", &filter.record);
        push(&mut query, "request", &filter.request);
        push(&mut query, "org", &filter.org);
        self.get("/v1/audit", &query).await
    }

    /// `GET /v1/blocks/{height}`: a finalized block with its receipts.
    pub async fn block(&self, height: u64) -> Result<BlockView> {
        self.get(&format!("/v1/blocks/{height}"), &[]).await
    }

    /// `GET /v1/receipts/{tx_id}`: whether the tx is pending or applied (with its receipt).
    pub async fn receipt(&self, tx_id: &str) -> Result<TxStatus> {
        self.get(&format!("/v1/receipts/{tx_id}"), &[]).await
    }

    /// Polls the tx's receipt until it is applied, for at most `timeout`.
    pub async fn wait_receipt(&self, tx_id: &str, timeout: Duration) -> Result<TxStatus> {
        let deadline = Instant::now() + timeout;
        let mut pause = POLL_FIRST;
        loop {
            let status = self.receipt(tx_id).await?;
            if matches!(status, TxStatus::Applied(_)) {
                return Ok(status);
            }
            if Instant::now() + pause > deadline {
                return Err(Error::WaitTimeout {
                    what: format!("the finalization of tx {tx_id}"),
                    seconds: timeout.as_secs(),
                    hint: format!("it is still pending; follow it with GET /v1/receipts/{tx_id}"),
                });
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(POLL_MAX);
        }
    }

    /// `POST /v1/txs`: one signed tx, as its binary encoding.
    pub async fn submit_tx(&self, tx: Vec<u8>) -> Result<TxAccepted> {
        self.call(
            Method::POST,
            "/v1/txs",
            |r| r.header(CONTENT_TYPE, TX_CONTENT_TYPE).body(tx),
            CALL_TIMEOUT,
        )
        .await
    }

    /// `POST /v1/txs`: a batch of signed txs, as the binary encoding of a list of txs.
    pub async fn submit_txs(&self, batch: Vec<u8>) -> Result<BatchAccepted> {
        self.call(
            Method::POST,
            "/v1/txs",
            |r| r.header(CONTENT_TYPE, BATCH_CONTENT_TYPE).body(batch),
            CALL_TIMEOUT,
        )
        .await
    }

    /// `GET /v1/events`: the node's events from now on.
    pub async fn events(&self) -> Result<EventStream> {
        let url = self.url("/v1/events");
        let request = self
            .http
            .get(url.clone())
            .header(AUTHORIZATION, format!("Bearer {}", self.token))
            .header(ACCEPT, "text/event-stream");
        let response = request
            .send()
            .await
            .map_err(|err| send_error(&url, err, CALL_TIMEOUT))?;
        let status = response.status();
        if !status.is_success() {
            let body = read_body(&url, response, CALL_TIMEOUT).await?;
            return Err(api_error(&url, status, &body));
        }
        Ok(EventStream::new(url.to_string(), response))
    }

    async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&'static str, String)],
    ) -> Result<T> {
        self.call(Method::GET, path, |r| r.query(query), CALL_TIMEOUT)
            .await
    }

    async fn write<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        wait: Wait,
    ) -> Result<T> {
        let query = wait.query();
        self.call(
            Method::POST,
            path,
            |r| r.query(&query).json(body),
            wait.call_timeout(),
        )
        .await
    }

    /// Sends one call and decodes its answer.
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        build: impl FnOnce(RequestBuilder) -> RequestBuilder,
        timeout: Duration,
    ) -> Result<T> {
        let url = self.url(path);
        let request = build(
            self.http
                .request(method, url.clone())
                .header(AUTHORIZATION, format!("Bearer {}", self.token))
                .header(ACCEPT, "application/json")
                .timeout(timeout),
        );
        let response = request
            .send()
            .await
            .map_err(|err| send_error(&url, err, timeout))?;
        let status = response.status();
        let body = read_body(&url, response, timeout).await?;
        if !status.is_success() {
            return Err(api_error(&url, status, &body));
        }
        serde_json::from_slice(&body).map_err(|err| Error::Decode {
            url: url.to_string(),
            status: status.as_u16(),
            reason: err.to_string(),
        })
    }

    fn url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        let base_path = url.path().trim_end_matches('/').to_string();
        url.set_path(&format!("{base_path}{path}"));
        url
    }
}

/// The body of approve, reject and cancel.
#[derive(Serialize)]
struct Reason<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}

/// Adds `name=value` to `query` when `value` is set.
fn push<T: ToString>(
    query: &mut Vec<(&'static str, String)>,
    name: &'static str,
    value: &Option<T>,
) {
    if let Some(value) = value {
        query.push((name, value.to_string()));
    }
}

/// The base URL of `text`: `http://` is assumed when no scheme is given.
fn parse_base(text: &str) -> Result<Url> {
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
fn read_org_config(dir: &Path) -> Result<(String, std::path::PathBuf)> {
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

/// The error of a call that got no answer.
fn send_error(url: &Url, err: reqwest::Error, timeout: Duration) -> Error {
    let url = url.to_string();
    if err.is_timeout() {
        Error::TimedOut {
            url,
            seconds: timeout.as_secs(),
        }
    } else if err.is_connect() {
        Error::Unreachable {
            url,
            reason: reason_of(&err),
        }
    } else {
        Error::Transport {
            url,
            reason: reason_of(&err),
        }
    }
}

/// The innermost cause of `err`: what actually went wrong ("Connection refused").
pub(crate) fn reason_of(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause: &dyn std::error::Error = err;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

/// Reads an answer's body, at most [`MAX_ANSWER_BYTES`].
async fn read_body(
    url: &Url,
    mut response: reqwest::Response,
    timeout: Duration,
) -> Result<Vec<u8>> {
    let status = response.status().as_u16();
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                    return Err(Error::Decode {
                        url: url.to_string(),
                        status,
                        reason: format!("the answer is over {MAX_ANSWER_BYTES} bytes"),
                    });
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(err) => return Err(send_error(url, err, timeout)),
        }
    }
}

/// The error of a 4xx/5xx answer: the API's `{"error": {code, message}}`, or what the body
/// says when it is not in that shape (a proxy's page, say).
fn api_error(url: &Url, status: StatusCode, body: &[u8]) -> Error {
    #[derive(serde::Deserialize)]
    struct Envelope {
        error: Body,
    }
    #[derive(serde::Deserialize)]
    struct Body {
        code: String,
        message: String,
    }
    if let Ok(Envelope { error }) = serde_json::from_slice::<Envelope>(body) {
        return Error::Api {
            status: status.as_u16(),
            code: error.code,
            message: error.message,
        };
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(MAX_QUOTED_BYTES)])
        .trim()
        .to_string();
    let reason = status.canonical_reason().unwrap_or("error").to_lowercase();
    Error::Api {
        status: status.as_u16(),
        code: format!("http_{}", status.as_u16()),
        message: if text.is_empty() {
            format!("{url} answered {reason}")
        } else {
            format!("{url} answered {reason}: {text}")
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn paths_join_the_base_whatever_its_trailing_slash() {
        for base in ["http://a:1", "http://a:1/", "a:1"] {
            let client = Client::new(base, "t").unwrap();
            assert_eq!(client.url("/v1/status").as_str(), "http://a:1/v1/status");
            assert_eq!(client.base_url(), "http://a:1");
        }
        let client = Client::new("http://a:1/custodia/", "t").unwrap();
        assert_eq!(
            client.url("/v1/status").as_str(),
            "http://a:1/custodia/v1/status"
        );
    }

    #[test]
    fn waits_round_up_to_whole_seconds_within_the_apis_limit() {
        assert_eq!(Wait::No.seconds(), None);
        assert_eq!(Wait::Finalized(Duration::from_millis(1)).seconds(), Some(1));
        assert_eq!(
            Wait::Finalized(Duration::from_millis(1500)).seconds(),
            Some(2)
        );
        assert_eq!(Wait::Finalized(Duration::ZERO).seconds(), Some(1));
        assert_eq!(
            Wait::Finalized(Duration::from_secs(9999)).seconds(),
            Some(600)
        );
        assert_eq!(Wait::DEFAULT.seconds(), Some(30));
    }

    #[test]
    fn error_answers_keep_the_apis_code_or_quote_the_body() {
        let url = Url::parse("http://a:1/v1/x").unwrap();
        let err = api_error(
            &url,
            StatusCode::NOT_FOUND,
            br#"{"error":{"code":"record_not_found","message":"no such record"}}"#,
        );
        assert_eq!(err.code(), Some("record_not_found"));
        assert_eq!(err.status(), Some(404));
        assert!(err.to_string().starts_with("no such record"), "{err}");
        let err = api_error(&url, StatusCode::BAD_GATEWAY, b"<html>bad gateway</html>");
        assert_eq!(err.code(), Some("http_502"));
        assert!(err.to_string().contains("bad gateway"), "{err}");
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
