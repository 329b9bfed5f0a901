//! The black-box checks of lesson 17 (performance): what a client can see of the costs the lesson
//! removes. ListLinks honours `after_id` and `limit`, and refuses negative ones; a CreateLink is
//! answered while a ListLinks of many links waits on a reader that does not read (a stream that
//! held the store's lock while it waits would hold every other call); the gateway's
//! `GET /v1/links` comes a page at a time, with page tokens. Timings are shown, never judged:
//! the learner's machine is not the course's.
//!
//! The checks start a server of their own (and its gateway), so that the many links they make
//! do not change what the other checks see.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use shortener_proto::link_service_client::LinkServiceClient;
use shortener_proto::{CreateLinkRequest, ListLinksRequest};
use tonic::Code;
use tonic::transport::Channel;

use super::gateway::http;
use super::rpc::{self, shown};
use super::server;
use super::{Failure, Limits, Reporter};

/// Where the lesson's pieces live, for the hints.
const LIST: &str = "Exercise 2, `list_links` in src/server.rs and your stream in src/streams.rs";
const PAGES: &str = "Exercise 5, `list_links` in src/gateway/routes.rs";

/// Links of this many bytes, this many of them: 8 MB, far more than HTTP/2 lets a server send
/// ahead of a reader (a client's stream window is 2 MiB in hyper, and the server buffers 400 KiB
/// more), so a ListLinks of them waits on its reader.
const STALL_URL_LEN: usize = 2_000;
const STALL_LINKS: usize = 4_000;

/// A URL of `len` bytes or a little more, different for every `n`.
fn url(n: usize, len: usize) -> String {
    let mut url = format!("https://example.com/check/{n:06}/");
    while url.len() < len {
        url.push('x');
    }
    url
}

async fn client(addr: SocketAddr, limit: Duration) -> Result<LinkServiceClient<Channel>, String> {
    rpc::channel(addr, limit)
        .await
        .map(LinkServiceClient::new)
        .map_err(|failure| match failure {
            rpc::NoChannel::Refused(error) => format!("no connection: {error}"),
            rpc::NoChannel::Silent => format!("no connection within {} s", limit.as_secs()),
        })
}

/// Creates `count` links of `len`-byte URLs with BatchCreateLinks, 1,000 a call, and returns
/// their ids.
async fn fill(
    client: &mut LinkServiceClient<Channel>,
    count: usize,
    len: usize,
    limit: Duration,
) -> Result<Vec<i64>, String> {
    let mut ids = Vec::with_capacity(count);
    let mut made = 0;
    while made < count {
        let size = (count - made).min(1_000);
        let urls: Vec<CreateLinkRequest> = (made..made + size)
            .map(|n| CreateLinkRequest { url: url(n, len) })
            .collect();
        let created = tokio::time::timeout(
            limit * 4,
            client.batch_create_links(tokio_stream::iter(urls)),
        )
        .await
        .map_err(|_| {
            format!(
                "BatchCreateLinks: no answer within {} s",
                limit.as_secs() * 4
            )
        })?
        .map_err(|status| format!("BatchCreateLinks: {}", shown(&status)))?
        .into_inner();
        ids.extend(created.links.iter().map(|link| link.id));
        made += size;
    }
    Ok(ids)
}

/// The ids a ListLinks call streams, or how it failed.
async fn list_ids(
    client: &mut LinkServiceClient<Channel>,
    after_id: i64,
    limit_links: i32,
    limit: Duration,
) -> Result<Vec<i64>, tonic::Status> {
    let listing = async {
        let mut stream = client
            .list_links(ListLinksRequest {
                after_id,
                limit: limit_links,
            })
            .await?
            .into_inner();
        let mut ids = Vec::new();
        while let Some(link) = stream.message().await? {
            ids.push(link.id);
        }
        Ok(ids)
    };
    tokio::time::timeout(limit, listing)
        .await
        .unwrap_or_else(|_| Err(tonic::Status::deadline_exceeded("no end within the limit")))
}

/// ListLinks with `after_id` and `limit`: the page that comes back, and the refusals.
async fn page(addr: SocketAddr, limit: Duration) -> Result<(), Failure> {
    let expected = "ListLinks {after_id: A, limit: 7} streams the 7 links after id A, in id \
                    order; limit 0 streams them all; a negative limit or after_id is \
                    INVALID_ARGUMENT";
    let fail = |got: String| Failure::new(expected, got, format!("{LIST}."));
    let mut client = client(addr, limit).await.map_err(fail)?;
    let ids = fill(&mut client, 30, 40, limit).await.map_err(fail)?;
    let got = list_ids(&mut client, ids[9], 7, limit)
        .await
        .map_err(|status| fail(shown(&status)))?;
    if got != ids[10..17] {
        return Err(fail(format!(
            "after_id {} and limit 7 gave the ids {got:?}; expected {:?}",
            ids[9],
            &ids[10..17]
        )));
    }
    let all = list_ids(&mut client, 0, 0, limit)
        .await
        .map_err(|status| fail(shown(&status)))?;
    if all != ids {
        return Err(fail(format!(
            "limit 0 gave {} links ({:?}...); expected all {}",
            all.len(),
            &all[..all.len().min(5)],
            ids.len()
        )));
    }
    for (after_id, limit_links) in [(0, -1), (-5, 0)] {
        match list_ids(&mut client, after_id, limit_links, limit).await {
            Err(status) if status.code() == Code::InvalidArgument => {}
            Err(status) => {
                return Err(fail(format!(
                    "after_id {after_id}, limit {limit_links}: {}",
                    shown(&status)
                )));
            }
            Ok(got) => {
                return Err(fail(format!(
                    "after_id {after_id}, limit {limit_links}: OK with {} links",
                    got.len()
                )));
            }
        }
    }
    Ok(())
}

/// A CreateLink, on its own connection, while a ListLinks of 8 MB waits on a reader that took
/// one link and reads no more. Returns how long the CreateLink took, to show.
async fn stalled(addr: SocketAddr, limit: Duration) -> Result<Duration, Failure> {
    let expected = "a CreateLink answered while a ListLinks stream waits on a reader that does \
                    not read";
    let hint = format!(
        "{LIST}: a stream that waits for its reader must hold no lock. A lock taken for the \
         whole stream (an async mutex, or a guard kept in the stream) holds every call that needs \
         the store."
    );
    let fail = |got: String| Failure::new(expected, got, hint.clone());
    let mut filler = client(addr, limit).await.map_err(fail)?;
    fill(&mut filler, STALL_LINKS, STALL_URL_LEN, limit)
        .await
        .map_err(fail)?;
    let mut reader = client(addr, limit).await.map_err(fail)?;
    let mut stalled = tokio::time::timeout(limit, reader.list_links(ListLinksRequest::default()))
        .await
        .map_err(|_| fail(format!("ListLinks: no answer within {} s", limit.as_secs())))?
        .map_err(|status| fail(format!("ListLinks: {}", shown(&status))))?
        .into_inner();
    match tokio::time::timeout(limit, stalled.message()).await {
        Ok(Ok(Some(_))) => {}
        Ok(Ok(None)) => return Err(fail("ListLinks ended without a link".to_string())),
        Ok(Err(status)) => return Err(fail(format!("ListLinks: {}", shown(&status)))),
        Err(_) => {
            return Err(fail(format!(
                "ListLinks sent no link within {} s",
                limit.as_secs()
            )));
        }
    }
    // The reader reads no more; the server fills every buffer between them and waits.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut other = client(addr, limit).await.map_err(fail)?;
    let started = Instant::now();
    let created = tokio::time::timeout(
        limit,
        other.create_link(CreateLinkRequest {
            url: "https://example.com/check/while-listing".to_string(),
        }),
    )
    .await;
    let took = started.elapsed();
    drop(stalled);
    match created {
        Ok(Ok(_)) => Ok(took),
        Ok(Err(status)) => Err(fail(format!("CreateLink: {}", shown(&status)))),
        Err(_) => Err(fail(format!(
            "no answer to CreateLink within {} s while the ListLinks stream waited",
            limit.as_secs()
        ))),
    }
}

/// `GET /v1/links?pageSize=2`, page after page, from the gateway at `gateway`.
async fn gateway_pages(
    server: SocketAddr,
    gateway: SocketAddr,
    limit: Duration,
) -> Result<(), Failure> {
    let expected = "GET /v1/links?pageSize=2 gives 2 links and a nextPageToken; the token, sent \
                    back as pageToken, gives the next 2; the last page an empty nextPageToken; \
                    an unknown pageToken 400";
    let hint = format!(
        "{PAGES}: `pageSize` links a page (ask the server for one more, to know whether another \
         page follows), `nextPageToken` made from the last link, read back from `pageToken`."
    );
    let fail = |got: String| Failure::new(expected, got, hint.clone());
    let mut grpc = client(server, limit).await.map_err(fail)?;
    let ids = fill(&mut grpc, 5, 40, limit).await.map_err(fail)?;
    let mut seen = Vec::new();
    let mut path = "/v1/links?pageSize=2".to_string();
    for page in 1..=3 {
        let answer = http(gateway, "GET", &path, None, limit)
            .await
            .map_err(|got| fail(format!("GET {path}: {got}")))?;
        let json = answer
            .json()
            .filter(|_| answer.status == 200)
            .ok_or_else(|| fail(format!("GET {path}: {}", answer.shown())))?;
        let links = json["links"].as_array().cloned().unwrap_or_default();
        let token = json["nextPageToken"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        seen.extend(
            links
                .iter()
                .filter_map(|link| link["id"].as_str()?.parse::<i64>().ok()),
        );
        let (want, more) = if page < 3 { (2, true) } else { (1, false) };
        if links.len() != want || token.is_empty() == more {
            return Err(fail(format!("page {page}, GET {path}: {}", answer.shown())));
        }
        path = format!("/v1/links?pageSize=2&pageToken={token}");
    }
    if seen != ids {
        return Err(fail(format!(
            "the pages gave the ids {seen:?}; expected {ids:?}, once each, in id order"
        )));
    }
    let answer = http(
        gateway,
        "GET",
        "/v1/links?pageToken=not-a-token",
        None,
        limit,
    )
    .await
    .map_err(|got| fail(format!("GET /v1/links?pageToken=not-a-token: {got}")))?;
    if answer.status != 400 {
        return Err(fail(format!(
            "GET /v1/links?pageToken=not-a-token: {}",
            answer.shown()
        )));
    }
    Ok(())
}

/// Starts a server of its own (and its gateway, the binary next to it), and runs the checks.
pub async fn run(binary: &Path, limits: Limits, reporter: &mut Reporter) {
    let expected = "the server started for the performance checks listens";
    let mut running = match server::start(binary, limits.server_start).await {
        Ok(running) => running,
        Err(failure) => {
            reporter.record(
                "a server for the performance checks starts",
                Err(Failure::new(expected, failure.described(), "")),
            );
            return;
        }
    };
    let limit = limits.call;
    reporter.record(
        "ListLinks honours limit and after_id, and refuses negative ones",
        page(running.addr, limit).await,
    );
    match stalled(running.addr, limit).await {
        Ok(took) => {
            reporter.record(
                "a CreateLink answers while ListLinks waits on a reader that does not read",
                Ok(()),
            );
            reporter.note(&format!(
                "(the CreateLink took {:.1} ms while 8 MB of links waited to be read; shown, not \
                 judged)",
                took.as_secs_f64() * 1000.0
            ));
        }
        Err(failure) => reporter.record(
            "a CreateLink answers while ListLinks waits on a reader that does not read",
            Err(failure),
        ),
    }
    if let Some(status) = running.exited() {
        reporter.record(
            "the server keeps running through the performance checks",
            Err(Failure::new(
                "the server still running",
                format!(
                    "it exited ({status}); its last output:\n{}",
                    running.log.text()
                ),
                "A panic in a handler or a stream stops the call, not the server; a panic in main \
                 or an abort stops it: the output above says where.",
            )),
        );
    }
    running.stop().await;

    // A fresh server for the gateway's pages, so that its ids start at 1.
    let Ok(grpc) = server::start(binary, limits.server_start).await else {
        return;
    };
    let gateway = binary.with_file_name(
        binary
            .file_name()
            .map(|name| name.to_string_lossy().replace("-server", "-gateway"))
            .unwrap_or_default(),
    );
    let server_url = format!("http://{}", grpc.addr);
    let started = server::start_with_args(
        &gateway,
        &["--server", server_url.as_str()],
        limits.server_start,
    )
    .await;
    let result = match started {
        Ok(front) => {
            let result = gateway_pages(grpc.addr, front.addr, limit).await;
            front.stop().await;
            result
        }
        Err(failure) => Err(Failure::new(
            "the gateway starts in front of the server",
            failure.described(),
            "`main` in src/bin/gateway.rs (given): if it does not start, run it yourself to see why.",
        )),
    };
    reporter.record("the gateway's GET /v1/links is paginated", result);
    grpc.stop().await;
}
