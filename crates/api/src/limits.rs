//! The limits and text rules the API enforces, as numbers and as the ECMA-262 patterns the
//! OpenAPI document declares (DESIGN §4.4, §7.10). The chain's own limits come from
//! `custodia_protocol::params`; this module restates them for the API's inputs and adds the
//! API's own (pages, waits).

pub use custodia_protocol::params::{
    MAX_FIELD_NAME_BYTES, MAX_FIELDS, MAX_KIND_BYTES, MAX_ORG_NAME_BYTES, MAX_PURPOSE_CHARS,
    MAX_REASON_CHARS, MAX_REQUEST_RECORDS, MAX_TAG_CHARS, MAX_TAGS,
};

/// Page size when the client gives none.
pub const DEFAULT_LIMIT: u64 = 100;
/// Largest page size.
pub const MAX_LIMIT: u64 = 1000;
/// How long a waiting request waits when the client names no timeout, in seconds.
pub const DEFAULT_TIMEOUT_SECS: u64 = 30;
/// Longest wait a client may ask for, in seconds.
pub const MAX_TIMEOUT_SECS: u64 = 600;

/// `rec_` and 32 hex digits (either case; ids are shown in lowercase).
pub const RECORD_ID_PATTERN: &str = "^rec_[0-9a-fA-F]{32}$";
/// `req_` and 32 hex digits (either case; ids are shown in lowercase).
pub const REQUEST_ID_PATTERN: &str = "^req_[0-9a-fA-F]{32}$";
/// A proposal id: `prop_` and 32 hex digits (either case; shown in lowercase).
pub const PROPOSAL_ID_PATTERN: &str = "^prop_[0-9a-fA-F]{32}$";
/// A tx id: 64 hex digits (either case; shown in lowercase).
pub const TX_ID_PATTERN: &str = "^[0-9a-fA-F]{64}$";
/// An organisation name: 1 to 64 of `[a-z0-9._-]`, starting with a letter or a digit.
pub const ORG_NAME_PATTERN: &str = "^[a-z0-9][a-z0-9._-]{0,63}$";
/// A record kind or a field name: 1 to 64 of `[A-Za-z0-9_.-]`.
pub const NAME_PATTERN: &str = "^[A-Za-z0-9_.-]{1,64}$";
/// Text that is not blank: it holds a character that is not white space (white space as Rust's
/// `char::is_whitespace`, the Unicode `White_Space` property, which the rules trim).
pub const NOT_BLANK_PATTERN: &str = "[^\\u0009-\\u000D\\u0020\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028-\\u2029\\u202F\\u205F\\u3000]";

/// The code point ranges of Rust's `char::is_whitespace` (the Unicode `White_Space` property),
/// from which [`NOT_BLANK_PATTERN`] is written.
pub const WHITE_SPACE: [(char, char); 10] = [
    ('\u{0009}', '\u{000D}'),
    ('\u{0020}', '\u{0020}'),
    ('\u{0085}', '\u{0085}'),
    ('\u{00A0}', '\u{00A0}'),
    ('\u{1680}', '\u{1680}'),
    ('\u{2000}', '\u{200A}'),
    ('\u{2028}', '\u{2029}'),
    ('\u{202F}', '\u{202F}'),
    ('\u{205F}', '\u{205F}'),
    ('\u{3000}', '\u{3000}'),
];

/// Whether `text` is blank by the rules' definition (only white space, or empty).
pub fn is_blank(text: &str) -> bool {
    text.trim().is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_not_blank_pattern_lists_exactly_rusts_white_space() {
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            let listed = WHITE_SPACE.iter().any(|&(a, b)| (a..=b).contains(&c));
            assert_eq!(c.is_whitespace(), listed, "{c:?}");
        }
        let class: String = WHITE_SPACE
            .iter()
            .map(|&(a, b)| {
                let one = |c: char| format!("\\u{:04X}", c as u32);
                if a == b {
                    one(a)
                } else {
                    format!("{}-{}", one(a), one(b))
                }
            })
            .collect();
        assert_eq!(NOT_BLANK_PATTERN, format!("[^{class}]"));
    }

    #[test]
    fn blank_is_white_space_as_rust_trims_it() {
        for blank in ["", " ", "\t\n", "\u{85}", "\u{3000}\u{2028}"] {
            assert!(is_blank(blank), "{blank:?}");
        }
        for text in ["x", " x ", "\u{feff}", "\u{200b}"] {
            assert!(!is_blank(text), "{text:?}");
        }
    }
}
