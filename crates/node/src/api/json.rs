//! Strict request input: JSON bodies and query strings whose mistakes become API errors with
//! serde's own words (`unknown field `x`, expected one of …`, `invalid type: …`) instead of
//! axum's plain-text rejections. Unknown fields are refused by the `deny_unknown_fields` of the
//! types read here.

use super::ApiError;
use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Query, Request, rejection::BytesRejection},
    http::{StatusCode, request::Parts},
};
use serde::de::DeserializeOwned;

/// Largest JSON body of the endpoints that take no record (requests, decisions, cancels).
pub(crate) const SMALL_BODY_BYTES: usize = 256 << 10;

/// A JSON body of type `T`; malformed JSON, wrong types and unknown fields are a 400
/// `invalid_json` that quotes serde's message.
pub(crate) struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(body_error)?;
        parse(&bytes).map(JsonBody)
    }
}

/// Like [`JsonBody`], but an empty body (or one of only whitespace) reads as `T::default()`.
pub(crate) struct OptionalJsonBody<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for OptionalJsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(body_error)?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJsonBody(T::default()));
        }
        parse(&bytes).map(OptionalJsonBody)
    }
}

/// Reads `bytes` as a `T`.
pub(crate) fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|err| {
        ApiError::bad_request(
            "invalid_json",
            format!(
                "the request body is not the expected JSON: {err}; GET /openapi.json describes \
                 each endpoint's body"
            ),
        )
    })
}

/// The error of a body that could not be read (too large, or the connection failed).
fn body_error(rejection: BytesRejection) -> ApiError {
    let status = rejection.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            status,
            "payload_too_large",
            "the request body is over this endpoint's size limit: send a smaller body",
        )
    } else {
        ApiError::new(
            status,
            "bad_request",
            format!(
                "the request body could not be read: {}",
                rejection.body_text()
            ),
        )
    }
}

/// A query string of type `T`; unknown parameters and wrong types are a 400 `invalid_query`.
pub(crate) struct QueryParams<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(QueryParams(value)),
            Err(rejection) => Err(ApiError::bad_request(
                "invalid_query",
                format!(
                    "{}: GET /openapi.json lists each endpoint's query parameters",
                    rejection.body_text()
                ),
            )),
        }
    }
}
