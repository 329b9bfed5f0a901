//! NEW(lesson 17): the links in memory, laid out for the machine rather than for the wire.
//!
//! Lesson 07's store was a map from the code to a `pb::Link`: two `String`s a link, the code kept
//! twice (the key and `short_code`), a table sized for the wire type. Here a link is 32 bytes
//! in a `Vec` indexed by its id, plus its URL (one allocation), plus 8 bytes in an index from
//! the code: about 100 bytes a link where lesson 16 held 300. `pb::Link` is built on the way
//! out, for the few links a call returns.
//!
//! Every method takes the lock once and holds it only while it reads or writes memory: never
//! while a call waits on its client. A later lesson puts this store behind a trait, beside one
//! kept in a database; the service's code does not change.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Mutex, MutexGuard};

use rand::Rng;

use crate::pb::{Link, SyncRequest, SyncResponse};

/// The characters a short code is made of, in the order of their value as a base-36 digit.
const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";
/// How long a short code is.
pub const CODE_LEN: usize = 6;

/// A short code in four bytes: its six characters read as a number in base 36. There are
/// 36^6 = 2,176,782,336 codes, fewer than 2^32, so every code fits a `u32`: a quarter of the
/// 24-byte `String` that points at them, and no allocation at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Code(u32);

impl Code {
    /// How many codes there are: 36^6.
    pub const COUNT: u32 = 36 * 36 * 36 * 36 * 36 * 36;

    /// The code whose value is `value`, if there is one (`value` < [`Code::COUNT`]).
    pub fn from_value(value: u32) -> Option<Code> {
        (value < Code::COUNT).then_some(Code(value))
    }

    /// The code written `text`: six characters of `[a-z0-9]`. Anything else is no code, and
    /// no link can have it.
    pub fn parse(text: &str) -> Option<Code> {
        let bytes: &[u8; CODE_LEN] = text.as_bytes().try_into().ok()?;
        let mut value = 0u32;
        for &byte in bytes {
            let digit = match byte {
                b'a'..=b'z' => byte - b'a',
                b'0'..=b'9' => byte - b'0' + 26,
                _ => return None,
            };
            value = value * 36 + u32::from(digit);
        }
        Some(Code(value))
    }

    /// The six characters.
    pub fn chars(self) -> [u8; CODE_LEN] {
        let mut left = self.0;
        let mut chars = [0u8; CODE_LEN];
        for char in chars.iter_mut().rev() {
            *char = ALPHABET[(left % 36) as usize];
            left /= 36;
        }
        chars
    }
}

impl From<Code> for String {
    /// The six characters, in a `String` of their own: the one allocation, without the
    /// formatting machinery `to_string` goes through.
    fn from(code: Code) -> String {
        // ASCII is UTF-8: the `Cow` is borrowed, and `into_owned` is one exact allocation.
        String::from_utf8_lossy(&code.chars()).into_owned()
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let chars = self.chars();
        // Every byte of the alphabet is ASCII.
        f.write_str(std::str::from_utf8(&chars).map_err(|_| fmt::Error)?)
    }
}

/// Where new short codes come from. The store asks for one for every link it creates, under
/// its lock, and throws away a code that is in use or retired.
pub trait CodeSource: Send + 'static {
    fn next_code(&mut self) -> Code;
}

/// Codes that nobody can guess: one draw each from the thread's generator (rand's `ThreadRng`,
/// a ChaCha12 stream reseeded from the operating system). A short URL is a capability: if
/// codes were predictable, anyone could walk the links of others.
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomCodes;

impl CodeSource for RandomCodes {
    fn next_code(&mut self) -> Code {
        // One call: a uniform number below 36^6 is a code, all six characters at once.
        Code(rand::rng().random_range(0..Code::COUNT))
    }
}

/// Codes from a list, in order, then random ones: tests use it to make two links draw the
/// same code.
#[derive(Debug, Clone, Default)]
pub struct PlannedCodes {
    planned: VecDeque<Code>,
}

impl PlannedCodes {
    pub fn new(codes: impl IntoIterator<Item = Code>) -> PlannedCodes {
        PlannedCodes {
            planned: codes.into_iter().collect(),
        }
    }
}

impl CodeSource for PlannedCodes {
    fn next_code(&mut self) -> Code {
        self.planned
            .pop_front()
            .unwrap_or_else(|| RandomCodes.next_code())
    }
}

/// How the index and the retired set hash a code: one multiplication, by an odd number drawn
/// at random for each table.
///
/// std's default, SipHash-1-3, is keyed so that a client who picks the keys cannot make them
/// collide. Here no client picks a key: every code was drawn by the server. A client can still
/// pick which codes stay (create many links, delete all but those that would share a bucket),
/// and with a fixed hash function it could compute which ones those are. With a multiplier it
/// cannot see, it cannot: multiply-shift hashing with a random odd multiplier is universal
/// (Dietzfelbinger et al., 1997), whatever set of keys it is given. hashbrown picks a bucket
/// with the low bits of the hash and tags it with the top seven, so the product's high half,
/// the well-mixed one, is moved to the bottom.
#[derive(Debug, Clone, Copy)]
pub struct CodeHash {
    multiplier: u64,
}

impl Default for CodeHash {
    fn default() -> CodeHash {
        CodeHash {
            multiplier: rand::random::<u64>() | 1,
        }
    }
}

impl BuildHasher for CodeHash {
    type Hasher = CodeHasher;

    fn build_hasher(&self) -> CodeHasher {
        CodeHasher {
            multiplier: self.multiplier,
            hash: 0,
        }
    }
}

/// The hasher [`CodeHash`] builds. A `Code` hashes as one `u32`.
#[derive(Debug, Clone, Copy)]
pub struct CodeHasher {
    multiplier: u64,
    hash: u64,
}

impl Hasher for CodeHasher {
    fn write_u32(&mut self, value: u32) {
        let product = (self.hash ^ u64::from(value)).wrapping_mul(self.multiplier);
        self.hash = product.rotate_left(32);
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not used by `Code`; any other key still hashes, four bytes at a time.
        for chunk in bytes.chunks(4) {
            let mut word = [0u8; 4];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u32(u32::from_le_bytes(word));
        }
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

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
    /// Stores a link for `url` and returns its id and code. A code that is in use or retired
    /// is drawn again, never overwritten.
    fn insert(&mut self, url: &str) -> (i64, Code) {
        let index = self.by_id.len() as u32;
        let code = loop {
            let code = self.codes.next_code();
            if self.retired.contains(&code) {
                continue;
            }
            // One lookup both checks the code is free and takes it.
            if let std::collections::hash_map::Entry::Vacant(slot) = self.by_code.entry(code) {
                slot.insert(index);
                break code;
            }
        };
        self.by_id.push(Some(Entry {
            url: Box::from(url),
            clicks: 0,
            code,
        }));
        (i64::from(index) + 1, code)
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
/// memory it touches and no longer.
pub struct MemoryStore {
    links: Mutex<Links>,
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
            links: Mutex::new(Links {
                by_id: Vec::new(),
                by_code: HashMap::default(),
                retired: HashSet::default(),
                codes: Box::new(codes),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Links> {
        // A poisoned lock means a thread panicked while holding it. Every change here is
        // one push, insert or remove at a time, so what it guards is still whole: keep serving.
        self.links
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Stores a link for each URL, all of them under one lock: their ids follow each other,
    /// in the order of `urls`, and no other call sees some of them without the others.
    pub fn create(&self, urls: Vec<String>) -> Vec<Link> {
        let mut links = self.lock();
        // Room for the whole batch at once: no table grows twice within one batch.
        links.by_id.reserve(urls.len());
        links.by_code.reserve(urls.len());
        urls.into_iter()
            .map(|url| {
                let (id, code) = links.insert(&url);
                // The response owns the URL it was sent; the store keeps a copy.
                Link {
                    id,
                    url,
                    short_code: code.into(),
                    clicks: 0,
                }
            })
            .collect()
    }

    /// The live link with the short code `code`.
    pub fn get(&self, code: &str) -> Option<Link> {
        let mut links = self.lock();
        let (index, entry) = links.find(code)?;
        Some(to_link(index as i64 + 1, entry))
    }

    /// Deletes the link with the short code `code`, and retires the code for good. False when
    /// no live link has it.
    pub fn delete(&self, code: &str) -> bool {
        let Some(code) = Code::parse(code) else {
            return false;
        };
        let mut links = self.lock();
        let Some(index) = links.by_code.remove(&code) else {
            return false;
        };
        links.by_id[index as usize] = None;
        links.retired.insert(code);
        true
    }

    /// Adds the clicks of a SyncClicks batch, under one lock, and answers each message in
    /// order: unknown codes, negative counts and totals past `i64::MAX` are refused, and a
    /// refused message adds nothing.
    pub fn add_clicks(&self, batch: Vec<SyncRequest>) -> Vec<SyncResponse> {
        let mut links = self.lock();
        batch
            .into_iter()
            .map(|request| {
                let Some((_, entry)) = links.find(&request.short_code) else {
                    return SyncResponse {
                        short_code: request.short_code,
                        total_clicks: 0,
                        acknowledged: false,
                    };
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
            .collect()
    }

    /// Fills `page` with at most `limit` live links whose id is greater than `after_id`, in id
    /// order: one page of ListLinks, copied out under the lock as the store keeps them.
    pub fn page(&self, after_id: i64, limit: usize, page: &mut Page) {
        page.clear();
        let links = self.lock();
        // Link `id` is at index `id - 1`: the first id after `after_id` is at index `after_id`.
        let start = usize::try_from(after_id)
            .unwrap_or(0)
            .min(links.by_id.len());
        let found = links.by_id[start..]
            .iter()
            .zip(start as i64 + 1..)
            .filter_map(|(entry, id)| Some((id, entry.as_ref()?)))
            .take(limit);
        for (id, entry) in found {
            page.push(id, entry.code, &entry.url, entry.clicks);
        }
    }
}

/// A page of links as the store keeps them: copied under the lock into two buffers that are
/// reused from page to page, and made into the wire's `Link` one at a time, as tonic takes
/// them. A page of `Link`s made at once would be hundreds of allocations in a burst, freed in
/// another: more than the allocator's per-thread cache holds, so most would take its slow
/// path; one link's, freed before the next is made, come from that cache.
#[derive(Debug, Default)]
pub struct Page {
    rows: Vec<Row>,
    /// Every URL of the page, end to end.
    urls: String,
    /// The next row to hand out.
    next: usize,
}

#[derive(Debug)]
struct Row {
    id: i64,
    code: Code,
    clicks: i64,
    /// Where the row's URL ends in `urls` (it starts where the one before ends).
    url_end: usize,
}

impl Page {
    /// Empties the page, keeping its buffers.
    pub fn clear(&mut self) {
        self.rows.clear();
        self.urls.clear();
        self.next = 0;
    }

    /// Adds a link to the page.
    pub fn push(&mut self, id: i64, code: Code, url: &str, clicks: i64) {
        self.urls.push_str(url);
        self.rows.push(Row {
            id,
            code,
            clicks,
            url_end: self.urls.len(),
        });
    }

    /// The id of the page's last link.
    pub fn last_id(&self) -> Option<i64> {
        self.rows.last().map(|row| row.id)
    }

    /// How many links the page holds, handed out or not.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the page holds no link.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The next link of the page, as the wire wants it; `None` once every link was handed out.
    pub fn next_link(&mut self) -> Option<Link> {
        let row = self.rows.get(self.next)?;
        let start = match self.next {
            0 => 0,
            n => self.rows[n - 1].url_end,
        };
        self.next += 1;
        Some(Link {
            id: row.id,
            url: self.urls.get(start..row.url_end)?.to_string(),
            short_code: row.code.into(),
            clicks: row.clicks,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_reads_back_as_it_was_written() {
        for text in ["aaaaaa", "aaaaab", "abc123", "zzzzzz", "999999", "k7m2px"] {
            let code = Code::parse(text).expect("a code");
            assert_eq!(code.to_string(), text);
        }
        assert_eq!(Code::parse("aaaaab"), Code::from_value(1));
        assert_eq!(Code::parse("999999"), Code::from_value(Code::COUNT - 1));
        assert_eq!(Code::from_value(Code::COUNT), None);
    }

    #[test]
    fn only_six_characters_of_a_to_z_and_0_to_9_are_a_code() {
        for text in [
            "", "abc12", "abc1234", "ABC123", "abc 12", "abc-12", "abcdé",
        ] {
            assert_eq!(Code::parse(text), None, "{text:?}");
        }
    }

    #[test]
    fn an_entry_is_32_bytes_and_a_missing_one_costs_nothing_more() {
        assert_eq!(std::mem::size_of::<Entry>(), 32);
        assert_eq!(std::mem::size_of::<Option<Entry>>(), 32);
    }

    #[test]
    fn random_codes_are_six_lowercase_letters_or_digits() {
        let mut codes = RandomCodes;
        for _ in 0..1_000 {
            let code = codes.next_code().to_string();
            assert_eq!(code.len(), CODE_LEN, "{code:?}");
            assert!(
                code.bytes().all(|b| ALPHABET.contains(&b)),
                "{code:?} has a character outside [a-z0-9]"
            );
        }
    }

    #[test]
    fn a_page_starts_after_the_id_it_is_given_and_skips_deleted_links() {
        let store = MemoryStore::default();
        let urls = (1..=10)
            .map(|n| format!("https://example.com/{n}"))
            .collect();
        let created = store.create(urls);
        assert!(store.delete(&created[4].short_code), "delete link 5");
        let ids = |after_id: i64, limit: usize| {
            let mut page = Page::default();
            store.page(after_id, limit, &mut page);
            std::iter::from_fn(|| page.next_link())
                .map(|link| link.id)
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(0, 3), [1, 2, 3]);
        assert_eq!(ids(3, 3), [4, 6, 7]);
        assert_eq!(ids(8, 100), [9, 10]);
        assert_eq!(ids(10, 100), Vec::<i64>::new());
        assert_eq!(ids(i64::MAX, 100), Vec::<i64>::new());
    }
}
