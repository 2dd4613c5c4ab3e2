//! Blocking work off the async threads: state queries over a fresh read-only connection (so
//! they never wait for the executor) and tx admission.

use super::ApiError;
use crate::Ledger;
use custodia_state::{Queries, StateError};
use std::sync::Arc;

/// Runs `work` on a blocking thread.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| ApiError::internal(format!("the request's worker failed: {err}")))
}

/// Runs `query` over the state on a blocking thread: over a read-only connection of its own,
/// or over the writer's when the state is in memory.
pub(crate) async fn query<T: Send + 'static>(
    ledger: &Arc<Ledger>,
    query: impl FnOnce(&Queries<'_>) -> Result<T, StateError> + Send + 'static,
) -> Result<T, ApiError> {
    let ledger = ledger.clone();
    blocking(move || ledger.query(query))
        .await?
        .map_err(state_error)
}

fn state_error(err: StateError) -> ApiError {
    match err {
        StateError::Sqlite(_) => ApiError::unavailable(format!(
            "the node cannot read its state right now ({err}): retry shortly"
        )),
        other => ApiError::internal(format!(
            "the node's state cannot be read ({other}): the operator should check the node's log"
        )),
    }
}
