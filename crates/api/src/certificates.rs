//! Certificates of the state commitment (DESIGN §5.9): the signatures of a quorum of an
//! epoch's validators over `(height, C_h)`.

use serde::{Deserialize, Serialize};

/// `GET /v1/certificates/{height}`: the certificate of block `height`'s state commitment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CertificateView {
    /// The certified block.
    pub height: u64,
    /// The epoch whose validators signed it.
    pub epoch: u64,
    /// The certified state commitment `C_h` (hex).
    pub state_commitment: String,
    /// That epoch's validators in seat order: identity keys (hex), as the certificate's seats
    /// count them.
    pub validators: Vec<String>,
    /// The organisations whose signature it holds, in seat order (a key if no organisation of
    /// the state has it now).
    pub signers: Vec<String>,
    /// The certificate (hex of its codec bytes: the signers' seats, then their ed25519
    /// signatures over the namespace `_CUSTODIA_COMMITMENT_AGG_ACK` and `(height, C_h)`).
    pub certificate: String,
}
