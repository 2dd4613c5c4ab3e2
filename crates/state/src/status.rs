//! Record and request statuses, as stored in the `status` columns.

use serde::Serialize;
use std::{fmt, str::FromStr};

/// A record's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordStatus {
    /// Waiting for the supervisor's verdict.
    Submitted,
    /// May be shared.
    Accepted,
    /// Refused by the supervisor.
    Rejected,
}

/// A request's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    /// Waiting for decisions.
    Pending,
    /// Every approver approved; waiting for the delivery.
    Approved,
    /// An approver rejected it.
    Rejected,
    /// The supervisor delivered it.
    Delivered,
    /// Undecided when its ttl ran out.
    Expired,
    /// The requester withdrew it.
    Cancelled,
}

macro_rules! status_text {
    ($ty:ident, $what:literal, $($variant:ident => $text:literal),+) => {
        impl $ty {
            /// The stored text.
            pub fn as_str(&self) -> &'static str {
                match self { $($ty::$variant => $text),+ }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $ty {
            type Err = String;
            fn from_str(text: &str) -> Result<Self, String> {
                match text {
                    $($text => Ok($ty::$variant),)+
                    other => Err(format!(
                        concat!("unknown ", $what, " status {:?}: expected one of {}"),
                        other,
                        [$($text),+].join(", ")
                    )),
                }
            }
        }
    };
}

status_text!(RecordStatus, "record",
    Submitted => "submitted", Accepted => "accepted", Rejected => "rejected");
status_text!(RequestStatus, "request",
    Pending => "pending", Approved => "approved", Rejected => "rejected",
    Delivered => "delivered", Expired => "expired", Cancelled => "cancelled");
