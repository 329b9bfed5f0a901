//! The REST gateway: JSON over HTTP/1.1 in front of the gRPC server, the way grpc-gateway does it
//! in Go. One concept a file:
//!
//! - [`upstream`]: how the gateway calls the server: its clients, the caller's key, the deadline
//!   (NEW(lesson 19): over every replica, retried where that is safe);
//! - [`status`]: the table from a gRPC code to an HTTP status;
//! - [`error`]: an error as the gateway answers it, in JSON;
//! - [`routes`]: the HTTP routes, each one gRPC call and two translations;
//! - [`clicks`]: the clicks counted in memory and not yet sent;
//! - [`flusher`]: the task that sends them over one long-lived SyncClicks stream;
//! - [`listen`]: NEW(lesson 16): the connections, with their timeouts and a bounded shutdown.
//!
//! This file wires them together: [`serve`] runs the routes, behind the request log, and the
//! flusher side by side.

mod clicks;
mod error;
mod flusher;
mod listen;
mod routes;
mod status;
mod upstream;

pub use clicks::Clicks;
pub use error::ApiError;
pub use flusher::sync_clicks;
pub use routes::{DEFAULT_PAGE_SIZE, Gateway, IDEMPOTENCY_KEY_HEADER, MAX_PAGE_SIZE, router}; // NEW(lesson 17): the page sizes
pub use status::http_status;
pub use upstream::{Clients, GrpcClient, connect, connect_with_ca};

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderName, Response, StatusCode};
use axum::middleware::Next;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tower::ServiceBuilder;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::{MAX_REQUEST_ID_LEN, REQUEST_ID};

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
/// NEW(lesson 16): the longest the last flush may take at shutdown, after the grace period.
pub const LAST_FLUSH: Duration = Duration::from_secs(5);

/// NEW(lesson 16): how the gateway runs; [`Settings::default`] is what the binary uses unless
/// told otherwise.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The longest a counted click waits before it is sent.
    pub flush_every: Duration,
    /// The longest a whole request may take, its body included (then 408). Each call to the
    /// server has its own, shorter deadline, [`CALL_TIMEOUT`] (then 504).
    pub request_timeout: Duration,
    /// The longest a connection may take to send a request's headers, and the longest an idle
    /// keep-alive connection stays open. A client that trickles its headers in (slowloris)
    /// holds a connection no longer than this.
    pub header_read_timeout: Duration,
    /// After the shutdown signal: how long the requests in flight may still take. Then they
    /// are cut, and the last clicks are sent (within [`LAST_FLUSH`]).
    pub grace: Duration,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            flush_every: FLUSH_EVERY,
            request_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(10),
            grace: Duration::from_secs(10),
        }
    }
}

/// Serves the gateway on `listener` with the default [`Settings`], calling the server through
/// `clients`, until `shutdown` completes; then sends the clicks still counted and returns how
/// many it could not send.
pub async fn serve(
    listener: TcpListener,
    clients: Clients,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<i64> {
    serve_with(listener, clients, Settings::default(), shutdown).await
}

/// [`serve`], with `settings`.
pub async fn serve_with(
    listener: TcpListener,
    clients: Clients,
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<i64> {
    let clicks = Clicks::default();
    let (stop, stopped) = oneshot::channel::<()>();
    // The flusher sends with the gateway's own key: the clicks are the gateway's to report.
    let syncing = tokio::spawn(sync_clicks(
        // NEW(lesson 19): SyncClicks is never retried: the stream lives on its replica.
        clients.own.unretried(),
        clicks.clone(),
        settings.flush_every,
        async move {
            let _ = stopped.await;
        },
    ));
    let app = logged(
        router(Gateway::new(clients, clicks)),
        settings.request_timeout,
    );
    let cut = listen::run(listener, app, &settings, shutdown).await;
    if cut > 0 {
        tracing::warn!(
            requests = cut,
            grace = ?settings.grace,
            "the grace period is over: requests still in flight were cut"
        );
    }
    // No request is in flight any more, so no click can be counted after this flush.
    let _ = stop.send(());
    Ok(syncing.await.unwrap_or(-1))
}

/// NEW(lesson 16): the routes behind the request log. From the outside in: a request id (the
/// client's when it is usable, else a new one), a span per request that logs its end, a line
/// for a request whose client went away, the id copied to the response, and the request's
/// time limit.
pub fn logged(routes: Router, request_timeout: Duration) -> Router {
    let id = HeaderName::from_static(REQUEST_ID);
    routes.layer(
        ServiceBuilder::new()
            .layer(axum::middleware::map_request(drop_unusable_request_id))
            .layer(SetRequestIdLayer::new(id.clone(), NewRequestId))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(request_span)
                    .on_request(())
                    .on_response(log_response)
                    .on_failure(()),
            )
            .layer(axum::middleware::from_fn(log_cut))
            .layer(PropagateRequestIdLayer::new(id))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                request_timeout,
            )),
    )
}

/// A client's `x-request-id` is kept when it is usable: at most [`MAX_REQUEST_ID_LEN`] visible
/// ASCII characters, the server's own rule. Anything else goes, and a new id takes its place.
async fn drop_unusable_request_id(mut request: Request) -> Request {
    let usable = request.headers().get(REQUEST_ID).is_none_or(|id| {
        let bytes = id.as_bytes();
        !bytes.is_empty()
            && bytes.len() <= MAX_REQUEST_ID_LEN
            && bytes.iter().all(u8::is_ascii_graphic)
    });
    if !usable {
        request.headers_mut().remove(REQUEST_ID);
    }
    request
}

/// New request ids, made as the server makes its own: 16 random hex digits.
#[derive(Debug, Clone, Copy)]
struct NewRequestId;

impl MakeRequestId for NewRequestId {
    fn make_request_id<B>(&mut self, _request: &axum::http::Request<B>) -> Option<RequestId> {
        Some(RequestId::new(crate::request_id(None)))
    }
}

/// The span of one request: what it is, and its id. The status is recorded at the end.
fn request_span<B>(request: &axum::http::Request<B>) -> Span {
    let id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|id| id.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %id,
        status = tracing::field::Empty,
    )
}

/// One line at the end of every request that gets an answer.
fn log_response<B>(response: &Response<B>, took: Duration, span: &Span) {
    span.record("status", response.status().as_u16());
    tracing::info!(took = ?took, "request ended");
}

/// Logs a request that ended without an answer: its client went away, or the grace period of a
/// shutdown ran out. Its future is dropped then, `on_response` never runs, and without this the
/// request would leave no line at all.
async fn log_cut(request: Request, next: Next) -> axum::response::Response {
    let mut unanswered = Unanswered(Some(Span::current()));
    let response = next.run(request).await;
    unanswered.0 = None;
    response
}

/// The span of a request not answered yet: dropped while it still holds one, it logs the cut.
struct Unanswered(Option<Span>);

impl Drop for Unanswered {
    fn drop(&mut self) {
        if let Some(span) = self.0.take() {
            tracing::info!(parent: &span, "request cut before its answer");
        }
    }
}
