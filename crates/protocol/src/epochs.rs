//! Epoch arithmetic (DESIGN §3.2): epoch `e` is the heights `e·L ..= (e+1)·L − 1` for the
//! genesis parameter `L = epoch_length`, as commonware's `FixedEpocher` counts them. Epoch 0 holds
//! height 0 (genesis), so it has `L − 1` real blocks. Pure, so that the state can schedule
//! validator sets without a consensus dependency; the node asserts that it agrees with the
//! epocher it gives consensus.

/// The epoch that holds `height`.
pub fn epoch_of(height: u64, epoch_length: u64) -> u64 {
    height / epoch_length.max(1)
}

/// The first height of `epoch` (saturating).
pub fn first(epoch: u64, epoch_length: u64) -> u64 {
    epoch.saturating_mul(epoch_length)
}

/// The last height of `epoch`, its boundary block (saturating).
pub fn last(epoch: u64, epoch_length: u64) -> u64 {
    epoch
        .saturating_add(1)
        .saturating_mul(epoch_length)
        .saturating_sub(1)
}

/// The epoch from which a validator-set change enacted at `height` takes effect: every node
/// learns the new set one whole epoch before it must use it (DESIGN §3.2).
pub fn effect_epoch(height: u64, epoch_length: u64) -> u64 {
    epoch_of(height, epoch_length).saturating_add(2)
}

/// The height at whose end a membership change enacted at `height` takes effect: the last block
/// before [`effect_epoch`], so the organisation acts from the epoch its votes count in
/// (DESIGN §4.10).
pub fn effect_height(height: u64, epoch_length: u64) -> u64 {
    last(
        effect_epoch(height, epoch_length).saturating_sub(1),
        epoch_length,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_partition_the_heights() {
        let l = 64;
        assert_eq!(epoch_of(0, l), 0);
        assert_eq!(epoch_of(63, l), 0);
        assert_eq!(epoch_of(64, l), 1);
        assert_eq!(first(1, l), 64);
        assert_eq!(last(0, l), 63);
        assert_eq!(last(1, l), 127);
        assert_eq!(effect_epoch(63, l), 2);
        assert_eq!(effect_epoch(64, l), 3);
        assert_eq!(effect_height(1, l), 127);
        assert_eq!(effect_height(63, l), 127);
        assert_eq!(effect_height(64, l), 191);
        for h in [0, 1, 63, 64, 65, 1_000, 123_456_789] {
            let e = epoch_of(h, l);
            assert!(first(e, l) <= h && h <= last(e, l));
            assert_eq!(last(e, l) + 1, first(e + 1, l));
            assert_eq!(effect_height(h, l) + 1, first(effect_epoch(h, l), l));
        }
    }
}
