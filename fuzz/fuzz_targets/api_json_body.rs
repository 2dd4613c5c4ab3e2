//! The JSON bodies of the REST API, read as the server reads them (`api/json.rs`: `JsonBody`
//! and `OptionalJsonBody`, i.e. `serde_json::from_slice` into the `custodia-api` request types,
//! which refuse unknown fields; an optional body of only whitespace is the type's default).
//! The first byte picks the type: `NewRecord` (POST /v1/records), `NewRequest`
//! (POST /v1/requests), `Approval` (approve, optional), `Refusal` (reject), `Withdrawal`
//! (cancel, optional). A body that parses must parse back, equal, from serde_json's own
//! output of it: what the client (custodia-client) sends is read as it meant.

#![no_main]

use custodia_api::{Approval, NewRecord, NewRequest, Refusal, Withdrawal};
use custodia_fuzz::json_round_trip;
use libfuzzer_sys::fuzz_target;
use serde::{Serialize, de::DeserializeOwned};
use std::fmt::Debug;

fuzz_target!(|data: &[u8]| {
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    match first % 5 {
        0 => check::<NewRecord>(body, None),
        1 => check::<NewRequest>(body, None),
        2 => check(body, Some(Approval::default as fn() -> Approval)),
        3 => check::<Refusal>(body, None),
        _ => check(body, Some(Withdrawal::default as fn() -> Withdrawal)),
    }
});

/// Reads `body` as a `T`; `optional` is the default of a body that may be empty.
fn check<T>(body: &[u8], optional: Option<fn() -> T>)
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let parsed =
        if let Some(default) = optional.filter(|_| body.iter().all(u8::is_ascii_whitespace)) {
            default()
        } else {
            let Ok(parsed) = serde_json::from_slice::<T>(body) else {
                return;
            };
            parsed
        };
    let back: T = json_round_trip(&parsed);
    assert_eq!(back, parsed, "a request body changes through serde_json");
}
