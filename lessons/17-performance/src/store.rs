//! NEW(lesson 17): the links in memory, behind the API a later lesson puts behind a trait, beside
//! a store kept in a database: `create`, `get`, `delete`, `add_clicks` and `page`, each a plain
//! method that takes the lock once. The short code in four bytes (`Code`), the code source, the
//! cheap hash and the page buffer are given.
//!
//! TODO(lesson 17): Exercise 1. The layout below is lesson 16's, moved here as it was: a map
//! from the code to a `pb::Link` (two `String`s a link, the code kept twice), a retired set of
//! `String`s, std's SipHash. Lay the links out for memory instead: in id order, the code stored
//! once and compactly, the URL as one allocation; `pb::Link` built on the way out.

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

/// The links behind the lock.
struct Links {
    /// The id of the last link created; the next one gets `last_id + 1`.
    last_id: i64,
    /// The live links, by short code.
    by_code: HashMap<String, Link>,
    /// Codes of deleted links: never handed out again, so an old short URL cannot start
    /// pointing somewhere new.
    retired: HashSet<String>,
    codes: Box<dyn CodeSource>,
}

impl Links {
    /// Stores a link for `url` and returns a copy of it. A code that is in use or retired is
    /// drawn again, never overwritten.
    fn insert(&mut self, url: &str) -> Link {
        let code = loop {
            let code = self.codes.next_code().to_string();
            if !self.by_code.contains_key(&code) && !self.retired.contains(&code) {
                break code;
            }
        };
        self.last_id += 1;
        let link = Link {
            id: self.last_id,
            url: url.to_string(),
            short_code: code,
            clicks: 0,
        };
        self.by_code.insert(link.short_code.clone(), link.clone());
        link
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
                last_id: 0,
                by_code: HashMap::new(),
                retired: HashSet::new(),
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
        urls.iter().map(|url| links.insert(url)).collect()
    }

    /// The live link with the short code `code`.
    pub fn get(&self, code: &str) -> Option<Link> {
        self.lock().by_code.get(code).cloned()
    }

    /// Deletes the link with the short code `code`, and retires the code for good. False when
    /// no live link has it.
    pub fn delete(&self, code: &str) -> bool {
        let mut links = self.lock();
        if links.by_code.remove(code).is_none() {
            return false;
        }
        links.retired.insert(code.to_string());
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
                let Some(link) = links.by_code.get_mut(&request.short_code) else {
                    return SyncResponse {
                        short_code: request.short_code,
                        total_clicks: 0,
                        acknowledged: false,
                    };
                };
                let acknowledged = match link.clicks.checked_add(request.clicks) {
                    Some(total) if request.clicks >= 0 => {
                        link.clicks = total;
                        true
                    }
                    // A negative count, or a total past i64::MAX: refused, the total stays.
                    _ => false,
                };
                SyncResponse {
                    short_code: request.short_code,
                    total_clicks: link.clicks,
                    acknowledged,
                }
            })
            .collect()
    }

    /// Fills `page` with at most `limit` live links whose id is greater than `after_id`, in id
    /// order: one page of ListLinks, copied out under the lock.
    pub fn page(&self, after_id: i64, limit: usize, page: &mut Page) {
        page.clear();
        let links = self.lock();
        // A map has no order: every link is looked at, and the page sorted.
        let mut found: Vec<&Link> = links
            .by_code
            .values()
            .filter(|link| link.id > after_id)
            .collect();
        found.sort_unstable_by_key(|link| link.id);
        for link in found.into_iter().take(limit) {
            if let Some(code) = Code::parse(&link.short_code) {
                page.push(link.id, code, &link.url, link.clicks);
            }
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
