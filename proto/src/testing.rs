//! A server on a free loopback port for the length of one test.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tonic::transport::{Channel, Endpoint};

use crate::link_service_client::LinkServiceClient;

/// A server running in this process on `127.0.0.1:<free port>`. Dropping it stops the server.
#[derive(Debug)]
pub struct TestServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl TestServer {
    /// Binds `127.0.0.1:0` and runs `serve` on that listener in a task of its own.
    pub async fn start<F, Fut, E>(serve: F) -> Self
    where
        F: FnOnce(TcpListener) -> Fut,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: std::fmt::Debug + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free port on 127.0.0.1");
        let addr = listener.local_addr().expect("the listener's address");
        let server = serve(listener);
        let task = tokio::spawn(async move {
            if let Err(error) = server.await {
                panic!("the server stopped with an error: {error:?}");
            }
        });
        TestServer { addr, task }
    }

    /// Where the server listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`, the form a tonic `Endpoint` takes.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A new connection to the server, through the contract's client.
    pub async fn client(&self) -> LinkServiceClient<Channel> {
        let channel = Endpoint::from_shared(self.url())
            .expect("a valid URL")
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
            .expect("connect to the test server");
        LinkServiceClient::new(channel)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A TCP relay between a client and a server that a test can cut, as when the client's process
/// dies or its network goes: the server sees the connection break mid-call.
#[derive(Debug)]
pub struct Relay {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Relay {
    /// Listens on a free loopback port and relays every connection to `target`.
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free port on 127.0.0.1");
        let addr = listener.local_addr().expect("the relay's address");
        let task = tokio::spawn(async move {
            let mut relays = tokio::task::JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                relays.spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Relay { addr, task }
    }

    /// `http://127.0.0.1:<port>` of the relay.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A new connection to the server, through the relay.
    pub async fn client(&self) -> LinkServiceClient<Channel> {
        let channel = Endpoint::from_shared(self.url())
            .expect("a valid URL")
            .connect()
            .await
            .expect("connect through the relay");
        LinkServiceClient::new(channel)
    }

    /// Drops every relayed connection at once: both sides see their TCP connection close.
    pub fn cut(self) {
        self.task.abort();
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}
