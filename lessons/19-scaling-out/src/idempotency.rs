//! NEW(lesson 19): idempotency keys: how a create can be retried without creating twice.
//!
//! CreateLink is not idempotent: when its answer is lost (the connection broke after the
//! server stored the link), the client cannot tell "not done" from "done, answer lost", and a
//! retry would create a second link. So each logical create carries a key, random and the
//! same on every attempt, in the `idempotency-key` metadata; the server stores it with the
//! link, under a unique constraint, and answers a repeated key with the link it stored the
//! first time. The key only helps when the server keeps it: against a server that ignores the
//! metadata (lessons 07 to 18), a retried create is a duplicate.

use std::fmt;

use tonic::metadata::AsciiMetadataValue;

/// The metadata key (an HTTP/2 header) that carries the key.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The longest key a server of this course accepts, in bytes.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// A key for one logical create. The client draws 128 random bits, written as 32 lowercase
/// hex digits: two clients (or two runs of one) never pick the same key by chance (at 128
/// bits, a collision among a billion keys has odds of about one in 10^21). A key that comes
/// from elsewhere (a REST caller's `Idempotency-Key` header) is anything the server accepts:
/// 1 to 255 visible ASCII characters.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(AsciiMetadataValue);

/// Why a text cannot be an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "an idempotency key is 1 to {MAX_IDEMPOTENCY_KEY_LEN} visible ASCII characters; this one \
     has {len} bytes{}",
    if *.visible { "" } else { ", not all of them visible ASCII" }
)]
pub struct BadIdempotencyKey {
    len: usize,
    visible: bool,
}

impl IdempotencyKey {
    /// A new key from the operating system's random source (through `rand`'s thread RNG).
    pub fn random() -> IdempotencyKey {
        IdempotencyKey::from_u128(rand::random())
    }

    /// The key with these bits, as 32 hex digits: for tests that need to know it in advance.
    pub fn from_u128(bits: u128) -> IdempotencyKey {
        let text = format!("{bits:032x}");
        IdempotencyKey(
            AsciiMetadataValue::try_from(text)
                .expect("hex digits are visible ASCII, a valid header value"),
        )
    }

    /// A key someone else chose, if the server would accept it: 1 to 255 visible ASCII
    /// characters (`!` to `~`).
    pub fn parse(text: &[u8]) -> Result<IdempotencyKey, BadIdempotencyKey> {
        let visible = text.iter().all(u8::is_ascii_graphic);
        if !visible || text.is_empty() || text.len() > MAX_IDEMPOTENCY_KEY_LEN {
            return Err(BadIdempotencyKey {
                len: text.len(),
                visible,
            });
        }
        AsciiMetadataValue::try_from(text)
            .map(IdempotencyKey)
            .map_err(|_| BadIdempotencyKey {
                len: text.len(),
                visible: false,
            })
    }

    /// The key as metadata.
    pub fn to_metadata(&self) -> AsciiMetadataValue {
        self.0.clone()
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        // Checked visible ASCII when made: `to_str` cannot fail.
        self.0.to_str().unwrap_or_default()
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdempotencyKey({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_32_lowercase_hex_digits_even_with_leading_zeros() {
        assert_eq!(
            IdempotencyKey::from_u128(0xab).to_string(),
            "000000000000000000000000000000ab"
        );
        let key = IdempotencyKey::random().to_string();
        assert_eq!(key.len(), 32, "{key}");
        assert!(
            key.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
            "{key}"
        );
    }

    #[test]
    fn two_keys_differ() {
        assert_ne!(IdempotencyKey::random(), IdempotencyKey::random());
    }

    #[test]
    fn a_key_from_elsewhere_is_1_to_255_visible_ascii_characters() {
        for good in [
            "a",
            "3f2b9c1e-8d4a-4b5e-9c7f-2a1b3c4d5e6f",
            &"k".repeat(255),
        ] {
            let key = IdempotencyKey::parse(good.as_bytes());
            assert_eq!(
                key.as_ref().map(IdempotencyKey::as_str),
                Ok(good),
                "{good:?} is a valid key"
            );
        }
        for bad in ["", " ", "with space", "tab\t", "é", &"k".repeat(256)] {
            assert!(
                IdempotencyKey::parse(bad.as_bytes()).is_err(),
                "{bad:?} must be refused: keys are 1 to 255 visible ASCII characters"
            );
        }
    }
}
