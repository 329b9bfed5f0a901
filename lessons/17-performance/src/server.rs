//! The `LinkService` implementation: the state it keeps, and one method per RPC.

// NEW(lesson 17): the maps, the id counter and the code drawing moved to src/store.rs.
use std::pin::Pin;
use std::sync::Arc; // NEW(lesson 17)

// NEW(lesson 17): codes are drawn by the store's code source.
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status, Streaming};
use tracing::Instrument;

use crate::cancel::StreamReset;
use crate::deadline::{deadline, expired};
use crate::error::ShortenerError;
use crate::pb::link_service_server::LinkService;
use crate::pb::{
    BatchCreateLinksResponse, CreateLinkRequest, CreateLinkResponse, DeleteLinkRequest,
    DeleteLinkResponse, GetLinkRequest, GetLinkResponse, Link, ListLinksRequest, SyncRequest,
    SyncResponse,
};
// NEW(lesson 17): the links live in a store of their own (src/store.rs).
use crate::store::{Code, CodeSource, MemoryStore, Page, PlannedCodes, RandomCodes};
use crate::validate::validate_url;

// NEW(lesson 17): the code's alphabet and length are src/store.rs's `Code`.
/// How many URLs one BatchCreateLinks stream may carry, unless the server is told otherwise.
pub const DEFAULT_MAX_BATCH: usize = 10_000;
/// How many bytes of URLs one BatchCreateLinks stream may carry: the response repeats every URL,
/// and it must stay under the 4 MiB a client decodes by default.
pub const MAX_BATCH_BYTES: usize = 3 * 1024 * 1024;

/// Returns a random short code: six characters of `[a-z0-9]`.
pub fn short_code() -> String {
    // NEW(lesson 17): the store's code source draws codes.
    RandomCodes.next_code().to_string()
}

/// The shortener service. Cloning it is cheap: every clone shares the same links.
#[derive(Debug, Clone)]
pub struct LinkServer {
    // NEW(lesson 17): the links live in a store of their own, laid out for memory.
    store: Arc<MemoryStore>,
    /// The most URLs one BatchCreateLinks stream may carry.
    max_batch: usize,
    // NEW(lesson 16): the long-lived streams end when the server stops accepting.
    /// Cancelled when the server stops accepting: a SyncClicks stream then ends.
    stopping: CancellationToken,
}

impl Default for LinkServer {
    fn default() -> LinkServer {
        // NEW(lesson 17): an empty store that draws random codes.
        LinkServer::with_store(MemoryStore::default())
    }
}

// NEW(lesson 17): `State` and `Links` are src/store.rs's `MemoryStore` now.
impl LinkServer {
    /// NEW(lesson 17): a server of the links in `store`.
    pub fn with_store(store: MemoryStore) -> LinkServer {
        LinkServer {
            store: Arc::new(store), // NEW(lesson 17)
            max_batch: DEFAULT_MAX_BATCH,
            stopping: CancellationToken::new(),
        }
    } // NEW(lesson 17): `State` and `Links` moved to src/store.rs.

    /// NEW(lesson 17): lesson 07's planned codes are the store's code source now.
    ///
    /// A server that tries `codes`, in order, before any random ones: tests use it to make
    /// two links draw the same code.
    /// NEW(lesson 17): the codes are checked as they are planned.
    ///
    /// # Panics
    ///
    /// If one of `codes` is not a short code (six characters of `[a-z0-9]`): no link could
    /// have it, so a test that plans it has a mistake.
    pub fn with_codes(codes: impl IntoIterator<Item = String>) -> LinkServer {
        // NEW(lesson 17): the codes as the store keeps them.
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

    /// The same server, with a batch limit of `max_batch` URLs per BatchCreateLinks stream.
    pub fn with_max_batch(self, max_batch: usize) -> LinkServer {
        LinkServer { max_batch, ..self }
    }

    /// NEW(lesson 16): the same server, whose SyncClicks streams end when `stopping` is
    /// cancelled (`serve` cancels it when the drain is over).
    pub fn with_stopping(self, stopping: CancellationToken) -> LinkServer {
        LinkServer { stopping, ..self }
    } // NEW(lesson 17): `links`, `next_id` and `sync` are the store's methods now.
}

/// The response stream of `ListLinks` and `SyncClicks`: whatever arrives on a channel.
type ResponseStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

#[tonic::async_trait]
impl LinkService for LinkServer {
    async fn create_link(
        &self,
        request: Request<CreateLinkRequest>,
    ) -> Result<Response<CreateLinkResponse>, Status> {
        let url = request.into_inner().url;
        validate_url(&url).map_err(ShortenerError::InvalidUrl)?;
        // NEW(lesson 17): the store makes the link.
        let link = self.store.create(vec![url]).pop();
        Ok(Response::new(CreateLinkResponse { link }))
    }

    async fn get_link(
        &self,
        request: Request<GetLinkRequest>,
    ) -> Result<Response<GetLinkResponse>, Status> {
        let code = request.into_inner().short_code;
        // NEW(lesson 17): the store finds the link.
        let link = self
            .store
            .get(&code)
            .ok_or(ShortenerError::NotFound(code))?;
        Ok(Response::new(GetLinkResponse { link: Some(link) }))
    }

    async fn delete_link(
        &self,
        request: Request<DeleteLinkRequest>,
    ) -> Result<Response<DeleteLinkResponse>, Status> {
        let code = request.into_inner().short_code;
        // NEW(lesson 17): the store deletes the link and retires its code.
        if !self.store.delete(&code) {
            return Err(ShortenerError::NotFound(code).into());
        }
        // NEW(lesson 17): the store retired the code.
        Ok(Response::new(DeleteLinkResponse {}))
    }

    type ListLinksStream = ResponseStream<Link>;

    async fn list_links(
        &self,
        request: Request<ListLinksRequest>,
    ) -> Result<Response<Self::ListLinksStream>, Status> {
        // tonic's own timer stops at the handler's return: the task below carries the deadline.
        let deadline = deadline(request.metadata());
        // TODO(lesson 17): Exercise 2. A page of the links: those after `after_id`, at most
        // `limit` (0: all), negative values refused; read a page at a time, as tonic asks, by a
        // stream of your own (src/streams.rs), with no task and no channel. This is lesson 16's
        // way: the whole store copied, then a task sends it through a channel.
        let mut links = Page::default();
        self.store.page(0, usize::MAX, &mut links);

        let (tx, rx) = mpsc::channel(16);
        tokio::spawn(
            async move {
                let total = links.len();
                let mut sent = 0; // NEW(lesson 17): a `Page` hands out its links one at a time.
                while let Some(link) = links.next_link() {
                    tokio::select! {
                        // `send` fails once the client has gone away and tonic dropped the
                        // receiver: stop, rather than produce links that nobody will read.
                        result = tx.send(Ok(link)) => if result.is_err() {
                            tracing::info!(sent, total, "ListLinks: the client went away");
                            return;
                        },
                        () = expired(deadline) => {
                            let status = Status::deadline_exceeded(format!(
                                "the deadline passed after {sent} of {total} links"
                            ));
                            let _ = tx.send(Err(status)).await;
                            return;
                        }
                    }
                    sent += 1; // NEW(lesson 17)
                }
            }
            // NEW(lesson 16): a spawned task leaves the call's span behind unless it is given it.
            .instrument(tracing::Span::current()),
        );
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
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

        // NEW(lesson 17): one lock for the whole batch, its tables grown once.
        let created: Vec<Link> = self.store.create(urls);
        Ok(Response::new(BatchCreateLinksResponse {
            created_count: created.len() as i64,
            links: created,
        }))
    }

    type SyncClicksStream = ResponseStream<SyncResponse>;

    async fn sync_clicks(
        &self,
        request: Request<Streaming<SyncRequest>>,
    ) -> Result<Response<Self::SyncClicksStream>, Status> {
        let deadline = deadline(request.metadata());
        let mut inbound = request.into_inner();
        let store = self.store.clone();
        let stopping = self.stopping.clone(); // NEW(lesson 16)
        let (tx, rx) = mpsc::channel(16);

        // TODO(lesson 17): Exercise 3. Answer with a stream over the requests (src/streams.rs):
        // no task, no channel, one deadline timer, the requests that are ready counted under
        // one lock. The rules stay: one answer per request, in order; the deadline and the
        // server's stop end the stream.
        tokio::spawn(
            async move {
                loop {
                    let message = tokio::select! {
                        message = inbound.message() => message,
                        // The client went away while we waited for its next request.
                        () = tx.closed() => return,
                        () = expired(deadline) => {
                            let status = Status::deadline_exceeded("the stream's deadline passed");
                            let _ = tx.send(Err(status)).await;
                            return;
                        }
                        // NEW(lesson 16): the server stops: every request read was answered;
                        // the client sends the rest to another server (or to this one, restarted).
                        () = stopping.cancelled() => {
                            let status = Status::unavailable(
                                "the server is shutting down: send the rest on a new stream",
                            );
                            let _ = tx.send(Err(status)).await;
                            return;
                        }
                    };
                    match message {
                        Ok(Some(request)) => {
                            // NEW(lesson 17): the store answers a batch; here, of one message.
                            let answer = store.add_clicks(vec![request]).into_iter().next();
                            let Some(answer) = answer else { return };
                            if tx.send(Ok(answer)).await.is_err() {
                                return; // the client went away: nobody reads the answers
                            }
                        }
                        Ok(None) => return, // the client closed its side: we are done
                        Err(status) => {
                            // The request stream broke: end the call with its status.
                            let _ = tx.send(Err(status)).await;
                            return;
                        }
                    }
                }
            }
            .instrument(tracing::Span::current()),
        );
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_codes_are_six_lowercase_letters_or_digits() {
        for _ in 0..1_000 {
            let code = short_code();
            // NEW(lesson 17): the alphabet and length are `Code`'s now.
            assert_eq!(code.len(), 6, "{code:?}");
            assert!(
                // NEW(lesson 17)
                code.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
                "{code:?} has a character outside [a-z0-9]"
            );
        }
    }
}
