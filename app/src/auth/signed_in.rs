//! Who is signed in, handed from the session load to [`crate::auth::current_user`].
//!
//! Every request that carries a session cookie reads the session and its user in one query
//! (`Store::session_load_with_user`, in the session store); the user is left here and
//! `current_user` takes it instead of asking the database a second time. So the user is read
//! afresh on every request: a role or profile change made by any process shows on the next
//! request, and a logout or password change (which delete sessions) too. An entry is used for
//! at most [`FRESH`] after it was read (a request without a session load finds none and reads
//! the database), a change made through this process forgets it at once, and a session whose
//! account is gone forgets it.

use shop_domain::CurrentUser;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a user read with their session stands for them.
pub const FRESH: Duration = Duration::from_secs(1);

/// Entries above this count are pruned of stale ones.
const PRUNE_ABOVE: usize = 4_096;

#[derive(Clone, Default, Debug)]
pub struct SignedIn {
    users: Arc<Mutex<Users>>,
}

#[derive(Default, Debug)]
struct Users {
    by_id: HashMap<i64, (CurrentUser, Instant)>,
    /// The size at which stale entries are next pruned: twice what the last prune kept, so
    /// a rush of thousands of buyers a second prunes now and then, not on every request.
    prune_at: usize,
}

impl SignedIn {
    /// A user just read from the database with their session.
    pub fn put(&self, user: CurrentUser) {
        let now = Instant::now();
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        if users.by_id.len() >= users.prune_at.max(PRUNE_ABOVE) {
            users.by_id.retain(|_, (_, at)| now.duration_since(*at) < FRESH);
            users.prune_at = users.by_id.len() * 2;
        }
        users.by_id.insert(user.id, (user, now));
    }

    /// The user, if read within [`FRESH`].
    pub fn fresh(&self, id: i64) -> Option<CurrentUser> {
        let users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        users.by_id.get(&id).filter(|(_, at)| at.elapsed() < FRESH).map(|(u, _)| u.clone())
    }

    /// After a change to the user (profile, role, password): read them afresh next time.
    pub fn forget(&self, id: i64) {
        self.users.lock().unwrap_or_else(|e| e.into_inner()).by_id.remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shop_domain::Role;

    fn user(id: i64, name: &str) -> CurrentUser {
        CurrentUser {
            id,
            username: format!("u{id}"),
            email: format!("u{id}@example.com"),
            name: name.into(),
            phone: None,
            role: Role::Customer,
            email_verified: true,
        }
    }

    #[test]
    fn a_user_stands_for_a_second_and_a_change_forgets_it() {
        let s = SignedIn::default();
        assert!(s.fresh(1).is_none());
        s.put(user(1, "Ann"));
        assert_eq!(s.fresh(1).unwrap().name, "Ann");
        s.forget(1);
        assert!(s.fresh(1).is_none(), "a change made here shows on the next request");
        s.put(user(2, "Bo"));
        s.users.lock().unwrap().by_id.get_mut(&2).unwrap().1 = Instant::now() - FRESH;
        assert!(s.fresh(2).is_none(), "older than FRESH: read again");
    }

    #[test]
    fn stale_entries_are_pruned_when_many() {
        let s = SignedIn::default();
        for id in 0..PRUNE_ABOVE as i64 {
            s.put(user(id, "x"));
        }
        for (_, at) in s.users.lock().unwrap().by_id.values_mut() {
            *at = Instant::now() - FRESH;
        }
        s.put(user(-1, "new"));
        assert_eq!(s.users.lock().unwrap().by_id.len(), 1);
    }

    #[test]
    fn a_rush_of_fresh_users_is_not_pruned_on_every_request() {
        let s = SignedIn::default();
        for id in 0..(3 * PRUNE_ABOVE) as i64 {
            s.put(user(id, "x"));
        }
        let users = s.users.lock().unwrap();
        assert_eq!(users.by_id.len(), 3 * PRUNE_ABOVE, "all fresh: none pruned");
        assert_eq!(users.prune_at, 4 * PRUNE_ABOVE, "the next prune waits until the map doubles");
    }
}
