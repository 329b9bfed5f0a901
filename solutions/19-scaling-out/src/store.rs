//! NEW(lesson 18): what the service asks of a link store, whichever database is behind it, and
//! where short codes come from.
//!
//! The service (`LinkServer<S: Store>`) calls the methods of [`Store`] and nothing else, so it
//! does not change when the store does: lesson 17's links in memory ([`MemoryStore`]), or SQLite
//! ([`SqliteStore`]), whose writes survive a crash.
//!
//! [`MemoryStore`]: crate::MemoryStore
//! [`SqliteStore`]: crate::SqliteStore

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};

use rand::Rng;

use crate::pb::{Link, SyncRequest, SyncResponse};

/// A place where links live. Cloning a store is cheap: every clone is the same store.
///
/// Every method is `async` and its future is `Send`, so that tonic can run the service's
/// handlers on any thread. A method's `Ok` is an acknowledgment: for a durable store, what it
/// says has been committed to the database before the future completes. A call that ended
/// without an answer (an error, a cancelled call, a crash) may or may not have happened.
///
/// The service is generic over its store, not given a `dyn Store`: a trait whose methods
/// return `impl Future` is not object safe, and two stores compiled in cost little.
pub trait Store: Clone + Send + Sync + 'static {
    /// One link per URL, ids increasing in the order given, codes from the code source (a
    /// colliding code is drawn again, never overwritten; a retired code is never drawn again);
    /// all or nothing: on `Err`, none of the URLs was stored.
    fn create(
        &self,
        urls: Vec<String>,
    ) -> impl Future<Output = Result<Vec<Link>, StoreError>> + Send;

    /// The live link behind `code`, or `None` (never created, or deleted).
    fn get(&self, code: &str) -> impl Future<Output = Result<Option<Link>, StoreError>> + Send;

    /// Deletes the live link behind `code` and retires its code for good; `false` when there is
    /// no live link with that code.
    fn delete(&self, code: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// One SyncClicks batch: one answer per click, in order, with the rules of lesson 11: an
    /// unknown code is not acknowledged (total 0); a negative count, or one that would take the
    /// total past `i64::MAX`, is not acknowledged and adds nothing (the answer carries the
    /// current total); 0 is acknowledged and changes nothing.
    fn add_clicks(
        &self,
        clicks: Vec<SyncRequest>,
    ) -> impl Future<Output = Result<Vec<SyncResponse>, StoreError>> + Send;

    /// Up to `limit` live links with ids above `after_id`, in id order: ListLinks reads the
    /// store a page at a time, with the last id of each page as the next `after_id` (keyset
    /// paging: each page costs the same, however far into the links it is).
    fn page(
        &self,
        after_id: i64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Link>, StoreError>> + Send;

    /// NEW(lesson 19): CreateLink with an `idempotency-key`. The first call with a key creates
    /// a link and stores the key with it; every later call with the same key gets that first
    /// link back (as it is now) and creates nothing, also when two replicas receive the key at
    /// the same moment. Keys are kept for their link's life.
    fn create_with_key(
        &self,
        key: String,
        url: String,
    ) -> impl Future<Output = Result<Keyed, StoreError>> + Send;
}

/// NEW(lesson 19): what `create_with_key` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keyed {
    /// The key was new: this link was created for it.
    Created(Link),
    /// The key was seen before, with the same URL: the link it created then, as it is now.
    Replayed(Link),
    /// The key was seen before with another URL: a client bug (a key names one request). The
    /// service answers FAILED_PRECONDITION rather than a link the client did not ask for.
    OtherUrl,
    /// The key was seen before, and its link has been deleted since. Creating a second link
    /// would break the key's promise; the service answers NOT_FOUND.
    Deleted,
}

/// NEW(lesson 19): what a repeated key gets, from its row (id, code, URL or `None` once
/// deleted, clicks): its link as it is now, unless it was deleted or the URL differs.
pub(crate) fn replay(
    (id, short_code, stored, clicks): (i64, String, Option<String>, i64),
    url: &str,
) -> Keyed {
    match stored {
        None => Keyed::Deleted,
        Some(stored) if stored != url => Keyed::OtherUrl,
        Some(stored) => Keyed::Replayed(Link {
            id,
            url: stored,
            short_code,
            clicks,
        }),
    }
}

/// Why a store could not do what it was asked. Expected outcomes (an unknown code, a colliding
/// code, an overflowing total) are answers, not errors; an error means the call was not
/// acknowledged.
///
/// The service turns each variant into a gRPC status in one place (`From<StoreError> for
/// Status`, in error.rs): `Unavailable` → UNAVAILABLE (the client may retry with backoff),
/// `NoFreeCode` → RESOURCE_EXHAUSTED, `Internal` → INTERNAL. The message is logged on the
/// server: it names the database's problem, which a client has no use for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The database cannot do it now: locked by another program past the busy timeout, out of
    /// disk, a failed commit, or the store is shutting down. A later retry may succeed. A write
    /// that fails this way was not acknowledged, so it may or may not have happened.
    #[error("the link store is unavailable: {0}")]
    Unavailable(String),
    /// `attempts` codes in a row were taken: the code source repeats itself, or the code space
    /// is nearly full.
    #[error(
        "no unused short code after {attempts} draws: the code source repeats itself or the \
         code space is nearly full"
    )]
    NoFreeCode { attempts: u32 },
    /// A bug or damaged data (a statement the schema refuses, a row that does not decode): a
    /// retry will not help.
    #[error("the link store failed: {0}")]
    Internal(String),
}

impl StoreError {
    /// Whether the same call may succeed later (the service's retry advice).
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

/// How many codes in a row may collide before `create` gives up with
/// [`StoreError::NoFreeCode`]. With random codes and a billion links stored (46% of the
/// 36^6 codes), 64 collisions in a row happen with probability 0.46^64 ≈ 10^-22.
pub const MAX_DRAWS: u32 = 64;

/// A database error in the store's terms: `what` says what the store was doing.
///
/// Transient (UNAVAILABLE): the connection failed, SQLite was busy or locked past the busy
/// timeout, out of memory or disk, an I/O error, a read-only file. Everything else is a bug or
/// damaged data.
pub(crate) fn from_sqlx(error: &sqlx::Error, what: &str) -> StoreError {
    let message = format!("{what}: {error}");
    let transient = match error {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(database) => database
            .code()
            .and_then(|code| code.parse::<i32>().ok())
            // SQLITE_BUSY 5, LOCKED 6, NOMEM 7, READONLY 8, IOERR 10, FULL 13, CANTOPEN 14
            // (the primary code is the extended code's low byte).
            .is_some_and(|code| matches!(code & 0xff, 5 | 6 | 7 | 8 | 10 | 13 | 14)),
        _ => false,
    };
    if transient {
        StoreError::Unavailable(message)
    } else {
        StoreError::Internal(message)
    }
}

/// The answer for a click on a code that has no live link.
pub(crate) fn unknown(short_code: String) -> SyncResponse {
    SyncResponse {
        short_code,
        total_clicks: 0,
        acknowledged: false,
    }
}

// ---- Short codes (lesson 17) -------------------------------------------------------------------

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

/// NEW(lesson 18): a boxed source is a source (the tests hand stores a `Box<dyn CodeSource>`).
impl<C: CodeSource + ?Sized> CodeSource for Box<C> {
    fn next_code(&mut self) -> Code {
        (**self).next_code()
    }
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

/// NEW(lesson 18): the same code forever: a source that can never find a free code once it is
/// taken (the tests of [`StoreError::NoFreeCode`]).
#[derive(Debug, Clone, Copy)]
pub struct RepeatCode(pub Code);

impl CodeSource for RepeatCode {
    fn next_code(&mut self) -> Code {
        self.0
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
}
