//! [`Client`]: one typed method per endpoint of the node's REST API.

mod answer;
mod connect;
mod governance;
mod proofs;

pub(crate) use answer::reason_of;
use answer::{api_error, read_body, send_error};
use connect::{parse_base, read_org_config};

use crate::{Error, Result, events::EventStream};
use custodia_api::{
    Approval, AuditEntry, AuditFilter, AuditPage, BatchAccepted, BlockView, Fetched,
    IdentityRotationTx, KeyRotationTx, NewRecord, NewRequest, OrgTx, ProposalTx, Receipt,
    RecordFilter, RecordPage, RecordStatus, RecordTx, RecordView, Refusal, RequestDetail,
    RequestFilter, RequestPage, RequestTx, Status, TxAccepted, TxStatus, WaitQuery, Withdrawal,
    limits::MAX_TIMEOUT_SECS,
};
use custodia_protocol::{RecordId, RequestId};
use reqwest::{
    Method, RequestBuilder, Url,
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
                Some(millis.div_ceil(1000).clamp(1, MAX_TIMEOUT_SECS))
            }
        }
    }

    fn query(self) -> WaitQuery {
        match self.seconds() {
            None => WaitQuery::default(),
            Some(seconds) => WaitQuery {
                wait: Some(true),
                timeout: Some(seconds),
            },
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
        Self::with_certificate(base_url, token, None)
    }

    /// A client of the node at `base_url` (`https://` for a node serving TLS) that trusts the
    /// PEM certificate `certificate` as the root of the node's TLS connections (the node's own
    /// certificate, when it is self-signed), besides none other.
    pub fn with_certificate(
        base_url: &str,
        token: impl Into<String>,
        certificate: Option<&[u8]>,
    ) -> Result<Self> {
        crate::install_tls_provider();
        let base = parse_base(base_url)?;
        let invalid = |reason: String| Error::InvalidUrl {
            url: base_url.to_string(),
            reason,
        };
        let tls_error = |reason: String| Error::Tls {
            url: base_url.to_string(),
            reason,
        };
        if base.scheme() == "https" && certificate.is_none() {
            return Err(tls_error(
                "an https:// node needs the certificate to trust: give the node's certificate \
                 (or its CA's) as PEM (`custodia --ca-cert FILE` or CUSTODIA_CA_CERT), or use \
                 --org-dir with the node's own directory"
                    .into(),
            ));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .use_preconfigured_tls(tls_config(certificate).map_err(tls_error)?)
            .build()
            .map_err(|err| invalid(reason_of(&err)))?;
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
        let node = read_org_config(dir)?;
        let token_file = node.token_file;
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
        let certificate = match &node.certificate {
            Some(path) => Some(std::fs::read(path).map_err(|err| Error::OrgDir {
                path: path.clone(),
                reason: format!("cannot read the API's TLS certificate ({err})"),
            })?),
            None => None,
        };
        Self::with_certificate(&node.url, token, certificate.as_deref())
    }

    /// Where the web console of an organisation directory's node is (`…/console`, DESIGN
    /// §7.13), and the file holding the token an officer signs in with; reads nothing but
    /// `DIR/config.toml`.
    pub fn console_of_org_dir(dir: impl AsRef<Path>) -> Result<(String, std::path::PathBuf)> {
        let node = read_org_config(dir.as_ref())?;
        Ok((format!("{}/console", node.url), node.token_file))
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
        self.get("/v1/status", &()).await
    }

    /// `POST /v1/records`: the node seals `record` to the supervisor, commits to its fields,
    /// signs and submits it.
    pub async fn submit_record(&self, record: &NewRecord, wait: Wait) -> Result<RecordTx> {
        self.write("/v1/records", record, wait).await
    }

    /// `GET /v1/records`: one page of the records `filter` selects.
    pub async fn records(&self, filter: &RecordFilter) -> Result<RecordPage> {
        self.get("/v1/records", filter).await
    }

    /// `GET /v1/records/{id}`: a record's metadata.
    pub async fn record(&self, id: &RecordId) -> Result<RecordView> {
        self.get(&format!("/v1/records/{id}"), &()).await
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
        self.get("/v1/requests", filter).await
    }

    /// `GET /v1/requests/{id}`: a request with its decisions and delivery.
    pub async fn request(&self, id: &RequestId) -> Result<RequestDetail> {
        self.get(&format!("/v1/requests/{id}"), &()).await
    }

    /// `POST /v1/requests/{id}/approve`: this organisation approves, with an optional reason.
    pub async fn approve(
        &self,
        id: &RequestId,
        reason: Option<&str>,
        wait: Wait,
    ) -> Result<RequestTx> {
        let body = Approval {
            reason: reason.map(str::to_string),
        };
        self.write(&format!("/v1/requests/{id}/approve"), &body, wait)
            .await
    }

    /// `POST /v1/requests/{id}/reject`: this organisation rejects, saying why.
    pub async fn reject(&self, id: &RequestId, reason: &str, wait: Wait) -> Result<RequestTx> {
        let body = Refusal {
            reason: reason.to_string(),
        };
        self.write(&format!("/v1/requests/{id}/reject"), &body, wait)
            .await
    }

    /// `POST /v1/requests/{id}/cancel`: the requester withdraws its request.
    pub async fn cancel(&self, id: &RequestId, wait: Wait) -> Result<RequestTx> {
        self.write(&format!("/v1/requests/{id}/cancel"), &Withdrawal {}, wait)
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

    /// `GET /v1/audit`: one page of the audit trail `filter` selects, oldest first; the
    /// page's `next` is the `after` of the next one.
    pub async fn audit(&self, filter: &AuditFilter) -> Result<AuditPage> {
        self.get("/v1/audit", filter).await
    }

    /// Every entry of the audit trail `filter` selects (after `filter.after`), oldest first,
    /// reading it page by page.
    pub async fn audit_all(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let mut filter = filter.clone();
        let mut entries = Vec::new();
        loop {
            let page = self.audit(&filter).await?;
            entries.extend(page.entries);
            match page.next {
                Some(next) => filter.after = Some(next),
                None => return Ok(entries),
            }
        }
    }

    /// `GET /v1/blocks/{height}`: a finalized block with its receipts.
    pub async fn block(&self, height: u64) -> Result<BlockView> {
        self.get(&format!("/v1/blocks/{height}"), &()).await
    }

    /// `GET /v1/receipts/{tx_id}`: whether the tx is pending or applied (with its receipt).
    pub async fn receipt(&self, tx_id: &str) -> Result<TxStatus> {
        self.get(&format!("/v1/receipts/{tx_id}"), &()).await
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

    async fn get<T: DeserializeOwned>(&self, path: &str, query: &impl Serialize) -> Result<T> {
        self.call(Method::GET, path, |r| r.query(query), CALL_TIMEOUT)
            .await
    }

    /// Sends a write; with [`Wait::Finalized`], an answer without a receipt (the node's 202:
    /// admitted, not finalized within the wait) is a [`Error::WaitTimeout`].
    async fn write<B: Serialize + ?Sized, T: DeserializeOwned + Written>(
        &self,
        path: &str,
        body: &B,
        wait: Wait,
    ) -> Result<T> {
        let query = wait.query();
        let written: T = self
            .call(
                Method::POST,
                path,
                |r| r.query(&query).json(body),
                wait.call_timeout(),
            )
            .await?;
        if let Wait::Finalized(timeout) = wait
            && written.receipt().is_none()
        {
            let tx_id = written.tx_id();
            return Err(Error::WaitTimeout {
                what: format!("the finalization of tx {tx_id}"),
                seconds: timeout.as_secs(),
                hint: format!(
                    "the node admitted it and a block may still take it; follow it with GET \
                     /v1/receipts/{tx_id}"
                ),
            });
        }
        Ok(written)
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

/// The TLS settings of the client: rustls over aws-lc-rs, trusting `certificate` (PEM) alone.
fn tls_config(certificate: Option<&[u8]>) -> std::result::Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    if let Some(pem) = certificate {
        for cert in pem_certificates(pem)? {
            roots
                .add(cert)
                .map_err(|err| format!("the API's certificate is not usable: {err}"))?;
        }
        if roots.is_empty() {
            return Err("the API's certificate file holds no PEM certificate".into());
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|err| err.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(config)
}

/// The certificates of a PEM text.
fn pem_certificates(
    pem: &[u8],
) -> std::result::Result<Vec<rustls::pki_types::CertificateDer<'static>>, String> {
    use rustls::pki_types::{CertificateDer, pem::PemObject as _};
    CertificateDer::pem_slice_iter(pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|err| format!("the API's certificate is not PEM: {err}"))
}

/// The answer of a write: its tx and, once finalized, its receipt.
trait Written {
    fn tx_id(&self) -> &str;
    fn receipt(&self) -> Option<&Receipt>;
}

macro_rules! written {
    ($($answer:ty),*) => {$(
        impl Written for $answer {
            fn tx_id(&self) -> &str {
                &self.tx_id
            }
            fn receipt(&self) -> Option<&Receipt> {
                self.receipt.as_ref()
            }
        }
    )*};
}

written!(
    RecordTx,
    RequestTx,
    OrgTx,
    KeyRotationTx,
    IdentityRotationTx,
    ProposalTx
);

#[cfg(test)]
mod tests {
    use super::*;

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
}
