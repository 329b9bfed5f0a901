//! The HTTP routes. Each is one gRPC call and two translations: JSON (or a path) into a proto
//! message, and the answer back into JSON, or its status into an HTTP status.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use tonic::{Code, Request, Status};

use super::clicks::Clicks;
use super::error::ApiError;
use super::upstream::{Clients, GrpcClient, call, for_caller, within_deadline};
// TODO(lesson 15): Exercise 2 needs more of the generated messages, and `HeaderValue`.
use crate::pb::{GetLinkRequest, Link};

/// What every handler shares: the clients, and the clicks not yet sent.
#[derive(Debug, Clone)]
pub struct Gateway {
    /// For the `/v1/*` routes: each call carries its caller's key, never the gateway's.
    pub callers: GrpcClient,
    /// With the gateway's own key: for the redirect.
    pub own: GrpcClient,
    /// The clicks counted and not yet sent.
    pub clicks: Clicks,
}

impl Gateway {
    /// A gateway calling through `clients`, counting clicks into `clicks`.
    pub fn new(clients: Clients, clicks: Clicks) -> Gateway {
        Gateway {
            callers: clients.callers,
            own: clients.own,
            clicks,
        }
    }
}

/// The routes.
pub fn router(gateway: Gateway) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/v1/links", get(list_links).post(create_link))
        .route("/v1/links/{code}", get(get_link).delete(delete_link))
        .route("/{code}", get(follow))
        .fallback(not_found)
        .with_state(gateway)
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

async fn not_found() -> ApiError {
    ApiError::new(Code::NotFound, "no such route")
}

async fn create_link(
    State(gateway): State<Gateway>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    // TODO(lesson 15): Exercise 2. Parse the body into a CreateLinkRequest (bad JSON: 400 with
    // the JSON error body), call CreateLink for the caller, and answer 201 with the link and a
    // Location header.
    let _ = (gateway, headers, body);
    todo!("create_link: POST /v1/links")
}

async fn fetch(
    client: &mut GrpcClient,
    request: Request<GetLinkRequest>,
) -> Result<Link, ApiError> {
    within_deadline(async {
        client
            .get_link(request)
            .await?
            .into_inner()
            .link
            .ok_or_else(|| Status::internal("the server answered without a link"))
    })
    .await
}

async fn get_link(
    State(mut gateway): State<Gateway>,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let request = for_caller(GetLinkRequest { short_code: code }, &headers)?;
    let link = fetch(&mut gateway.callers, request).await?;
    to_json(StatusCode::OK, &link)
}

async fn delete_link(
    State(gateway): State<Gateway>,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> Result<StatusCode, ApiError> {
    // TODO(lesson 15): Exercise 2. Call DeleteLink for the caller; a link deleted leaves
    // nothing to show.
    let _ = (gateway, headers, code);
    todo!("delete_link: DELETE /v1/links/{{code}}")
}

async fn list_links(
    State(gateway): State<Gateway>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    // TODO(lesson 15): Exercise 2. Read the whole ListLinks stream, within the deadline; answer
    // `{"links": [...]}`, each link in proto3 JSON (a small struct deriving `serde::Serialize`).
    let _ = (gateway, headers);
    todo!("list_links: GET /v1/links")
}

/// `GET /{code}`: 302 to the link's URL, and one click counted. The lookup uses the gateway's
/// own key: whoever has a short link may follow it.
async fn follow(
    State(gateway): State<Gateway>,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    // TODO(lesson 15): Exercise 2. Look the link up with the gateway's own client (`call`),
    // count one click for a GET, and redirect with 302.
    let _ = (gateway, code, call::<GetLinkRequest>);
    todo!("follow: GET /{{code}}")
}
