//! The query strings and path ids of the REST API, read as the server reads them: query
//! strings with axum's `Query` (`serde_urlencoded` over `form_urlencoded`) into the
//! `custodia-api` filter types, which refuse unknown parameters (first byte 0..=3:
//! `RecordFilter`, `RequestFilter`, `AuditFilter`, `WaitQuery`); path ids with
//! `params::record_id` / `params::request_id` (`FromStr` of the protocol's ids, 4 and 5).
//!
//! A query that parses must parse back, equal, from `serde_urlencoded`'s own output (what the
//! client sends); an id parses exactly when it matches the pattern the OpenAPI document
//! declares for it (`limits::RECORD_ID_PATTERN`, `REQUEST_ID_PATTERN`) and shows as its text.

#![no_main]

use custodia_api::{AuditFilter, RecordFilter, RequestFilter, WaitQuery};
use custodia_protocol::{RecordId, RequestId};
use libfuzzer_sys::fuzz_target;
use serde::{Serialize, de::DeserializeOwned};
use std::{fmt::Debug, fmt::Display, str::FromStr};

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    // The server sees the query as the URI's text.
    let Some(text) = custodia_fuzz::text(rest) else {
        return;
    };
    match first % 6 {
        0 => query::<RecordFilter>(text),
        1 => query::<RequestFilter>(text),
        2 => query::<AuditFilter>(text),
        3 => query::<WaitQuery>(text),
        4 => id::<RecordId>(text, "rec_"),
        _ => id::<RequestId>(text, "req_"),
    }
});

fn query<T>(text: &str)
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let Ok(parsed) = serde_urlencoded::from_str::<T>(text) else {
        return;
    };
    let written = serde_urlencoded::to_string(&parsed)
        .unwrap_or_else(|err| panic!("a parsed query does not serialize: {err}: {parsed:?}"));
    let back = serde_urlencoded::from_str::<T>(&written).unwrap_or_else(|err| {
        panic!("a query does not parse from its own text {written:?}: {err}")
    });
    assert_eq!(
        back, parsed,
        "a query changes through its own text {written:?}"
    );
}

/// `^<prefix>[0-9a-fA-F]{32}$`, the document's pattern of the id.
fn id<T>(text: &str, prefix: &str)
where
    T: FromStr + Display + PartialEq + Debug,
{
    let matches = text
        .strip_prefix(prefix)
        .is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()));
    let parsed = text.parse::<T>();
    assert_eq!(
        parsed.is_ok(),
        matches,
        "the id parser and its pattern disagree on {text:?}"
    );
    let Ok(id) = parsed else { return };
    let shown = id.to_string();
    assert!(
        shown.eq_ignore_ascii_case(text),
        "{text:?} shows as {shown:?}"
    );
    assert_eq!(shown.parse::<T>().ok().as_ref(), Some(&id));
}
