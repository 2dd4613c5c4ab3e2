//! custodia-state: the deterministic state machine.
//!
//! [`State::apply`] takes a finalized block and, in one SQLite transaction, applies every tx's
//! rules (DESIGN §4.5), expires overdue requests, forgets tx ids past their window, writes
//! receipts and events, appends them to the history and advances the state commitment (DESIGN §5.7). Same blocks in, same
//! receipts, events and commitments out: no clocks, no randomness, no hash-map iteration.
//! [`Queries`] answers the API, the role workers and auditors.

mod apply;
mod certificates;
mod error;
mod event;
mod history;
mod orgs;
mod precheck;
mod proposals;
mod queries;
mod receipt;
mod rules;
mod schema;
mod sql;
mod state;
mod status;
mod validators;

pub use apply::Applied;
pub use certificates::{CertificateRow, Certificates};
pub use error::StateError;
pub use event::{Event, EventKind};
pub use orgs::{Membership, Org, OrgKey};
pub use precheck::Precheck;
pub use proposals::{ProposalRow, VoteRow};
pub use queries::{
    AuditEntry, AuditFilter, BlockRow, DecisionRow, DeliveryRow, HistoryProof, Queries,
    RecordFilter, RecordRow, RequestFilter, RequestRow,
};
pub use receipt::{Code, Receipt, Rejection};
pub use schema::{SCHEMA, SCHEMA_VERSION};
pub use state::{State, StateReader};
pub use status::{RecordStatus, RequestStatus};
pub use validators::ValidatorEpochs;
