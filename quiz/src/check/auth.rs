//! The black-box checks of lesson 12 (interceptors and metadata): a server started with
//! `--api-key` refuses LinkService calls without the key or with a wrong one (UNAUTHENTICATED),
//! lets the right key through (its scheme in any case, followed by one space or more), echoes
//! an `x-request-id` it is sent in the response's metadata, and gives a call that sent none an
//! id of its own.
//!
//! These checks start a second server of their own, with a key the checker makes up; the other
//! checks run against the server started without one, which must be open.

use std::path::Path;

use shortener_proto::{CreateLinkRequest, ListLinksRequest};
use tonic::metadata::MetadataMap;
use tonic::{Code, Request, Status};

use super::rpc::{self, Context, shown};
use super::server;
use super::{Failure, Limits, Reporter, Todos};

/// Where the lesson's pieces live, for the hints.
const CHECK: &str = "`ApiKey::check` in src/auth.rs";
const WIRING: &str = "`serve` in src/lib.rs";
const REQUEST_ID: &str = "`request_id` and `RequestLog::call` in src/log.rs";

/// A key nobody could guess in advance: the learner's code must compare, not recognise.
fn made_up_key() -> String {
    format!("quiz-check-{:016x}", rand::random::<u64>())
}

/// A CreateLink request with `metadata` (`(key, value)` pairs).
fn create_request(name: &str, metadata: &[(&'static str, &str)]) -> Request<CreateLinkRequest> {
    let mut request = Request::new(CreateLinkRequest {
        url: format!("https://example.com/quiz-check/auth/{name}"),
    });
    for (key, value) in metadata {
        if let Ok(value) = value.parse() {
            request.metadata_mut().insert(*key, value);
        }
    }
    request
}

/// CreateLink with `metadata`, within the call limit: the response's metadata, or the status.
async fn create(
    cx: &Context,
    name: &str,
    metadata: &[(&'static str, &str)],
) -> Result<MetadataMap, Status> {
    let mut client = cx.client.clone();
    let call = client.create_link(create_request(name, metadata));
    match tokio::time::timeout(cx.limit * 2, call).await {
        Ok(Ok(response)) => Ok(response.metadata().clone()),
        Ok(Err(status)) => Err(status),
        Err(_) => Err(Status::deadline_exceeded("Timeout expired: no answer")),
    }
}

/// Whether a call broke off (a panic, a `todo!()`, a timeout) instead of answering.
fn broke_off(status: &Status) -> bool {
    matches!(
        status.code(),
        Code::Unknown
            | Code::Internal
            | Code::Unavailable
            | Code::Cancelled
            | Code::DeadlineExceeded
    )
}

/// The call must be refused with UNAUTHENTICATED.
async fn refused(
    cx: &Context,
    name: &str,
    metadata: &[(&'static str, &str)],
    why: &str,
) -> Result<(), Failure> {
    let expected = "UNAUTHENTICATED";
    match create(cx, name, metadata).await {
        Err(status) if status.code() == Code::Unauthenticated => Ok(()),
        Ok(_) => Err(Failure::new(
            expected,
            "OK: the link was created",
            format!(
                "The server was started with `--api-key KEY`, so {why} must be refused. Is the key \
                 checked at all? {WIRING} must put `ApiKey` in front of LinkService \
                 (`LinkServiceServer::with_interceptor`), and the binary must pass `--api-key` on \
                 in `Settings`."
            ),
        )),
        Err(status) if status.code() == Code::PermissionDenied => Err(Failure::new(
            expected,
            shown(&status),
            format!(
                "PERMISSION_DENIED means \"I know who you are, and you may not do this\". A call \
                 with no valid key has not said who it is: that is UNAUTHENTICATED. See {CHECK}."
            ),
        )),
        Err(status) => Err(cx.unexpected("CreateLink", expected, &status)),
    }
}

/// The right key must let both a unary and a streaming call through.
async fn let_through(cx: &Context, key: &str) -> Result<(), Failure> {
    let auth = format!("Bearer {key}");
    let expected = "OK, for a call with `authorization: Bearer KEY` and the right key";
    if let Err(status) = create(cx, "right-key", &[("authorization", &auth)]).await {
        let hint = if status.code() == Code::Unauthenticated {
            format!(
                "The key sent was the one the server was started with. Does {CHECK} take the \
                 key after `Bearer` and its spaces before it compares? Does it compare with the \
                 key from `--api-key`, byte for byte?"
            )
        } else {
            return Err(cx.unexpected("CreateLink", expected, &status));
        };
        return Err(Failure::new(expected, shown(&status), hint));
    }
    let mut request = Request::new(ListLinksRequest::default());
    if let Ok(value) = auth.parse() {
        request.metadata_mut().insert("authorization", value);
    }
    let list = async {
        let mut stream = cx.client.clone().list_links(request).await?.into_inner();
        while stream.message().await?.is_some() {}
        Ok::<(), Status>(())
    };
    match tokio::time::timeout(cx.limit * 2, list).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(status)) => Err(Failure::new(
            "OK for ListLinks (a streaming call) with the right key",
            shown(&status),
            format!(
                "The interceptor runs for every kind of call the same way: {CHECK} should not \
                 care which method it guards."
            ),
        )),
        Err(_) => Err(Failure::new(
            "ListLinks with the right key to end",
            "no end within the time limit",
            "ListLinks should stream the links and end.",
        )),
    }
}

/// The scheme is case-insensitive (RFC 9110 §11.1) and may be followed by several spaces (RFC
/// 6750's `1*SP`): `bearer  KEY` carries the key as well as `Bearer KEY` does.
async fn any_case_and_spaces(cx: &Context, key: &str) -> Result<(), Failure> {
    let auth = format!("bearer  {key}");
    let expected =
        "OK, for `authorization: bearer  KEY` (lower case, two spaces) with the right key";
    match create(cx, "bearer-case", &[("authorization", &auth)]).await {
        Ok(_) => Ok(()),
        Err(status) if status.code() == Code::Unauthenticated => Err(Failure::new(
            expected,
            shown(&status),
            format!(
                "An authentication scheme is case-insensitive (RFC 9110 §11.1) and RFC 6750 lets \
                 one or more spaces follow it (`\"Bearer\" 1*SP b64token`). {CHECK} must not \
                 strip an exact `Bearer ` prefix: split at the first space, compare the scheme \
                 in any case, and skip the spaces before the key."
            ),
        )),
        Err(status) => Err(cx.unexpected("CreateLink", expected, &status)),
    }
}

/// The id in `metadata`, if any.
fn id_in(metadata: &MetadataMap) -> Option<String> {
    metadata
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .map(String::from)
}

/// An `x-request-id` sent must come back, as it was.
async fn echoes(cx: &Context, key: &str) -> Result<(), Failure> {
    let auth = format!("Bearer {key}");
    let sent = "quiz-check-request-7";
    let expected = format!("`x-request-id: {sent}` in the response's metadata");
    let metadata = match create(
        cx,
        "echo",
        &[("authorization", &auth), ("x-request-id", sent)],
    )
    .await
    {
        Ok(metadata) => metadata,
        Err(status) if broke_off(&status) => {
            return Err(cx.unexpected("CreateLink", &expected, &status));
        }
        Err(status) => status.metadata().clone(),
    };
    match id_in(&metadata) {
        Some(id) if id == sent => Ok(()),
        Some(id) => Err(Failure::new(
            expected,
            format!("x-request-id: {id}"),
            format!(
                "{sent:?} is a usable id (visible ASCII, short): keep the one the client sent, so \
                 that its logs and yours name the call alike. See {REQUEST_ID}."
            ),
        )),
        None => Err(Failure::new(
            expected,
            "no x-request-id in the response's metadata",
            format!(
                "The layer must put the call's id in the response's headers, which are its \
                 metadata. See {REQUEST_ID}."
            ),
        )),
    }
}

/// A call without an id gets one, and two calls get two.
async fn makes_one(cx: &Context, key: &str) -> Result<(), Failure> {
    let auth = format!("Bearer {key}");
    let expected = "a new `x-request-id` in the response's metadata, a different one for each call";
    let mut ids = Vec::new();
    for name in ["new-id-1", "new-id-2"] {
        let metadata = match create(cx, name, &[("authorization", &auth)]).await {
            Ok(metadata) => metadata,
            Err(status) if broke_off(&status) => {
                return Err(cx.unexpected("CreateLink", expected, &status));
            }
            Err(status) => status.metadata().clone(),
        };
        match id_in(&metadata) {
            Some(id) if !id.is_empty() => ids.push(id),
            _ => {
                return Err(Failure::new(
                    expected,
                    "no x-request-id in the response's metadata",
                    format!(
                        "A call that sent no id gets one made by the server. See {REQUEST_ID}."
                    ),
                ));
            }
        }
    }
    if ids[0] == ids[1] {
        Err(Failure::new(
            expected,
            format!("the same id twice: {}", ids[0]),
            format!("Make a new id for each call (random, or a counter). See {REQUEST_ID}."),
        ))
    } else {
        Ok(())
    }
}

/// Starts `binary` with `--api-key` and a key of the checker's own, and runs the checks.
pub async fn run(binary: &Path, name: &str, limits: Limits, todos: &Todos, report: &mut Reporter) {
    let key = made_up_key();
    let args = ["--api-key", key.as_str()];
    let mut started = match server::start_with_args(binary, &args, limits.server_start).await {
        Ok(server) => server,
        Err(failure) => {
            let got = failure.described();
            report.record(
                "the server starts with `--api-key KEY`",
                Err(Failure::new(
                    format!("`{name} --addr 127.0.0.1:0 --api-key KEY` to listen"),
                    got,
                    "The server binary takes `--api-key` (or SHORTENER_API_KEY): an `Option<String>` \
                     argument of its clap `Args`.",
                )),
            );
            return;
        }
    };
    report.record("the server starts with `--api-key KEY`", Ok(()));

    match rpc::connect(started.addr, limits.call).await {
        Err(failure) => report.record(
            "the server with a key accepts a gRPC connection",
            Err(failure),
        ),
        Ok(client) => {
            let cx = Context {
                client,
                limit: limits.call,
                todos: todos.clone(),
                log: started.log.clone(),
            };
            report.record(
                "with `--api-key`, a LinkService call without `authorization` gets UNAUTHENTICATED",
                refused(&cx, "no-key", &[], "a call without `authorization`").await,
            );
            let wrong = format!("Bearer {key}-wrong");
            report.record(
                "with `--api-key`, a call with a wrong key gets UNAUTHENTICATED",
                refused(
                    &cx,
                    "wrong-key",
                    &[("authorization", &wrong)],
                    "a call with a wrong key",
                )
                .await,
            );
            report.record(
                "with `--api-key`, a call with `authorization: Bearer KEY` goes through",
                let_through(&cx, &key).await,
            );
            report.record(
                "with `--api-key`, `bearer` in lower case and with two spaces goes through too",
                any_case_and_spaces(&cx, &key).await,
            );
            report.record(
                "an `x-request-id` sent is echoed in the response's metadata",
                echoes(&cx, &key).await,
            );
            report.record(
                "a call without `x-request-id` gets a new one in the response's metadata",
                makes_one(&cx, &key).await,
            );
        }
    }
    if let Some(status) = started.exited() {
        report.record(
            "the server with a key keeps running through the checks",
            Err(Failure::new(
                "the server still running",
                format!("it exited ({status}); its last output:\n{}", started.log.text()),
                "A panic in main or in a task that owns the server stops it: the output above says where.",
            )),
        );
    }
    started.stop().await;
}
