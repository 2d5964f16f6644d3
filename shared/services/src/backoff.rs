//! The one way the channel waits before trying again: exponential backoff with jitter, bounded.
//! Every retry loop (a write that lost a race, a batch with unprocessed keys, a TeleSign request
//! TeleSign refused, a parked callback's replay) takes its waits from here, so that writers that
//! collided spread out instead of colliding again in step.

use std::time::Duration;

use rand::Rng;

/// Waits that double from `base` up to `cap`; each is drawn uniformly from the upper half of its
/// ceiling ("equal jitter": never zero, never in step with another writer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The ceiling of the first wait.
    pub base: Duration,
    /// The longest wait.
    pub cap: Duration,
}

impl Backoff {
    /// Waits from `base`, doubling, never over `cap`.
    pub const fn new(base: Duration, cap: Duration) -> Self {
        Self { base, cap }
    }

    /// The ceiling of the wait before retry `attempt` (1 for the first retry).
    pub fn ceiling(&self, attempt: u32) -> Duration {
        self.base
            .saturating_mul(1 << attempt.saturating_sub(1).min(20))
            .min(self.cap)
    }

    /// The wait before retry `attempt` (1 for the first retry), jittered.
    pub fn delay(&self, attempt: u32) -> Duration {
        let millis = self.ceiling(attempt).as_millis() as u64;
        Duration::from_millis(rand::rng().random_range(millis / 2..=millis.max(1)))
    }

    /// Sleeps the wait before retry `attempt`.
    pub async fn sleep(&self, attempt: u32) {
        tokio::time::sleep(self.delay(attempt)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_the_cap_and_stay_in_the_upper_half_of_their_ceiling() {
        let b = Backoff::new(Duration::from_millis(10), Duration::from_millis(70));
        let ceilings: Vec<u128> = (1..=5).map(|a| b.ceiling(a).as_millis()).collect();
        assert_eq!(ceilings, [10, 20, 40, 70, 70]);
        for attempt in 1..=5 {
            for _ in 0..50 {
                let d = b.delay(attempt);
                assert!(d >= b.ceiling(attempt) / 2 && d <= b.ceiling(attempt), "{d:?}");
            }
        }
        assert_eq!(b.ceiling(u32::MAX), Duration::from_millis(70), "no overflow");
    }
}
