//! The link shortener: a gRPC service that turns long URLs into six-character short codes.
//!
//! The service lives here, in the library, so that the server binary stays a few lines long and
//! tests can start the real service on a free port of their own.

/// The code that `build.rs` generated from `proto/link.proto`: messages, server trait, client.
pub mod pb {
    tonic::include_proto!("shortener");
    // NEW(lesson 15): the proto3 JSON mapping of every message, written by pbjson-build.
    include!(concat!(env!("OUT_DIR"), "/shortener.serde.rs"));
}

mod auth;
mod cancel;
pub mod client;
mod deadline;
mod error;
pub mod gateway;
mod log;
mod server;
mod validate;

pub use auth::{AUTHORIZATION, ApiKey, BEARER, constant_time_eq};
pub use cancel::{StreamReset, StreamResetLayer};
pub use deadline::{GRPC_TIMEOUT, deadline, expired, time_left};
pub use error::ShortenerError;
pub use log::{CallLog, CallRecord, MAX_REQUEST_ID_LEN, REQUEST_ID, RequestLogLayer, request_id};
pub use server::{DEFAULT_MAX_BATCH, LinkServer, MAX_BATCH_BYTES, short_code};
pub use validate::{MAX_URL_LEN, UrlError, validate_url};

use std::future::Future;

use pb::link_service_server::LinkServiceServer;
use tokio::net::TcpListener;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::server::TcpIncoming;

/// Where the server listens, and the client connects, unless told otherwise.
pub const DEFAULT_ADDR: &str = "127.0.0.1:50051";

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

/// Serves `links` on `listener` with `settings` until `shutdown` completes, then stops
/// accepting connections and returns once the calls in flight have ended; the caller decides
/// how long to wait for them. A server that runs until it is dropped gets
/// `std::future::pending()`. The binary and the tests all start the server here.
pub async fn serve(
    listener: TcpListener,
    links: LinkServer,
    settings: Settings,
    shutdown: impl Future<Output = ()>,
) -> Result<(), tonic::transport::Error> {
    // Every accepted socket gets TCP_NODELAY. Without it, Nagle's algorithm holds a small
    // response back until the client's delayed ACK arrives (about 40 ms on Linux), and
    // `serve_with_incoming` does not apply the builder's own `tcp_nodelay` setting.
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    // A request message whose length is over the limit gets OUT_OF_RANGE, and the server goes
    // on.
    let service = LinkServiceServer::new(links).max_decoding_message_size(MAX_REQUEST_BYTES);
    // The key guards LinkService only: it is an interceptor on that one service, not a layer
    // of the whole server, so services added later (health, reflection) stay open.
    let link_service = InterceptedService::new(service, settings.api_key);
    tonic::transport::Server::builder()
        .layer(RequestLogLayer::new(settings.log))
        .layer(StreamResetLayer)
        .add_service(link_service)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
}
