//! What streaming buys: 10,000 links by 10,000 unary calls against one client stream, and how
//! many SyncClicks messages one bidirectional stream carries per second.
//!
//! Run it with `cargo bench -p solution-10`. The server runs in this process, on a free port
//! of 127.0.0.1, so every message crosses a real HTTP/2 connection.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use solution_10::pb::{CreateLinkRequest, SyncRequest};
use solution_10::{client, serve};
use tokio::net::TcpListener;
use tokio::runtime::Runtime;

const LINKS: usize = 10_000;

fn requests() -> impl Iterator<Item = CreateLinkRequest> {
    (0..LINKS).map(|i| CreateLinkRequest {
        url: format!("https://example.com/page/{i}"),
    })
}

fn streaming(c: &mut Criterion) {
    let runtime = Runtime::new().expect("a tokio runtime");
    let (server, mut client) = runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local address");
        let server = tokio::spawn(serve(listener));
        let client = client::connect(&addr.to_string(), std::time::Duration::from_secs(60))
            .await
            .expect("connect");
        (server, client)
    });

    let mut create = c.benchmark_group("create 10,000 links");
    create
        .sample_size(10)
        .throughput(Throughput::Elements(LINKS as u64));
    create.bench_function("10,000 unary CreateLink calls", |b| {
        b.iter(|| {
            runtime.block_on(async {
                for request in requests() {
                    client.create_link(request).await.expect("CreateLink");
                }
            })
        })
    });
    create.bench_function("one BatchCreateLinks stream", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let response = client
                    .batch_create_links(tokio_stream::iter(requests()))
                    .await
                    .expect("BatchCreateLinks");
                assert_eq!(response.into_inner().created_count, LINKS as i64);
            })
        })
    });
    create.finish();

    let code = runtime.block_on(async {
        let response = client
            .batch_create_links(tokio_stream::iter(requests().take(1)))
            .await
            .expect("BatchCreateLinks");
        response.into_inner().links[0].short_code.clone()
    });
    let mut sync = c.benchmark_group("SyncClicks");
    sync.sample_size(10)
        .throughput(Throughput::Elements(LINKS as u64));
    sync.bench_function("10,000 messages on one stream", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let short_code = code.clone();
                let updates = (0..LINKS).map(move |_| SyncRequest {
                    short_code: short_code.clone(),
                    clicks: 1,
                });
                let mut answers = client
                    .sync_clicks(tokio_stream::iter(updates))
                    .await
                    .expect("SyncClicks")
                    .into_inner();
                let mut count = 0;
                while answers.message().await.expect("an answer").is_some() {
                    count += 1;
                }
                assert_eq!(count, LINKS);
            })
        })
    });
    sync.finish();

    server.abort();
}

criterion_group!(benches, streaming);
criterion_main!(benches);
