//! The calls of the consortium's governance (DESIGN §4.10, §8.5): organisations, suspension,
//! proposals and votes, key rotation.

use super::{Client, Wait};
use crate::Result;
use custodia_api::{
    Approval, IdentityRotation, IdentityRotationTx, KeyRotation, KeyRotationTx, NewProposal, Org,
    OrgTx, Orgs, ProposalFilter, ProposalPage, ProposalTx, ProposalView, Refusal, Reinstatement,
    Suspension,
};
use custodia_protocol::ProposalId;

impl Client {
    /// `GET /v1/orgs`: every organisation of the consortium.
    pub async fn orgs(&self) -> Result<Vec<Org>> {
        Ok(self.get::<Orgs>("/v1/orgs", &()).await?.orgs)
    }

    /// `POST /v1/orgs/{name}/suspend`: the supervisor suspends organisation `name`, saying why.
    pub async fn suspend(&self, name: &str, reason: &str, wait: Wait) -> Result<OrgTx> {
        let body = Suspension {
            reason: reason.to_string(),
        };
        self.write(&format!("/v1/orgs/{name}/suspend"), &body, wait)
            .await
    }

    /// `POST /v1/orgs/{name}/reinstate`: the supervisor reinstates organisation `name`.
    pub async fn reinstate(&self, name: &str, reason: Option<&str>, wait: Wait) -> Result<OrgTx> {
        let body = Reinstatement {
            reason: reason.map(str::to_string),
        };
        self.write(&format!("/v1/orgs/{name}/reinstate"), &body, wait)
            .await
    }

    /// `POST /v1/proposals`: this organisation proposes a change (its vote for).
    pub async fn propose(&self, proposal: &NewProposal, wait: Wait) -> Result<ProposalTx> {
        self.write("/v1/proposals", proposal, wait).await
    }

    /// `POST /v1/proposals/{id}/approve` or `/reject`: this organisation votes for or
    /// against (against needs a reason).
    pub async fn vote(
        &self,
        id: &ProposalId,
        approve: bool,
        reason: Option<&str>,
        wait: Wait,
    ) -> Result<ProposalTx> {
        if approve {
            let body = Approval {
                reason: reason.map(str::to_string),
            };
            self.write(&format!("/v1/proposals/{id}/approve"), &body, wait)
                .await
        } else {
            let body = Refusal {
                reason: reason.unwrap_or_default().to_string(),
            };
            self.write(&format!("/v1/proposals/{id}/reject"), &body, wait)
                .await
        }
    }

    /// `GET /v1/proposals`: the proposals `filter` selects, with their votes.
    pub async fn proposals(&self, filter: &ProposalFilter) -> Result<Vec<ProposalView>> {
        Ok(self
            .get::<ProposalPage>("/v1/proposals", filter)
            .await?
            .proposals)
    }

    /// `GET /v1/proposals/{id}`.
    pub async fn proposal(&self, id: &ProposalId) -> Result<ProposalView> {
        self.get(&format!("/v1/proposals/{id}"), &()).await
    }

    /// `POST /v1/keys/rotate`: the node makes a new encryption key, keeps it in its keyring
    /// and announces it with `RotateKeys`.
    pub async fn rotate_encryption_key(&self, wait: Wait) -> Result<KeyRotationTx> {
        self.write("/v1/keys/rotate", &KeyRotation { encryption: true }, wait)
            .await
    }

    /// `POST /v1/keys/identity`: the node makes a new identity key, keeps it in its keyring
    /// and announces it with `RotateIdentity` and its proof of possession.
    pub async fn rotate_identity_key(&self, wait: Wait) -> Result<IdentityRotationTx> {
        self.write("/v1/keys/identity", &IdentityRotation {}, wait)
            .await
    }
}
