//! A bounded memory of the one-time values seen (client assertions' and
//! DPoP proofs' `jti`), each kept until its own expiry: a replay within
//! that time is refused, and the memory stays bounded whatever the rate
//! (past [`CAPACITY`] the oldest are forgotten first).

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

/// Values remembered at most.
pub(crate) const CAPACITY: usize = 100_000;

#[derive(Default)]
struct Seen {
    order: VecDeque<(u64, String)>,
    set: HashSet<String>,
}

/// The values seen and not yet expired.
#[derive(Default)]
pub(crate) struct Replays {
    seen: Mutex<Seen>,
}

impl Replays {
    /// Whether `value`, good until `expires`, is seen for the first time
    /// at `now`; it is remembered either way.
    pub(crate) fn first_use(&self, value: &str, expires: u64, now: u64) -> bool {
        let mut s = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while let Some((old_expiry, _)) = s.order.front() {
            if *old_expiry > now && s.order.len() < CAPACITY {
                break;
            }
            if let Some((_, old)) = s.order.pop_front() {
                s.set.remove(&old);
            }
        }
        if !s.set.insert(value.to_owned()) {
            return false;
        }
        s.order.push_back((expires, value.to_owned()));
        true
    }

    #[cfg(test)]
    fn len(&self) -> (usize, usize) {
        let s = self.seen.lock().unwrap();
        (s.order.len(), s.set.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_are_refused_and_memory_stays_bounded() {
        let r = Replays::default();
        assert!(r.first_use("a", 100, 10));
        assert!(!r.first_use("a", 100, 10));
        // Once expired, it is forgotten (and what carried it is refused
        // for its expiry before this point).
        assert!(r.first_use("b", 200, 150));
        assert!(r.first_use("a", 300, 150));
        for i in 0..CAPACITY + 10 {
            assert!(r.first_use(&format!("x{i}"), 10_000, 150));
        }
        let (order, set) = r.len();
        assert!(order <= CAPACITY && set == order);
    }
}
