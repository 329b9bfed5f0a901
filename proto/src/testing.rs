//! A server on a free loopback port for the length of one test.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::{Channel, Endpoint};

use crate::link_service_client::LinkServiceClient;

/// How long dropping a [`TestServer`] may take before the test fails instead of hanging.
const STOP_LIMIT: Duration = Duration::from_secs(5);

/// A server running in this process on `127.0.0.1:<free port>`. Dropping it stops the server
/// and closes every connection it accepted.
///
/// The server runs on a tokio runtime of its own, on a thread of its own. That is what makes the
/// stop complete: tonic serves each connection on a task it spawns, so ending the task that
/// accepts would only refuse *new* connections, and an open one would go on being served.
/// Dropping the runtime drops every task on it: the accept loop, each connection, and each
/// task a handler spawned.
#[derive(Debug)]
pub struct TestServer {
    addr: SocketAddr,
    /// Sent (or dropped) to stop the server.
    stop: Option<oneshot::Sender<()>>,
    /// Says the server's runtime is gone.
    stopped: mpsc::Receiver<()>,
}

impl TestServer {
    /// Binds `127.0.0.1:0` and runs `serve` on that listener, on a runtime of its own.
    pub async fn start<F, Fut, E>(serve: F) -> Self
    where
        F: FnOnce(TcpListener) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), E>> + 'static,
        E: std::fmt::Debug + 'static,
    {
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port on 127.0.0.1");
        let addr = listener.local_addr().expect("the listener's address");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener, as tokio needs");
        let (stop, stop_asked) = oneshot::channel::<()>();
        let (done, stopped) = mpsc::channel();
        std::thread::Builder::new()
            .name(format!("test-server-{addr}"))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime for the test server");
                runtime.block_on(async move {
                    let listener =
                        TcpListener::from_std(listener).expect("the listener, on this runtime");
                    tokio::select! {
                        result = serve(listener) => if let Err(error) = result {
                            eprintln!("the test server stopped with an error: {error:?}");
                        },
                        _ = stop_asked => {}
                    }
                });
                // Every task of the runtime goes with it, each connection's included.
                runtime.shutdown_timeout(STOP_LIMIT);
                let _ = done.send(());
            })
            .expect("a thread for the test server");
        TestServer {
            addr,
            stop: Some(stop),
            stopped,
        }
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
    /// Stops the server and waits, at most [`STOP_LIMIT`], until its runtime is gone: then the
    /// port is closed and so is every connection the server accepted.
    fn drop(&mut self) {
        drop(self.stop.take());
        let waited = self.stopped.recv_timeout(STOP_LIMIT);
        if let Err(mpsc::RecvTimeoutError::Timeout) = waited
            && !std::thread::panicking()
        {
            panic!(
                "the test server did not stop within {} s of the drop: does a handler block its \
                 thread (std::thread::sleep, a blocking lock held forever)?",
                STOP_LIMIT.as_secs()
            );
        }
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

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// A server shaped like tonic's: a loop that accepts, and a task of its own per connection
    /// (here one that echoes what it reads).
    async fn echo(listener: TcpListener) -> Result<(), std::io::Error> {
        loop {
            let (mut stream, _) = listener.accept().await?;
            tokio::spawn(async move {
                let mut buffer = [0u8; 64];
                while let Ok(read @ 1..) = stream.read(&mut buffer).await {
                    if stream.write_all(&buffer[..read]).await.is_err() {
                        return;
                    }
                }
            });
        }
    }

    #[tokio::test]
    async fn dropping_the_server_closes_the_connections_it_accepted() {
        let server = TestServer::start(echo).await;
        let addr = server.addr();
        let mut open = tokio::net::TcpStream::connect(addr)
            .await
            .expect("connect to the test server");
        open.write_all(b"ping").await.expect("write");
        let mut echoed = [0u8; 4];
        tokio::time::timeout(STOP_LIMIT, open.read_exact(&mut echoed))
            .await
            .expect("the echo within the limit")
            .expect("the echo");
        assert_eq!(&echoed, b"ping");

        drop(server);
        // The connection opened before the drop is closed too, not only the port.
        let mut rest = [0u8; 4];
        let read = tokio::time::timeout(STOP_LIMIT, open.read(&mut rest))
            .await
            .expect("the open connection must be closed when the TestServer is dropped: is it served by a task that outlives the server?");
        assert!(
            matches!(read, Ok(0) | Err(_)),
            "the open connection still answered after the drop: {read:?}"
        );
        assert!(
            tokio::net::TcpStream::connect(addr).await.is_err(),
            "{addr} still accepts connections after the TestServer was dropped"
        );
    }
}
