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

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::pb::{Link, SyncRequest, SyncResponse};
use crate::store::{
    self, Code, CodeHash, CodeSource, Keyed, MAX_DRAWS, RandomCodes, Store, StoreError,
};

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
    /// NEW(lesson 19): each idempotency key ever used, and the index in `by_id` of the link
    /// it created (kept after a delete: the key then answers that its link is gone).
    keys: HashMap<Box<str>, u32>,
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

    /// Takes back the links from index `start` on: a batch that failed halfway.
    fn undo_from(&mut self, start: usize) {
        for entry in self.by_id.drain(start..).flatten() {
            self.by_code.remove(&entry.code);
        }
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
                keys: HashMap::new(),
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

impl Store for MemoryStore {
    /// A link for each URL, all under one lock: their ids follow each other, in the order of
    /// `urls`, and no other call sees some of them without the others. A batch that finds no
    /// free code is taken back whole before the lock is released: all or nothing.
    async fn create(&self, urls: Vec<String>) -> Result<Vec<Link>, StoreError> {
        let mut links = self.lock();
        let start = links.by_id.len();
        // Room for the whole batch at once: no table grows twice within one batch.
        links.by_id.reserve(urls.len());
        links.by_code.reserve(urls.len());
        for url in &urls {
            if let Err(error) = links.insert(url) {
                links.undo_from(start);
                return Err(error);
            }
        }
        let created = links.by_id[start..].iter().flatten();
        Ok(urls
            .into_iter()
            .zip(created)
            .zip(start as i64 + 1..)
            // The response owns the URL it was sent; the store keeps a copy.
            .map(|((url, entry), id)| Link {
                id,
                url,
                short_code: entry.code.into(),
                clicks: 0,
            })
            .collect())
    }

    async fn get(&self, code: &str) -> Result<Option<Link>, StoreError> {
        let mut links = self.lock();
        Ok(links
            .find(code)
            .map(|(index, entry)| to_link(index as i64 + 1, entry)))
    }

    async fn delete(&self, code: &str) -> Result<bool, StoreError> {
        let Some(code) = Code::parse(code) else {
            return Ok(false);
        };
        let mut links = self.lock();
        let Some(index) = links.by_code.remove(&code) else {
            return Ok(false);
        };
        links.by_id[index as usize] = None;
        links.retired.insert(code);
        Ok(true)
    }

    async fn add_clicks(&self, batch: Vec<SyncRequest>) -> Result<Vec<SyncResponse>, StoreError> {
        let mut links = self.lock();
        Ok(batch
            .into_iter()
            .map(|request| {
                let Some((_, entry)) = links.find(&request.short_code) else {
                    return store::unknown(request.short_code);
                };
                let acknowledged = match entry.clicks.checked_add(request.clicks) {
                    Some(total) if request.clicks >= 0 => {
                        entry.clicks = total;
                        true
                    }
                    // A negative count, or a total past i64::MAX: refused, the total stays.
                    _ => false,
                };
                SyncResponse {
                    short_code: request.short_code,
                    total_clicks: entry.clicks,
                    acknowledged,
                }
            })
            .collect())
    }

    async fn page(&self, after_id: i64, limit: usize) -> Result<Vec<Link>, StoreError> {
        let links = self.lock();
        // Link `id` is at index `id - 1`: the first id after `after_id` is at index `after_id`.
        let start = usize::try_from(after_id)
            .unwrap_or(0)
            .min(links.by_id.len());
        Ok(links.by_id[start..]
            .iter()
            .zip(start as i64 + 1..)
            .filter_map(|(entry, id)| Some(to_link(id, entry.as_ref()?)))
            .take(limit)
            .collect())
    }

    /// NEW(lesson 19): one lock for the lookup and the insert, so two calls with one key
    /// cannot both create.
    async fn create_with_key(&self, key: String, url: String) -> Result<Keyed, StoreError> {
        let mut links = self.lock();
        if let Some(&index) = links.keys.get(key.as_str()) {
            let id = i64::from(index) + 1;
            return Ok(match &links.by_id[index as usize] {
                None => Keyed::Deleted,
                Some(entry) if *entry.url != *url => Keyed::OtherUrl,
                Some(entry) => Keyed::Replayed(to_link(id, entry)),
            });
        }
        let index = links.by_id.len() as u32;
        links.insert(&url)?;
        links.keys.insert(key.into_boxed_str(), index);
        let code = links.by_id[index as usize]
            .as_ref()
            .map(|entry| entry.code.into())
            .unwrap_or_default();
        Ok(Keyed::Created(Link {
            id: i64::from(index) + 1,
            url,
            short_code: code,
            clicks: 0,
        }))
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
