//! The calls of the history's inclusion proofs (DESIGN §5.7) and of the certificates of the
//! state commitment (§5.9).

use super::Client;
use crate::Result;
use custodia_api::{CertificateView, EventProof, ProofQuery, ReceiptProof};

impl Client {
    /// `GET /v1/audit/{seq}/proof`: audit entry `seq` with its proof against the commitment of
    /// block `at` (the head when `None`). Check it with [`crate::verify_event`].
    pub async fn event_proof(&self, seq: u64, at: Option<u64>) -> Result<EventProof> {
        self.get(&format!("/v1/audit/{seq}/proof"), &ProofQuery { at })
            .await
    }

    /// `GET /v1/receipts/{tx_id}/proof`: the tx's receipt with its proof against the commitment
    /// of block `at` (the head when `None`). Check it with [`crate::verify_receipt`].
    pub async fn receipt_proof(&self, tx_id: &str, at: Option<u64>) -> Result<ReceiptProof> {
        self.get(&format!("/v1/receipts/{tx_id}/proof"), &ProofQuery { at })
            .await
    }

    /// `GET /v1/certificates/{height}`: the certificate of block `height`'s state commitment.
    pub async fn certificate(&self, height: u64) -> Result<CertificateView> {
        self.get(&format!("/v1/certificates/{height}"), &()).await
    }
}
