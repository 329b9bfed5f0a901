//! Not a rule of the lesson: the numbers its text quotes. Run them with
//! `cargo test -p solution-15 --release --test measure -- --ignored --nocapture`: the time from a
//! click to its count, and `GET /{code}` through the gateway next to a direct GetLink, each a
//! bounded loop of sequential requests on one loopback connection.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use solution_15::client::BearerKey;
use solution_15::gateway;
use solution_15::pb::link_service_client::LinkServiceClient;
use solution_15::pb::{CreateLinkRequest, GetLinkRequest};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    (listener, addr)
}

/// Sends one request on `stream` (kept alive) and reads the answer's head; the answers measured
/// here have no body.
async fn exchange(stream: &mut TcpStream, request: &str) -> String {
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut got = Vec::new();
    let mut buffer = [0u8; 4096];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buffer).await.expect("read");
        assert!(n > 0, "the gateway closed the connection");
        got.extend_from_slice(&buffer[..n]);
    }
    String::from_utf8_lossy(&got).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "a measurement, not a rule"]
async fn measure() {
    let (grpc, grpc_addr) = listener().await;
    let settings = solution_15::Settings {
        api_key: solution_15::ApiKey::default(),
        log: solution_15::CallLog::new(|_| {}),
    };
    tokio::spawn(solution_15::serve(
        grpc,
        solution_15::LinkServer::default(),
        settings,
        std::future::pending(),
    ));
    let (http, http_addr) = listener().await;
    let client =
        gateway::connect(&format!("http://{grpc_addr}"), BearerKey::default()).expect("url");
    tokio::spawn(gateway::serve(http, client, std::future::pending()));

    let mut direct = LinkServiceClient::connect(format!("http://{grpc_addr}"))
        .await
        .expect("connect");
    let link = direct
        .create_link(CreateLinkRequest {
            url: "https://example.com/m".to_string(),
        })
        .await
        .expect("CreateLink")
        .into_inner()
        .link
        .expect("a link");
    let code = link.short_code;
    let clicks = |mut client: LinkServiceClient<tonic::transport::Channel>, code: String| async move {
        client
            .get_link(GetLinkRequest { short_code: code })
            .await
            .expect("GetLink")
            .into_inner()
            .link
            .expect("a link")
            .clicks
    };

    let mut stream = TcpStream::connect(http_addr).await.expect("connect");
    let request = format!("GET /{code} HTTP/1.1\r\nhost: x\r\n\r\n");
    let mut latencies = Vec::new();
    for round in 1..=20 {
        assert!(
            exchange(&mut stream, &request)
                .await
                .starts_with("HTTP/1.1 302")
        );
        let started = Instant::now();
        while clicks(direct.clone(), code.clone()).await < round {
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "the click never arrived"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        latencies.push(started.elapsed());
        // Click at a random point of the flush interval, not always right after a flush.
        tokio::time::sleep(Duration::from_millis(37 * round as u64 % 200)).await;
    }
    latencies.sort();
    println!(
        "click -> count in GetLink: min {:?}, median {:?}, max {:?} (20 clicks, flush every {:?})",
        latencies[0],
        latencies[10],
        latencies[19],
        gateway::FLUSH_EVERY
    );

    const N: u32 = 5000;
    let started = Instant::now();
    for _ in 0..N {
        assert!(
            exchange(&mut stream, &request)
                .await
                .starts_with("HTTP/1.1 302")
        );
    }
    let gateway_rate = f64::from(N) / started.elapsed().as_secs_f64();
    let started = Instant::now();
    for _ in 0..N {
        clicks(direct.clone(), code.clone()).await;
    }
    let direct_rate = f64::from(N) / started.elapsed().as_secs_f64();
    println!(
        "GET /{{code}} through the gateway: {gateway_rate:.0} requests/s; direct GetLink: {direct_rate:.0} calls/s ({N} sequential requests each, one connection)"
    );
}
