//! A tower layer around the whole server: it gives every call a request id, echoes that id in
//! the response's metadata, and logs the call's method, status code and duration.
//!
//! NEW(lesson 16): the log is `tracing`'s. Each call is a span, `call`, with the method and
//! the request id from the start and the status code once it is known; whatever the handler
//! logs happens inside it. `RUST_LOG` filters, and [`LogFormat::Json`] writes one JSON object a
//! line for machines.
//!
//! An interceptor could not do this: it sees the request and nothing after it. A layer wraps
//! the service, so it holds the response too, and, for a response whose status comes in the
//! trailers, the body that carries them.

use std::fmt;
use std::future::Future;
use std::io::IsTerminal;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderValue};
use http_body::{Frame, SizeHint};
use tonic::Code;
use tonic::body::Body;
use tower::{Layer, Service};
use tracing::{Instrument, Span};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::prelude::*;

/// The metadata key of the request id, in requests and in responses.
pub const REQUEST_ID: &str = "x-request-id";

/// The longest request id the server takes from a client, in bytes.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// What the log says about one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecord {
    /// The request's path: `/shortener.LinkService/CreateLink`.
    pub method: String,
    /// How the call ended.
    pub code: Code,
    /// From the request's arrival to the status.
    pub took: Duration,
    pub request_id: String,
}

impl fmt::Display for CallRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {:?} {:.1?} request-id={}",
            self.method, self.code, self.took, self.request_id
        )
    }
}

/// Who hears of every call besides the log: a list in the tests, nobody in the binary.
#[derive(Clone)]
pub struct CallLog(Arc<dyn Fn(&CallRecord) + Send + Sync>);

impl CallLog {
    pub fn new(write: impl Fn(&CallRecord) + Send + Sync + 'static) -> CallLog {
        CallLog(Arc::new(write))
    }
}

impl Default for CallLog {
    /// Nobody: the call is in the `tracing` log only.
    fn default() -> CallLog {
        CallLog::new(|_| {})
    }
}

/// How the log is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// One line an event, for people.
    #[default]
    Text,
    /// One JSON object an event, for machines.
    Json,
}

/// Logs to stderr from now on, filtered by `RUST_LOG` (`info` when it is not set).
pub fn init_tracing(format: LogFormat) -> Result<(), String> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) => EnvFilter::try_new(&directives)
            .map_err(|error| format!("RUST_LOG={directives:?} is not a filter: {error}"))?,
        Err(_) => EnvFilter::new("info"),
    };
    let log = tracing_subscriber::registry().with(filter);
    let installed = match format {
        LogFormat::Text => log
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_ansi(std::io::stderr().is_terminal()),
            )
            .try_init(),
        // `flatten_event` puts the event's own fields at the top; the span's (method, request
        // id, code) are under "span".
        LogFormat::Json => log
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_span_list(false)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
    };
    installed.map_err(|error| format!("cannot install the log: {error}"))
}

impl fmt::Debug for CallLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CallLog")
    }
}

/// The id a call goes by: the client's `x-request-id` if it sent a usable one (1 to
/// [`MAX_REQUEST_ID_LEN`] visible ASCII characters), or a new one: 16 random hex digits.
pub fn request_id(sent: Option<&HeaderValue>) -> HeaderValue {
    if let Some(sent) = sent {
        let bytes = sent.as_bytes();
        let usable = !bytes.is_empty()
            && bytes.len() <= MAX_REQUEST_ID_LEN
            && bytes.iter().all(u8::is_ascii_graphic);
        if usable {
            return sent.clone();
        }
    }
    let made = format!("{:016x}", rand::random::<u64>());
    HeaderValue::try_from(made).expect("hex digits are a valid header value")
}

/// The status code in `headers`, if they carry one.
fn grpc_status(headers: &HeaderMap) -> Option<Code> {
    headers
        .get("grpc-status")
        .map(|value| Code::from_bytes(value.as_bytes()))
}

/// The layer: `Server::builder().layer(RequestLogLayer::new(log))`.
#[derive(Debug, Clone)]
pub struct RequestLogLayer {
    log: CallLog,
}

impl RequestLogLayer {
    pub fn new(log: CallLog) -> RequestLogLayer {
        RequestLogLayer { log }
    }
}

impl<S> Layer<S> for RequestLogLayer {
    type Service = RequestLog<S>;

    fn layer(&self, inner: S) -> RequestLog<S> {
        RequestLog {
            inner,
            log: self.log.clone(),
        }
    }
}

/// The service the layer wraps around the server's routes.
#[derive(Debug, Clone)]
pub struct RequestLog<S> {
    inner: S,
    log: CallLog,
}

/// A call in progress: what the log needs once its status is known.
struct Call {
    method: String,
    request_id: String,
    started: Instant,
    span: Span,
    log: CallLog,
}

impl Call {
    fn finish(self, code: Code) {
        let took = self.started.elapsed();
        self.span.record("code", tracing::field::debug(code));
        tracing::info!(parent: &self.span, took = ?took, "call ended");
        (self.log.0)(&CallRecord {
            method: self.method,
            code,
            took,
            request_id: self.request_id,
        });
    }
}

impl<S, B> Service<http::Request<B>> for RequestLog<S>
where
    S: Service<http::Request<B>, Response = http::Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<http::Response<Body>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let id = request_id(request.headers().get(REQUEST_ID));
        // The handlers see the id too, in the request's metadata, whoever made it.
        request.headers_mut().insert(REQUEST_ID, id.clone());
        let method = request.uri().path().to_string();
        let request_id = String::from_utf8_lossy(id.as_bytes()).into_owned();
        // The code is not known yet: the field is declared empty and recorded at the end.
        let span = tracing::info_span!(
            "call",
            method = %method,
            request_id = %request_id,
            code = tracing::field::Empty,
        );
        let call = Call {
            method,
            request_id,
            started: Instant::now(),
            span: span.clone(),
            log: self.log.clone(),
        };
        // `poll_ready` readied `self.inner`, so that is the one to call; a fresh clone stays
        // behind for the next call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(
            async move {
                let mut response = inner.call(request).await?;
                response.headers_mut().insert(REQUEST_ID, id);
                // A call that failed before any message (an interceptor's refusal, a handler's
                // `Err`) is answered "trailers-only": the status is in these headers. Otherwise it
                // comes after the messages, in the trailers: watch the body for them.
                if let Some(code) = grpc_status(response.headers()) {
                    call.finish(code);
                    return Ok(response);
                }
                let (parts, body) = response.into_parts();
                let body = Body::new(Logged {
                    body,
                    call: Some(call),
                });
                Ok(http::Response::from_parts(parts, body))
            }
            // The handler runs inside the call's span: what it logs carries the method and the id.
            .instrument(span),
        )
    }
}

/// A response body that logs its call when the trailers go by.
struct Logged {
    body: Body,
    /// `None` once the call is logged.
    call: Option<Call>,
}

impl http_body::Body for Logged {
    type Data = <Body as http_body::Body>::Data;
    type Error = <Body as http_body::Body>::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.body).poll_frame(cx);
        let code = match &polled {
            Poll::Ready(Some(Ok(frame))) => frame
                .trailers_ref()
                .map(|trailers| grpc_status(trailers).unwrap_or(Code::Unknown)),
            Poll::Ready(Some(Err(status))) => Some(status.code()),
            Poll::Ready(None) => Some(Code::Unknown),
            Poll::Pending => None,
        };
        if let Some(code) = code
            && let Some(call) = this.call.take()
        {
            call.finish(code);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Drop for Logged {
    /// The body was dropped before its trailers: the client went away mid-call.
    fn drop(&mut self) {
        if let Some(call) = self.call.take() {
            call.finish(Code::Cancelled);
        }
    }
}
