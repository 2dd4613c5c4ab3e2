//! Bearer-token authentication: `Authorization: Bearer <api.token>`, compared in constant time.

use super::{ApiContext, ApiError};
use axum::{
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header::AUTHORIZATION, header::WWW_AUTHENTICATE},
    middleware::Next,
    response::{IntoResponse, Response},
};
use custodia_protocol::hash::sha256;
use std::sync::Arc;

/// Domain of the digests the tokens are compared through.
const TOKEN_DOMAIN: &[u8] = b"custodia/api/token";

/// Lets the request through only with this node's bearer token.
pub(crate) async fn require_token(
    State(ctx): State<Arc<ApiContext>>,
    request: Request,
    next: Next,
) -> Response {
    match check(&ctx.token, request.headers()) {
        Ok(()) => next.run(request).await,
        Err(message) => {
            let mut response =
                ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message).into_response();
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            response
        }
    }
}

/// Whether `headers` carry `token`; otherwise what is wrong.
fn check(token: &str, headers: &HeaderMap) -> Result<(), &'static str> {
    if token.is_empty() {
        return Err(
            "this node has no API token configured, so it refuses every request: \
             set api.token in the node's configuration and restart it",
        );
    }
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Err(
            "missing Authorization header: send `Authorization: Bearer <token>` with \
             the token from the node's api.token file",
        );
    };
    let given = value
        .to_str()
        .ok()
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, given)| given.trim());
    let Some(given) = given else {
        return Err(
            "the Authorization header is not `Bearer <token>`: send the token from \
             the node's api.token file as a bearer token",
        );
    };
    if same_token(given.as_bytes(), token.as_bytes()) {
        Ok(())
    } else {
        Err(
            "the bearer token is not this node's API token: use the token from the node's \
             api.token file",
        )
    }
}

/// Compares the tokens' digests byte by byte without stopping early, so neither the time
/// taken nor the tokens' lengths tell how much of a guess was right.
fn same_token(given: &[u8], expected: &[u8]) -> bool {
    let given = sha256(&[TOKEN_DOMAIN, given]);
    let expected = sha256(&[TOKEN_DOMAIN, expected]);
    let difference = given
        .as_ref()
        .iter()
        .zip(expected.as_ref())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    std::hint::black_box(difference) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn only_the_exact_token_as_a_bearer_passes() {
        assert!(check("s3cret", &headers("Bearer s3cret")).is_ok());
        assert!(check("s3cret", &headers("bearer s3cret")).is_ok());
        assert!(check("s3cret", &headers("Bearer s3cre")).is_err());
        assert!(check("s3cret", &headers("Bearer s3cret2")).is_err());
        assert!(check("s3cret", &headers("Basic s3cret")).is_err());
        assert!(check("s3cret", &headers("s3cret")).is_err());
        assert!(check("s3cret", &HeaderMap::new()).is_err());
    }

    #[test]
    fn an_empty_configured_token_refuses_everything() {
        assert!(check("", &headers("Bearer ")).is_err());
        assert!(check("", &headers("Bearer x")).is_err());
    }
}
