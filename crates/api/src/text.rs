//! The API's closed sets of words (roles and statuses), with `Display`, `FromStr` and serde in
//! their snake_case form.

use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

/// Defines a lowercase string enum with `Display`, `FromStr` and serde in its snake_case form.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in the contract's order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value as the API spells it.
            pub fn as_str(&self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;

            fn from_str(text: &str) -> Result<Self, String> {
                match text {
                    $($text => Ok($name::$variant),)+
                    _ => Err(format!(
                        "{text:?} is not a {}: use one of {}",
                        $what,
                        [$($text),+].join(", ")
                    )),
                }
            }
        }
    };
}

text_enum!(
    /// An organisation's role in the consortium.
    Role, "role" {
        /// The supervisory organisation: reads every record, approves and delivers.
        Supervisor = "supervisor",
        /// A member: provides records and requests others'.
        Member = "member",
    }
);

text_enum!(
    /// Where a record stands.
    RecordStatus, "record status" {
        /// On the chain, awaiting the supervisor's verdict.
        Submitted = "submitted",
        /// The supervisor accepted it: it can be shared.
        Accepted = "accepted",
        /// The supervisor rejected it (see its reason).
        Rejected = "rejected",
    }
);

text_enum!(
    /// Where a share request stands.
    RequestStatus, "request status" {
        /// Awaiting decisions.
        Pending = "pending",
        /// Every required party approved; awaiting the supervisor's delivery.
        Approved = "approved",
        /// A party rejected it.
        Rejected = "rejected",
        /// The supervisor delivered it to the requester.
        Delivered = "delivered",
        /// It expired undecided.
        Expired = "expired",
        /// The requester cancelled it.
        Cancelled = "cancelled",
    }
);

text_enum!(
    /// One required party's decision on a request.
    DecisionState, "decision" {
        /// Not decided yet.
        Pending = "pending",
        /// Approved.
        Approved = "approved",
        /// Rejected.
        Rejected = "rejected",
    }
);

text_enum!(
    /// Where a governance proposal stands.
    ProposalStatus, "proposal status" {
        /// Open for votes.
        Open = "open",
        /// It reached its quorum; its change is made or scheduled.
        Enacted = "enacted",
        /// It can no longer reach its quorum.
        Rejected = "rejected",
        /// Its ttl ran out.
        Expired = "expired",
    }
);

text_enum!(
    /// Where an organisation stands in the consortium.
    Membership, "membership" {
        /// A member.
        Member = "member",
        /// Its addition is enacted, not yet in effect.
        Admitted = "admitted",
        /// Its removal is enacted, not yet in effect.
        Leaving = "leaving",
        /// Removed: history only.
        Removed = "removed",
    }
);
