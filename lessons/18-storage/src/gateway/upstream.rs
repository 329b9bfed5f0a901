//! How the gateway calls the gRPC server: two clients on one channel, the caller's key carried
//! through, and a deadline that covers the whole call.

use std::future::Future;

use axum::http::{HeaderMap, header};
use tokio::time::Instant;
use tonic::metadata::AsciiMetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use tonic::{Code, Request, Status};
use tonic_health::pb::health_client::HealthClient;

use super::CALL_TIMEOUT;
use super::error::ApiError;
use crate::REQUEST_ID;
use crate::client::BearerKey;
use crate::pb::link_service_client::LinkServiceClient;

/// A client of LinkService, with a [`BearerKey`] interceptor on every call.
pub type GrpcClient = LinkServiceClient<InterceptedService<Channel, BearerKey>>;

/// The gateway's clients, on one channel (one HTTP/2 connection).
#[derive(Debug, Clone)]
pub struct Clients {
    /// For the `/v1/*` routes. It adds no key: each call carries its caller's `Authorization`
    /// ([`for_caller`]), so the gateway never lends its key to whoever reaches it.
    pub callers: GrpcClient,
    /// The gateway's own key on every call: for the redirect, which a browser follows without a
    /// key, and for the click flusher.
    pub own: GrpcClient,
    /// NEW(lesson 16): the server's health, for `/healthz`.
    pub health: HealthClient<Channel>,
}

/// The clients for the server at `server` (`http://host:port`), the gateway's own calls carrying
/// `key`. The channel connects on the first call, and again after the server went away, so the
/// gateway starts even when the server is down (its routes answer 503 until it is up).
pub fn connect(server: &str, key: BearerKey) -> Result<Clients, tonic::transport::Error> {
    connect_with_ca(server, key, None)
}

/// NEW(lesson 16): [`connect`], over TLS when there is a CA to trust (the URL is `https://`).
pub fn connect_with_ca(
    server: &str,
    key: BearerKey,
    ca: Option<Certificate>,
) -> Result<Clients, tonic::transport::Error> {
    let mut endpoint = Endpoint::from_shared(server.to_string())?
        .connect_timeout(CALL_TIMEOUT)
        .tcp_nodelay(true);
    if let Some(ca) = ca {
        endpoint = endpoint.tls_config(ClientTlsConfig::new().ca_certificate(ca))?;
    }
    let channel = endpoint.connect_lazy();
    Ok(Clients {
        callers: LinkServiceClient::with_interceptor(channel.clone(), BearerKey::default()),
        own: LinkServiceClient::with_interceptor(channel.clone(), key),
        health: HealthClient::new(channel),
    })
}

/// A request with the gateway's deadline on it, sent on as `grpc-timeout`.
// NEW(lesson 16): and the HTTP request's id, so that the server logs the call under the id the
// gateway logged the request with.
pub(super) fn call<T>(message: T, headers: &HeaderMap) -> Request<T> {
    let mut request = Request::new(message);
    request.set_timeout(CALL_TIMEOUT);
    let id = headers
        .get(REQUEST_ID)
        .and_then(|id| AsciiMetadataValue::try_from(id.as_bytes()).ok());
    if let Some(id) = id {
        request.metadata_mut().insert(REQUEST_ID, id);
    }
    request
}

/// [`call`], on behalf of the HTTP caller: their `Authorization` header, if they sent one, goes
/// to the server as it came. Marked sensitive, it is never put in HPACK's table.
pub(super) fn for_caller<T>(message: T, headers: &HeaderMap) -> Result<Request<T>, ApiError> {
    let mut request = call(message, headers);
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let mut value = AsciiMetadataValue::try_from(value.as_bytes()).map_err(|_| {
            ApiError::from(Status::unauthenticated(
                "the Authorization header cannot be sent on as gRPC metadata",
            ))
        })?;
        value.set_sensitive(true);
        request.metadata_mut().insert("authorization", value);
    }
    Ok(request)
}

/// Runs `call`, all of it (a streamed answer too), within the gateway's deadline. tonic's own
/// timer covers only the wait for the answer's headers, so the gateway keeps its own clock.
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
