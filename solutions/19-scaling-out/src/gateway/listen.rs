//! NEW(lesson 16): accepting connections. `axum::serve` has no setting for a header timeout and
//! waits for its connections without limit at shutdown, so the gateway runs hyper itself: HTTP/1
//! with a timer, and a shutdown that waits for the requests in flight no longer than the grace
//! period.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::Settings;

/// Serves `app` on `listener` until `shutdown` completes; then stops accepting, lets each
/// connection finish its request in flight, and cuts those still open after `settings.grace`.
/// Returns how many it cut.
pub(super) async fn run(
    listener: TcpListener,
    app: Router,
    settings: &Settings,
    shutdown: impl Future<Output = ()>,
) -> usize {
    let (closing, closed) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((socket, _peer)) => {
                    connections.spawn(connection(
                        socket,
                        app.clone(),
                        settings.header_read_timeout,
                        closed.clone(),
                    ));
                }
                // Out of file descriptors, or a connection reset before it was accepted: the
                // listener is fine. A pause keeps an error that repeats from spinning the loop.
                Err(error) => {
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            // Reap the connections that ended, so that the set holds the open ones only.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    let _ = closing.send(true);
    let drained = tokio::time::timeout(settings.grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_ok() {
        return 0;
    }
    let cut = connections.len();
    connections.shutdown().await;
    cut
}

/// One connection: HTTP/1.1 with keep-alive, a limit on the time to read a request's headers,
/// and a graceful end when `closed` says so (the request in flight finishes, then it closes).
async fn connection(
    socket: TcpStream,
    app: Router,
    header_read_timeout: Duration,
    mut closed: watch::Receiver<bool>,
) {
    // Small answers go out at once rather than after the peer's delayed ACK.
    let _ = socket.set_nodelay(true);
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let serving = builder.serve_connection(TokioIo::new(socket), TowerToHyperService::new(app));
    tokio::pin!(serving);
    tokio::select! {
        result = serving.as_mut() => {
            if let Err(error) = result {
                tracing::debug!(%error, "connection ended with an error");
            }
            return;
        }
        _ = closed.wait_for(|closing| *closing) => {}
    }
    serving.as_mut().graceful_shutdown();
    let _ = serving.await;
}
