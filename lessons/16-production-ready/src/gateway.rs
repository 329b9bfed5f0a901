//! The REST gateway: JSON over HTTP/1.1 in front of the gRPC server, the way grpc-gateway does it
//! in Go. Every route turns into one gRPC call through a tonic client; the answer's status code
//! turns into an HTTP status through one table, [`http_status`].
//!
//! Clicks do not cost a call each. `GET /{code}` counts the click in memory ([`Clicks`]), and
//! [`sync_clicks`] sends the counts over one long-lived SyncClicks stream, every
//! [`FLUSH_EVERY`] or as soon as [`FLUSH_AT`] clicks wait, whichever comes first.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio_stream::wrappers::ReceiverStream;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use tonic::{Code, Request, Status, Streaming};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::client::BearerKey;
use crate::pb::link_service_client::LinkServiceClient;
use crate::pb::{
    CreateLinkRequest, DeleteLinkRequest, GetLinkRequest, Link, ListLinksRequest, SyncRequest,
    SyncResponse,
};

/// Where the gateway listens for HTTP unless told otherwise.
pub const DEFAULT_GATEWAY_ADDR: &str = "127.0.0.1:8080";
/// The gRPC server the gateway talks to unless told otherwise.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:50051";
/// The deadline of every unary call the gateway makes.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest a counted click waits before it is sent.
pub const FLUSH_EVERY: Duration = Duration::from_millis(200);
/// As many clicks as this waiting starts a flush at once.
pub const FLUSH_AT: i64 = 100;

/// The gRPC client the gateway uses: one channel, the API key on every call.
pub type GrpcClient = LinkServiceClient<InterceptedService<Channel, BearerKey>>;

/// NEW(lesson 16): the gateway's clients, on one channel: LinkService for the routes, and
/// Health for `/healthz`.
#[derive(Debug, Clone)]
pub struct Clients {
    pub links: GrpcClient,
    pub health: HealthClient<Channel>,
}

/// A client for the server at `server` (`http://host:port`). The channel connects on the first
/// call, and again after the server went away, so the gateway starts even when the server is
/// down (its routes answer 503 until it is up).
pub fn connect(server: &str, key: BearerKey) -> Result<Clients, tonic::transport::Error> {
    connect_with_ca(server, key, None)
}

/// NEW(lesson 16): [`connect`], over TLS when there is a CA to trust (the URL is `https://`).
pub fn connect_with_ca(
    server: &str,
    key: BearerKey,
    ca: Option<Certificate>,
) -> Result<Clients, tonic::transport::Error> {
    let mut endpoint = Endpoint::from_shared(server.to_string())?
        .connect_timeout(CALL_TIMEOUT)
        .tcp_nodelay(true);
    if let Some(ca) = ca {
        endpoint = endpoint.tls_config(ClientTlsConfig::new().ca_certificate(ca))?;
    }
    let channel = endpoint.connect_lazy();
    Ok(Clients {
        links: LinkServiceClient::with_interceptor(channel.clone(), key),
        health: HealthClient::new(channel),
    })
}

/// The HTTP status for a gRPC status code: grpc-gateway's table (`HTTPStatusFromCode` in its
/// `runtime/errors.go`), one line per code.
pub fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        // 499 "client closed request": nginx's code, which grpc-gateway uses too.
        Code::Cancelled => StatusCode::from_u16(499).expect("499 is a valid status"),
        Code::Unknown => StatusCode::INTERNAL_SERVER_ERROR,
        Code::InvalidArgument => StatusCode::BAD_REQUEST,
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::FailedPrecondition => StatusCode::BAD_REQUEST,
        Code::Aborted => StatusCode::CONFLICT,
        Code::OutOfRange => StatusCode::BAD_REQUEST,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// An error as the gateway answers it: the HTTP status from [`http_status`], and a body shaped
/// like grpc-gateway's, `{"code": 5, "message": "...", "details": []}` (the gRPC code as a
/// number, as in `google.rpc.Status`).
#[derive(Debug)]
pub struct ApiError {
    code: Code,
    message: String,
}

impl ApiError {
    /// A request the gateway refuses itself, before any call: INVALID_ARGUMENT, so 400.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError {
            code: Code::InvalidArgument,
            message: message.into(),
        }
    }
}

impl From<Status> for ApiError {
    fn from(status: Status) -> ApiError {
        ApiError {
            code: status.code(),
            message: status.message().to_string(),
        }
    }
}

/// The error body, in grpc-gateway's shape.
#[derive(serde::Serialize)]
struct ErrorBody<'a> {
    code: i32,
    message: &'a str,
    details: [(); 0],
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.code as i32,
            message: &self.message,
            details: [],
        };
        match serde_json::to_string(&body) {
            Ok(body) => json_response(http_status(self.code), body),
            Err(_) => http_status(self.code).into_response(),
        }
    }
}

/// The answer of `GET /v1/links`: `{"links": [...]}`, each link in proto3 JSON.
#[derive(serde::Serialize)]
struct LinkList {
    links: Vec<Link>,
}

fn json_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// `value` in proto3's JSON mapping (pbjson's `Serialize`), as a response.
fn to_json<T: serde::Serialize>(status: StatusCode, value: &T) -> Result<Response, ApiError> {
    let body = serde_json::to_string(value).map_err(|error| ApiError {
        code: Code::Internal,
        message: format!("cannot write the answer as JSON: {error}"),
    })?;
    Ok(json_response(status, body))
}

/// A request with the gateway's deadline on it, sent on as `grpc-timeout`.
fn call<T>(message: T) -> Request<T> {
    let mut request = Request::new(message);
    request.set_timeout(CALL_TIMEOUT);
    request
}

/// Clicks counted and not yet sent, per short code. Cheap to clone: every clone is the same count.
#[derive(Debug, Clone, Default)]
pub struct Clicks {
    inner: Arc<ClicksInner>,
}

#[derive(Debug, Default)]
struct ClicksInner {
    pending: Mutex<Pending>,
    full: Notify,
}

#[derive(Debug, Default)]
struct Pending {
    counts: HashMap<String, i64>,
    total: i64,
}

impl Clicks {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        // A panic while the lock was held cannot leave the counts half-written: use them.
        self.inner
            .pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts `clicks` more for `code`. Wakes the flusher when [`FLUSH_AT`] clicks wait.
    pub fn add(&self, code: &str, clicks: i64) {
        let total = {
            let mut pending = self.lock();
            *pending.counts.entry(code.to_string()).or_insert(0) += clicks;
            pending.total += clicks;
            pending.total
        };
        if total >= FLUSH_AT {
            self.inner.full.notify_one();
        }
    }

    /// How many clicks wait to be sent.
    pub fn pending(&self) -> i64 {
        self.lock().total
    }

    /// Takes every waiting count, leaving none.
    pub fn take(&self) -> HashMap<String, i64> {
        let mut pending = self.lock();
        pending.total = 0;
        std::mem::take(&mut pending.counts)
    }
}

/// One open SyncClicks call: where requests go in and answers come out.
struct SyncStream {
    requests: mpsc::Sender<SyncRequest>,
    answers: Streaming<SyncResponse>,
}

async fn open(client: &mut GrpcClient) -> Result<SyncStream, Status> {
    let (requests, rx) = mpsc::channel(16);
    // No deadline: this call lives as long as the gateway. But a server that never answers the
    // call must not hold the flusher (or the shutdown): CALL_TIMEOUT bounds the opening.
    let opening = client.sync_clicks(ReceiverStream::new(rx));
    let answers = tokio::time::timeout(CALL_TIMEOUT, opening)
        .await
        .map_err(|_| Status::deadline_exceeded("SyncClicks did not open within CALL_TIMEOUT"))??
        .into_inner();
    Ok(SyncStream { requests, answers })
}

/// Sends `batch` over the stream (opening one if there is none), one code at a time, waiting
/// for each answer. A code leaves `batch` only once the server has answered for it, so on an
/// error `batch` holds exactly the clicks the server may not have counted.
async fn flush(
    client: &mut GrpcClient,
    stream: &mut Option<SyncStream>,
    batch: &mut HashMap<String, i64>,
) -> Result<(), Status> {
    let open_stream = match stream {
        Some(open_stream) => open_stream,
        None => stream.insert(open(client).await?),
    };
    let codes: Vec<String> = batch.keys().cloned().collect();
    for code in codes {
        let clicks = batch[&code];
        let request = SyncRequest {
            short_code: code.clone(),
            clicks,
        };
        if open_stream.requests.send(request).await.is_err() {
            return Err(Status::unavailable("the SyncClicks stream is closed"));
        }
        // A server that takes the stream and never answers must not hold the flusher (or the
        // shutdown) forever: no answer within CALL_TIMEOUT is a broken stream.
        let answer = tokio::time::timeout(CALL_TIMEOUT, open_stream.answers.message())
            .await
            .map_err(|_| Status::deadline_exceeded("no SyncClicks answer within CALL_TIMEOUT"))?;
        match answer? {
            // Acknowledged, or refused because the link is gone: either way, it is done.
            Some(_answer) => {
                batch.remove(&code);
            }
            None => {
                return Err(Status::unavailable(
                    "the server ended the SyncClicks stream",
                ));
            }
        }
    }
    Ok(())
}

/// Ends our side of the stream and reads the server's last answers, so that the call ends with
/// OK on both sides instead of being reset (dropping `answers` unread would send RST_STREAM).
async fn close(stream: SyncStream) {
    let SyncStream {
        requests,
        mut answers,
    } = stream;
    drop(requests);
    let rest = async { while let Ok(Some(_)) = answers.message().await {} };
    let _ = tokio::time::timeout(CALL_TIMEOUT, rest).await;
}

/// Sends the counted clicks to the server until `shutdown` completes, then sends what is left
/// and returns the number of clicks it could not send (0 unless the server is gone).
///
/// One stream carries every flush. When it breaks (the server restarted, the connection
/// dropped), the clicks it did not confirm go back into the count and the next flush opens a
/// new stream: no click is lost. A click whose answer was lost with the stream is sent again,
/// so a count may come out one flush too high, never too low.
pub async fn sync_clicks(
    mut client: GrpcClient,
    clicks: Clicks,
    every: Duration,
    shutdown: impl Future<Output = ()>,
) -> i64 {
    let mut stream = None;
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    // While the server cannot be reached, only the tick retries: the clicks put back after a
    // failure would wake `full` again at once, and the loop would dial the server nonstop.
    let mut failing = false;
    loop {
        let stopping = tokio::select! {
            _ = ticker.tick() => false,
            () = clicks.inner.full.notified(), if !failing => false,
            () = &mut shutdown => true,
        };
        let attempts = if stopping { 3 } else { 1 };
        for attempt in 0..attempts {
            let mut batch = clicks.take();
            if batch.is_empty() {
                break;
            }
            let result = flush(&mut client, &mut stream, &mut batch).await;
            // What the server did not confirm goes back, to be sent with the next flush.
            for (code, count) in batch {
                clicks.add(&code, count);
            }
            match result {
                Ok(()) => {
                    if failing {
                        tracing::info!("SyncClicks works again");
                        failing = false;
                    }
                    break;
                }
                Err(status) => {
                    if !failing {
                        tracing::warn!(status = status.message(), "SyncClicks failed, will retry");
                        failing = true;
                    }
                    stream = None;
                    if attempt + 1 < attempts {
                        tokio::time::sleep(every).await;
                    }
                }
            }
        }
        if stopping {
            if let Some(open_stream) = stream {
                close(open_stream).await;
            }
            return clicks.pending();
        }
    }
}

/// What every handler shares: the clients, and the clicks not yet sent.
#[derive(Debug, Clone)]
pub struct Gateway {
    /// The gRPC client, with the API key on every call.
    pub client: GrpcClient,
    /// NEW(lesson 16): the server's health, for `/healthz`.
    pub health: HealthClient<Channel>,
    /// The clicks counted and not yet sent.
    pub clicks: Clicks,
}

impl Gateway {
    /// A gateway calling through `clients`, counting clicks into `clicks`.
    pub fn new(clients: Clients, clicks: Clicks) -> Gateway {
        Gateway {
            client: clients.links,
            health: clients.health,
            clicks,
        }
    }
}

/// The routes.
pub fn router(gateway: Gateway) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/healthz", get(healthz))
        .route("/v1/links", get(list_links).post(create_link))
        .route("/v1/links/{code}", get(get_link).delete(delete_link))
        .route("/{code}", get(follow))
        .fallback(not_found)
        .with_state(gateway)
}

/// Serves the gateway on `listener`, calling the server through `client`, until `shutdown`
/// completes; then sends the clicks still counted and returns how many it could not send.
pub async fn serve(
    listener: TcpListener,
    clients: Clients,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<i64> {
    serve_with(listener, clients, FLUSH_EVERY, shutdown).await
}

/// [`serve`], flushing every `every` (tests use a long one to see the flush at shutdown).
pub async fn serve_with(
    listener: TcpListener,
    clients: Clients,
    every: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<i64> {
    let clicks = Clicks::default();
    let (stop, stopped) = oneshot::channel::<()>();
    let syncing = tokio::spawn(sync_clicks(
        clients.links.clone(),
        clicks.clone(),
        every,
        async move {
            let _ = stopped.await;
        },
    ));
    let app = router(Gateway::new(clients, clicks));
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    // No request is in flight any more, so no click can be counted after this flush.
    let _ = stop.send(());
    Ok(syncing.await.unwrap_or(-1))
}

const INDEX: &str = include_str!("../static/index.html");

async fn index() -> Html<&'static str> {
    Html(INDEX)
}

/// NEW(lesson 16): `GET /healthz`, for the gateway's own probes: 200 while the gRPC server says
/// LinkService is SERVING, 503 when it says anything else or cannot be reached.
async fn healthz(State(mut gateway): State<Gateway>) -> Result<Response, ApiError> {
    let request = call(HealthCheckRequest {
        service: "shortener.LinkService".to_string(),
    });
    let status = gateway.health.check(request).await?.into_inner().status();
    let body = format!("{{\"status\":\"{}\"}}", status.as_str_name());
    let code = if status == ServingStatus::Serving {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    Ok(json_response(code, body))
}

async fn not_found() -> ApiError {
    ApiError {
        code: Code::NotFound,
        message: "no such route".to_string(),
    }
}

async fn create_link(
    State(mut gateway): State<Gateway>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: CreateLinkRequest = serde_json::from_slice(&body).map_err(|error| {
        ApiError::bad_request(format!(
            "the body is not a CreateLinkRequest in JSON: {error}"
        ))
    })?;
    let link = gateway
        .client
        .create_link(call(request))
        .await?
        .into_inner()
        .link
        .ok_or_else(|| Status::internal("the server answered without a link"))?;
    let mut response = to_json(StatusCode::CREATED, &link)?;
    let location = HeaderValue::try_from(format!("/v1/links/{}", link.short_code))
        .map_err(|_| Status::internal("the server answered with a short code that is no path"))?;
    response.headers_mut().insert(header::LOCATION, location);
    Ok(response)
}

async fn fetch(gateway: &mut Gateway, short_code: String) -> Result<Link, ApiError> {
    Ok(gateway
        .client
        .get_link(call(GetLinkRequest { short_code }))
        .await?
        .into_inner()
        .link
        .ok_or_else(|| Status::internal("the server answered without a link"))?)
}

async fn get_link(
    State(mut gateway): State<Gateway>,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let link = fetch(&mut gateway, code).await?;
    to_json(StatusCode::OK, &link)
}

async fn delete_link(
    State(mut gateway): State<Gateway>,
    Path(code): Path<String>,
) -> Result<StatusCode, ApiError> {
    gateway
        .client
        .delete_link(call(DeleteLinkRequest { short_code: code }))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_links(State(mut gateway): State<Gateway>) -> Result<Response, ApiError> {
    let mut stream = gateway
        .client
        .list_links(call(ListLinksRequest {}))
        .await?
        .into_inner();
    let mut links = Vec::new();
    while let Some(link) = stream.message().await? {
        links.push(link);
    }
    to_json(StatusCode::OK, &LinkList { links })
}

/// `GET /{code}`: 302 to the link's URL, and one click counted.
async fn follow(
    State(mut gateway): State<Gateway>,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let link = fetch(&mut gateway, code).await?;
    let location = HeaderValue::try_from(link.url.as_str())
        .map_err(|_| Status::internal("the stored URL cannot be a Location header"))?;
    gateway.clicks.add(&link.short_code, 1);
    Ok((StatusCode::FOUND, [(header::LOCATION, location)]).into_response())
}
