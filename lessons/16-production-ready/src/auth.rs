//! The API key: who may call `LinkService`. The server is given a key (`--api-key` or
//! `SHORTENER_API_KEY`); every call to `LinkService` must then carry it in its metadata, as
//! `authorization: Bearer KEY`. Without a key, the server is open.

use std::sync::Arc;

use tonic::service::Interceptor;
use tonic::{Request, Status};

/// The metadata key that carries the credentials: the HTTP `Authorization` header, in lower
/// case (HTTP/2 sends every header name in lower case).
pub const AUTHORIZATION: &str = "authorization";

/// What comes before the key in the `authorization` value.
pub const BEARER: &str = "Bearer ";

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
    // `black_box` keeps the optimiser from turning the loop back into an early exit.
    std::hint::black_box(differences) == 0
}

/// The server's check of the API key, as a tonic interceptor. Cloning it is cheap.
#[derive(Debug, Clone, Default)]
pub struct ApiKey {
    /// The key a call must carry, or `None` for an open server.
    key: Option<Arc<str>>,
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
        let Some(sent) = value
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix(BEARER))
        else {
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
