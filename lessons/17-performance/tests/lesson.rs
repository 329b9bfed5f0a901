//! Lesson 17's tests: the costs, counted. Nothing here is timed: a count (allocations, bytes,
//! links, tasks) comes out the same on a busy laptop and on an idle server, where a timing passes
//! on one and fails on the other. The yardstick is the one `cargo quiz load --against-bare` uses:
//! a LinkService that does the least tonic allows, counted in the same test. Please do not edit
//! this file: `cargo quiz check 17` runs it as it is.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_stream::StreamExt;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Endpoint, Server};
use tonic::{Code, Request, Response, Status, Streaming};
use tracing_subscriber::EnvFilter;

use lesson_17::client::BearerKey;
use lesson_17::gateway;
use lesson_17::pb::link_service_client::LinkServiceClient;
use lesson_17::pb::link_service_server::{LinkService, LinkServiceServer};
use lesson_17::pb::{
    BatchCreateLinksResponse, CreateLinkRequest, CreateLinkResponse, DeleteLinkRequest,
    DeleteLinkResponse, GetLinkRequest, GetLinkResponse, Link, ListLinksRequest, SyncRequest,
    SyncResponse,
};
use lesson_17::{LinkServer, LogFormat, MemoryStore, Settings, serve, subscriber};
use support::TestServer;

// ---- A counting allocator --------------------------------------------------------------------

/// The system's allocator, counting what this thread allocates while it is told to. Each test
/// runs on a thread of its own, and a `#[tokio::test]` runs its tasks (a server's included) on
/// that thread: the counts are the test's own, whatever the other tests do at the same time.
struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
    /// Bytes allocated minus bytes freed.
    static LIVE_BYTES: Cell<i64> = const { Cell::new(0) };
}

fn counted(size: isize, new_allocation: bool) {
    // `try_with`: a thread being torn down has no thread-locals left, and allocates anyway.
    let _ = COUNTING.try_with(|counting| {
        if counting.get() {
            if new_allocation {
                ALLOCATIONS.with(|n| n.set(n.get() + 1));
            }
            LIVE_BYTES.with(|n| n.set(n.get() + size as i64));
        }
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        counted(layout.size() as isize, true);
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        counted(layout.size() as isize, true);
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        counted(-(layout.size() as isize), false);
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // A grown buffer is an allocation too: that is what growing costs.
        counted(new_size as isize - layout.size() as isize, true);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// What this thread allocated while `work` ran: allocations, and bytes still held after it.
struct Counted {
    allocations: u64,
    live_bytes: i64,
}

async fn count<T>(work: impl Future<Output = T>) -> (T, Counted) {
    let (allocations, live) = (ALLOCATIONS.with(Cell::get), LIVE_BYTES.with(Cell::get));
    COUNTING.with(|counting| counting.set(true));
    let value = work.await;
    COUNTING.with(|counting| counting.set(false));
    let counted = Counted {
        allocations: ALLOCATIONS.with(Cell::get) - allocations,
        live_bytes: LIVE_BYTES.with(Cell::get) - live,
    };
    (value, counted)
}

/// A wait of a test that should take milliseconds; past this, something hangs.
const LIMIT: Duration = Duration::from_secs(10);

async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, future)
        .await
        .unwrap_or_else(|_| panic!("{what}: nothing happened within {} s", LIMIT.as_secs()))
}

/// A URL as long as the load tool's, different for every `n`.
fn url(n: usize) -> String {
    format!("https://example.com/articles/{n:010}")
}

// ---- The bare yardstick ----------------------------------------------------------------------

/// The least a LinkService can do, as `cargo quiz load --against-bare` runs it: what tonic
/// itself costs, for the tests to compare the shortener with.
#[derive(Debug, Default)]
struct Bare;

#[tonic::async_trait]
impl LinkService for Bare {
    async fn create_link(
        &self,
        request: Request<CreateLinkRequest>,
    ) -> Result<Response<CreateLinkResponse>, Status> {
        let link = Link {
            id: 1,
            url: request.into_inner().url,
            short_code: "abc123".to_string(),
            clicks: 0,
        };
        Ok(Response::new(CreateLinkResponse { link: Some(link) }))
    }

    async fn get_link(
        &self,
        request: Request<GetLinkRequest>,
    ) -> Result<Response<GetLinkResponse>, Status> {
        let link = Link {
            id: 1,
            url: url(1),
            short_code: request.into_inner().short_code,
            clicks: 0,
        };
        Ok(Response::new(GetLinkResponse { link: Some(link) }))
    }

    async fn delete_link(
        &self,
        _: Request<DeleteLinkRequest>,
    ) -> Result<Response<DeleteLinkResponse>, Status> {
        Ok(Response::new(DeleteLinkResponse {}))
    }

    type ListLinksStream = tokio_stream::Iter<std::iter::RepeatWith<fn() -> Result<Link, Status>>>;

    /// Links, for ever: a reader that stops reading stalls it.
    async fn list_links(
        &self,
        _: Request<ListLinksRequest>,
    ) -> Result<Response<Self::ListLinksStream>, Status> {
        fn link() -> Result<Link, Status> {
            Ok(Link {
                id: 1,
                url: format!("{}/{}", url(1), "x".repeat(2_000)),
                short_code: "abc123".to_string(),
                clicks: 0,
            })
        }
        let links: fn() -> Result<Link, Status> = link;
        Ok(Response::new(tokio_stream::iter(std::iter::repeat_with(
            links,
        ))))
    }

    async fn batch_create_links(
        &self,
        _: Request<Streaming<CreateLinkRequest>>,
    ) -> Result<Response<BatchCreateLinksResponse>, Status> {
        Err(Status::unimplemented("the bare server has no batches"))
    }

    type SyncClicksStream = BareAnswers;

    async fn sync_clicks(
        &self,
        request: Request<Streaming<SyncRequest>>,
    ) -> Result<Response<BareAnswers>, Status> {
        Ok(Response::new(request.into_inner().map(bare_answer)))
    }
}

type BareAnswers = tokio_stream::adapters::Map<
    Streaming<SyncRequest>,
    fn(Result<SyncRequest, Status>) -> Result<SyncResponse, Status>,
>;

/// The bare server's answer to a SyncClicks message: acknowledged, as it is read.
fn bare_answer(request: Result<SyncRequest, Status>) -> Result<SyncResponse, Status> {
    request.map(|request| SyncResponse {
        short_code: request.short_code,
        total_clicks: request.clicks,
        acknowledged: true,
    })
}

/// A channel to `addr`, connected.
async fn channel(addr: SocketAddr) -> Channel {
    let endpoint = Endpoint::from_shared(format!("http://{addr}")).expect("a valid URL");
    within("connect to the test server", endpoint.connect())
        .await
        .expect("connect to the test server")
}

/// The shortener's server, as the binary runs it (its layers, its log through the binary's own
/// subscriber, writing nowhere), on a free port, on this test's runtime.
async fn ours() -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("the address");
    let serving = tokio::spawn(async move {
        let stopped = serve(
            listener,
            LinkServer::default(),
            Settings::default(),
            std::future::pending(),
        )
        .await;
        if let Err(error) = stopped {
            panic!("the server stopped: {error}");
        }
    });
    (addr, serving)
}

/// The bare LinkService, served as `quiz/bare` serves it.
async fn bare() -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("the address");
    let serving = tokio::spawn(async move {
        let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
        let _ = Server::builder()
            .add_service(LinkServiceServer::new(Bare))
            .serve_with_incoming(incoming)
            .await;
    });
    (addr, serving)
}

/// Calls made to warm a connection up before counting: buffers grown, tables sized.
const WARM_UP: usize = 200;
/// Calls counted.
const CALLS: usize = 1_000;

/// Allocations per call of `call`, made `CALLS` times to the server at `addr`, with the
/// binary's log installed for this thread: client, tonic, hyper, the layers and the handler.
async fn allocations_per_call<F, Fut>(addr: SocketAddr, mut call: F) -> f64
where
    F: FnMut(LinkServiceClient<Channel>, usize) -> Fut,
    Fut: Future<Output = ()>,
{
    let (writer, _guard) = lesson_17::LogWriter::to(std::io::sink()).expect("a log writer");
    let _log = tracing::dispatcher::set_default(&subscriber(
        LogFormat::Text,
        EnvFilter::new("info"),
        writer,
    ));
    let client = LinkServiceClient::new(channel(addr).await);
    for n in 0..WARM_UP {
        call(client.clone(), n).await;
    }
    let ((), counted) = count(async {
        for n in WARM_UP..WARM_UP + CALLS {
            call(client.clone(), n).await;
        }
    })
    .await;
    counted.allocations as f64 / CALLS as f64
}

async fn create(mut client: LinkServiceClient<Channel>, n: usize) {
    within(
        "CreateLink",
        client.create_link(CreateLinkRequest { url: url(n) }),
    )
    .await
    .expect("CreateLink");
}

/// Allocations a call beyond bare tonic's that CreateLink may make: the store's copy of the URL
/// and the response's code, the request id, the log's span, the layers' body.
const CREATE_LINK_ALLOCATIONS: f64 = 14.0;
/// The same for GetLink, which stores nothing.
const GET_LINK_ALLOCATIONS: f64 = 12.0;

#[tokio::test]
async fn a_create_link_call_allocates_at_most_14_more_times_than_bare_tonic() {
    let (addr, ours_serving) = ours().await;
    let ours = allocations_per_call(addr, create).await;
    ours_serving.abort();
    let (addr, bare_serving) = bare().await;
    let bare = allocations_per_call(addr, create).await;
    bare_serving.abort();
    assert!(
        ours - bare <= CREATE_LINK_ALLOCATIONS,
        "a CreateLink call allocates {ours:.1} times (client, tonic and the server together), \
         bare tonic {bare:.1}: {:.1} more, where at most {CREATE_LINK_ALLOCATIONS} are the \
         shortener's own. Count what each layer and the handler copy into a String or box",
        ours - bare
    );
}

#[tokio::test]
async fn a_get_link_call_allocates_at_most_12_more_times_than_bare_tonic() {
    let (addr, ours_serving) = ours().await;
    let mut client = LinkServiceClient::new(channel(addr).await);
    let created = within(
        "CreateLink",
        client.create_link(CreateLinkRequest { url: url(0) }),
    )
    .await
    .expect("CreateLink")
    .into_inner()
    .link
    .expect("CreateLink answers a link");
    let code = created.short_code;
    let get = |mut client: LinkServiceClient<Channel>, _| {
        let short_code = code.clone();
        async move {
            within("GetLink", client.get_link(GetLinkRequest { short_code }))
                .await
                .expect("GetLink");
        }
    };
    let ours = allocations_per_call(addr, get).await;
    ours_serving.abort();
    let (addr, bare_serving) = bare().await;
    let bare = allocations_per_call(addr, get).await;
    bare_serving.abort();
    assert!(
        ours - bare <= GET_LINK_ALLOCATIONS,
        "a GetLink call allocates {ours:.1} times (client, tonic and the server together), bare \
         tonic {bare:.1}: {:.1} more, where at most {GET_LINK_ALLOCATIONS} are the shortener's \
         own. Count what each layer and the handler copy into a String or box",
        ours - bare
    );
}

// ---- Bytes a link ------------------------------------------------------------------------------

/// What the store may hold for a link besides the bytes of its URL.
const BYTES_PER_LINK: f64 = 64.0;

#[tokio::test]
async fn a_stored_link_holds_at_most_64_bytes_besides_its_url() {
    const LINKS: usize = 100_000;
    let store = MemoryStore::default();
    let ((), counted) = count(async {
        for batch in 0..LINKS / 1_000 {
            let urls = (batch * 1_000..(batch + 1) * 1_000).map(url).collect();
            // The links the call answers with are the caller's, dropped here: only what the
            // store keeps is still counted.
            drop(store.create(urls));
        }
    })
    .await;
    let url_bytes = url(0).len() as f64;
    let per_link = counted.live_bytes as f64 / LINKS as f64;
    assert!(
        per_link - url_bytes <= BYTES_PER_LINK,
        "{LINKS} links of {url_bytes}-byte URLs hold {per_link:.1} bytes each on the heap: \
         {:.1} besides the URL, where {BYTES_PER_LINK} is the most. Add up what a link costs: \
         its slot, its code (how many times?), its entry in each table and the table's spare room",
        per_link - url_bytes
    );
}

// ---- ListLinks, a page at a time ---------------------------------------------------------------

/// Creates `count` links with URLs of `url_len` bytes, in batches, and returns their ids.
async fn fill(client: &mut LinkServiceClient<Channel>, count: usize, url_len: usize) -> Vec<i64> {
    let mut ids = Vec::with_capacity(count);
    let mut made = 0;
    while made < count {
        let size = (count - made).min(1_000);
        let urls: Vec<CreateLinkRequest> = (made..made + size)
            .map(|n| {
                let mut url = url(n);
                url.push('/');
                while url.len() < url_len {
                    url.push('x');
                }
                CreateLinkRequest { url }
            })
            .collect();
        let created = within(
            "BatchCreateLinks",
            client.batch_create_links(tokio_stream::iter(urls)),
        )
        .await
        .expect("BatchCreateLinks")
        .into_inner();
        ids.extend(created.links.iter().map(|link| link.id));
        made += size;
    }
    ids
}

/// Every link a ListLinks call streams, or the status it ended with.
async fn list(
    client: &mut LinkServiceClient<Channel>,
    after_id: i64,
    limit: i32,
) -> Result<Vec<Link>, Status> {
    within("ListLinks", async {
        let mut stream = client
            .list_links(ListLinksRequest { after_id, limit })
            .await?
            .into_inner();
        let mut links = Vec::new();
        while let Some(link) = stream.message().await? {
            links.push(link);
        }
        Ok(links)
    })
    .await
}

#[tokio::test]
async fn a_list_links_page_honours_its_limit_and_after_id() {
    let server = TestServer::start(LinkServer::default()).await;
    let mut client = server.client().await;
    let ids = fill(&mut client, 30, 40).await;
    let page = list(&mut client, ids[9], 7).await.expect("ListLinks");
    let got: Vec<i64> = page.iter().map(|link| link.id).collect();
    assert_eq!(
        got,
        ids[10..17],
        "ListLinks {{after_id: {}, limit: 7}} must answer the 7 links after id {}, in id order",
        ids[9],
        ids[9]
    );
    let all = list(&mut client, 0, 0).await.expect("ListLinks");
    assert_eq!(all.len(), 30, "limit 0 means no limit: every link");
    let past = list(&mut client, ids[29], 5).await.expect("ListLinks");
    assert!(
        past.is_empty(),
        "after the last id there is nothing: {past:?}"
    );
}

#[tokio::test]
async fn paging_with_after_id_sees_every_link_once_in_id_order() {
    let server = TestServer::start(LinkServer::default()).await;
    let mut client = server.client().await;
    // More links than a page of the store, with holes where links were deleted.
    let ids = fill(&mut client, 1_500, 40).await;
    let mut live = Vec::new();
    let all = list(&mut client, 0, 0).await.expect("ListLinks");
    for (n, link) in all.iter().enumerate() {
        if n % 7 == 3 {
            within(
                "DeleteLink",
                client.delete_link(DeleteLinkRequest {
                    short_code: link.short_code.clone(),
                }),
            )
            .await
            .expect("DeleteLink");
        } else {
            live.push(link.id);
        }
    }
    assert_eq!(
        all.len(),
        ids.len(),
        "ListLinks with no limit lists every link"
    );

    let mut seen = Vec::new();
    let mut after_id = 0;
    loop {
        let page = list(&mut client, after_id, 100).await.expect("ListLinks");
        assert!(
            page.len() <= 100,
            "a page of limit 100 had {} links",
            page.len()
        );
        let (Some(first), Some(last)) = (page.first(), page.last()) else {
            break;
        };
        // A page that does not move past `after_id` would be asked for again, forever.
        assert!(
            first.id > after_id,
            "the page after id {after_id} began with id {}: a page starts after its after_id",
            first.id
        );
        after_id = last.id;
        seen.extend(page.iter().map(|link| link.id));
    }
    assert_eq!(
        seen, live,
        "paging with after_id = the last id seen must give every live link once, in id order"
    );
}

#[tokio::test]
async fn list_links_refuses_a_negative_limit_or_after_id() {
    let server = TestServer::start(LinkServer::default()).await;
    let mut client = server.client().await;
    for (after_id, limit) in [(0, -1), (-5, 0)] {
        let refused = list(&mut client, after_id, limit)
            .await
            .expect_err("a negative limit or after_id must be refused");
        assert_eq!(
            refused.code(),
            Code::InvalidArgument,
            "ListLinks {{after_id: {after_id}, limit: {limit}}}: {refused:?}"
        );
    }
}

#[tokio::test]
async fn a_create_link_answers_while_list_links_waits_on_a_reader_that_does_not_read() {
    let server = TestServer::start(LinkServer::default()).await;
    let mut client = server.client().await;
    // 4,000 links of 2 KB: 8 MB, far more than HTTP/2 lets a server send ahead of a reader
    // (the client's 2 MiB window, and hyper's buffer): the server must wait for the reader.
    fill(&mut client, 4_000, 2_000).await;
    let mut stalled = within("ListLinks", client.list_links(ListLinksRequest::default()))
        .await
        .expect("ListLinks")
        .into_inner();
    within("the first link", stalled.message())
        .await
        .expect("ListLinks sends links")
        .expect("a first link");
    // The reader reads no more; the server fills every buffer between them and waits.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut other = server.client().await;
    let created = tokio::time::timeout(
        LIMIT,
        other.create_link(CreateLinkRequest {
            url: "https://example.com/while-listing".to_string(),
        }),
    )
    .await;
    assert!(
        matches!(created, Ok(Ok(_))),
        "CreateLink did not answer within {} s while a ListLinks stream waited on a reader that \
         does not read ({created:?}): ListLinks must not hold the store's lock while it waits \
         to send",
        LIMIT.as_secs()
    );
    drop(stalled);
}

// ---- Streams without a task of their own -------------------------------------------------------

/// The tasks alive on this test's runtime once `streams` SyncClicks streams are open on the
/// server at `addr` (each has sent a message and had its answer), minus those alive before.
async fn tasks_per_sync_stream(addr: SocketAddr, streams: usize) -> f64 {
    let client = LinkServiceClient::new(channel(addr).await);
    let mut code = None;
    if let Ok(created) = client
        .clone()
        .create_link(CreateLinkRequest { url: url(0) })
        .await
    {
        code = created.into_inner().link.map(|link| link.short_code);
    }
    let code = code.unwrap_or_else(|| "abc123".to_string());
    let metrics = tokio::runtime::Handle::current().metrics();
    tokio::task::yield_now().await;
    let before = metrics.num_alive_tasks();
    let mut open = Vec::new();
    for _ in 0..streams {
        let (sender, requests) = tokio::sync::mpsc::channel(4);
        let mut answers = within(
            "SyncClicks",
            client
                .clone()
                .sync_clicks(tokio_stream::wrappers::ReceiverStream::new(requests)),
        )
        .await
        .expect("SyncClicks")
        .into_inner();
        sender
            .send(SyncRequest {
                short_code: code.clone(),
                clicks: 1,
            })
            .await
            .expect("send a click");
        within("a SyncClicks answer", answers.message())
            .await
            .expect("SyncClicks answers")
            .expect("an answer");
        open.push((sender, answers));
    }
    tokio::task::yield_now().await;
    let after = metrics.num_alive_tasks();
    drop(open);
    (after as f64 - before as f64) / streams as f64
}

#[tokio::test]
async fn a_sync_clicks_stream_runs_on_no_task_of_its_own() {
    const STREAMS: usize = 8;
    let (addr, ours_serving) = ours().await;
    let ours = tasks_per_sync_stream(addr, STREAMS).await;
    ours_serving.abort();
    let (addr, bare_serving) = bare().await;
    let bare = tasks_per_sync_stream(addr, STREAMS).await;
    bare_serving.abort();
    assert!(
        ours <= bare,
        "each open SyncClicks stream keeps {ours} tasks alive, against bare tonic's {bare} \
         (hyper's task for the call, and the client's): a task spawned per stream hands every \
         answer through a channel, one wake-up a message. Answer with a stream over the requests"
    );
}

/// The tasks alive on this test's runtime once `streams` ListLinks calls to the server at
/// `addr` are open and stalled (each has had its first link, and reads no more), minus those
/// alive before.
async fn tasks_per_stalled_list(addr: SocketAddr, streams: usize) -> f64 {
    let mut client = LinkServiceClient::new(channel(addr).await);
    // Enough to stall a reader that does not read (nothing for the bare server, which lists
    // links for ever).
    let _ = client.batch_create_links(tokio_stream::empty()).await;
    let filled = within("BatchCreateLinks", async {
        let urls = (0..1_500).map(|n| CreateLinkRequest {
            url: format!("{}/{}", url(n), "x".repeat(2_000)),
        });
        client
            .batch_create_links(tokio_stream::iter(urls.collect::<Vec<_>>()))
            .await
    })
    .await;
    drop(filled);
    let metrics = tokio::runtime::Handle::current().metrics();
    tokio::task::yield_now().await;
    let before = metrics.num_alive_tasks();
    let mut open = Vec::new();
    for _ in 0..streams {
        // A connection each: a stalled stream holds its connection's HTTP/2 window too.
        let mut reader = LinkServiceClient::new(channel(addr).await);
        let mut links = within("ListLinks", reader.list_links(ListLinksRequest::default()))
            .await
            .expect("ListLinks")
            .into_inner();
        within("the first link", links.message())
            .await
            .expect("ListLinks sends links")
            .expect("a first link");
        open.push((reader, links));
    }
    // Let every server stream fill the buffers between it and its reader, and wait there.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after = metrics.num_alive_tasks();
    drop(open);
    (after as f64 - before as f64) / streams as f64
}

#[tokio::test]
async fn a_list_links_stream_runs_on_no_task_of_its_own() {
    const STREAMS: usize = 4;
    let (addr, ours_serving) = ours().await;
    let ours = tasks_per_stalled_list(addr, STREAMS).await;
    ours_serving.abort();
    let (addr, bare_serving) = bare().await;
    let bare = tasks_per_stalled_list(addr, STREAMS).await;
    bare_serving.abort();
    assert!(
        ours <= bare,
        "each ListLinks stream waiting on its reader keeps {ours} tasks alive, against bare \
         tonic's {bare}: a task spawned per call hands every link through a channel, one \
         wake-up a message. Answer with a stream that reads the store as tonic asks"
    );
}

// ---- The gateway's list, a page at a time ------------------------------------------------------

/// `GET path` from the gateway at `addr`: the status and the JSON body.
async fn get_json(addr: SocketAddr, path: &str) -> (u16, serde_json::Value) {
    let exchange = async {
        let mut stream = TcpStream::connect(addr)
            .await
            .expect("connect to the gateway");
        let request = format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n");
        stream
            .write_all(request.as_bytes())
            .await
            .expect("send the request");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.expect("read the answer");
        String::from_utf8(raw).expect("an answer in UTF-8")
    };
    let raw = within(&format!("GET {path}"), exchange).await;
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("GET {path}: no HTTP answer: {raw:?}"));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("GET {path}: no status line: {head:?}"));
    let json = serde_json::from_str(body)
        .unwrap_or_else(|error| panic!("GET {path}: the body is not JSON ({error}): {body:?}"));
    (status, json)
}

#[tokio::test]
async fn the_gateways_list_is_paginated_with_page_tokens() {
    let server = TestServer::start(LinkServer::default()).await;
    let mut client = server.client().await;
    let ids = fill(&mut client, 5, 40).await;
    let http = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let http_addr = http.local_addr().expect("the address");
    let clients = gateway::connect(&format!("http://{}", server.addr()), BearerKey::default())
        .expect("a valid server URL");
    let serving = tokio::spawn(gateway::serve(http, clients, std::future::pending()));

    let mut seen = Vec::new();
    let mut path = "/v1/links?pageSize=2".to_string();
    for page in 1..=3 {
        let (status, json) = get_json(http_addr, &path).await;
        assert_eq!(status, 200, "GET {path}: {json}");
        let links = json["links"].as_array().expect("{\"links\": [...]}");
        let token = json["nextPageToken"].as_str().unwrap_or_default();
        seen.extend(links.iter().map(|link| {
            link["id"]
                .as_str()
                .and_then(|id| id.parse::<i64>().ok())
                .expect("an int64 id, as a string in proto3 JSON")
        }));
        if page < 3 {
            assert_eq!(links.len(), 2, "page {page} of pageSize=2: {json}");
            assert!(
                !token.is_empty(),
                "page {page} of 3 must give a nextPageToken: {json}"
            );
            path = format!("/v1/links?pageSize=2&pageToken={token}");
        } else {
            assert_eq!(links.len(), 1, "the last page holds what is left: {json}");
            assert!(
                token.is_empty(),
                "the last page gives no nextPageToken: {json}"
            );
        }
    }
    assert_eq!(seen, ids, "the pages give every link once, in id order");

    let (status, json) = get_json(http_addr, "/v1/links?pageToken=not-a-token").await;
    assert_eq!(
        status, 400,
        "a page token the gateway never gave is a 400: {json}"
    );
    serving.abort();
}
