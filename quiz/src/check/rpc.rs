//! The black-box checks of a learner's server: the checker's own client (generated from the
//! course's contract in `proto/`) calls every RPC the lesson has reached and compares what comes
//! back with the server rules of the course.

use std::future::Future;
use std::time::Duration;

use shortener_proto::link_service_client::LinkServiceClient;
use shortener_proto::{
    CreateLinkRequest, DeleteLinkRequest, GetLinkRequest, Link, ListLinksRequest, SyncRequest,
    SyncResponse,
};
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};

use super::server::OutputLog;
use super::{Failure, Reporter, Todos};

pub type Client = LinkServiceClient<Channel>;

/// What every check needs: a connection, the time limit of a call, and where to point the
/// learner when something fails.
#[derive(Debug, Clone)]
pub struct Context {
    pub client: Client,
    pub limit: Duration,
    pub todos: Todos,
    pub log: OutputLog,
}

/// Why no channel to a server could be opened.
pub enum NoChannel {
    /// The connection failed, with tonic's error.
    Refused(String),
    /// Nothing answered within the limit.
    Silent,
}

/// A channel to the server at `addr`, connected within `limit`; every call on it is bounded by
/// `limit` too.
pub async fn channel(addr: std::net::SocketAddr, limit: Duration) -> Result<Channel, NoChannel> {
    let endpoint = Endpoint::from_shared(format!("http://{addr}"))
        .map_err(|error| NoChannel::Refused(error.to_string()))?
        .connect_timeout(limit)
        .timeout(limit);
    match tokio::time::timeout(limit, endpoint.connect()).await {
        Ok(Ok(channel)) => Ok(channel),
        Ok(Err(error)) => Err(NoChannel::Refused(format!("{error:?}"))),
        Err(_) => Err(NoChannel::Silent),
    }
}

/// Connects to the server at `addr` within `limit`.
pub async fn connect(addr: std::net::SocketAddr, limit: Duration) -> Result<Client, Failure> {
    match channel(addr, limit).await {
        Ok(channel) => Ok(LinkServiceClient::new(channel)),
        Err(NoChannel::Refused(error)) => Err(Failure::new(
            format!("an HTTP/2 connection to {addr}"),
            error,
            "The server printed its address but does not accept gRPC there: does it serve on the \
             listener it printed (`Server::builder()...serve_with_incoming`)?",
        )),
        Err(NoChannel::Silent) => Err(Failure::new(
            format!(
                "an HTTP/2 connection to {addr} within {} s",
                limit.as_secs()
            ),
            "no answer",
            "The server printed its address but does not answer there.",
        )),
    }
}

/// A status in a line: its code and its message.
pub fn shown(status: &Status) -> String {
    format!("{:?}: {}", status.code(), status.message())
}

/// A short code as the course defines it: six characters of `[a-z0-9]`.
pub fn is_short_code(code: &str) -> bool {
    code.len() == 6
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

impl Context {
    /// A call that answered with a status the check did not expect.
    pub fn unexpected(&self, rpc: &str, expected: impl Into<String>, status: &Status) -> Failure {
        let got = shown(status);
        let timed_out =
            status.code() == Code::DeadlineExceeded || status.message().contains("Timeout expired");
        let hint = match status.code() {
            _ if timed_out => format!(
                "{rpc} gave no answer within {} s. Does it wait for something that never comes: \
                 a lock held across an `.await`, a channel nobody reads or closes, a stream that \
                 never ends? The server's last output:\n{}",
                self.limit.as_secs(),
                self.log.text()
            ),
            Code::Unimplemented => format!(
                "{rpc} answers UNIMPLEMENTED: the server does not implement it yet. {}",
                self.todos.hint(Some(rpc))
            ),
            Code::Unknown | Code::Internal | Code::Unavailable | Code::Cancelled => format!(
                "The call broke off instead of answering: did the handler panic (a `todo!()` left \
                 in {rpc}?) or the server stop? The server's last output:\n{}",
                self.log.text()
            ),
            _ => format!(
                "Check which status {rpc} returns in this case. {}",
                self.todos.hint(Some(rpc))
            ),
        };
        Failure::new(expected, got, hint)
    }

    /// Runs one check within the call time limit.
    async fn timed(
        &self,
        rpc: &str,
        check: impl Future<Output = Result<(), Failure>>,
    ) -> Result<(), Failure> {
        match tokio::time::timeout(self.limit * 2, check).await {
            Ok(result) => result,
            Err(_) => Err(Failure::new(
                format!(
                    "an answer from {rpc} within {} s",
                    (self.limit * 2).as_secs()
                ),
                "no answer: the call timed out",
                format!(
                    "Does {rpc} wait for something that never comes: a lock held across an \
                     `.await`, a channel nobody reads or closes, a stream that never ends? The \
                     server's last output:\n{}",
                    self.log.text()
                ),
            )),
        }
    }

    /// Creates a link, for checks that need one.
    pub async fn create(&self, url: &str) -> Result<Link, Failure> {
        let response = self
            .client
            .clone()
            .create_link(CreateLinkRequest {
                url: url.to_string(),
            })
            .await
            .map_err(|status| self.unexpected("CreateLink", "a created link", &status))?;
        response.into_inner().link.ok_or_else(|| {
            Failure::new(
                "CreateLinkResponse { link: Some(..) }",
                "link: None",
                "Put the new link in the response: `CreateLinkResponse { link: Some(link) }`.",
            )
        })
    }

    /// GetLink's answer for `code`.
    pub async fn get(&self, code: &str) -> Result<Option<Link>, Status> {
        let response = self
            .client
            .clone()
            .get_link(GetLinkRequest {
                short_code: code.to_string(),
            })
            .await?;
        Ok(response.into_inner().link)
    }

    /// Every link, as ListLinks streams them.
    pub async fn list(&self) -> Result<Vec<Link>, Status> {
        let mut stream = self
            .client
            .clone()
            .list_links(ListLinksRequest::default())
            .await?
            .into_inner();
        let mut links = Vec::new();
        while let Some(link) = stream.message().await? {
            links.push(link);
        }
        Ok(links)
    }
}

fn url(name: &str) -> String {
    format!("https://example.com/quiz-check/{name}")
}

fn check_new_link(link: &Link, sent: &str) -> Result<(), Failure> {
    let problem = if link.url != sent {
        Some("the URL is stored exactly as it was sent")
    } else if !is_short_code(&link.short_code) {
        Some("a short code is 6 characters of a-z and 0-9")
    } else if link.id < 1 {
        Some("ids start at 1")
    } else if link.clicks != 0 {
        Some("a new link has 0 clicks")
    } else {
        None
    };
    match problem {
        None => Ok(()),
        Some(rule) => Err(Failure::new(
            format!("Link {{ id: >= 1, url: {sent:?}, short_code: 6 of [a-z0-9], clicks: 0 }}"),
            format!("{link:?}"),
            format!("The rule: {rule}."),
        )),
    }
}

async fn create_returns_the_new_link(cx: &Context) -> Result<(), Failure> {
    let sent = url("create");
    let link = cx.create(&sent).await?;
    check_new_link(&link, &sent)
}

async fn ids_increase_and_codes_differ(cx: &Context) -> Result<(), Failure> {
    let first = cx.create(&url("first")).await?;
    let second = cx.create(&url("second")).await?;
    if second.id > first.id && second.short_code != first.short_code {
        Ok(())
    } else {
        Err(Failure::new(
            "a second link with a larger id and another short code",
            format!("first {first:?}\nsecond {second:?}"),
            "Count ids with an atomic counter shared by every call (`fetch_add`), and make a new \
             random code for every link.",
        ))
    }
}

async fn get_returns_a_created_link(cx: &Context) -> Result<(), Failure> {
    let created = cx.create(&url("get")).await?;
    match cx.get(&created.short_code).await {
        Ok(Some(link)) if link == created => Ok(()),
        Ok(got) => Err(Failure::new(
            format!("Some({created:?})"),
            format!("{got:?}"),
            "GetLink returns the stored link, as CreateLink returned it.",
        )),
        Err(status) => Err(cx.unexpected("GetLink", format!("Some({created:?})"), &status)),
    }
}

async fn get_unknown_is_not_found(cx: &Context) -> Result<(), Failure> {
    expect_not_found(cx, "GetLink", cx.get("no-such-code").await.map(drop)).await
}

async fn expect_not_found(
    cx: &Context,
    rpc: &str,
    result: Result<(), Status>,
) -> Result<(), Failure> {
    match result {
        Err(status) if status.code() == Code::NotFound => Ok(()),
        Err(status) => Err(cx.unexpected(rpc, "status NOT_FOUND", &status)),
        Ok(()) => Err(Failure::new(
            "status NOT_FOUND",
            "an OK answer",
            format!(
                "When the code is not in the map, {rpc} returns `Err(Status::not_found(...))`."
            ),
        )),
    }
}

async fn delete_removes_the_link(cx: &Context) -> Result<(), Failure> {
    let created = cx.create(&url("delete")).await?;
    cx.client
        .clone()
        .delete_link(DeleteLinkRequest {
            short_code: created.short_code.clone(),
        })
        .await
        .map_err(|status| cx.unexpected("DeleteLink", "an OK answer", &status))?;
    expect_not_found(
        cx,
        "GetLink after DeleteLink",
        cx.get(&created.short_code).await.map(drop),
    )
    .await
}

async fn delete_unknown_is_not_found(cx: &Context) -> Result<(), Failure> {
    let result = cx
        .client
        .clone()
        .delete_link(DeleteLinkRequest {
            short_code: "no-such-code".to_string(),
        })
        .await
        .map(drop);
    expect_not_found(cx, "DeleteLink", result).await
}

async fn list_streams_every_link_in_order(cx: &Context) -> Result<(), Failure> {
    let mut created = Vec::new();
    for name in ["list-1", "list-2", "list-3"] {
        created.push(cx.create(&url(name)).await?);
    }
    let links = cx
        .list()
        .await
        .map_err(|status| cx.unexpected("ListLinks", "a stream of links", &status))?;
    let ids: Vec<i64> = links.iter().map(|link| link.id).collect();
    let ascending = ids.windows(2).all(|pair| pair[0] < pair[1]);
    let missing: Vec<&Link> = created
        .iter()
        .filter(|link| !links.contains(link))
        .collect();
    if ascending && missing.is_empty() {
        Ok(())
    } else {
        Err(Failure::new(
            "every stored link once, ids ascending, including the 3 just created",
            format!(
                "ids {ids:?}{}",
                if missing.is_empty() {
                    String::new()
                } else {
                    format!(", missing {missing:?}")
                }
            ),
            "Copy the links out of the map, sort them by id, and send each one on the stream.",
        ))
    }
}

async fn a_batch_of_three_creates_three_links(cx: &Context) -> Result<(), Failure> {
    let sent: Vec<String> = (1..=3).map(|i| url(&format!("batch-{i}"))).collect();
    let requests: Vec<CreateLinkRequest> = sent
        .iter()
        .map(|url| CreateLinkRequest { url: url.clone() })
        .collect();
    let response = cx
        .client
        .clone()
        .batch_create_links(tokio_stream::iter(requests))
        .await
        .map_err(|status| cx.unexpected("BatchCreateLinks", "created_count: 3", &status))?
        .into_inner();
    let urls: Vec<&str> = response
        .links
        .iter()
        .map(|link| link.url.as_str())
        .collect();
    if response.created_count != 3 || urls != sent {
        return Err(Failure::new(
            format!("created_count: 3, the links of {sent:?} in that order"),
            format!(
                "created_count: {}, links of {urls:?}",
                response.created_count
            ),
            "Read the stream to its end (`while let Some(req) = stream.message().await?`), create \
             a link for each message, and answer with all of them.",
        ));
    }
    for (link, url) in response.links.iter().zip(&sent) {
        check_new_link(link, url)?;
    }
    Ok(())
}

async fn an_empty_batch_creates_nothing(cx: &Context) -> Result<(), Failure> {
    let response = cx
        .client
        .clone()
        .batch_create_links(tokio_stream::iter(Vec::<CreateLinkRequest>::new()))
        .await
        .map_err(|status| cx.unexpected("BatchCreateLinks", "created_count: 0", &status))?
        .into_inner();
    if response.created_count == 0 && response.links.is_empty() {
        Ok(())
    } else {
        Err(Failure::new(
            "created_count: 0, no links",
            format!(
                "created_count: {}, {} links",
                response.created_count,
                response.links.len()
            ),
            "An empty stream is not an error: `message()` returns `Ok(None)` at once.",
        ))
    }
}

async fn sync(cx: &Context, requests: Vec<SyncRequest>) -> Result<Vec<SyncResponse>, Failure> {
    let mut answers = cx
        .client
        .clone()
        .sync_clicks(tokio_stream::iter(requests))
        .await
        .map_err(|status| cx.unexpected("SyncClicks", "a stream of answers", &status))?
        .into_inner();
    let mut got = Vec::new();
    loop {
        match answers.message().await {
            Ok(Some(answer)) => got.push(answer),
            Ok(None) => return Ok(got),
            Err(status) => return Err(cx.unexpected("SyncClicks", "a stream of answers", &status)),
        }
    }
}

async fn sync_adds_clicks_in_order(cx: &Context) -> Result<(), Failure> {
    let link = cx.create(&url("sync")).await?;
    let code = link.short_code;
    let requests = vec![
        SyncRequest {
            short_code: code.clone(),
            clicks: 5,
        },
        SyncRequest {
            short_code: code.clone(),
            clicks: 3,
        },
    ];
    let got = sync(cx, requests).await?;
    let expected = vec![
        SyncResponse {
            short_code: code.clone(),
            total_clicks: 5,
            acknowledged: true,
        },
        SyncResponse {
            short_code: code,
            total_clicks: 8,
            acknowledged: true,
        },
    ];
    if got == expected {
        Ok(())
    } else {
        Err(Failure::new(
            format!("{expected:?}"),
            format!("{got:?}"),
            "Answer every message as it arrives, in order: add its clicks to the link and send \
             back the new total with acknowledged: true.",
        ))
    }
}

async fn sync_of_an_unknown_code_is_not_acknowledged(cx: &Context) -> Result<(), Failure> {
    let got = sync(
        cx,
        vec![SyncRequest {
            short_code: "no-such-code".to_string(),
            clicks: 4,
        }],
    )
    .await?;
    let expected = vec![SyncResponse {
        short_code: "no-such-code".to_string(),
        total_clicks: 0,
        acknowledged: false,
    }];
    if got == expected {
        Ok(())
    } else {
        Err(Failure::new(
            format!("{expected:?}"),
            format!("{got:?}"),
            "An unknown code is not an error that ends the stream: answer it with \
             acknowledged: false and total_clicks: 0, and keep reading.",
        ))
    }
}

async fn answers_grpc(cx: &Context) -> Result<(), Failure> {
    match cx
        .client
        .clone()
        .create_link(CreateLinkRequest { url: url("hello") })
        .await
    {
        Ok(_) => Ok(()),
        Err(status) if status.code() == Code::Unimplemented => Ok(()),
        Err(status) => Err(cx.unexpected(
            "CreateLink",
            "a gRPC answer (UNIMPLEMENTED is right for this lesson)",
            &status,
        )),
    }
}

/// Runs the checks of every RPC in `rpcs`, in the order of the contract.
pub async fn run(cx: &Context, rpcs: &[String], report: &mut Reporter) {
    if rpcs.is_empty() {
        let result = cx.timed("CreateLink", answers_grpc(cx)).await;
        report.record(
            "the server answers a gRPC call (UNIMPLEMENTED is fine in this lesson)",
            result,
        );
        return;
    }
    for rpc in rpcs {
        match rpc.as_str() {
            "CreateLink" => {
                report.record(
                    "CreateLink returns the new link (id >= 1, 6-character code, 0 clicks)",
                    cx.timed(rpc, create_returns_the_new_link(cx)).await,
                );
                report.record(
                    "CreateLink gives each new link a larger id and its own code",
                    cx.timed(rpc, ids_increase_and_codes_differ(cx)).await,
                );
            }
            "GetLink" => {
                report.record(
                    "GetLink returns a created link",
                    cx.timed(rpc, get_returns_a_created_link(cx)).await,
                );
                report.record(
                    "GetLink of an unknown code answers NOT_FOUND",
                    cx.timed(rpc, get_unknown_is_not_found(cx)).await,
                );
            }
            "DeleteLink" => {
                report.record(
                    "DeleteLink removes the link (GetLink then answers NOT_FOUND)",
                    cx.timed(rpc, delete_removes_the_link(cx)).await,
                );
                report.record(
                    "DeleteLink of an unknown code answers NOT_FOUND",
                    cx.timed(rpc, delete_unknown_is_not_found(cx)).await,
                );
            }
            "ListLinks" => report.record(
                "ListLinks streams every link once, in ascending id order",
                cx.timed(rpc, list_streams_every_link_in_order(cx)).await,
            ),
            "BatchCreateLinks" => {
                report.record(
                    "BatchCreateLinks of 3 URLs creates 3 links, in order",
                    cx.timed(rpc, a_batch_of_three_creates_three_links(cx))
                        .await,
                );
                report.record(
                    "BatchCreateLinks of an empty stream creates nothing",
                    cx.timed(rpc, an_empty_batch_creates_nothing(cx)).await,
                );
            }
            "SyncClicks" => {
                report.record(
                    "SyncClicks adds clicks and answers each message, in order",
                    cx.timed(rpc, sync_adds_clicks_in_order(cx)).await,
                );
                report.record(
                    "SyncClicks of an unknown code answers acknowledged: false",
                    cx.timed(rpc, sync_of_an_unknown_code_is_not_acknowledged(cx))
                        .await,
                );
            }
            other => report.note(&format!("(no behaviour check for the RPC {other} yet)")),
        }
    }
}
