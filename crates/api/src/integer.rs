//! JSON integers as JSON Schema reads them: a number with no fractional part is an integer,
//! however it is spelled (`4186` and `4186.0` alike), so a body the document allows is one
//! the server reads.

use serde::{Deserialize, Deserializer, de::Error};
use serde_json::Number;

/// An optional `u64` that may be spelled with a zero fraction.
pub(crate) fn optional<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u64>, D::Error> {
    let Some(number) = Option::<Number>::deserialize(deserializer)? else {
        return Ok(None);
    };
    if let Some(value) = number.as_u64() {
        return Ok(Some(value));
    }
    match number.as_f64() {
        // Below 2^53 every integer is exact in a double, so the value is the one written.
        Some(value) if value.fract() == 0.0 && (0.0..=9_007_199_254_740_992.0).contains(&value) => {
            Ok(Some(value as u64))
        }
        _ => Err(D::Error::custom(format!(
            "invalid value {number}: expected a non-negative integer"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use crate::NewRequest;

    fn ttl(json: &str) -> Result<Option<u64>, String> {
        let body = format!(r#"{{"record_ids": [], "purpose": "p", "ttl": {json}}}"#);
        serde_json::from_str::<NewRequest>(&body)
            .map(|request| request.ttl)
            .map_err(|err| err.to_string())
    }

    #[test]
    fn an_integer_may_be_spelled_with_a_zero_fraction() {
        assert_eq!(ttl("4186"), Ok(Some(4186)));
        assert_eq!(ttl("4186.0"), Ok(Some(4186)));
        assert_eq!(ttl("4.186e3"), Ok(Some(4186)));
        assert_eq!(ttl("null"), Ok(None));
        for bad in ["4186.5", "-1", "-1.0", "1e300", "\"9\""] {
            assert!(ttl(bad).is_err(), "{bad}");
        }
    }
}
