//! The `LinkService` implementation: the state it keeps, and one method per RPC.

use tokio_util::sync::CancellationToken; // NEW(lesson 18): no `Arc`: a store is cheap to clone.
use tonic::metadata::MetadataMap;
use tonic::{Request, Response, Status, Streaming};

use crate::cancel::StreamReset;
use crate::deadline::deadline;
use crate::error::ShortenerError;
// TODO(lesson 19): `idempotency_key` reads the metadata with these.
#[allow(unused_imports)]
use crate::idempotency::{IDEMPOTENCY_KEY, IdempotencyKey};
use crate::memory::MemoryStore; // NEW(lesson 18): lesson 17's store, in a file of its own.
use crate::pb::link_service_server::LinkService;
use crate::pb::{
    BatchCreateLinksResponse, CreateLinkRequest, CreateLinkResponse, DeleteLinkRequest,
    DeleteLinkResponse, GetLinkRequest, GetLinkResponse, Link, ListLinksRequest, SyncRequest,
};
use crate::store::{Code, CodeSource, Keyed, PlannedCodes, RandomCodes, Store}; // NEW(lesson 18)
use crate::streams::{Answers, Pages};
use crate::validate::validate_url;

/// How many URLs one BatchCreateLinks stream may carry, unless the server is told otherwise.
pub const DEFAULT_MAX_BATCH: usize = 10_000;
/// How many bytes of URLs one BatchCreateLinks stream may carry: the response repeats every URL,
/// and it must stay under the 4 MiB a client decodes by default.
pub const MAX_BATCH_BYTES: usize = 3 * 1024 * 1024;

/// NEW(lesson 19): the `idempotency-key` of a CreateLink, if it has one: 1 to 255 visible
/// ASCII characters, sent once. A key out of those bounds is INVALID_ARGUMENT: stored, it
/// would cost the database an index entry of any size a client chooses.
fn idempotency_key(metadata: &MetadataMap) -> Result<Option<String>, ShortenerError> {
    // TODO(lesson 19), Exercise 2: the key, when the request has one (`IDEMPOTENCY_KEY`),
    // checked with `IdempotencyKey::parse`; `ShortenerError::BadIdempotencyKey` when it is out
    // of bounds or sent more than once. Until then, every CreateLink is taken as keyless.
    let _ = metadata;
    Ok(None)
}

/// Returns a random short code: six characters of `[a-z0-9]`.
pub fn short_code() -> String {
    RandomCodes.next_code().to_string()
}

/// The shortener service. Cloning it is cheap: every clone shares the same links.
///
/// NEW(lesson 18): generic over its store. The handlers call the [`Store`] trait and nothing
/// else, so the same code serves links in memory (the default, and the tests) or in SQLite.
#[derive(Debug, Clone)]
pub struct LinkServer<S = MemoryStore> {
    store: S, // NEW(lesson 18): any store; the in-memory one unless told otherwise.
    /// The most URLs one BatchCreateLinks stream may carry.
    max_batch: usize,
    // NEW(lesson 16): the long-lived streams end when the server stops accepting.
    /// Cancelled when the server stops accepting: a SyncClicks stream then ends.
    stopping: CancellationToken,
}

impl Default for LinkServer {
    fn default() -> LinkServer {
        LinkServer::with_store(MemoryStore::default())
    }
}

impl<S: Store> LinkServer<S> {
    /// NEW(lesson 18): a server of the links in `store`, any store.
    pub fn with_store(store: S) -> LinkServer<S> {
        LinkServer {
            store, // NEW(lesson 18): not in an `Arc`: clones of a store share it.
            max_batch: DEFAULT_MAX_BATCH,
            stopping: CancellationToken::new(),
        }
    }

    /// The store the server serves.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The same server, with a batch limit of `max_batch` URLs per BatchCreateLinks stream.
    pub fn with_max_batch(self, max_batch: usize) -> LinkServer<S> {
        LinkServer { max_batch, ..self }
    }

    /// NEW(lesson 16): the same server, whose SyncClicks streams end when `stopping` is
    /// cancelled (`serve` cancels it when the drain is over).
    pub fn with_stopping(self, stopping: CancellationToken) -> LinkServer<S> {
        LinkServer { stopping, ..self }
    }
}

impl LinkServer {
    /// A server that tries `codes`, in order, before any random ones: tests use it to make
    /// two links draw the same code.
    ///
    /// # Panics
    ///
    /// If one of `codes` is not a short code (six characters of `[a-z0-9]`): no link could
    /// have it, so a test that plans it has a mistake.
    pub fn with_codes(codes: impl IntoIterator<Item = String>) -> LinkServer {
        let codes: Vec<Code> = codes
            .into_iter()
            .map(|code| {
                Code::parse(&code).unwrap_or_else(|| {
                    panic!("{code:?} is not a short code: six characters of [a-z0-9]")
                })
            })
            .collect();
        LinkServer::with_store(MemoryStore::new(PlannedCodes::new(codes)))
    }
    // NEW(lesson 18): `with_max_batch` and `with_stopping` moved up, to any store's server.
}

#[tonic::async_trait]
impl<S: Store> LinkService for LinkServer<S> {
    // NEW(lesson 18): for any store.
    async fn create_link(
        &self,
        request: Request<CreateLinkRequest>,
    ) -> Result<Response<CreateLinkResponse>, Status> {
        // NEW(lesson 19): a key makes the call safe to retry: the store answers a repeated key
        // with the link it created the first time.
        let key = idempotency_key(request.metadata())?;
        let url = request.into_inner().url;
        validate_url(&url).map_err(ShortenerError::InvalidUrl)?;
        // NEW(lesson 18): answered once the store has it (for SQLite: after COMMIT).
        let link = match key {
            None => self.store.create(vec![url]).await?.pop(),
            Some(key) => match self.store.create_with_key(key, url).await? {
                Keyed::Created(link) | Keyed::Replayed(link) => Some(link),
                Keyed::OtherUrl => return Err(ShortenerError::IdempotencyKeyReused.into()),
                Keyed::Deleted => return Err(ShortenerError::IdempotentLinkDeleted.into()),
            },
        };
        Ok(Response::new(CreateLinkResponse { link }))
    }

    async fn get_link(
        &self,
        request: Request<GetLinkRequest>,
    ) -> Result<Response<GetLinkResponse>, Status> {
        let code = request.into_inner().short_code;
        let link = self
            .store
            .get(&code)
            .await?
            .ok_or(ShortenerError::NotFound(code))?;
        Ok(Response::new(GetLinkResponse { link: Some(link) }))
    }

    async fn delete_link(
        &self,
        request: Request<DeleteLinkRequest>,
    ) -> Result<Response<DeleteLinkResponse>, Status> {
        let code = request.into_inner().short_code;
        if !self.store.delete(&code).await? {
            return Err(ShortenerError::NotFound(code).into());
        }
        Ok(Response::new(DeleteLinkResponse {}))
    }

    type ListLinksStream = Pages<S>; // NEW(lesson 18): a stream over any store.

    async fn list_links(
        &self,
        request: Request<ListLinksRequest>,
    ) -> Result<Response<Pages<S>>, Status> {
        // NEW(lesson 18)
        // tonic's own timer stops at the handler's return: the stream carries the deadline.
        let deadline = deadline(request.metadata());
        // NEW(lesson 17): a page of the links: those after `after_id`, at most `limit` (0: all).
        let ListLinksRequest { after_id, limit } = request.into_inner();
        if after_id < 0 {
            return Err(ShortenerError::NegativePage {
                field: "after_id",
                value: after_id,
            }
            .into());
        }
        let limit = match usize::try_from(limit) {
            Ok(0) => None,
            Ok(limit) => Some(limit),
            Err(_) => {
                return Err(ShortenerError::NegativePage {
                    field: "limit",
                    value: i64::from(limit),
                }
                .into());
            }
        };
        let pages = Pages::new(self.store.clone(), after_id, limit, deadline);
        Ok(Response::new(pages))
    }

    async fn batch_create_links(
        &self,
        request: Request<Streaming<CreateLinkRequest>>,
    ) -> Result<Response<BatchCreateLinksResponse>, Status> {
        // The layer's flag: a stream that the client reset ends like a finished one (below).
        let reset = request.extensions().get::<StreamReset>().cloned();
        let mut stream = request.into_inner();

        // Read and check the whole stream before storing anything. `message()` gives `Ok(None)`
        // at the end of the stream and `Err` if it broke (the connection dropped mid-batch): the
        // `?` ends the call with that error, so a half-sent batch stores nothing.
        let mut urls = Vec::new();
        let mut bytes = 0;
        while let Some(request) = stream.message().await? {
            let index = urls.len();
            if index == self.max_batch {
                // One message past the limit: stop reading, however long the stream would go on.
                return Err(ShortenerError::BatchTooLarge {
                    limit: self.max_batch,
                }
                .into());
            }
            validate_url(&request.url)
                .map_err(|error| ShortenerError::InvalidUrlInBatch { index, error })?;
            bytes += request.url.len();
            if bytes > MAX_BATCH_BYTES {
                return Err(ShortenerError::BatchTooManyBytes {
                    limit: MAX_BATCH_BYTES,
                }
                .into());
            }
            urls.push(request.url);
        }
        // tonic gives `Ok(None)` for a stream the client reset (RST_STREAM with CANCEL) as for
        // one it ended: only the layer's flag tells them apart. A cancelled batch stores nothing.
        if reset.is_some_and(|reset| reset.happened()) {
            return Err(ShortenerError::BatchCancelled.into());
        }

        // NEW(lesson 18): one store call for the whole batch, all or nothing.
        let created: Vec<Link> = self.store.create(urls).await?;
        Ok(Response::new(BatchCreateLinksResponse {
            created_count: created.len() as i64,
            links: created,
        }))
    }

    type SyncClicksStream = Answers<S>; // NEW(lesson 18): a stream over any store.

    async fn sync_clicks(
        &self,
        request: Request<Streaming<SyncRequest>>,
    ) -> Result<Response<Answers<S>>, Status> {
        // NEW(lesson 18)
        let deadline = deadline(request.metadata());
        // NEW(lesson 17): the answers are a stream over the requests: no task, no channel.
        let answers = Answers::new(
            request.into_inner(),
            self.store.clone(),
            deadline,
            self.stopping.clone(),
        );
        Ok(Response::new(answers))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_codes_are_six_lowercase_letters_or_digits() {
        for _ in 0..1_000 {
            let code = short_code();
            assert_eq!(code.len(), 6, "{code:?}");
            assert!(
                code.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
                "{code:?} has a character outside [a-z0-9]"
            );
        }
    }
}
