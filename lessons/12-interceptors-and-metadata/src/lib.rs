//! The link shortener: a gRPC service that turns long URLs into six-character short codes.
//!
//! The service lives here, in the library, so that the server binary stays a few lines long and
//! tests can start the real service on a free port of their own.

/// The code that `build.rs` generated from `proto/link.proto`: messages, server trait, client.
pub mod pb {
    tonic::include_proto!("shortener");
}

mod auth; // NEW(lesson 12): src/auth.rs, the API key (Exercises 2 and 3).
pub mod client;
mod error;
mod log; // NEW(lesson 12): src/log.rs, the layer that logs calls and gives them ids (Exercise 1).
mod server;
mod validate;

// NEW(lesson 12): given; the tests use these names.
pub use auth::{AUTHORIZATION, ApiKey, BEARER, constant_time_eq};
pub use error::ShortenerError;
// NEW(lesson 12): given.
pub use log::{CallLog, CallRecord, MAX_REQUEST_ID_LEN, REQUEST_ID, RequestLogLayer, request_id};
pub use server::{DEFAULT_MAX_BATCH, LinkServer, short_code};
pub use validate::{MAX_URL_LEN, UrlError, validate_url};

use pb::link_service_server::LinkServiceServer;
use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;

/// Where the server listens, and the client connects, unless told otherwise.
pub const DEFAULT_ADDR: &str = "127.0.0.1:50051";

// NEW(lesson 12): given: the settings, and `serve`, the one way the binary and the tests start
// the server: it takes the links and the settings now.
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

// NEW(lesson 12): given, but for the TODO inside.
/// Serves `links` on `listener` with `settings`, until the returned future is dropped: the API
/// key in front of LinkService, and a layer around everything that logs each call and gives
/// it a request id. The binary and the tests all start the server here.
pub async fn serve(
    listener: TcpListener,
    // NEW(lesson 12): what to serve and how. Lesson 11's `serve(listener)` is now
    // `serve(listener, LinkServer::default(), Settings::default())`.
    links: LinkServer,
    settings: Settings,
) -> Result<(), tonic::transport::Error> {
    // Every accepted socket gets TCP_NODELAY. Without it, Nagle's algorithm holds a small
    // response back until the client's delayed ACK arrives (about 40 ms on Linux), and
    // `serve_with_incoming` does not apply the builder's own `tcp_nodelay` setting.
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    // TODO(lesson 12): Exercise 3: when `settings.api_key` is set, every LinkService call must
    // pass the key check (`ApiKey`, src/auth.rs). Guard this one service, not the whole server:
    // health and reflection (lesson 16) will be added next to it and must stay open.
    let link_service = LinkServiceServer::new(links);
    let _ = settings.api_key;
    // NEW(lesson 12): given: the layer around the whole server, which logs every call.
    tonic::transport::Server::builder()
        .layer(RequestLogLayer::new(settings.log)) // NEW(lesson 12)
        .add_service(link_service) // NEW(lesson 12)
        .serve_with_incoming(incoming)
        .await
}
