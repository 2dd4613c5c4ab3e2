//! Record and request identifiers: 16 random bytes, shown as `rec_<32 hex>` and `req_<32 hex>`;
//! organisation ids: a number fixed when the organisation is admitted.

use bytes::BufMut;
use commonware_codec::{Buf, Error as CodecError, FixedSize, Read, Write};
use std::{fmt, str::FromStr};

/// Why a text is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The text does not start with the expected prefix.
    #[error("malformed {kind} id {text:?}: expected '{prefix}' followed by 32 hex characters")]
    Prefix {
        /// What kind of id was expected.
        kind: &'static str,
        /// The expected prefix.
        prefix: &'static str,
        /// The text that was given.
        text: String,
    },
    /// The part after the prefix is not 32 hex characters.
    #[error("malformed {kind} id {text:?}: expected 32 hex characters after '{prefix}'")]
    Hex {
        /// What kind of id was expected.
        kind: &'static str,
        /// The expected prefix.
        prefix: &'static str,
        /// The text that was given.
        text: String,
    },
}

macro_rules! define_id {
    ($name:ident, $prefix:literal, $kind:literal, $doc:literal) => {
        #[doc = $doc]
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub [u8; 16]);

        impl $name {
            /// The text prefix of this kind of id.
            pub const PREFIX: &'static str = $prefix;

            /// A fresh random id.
            pub fn random() -> Self {
                Self(rand::random())
            }

            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; 16] {
                &self.0
            }

            /// Builds an id from raw bytes (e.g. a database column); `None` unless 16 bytes.
            pub fn from_slice(bytes: &[u8]) -> Option<Self> {
                bytes.try_into().ok().map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}{}", $prefix, hex::encode(self.0))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self, f)
            }
        }

        impl FromStr for $name {
            type Err = IdError;

            fn from_str(text: &str) -> Result<Self, IdError> {
                let rest = text.strip_prefix($prefix).ok_or_else(|| IdError::Prefix {
                    kind: $kind,
                    prefix: $prefix,
                    text: text.to_string(),
                })?;
                let hex_err = || IdError::Hex {
                    kind: $kind,
                    prefix: $prefix,
                    text: text.to_string(),
                };
                if rest.len() != 32 {
                    return Err(hex_err());
                }
                let bytes = hex::decode(rest).map_err(|_| hex_err())?;
                Ok(Self(bytes.try_into().map_err(|_| hex_err())?))
            }
        }

        impl Write for $name {
            fn write(&self, buf: &mut impl BufMut) {
                buf.put_slice(&self.0);
            }
        }

        impl Read for $name {
            type Cfg = ();
            fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
                Ok(Self(<[u8; 16]>::read_cfg(buf, &())?))
            }
        }

        impl FixedSize for $name {
            const SIZE: usize = 16;
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <String as serde::Deserialize>::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

define_id!(
    RecordId,
    "rec_",
    "record",
    "Identifies a data record on the chain."
);
define_id!(
    RequestId,
    "req_",
    "request",
    "Identifies a share request on the chain."
);

/// An organisation's stable id: its position in the genesis, or for one admitted later the
/// number of organisations before it (DESIGN §4.4). It never changes, whatever keys rotate.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct OrgId(pub u32);

impl fmt::Display for OrgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Write for OrgId {
    fn write(&self, buf: &mut impl BufMut) {
        self.0.write(buf);
    }
}

impl Read for OrgId {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self(u32::read_cfg(buf, &())?))
    }
}

impl FixedSize for OrgId {
    const SIZE: usize = u32::SIZE;
}

define_id!(
    ProposalId,
    "prop_",
    "proposal",
    "Identifies a governance proposal on the chain."
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_display_and_parse_round_trip() {
        let id = RecordId::random();
        let text = id.to_string();
        assert!(text.starts_with("rec_") && text.len() == 36);
        assert_eq!(text.parse::<RecordId>().unwrap(), id);
        let req = RequestId::random();
        assert_eq!(req.to_string().parse::<RequestId>().unwrap(), req);
    }

    #[test]
    fn malformed_ids_say_what_is_expected() {
        let err = "req_00".parse::<RecordId>().unwrap_err();
        assert!(
            matches!(err, IdError::Prefix { kind: "record", .. }),
            "{err}"
        );
        assert!(err.to_string().contains("'rec_'"));
        let err = "rec_zz".parse::<RecordId>().unwrap_err();
        assert!(matches!(err, IdError::Hex { .. }), "{err}");
        let err = format!("rec_{}", "g".repeat(32))
            .parse::<RecordId>()
            .unwrap_err();
        assert!(matches!(err, IdError::Hex { .. }));
        let err = format!("req_{}", "0".repeat(30))
            .parse::<RequestId>()
            .unwrap_err();
        assert!(err.to_string().contains("32 hex characters"));
    }
}
