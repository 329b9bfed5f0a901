//! Not a rule of the lesson: the figures its text quotes about gzip. Run them with
//! `cargo test -p solution-19 --release --test measure -- --ignored --nocapture`.
//!
//! The bytes are counted on the wire, by a relay between client and server that adds up what
//! the server sends: HTTP/2 frames, headers and gRPC's 5-byte prefixes included.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tonic::codec::CompressionEncoding;
use tonic::transport::Endpoint;

use solution_19::pb::link_service_client::LinkServiceClient;
use solution_19::pb::{CreateLinkRequest, ListLinksRequest};
use solution_19::{CallLog, LinkServer, Settings, serve};

const LINKS: usize = 10_000;

/// Listens on a free port and relays every connection to `target`, counting the bytes that
/// come back from it.
async fn counting_relay(target: SocketAddr) -> (SocketAddr, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let counted = Arc::new(AtomicU64::new(0));
    let total = counted.clone();
    tokio::spawn(async move {
        while let Ok((inbound, _)) = listener.accept().await {
            let total = total.clone();
            tokio::spawn(async move {
                let Ok(outbound) = TcpStream::connect(target).await else {
                    return;
                };
                let _ = inbound.set_nodelay(true);
                let _ = outbound.set_nodelay(true);
                let (mut from_client, mut to_client) = inbound.into_split();
                let (mut from_server, mut to_server) = outbound.into_split();
                let up = tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut from_client, &mut to_server).await;
                    let _ = to_server.shutdown().await;
                });
                let mut buffer = vec![0u8; 64 * 1024];
                while let Ok(n) = from_server.read(&mut buffer).await {
                    if n == 0 || to_client.write_all(&buffer[..n]).await.is_err() {
                        break;
                    }
                    total.fetch_add(n as u64, Ordering::Relaxed);
                }
                up.abort();
            });
        }
    });
    (addr, counted)
}

fn url(i: usize) -> String {
    format!("https://example.com/articles/2026/12/how-to-shorten-a-link-part-{i}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a rule: run it with --ignored --nocapture"]
async fn gzip_on_the_wire() {
    let batch: Vec<CreateLinkRequest> = (0..LINKS)
        .map(|i| CreateLinkRequest { url: url(i) })
        .collect();
    println!("{LINKS} links, URLs of {} bytes", url(0).len());
    for gzip in [false, true] {
        // A new server each time, filled by one batch made directly.
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let server_addr = listener.local_addr().expect("address");
        let settings = Settings {
            log: CallLog::new(|_| {}),
            ..Settings::default()
        };
        tokio::spawn(serve(
            listener,
            LinkServer::default(),
            settings,
            std::future::pending(),
        ));
        let setup = Endpoint::from_shared(format!("http://{server_addr}"))
            .expect("URL")
            .connect()
            .await
            .expect("connect");
        LinkServiceClient::new(setup)
            .batch_create_links(tokio_stream::iter(batch.clone()))
            .await
            .expect("a batch to fill the server");

        let (relay, counted) = counting_relay(server_addr).await;
        let channel = Endpoint::from_shared(format!("http://{relay}"))
            .expect("URL")
            .connect()
            .await
            .expect("connect through the relay");
        let mut client = LinkServiceClient::new(channel);
        if gzip {
            client = client
                .accept_compressed(CompressionEncoding::Gzip)
                .send_compressed(CompressionEncoding::Gzip);
        }
        let before = counted.load(Ordering::Relaxed);
        let started = Instant::now();
        let mut stream = client
            .list_links(ListLinksRequest::default())
            .await
            .expect("ListLinks")
            .into_inner();
        let mut received = 0;
        while stream.message().await.expect("a link").is_some() {
            received += 1;
        }
        let list_time = started.elapsed();
        let list_bytes = counted.load(Ordering::Relaxed) - before;
        assert_eq!(received, LINKS);

        // The other shape: the same links in one message, the answer to one batch.
        let before = counted.load(Ordering::Relaxed);
        let started = Instant::now();
        let response = client
            .batch_create_links(tokio_stream::iter(batch.clone()))
            .await
            .expect("a batch")
            .into_inner();
        let batch_time = started.elapsed();
        let batch_bytes = counted.load(Ordering::Relaxed) - before;
        assert_eq!(response.links.len(), LINKS);
        let label = if gzip { "gzip" } else { "plain" };
        println!(
            "{label:>5}: ListLinks {list_bytes} bytes from the server in {list_time:.1?}; \
             BatchCreateLinks' one response {batch_bytes} bytes in {batch_time:.1?}"
        );
    }
}
