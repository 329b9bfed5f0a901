//! A TCP relay between the client and a replica that fails the way networks fail:
//! [`Relay::reset`] closes the connections it carries (the client sees them break, as when a
//! server process dies), and [`Relay::stall`] stops carrying bytes without closing anything
//! (the client sees silence, as when a machine loses power or a network partition drops
//! every packet: no FIN, no RST).
//!
//! `shortener_proto::testing::Relay` can only cut, and its cut also closes its port; this one
//! keeps accepting after a reset, so that a retry can come back through it.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::{JoinHandle, JoinSet};

use super::replica::LIMIT;

pub struct Relay {
    addr: SocketAddr,
    accept: JoinHandle<()>,
    connections: Arc<Mutex<JoinSet<()>>>,
    stalled: watch::Sender<bool>,
    client_closed: mpsc::UnboundedReceiver<()>,
}

impl Relay {
    /// Listens on a free loopback port and relays every connection to `target`.
    pub async fn start(target: SocketAddr) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free port on 127.0.0.1");
        let addr = listener.local_addr().expect("the relay's address");
        let connections = Arc::new(Mutex::new(JoinSet::new()));
        let (stalled, stalled_rx) = watch::channel(false);
        let (closed_tx, client_closed) = mpsc::unbounded_channel();
        let accept = tokio::spawn({
            let connections = connections.clone();
            async move {
                while let Ok((inbound, _)) = listener.accept().await {
                    let stalled = stalled_rx.clone();
                    let closed = closed_tx.clone();
                    let mut connections = connections.lock().expect("the relay's connections");
                    while connections.try_join_next().is_some() {}
                    connections.spawn(relay(inbound, target, stalled, closed));
                }
            }
        });
        Relay {
            addr,
            accept,
            connections,
            stalled,
            client_closed,
        }
    }

    /// `http://127.0.0.1:<port>` of the relay.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Closes every connection it carries now; new ones are carried as before.
    pub fn reset(&self) {
        self.connections
            .lock()
            .expect("the relay's connections")
            .abort_all();
    }

    /// From now on, every byte either side sends is dropped, and nothing is closed: a
    /// connection, open or new, goes silent.
    pub fn stall(&self) {
        self.stalled.send_replace(true);
    }

    /// Waits until the client closes a connection it made through the relay.
    pub async fn client_closed(&mut self, why: &str) {
        tokio::time::timeout(LIMIT, self.client_closed.recv())
            .await
            .unwrap_or_else(|_| panic!("{why}"))
            .expect("the relay is running");
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.accept.abort();
        self.reset();
    }
}

async fn relay(
    inbound: TcpStream,
    target: SocketAddr,
    stalled: watch::Receiver<bool>,
    client_closed: mpsc::UnboundedSender<()>,
) {
    let Ok(outbound) = TcpStream::connect(target).await else {
        return; // the replica is gone: the client sees its connection close
    };
    let _ = inbound.set_nodelay(true);
    let _ = outbound.set_nodelay(true);
    let (client_reads, client_writes) = inbound.into_split();
    let (server_reads, server_writes) = outbound.into_split();
    let up = async {
        pump(client_reads, server_writes, stalled.clone()).await;
        let _ = client_closed.send(());
    };
    let down = pump(server_reads, client_writes, stalled.clone());
    tokio::join!(up, down);
}

/// Copies `from` to `to` until `from` ends, dropping what it reads while stalled; then closes
/// `to`'s writing side, unless stalled (silence closes nothing).
async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, stalled: watch::Receiver<bool>) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        if *stalled.borrow() {
            continue;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            break;
        }
    }
    if !*stalled.borrow() {
        let _ = to.shutdown().await;
    }
}

/// A TCP load balancer (layer 4): each new connection goes to the next target in turn, as a
/// Kubernetes Service or a TCP proxy would send it. What it balances is connections.
pub struct RoundRobin {
    addr: SocketAddr,
    accept: JoinHandle<()>,
}

impl RoundRobin {
    pub async fn start(targets: Vec<SocketAddr>) -> RoundRobin {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free port on 127.0.0.1");
        let addr = listener.local_addr().expect("the balancer's address");
        let accept = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            let mut next = 0;
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = targets[next % targets.len()];
                next += 1;
                while connections.try_join_next().is_some() {}
                connections.spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        RoundRobin { addr, accept }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for RoundRobin {
    fn drop(&mut self) {
        self.accept.abort();
    }
}
