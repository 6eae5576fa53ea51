//! Attempt limits (governor's GCRA), per process: with N web processes a client gets at most
//! N× each budget.
//!
//! - sign-in and sign-up: per client IP and per *account* (the account a typed email or
//!   username names, so both spellings share one budget);
//! - orders (flash sale, product, cart checkout) and cart/wishlist writes: per account, plus one
//!   budget per client IP for all of them together (off when set to 0).
//!
//! A refused key refills at its even rate, so an attacker who exhausts an account's budget
//! delays its owner by at most the wait the 429 names; nobody is locked out for good.

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::Arc;

/// One budget of `per_minute` attempts per key, refilled evenly over the minute.
#[derive(Clone)]
pub struct AttemptLimiter<C: Clock = DefaultClock> {
    limiter: Arc<RateLimiter<String, DefaultKeyedStateStore<String>, C, NoOpMiddleware<C::Instant>>>,
    clock: C,
}

impl<C: Clock> std::fmt::Debug for AttemptLimiter<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AttemptLimiter")
    }
}

impl AttemptLimiter {
    pub fn per_minute(per_minute: u32) -> AttemptLimiter {
        AttemptLimiter::with_clock(per_minute, DefaultClock::default())
    }
}

impl<C: Clock + Clone> AttemptLimiter<C> {
    pub fn with_clock(per_minute: u32, clock: C) -> AttemptLimiter<C> {
        let n = NonZeroU32::new(per_minute.max(1)).expect("non-zero");
        AttemptLimiter {
            limiter: Arc::new(RateLimiter::new(
                Quota::per_minute(n),
                DefaultKeyedStateStore::default(),
                clock.clone(),
            )),
            clock,
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

    /// Forgets keys whose budget is full again (the key map would otherwise only grow).
    pub fn prune(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }

    pub fn keys(&self) -> usize {
        self.limiter.len()
    }
}

/// What a shopper is trying to write, for [`Limits::write`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// Placing an order (flash sale, product page, cart checkout).
    Order,
    /// Changing the cart or the wishlist.
    Cart,
}

/// Budgets per minute (`SHOP_*_PER_MINUTE`, README "Configuration").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitSettings {
    pub auth: u32,
    pub orders: u32,
    pub cart_writes: u32,
    /// `0` = no per-IP budget (e.g. behind a proxy whose address every client shares).
    pub writes_per_ip: u32,
}

impl Default for LimitSettings {
    fn default() -> Self {
        LimitSettings { auth: 10, orders: 10, cart_writes: 60, writes_per_ip: 1200 }
    }
}

/// Every attempt budget of the web tier.
#[derive(Clone, Debug)]
pub struct Limits {
    pub auth: AttemptLimiter,
    orders: AttemptLimiter,
    cart: AttemptLimiter,
    per_ip: Option<AttemptLimiter>,
}

impl Limits {
    pub fn new(s: LimitSettings) -> Limits {
        Limits {
            auth: AttemptLimiter::per_minute(s.auth),
            orders: AttemptLimiter::per_minute(s.orders),
            cart: AttemptLimiter::per_minute(s.cart_writes),
            per_ip: (s.writes_per_ip > 0).then(|| AttemptLimiter::per_minute(s.writes_per_ip)),
        }
    }

    /// Counts one write by `user_id` from `ip`; `Err(seconds)` to wait.
    pub fn write(&self, kind: Write, user_id: i64, ip: &str) -> Result<(), u64> {
        if let Some(per_ip) = &self.per_ip {
            per_ip.attempt(&[format!("ip:{ip}")])?;
        }
        let (limiter, key) = match kind {
            Write::Order => (&self.orders, format!("order:{user_id}")),
            Write::Cart => (&self.cart, format!("cart:{user_id}")),
        };
        limiter.attempt(&[key])
    }

    /// Forgets keys whose budget is full again; run now and then.
    pub fn prune(&self) {
        for l in [&self.auth, &self.orders, &self.cart].into_iter().chain(self.per_ip.as_ref()) {
            l.prune();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;
    use std::time::Duration;

    /// A limiter on a clock the test moves by hand.
    fn fake_clock_limiter(per_minute: u32) -> (AttemptLimiter<FakeRelativeClock>, FakeRelativeClock) {
        let clock = FakeRelativeClock::default();
        (AttemptLimiter::with_clock(per_minute, clock.clone()), clock)
    }

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

    #[test]
    fn a_refused_key_is_allowed_again_after_its_wait_and_pruned_when_full() {
        let (l, clock) = fake_clock_limiter(6);
        let k = vec!["account:7".to_string()];
        for _ in 0..6 {
            l.attempt(&k).unwrap();
        }
        let wait = l.attempt(&k).unwrap_err();
        assert_eq!(wait, 10, "one attempt back every 10 s");
        clock.advance(Duration::from_secs(wait));
        assert!(l.attempt(&k).is_ok(), "no lock-out after the wait");
        assert_eq!(l.keys(), 1);
        clock.advance(Duration::from_secs(120));
        l.prune();
        assert_eq!(l.keys(), 0, "a key whose budget is full again is forgotten");
    }

    #[test]
    fn writes_have_a_budget_per_account_and_per_ip() {
        let limits = Limits::new(LimitSettings { auth: 1, orders: 2, cart_writes: 3, writes_per_ip: 100 });
        assert!(limits.write(Write::Order, 1, "a").is_ok());
        assert!(limits.write(Write::Order, 1, "a").is_ok());
        assert!(limits.write(Write::Order, 1, "b").is_err(), "per account, whatever the IP");
        assert!(limits.write(Write::Order, 2, "a").is_ok(), "another account has its own");
        assert!(limits.write(Write::Cart, 1, "a").is_ok(), "cart writes are a separate budget");
        let ip = Limits::new(LimitSettings { auth: 1, orders: 100, cart_writes: 100, writes_per_ip: 2 });
        assert!(ip.write(Write::Order, 1, "x").is_ok());
        assert!(ip.write(Write::Cart, 2, "x").is_ok());
        assert!(ip.write(Write::Order, 3, "x").is_err(), "one budget per IP for all accounts");
        let off = Limits::new(LimitSettings { writes_per_ip: 0, ..LimitSettings::default() });
        for user in 0..2000 {
            assert!(off.write(Write::Cart, user, "x").is_ok(), "0 switches the per-IP budget off");
        }
    }
}
