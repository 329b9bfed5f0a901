//! The link shortener: a gRPC service that turns long URLs into six-character short codes.
//!
//! The service lives here, in the library, so that the server binary stays a few lines long and
//! tests can start the real service on a free port of their own.
//! NEW(lesson 06): the file is given up to `serve`, at the end: that one is yours.

// NEW(lesson 06): one package again (`shortener`), so one module.
/// The code that `build.rs` generated from `proto/link.proto`: messages, server trait, client.
pub mod pb {
    tonic::include_proto!("shortener");
}
// NEW(lesson 06): lesson 05's modules and functions are gone.

mod server; // NEW(lesson 06): src/server.rs, where the service is written (Exercise 2).

pub use server::LinkServer; // NEW(lesson 06): what `serve` will put behind the server.

// TODO(lesson 06): Exercise 1: import the server wrapper that build.rs generated, from `pb`.
use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming; // NEW(lesson 06): given, for TCP_NODELAY below.

// NEW(lesson 06): given: the server binary's default address.
/// Where the server listens, and the client connects, unless told otherwise.
pub const DEFAULT_ADDR: &str = "127.0.0.1:50051";

/// Serves `LinkService` on `listener` until the returned future is dropped.
pub async fn serve(listener: TcpListener) -> Result<(), tonic::transport::Error> {
    // TODO(lesson 06): Exercise 1: this server has no service at all, so tonic answers every
    // call with UNIMPLEMENTED and an empty message. Mount a LinkServer here, in the generated
    // wrapper, in place of the empty routes.
    // Every accepted socket gets TCP_NODELAY. Without it, Nagle's algorithm holds a small
    // response back until the client's delayed ACK arrives (about 40 ms on Linux), and
    // `serve_with_incoming` does not apply the builder's own `tcp_nodelay` setting.
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    tonic::transport::Server::builder()
        .add_routes(tonic::service::Routes::default())
        .serve_with_incoming(incoming)
        .await
}
