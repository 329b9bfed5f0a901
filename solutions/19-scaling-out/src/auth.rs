//! The API key: who may call `LinkService`. The server is given a key (`--api-key` or
//! `SHORTENER_API_KEY`); every call to `LinkService` must then carry it in its metadata, as
//! `authorization: Bearer KEY`. Without a key, the server is open.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tonic::service::Interceptor;
use tonic::{Request, Status};

/// The metadata key that carries the credentials: the HTTP `Authorization` header, in lower
/// case (HTTP/2 sends every header name in lower case).
pub const AUTHORIZATION: &str = "authorization";

/// The authentication scheme that comes before the key in the `authorization` value. A scheme
/// is a case-insensitive token (RFC 9110 §11.1): `Bearer`, `bearer` and `BEARER` are one.
pub const BEARER: &str = "Bearer";

/// Whether `a` and `b` are the same bytes, in a time that does not depend on where they differ.
///
/// `==` on slices stops at the first byte that differs, so the time it takes tells an attacker
/// how many leading bytes of a guess were right. Here every byte is looked at, whatever the
/// others were. Only the length can show (a wrong length answers at once), and the length of a
/// key is no secret worth keeping.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    // OR together the differences of every pair: the result is 0 only if all were equal.
    let mut differences = 0u8;
    for (x, y) in a.iter().zip(b) {
        differences |= x ^ y;
    }
    // `black_box` asks the optimiser not to reason about `differences`, so that it has less
    // reason to turn the loop back into an early exit. A hint, not a promise: its documentation
    // says it "does not offer any guarantees for cryptographic or security purposes". A real
    // service would use the `subtle` crate's `ConstantTimeEq`, reviewed for this very purpose.
    std::hint::black_box(differences) == 0
}

/// The key in an `authorization` value of the form `Bearer KEY`: the scheme in any case, then
/// one or more spaces, then the key (RFC 6750 §2.1: `"Bearer" 1*SP b64token`).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, rest) = value.split_once(' ')?;
    let token = rest.trim_start_matches(' ');
    (scheme.eq_ignore_ascii_case(BEARER) && !token.is_empty()).then_some(token)
}

/// The server's check of the API key, as a tonic interceptor. Cloning it is cheap. Its `Debug`
/// says whether a key is set, never the key.
#[derive(Clone, Default)]
pub struct ApiKey {
    /// The key a call must carry, or `None` for an open server.
    key: Option<Arc<str>>,
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = self.key.as_ref().map(|_| "<redacted>");
        f.debug_struct("ApiKey").field("key", &key).finish()
    }
}

impl ApiKey {
    /// A check for `key`; `None` lets every call through.
    pub fn new(key: Option<String>) -> ApiKey {
        ApiKey {
            key: key.map(Arc::from),
        }
    }

    /// Whether a key is set.
    pub fn is_set(&self) -> bool {
        self.key.is_some()
    }

    /// `Ok` if `request` may go on: no key is set, or it carries `authorization: Bearer KEY`
    /// with the right key. Otherwise UNAUTHENTICATED, saying what was wrong but never the key.
    pub fn check<T>(&self, request: &Request<T>) -> Result<(), Status> {
        let Some(key) = &self.key else {
            return Ok(());
        };
        let Some(value) = request.metadata().get(AUTHORIZATION) else {
            return Err(Status::unauthenticated(
                "this server needs an API key: send the metadata `authorization: Bearer KEY`",
            ));
        };
        let Some(sent) = value.to_str().ok().and_then(bearer_token) else {
            return Err(Status::unauthenticated(
                "the `authorization` metadata must be `Bearer KEY`",
            ));
        };
        if constant_time_eq(sent.as_bytes(), key.as_bytes()) {
            Ok(())
        } else {
            Err(Status::unauthenticated("the API key is not valid"))
        }
    }
}

impl Interceptor for ApiKey {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        self.check(&request)?;
        Ok(request)
    }
}

// NEW(lesson 16): the key from a file, as container platforms hand out secrets.
/// Why a key file gave no key.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot read the API key from {}: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the API key file {} is empty: put the key in it, or give no key for an open server", path.display())]
    Empty { path: PathBuf },
}

/// The API key in the file at `path`: its text, without the one line break at its end (`echo
/// KEY > file` writes one; a secret a container platform mounts as a file usually has none).
pub fn read_key_file(path: &Path) -> Result<String, KeyFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| KeyFileError::Unreadable {
        path: path.to_path_buf(),
        source,
    })?;
    let key = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(&text);
    if key.is_empty() {
        return Err(KeyFileError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(key.to_string())
}
