//! NEW(lesson 17): the links in memory, laid out for the machine rather than for the wire.
//!
//! Lesson 07's store was a map from the code to a `pb::Link`: two `String`s a link, the code kept
//! twice (the key and `short_code`), a table sized for the wire type. Here a link is 32 bytes
//! in a `Vec` indexed by its id, plus its URL (one allocation), plus 8 bytes in an index from
//! the code: about 100 bytes a link where lesson 16 held 300. `pb::Link` is built on the way
//! out, for the few links a call returns.
//!
//! Every method takes the lock once and holds it only while it reads or writes memory: never
//! while a call waits on its client.
//!
//! NEW(lesson 18): the same layout behind the [`Store`] trait, beside the SQLite store. Nothing
//! here survives the process: the service's tests use it, and it is the behaviour every other
//! store is tested against.

// TODO(lesson 18): delete this line once Exercise 1 uses the layout below.
#![allow(dead_code, unused_imports)]

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::pb::{Link, SyncRequest, SyncResponse};
use crate::store::{self, Code, CodeHash, CodeSource, MAX_DRAWS, RandomCodes, Store, StoreError};

/// One stored link: 32 bytes, and its URL on the heap.
#[derive(Debug)]
struct Entry {
    /// The URL as it was sent, in one allocation of its exact length (a `String` would keep a
    /// capacity field too).
    url: Box<str>,
    clicks: i64,
    code: Code,
}

/// The links behind the lock.
struct Links {
    /// Every link ever created, at index `id - 1`. Ids are handed out here, under the lock, so
    /// they have no gaps; a deleted link leaves a `None` (an `Option<Entry>` is still 32
    /// bytes: the `Box` is never null, and `None` takes that value).
    by_id: Vec<Option<Entry>>,
    /// Where each live code's link is: its index in `by_id`. Every id fits a `u32`: no more
    /// links can ever be made than there are codes, and [`Code::COUNT`] < 2^32.
    by_code: HashMap<Code, u32, CodeHash>,
    /// Codes of deleted links: never handed out again, so an old short URL cannot start
    /// pointing somewhere new.
    retired: HashSet<Code, CodeHash>,
    codes: Box<dyn CodeSource>,
}

impl Links {
    /// Stores a link for `url`. A code that is in use or retired is
    /// drawn again, never overwritten; after [`MAX_DRAWS`] taken codes in a row, nothing is
    /// stored.
    fn insert(&mut self, url: &str) -> Result<(), StoreError> {
        let index = self.by_id.len() as u32;
        for _ in 0..MAX_DRAWS {
            let code = self.codes.next_code();
            if self.retired.contains(&code) {
                continue;
            }
            // One lookup both checks the code is free and takes it.
            if let std::collections::hash_map::Entry::Vacant(slot) = self.by_code.entry(code) {
                slot.insert(index);
                self.by_id.push(Some(Entry {
                    url: Box::from(url),
                    clicks: 0,
                    code,
                }));
                return Ok(());
            }
        }
        Err(StoreError::NoFreeCode {
            attempts: MAX_DRAWS,
        })
    }

    /// The live link with `code`, and its index.
    fn find(&mut self, code: &str) -> Option<(usize, &mut Entry)> {
        let index = *self.by_code.get(&Code::parse(code)?)? as usize;
        let entry = self.by_id.get_mut(index)?.as_mut()?;
        Some((index, entry))
    }
}

/// A link as the wire wants it, built from what the store keeps.
fn to_link(id: i64, entry: &Entry) -> Link {
    Link {
        id,
        url: entry.url.to_string(),
        short_code: entry.code.into(),
        clicks: entry.clicks,
    }
}

/// The shortener's links, in memory. One lock guards them; each method holds it for the
/// memory it touches and no longer. Clones share the links.
#[derive(Clone)]
pub struct MemoryStore {
    links: Arc<Mutex<Links>>,
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let links = self.lock();
        f.debug_struct("MemoryStore")
            .field("live", &links.by_code.len())
            .field("retired", &links.retired.len())
            .finish_non_exhaustive()
    }
}

impl Default for MemoryStore {
    /// An empty store with random codes.
    fn default() -> MemoryStore {
        MemoryStore::new(RandomCodes)
    }
}

impl MemoryStore {
    /// An empty store that draws its codes from `codes`.
    pub fn new(codes: impl CodeSource) -> MemoryStore {
        MemoryStore {
            links: Arc::new(Mutex::new(Links {
                by_id: Vec::new(),
                by_code: HashMap::default(),
                retired: HashSet::default(),
                codes: Box::new(codes),
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Links> {
        // A poisoned lock means a thread panicked while holding it. Every change here checks
        // first and changes the tables after, so what it guards is still whole: keep serving.
        self.links
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

// TODO(lesson 18): Exercise 1. Lesson 17's store behind the trait: each method does what
// lesson 17's did, under one lock, and answers `Ok` (memory cannot be unavailable). The rules
// are the suite's (tests/common/suite.rs): `cargo test -p lesson-18 --test lesson memory::`.
// - `create`: ids follow each other in the order of `urls`; all or nothing. `Links::insert`
//   gives up after MAX_DRAWS taken codes: the links of the batch pushed before it must be
//   taken back (from `by_id` and from `by_code`) before the lock is released.
// - `get`, `delete` (the code goes to `retired`), `add_clicks` (lesson 11's rules), as before.
// - `page`: up to `limit` live links with ids above `after_id`, in id order, as `Link`s.
impl Store for MemoryStore {
    async fn create(&self, urls: Vec<String>) -> Result<Vec<Link>, StoreError> {
        let _ = urls;
        todo!("Exercise 1: MemoryStore::create")
    }

    async fn get(&self, code: &str) -> Result<Option<Link>, StoreError> {
        let _ = code;
        todo!("Exercise 1: MemoryStore::get")
    }

    async fn delete(&self, code: &str) -> Result<bool, StoreError> {
        let _ = code;
        todo!("Exercise 1: MemoryStore::delete")
    }

    async fn add_clicks(&self, batch: Vec<SyncRequest>) -> Result<Vec<SyncResponse>, StoreError> {
        let _ = batch;
        todo!("Exercise 1: MemoryStore::add_clicks")
    }

    async fn page(&self, after_id: i64, limit: usize) -> Result<Vec<Link>, StoreError> {
        let _ = (after_id, limit);
        todo!("Exercise 1: MemoryStore::page")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_32_bytes_and_a_missing_one_costs_nothing_more() {
        assert_eq!(std::mem::size_of::<Entry>(), 32);
        assert_eq!(std::mem::size_of::<Option<Entry>>(), 32);
    }

    #[tokio::test]
    async fn a_page_starts_after_the_id_it_is_given_and_skips_deleted_links() {
        let store = MemoryStore::default();
        let urls = (1..=10)
            .map(|n| format!("https://example.com/{n}"))
            .collect();
        let created = store.create(urls).await.expect("create");
        assert!(
            store.delete(&created[4].short_code).await.expect("delete"),
            "delete link 5"
        );
        let ids = async |after_id: i64, limit: usize| {
            let page = store.page(after_id, limit).await.expect("page");
            page.into_iter().map(|link| link.id).collect::<Vec<_>>()
        };
        assert_eq!(ids(0, 3).await, [1, 2, 3]);
        assert_eq!(ids(3, 3).await, [4, 6, 7]);
        assert_eq!(ids(8, 100).await, [9, 10]);
        assert_eq!(ids(10, 100).await, Vec::<i64>::new());
        assert_eq!(ids(i64::MAX, 100).await, Vec::<i64>::new());
    }
}
