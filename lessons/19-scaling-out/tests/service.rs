//! Your tests of the link shortener: lesson 14's exercise.
//!
//! `cargo quiz check 14` runs this file against the real service, where every test must pass,
//! and then against broken versions of it, where at least one test must fail each time. The
//! fixtures (`TestServer`, `in_memory`, `within`) are in `tests/support/mod.rs`.

mod support;

use std::pin::Pin;
use std::time::Duration;

use proptest::prelude::*;
use tokio_stream::{Stream, StreamExt};
use tonic::metadata::MetadataValue;
use tonic::{Code, Request, Response, Status, Streaming};
use tonic_types::StatusExt;

use lesson_19::client::{self, BearerKey};
use lesson_19::pb::link_service_server::LinkService;
use lesson_19::pb::{
    BatchCreateLinksResponse, CreateLinkRequest, CreateLinkResponse, DeleteLinkRequest,
    DeleteLinkResponse, GetLinkRequest, GetLinkResponse, Link, ListLinksRequest, SyncRequest,
    SyncResponse,
};
use lesson_19::{LinkServer, MAX_URL_LEN, short_code, validate_url};
use support::{TestServer, in_memory, within};

// ---- Calling the handlers directly --------------------------------------------------------

/// CreateLink, called as a plain async method: no network, no client.
async fn create(server: &LinkServer, url: &str) -> Link {
    let request = Request::new(CreateLinkRequest {
        url: url.to_string(),
    });
    let response = server.create_link(request).await.expect("CreateLink");
    response
        .into_inner()
        .link
        .expect("CreateLink answers a link")
}

#[tokio::test]
async fn a_deleted_code_is_never_handed_out_again() {
    // The server draws `abc123` twice before any random code: the second draw must be refused.
    let server = LinkServer::with_codes(["abc123".to_string(), "abc123".to_string()]);
    let first = create(&server, "https://example.com/one").await;
    assert_eq!(first.short_code, "abc123");
    let request = Request::new(DeleteLinkRequest {
        short_code: "abc123".to_string(),
    });
    server.delete_link(request).await.expect("DeleteLink");
    let second = create(&server, "https://example.com/two").await;
    assert_ne!(
        second.short_code, "abc123",
        "a deleted link's code was given to a new link"
    );
}

#[tokio::test(start_paused = true)]
async fn list_links_ends_with_deadline_exceeded_when_the_deadline_passes() {
    let server = LinkServer::default();
    for n in 0..40 {
        create(&server, &format!("https://example.com/{n}")).await;
    }
    let mut request = Request::new(ListLinksRequest::default());
    request
        .metadata_mut()
        .insert("grpc-timeout", MetadataValue::from_static("1S"));
    let mut stream = server
        .list_links(request)
        .await
        .expect("ListLinks")
        .into_inner();
    // Nobody reads for two (paused, so instant) seconds: the deadline passes mid-stream.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut links = 0;
    let mut ended = None;
    while let Some(item) = stream.next().await {
        match item {
            Ok(_) => links += 1,
            Err(status) => {
                ended = Some(status.code());
                break;
            }
        }
    }
    assert_eq!(
        ended,
        Some(Code::DeadlineExceeded),
        "the stream sent {links} of 40 links and should have ended with DEADLINE_EXCEEDED"
    );
}

// ---- Black-box: a client over the network or over an in-memory pipe ---------------------------

#[tokio::test]
async fn a_created_link_can_be_read_back() {
    let server = TestServer::start(LinkServer::default()).await;
    let mut client = server.client().await;
    let created = within(
        "CreateLink",
        client.create_link(CreateLinkRequest {
            url: "https://example.com/a".to_string(),
        }),
    )
    .await
    .expect("CreateLink")
    .into_inner()
    .link
    .expect("a link");
    let got = within(
        "GetLink",
        client.get_link(GetLinkRequest {
            short_code: created.short_code.clone(),
        }),
    )
    .await
    .expect("GetLink")
    .into_inner()
    .link;
    assert_eq!(got, Some(created));
}

#[tokio::test]
async fn an_unknown_code_is_not_found() {
    let mut client = in_memory(LinkServer::default(), None).await;
    let get = within(
        "GetLink",
        client.get_link(GetLinkRequest {
            short_code: "zzzzzz".to_string(),
        }),
    )
    .await
    .expect_err("GetLink of an unknown code must fail");
    assert_eq!(get.code(), Code::NotFound, "GetLink: {get:?}");
    let delete = within(
        "DeleteLink",
        client.delete_link(DeleteLinkRequest {
            short_code: "zzzzzz".to_string(),
        }),
    )
    .await
    .expect_err("DeleteLink of an unknown code must fail");
    assert_eq!(delete.code(), Code::NotFound, "DeleteLink: {delete:?}");
}

#[tokio::test]
async fn a_bad_url_is_invalid_argument_naming_the_field() {
    let mut client = in_memory(LinkServer::default(), None).await;
    let status = within(
        "CreateLink",
        client.create_link(CreateLinkRequest {
            url: "ftp://example.com/file".to_string(),
        }),
    )
    .await
    .expect_err("an ftp: URL must be refused");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let details = status
        .get_details_bad_request()
        .expect("the status should carry google.rpc.BadRequest details");
    let fields: Vec<&str> = details
        .field_violations
        .iter()
        .map(|violation| violation.field.as_str())
        .collect();
    assert_eq!(fields, ["url"]);
}

#[tokio::test]
async fn list_links_streams_links_in_creation_order() {
    let mut client = in_memory(LinkServer::default(), None).await;
    for n in 0..8 {
        let url = format!("https://example.com/{n}");
        within("CreateLink", client.create_link(CreateLinkRequest { url }))
            .await
            .expect("CreateLink");
    }
    let stream = within("ListLinks", client.list_links(ListLinksRequest::default()))
        .await
        .expect("ListLinks")
        .into_inner();
    let links: Vec<Link> = within("the end of ListLinks", stream.collect::<Result<_, _>>())
        .await
        .expect("every link");
    let ids: Vec<i64> = links.iter().map(|link| link.id).collect();
    assert_eq!(ids, (1..=8).collect::<Vec<i64>>(), "ids in creation order");
}

#[tokio::test]
async fn a_batch_with_a_bad_url_stores_nothing() {
    let mut client = in_memory(LinkServer::default(), None).await;
    let urls = [
        "https://example.com/1",
        "https://example.com/2",
        "javascript:alert(1)",
        "https://example.com/4",
    ];
    let requests = urls.map(|url| CreateLinkRequest {
        url: url.to_string(),
    });
    let status = within(
        "BatchCreateLinks",
        client.batch_create_links(tokio_stream::iter(requests)),
    )
    .await
    .expect_err("a batch with a bad URL must fail");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("index 2"), "{status:?}");
    let stream = within("ListLinks", client.list_links(ListLinksRequest::default()))
        .await
        .expect("ListLinks")
        .into_inner();
    let links: Vec<Link> = within("the end of ListLinks", stream.collect::<Result<_, _>>())
        .await
        .expect("every link");
    assert!(links.is_empty(), "the failed batch stored {links:?}");
}

#[tokio::test]
async fn negative_clicks_are_not_acknowledged() {
    let mut client = in_memory(LinkServer::default(), None).await;
    let link = within(
        "CreateLink",
        client.create_link(CreateLinkRequest {
            url: "https://example.com/a".to_string(),
        }),
    )
    .await
    .expect("CreateLink")
    .into_inner()
    .link
    .expect("a link");
    let requests = [5, -3].map(|clicks| SyncRequest {
        short_code: link.short_code.clone(),
        clicks,
    });
    let answers = within(
        "SyncClicks",
        client.sync_clicks(tokio_stream::iter(requests)),
    )
    .await
    .expect("SyncClicks")
    .into_inner();
    let answers: Vec<SyncResponse> =
        within("the end of SyncClicks", answers.collect::<Result<_, _>>())
            .await
            .expect("every answer");
    let got: Vec<(i64, bool)> = answers
        .iter()
        .map(|answer| (answer.total_clicks, answer.acknowledged))
        .collect();
    assert_eq!(got, [(5, true), (5, false)], "5 clicks, then -3 refused");
}

#[tokio::test]
async fn a_call_needs_the_right_api_key() {
    let server = TestServer::with_key(LinkServer::default(), Some("s3cret")).await;
    let mut client = server.client().await;
    let no_key = within("ListLinks", client.list_links(ListLinksRequest::default()))
        .await
        .expect_err("a call without the key must fail");
    assert_eq!(no_key.code(), Code::Unauthenticated, "{no_key:?}");

    let mut request = Request::new(ListLinksRequest::default());
    request
        .metadata_mut()
        .insert("authorization", MetadataValue::from_static("Bearer wrong"));
    let wrong = within("ListLinks", client.list_links(request))
        .await
        .expect_err("a call with a wrong key must fail");
    assert_eq!(wrong.code(), Code::Unauthenticated, "{wrong:?}");

    let mut request = Request::new(ListLinksRequest::default());
    request
        .metadata_mut()
        .insert("authorization", MetadataValue::from_static("Bearer s3cret"));
    within("ListLinks", client.list_links(request))
        .await
        .expect("a call with the key goes through");
}

// ---- The client against fake servers -------------------------------------------------------

/// A fake LinkService: every RPC answers the way `behaviour` says.
#[derive(Clone, Copy)]
enum Fake {
    /// Never answers.
    Hangs,
    /// Fails every call with UNAVAILABLE.
    Unavailable,
    /// ListLinks streams the links out of order.
    OutOfOrder,
}

type Answers<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

impl Fake {
    async fn answer<T>(self) -> Result<T, Status> {
        match self {
            Fake::Hangs => std::future::pending().await,
            _ => Err(Status::unavailable("the fake is down")),
        }
    }
}

#[tonic::async_trait]
impl LinkService for Fake {
    async fn create_link(
        &self,
        _: Request<CreateLinkRequest>,
    ) -> Result<Response<CreateLinkResponse>, Status> {
        self.answer().await
    }
    async fn get_link(
        &self,
        _: Request<GetLinkRequest>,
    ) -> Result<Response<GetLinkResponse>, Status> {
        self.answer().await
    }
    async fn delete_link(
        &self,
        _: Request<DeleteLinkRequest>,
    ) -> Result<Response<DeleteLinkResponse>, Status> {
        self.answer().await
    }
    type ListLinksStream = Answers<Link>;
    async fn list_links(
        &self,
        _: Request<ListLinksRequest>,
    ) -> Result<Response<Self::ListLinksStream>, Status> {
        let Fake::OutOfOrder = self else {
            return self.answer().await;
        };
        let links = [3, 1, 2].map(|id| {
            Ok(Link {
                id,
                short_code: format!("code0{id}"),
                url: format!("https://example.com/{id}"),
                clicks: 0,
            })
        });
        Ok(Response::new(Box::pin(tokio_stream::iter(links))))
    }
    async fn batch_create_links(
        &self,
        _: Request<Streaming<CreateLinkRequest>>,
    ) -> Result<Response<BatchCreateLinksResponse>, Status> {
        self.answer().await
    }
    type SyncClicksStream = Answers<SyncResponse>;
    async fn sync_clicks(
        &self,
        _: Request<Streaming<SyncRequest>>,
    ) -> Result<Response<Self::SyncClicksStream>, Status> {
        self.answer().await
    }
}

fn client_of(server: &TestServer, timeout: Duration) -> client::Client {
    let addr = server.addr().to_string();
    client::connect(&addr, timeout, BearerKey::default()).expect("a channel to the fake")
}

#[tokio::test]
async fn the_client_gives_up_on_a_server_that_hangs() {
    let server = TestServer::fake(Fake::Hangs).await;
    let client = client_of(&server, Duration::from_millis(300));
    let status = within("the client's own deadline", client.get("abc123"))
        .await
        .expect_err("a call to a server that never answers must fail");
    assert!(
        matches!(status.code(), Code::Cancelled | Code::DeadlineExceeded),
        "{status:?}"
    );
}

#[tokio::test]
async fn the_client_passes_unavailable_on() {
    let server = TestServer::fake(Fake::Unavailable).await;
    let client = client_of(&server, Duration::from_secs(5));
    let status = within("GetLink", client.get("abc123"))
        .await
        .expect_err("the fake fails every call");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
}

#[tokio::test]
async fn the_client_counts_links_that_arrive_out_of_order() {
    let server = TestServer::fake(Fake::OutOfOrder).await;
    let client = client_of(&server, Duration::from_secs(5));
    let every = lesson_19::pb::ListLinksRequest::default();
    let count = within("ListLinks", client.list(every, |_| {}))
        .await
        .expect("ListLinks");
    assert_eq!(count, 3);
}

// ---- Properties -----------------------------------------------------------------------------

proptest! {
    #[test]
    fn every_http_url_with_a_host_is_accepted(
        scheme in "https?",
        // No "--" in a label: one that starts with "xn--" is punycode, and `url` refuses
        // it when it does not decode (proptest found http://xn--.aa).
        host in "[a-z]([a-z0-9]|-[a-z0-9]){0,10}\\.[a-z]{2,6}",
        path in "(/[a-zA-Z0-9._~-]{0,12}){0,4}",
    ) {
        let url = format!("{scheme}://{host}{path}");
        prop_assert!(validate_url(&url).is_ok(), "{url} was refused: {:?}", validate_url(&url));
    }

    #[test]
    fn any_other_scheme_is_refused(scheme in "[a-z][a-z0-9+.-]{0,8}") {
        prop_assume!(scheme != "http" && scheme != "https");
        let url = format!("{scheme}://example.com/");
        prop_assert!(validate_url(&url).is_err(), "{url} was accepted");
    }

    #[test]
    fn no_url_longer_than_the_limit_is_accepted(extra in 1usize..100) {
        let url = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN + extra));
        prop_assert!(validate_url(&url).is_err());
    }

    #[test]
    fn short_codes_are_six_characters_of_a_to_z_and_0_to_9(_run in 0..50u8) {
        let code = short_code();
        prop_assert_eq!(code.len(), 6);
        prop_assert!(code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()), "{}", code);
    }
}
