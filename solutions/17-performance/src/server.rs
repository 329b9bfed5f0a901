//! The `LinkService` implementation: the state it keeps, and one method per RPC.

use std::collections::{HashMap, HashSet, VecDeque};
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use rand::Rng;
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
use crate::validate::validate_url;

/// The characters a short code is made of.
const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
/// How long a short code is: 36^6, about 2.2 billion codes.
const CODE_LEN: usize = 6;
/// How many URLs one BatchCreateLinks stream may carry, unless the server is told otherwise.
pub const DEFAULT_MAX_BATCH: usize = 10_000;
/// How many bytes of URLs one BatchCreateLinks stream may carry: the response repeats every URL,
/// and it must stay under the 4 MiB a client decodes by default.
pub const MAX_BATCH_BYTES: usize = 3 * 1024 * 1024;

/// Returns a random short code: six characters of `[a-z0-9]`.
pub fn short_code() -> String {
    let mut rng = rand::rng();
    (0..CODE_LEN)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// The shortener service. Cloning it is cheap: every clone shares the same links.
#[derive(Debug, Clone)]
pub struct LinkServer {
    state: Arc<State>,
    /// The most URLs one BatchCreateLinks stream may carry.
    max_batch: usize,
    // NEW(lesson 16): the long-lived streams end when the server stops accepting.
    /// Cancelled when the server stops accepting: a SyncClicks stream then ends.
    stopping: CancellationToken,
}

impl Default for LinkServer {
    fn default() -> LinkServer {
        LinkServer {
            state: Arc::default(),
            max_batch: DEFAULT_MAX_BATCH,
            stopping: CancellationToken::new(),
        }
    }
}

#[derive(Debug, Default)]
struct State {
    /// The id of the last link created; the next one gets `last_id + 1`.
    last_id: AtomicI64,
    links: Mutex<Links>,
}

#[derive(Debug, Default)]
struct Links {
    /// The live links, by short code.
    by_code: HashMap<String, Link>,
    /// Codes of deleted links: never handed out again, so an old short URL can't
    /// start pointing somewhere new.
    retired: HashSet<String>,
    /// Codes to try before random ones. Empty, except in tests (`LinkServer::with_codes`).
    planned: VecDeque<String>,
}

impl Links {
    /// A short code that no link has ever had. A random collision is retried, never overwritten.
    fn unused_code(&mut self) -> String {
        loop {
            let code = self.draw();
            if !self.by_code.contains_key(&code) && !self.retired.contains(&code) {
                return code;
            }
        }
    }

    /// The next code to try: the codes planned by `LinkServer::with_codes` first, in order,
    /// then random ones.
    fn draw(&mut self) -> String {
        self.planned.pop_front().unwrap_or_else(short_code)
    }

    /// Stores a new link for `url` and returns a copy of it.
    fn insert(&mut self, id: i64, url: String) -> Link {
        let link = Link {
            id,
            url,
            short_code: self.unused_code(),
            clicks: 0,
        };
        self.by_code.insert(link.short_code.clone(), link.clone());
        link
    }
}

impl LinkServer {
    /// A server that tries `codes`, in order, before any random ones: tests use it to make
    /// two links draw the same code.
    pub fn with_codes(codes: impl IntoIterator<Item = String>) -> LinkServer {
        let server = LinkServer::default();
        server.links().planned.extend(codes);
        server
    }

    /// The same server, with a batch limit of `max_batch` URLs per BatchCreateLinks stream.
    pub fn with_max_batch(self, max_batch: usize) -> LinkServer {
        LinkServer { max_batch, ..self }
    }

    /// NEW(lesson 16): the same server, whose SyncClicks streams end when `stopping` is
    /// cancelled (`serve` cancels it when the drain is over).
    pub fn with_stopping(self, stopping: CancellationToken) -> LinkServer {
        LinkServer { stopping, ..self }
    }

    fn links(&self) -> MutexGuard<'_, Links> {
        // A poisoned lock means a thread panicked while holding it; the map itself is still
        // whole (every update is a single insert or remove), so keep serving.
        self.state
            .links
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn next_id(&self) -> i64 {
        self.state.last_id.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Adds `clicks` to the link behind `short_code`, and says what happened.
    fn sync(&self, request: SyncRequest) -> SyncResponse {
        let mut links = self.links();
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
            // A negative count, or a total past i64::MAX: refused, the total stays as it was.
            _ => false,
        };
        SyncResponse {
            short_code: request.short_code,
            total_clicks: link.clicks,
            acknowledged,
        }
    }
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
        let link = self.links().insert(self.next_id(), url);
        Ok(Response::new(CreateLinkResponse { link: Some(link) }))
    }

    async fn get_link(
        &self,
        request: Request<GetLinkRequest>,
    ) -> Result<Response<GetLinkResponse>, Status> {
        let code = request.into_inner().short_code;
        let found = self.links().by_code.get(&code).cloned();
        let link = found.ok_or(ShortenerError::NotFound(code))?;
        Ok(Response::new(GetLinkResponse { link: Some(link) }))
    }

    async fn delete_link(
        &self,
        request: Request<DeleteLinkRequest>,
    ) -> Result<Response<DeleteLinkResponse>, Status> {
        let code = request.into_inner().short_code;
        let mut links = self.links();
        if links.by_code.remove(&code).is_none() {
            return Err(ShortenerError::NotFound(code).into());
        }
        links.retired.insert(code);
        Ok(Response::new(DeleteLinkResponse {}))
    }

    type ListLinksStream = ResponseStream<Link>;

    async fn list_links(
        &self,
        request: Request<ListLinksRequest>,
    ) -> Result<Response<Self::ListLinksStream>, Status> {
        // tonic's own timer stops at the handler's return: the task below carries the deadline.
        let deadline = deadline(request.metadata());
        // Copy the links out, so the lock is held for a moment, not for the whole stream.
        let mut links: Vec<Link> = self.links().by_code.values().cloned().collect();
        links.sort_unstable_by_key(|link| link.id);

        let (tx, rx) = mpsc::channel(16);
        tokio::spawn(
            async move {
                let total = links.len();
                for (sent, link) in links.into_iter().enumerate() {
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

        let mut links = self.links();
        let created: Vec<Link> = urls
            .into_iter()
            .map(|url| links.insert(self.next_id(), url))
            .collect();
        drop(links);

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
        let server = self.clone();
        let stopping = self.stopping.clone(); // NEW(lesson 16)
        let (tx, rx) = mpsc::channel(16);

        // One task reads requests and answers each in turn. Returning the response stream now
        // lets tonic send answers while the client is still sending requests.
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
                            if tx.send(Ok(server.sync(request))).await.is_err() {
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
            assert_eq!(code.len(), CODE_LEN, "{code:?}");
            assert!(
                code.bytes().all(|b| ALPHABET.contains(&b)),
                "{code:?} has a character outside [a-z0-9]"
            );
        }
    }
}
