//! The client's calls, one method per command. Each returns what the server answered; the
//! binary (src/bin/client.rs) decides what to print.
//!
//! NEW(lesson 19): a [`Client`] talks to several replicas over one balanced channel
//! ([`crate::balance`]), and retries what is safe to retry ([`crate::retry`]):
//!
//! | call | retried on UNAVAILABLE | why it is safe |
//! | --- | --- | --- |
//! | GetLink | yes | it changes nothing |
//! | DeleteLink | yes | a second delete leaves the store as the first did: codes are never handed out again, so a retry cannot delete another link |
//! | ListLinks | until the first link reaches the caller | after that, a new attempt would hand the caller the same links again |
//! | CreateLink | only with an idempotency key | the server answers a repeated key with the link it stored the first time |
//! | BatchCreateLinks | no | a batch carries no key: a retry after a lost answer would create every link twice |
//! | SyncClicks | no | a click sent twice is counted twice |

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::codec::CompressionEncoding;
use tonic::metadata::errors::InvalidMetadataValue;
use tonic::metadata::{Ascii, KeyAndValueRef, MetadataMap, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel};
use tonic::{Code, Request, Status};

use crate::balance::{self, Replicas};
use crate::idempotency::{IDEMPOTENCY_KEY, IdempotencyKey};
use crate::pb::link_service_client::LinkServiceClient;
use crate::pb::{
    CreateLinkRequest, DeleteLinkRequest, GetLinkRequest, Link, ListLinksRequest, SyncRequest,
};
use crate::retry::{Call, Retry, RetryBudget, RetryPolicy, RetryStats};

/// A client interceptor: it adds `authorization: Bearer KEY` to the metadata of every request,
/// or nothing when there is no key. Its `Debug` shows `Sensitive`, never the key.
#[derive(Debug, Clone, Default)]
pub struct BearerKey {
    value: Option<MetadataValue<Ascii>>,
}

impl BearerKey {
    /// The interceptor for `key`. A key that cannot be a header value (a newline, a non-ASCII
    /// character) is an error now, not at every call.
    pub fn new(key: Option<&str>) -> Result<BearerKey, InvalidMetadataValue> {
        let value = match key {
            Some(key) => {
                let mut value: MetadataValue<Ascii> = format!("Bearer {key}").parse()?;
                // Sensitive: HTTP/2 never puts it in its compression table, and `Debug` hides it.
                value.set_sensitive(true);
                Some(value)
            }
            None => None,
        };
        Ok(BearerKey { value })
    }
}

impl Interceptor for BearerKey {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(value) = &self.value {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// NEW(lesson 16): how the client talks to the server, beyond plaintext HTTP/2.
#[derive(Debug, Clone, Default)]
pub struct Transport {
    /// Speak TLS, and trust a server whose certificate this CA signed.
    pub ca: Option<Certificate>,
    /// Send requests gzipped, and ask for gzipped responses.
    pub gzip: bool,
}

/// NEW(lesson 19): a LinkService client over one or more replicas, which retries what is safe
/// to retry.
///
/// Every call has one deadline, `timeout` from its start, which covers all of its attempts
/// and the waits between them; each attempt is sent with the time left as its
/// `grpc-timeout`. An interceptor must therefore not set a timeout of its own: it would
/// replace the time left with the whole of it. Clones share the channel and the retry budget.
#[derive(Debug, Clone)]
pub struct Client<I = BearerKey> {
    inner: LinkServiceClient<InterceptedService<Channel, I>>,
    retry: Arc<Retry>,
    timeout: Duration,
    /// Added to every request: see [`Client::with_metadata`].
    metadata: MetadataMap,
}

/// How a delete ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    /// The server said it deleted the link.
    Now,
    /// An attempt failed without an answer, and the retry found no link with the code: the
    /// failed attempt most likely deleted it, and its answer was lost. (Or the code was
    /// unknown from the start: the client cannot tell, and does not claim NOT_FOUND.)
    AlreadyGone,
}

/// Connects to the server at `addr` (`host:port`, or a full `http://` URL), sending `key` with
/// every call; each call must end within `timeout`. The channel connects on the first call.
pub fn connect(addr: &str, timeout: Duration, key: BearerKey) -> Result<Client, balance::Error> {
    let (client, _replicas) = connect_with(&[addr], timeout, key, Transport::default())?;
    Ok(client)
}

/// NEW(lesson 19): one client over the replicas at `addrs`, over `transport` (TLS when it has
/// a CA, gzip when asked), with the default retry policy and budget. Also returns what the
/// channel knows of each replica's health. Must be called within a tokio runtime.
pub fn connect_with<A: AsRef<str>>(
    addrs: &[A],
    timeout: Duration,
    key: BearerKey,
    transport: Transport,
) -> Result<(Client, Replicas), balance::Error> {
    let settings = balance::Settings {
        // A replica that takes longer than the call's deadline to accept is no use to it.
        connect_timeout: timeout.min(balance::Settings::default().connect_timeout),
        ca: transport.ca,
        ..balance::Settings::default()
    };
    let balanced = balance::connect_balanced(addrs, settings)?;
    let retry = Retry::new(RetryPolicy::default(), RetryBudget::default());
    let mut client = Client::with_interceptor(balanced.channel, key, timeout, Arc::new(retry));
    if transport.gzip {
        client = client.gzip();
    }
    Ok((client, balanced.replicas))
}

impl Client<BearerKey> {
    /// A client on `channel` that sends no key, with the default retry policy and budget.
    pub fn new(channel: Channel, timeout: Duration) -> Client<BearerKey> {
        let retry = Retry::new(RetryPolicy::default(), RetryBudget::default());
        Client::with_interceptor(channel, BearerKey::default(), timeout, Arc::new(retry))
    }
}

impl<I> Client<I>
where
    I: Interceptor + Clone,
{
    /// A client on `channel`, every request passing through `interceptor` (the API key, for
    /// one), retrying with `retry`. Clients that talk to the same servers should share one
    /// `retry`, and with it one budget.
    pub fn with_interceptor(
        channel: Channel,
        interceptor: I,
        timeout: Duration,
        retry: Arc<Retry>,
    ) -> Client<I> {
        Client {
            inner: LinkServiceClient::with_interceptor(channel, interceptor),
            retry,
            timeout,
            metadata: MetadataMap::new(),
        }
    }

    /// This client, sending requests gzipped and asking for gzipped responses.
    pub fn gzip(mut self) -> Client<I> {
        self.inner = self
            .inner
            .send_compressed(CompressionEncoding::Gzip)
            .accept_compressed(CompressionEncoding::Gzip);
        self
    }

    /// A client like this one (same channel, same budget) that adds `metadata` to every
    /// attempt of every call: the gateway sends its caller's key and request id this way.
    pub fn with_metadata(&self, metadata: MetadataMap) -> Client<I> {
        Client {
            metadata,
            ..self.clone()
        }
    }

    /// What the retries have done so far.
    pub fn retry_stats(&self) -> RetryStats {
        self.retry.stats()
    }

    /// The generated client underneath, for calls that are never retried (a SyncClicks
    /// stream that lives on): it carries neither the deadline nor [`Client::with_metadata`].
    pub fn unretried(&self) -> LinkServiceClient<InterceptedService<Channel, I>> {
        self.inner.clone()
    }

    /// The next attempt's request: `message`, the time left as `grpc-timeout`, and this
    /// client's metadata.
    fn request<T>(&self, call: &mut Call<'_>, message: T) -> Result<Request<T>, Status> {
        let mut request = call.request(message)?;
        let metadata = request.metadata_mut();
        for entry in self.metadata.iter() {
            match entry {
                KeyAndValueRef::Ascii(key, value) => {
                    metadata.insert(key.clone(), value.clone());
                }
                KeyAndValueRef::Binary(key, value) => {
                    metadata.insert_bin(key.clone(), value.clone());
                }
            }
        }
        Ok(request)
    }

    pub async fn get(&self, short_code: &str) -> Result<Link, Status> {
        let mut client = self.inner.clone();
        let mut call = self.retry.begin(self.timeout);
        loop {
            let request = self.request(
                &mut call,
                GetLinkRequest {
                    short_code: short_code.to_string(),
                },
            )?;
            match call.within_deadline(client.get_link(request)).await {
                Ok(response) => return call.succeeded(link_in(response.into_inner().link)),
                Err(status) => call.failed(status).await?,
            }
        }
    }

    /// Deletes the link, retrying on UNAVAILABLE. NOT_FOUND on the first attempt is an error;
    /// on a retry it is [`Deleted::AlreadyGone`].
    pub async fn delete(&self, short_code: &str) -> Result<Deleted, Status> {
        let mut client = self.inner.clone();
        let mut call = self.retry.begin(self.timeout);
        loop {
            let request = self.request(
                &mut call,
                DeleteLinkRequest {
                    short_code: short_code.to_string(),
                },
            )?;
            match call.within_deadline(client.delete_link(request)).await {
                Ok(_) => return Ok(call.succeeded(Deleted::Now)),
                Err(status) if status.code() == Code::NotFound && call.attempts() > 1 => {
                    return Ok(call.succeeded(Deleted::AlreadyGone));
                }
                Err(status) => call.failed(status).await?,
            }
        }
    }

    /// Hands every link `page` asks for to `each` as it arrives, and returns how many there
    /// were. A failure before the first link is retried; after it, the call ends with the
    /// error.
    pub async fn list(
        &self,
        page: ListLinksRequest,
        mut each: impl FnMut(Link),
    ) -> Result<usize, Status> {
        let mut client = self.inner.clone();
        let mut call = self.retry.begin(self.timeout);
        loop {
            let request = self.request(&mut call, page)?;
            let mut count = 0;
            let attempt = async {
                let mut links = client.list_links(request).await?.into_inner();
                // `message()` gives `Ok(None)` when the server ends the stream.
                while let Some(link) = links.message().await? {
                    each(link);
                    count += 1;
                }
                Ok(())
            };
            match call.within_deadline(attempt).await {
                Ok(()) => return Ok(call.succeeded(count)),
                Err(status) if count > 0 => return Err(call.failed_committed(status)),
                Err(status) => call.failed(status).await?,
            }
        }
    }

    /// Creates a link under a new idempotency key, retrying on UNAVAILABLE with the same key.
    pub async fn create(&self, url: &str) -> Result<Link, Status> {
        self.create_with_key(url, Some(IdempotencyKey::random()))
            .await
    }

    /// Creates a link under `key`: retried with it on UNAVAILABLE. Without a key, one attempt
    /// only: a create whose answer was lost may have happened, and a retry would make a second
    /// link.
    pub async fn create_with_key(
        &self,
        url: &str,
        key: Option<IdempotencyKey>,
    ) -> Result<Link, Status> {
        let mut client = self.inner.clone();
        let mut call = match key {
            Some(_) => self.retry.begin(self.timeout),
            None => self.retry.begin_once(self.timeout),
        };
        loop {
            let mut request = self.request(
                &mut call,
                CreateLinkRequest {
                    url: url.to_string(),
                },
            )?;
            if let Some(key) = &key {
                request
                    .metadata_mut()
                    .insert(IDEMPOTENCY_KEY, key.to_metadata());
            }
            match call.within_deadline(client.create_link(request)).await {
                Ok(response) => return call.succeeded(link_in(response.into_inner().link)),
                Err(status) => call.failed(status).await?,
            }
        }
    }

    /// Creates a link for every URL in one client-streaming call. One attempt: a batch
    /// carries no idempotency key, so a retry after a lost answer would create them twice.
    pub async fn batch_create(&self, urls: Vec<String>) -> Result<Vec<Link>, Status> {
        let mut client = self.inner.clone();
        let mut call = self.retry.begin_once(self.timeout);
        let requests = urls.into_iter().map(|url| CreateLinkRequest { url });
        // Any `Stream` can be the request stream; when it ends, the server sees the end of input.
        let request = self.request(&mut call, tokio_stream::iter(requests))?;
        let answer = call
            .within_deadline(client.batch_create_links(request))
            .await;
        match answer {
            Ok(response) => Ok(call.succeeded(response.into_inner().links)),
            Err(status) => Err(call.failed_committed(status)),
        }
    }

    /// Adds `clicks` to each short code over one bidirectional stream, handing each answer to
    /// `each` as it arrives: the short code, its total, and whether the server acknowledged
    /// the clicks. One attempt: a click sent twice is counted twice.
    pub async fn sync_clicks(
        &self,
        short_codes: Vec<String>,
        clicks: i64,
        mut each: impl FnMut(&str, i64, bool),
    ) -> Result<(), Status> {
        let mut client = self.inner.clone();
        let mut call = self.retry.begin_once(self.timeout);
        let (tx, rx) = mpsc::channel(16);

        // Send on a task of its own, so answers are read while requests are still going out.
        tokio::spawn(async move {
            for short_code in short_codes {
                if tx.send(SyncRequest { short_code, clicks }).await.is_err() {
                    return; // the call is over: nobody reads the requests any more
                }
            }
            // `tx` is dropped here. That closes our side of the stream: the server's `message()`
            // returns `Ok(None)`, it finishes, and our loop below ends too.
        });

        let request = self.request(&mut call, ReceiverStream::new(rx))?;
        let streaming = async {
            let mut answers = client.sync_clicks(request).await?.into_inner();
            while let Some(answer) = answers.message().await? {
                each(&answer.short_code, answer.total_clicks, answer.acknowledged);
            }
            Ok(())
        };
        match call.within_deadline(streaming).await {
            Ok(()) => {
                call.succeeded(());
                Ok(())
            }
            Err(status) => Err(call.failed_committed(status)),
        }
    }
}

/// The link of an answer: a server that leaves it out breaks the contract.
fn link_in(link: Option<Link>) -> Result<Link, Status> {
    link.ok_or_else(|| Status::internal("the server's answer has no link in it"))
}

/// One line about a link, as the client prints it.
pub fn describe(link: &Link) -> String {
    format!(
        "{} -> {} (id {}, {} clicks)",
        link.short_code, link.url, link.id, link.clicks
    )
}
