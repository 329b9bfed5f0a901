//! A bounded write-through cache of links by short code, in front of SQLite's read connections.
//!
//! Why: a GetLink served by SQLite through sqlx costs a round trip to the connection's worker
//! thread (6–40 µs of CPU, measured for this course), several times what the rest of the call costs; from this
//! cache it costs a hash lookup and a clone, as in the in-memory store.
//!
//! Why it is correct: only this process writes the database (the store holds an exclusive lock
//! on a lock file), and every write goes through the writer task, which updates the cache
//! after COMMIT and before it answers the caller. So an entry is never older than the last
//! acknowledged write. A read that misses goes to SQLite and fills the cache only if no commit
//! was applied while it read (the `generation` check below): otherwise a value read before a
//! commit could be put in after the writer had updated the entry, and stay stale.
//!
//! Eviction is CLOCK (second chance): each entry has a `visited` bit set by hits; when the cache
//! is full, the hand sweeps the slots, clearing bits, and evicts the first entry not visited
//! since the last sweep. Hits take only the read lock.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::pb::Link;

pub(crate) struct Cache {
    capacity: usize,
    inner: RwLock<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Bumped each time the writer applies a committed group: a read that started under another
    /// generation may be stale and must not fill the cache.
    generation: u64,
    index: HashMap<Box<str>, usize>,
    slots: Vec<Slot>,
    free: Vec<usize>,
    hand: usize,
}

struct Slot {
    link: Option<Link>,
    visited: AtomicBool,
}

/// What one committed write changes in the cache.
#[derive(Debug)]
pub(crate) enum Effect {
    /// A new link: the writer puts it in (write-through).
    Created(Link),
    /// The code's link was deleted.
    Deleted(String),
    /// The code's link now has `total` clicks.
    Clicked { code: String, total: i64 },
}

impl Cache {
    /// A cache of at most `capacity` links; 0 turns it off.
    pub(crate) fn new(capacity: usize) -> Cache {
        Cache {
            capacity,
            inner: RwLock::default(),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        // Poisoned: a panic while the lock was held. Every update below leaves the maps whole
        // between statements, and the worst a half-applied group can leave is an entry missing
        // (a miss reads SQLite), so keep serving.
        self.inner
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The cached link for `code`, if any.
    pub(crate) fn get(&self, code: &str) -> Option<Link> {
        if self.capacity == 0 {
            return None;
        }
        let inner = self.read();
        let slot = &inner.slots[*inner.index.get(code)?];
        slot.visited.store(true, Ordering::Relaxed);
        slot.link.clone()
    }

    /// The generation to pass to [`fill`](Self::fill) after reading SQLite.
    pub(crate) fn generation(&self) -> u64 {
        self.read().generation
    }

    /// Puts a link read from SQLite in, unless a commit was applied since `generation` (then
    /// the link may already be stale, and the next read will fill it).
    pub(crate) fn fill(&self, link: &Link, generation: u64) {
        if self.capacity == 0 {
            return;
        }
        let mut inner = self.write();
        if inner.generation == generation {
            inner.put(link.clone(), self.capacity);
        }
    }

    /// Applies the effects of one committed group, in order, under one lock.
    pub(crate) fn apply(&self, effects: impl IntoIterator<Item = Effect>) {
        let mut inner = self.write();
        inner.generation += 1;
        if self.capacity == 0 {
            return;
        }
        for effect in effects {
            match effect {
                Effect::Created(link) => inner.put(link, self.capacity),
                Effect::Deleted(code) => inner.remove(&code),
                Effect::Clicked { code, total } => {
                    if let Some(&slot) = inner.index.get(code.as_str())
                        && let Some(link) = &mut inner.slots[slot].link
                    {
                        link.clicks = total;
                    }
                }
            }
        }
    }

    /// Forgets every link (after a failed group: whatever the database kept of it, the cache
    /// cannot be ahead of it). Reads that overlap this do not fill either.
    pub(crate) fn clear(&self) {
        let mut inner = self.write();
        let generation = inner.generation + 1;
        *inner = Inner {
            generation,
            ..Inner::default()
        };
    }

    /// How many links are cached.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.read().index.len()
    }
}

impl Inner {
    fn put(&mut self, link: Link, capacity: usize) {
        if let Some(&slot) = self.index.get(link.short_code.as_str()) {
            self.slots[slot].link = Some(link);
            return;
        }
        let slot = if let Some(slot) = self.free.pop() {
            slot
        } else if self.slots.len() < capacity {
            self.slots.push(Slot {
                link: None,
                visited: AtomicBool::new(false),
            });
            self.slots.len() - 1
        } else {
            self.evict()
        };
        self.index.insert(link.short_code.as_str().into(), slot);
        let entry = &mut self.slots[slot];
        // A new entry starts unvisited: one that is never read again is the next to go.
        *entry.visited.get_mut() = false;
        entry.link = Some(link);
    }

    /// Frees a slot of a full cache: the first one the hand finds unvisited since its last pass.
    fn evict(&mut self) -> usize {
        loop {
            let slot = self.hand;
            self.hand = (self.hand + 1) % self.slots.len();
            let entry = &mut self.slots[slot];
            if std::mem::take(entry.visited.get_mut()) {
                continue; // a second chance
            }
            if let Some(old) = entry.link.take() {
                self.index.remove(old.short_code.as_str());
            }
            return slot;
        }
    }

    fn remove(&mut self, code: &str) {
        if let Some(slot) = self.index.remove(code) {
            self.slots[slot].link = None;
            self.free.push(slot);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(id: i64, code: &str) -> Link {
        Link {
            id,
            url: format!("https://example.com/{id}"),
            short_code: code.to_string(),
            clicks: 0,
        }
    }

    #[test]
    fn a_read_that_overlaps_a_commit_does_not_fill_the_cache() {
        let cache = Cache::new(10);
        let before = cache.generation();
        // The writer commits and applies a group while the read is in SQLite.
        cache.apply([Effect::Clicked {
            code: "aaaaaa".into(),
            total: 5,
        }]);
        cache.fill(&link(1, "aaaaaa"), before);
        assert_eq!(
            cache.get("aaaaaa"),
            None,
            "a link read before a commit must not be cached after it: it may be stale"
        );
        let now = cache.generation();
        cache.fill(&link(1, "aaaaaa"), now);
        assert!(
            cache.get("aaaaaa").is_some(),
            "a read with no commit in between fills"
        );
    }

    #[test]
    fn committed_effects_update_the_cache() {
        let cache = Cache::new(10);
        cache.apply([Effect::Created(link(1, "aaaaaa"))]);
        cache.apply([Effect::Clicked {
            code: "aaaaaa".into(),
            total: 7,
        }]);
        assert_eq!(cache.get("aaaaaa").map(|link| link.clicks), Some(7));
        cache.apply([Effect::Deleted("aaaaaa".into())]);
        assert_eq!(cache.get("aaaaaa"), None, "a deleted link leaves the cache");
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn a_full_cache_evicts_what_was_not_read_since_the_last_sweep() {
        let cache = Cache::new(3);
        for (id, code) in [(1, "aaaaaa"), (2, "bbbbbb"), (3, "cccccc")] {
            cache.apply([Effect::Created(link(id, code))]);
        }
        cache.get("aaaaaa");
        cache.get("cccccc");
        cache.apply([Effect::Created(link(4, "dddddd"))]);
        assert_eq!(
            cache.len(),
            3,
            "the cache never holds more than its capacity"
        );
        assert_eq!(
            cache.get("bbbbbb"),
            None,
            "the one link not read is evicted"
        );
        for code in ["aaaaaa", "cccccc", "dddddd"] {
            assert!(cache.get(code).is_some(), "{code} must still be cached");
        }
    }

    #[test]
    fn clearing_forgets_everything_and_stops_overlapping_fills() {
        let cache = Cache::new(10);
        cache.apply([Effect::Created(link(1, "aaaaaa"))]);
        let before = cache.generation();
        cache.clear();
        assert_eq!(cache.get("aaaaaa"), None);
        cache.fill(&link(2, "bbbbbb"), before);
        assert_eq!(
            cache.get("bbbbbb"),
            None,
            "a read that overlapped the clear must not fill"
        );
    }

    #[test]
    fn a_cache_of_capacity_zero_holds_nothing() {
        let cache = Cache::new(0);
        cache.apply([Effect::Created(link(1, "aaaaaa"))]);
        cache.fill(&link(1, "aaaaaa"), cache.generation());
        assert_eq!(cache.get("aaaaaa"), None);
    }
}
