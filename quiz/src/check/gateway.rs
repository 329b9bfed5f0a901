//! The black-box checks of lesson 15 (the REST gateway): the checker starts the learner's gateway
//! binary in front of the learner's server (`--server http://SERVER`), and talks plain HTTP/1.1
//! to it, as curl would: a link created with `POST /v1/links` (201, `Location`, proto3 JSON),
//! `GET /{code}` redirecting with 302, the click showing within 1 s (through the gateway and in
//! the server's own GetLink), a `HEAD` that counts no click, the status mapping (404, 400 with a
//! JSON error that carries the server's details, 204), and, in front of a second server started
//! with `--api-key`, a gateway that lends no key: `/v1/links` without one is 401 while `/{code}`
//! still redirects.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use shortener_proto::GetLinkRequest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::rpc::Context;
use super::server;
use super::{Failure, Limits, Reporter};

/// Where the lesson's pieces live, for the hints.
const ROUTES: &str = "the routes in src/gateway/routes.rs";
const TABLE: &str = "`http_status` in src/gateway/status.rs";
const CLICKS: &str = "`sync_clicks` in src/gateway/flusher.rs";

/// The key the checker gives the second server and its gateway.
const CHECK_KEY: &str = "quiz-check-gateway-key";

/// An HTTP answer: the status, the headers (names in lower case) and the body.
pub(super) struct Answer {
    pub(super) status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub(super) fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.body).ok()
    }

    pub(super) fn shown(&self) -> String {
        format!("{} {}", self.status, self.body)
    }
}

/// One request on a new connection (`connection: close`), read to its end within `limit`.
pub(super) async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
    limit: Duration,
) -> Result<Answer, String> {
    http_with(addr, method, path, body, "", limit).await
}

/// [`http`], with more header lines (`extra`: each ends with `\r\n`).
async fn http_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
    extra: &str,
    limit: Duration,
) -> Result<Answer, String> {
    let exchange = async {
        let mut stream = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("cannot connect: {e}"))?;
        let body = body.unwrap_or("");
        let request = format!(
            "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\
             content-type: application/json\r\n{extra}content-length: {}\r\n\r\n{body}",
            body.len()
        );
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| format!("cannot send: {e}"))?;
        let mut raw = Vec::new();
        stream
            .read_to_end(&mut raw)
            .await
            .map_err(|e| format!("cannot read the answer: {e}"))?;
        Ok::<_, String>(String::from_utf8_lossy(&raw).into_owned())
    };
    let raw = tokio::time::timeout(limit, exchange)
        .await
        .map_err(|_| format!("no answer within {} s", limit.as_secs()))??;
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("not an HTTP answer: {raw:?}"))?;
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("no HTTP status line in {head:?}"))?;
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Ok(Answer {
        status,
        headers,
        body: body.to_string(),
    })
}

/// Starts the gateway binary that sits next to the server binary, and runs the checks.
pub async fn run(
    cx: &Context,
    gateway: &Path,
    server_addr: SocketAddr,
    limits: Limits,
    reporter: &mut Reporter,
) {
    let server_url = format!("http://{server_addr}");
    let args = ["--server", server_url.as_str()];
    let name = gateway
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let expected = format!(
        "`{name} --addr 127.0.0.1:0 --server {server_url}` prints `... listening on 127.0.0.1:PORT`"
    );
    let running = match server::start_with_args(gateway, &args, limits.server_start).await {
        Ok(running) => running,
        Err(failure) => {
            let got = failure.described();
            reporter.record(
                "the gateway starts and listens",
                Err(Failure::new(
                    expected,
                    got,
                    "`main` in src/bin/gateway.rs: bind the listener, print its address, then serve.",
                )),
            );
            return;
        }
    };
    reporter.record("the gateway starts and listens", Ok(()));
    let addr = running.addr;
    let limit = limits.call;

    let code = match create(addr, limit).await {
        Ok(code) => {
            reporter.record(
                "POST /v1/links answers 201, a Location and the link in proto3 JSON",
                Ok(()),
            );
            Some(code)
        }
        Err(failure) => {
            reporter.record(
                "POST /v1/links answers 201, a Location and the link in proto3 JSON",
                Err(failure),
            );
            None
        }
    };
    if let Some(code) = &code {
        let redirect = follow(addr, code, limit).await;
        let redirected = redirect.is_ok();
        reporter.record("GET /{code} redirects with 302 to the URL", redirect);
        if redirected {
            reporter.record(
                "the click shows within 1 s, in the gateway and in the server",
                counted(cx, addr, code, limit).await,
            );
        }
    }
    reporter.record(
        "an unknown code gets 404 with a JSON error",
        unknown(addr, limit).await,
    );
    reporter.record(
        "HEAD /{code} redirects and counts no click",
        head(cx, addr, limit).await,
    );
    reporter.record(
        "bad JSON and a bad URL get 400 with a JSON error",
        bad_requests(addr, limit).await,
    );
    reporter.record(
        "a bad URL's 400 carries the server's error details",
        details(addr, limit).await,
    );
    if let Some(code) = &code {
        reporter.record(
            "DELETE /v1/links/{code} answers 204, then the link is gone",
            delete(addr, code, limit).await,
        );
    }
    running.stop().await;
    lends_no_key(gateway, &name, limits, reporter).await;
}

fn http_failure(expected: &str, got: String, hint: &str) -> Failure {
    Failure::new(expected, got, hint)
}

async fn create(addr: SocketAddr, limit: Duration) -> Result<String, Failure> {
    let url = "https://example.com/quiz-check/gateway";
    let expected = "201 Created, `Location: /v1/links/CODE`, and a body like \
                    {\"id\":\"1\",\"url\":\"...\",\"shortCode\":\"k7m2px\",\"clicks\":\"0\"}";
    let body = format!("{{\"url\":\"{url}\"}}");
    let answer = http(addr, "POST", "/v1/links", Some(&body), limit)
        .await
        .map_err(|got| http_failure(expected, got, ROUTES))?;
    if answer.status != 201 {
        return Err(http_failure(
            expected,
            answer.shown(),
            "A created resource answers 201, not 200: return `StatusCode::CREATED` from `create_link`.",
        ));
    }
    let Some(link) = answer.json() else {
        return Err(http_failure(
            expected,
            answer.shown(),
            "The body must be the link as JSON.",
        ));
    };
    let Some(code) = link["shortCode"].as_str() else {
        return Err(http_failure(
            expected,
            answer.shown(),
            "proto3 JSON names fields in lowerCamelCase (`shortCode`, not `short_code`): \
             serialize with the impls pbjson-build writes, not a hand-made struct.",
        ));
    };
    if !link["id"].is_string() || link["clicks"] != "0" {
        return Err(http_failure(
            expected,
            answer.shown(),
            "In proto3 JSON an int64 is a string (`\"id\": \"1\"`), and grpc-gateway writes fields \
             at their default too (`\"clicks\": \"0\"`): `emit_fields()` in build.rs.",
        ));
    }
    if link["url"] != url {
        return Err(http_failure(
            expected,
            answer.shown(),
            "The link's URL is the one sent.",
        ));
    }
    let location = format!("/v1/links/{code}");
    if answer.header("location") != Some(location.as_str()) {
        return Err(http_failure(
            expected,
            format!("Location: {:?}", answer.header("location")),
            "Add a `Location` header naming the new resource, `/v1/links/CODE`.",
        ));
    }
    Ok(code.to_string())
}

async fn follow(addr: SocketAddr, code: &str, limit: Duration) -> Result<(), Failure> {
    let expected = "302 Found with `Location: https://example.com/quiz-check/gateway`";
    let answer = http(addr, "GET", &format!("/{code}"), None, limit)
        .await
        .map_err(|got| http_failure(expected, got, ROUTES))?;
    if answer.status != 302 {
        return Err(http_failure(
            expected,
            answer.shown(),
            "axum's `Redirect::to` answers 303 and `Redirect::temporary` 307: build the 302 \
             yourself, `(StatusCode::FOUND, [(header::LOCATION, url)])`.",
        ));
    }
    if answer.header("location") != Some("https://example.com/quiz-check/gateway") {
        return Err(http_failure(
            expected,
            format!("Location: {:?}", answer.header("location")),
            "The Location is the link's URL, exactly as stored.",
        ));
    }
    Ok(())
}

async fn counted(
    cx: &Context,
    addr: SocketAddr,
    code: &str,
    limit: Duration,
) -> Result<(), Failure> {
    let expected = "\"clicks\": \"1\" in GET /v1/links/CODE, and clicks = 1 in GetLink, within 1 s";
    let started = Instant::now();
    let mut last = String::new();
    while started.elapsed() < Duration::from_secs(1) {
        let answer = http(addr, "GET", &format!("/v1/links/{code}"), None, limit)
            .await
            .map_err(|got| http_failure(expected, got, ROUTES))?;
        last = answer.shown();
        if answer.json().is_some_and(|link| link["clicks"] == "1") {
            let mut client = cx.client.clone();
            let request = GetLinkRequest {
                short_code: code.to_string(),
            };
            let clicks = match tokio::time::timeout(limit, client.get_link(request)).await {
                Ok(Ok(response)) => response.into_inner().link.map(|link| link.clicks),
                _ => None,
            };
            return if clicks == Some(1) {
                Ok(())
            } else {
                Err(http_failure(
                    expected,
                    format!("the gateway says 1, the server's GetLink says {clicks:?}"),
                    "The count must reach the server (SyncClicks), not live in the gateway only.",
                ))
            };
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err(http_failure(
        expected,
        format!("after 1 s: {last}"),
        &format!(
            "{CLICKS}: send the counted clicks every few hundred milliseconds over the \
             SyncClicks stream, and start that task when the gateway starts."
        ),
    ))
}

/// The body is `{"code": N, "message": "..."}` with the gRPC code `code`.
fn json_error(answer: &Answer, code: i64) -> bool {
    answer.json().is_some_and(|error| {
        error["code"] == code && error["message"].as_str().is_some_and(|m| !m.is_empty())
    })
}

async fn unknown(addr: SocketAddr, limit: Duration) -> Result<(), Failure> {
    for path in ["/v1/links/zz0zzz", "/zz0zzz"] {
        let expected =
            format!("GET {path}: 404 and {{\"code\": 5, \"message\": \"...\"}} (NOT_FOUND is 5)");
        let answer = http(addr, "GET", path, None, limit)
            .await
            .map_err(|got| http_failure(&expected, got, ROUTES))?;
        if answer.status != 404 || !json_error(&answer, 5) {
            return Err(http_failure(
                &expected,
                answer.shown(),
                &format!(
                    "{TABLE}: NOT_FOUND maps to 404; the error body carries the code and message."
                ),
            ));
        }
    }
    Ok(())
}

async fn bad_requests(addr: SocketAddr, limit: Duration) -> Result<(), Failure> {
    for body in [
        r#"{"url":"#,
        r#"{"url": 5}"#,
        r#"{"url":"ftp://example.com/x"}"#,
    ] {
        let expected = format!(
            "POST /v1/links with {body}: 400 and {{\"code\": 3, \"message\": \"...\"}} \
             (INVALID_ARGUMENT is 3)"
        );
        let answer = http(addr, "POST", "/v1/links", Some(body), limit)
            .await
            .map_err(|got| http_failure(&expected, got, ROUTES))?;
        if answer.status != 400 || !json_error(&answer, 3) {
            return Err(http_failure(
                &expected,
                answer.shown(),
                &format!(
                    "Bad JSON never reaches the server: refuse it in `create_link` with \
                     INVALID_ARGUMENT's body. A bad URL comes back INVALID_ARGUMENT: {TABLE} \
                     maps it to 400. (axum's own `Json` extractor answers 415/422 in plain text.)"
                ),
            ));
        }
    }
    Ok(())
}

async fn delete(addr: SocketAddr, code: &str, limit: Duration) -> Result<(), Failure> {
    let expected = "DELETE: 204 with no body; then GET /v1/links/CODE: 404";
    let answer = http(addr, "DELETE", &format!("/v1/links/{code}"), None, limit)
        .await
        .map_err(|got| http_failure(expected, got, ROUTES))?;
    if answer.status != 204 {
        return Err(http_failure(
            expected,
            answer.shown(),
            "A DELETE that leaves nothing to show answers 204 No Content.",
        ));
    }
    let answer = http(addr, "GET", &format!("/v1/links/{code}"), None, limit)
        .await
        .map_err(|got| http_failure(expected, got, ROUTES))?;
    if answer.status != 404 {
        return Err(http_failure(
            expected,
            answer.shown(),
            "DELETE must call DeleteLink.",
        ));
    }
    Ok(())
}

/// The clicks GetLink reports for `code`, asked of the server directly.
async fn server_clicks(cx: &Context, code: &str, limit: Duration) -> Option<i64> {
    let mut client = cx.client.clone();
    let request = GetLinkRequest {
        short_code: code.to_string(),
    };
    match tokio::time::timeout(limit, client.get_link(request)).await {
        Ok(Ok(response)) => response.into_inner().link.map(|link| link.clicks),
        _ => None,
    }
}

/// A HEAD, then a GET, of a new link: once a click shows, it must be the GET's one alone. The
/// HEAD came first, so a click it counted would have been sent with the GET's, or before it.
async fn head(cx: &Context, addr: SocketAddr, limit: Duration) -> Result<(), Failure> {
    let expected =
        "HEAD /CODE: 302 with the Location, and no click: after HEAD and GET, clicks = 1";
    let url = "https://example.com/quiz-check/head";
    let answer = http(
        addr,
        "POST",
        "/v1/links",
        Some(&format!("{{\"url\":\"{url}\"}}")),
        limit,
    )
    .await
    .map_err(|got| http_failure(expected, got, ROUTES))?;
    let code = answer
        .json()
        .and_then(|link| link["shortCode"].as_str().map(str::to_string))
        .ok_or_else(|| http_failure(expected, answer.shown(), ROUTES))?;
    let answer = http(addr, "HEAD", &format!("/{code}"), None, limit)
        .await
        .map_err(|got| http_failure(expected, got, ROUTES))?;
    if answer.status != 302 || answer.header("location") != Some(url) {
        return Err(http_failure(
            expected,
            answer.shown(),
            "axum answers HEAD with the GET route's handler: HEAD /CODE redirects as GET does.",
        ));
    }
    let answer = http(addr, "GET", &format!("/{code}"), None, limit)
        .await
        .map_err(|got| http_failure(expected, got, ROUTES))?;
    if answer.status != 302 {
        return Err(http_failure(expected, answer.shown(), ROUTES));
    }
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(1) {
        match server_clicks(cx, &code, limit).await {
            Some(0) | None => tokio::time::sleep(Duration::from_millis(20)).await,
            Some(1) => return Ok(()),
            Some(clicks) => {
                return Err(http_failure(
                    expected,
                    format!("clicks = {clicks} after one HEAD and one GET"),
                    "`follow` in src/gateway/routes.rs: a HEAD (a link checker, a preview) sends \
                     nobody to the link. Count a click only when the method is GET.",
                ));
            }
        }
    }
    Err(http_failure(
        expected,
        "clicks still 0 after 1 s".to_string(),
        &format!("{CLICKS}: the GET's click must reach the server."),
    ))
}

async fn details(addr: SocketAddr, limit: Duration) -> Result<(), Failure> {
    let expected = "POST /v1/links with {\"url\":\"ftp://example.com/x\"}: 400, and `details` \
                    holding {\"@type\": \"type.googleapis.com/google.rpc.BadRequest\", \
                    \"fieldViolations\": [{\"field\": \"url\", ...}]}";
    let answer = http(
        addr,
        "POST",
        "/v1/links",
        Some(r#"{"url":"ftp://example.com/x"}"#),
        limit,
    )
    .await
    .map_err(|got| http_failure(expected, got, ROUTES))?;
    let carried = answer.json().is_some_and(|error| {
        let detail = &error["details"][0];
        detail["@type"] == "type.googleapis.com/google.rpc.BadRequest"
            && detail["fieldViolations"][0]["field"] == "url"
    });
    if answer.status != 400 || !carried {
        return Err(http_failure(
            expected,
            answer.shown(),
            "The server's Status carries a BadRequest detail (lesson 11); the given `ApiError` \
             writes it when `?` turns the call's whole `Status` into an `ApiError`. Build none \
             from the code and message alone.",
        ));
    }
    Ok(())
}

/// A second server, started with `--api-key`, and a gateway in front of it with the same key:
/// the key is the gateway's for the redirect, never lent to a `/v1` caller.
async fn lends_no_key(gateway: &Path, name: &str, limits: Limits, reporter: &mut Reporter) {
    const CHECK: &str = "the gateway lends no key: /v1/links without one is 401, /{code} redirects";
    let expected = "with a server and gateway started with `--api-key KEY`: GET /v1/links without \
                    Authorization is 401 {\"code\": 16, ...}; with `Bearer KEY` it is 200; \
                    GET /CODE without a key is 302";
    let server_binary = gateway.with_file_name(name.replace("-gateway", "-server"));
    let key_args = ["--api-key", CHECK_KEY];
    let server = match server::start_with_args(&server_binary, &key_args, limits.server_start).await
    {
        Ok(server) => server,
        Err(failure) => {
            reporter.record(
                CHECK,
                Err(Failure::new(
                    expected,
                    failure.described(),
                    "The server binary takes `--api-key KEY` (lesson 12).",
                )),
            );
            return;
        }
    };
    let server_url = format!("http://{}", server.addr);
    let args = ["--server", server_url.as_str(), "--api-key", CHECK_KEY];
    let running = match server::start_with_args(gateway, &args, limits.server_start).await {
        Ok(running) => running,
        Err(failure) => {
            reporter.record(
                CHECK,
                Err(Failure::new(
                    expected,
                    failure.described(),
                    "`main` in src/bin/gateway.rs takes `--api-key KEY`: the gateway's own key.",
                )),
            );
            server.stop().await;
            return;
        }
    };
    let result = keyed_checks(running.addr, expected, limits.call).await;
    reporter.record(CHECK, result);
    running.stop().await;
    server.stop().await;
}

async fn keyed_checks(addr: SocketAddr, expected: &str, limit: Duration) -> Result<(), Failure> {
    let with_key = format!("authorization: Bearer {CHECK_KEY}\r\n");
    let url = "https://example.com/quiz-check/keyed";
    let answer = http_with(
        addr,
        "POST",
        "/v1/links",
        Some(&format!("{{\"url\":\"{url}\"}}")),
        &with_key,
        limit,
    )
    .await
    .map_err(|got| http_failure(expected, got, ROUTES))?;
    let code = match (answer.status, answer.json()) {
        (201, Some(link)) => link["shortCode"].as_str().unwrap_or_default().to_string(),
        _ => {
            return Err(http_failure(
                expected,
                format!("POST /v1/links with the key: {}", answer.shown()),
                "A /v1 call sends its caller's `Authorization` header on to the server: build \
                 the request with `for_caller` and call through `callers`.",
            ));
        }
    };
    let answer = http(addr, "GET", "/v1/links", None, limit)
        .await
        .map_err(|got| http_failure(expected, got, ROUTES))?;
    if answer.status != 401 || !json_error(&answer, 16) {
        return Err(http_failure(
            expected,
            format!("GET /v1/links without a key: {}", answer.shown()),
            "The gateway lent its own key to a caller who sent none: anyone who reaches it could \
             list and delete every link. /v1 routes call through `callers` with `for_caller`; \
             only the redirect uses `own`.",
        ));
    }
    let answer = http_with(addr, "GET", "/v1/links", None, &with_key, limit)
        .await
        .map_err(|got| http_failure(expected, got, ROUTES))?;
    if answer.status != 200 {
        return Err(http_failure(
            expected,
            format!("GET /v1/links with the key: {}", answer.shown()),
            "The caller's `Authorization` header must reach the server as it came.",
        ));
    }
    let answer = http(addr, "GET", &format!("/{code}"), None, limit)
        .await
        .map_err(|got| http_failure(expected, got, ROUTES))?;
    if answer.status != 302 {
        return Err(http_failure(
            expected,
            format!("GET /{code} without a key: {}", answer.shown()),
            "A browser follows a short link with no key: `follow` looks the link up through \
             `own`, the gateway's key.",
        ));
    }
    Ok(())
}
