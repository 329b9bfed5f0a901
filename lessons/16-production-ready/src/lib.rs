//! The link shortener: a gRPC service that turns long URLs into six-character short codes.
//!
//! The service lives here, in the library, so that the server binary stays a few lines long and
//! tests can start the real service on a free port of their own.

/// The code that `build.rs` generated from `proto/link.proto`: messages, server trait, client.
pub mod pb {
    tonic::include_proto!("shortener");
    // NEW(lesson 15): the proto3 JSON mapping of every message, written by pbjson-build.
    include!(concat!(env!("OUT_DIR"), "/shortener.serde.rs"));

    // TODO(lesson 16): Exercise 2. `pub const FILE_DESCRIPTOR_SET: &[u8]`, the bytes build.rs
    // writes to OUT_DIR (`include_bytes!` and `concat!`, as `include!` does above).
}

mod auth;
mod cancel;
pub mod client;
mod deadline;
mod error;
pub mod gateway;
mod log;
mod server;
mod tls; // NEW(lesson 16): TLS from PEM files.
mod validate;

pub use auth::{AUTHORIZATION, ApiKey, BEARER, constant_time_eq};
pub use cancel::{StreamReset, StreamResetLayer};
pub use deadline::{GRPC_TIMEOUT, deadline, expired, time_left};
pub use error::ShortenerError;
// NEW(lesson 16): the log format and the subscriber that writes it.
pub use log::{
    CallLog, CallRecord, LogFormat, MAX_REQUEST_ID_LEN, REQUEST_ID, RequestLogLayer, init_tracing,
    request_id,
};
pub use server::{DEFAULT_MAX_BATCH, LinkServer, MAX_BATCH_BYTES, short_code};
pub use tls::{TlsError, load_ca, load_identity}; // NEW(lesson 16)
pub use validate::{MAX_URL_LEN, UrlError, validate_url};

use std::future::Future;

use pb::link_service_server::LinkServiceServer;
use tokio::net::TcpListener;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Identity; // NEW(lesson 16)
use tonic::transport::server::TcpIncoming;

/// Where the server listens, and the client connects, unless told otherwise.
pub const DEFAULT_ADDR: &str = "127.0.0.1:50051";

/// The largest request message the server decodes, in bytes. The largest valid one is a
/// CreateLink with a 2,048-byte URL; anything much bigger is refused before it is read whole.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// How the server runs, beyond the service itself.
// NEW(lesson 16): logs go through `tracing`, so the default `CallLog` tells nobody; `tls` is new.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// The key every LinkService call must carry, or `None` for an open server.
    pub api_key: Option<String>,
    // NEW(lesson 16): the log itself is `tracing`'s now; `log` is who else hears of each call.
    /// Who else hears of every call (the tests); nobody by default.
    pub log: CallLog,
    /// NEW(lesson 16): the server's certificate chain and private key. With them the server
    /// speaks TLS only; without, plaintext only.
    pub tls: Option<Identity>,
}

/// Serves `LinkService` on `listener` until the returned future is dropped.
// NEW(lesson 16): the servers end with a `ServeError`, which reflection adds to.
pub async fn serve(listener: TcpListener) -> Result<(), ServeError> {
    serve_with(listener, LinkServer::default()).await
}

// NEW(lesson 16): the log is tracing's, wherever its subscriber writes.
/// Serves `server` on `listener`, open: tests use it to start a server
/// whose short codes they choose (`LinkServer::with_codes`).
pub async fn serve_with(listener: TcpListener, server: LinkServer) -> Result<(), ServeError> {
    // NEW(lesson 16): every `serve` function ends with a `ServeError`; see `serve_until`.
    serve_with_settings(listener, server, Settings::default()).await
}

/// Serves `server` on `listener` with `settings`: an API key in front of LinkService, and a
/// layer around everything that logs each call and gives it a request id.
pub async fn serve_with_settings(
    listener: TcpListener,
    server: LinkServer,
    settings: Settings,
) -> Result<(), ServeError> {
    // NEW(lesson 16): ServeError.
    serve_until(listener, server, settings, std::future::pending()).await
}

/// Serves until `shutdown` completes, then stops accepting connections and returns once the
/// calls in flight have ended. The caller decides how long to wait for them.
///
/// NEW(lesson 16): besides LinkService, the server answers `grpc.health.v1.Health` (SERVING, then NOT_SERVING
/// from the moment `shutdown` completes) and server reflection, v1 and v1alpha, so that grpcurl,
/// grpc_health_probe and any language's tools can find their way without a `.proto` file.
pub async fn serve_until(
    listener: TcpListener,
    server: LinkServer,
    settings: Settings,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    // NEW(lesson 16): a `ServeError`, for reflection can fail to start too.
    // Every accepted socket gets TCP_NODELAY. Without it, Nagle's algorithm holds a small
    // response back until the client's delayed ACK arrives (about 40 ms on Linux), and
    // `serve_with_incoming` does not apply the builder's own `tcp_nodelay` setting.
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    // A request message bigger than the limit gets OUT_OF_RANGE, and the server goes on.
    // TODO(lesson 16): Exercise 4. Gzip, both ways, for the clients that ask for it.
    let service = LinkServiceServer::new(server).max_decoding_message_size(MAX_REQUEST_BYTES);
    // The key guards LinkService only: it is an interceptor on that one service, not a layer
    // of the whole server, so services added later (health, reflection) stay open.
    let link_service = InterceptedService::new(service, ApiKey::new(settings.api_key));

    // TODO(lesson 16): Exercise 1. A health service with LinkService SERVING; when `shutdown`
    // completes, NOT_SERVING for LinkService and for "" (the whole server), before the
    // server stops.
    // TODO(lesson 16): Exercise 2. Reflection, v1 and v1alpha, from `pb::FILE_DESCRIPTOR_SET`
    // and the health service's own descriptors.
    // TODO(lesson 16): Exercise 3. With `settings.tls`, the server speaks TLS only.
    tonic::transport::Server::builder()
        .layer(RequestLogLayer::new(settings.log))
        .layer(StreamResetLayer)
        .add_service(link_service)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await?; // NEW(lesson 16): a transport error becomes a ServeError
    Ok(())
}

/// Why the server could not start or went down.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Transport(#[from] tonic::transport::Error),
    #[error("the reflection service cannot read the descriptors: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
}
