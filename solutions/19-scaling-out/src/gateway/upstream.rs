//! How the gateway calls the server: clients on one channel balanced over the replicas, the
//! caller's key carried through, and a deadline that covers the whole call.

use std::future::Future;
use std::sync::Arc;

use axum::http::{HeaderMap, header};
use tokio::time::Instant;
use tonic::metadata::{AsciiMetadataValue, MetadataMap};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel};
use tonic::{Code, Request, Status};
use tonic_health::pb::health_client::HealthClient;

use super::CALL_TIMEOUT;
use super::error::ApiError;
use crate::REQUEST_ID;
use crate::balance::{self, Replicas};
use crate::client::{BearerKey, Client};
use crate::pb::link_service_client::LinkServiceClient;
use crate::retry::{Retry, RetryBudget, RetryPolicy};

/// A client of LinkService, with a [`BearerKey`] interceptor on every call: for the click
/// flusher's SyncClicks stream, which is never retried.
pub type GrpcClient = LinkServiceClient<InterceptedService<Channel, BearerKey>>;

/// The gateway's clients, on one channel.
// NEW(lesson 19): the channel is balanced over the replicas, and the LinkService clients retry
// what is safe to retry, sharing one retry budget.
#[derive(Debug, Clone)]
pub struct Clients {
    /// For the `/v1/*` routes. It adds no key: each call carries its caller's `Authorization`
    /// ([`for_caller`]), so the gateway never lends its key to whoever reaches it.
    pub callers: Client,
    /// The gateway's own key on every call: for the redirect, which a browser follows without a
    /// key, and for the click flusher.
    pub own: Client,
    /// NEW(lesson 16): the server's health, for `/healthz`.
    pub health: HealthClient<Channel>,
    /// NEW(lesson 19): what the channel knows of each replica (none for a channel made
    /// elsewhere, as in tests).
    pub replicas: Option<Replicas>,
}

impl Clients {
    /// NEW(lesson 19): the clients on `channel`, one budget for both, the gateway's own calls
    /// carrying `key`.
    pub fn on(channel: Channel, key: BearerKey) -> Clients {
        let retry = Arc::new(Retry::new(RetryPolicy::default(), RetryBudget::default()));
        Clients {
            callers: Client::with_interceptor(
                channel.clone(),
                BearerKey::default(),
                CALL_TIMEOUT,
                retry.clone(),
            ),
            own: Client::with_interceptor(channel.clone(), key, CALL_TIMEOUT, retry),
            health: HealthClient::new(channel),
            replicas: None,
        }
    }
}

/// The clients for the server at `server` (`http://host:port`), the gateway's own calls carrying
/// `key`. The channel connects on the first call, and again after the server went away, so the
/// gateway starts even when the server is down (its routes answer 503 until it is up).
pub fn connect(server: &str, key: BearerKey) -> Result<Clients, balance::Error> {
    connect_with_ca(&[server], key, None)
}

/// NEW(lesson 16): [`connect`], over TLS when there is a CA to trust (the URL is `https://`).
/// NEW(lesson 19): over every replica in `servers`, balanced by their health.
pub fn connect_with_ca<S: AsRef<str>>(
    servers: &[S],
    key: BearerKey,
    ca: Option<Certificate>,
) -> Result<Clients, balance::Error> {
    let settings = balance::Settings {
        connect_timeout: CALL_TIMEOUT,
        ca,
        ..balance::Settings::default()
    };
    let balanced = balance::connect_balanced(servers, settings)?;
    Ok(Clients {
        replicas: Some(balanced.replicas),
        ..Clients::on(balanced.channel, key)
    })
}

/// The metadata every call of a request carries: the HTTP request's id, so that the server
/// logs the call under the id the gateway logged the request with.
pub(super) fn metadata(headers: &HeaderMap) -> MetadataMap {
    let mut metadata = MetadataMap::new();
    let id = headers
        .get(REQUEST_ID)
        .and_then(|id| AsciiMetadataValue::try_from(id.as_bytes()).ok());
    if let Some(id) = id {
        metadata.insert(REQUEST_ID, id);
    }
    metadata
}

/// A request with the gateway's deadline on it, sent on as `grpc-timeout`, and [`metadata`].
pub(super) fn call<T>(message: T, headers: &HeaderMap) -> Request<T> {
    let mut request = Request::from_parts(metadata(headers), Default::default(), message);
    request.set_timeout(CALL_TIMEOUT);
    request
}

/// [`metadata`], on behalf of the HTTP caller: their `Authorization` header, if they sent one,
/// goes to the server as it came. Marked sensitive, it is never put in HPACK's table.
pub(super) fn for_caller(headers: &HeaderMap) -> Result<MetadataMap, ApiError> {
    let mut metadata = metadata(headers);
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let mut value = AsciiMetadataValue::try_from(value.as_bytes()).map_err(|_| {
            ApiError::from(Status::unauthenticated(
                "the Authorization header cannot be sent on as gRPC metadata",
            ))
        })?;
        value.set_sensitive(true);
        metadata.insert("authorization", value);
    }
    Ok(metadata)
}

/// Runs `call`, all of it (a streamed answer too), within the gateway's deadline. tonic's own
/// timer covers only the wait for the answer's headers, so the gateway keeps its own clock.
/// NEW(lesson 19): the LinkService calls keep theirs in [`Client`]; this is for the health
/// check.
///
/// When the deadline passes, the answer is DEADLINE_EXCEEDED (504), whichever side noticed
/// first: this timer, tonic's (CANCELLED "Timeout expired"), or the server's, which tonic also
/// reports as CANCELLED. Without this, the table would turn the gateway's own deadline into
/// 499, a code that blames the browser and that no alert on 5xx counts.
pub(super) async fn within_deadline<T>(
    call: impl Future<Output = Result<T, Status>>,
) -> Result<T, ApiError> {
    let deadline = Instant::now() + CALL_TIMEOUT;
    let expired = || {
        ApiError::from(Status::deadline_exceeded(format!(
            "the server did not answer within {} s",
            CALL_TIMEOUT.as_secs()
        )))
    };
    match tokio::time::timeout_at(deadline, call).await {
        Ok(Ok(answer)) => Ok(answer),
        Ok(Err(status)) if status.code() == Code::Cancelled && Instant::now() >= deadline => {
            Err(expired())
        }
        Ok(Err(status)) => Err(ApiError::from(status)),
        Err(_elapsed) => Err(expired()),
    }
}
