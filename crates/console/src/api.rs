//! The node's REST API, called in process: every console page is built from `/v1` answers,
//! and every console action is a `/v1` request, sent through the API's own router (its
//! authentication, limits and error bodies included) with the node's token.

use axum::{
    Router,
    body::{Body, to_bytes},
    http::{Method, Request, StatusCode, header},
    response::Response,
};
use custodia_api::ErrorBody;
use serde::{Serialize, de::DeserializeOwned};
use tower::ServiceExt;

/// Largest answer the console reads (a delivery's opened records are the largest).
const MAX_ANSWER_BYTES: usize = 64 * 1024 * 1024;

/// How long a write waits for its tx to be finalized before the page answers "pending".
pub(crate) const WAIT_SECONDS: u64 = 20;

/// What the API refused, as it said it.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub(crate) status: StatusCode,
    pub(crate) code: String,
    pub(crate) message: String,
}

impl Failure {
    fn internal(message: String) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "console".into(),
            message,
        }
    }
}

/// The node's API router and its token.
#[derive(Clone)]
pub(crate) struct Api {
    router: Router,
    token: String,
}

impl Api {
    pub(crate) fn new(router: Router, token: String) -> Self {
        Self { router, token }
    }

    /// `GET uri` (path and query), its JSON answer.
    pub(crate) async fn get<T: DeserializeOwned>(&self, uri: &str) -> Result<T, Failure> {
        let response = self.send(Method::GET, uri, Body::empty()).await;
        read(response).await
    }

    /// `GET path?query`, the query serialized from `query`.
    pub(crate) async fn get_query<Q: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        query: &Q,
    ) -> Result<T, Failure> {
        let query = serde_urlencoded::to_string(query)
            .map_err(|err| Failure::internal(format!("cannot encode the query: {err}")))?;
        if query.is_empty() {
            self.get(path).await
        } else {
            self.get(&format!("{path}?{query}")).await
        }
    }

    /// `POST path?wait=true` with `body` as JSON: the answer once the tx is finalized (or
    /// still pending after [`WAIT_SECONDS`]).
    pub(crate) async fn write<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, Failure> {
        let body = serde_json::to_vec(body)
            .map_err(|err| Failure::internal(format!("cannot encode the body: {err}")))?;
        let uri = format!("{path}?wait=true&timeout={WAIT_SECONDS}");
        let response = self.send(Method::POST, &uri, Body::from(body)).await;
        read(response).await
    }

    /// `GET uri`'s response as it is (the event stream).
    pub(crate) async fn raw(&self, uri: &str) -> Response {
        self.send(Method::GET, uri, Body::empty()).await
    }

    async fn send(&self, method: Method, uri: &str, body: Body) -> Response {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .header(header::CONTENT_TYPE, "application/json")
            .body(body);
        match request {
            Ok(request) => match self.router.clone().oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            },
            Err(err) => {
                let mut response = Response::new(Body::from(format!(
                    "{{\"error\":{{\"code\":\"console\",\"message\":\"bad request line: {err}\"}}}}"
                )));
                *response.status_mut() = StatusCode::BAD_REQUEST;
                response
            }
        }
    }
}

/// The JSON answer of `response`, or what the API refused.
async fn read<T: DeserializeOwned>(response: Response) -> Result<T, Failure> {
    let status = response.status();
    let bytes = to_bytes(response.into_body(), MAX_ANSWER_BYTES)
        .await
        .map_err(|err| Failure::internal(format!("cannot read the API's answer: {err}")))?;
    if status.is_success() {
        return serde_json::from_slice(&bytes)
            .map_err(|err| Failure::internal(format!("unexpected answer from the API: {err}")));
    }
    match serde_json::from_slice::<ErrorBody>(&bytes) {
        Ok(ErrorBody { error }) => Err(Failure {
            status,
            code: error.code,
            message: error.message,
        }),
        Err(_) => Err(Failure {
            status,
            code: "error".into(),
            message: String::from_utf8_lossy(&bytes).into_owned(),
        }),
    }
}
