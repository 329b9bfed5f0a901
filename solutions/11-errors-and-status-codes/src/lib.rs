//! The link shortener: a gRPC service that turns long URLs into six-character short codes.
//!
//! The service lives here, in the library, so that the server binary stays a few lines long and
//! tests can start the real service on a free port of their own.

/// The code that `build.rs` generated from `proto/link.proto`: messages, server trait, client.
pub mod pb {
    tonic::include_proto!("shortener");
}

pub mod client;
mod error;
mod server;
mod validate;

pub use error::ShortenerError;
pub use server::{DEFAULT_MAX_BATCH, LinkServer, short_code};
pub use validate::{MAX_URL_LEN, UrlError, validate_url};

use pb::link_service_server::LinkServiceServer;
use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;

/// Where the server listens, and the client connects, unless told otherwise.
pub const DEFAULT_ADDR: &str = "127.0.0.1:50051";

/// Serves `LinkService` on `listener` until the returned future is dropped.
pub async fn serve(listener: TcpListener) -> Result<(), tonic::transport::Error> {
    serve_with(listener, LinkServer::default()).await
}

/// Serves `server` on `listener`: tests use it to start a server whose short codes they choose
/// (`LinkServer::with_codes`).
pub async fn serve_with(
    listener: TcpListener,
    server: LinkServer,
) -> Result<(), tonic::transport::Error> {
    // Every accepted socket gets TCP_NODELAY. Without it, Nagle's algorithm holds a small
    // response back until the client's delayed ACK arrives (about 40 ms on Linux), and
    // `serve_with_incoming` does not apply the builder's own `tcp_nodelay` setting.
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    tonic::transport::Server::builder()
        .add_service(LinkServiceServer::new(server))
        .serve_with_incoming(incoming)
        .await
}
