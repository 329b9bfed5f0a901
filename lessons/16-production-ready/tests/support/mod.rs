//! The fixtures of lesson 14, given: a server on a free port that stops when dropped, a server
//! in memory, and a time limit for every wait. `tests/service.rs` and `tests/lesson.rs` both
//! use them (`mod support;`). Please don't edit this file: `cargo quiz check 14` relies on it.

#![allow(dead_code)] // each test file uses some of the fixtures, not all

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Endpoint, Server, Uri};

use lesson_16::pb::link_service_client::LinkServiceClient;
use lesson_16::pb::link_service_server::{LinkService, LinkServiceServer};
use lesson_16::{ApiKey, CallLog, LinkServer, Settings, serve_with_settings};

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

/// A server on a free port of 127.0.0.1, in this process. Dropping it stops the server.
pub struct TestServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl TestServer {
    /// The real service, open (no API key).
    pub async fn start(server: LinkServer) -> TestServer {
        TestServer::with_key(server, None).await
    }

    /// The real service, with every layer of the binary, asking for `key` when there is one.
    pub async fn with_key(server: LinkServer, key: Option<&str>) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free port");
        let addr = listener.local_addr().expect("the listener's address");
        let settings = Settings {
            api_key: key.map(str::to_string),
            log: quiet(),
            ..Settings::default()
        };
        let task = tokio::spawn(async move {
            serve_with_settings(listener, server, settings)
                .await
                .expect("the test server stopped with an error");
        });
        TestServer { addr, task }
    }

    /// Any implementation of `LinkService` (a fake), served bare.
    pub async fn fake(service: impl LinkService) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free port");
        let addr = listener.local_addr().expect("the listener's address");
        let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
        let task = tokio::spawn(async move {
            Server::builder()
                .add_service(LinkServiceServer::new(service))
                .serve_with_incoming(incoming)
                .await
                .expect("the fake server stopped with an error");
        });
        TestServer { addr, task }
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
    /// Stops the server: the task ends, the listener closes, the port is free again.
    fn drop(&mut self) {
        self.task.abort();
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
