//! What can go wrong talking to a node, each variant saying what to do about it.

use std::path::PathBuf;

/// A failed call of the API.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The node answered with an error (`{"error": {"code", "message"}}`); the message says
    /// what is wrong and what to do.
    #[error("{message} ({code}, HTTP {status})")]
    Api {
        /// The HTTP status.
        status: u16,
        /// The stable machine-readable code (`record_not_found`, `timeout`, a receipt's code…).
        code: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// No connection to the node could be made.
    #[error(
        "cannot reach the custodia node at {url} ({reason}): is the node running? check \
         --node / CUSTODIA_NODE (or --org-dir)"
    )]
    Unreachable {
        /// The URL called.
        url: String,
        /// Why the connection failed.
        reason: String,
    },
    /// The node did not answer in time.
    #[error(
        "the custodia node at {url} did not answer within {seconds} s: it may be overloaded; retry, or check its log"
    )]
    TimedOut {
        /// The URL called.
        url: String,
        /// How long the client waited.
        seconds: u64,
    },
    /// The exchange broke off after the connection was made.
    #[error("talking to the custodia node at {url} failed: {reason}")]
    Transport {
        /// The URL called.
        url: String,
        /// What broke.
        reason: String,
    },
    /// The answer is not what the API contract says (a different custodia version?).
    #[error(
        "the answer of {url} (HTTP {status}) is not what this client expects: {reason}: are the \
         client and the node the same custodia version?"
    )]
    Decode {
        /// The URL called.
        url: String,
        /// The HTTP status.
        status: u16,
        /// What did not fit.
        reason: String,
    },
    /// The node URL cannot be used.
    #[error("{url:?} is not a usable node URL ({reason}): use e.g. http://127.0.0.1:8000")]
    InvalidUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The TLS settings for an `https://` node cannot be used.
    #[error("cannot connect to {url} over TLS: {reason}")]
    Tls {
        /// The URL given.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// An organisation directory lacks what the client needs.
    #[error("{}: {reason}", path.display())]
    OrgDir {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong and what to do.
        reason: String,
    },
    /// Something the client waited for did not happen in time.
    #[error("{what} did not happen within {seconds} s: {hint}")]
    WaitTimeout {
        /// What was awaited.
        what: String,
        /// How long the client waited.
        seconds: u64,
        /// What to do.
        hint: String,
    },
}

impl Error {
    /// The API's error code, for an error the node answered.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The HTTP status, for an error the node answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A result of the client.
pub type Result<T, E = Error> = std::result::Result<T, E>;
