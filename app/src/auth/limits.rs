//! Attempt limits for login and signup, keyed by client IP and by account (governor's GCRA).
//! Per process: with N web processes an attacker gets at most N× the budget.

use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::Arc;

#[derive(Clone)]
pub struct AttemptLimiter {
    limiter: Arc<RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock>>,
    clock: DefaultClock,
}

impl std::fmt::Debug for AttemptLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AttemptLimiter")
    }
}

impl AttemptLimiter {
    /// `per_minute` attempts per key, refilled evenly over the minute.
    pub fn per_minute(per_minute: u32) -> AttemptLimiter {
        let n = NonZeroU32::new(per_minute.max(1)).expect("non-zero");
        AttemptLimiter {
            limiter: Arc::new(RateLimiter::keyed(Quota::per_minute(n))),
            clock: DefaultClock::default(),
        }
    }

    /// Counts one attempt for every key; `Err(seconds)` to wait when any key is over its budget.
    /// Keys are checked in order and nothing is counted against later keys once one refuses.
    pub fn attempt(&self, keys: &[String]) -> Result<(), u64> {
        for key in keys {
            if let Err(not_until) = self.limiter.check_key(key) {
                let wait = not_until.wait_time_from(self.clock.now());
                return Err(wait.as_secs().max(1));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_after_the_budget_with_a_wait_time() {
        let l = AttemptLimiter::per_minute(3);
        let k = vec!["ip:1".to_string()];
        for _ in 0..3 {
            assert!(l.attempt(&k).is_ok());
        }
        let wait = l.attempt(&k).unwrap_err();
        assert!((1..=60).contains(&wait), "{wait}");
        assert!(l.attempt(&["ip:2".to_string()]).is_ok(), "other keys are unaffected");
    }
}
