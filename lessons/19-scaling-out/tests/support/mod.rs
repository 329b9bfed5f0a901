//! The fixtures of lesson 14, given: a server on a free port that stops when dropped, a server
//! in memory, and a time limit for every wait. `tests/service.rs` and `tests/lesson.rs` both
//! use them (`mod support;`). Please don't edit this file: `cargo quiz check 14` relies on it.

#![allow(dead_code)] // each test file uses some of the fixtures, not all

use std::future::Future;
use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Endpoint, Server, Uri};

use lesson_19::pb::link_service_client::LinkServiceClient;
use lesson_19::pb::link_service_server::{LinkService, LinkServiceServer};
use lesson_19::{ApiKey, CallLog, LinkServer, Settings, serve};

/// How long any one wait of a test may take before the test fails instead of hanging.
pub const LIMIT: Duration = Duration::from_secs(5);

/// Awaits `future`, or fails the test after [`LIMIT`] with `what`: the thing it waited for.
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(LIMIT, future).await {
        Ok(value) => value,
        Err(_) => panic!("{what}: nothing happened within {} s", LIMIT.as_secs()),
    }
}

/// A log that writes nowhere: tests don't need the server's log lines.
pub fn quiet() -> CallLog {
    CallLog::new(|_| {})
}

/// A server on a free port of 127.0.0.1, in this process. Dropping it stops the server and
/// closes every connection it accepted.
pub struct TestServer {
    addr: SocketAddr,
    /// Dropped to stop the server.
    stop: Option<oneshot::Sender<()>>,
    /// Says the server's runtime is gone.
    stopped: mpsc::Receiver<()>,
}

impl TestServer {
    /// The real service, open (no API key).
    pub async fn start(server: LinkServer) -> TestServer {
        TestServer::with_key(server, None).await
    }

    /// The real service, with every layer of the binary, asking for `key` when there is one.
    pub async fn with_key(server: LinkServer, key: Option<&str>) -> TestServer {
        let settings = Settings {
            api_key: ApiKey::new(key.map(str::to_string)),
            log: quiet(),
            ..Settings::default()
        };
        TestServer::run(move |listener| serve(listener, server, settings, std::future::pending()))
    }

    /// Any implementation of `LinkService` (a fake), served bare.
    pub async fn fake(service: impl LinkService) -> TestServer {
        TestServer::run(move |listener| {
            let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
            Server::builder()
                .add_service(LinkServiceServer::new(service))
                .serve_with_incoming(incoming)
        })
    }

    /// Binds a free port and runs `serve` on it, on a runtime of its own, on a thread of its
    /// own. tonic serves each connection on a task it spawns: ending the task that accepts would
    /// only refuse new connections. Dropping the runtime drops every task on it, each
    /// connection's included.
    fn run<F, Fut, E>(serve: F) -> TestServer
    where
        F: FnOnce(TcpListener) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), E>>,
        E: std::fmt::Debug,
    {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        let addr = listener.local_addr().expect("the listener's address");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let (stop, stop_asked) = oneshot::channel::<()>();
        let (done, stopped) = mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the test server");
            runtime.block_on(async move {
                let listener = TcpListener::from_std(listener).expect("the listener");
                tokio::select! {
                    result = serve(listener) => result.expect("the test server stopped with an error"),
                    _ = stop_asked => {}
                }
            });
            runtime.shutdown_timeout(LIMIT);
            let _ = done.send(());
        });
        TestServer {
            addr,
            stop: Some(stop),
            stopped,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A client of the server, connected.
    pub async fn client(&self) -> LinkServiceClient<Channel> {
        let url = format!("http://{}", self.addr);
        within(
            "connect to the test server",
            LinkServiceClient::connect(url),
        )
        .await
        .expect("connect to the test server")
    }
}

impl Drop for TestServer {
    /// Stops the server and waits (at most [`LIMIT`]) until its runtime is gone: the port is
    /// closed, and so is every connection the server accepted.
    fn drop(&mut self) {
        drop(self.stop.take());
        let waited = self.stopped.recv_timeout(LIMIT);
        if waited == Err(mpsc::RecvTimeoutError::Timeout) && !std::thread::panicking() {
            panic!("the test server did not stop within {} s", LIMIT.as_secs());
        }
    }
}

/// The real service (behind the API key check when `key` is set), served over an in-memory
/// pipe: no port, no socket. The client's channel has one connection, made once.
pub async fn in_memory(server: LinkServer, key: Option<&str>) -> LinkServiceClient<Channel> {
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let service = InterceptedService::new(
        LinkServiceServer::new(server),
        ApiKey::new(key.map(str::to_string)),
    );
    tokio::spawn(async move {
        // One connection, then the stream of connections ends: the server serves just it.
        let incoming = tokio_stream::once(Ok::<_, std::io::Error>(server_io));
        Server::builder()
            .add_service(service)
            .serve_with_incoming(incoming)
            .await
            .expect("the in-memory server stopped with an error");
    });
    // The connector is called for every new connection: hand out the one pipe end, once.
    let mut client_io = Some(client_io);
    let channel = Endpoint::try_from("http://in-memory.test")
        .expect("a valid URI")
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let io = client_io.take();
            async move {
                io.map(TokioIo::new)
                    .ok_or_else(|| std::io::Error::other("the in-memory pipe is used already"))
            }
        }))
        .await
        .expect("connect over the in-memory pipe");
    LinkServiceClient::new(channel)
}
