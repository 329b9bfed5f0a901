//! The HTTP routes. Each is one gRPC call and two translations: JSON (or a path) into a proto
//! message, and the answer back into JSON, or its status into an HTTP status.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use super::clicks::Clicks;
use super::error::ApiError;
use super::upstream::{Clients, call, for_caller, metadata, within_deadline};
use crate::client::Client;
use crate::idempotency::IdempotencyKey;
use crate::pb::{CreateLinkRequest, Link, ListLinksRequest};

/// What every handler shares: the clients, and the clicks not yet sent.
#[derive(Debug, Clone)]
pub struct Gateway {
    /// For the `/v1/*` routes: each call carries its caller's key, never the gateway's.
    /// NEW(lesson 19): over every replica, retrying what is safe to retry.
    pub callers: Client,
    /// With the gateway's own key: for the redirect.
    pub own: Client,
    /// NEW(lesson 16): the server's health, for `/healthz`.
    pub health: HealthClient<Channel>,
    /// The clicks counted and not yet sent.
    pub clicks: Clicks,
}

impl Gateway {
    /// A gateway calling through `clients`, counting clicks into `clicks`.
    pub fn new(clients: Clients, clicks: Clicks) -> Gateway {
        Gateway {
            callers: clients.callers,
            own: clients.own,
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

/// NEW(lesson 17): the links a page of `GET /v1/links` holds unless the client asks for fewer.
pub const DEFAULT_PAGE_SIZE: usize = 100;
/// NEW(lesson 17): the most links a page holds, whatever the client asks for.
pub const MAX_PAGE_SIZE: usize = 1_000;

/// The answer of `GET /v1/links`: `{"links": [...], "nextPageToken": "..."}`, each link in
/// proto3 JSON.
// NEW(lesson 17): a page, and the token of the next one (empty on the last page: AIP-158).
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct LinkList {
    links: Vec<Link>,
    next_page_token: String,
}

/// NEW(lesson 17): what `GET /v1/links?pageSize=N&pageToken=T` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Page {
    /// Links with a greater id than this.
    after_id: i64,
    size: usize,
}

/// NEW(lesson 17): the page a query string asks for, or why it cannot be read. `pageSize`
/// absent or 0 is [`DEFAULT_PAGE_SIZE`], and more than [`MAX_PAGE_SIZE`] is that maximum, as
/// Google's AIP-158 says; `pageToken` must be one this gateway gave.
fn page(query: Option<&str>) -> Result<Page, ApiError> {
    let mut page = Page {
        after_id: 0,
        size: DEFAULT_PAGE_SIZE,
    };
    for pair in query.unwrap_or_default().split('&') {
        match pair.split_once('=') {
            Some(("pageSize", size)) => {
                let size: usize = size.parse().map_err(|_| {
                    ApiError::bad_request(format!(
                        "pageSize must be a whole number from 0 to {MAX_PAGE_SIZE}; it was {size:?}"
                    ))
                })?;
                page.size = match size {
                    0 => DEFAULT_PAGE_SIZE,
                    size => size.min(MAX_PAGE_SIZE),
                };
            }
            Some(("pageToken", "")) => {}
            Some(("pageToken", token)) => page.after_id = read_token(token)?,
            _ => {}
        }
    }
    Ok(page)
}

/// A page token: the id of the last link of the page before, in base64. Opaque to clients: they
/// send back what they were given, and the format can change without them.
fn page_token(last_id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("after:{last_id}"))
}

fn read_token(token: &str) -> Result<i64, ApiError> {
    URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix("after:")?.parse().ok())
        .filter(|id: &i64| *id >= 0)
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "pageToken {token:?} is not one this gateway gave: send back a nextPageToken, or none for the first page"
            ))
        })
}

fn json_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// `value` in proto3's JSON mapping (pbjson's `Serialize`), as a response.
fn to_json<T: serde::Serialize>(status: StatusCode, value: &T) -> Result<Response, ApiError> {
    let body = serde_json::to_string(value).map_err(|error| {
        ApiError::new(
            Code::Internal,
            format!("cannot write the answer as JSON: {error}"),
        )
    })?;
    Ok(json_response(status, body))
}

const INDEX: &str = include_str!("../../static/index.html");

async fn index() -> Html<&'static str> {
    Html(INDEX)
}

/// NEW(lesson 16): `GET /healthz`, for the gateway's own probes: 200 while the gRPC server says
/// LinkService is SERVING, 503 when it says anything else or cannot be reached.
async fn healthz(
    State(mut gateway): State<Gateway>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let request = call(
        HealthCheckRequest {
            service: "shortener.LinkService".to_string(),
        },
        &headers,
    );
    let answer = within_deadline(gateway.health.check(request)).await?;
    let status = answer.into_inner().status();
    let body = format!("{{\"status\":\"{}\"}}", status.as_str_name());
    let code = if status == ServingStatus::Serving {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    Ok(json_response(code, body))
}

async fn not_found() -> ApiError {
    ApiError::new(Code::NotFound, "no such route")
}

/// NEW(lesson 19): the header a REST caller may send so that its own retry of a POST is safe
/// (the IETF's draft "The Idempotency-Key HTTP Header Field"). Passed on as the gRPC metadata.
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";

async fn create_link(
    State(gateway): State<Gateway>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let message: CreateLinkRequest = serde_json::from_slice(&body).map_err(|error| {
        ApiError::bad_request(format!(
            "the body is not a CreateLinkRequest in JSON: {error}"
        ))
    })?;
    // NEW(lesson 19): the caller's key when they sent one, so that their retry finds the link
    // their first POST made; else a key of the gateway's, the same on each of its own retries.
    let key = match headers.get(IDEMPOTENCY_KEY_HEADER) {
        Some(key) => IdempotencyKey::parse(key.as_bytes())
            .map_err(|error| ApiError::bad_request(format!("Idempotency-Key: {error}")))?,
        None => IdempotencyKey::random(),
    };
    let link = gateway
        .callers
        .with_metadata(for_caller(&headers)?)
        .create_with_key(&message.url, Some(key))
        .await?;
    let mut response = to_json(StatusCode::CREATED, &link)?;
    let location = HeaderValue::try_from(format!("/v1/links/{}", link.short_code))
        .map_err(|_| Status::internal("the server answered with a short code that is no path"))?;
    response.headers_mut().insert(header::LOCATION, location);
    Ok(response)
}

async fn get_link(
    State(gateway): State<Gateway>,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let callers = gateway.callers.with_metadata(for_caller(&headers)?);
    let link = callers.get(&code).await?;
    to_json(StatusCode::OK, &link)
}

/// `DELETE /v1/links/{code}`: 204. NEW(lesson 19): also when a retry found the link gone
/// after a first attempt whose answer was lost (`Deleted::AlreadyGone`): DELETE is
/// idempotent in HTTP too.
async fn delete_link(
    State(gateway): State<Gateway>,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> Result<StatusCode, ApiError> {
    let callers = gateway.callers.with_metadata(for_caller(&headers)?);
    callers.delete(&code).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_links(
    State(gateway): State<Gateway>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    // NEW(lesson 17): a page at a time. One link more than the page tells whether there is a
    // next page, without a token that leads to an empty one.
    let page = page(query.as_deref())?;
    let limit = i32::try_from(page.size + 1).unwrap_or(i32::MAX);
    let message = ListLinksRequest {
        after_id: page.after_id,
        limit,
    };
    let callers = gateway.callers.with_metadata(for_caller(&headers)?);
    // The deadline covers the whole stream, not only its first message.
    let mut links = Vec::with_capacity(page.size + 1);
    callers.list(message, |link| links.push(link)).await?;
    let next_page_token = if links.len() > page.size {
        links.truncate(page.size);
        links
            .last()
            .map_or_else(String::new, |last| page_token(last.id))
    } else {
        String::new()
    };
    to_json(
        StatusCode::OK,
        &LinkList {
            links,
            next_page_token,
        },
    )
}

/// `GET /{code}`: 302 to the link's URL, and one click counted. The lookup uses the gateway's
/// own key: whoever has a short link may follow it.
async fn follow(
    State(gateway): State<Gateway>,
    method: Method,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let link = gateway
        .own
        .with_metadata(metadata(&headers))
        .get(&code)
        .await?;
    let location = HeaderValue::try_from(link.url.as_str())
        .map_err(|_| Status::internal("the stored URL cannot be a Location header"))?;
    // axum answers HEAD with the GET route. A HEAD looks at the link (a link checker, a chat
    // app's preview) and sends nobody to it: not a click.
    if method == Method::GET {
        gateway.clicks.add(&link.short_code, 1);
    }
    Ok((StatusCode::FOUND, [(header::LOCATION, location)]).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_reads_its_size_and_token_from_the_query() {
        assert_eq!(
            page(None).ok(),
            Some(Page {
                after_id: 0,
                size: DEFAULT_PAGE_SIZE
            })
        );
        let token = page_token(41);
        let asked = page(Some(&format!("pageSize=5&pageToken={token}"))).ok();
        assert_eq!(
            asked,
            Some(Page {
                after_id: 41,
                size: 5
            })
        );
        let most = page(Some("pageSize=1000000")).ok().map(|page| page.size);
        assert_eq!(most, Some(MAX_PAGE_SIZE));
        for bad in [
            "pageSize=-1",
            "pageSize=ten",
            "pageToken=not-ours",
            "pageToken=YWZ0ZXI6LTE",
        ] {
            assert!(page(Some(bad)).is_err(), "{bad} must be refused");
        }
    }
}
