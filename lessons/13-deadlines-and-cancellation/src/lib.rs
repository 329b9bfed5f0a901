//! The link shortener: a gRPC service that turns long URLs into six-character short codes.
//!
//! The service lives here, in the library, so that the server binary stays a few lines long and
//! tests can start the real service on a free port of their own.

/// The code that `build.rs` generated from `proto/link.proto`: messages, server trait, client.
pub mod pb {
    tonic::include_proto!("shortener");
}

mod auth;
mod cancel; // NEW(lesson 13): src/cancel.rs, the layer that sees a reset (given).
pub mod client;
mod deadline; // NEW(lesson 13): src/deadline.rs, a call's deadline (Exercise 1).
mod error;
mod log;
mod server;
mod validate;

pub use auth::{AUTHORIZATION, ApiKey, BEARER, constant_time_eq};
// NEW(lesson 13): given; the tests use these names.
pub use cancel::{StreamReset, StreamResetLayer};
pub use deadline::{GRPC_TIMEOUT, deadline, expired, time_left};
pub use error::ShortenerError;
pub use log::{CallLog, CallRecord, MAX_REQUEST_ID_LEN, REQUEST_ID, RequestLogLayer, request_id};
pub use server::{DEFAULT_MAX_BATCH, LinkServer, MAX_BATCH_BYTES, short_code}; // NEW(lesson 13)
pub use validate::{MAX_URL_LEN, UrlError, validate_url};

// NEW(lesson 13): given.
use std::future::Future;

use pb::link_service_server::LinkServiceServer;
use tokio::net::TcpListener;
use tonic::service::interceptor::InterceptedService; // NEW(lesson 13)
use tonic::transport::server::TcpIncoming;

/// Where the server listens, and the client connects, unless told otherwise.
pub const DEFAULT_ADDR: &str = "127.0.0.1:50051";

// NEW(lesson 13): given: the limit; Exercise 3 sets it on the service.
/// The largest request message the server decodes, in bytes. The largest valid one is a
/// CreateLink with a 2,048-byte URL; anything much bigger is refused before it is read whole.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// How the server runs, beyond the service itself. `Settings::default()` is an open server
/// that logs to stderr; set the fields that differ.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The key every LinkService call must carry; `ApiKey::default()` is an open server.
    pub api_key: ApiKey,
    /// Where the log of calls goes.
    pub log: CallLog,
}

impl Default for Settings {
    /// An open server that logs to stderr.
    fn default() -> Settings {
        Settings {
            api_key: ApiKey::default(),
            log: CallLog::stderr(),
        }
    }
}

// NEW(lesson 13): given: the worked example of "Learn: shutting down gracefully", but for the
// TODO inside. `serve` takes a fourth argument, the future whose end starts the shutdown.
/// Serves `links` on `listener` with `settings` until `shutdown` completes, then stops
/// accepting connections and returns once the calls in flight have ended; the caller decides
/// how long to wait for them. A server that runs until it is dropped gets
/// `std::future::pending()`. The binary and the tests all start the server here.
pub async fn serve(
    listener: TcpListener,
    links: LinkServer,
    settings: Settings,
    shutdown: impl Future<Output = ()>, // NEW(lesson 13)
) -> Result<(), tonic::transport::Error> {
    // Every accepted socket gets TCP_NODELAY. Without it, Nagle's algorithm holds a small
    // response back until the client's delayed ACK arrives (about 40 ms on Linux), and
    // `serve_with_incoming` does not apply the builder's own `tcp_nodelay` setting.
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    // TODO(lesson 13): Exercise 3: a request message bigger than MAX_REQUEST_BYTES must be
    // refused (with OUT_OF_RANGE), and the server go on; set the limit on the service.
    let service = LinkServiceServer::new(links);
    // The key guards LinkService only: it is an interceptor on that one service, not a layer
    // of the whole server, so services added later (health, reflection) stay open.
    let link_service = InterceptedService::new(service, settings.api_key); // NEW(lesson 13)
    tonic::transport::Server::builder()
        .layer(RequestLogLayer::new(settings.log))
        .layer(StreamResetLayer) // NEW(lesson 13): the flag `batch_create_links` reads
        .add_service(link_service)
        .serve_with_incoming_shutdown(incoming, shutdown) // NEW(lesson 13)
        .await
}
