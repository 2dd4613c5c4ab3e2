//! Epochs (DESIGN §3.2): the chain is cut into epochs of `epoch_length` blocks, and consensus
//! runs one simplex engine per epoch. [`orchestrator`] starts the engine of the next epoch on the
//! boundary block and stops the last one; [`sets`] holds each epoch's validators, [`provider`]
//! gives marshal and the engines their schemes, and [`consensus`] configures one epoch's engine.

pub mod consensus;
pub mod orchestrator;
pub mod peers;
pub mod provider;
pub mod sets;

use commonware_consensus::types::{Epoch, Epocher as _, FixedEpocher, Height};
use commonware_utils::NZU64;
use custodia_protocol::epochs;
use std::num::NonZeroU64;

/// The epochs of one chain: its `epoch_length`, as the arithmetic of the state and the epocher
/// consensus uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Epochs {
    length: NonZeroU64,
}

impl Epochs {
    /// Epochs of `length` blocks (the genesis bounds it to at least 64; 0 and 1 are raised to 2,
    /// the least `FixedEpocher` takes, so that a bad value cannot panic here).
    pub fn new(length: u64) -> Self {
        Self {
            length: NonZeroU64::new(length.max(2)).unwrap_or(NZU64!(2)),
        }
    }

    /// The epocher marshal and the engines use.
    pub fn epocher(&self) -> FixedEpocher {
        FixedEpocher::new(self.length)
    }

    /// The epoch that holds `height`.
    pub fn of(&self, height: u64) -> u64 {
        epochs::epoch_of(height, self.length.get())
    }

    /// The last height of `epoch`, its boundary block.
    pub fn last(&self, epoch: u64) -> u64 {
        epochs::last(epoch, self.length.get())
    }

    /// Whether the epocher consensus uses agrees with [`Self::of`] and [`Self::last`] at
    /// `height` (checked by the tests).
    pub fn agrees_with_epocher(&self, height: u64) -> bool {
        let Some(info) = self.epocher().containing(Height::new(height)) else {
            return false;
        };
        let epoch = self.of(height);
        info.epoch() == Epoch::new(epoch)
            && info.last() == Height::new(self.last(epoch))
            && self.epocher().last(Epoch::new(epoch)) == Some(Height::new(self.last(epoch)))
    }
}

/// The storage partition of the simplex journal of `epoch` (DESIGN §3.7).
pub fn journal_partition(prefix: &str, epoch: u64) -> String {
    format!("{prefix}-simplex-{epoch}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn the_protocol_arithmetic_is_the_epocher_of_consensus(
            length in 64u64..=10_000_000,
            height in 0u64..(1 << 50),
        ) {
            prop_assert!(Epochs::new(length).agrees_with_epocher(height));
        }
    }

    #[test]
    fn epoch_zero_holds_genesis_and_ends_at_its_boundary() {
        let epochs = Epochs::new(64);
        assert!(epochs.agrees_with_epocher(0));
        assert_eq!(epochs.of(63), 0);
        assert_eq!(epochs.last(0), 63);
        assert_eq!(epochs.of(64), 1);
        assert_eq!(journal_partition("custodia", 3), "custodia-simplex-3");
    }
}
