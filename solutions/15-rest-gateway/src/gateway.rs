//! The REST gateway: JSON over HTTP/1.1 in front of the gRPC server, the way grpc-gateway does it
//! in Go. One concept a file:
//!
//! - [`upstream`]: how the gateway calls the server: its clients, the caller's key, the deadline;
//! - [`status`]: the table from a gRPC code to an HTTP status;
//! - [`error`]: an error as the gateway answers it, in JSON;
//! - [`routes`]: the HTTP routes, each one gRPC call and two translations;
//! - [`clicks`]: the clicks counted in memory and not yet sent;
//! - [`flusher`]: the task that sends them over one long-lived SyncClicks stream.
//!
//! This file wires them together: [`serve`] runs the routes and the flusher side by side.

mod clicks;
mod error;
mod flusher;
mod routes;
mod status;
mod upstream;

pub use clicks::Clicks;
pub use error::ApiError;
pub use flusher::sync_clicks;
pub use routes::{Gateway, router};
pub use status::http_status;
pub use upstream::{Clients, GrpcClient, connect};

use std::future::Future;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// Where the gateway listens for HTTP unless told otherwise.
pub const DEFAULT_GATEWAY_ADDR: &str = "127.0.0.1:8080";
/// The gRPC server the gateway talks to unless told otherwise.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:50051";
/// The deadline of every call the gateway makes, the answer's stream included.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest a counted click waits before it is sent.
pub const FLUSH_EVERY: Duration = Duration::from_millis(200);
/// As many clicks as this waiting starts a flush at once.
pub const FLUSH_AT: i64 = 100;

/// Serves the gateway on `listener`, calling the server through `clients`, until `shutdown`
/// completes; then sends the clicks still counted and returns how many it could not send.
pub async fn serve(
    listener: TcpListener,
    clients: Clients,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<i64> {
    serve_with(listener, clients, FLUSH_EVERY, shutdown).await
}

/// [`serve`], flushing every `every` (tests use a long one to see the flush at shutdown).
pub async fn serve_with(
    listener: TcpListener,
    clients: Clients,
    every: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<i64> {
    let clicks = Clicks::default();
    let (stop, stopped) = oneshot::channel::<()>();
    // The flusher sends with the gateway's own key: the clicks are the gateway's to report.
    let syncing = tokio::spawn(sync_clicks(
        clients.own.clone(),
        clicks.clone(),
        every,
        async move {
            let _ = stopped.await;
        },
    ));
    let app = router(Gateway::new(clients, clicks));
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    // No request is in flight any more, so no click can be counted after this flush.
    let _ = stop.send(());
    Ok(syncing.await.unwrap_or(-1))
}
