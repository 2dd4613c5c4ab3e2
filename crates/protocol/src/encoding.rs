//! Codec helpers shared by the wire types: bounded UTF-8 strings and lists of them.

use crate::params::MAX_UTF8_BYTES;
use bytes::BufMut;
use commonware_codec::{Buf, EncodeSize, Error, RangeCfg, Read, Write};

/// Writes a UTF-8 string as a length-prefixed byte vector.
pub fn write_str(value: &str, buf: &mut impl BufMut) {
    value.as_bytes().write(buf);
}

/// Encoded size of [`write_str`].
pub fn str_size(value: &str) -> usize {
    value.as_bytes().encode_size()
}

/// Reads a string written by [`write_str`], at most `max` bytes and valid UTF-8.
pub fn read_str(buf: &mut impl Buf, max: usize, context: &'static str) -> Result<String, Error> {
    let bytes = Vec::<u8>::read_cfg(buf, &(RangeCfg::from(0..=max), ()))?;
    String::from_utf8(bytes).map_err(|_| Error::Invalid(context, "not valid UTF-8"))
}

/// Reads a text written by [`write_str`]: valid UTF-8 of at most `max_chars` characters (and so
/// at most `max_chars * MAX_UTF8_BYTES` bytes).
pub fn read_text(
    buf: &mut impl Buf,
    max_chars: usize,
    context: &'static str,
) -> Result<String, Error> {
    let text = read_str(buf, max_chars.saturating_mul(MAX_UTF8_BYTES), context)?;
    if text.chars().count() > max_chars {
        return Err(Error::Invalid(context, "too many characters"));
    }
    Ok(text)
}

/// Reads at most `max_items` texts of at most `max_chars` characters each.
pub fn read_texts(
    buf: &mut impl Buf,
    max_items: usize,
    max_chars: usize,
    context: &'static str,
) -> Result<Vec<String>, Error> {
    let count = usize::read_cfg(buf, &RangeCfg::from(0..=max_items))?;
    let mut values = Vec::with_capacity(count);
    for _ in 0..count {
        values.push(read_text(buf, max_chars, context)?);
    }
    Ok(values)
}

/// Writes a list of strings (count, then each string).
pub fn write_strs(values: &[String], buf: &mut impl BufMut) {
    values.len().write(buf);
    for value in values {
        write_str(value, buf);
    }
}

/// Encoded size of [`write_strs`].
pub fn strs_size(values: &[String]) -> usize {
    values.len().encode_size() + values.iter().map(|v| str_size(v)).sum::<usize>()
}

/// Reads at most `max_items` strings of at most `max_len` bytes each.
pub fn read_strs(
    buf: &mut impl Buf,
    max_items: usize,
    max_len: usize,
    context: &'static str,
) -> Result<Vec<String>, Error> {
    let count = usize::read_cfg(buf, &RangeCfg::from(0..=max_items))?;
    let mut values = Vec::with_capacity(count);
    for _ in 0..count {
        values.push(read_str(buf, max_len, context)?);
    }
    Ok(values)
}

/// Serde adapters that show byte strings as lowercase hex in TOML and JSON.
pub mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    /// Serializes any byte slice as hex.
    pub fn serialize<S: Serializer, T: AsRef<[u8]>>(value: &T, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(value.as_ref()))
    }

    /// Deserializes exactly `N` bytes from hex.
    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<[u8; N], D::Error> {
        let text = String::deserialize(d)?;
        let bytes = hex::decode(&text)
            .map_err(|e| D::Error::custom(format!("expected {N} bytes of hex: {e}")))?;
        bytes.try_into().map_err(|b: Vec<u8>| {
            D::Error::custom(format!("expected {N} bytes of hex, found {}", b.len()))
        })
    }
}
