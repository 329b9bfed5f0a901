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
//!
//! A call can also end without a status the layer sees: tonic's own layers sit outside ours, and
//! when a deadline passes, tonic's timer drops our future and answers for it; a client that
//! resets the stream (or closes the connection) makes hyper drop it too. Those calls are logged
//! as CANCELLED, with the reason, when what the layer holds of them is dropped.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::uri::PathAndQuery;
use http::{HeaderMap, HeaderName, HeaderValue};
use http_body::{Frame, SizeHint};
use pin_project_lite::pin_project;
use tonic::Code;
use tonic::body::Body;
use tower::{Layer, Service};
use tracing::{Dispatch, Span};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::prelude::*;

use crate::deadline::{GRPC_TIMEOUT, parse_timeout};
use crate::log_format::{PlainFields, PlainText};
use crate::log_writer::{LogGuard, LogWriter};

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
    /// Why a call was cut off before its status went out; `None` for a call that ended with
    /// a status of its own.
    pub cut_off: Option<&'static str>,
}

impl fmt::Display for CallRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {:?} {:.1?} request-id={}",
            self.method, self.code, self.took, self.request_id
        )?;
        match self.cut_off {
            Some(reason) => write!(f, " ({reason})"),
            None => Ok(()),
        }
    }
}

/// Who hears of every call besides the log: a list in the tests, nobody in the binary.
// NEW(lesson 17): nobody is `None`, so that a call builds no `CallRecord` when nobody listens.
#[derive(Clone, Default)]
pub struct CallLog(Option<Listener>);

/// Whoever hears of every call.
type Listener = Arc<dyn Fn(&CallRecord) + Send + Sync>;

impl CallLog {
    pub fn new(write: impl Fn(&CallRecord) + Send + Sync + 'static) -> CallLog {
        CallLog(Some(Arc::new(write)))
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

/// The log as the binaries write it: the events `filter` lets through, in `format`, to
/// `writer`. `init_tracing` installs it for the whole program; a test can install it for one
/// thread (`tracing::subscriber::set_default`).
pub fn subscriber<W>(format: LogFormat, filter: EnvFilter, writer: W) -> Dispatch
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let log = tracing_subscriber::registry().with(filter);
    match format {
        // NEW(lesson 17): the same line as tracing-subscriber's text format, written by hand
        // (`src/log_format.rs`), without colours.
        LogFormat::Text => Dispatch::new(
            log.with(
                tracing_subscriber::fmt::layer()
                    .event_format(PlainText)
                    .fmt_fields(PlainFields)
                    .with_writer(writer),
            ),
        ),
        // `flatten_event` puts the event's own fields at the top; the span's (method, request
        // id, code) are under "span".
        LogFormat::Json => Dispatch::new(
            log.with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_span_list(false)
                    .with_writer(writer),
            ),
        ),
    }
}

/// Logs to stderr from now on, filtered by `RUST_LOG` (`info` when it is not set).
// NEW(lesson 17): through a `LogWriter`, many lines a write: keep the guard it returns until the
// program ends, and the last lines are written when it is dropped.
pub fn init_tracing(format: LogFormat) -> Result<LogGuard, String> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) => EnvFilter::try_new(&directives)
            .map_err(|error| format!("RUST_LOG={directives:?} is not a filter: {error}"))?,
        Err(_) => EnvFilter::new("info"),
    };
    let (writer, guard) =
        LogWriter::stderr().map_err(|error| format!("cannot start the log's writer: {error}"))?;
    tracing::dispatcher::set_global_default(subscriber(format, filter, writer))
        .map_err(|error| format!("cannot install the log: {error}"))?;
    Ok(guard)
}

impl fmt::Debug for CallLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CallLog")
    }
}

/// The id a call goes by: the client's `x-request-id` if it sent a usable one (1 to
/// [`MAX_REQUEST_ID_LEN`] visible ASCII characters), or a new one: 16 random hex digits.
// NEW(lesson 17): the digits are written into an array, not formatted into a `String`, and the
// value is marked sensitive (below).
pub fn request_id(sent: Option<&HeaderValue>) -> HeaderValue {
    if let Some(sent) = sent {
        let bytes = sent.as_bytes();
        let usable = !bytes.is_empty()
            && bytes.len() <= MAX_REQUEST_ID_LEN
            && bytes.iter().all(u8::is_ascii_graphic);
        if usable {
            let mut id = sent.clone();
            id.set_sensitive(true);
            return id;
        }
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut random = rand::random::<u64>();
    let mut digits = [0u8; 16];
    for digit in digits.iter_mut().rev() {
        *digit = HEX[(random & 0xf) as usize];
        random >>= 4;
    }
    // One allocation, shared by every clone of the value (the request's, the response's, the
    // log's): `Bytes` made from a `Vec` allocates again at its first clone.
    let mut id = HeaderValue::from_maybe_shared(Bytes::from_owner(digits))
        .unwrap_or(HeaderValue::from_static("0"));
    // An id is never sent twice: HPACK's table would only churn on it. "Sensitive" is HPACK's
    // never-indexed literal (RFC 7541, 6.2.3): sent as it is, kept in nobody's table.
    id.set_sensitive(true);
    id
}

/// The status code in `headers`, if they carry one.
fn grpc_status(headers: &HeaderMap) -> Option<Code> {
    const GRPC_STATUS: HeaderName = HeaderName::from_static("grpc-status");
    headers
        .get(GRPC_STATUS)
        .map(|value| Code::from_bytes(value.as_bytes()))
}

/// NEW(lesson 17): a code's name as `{:?}` writes it (`Ok`, `NotFound`), without formatting.
fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "Ok",
        Code::Cancelled => "Cancelled",
        Code::Unknown => "Unknown",
        Code::InvalidArgument => "InvalidArgument",
        Code::DeadlineExceeded => "DeadlineExceeded",
        Code::NotFound => "NotFound",
        Code::AlreadyExists => "AlreadyExists",
        Code::PermissionDenied => "PermissionDenied",
        Code::ResourceExhausted => "ResourceExhausted",
        Code::FailedPrecondition => "FailedPrecondition",
        Code::Aborted => "Aborted",
        Code::OutOfRange => "OutOfRange",
        Code::Unimplemented => "Unimplemented",
        Code::Internal => "Internal",
        Code::Unavailable => "Unavailable",
        Code::DataLoss => "DataLoss",
        Code::Unauthenticated => "Unauthenticated",
    }
}

/// [`REQUEST_ID`] as a header name, made once: a `&str` key is parsed again at every use.
const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static(REQUEST_ID);

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

/// How near its deadline a call must be dropped to count as cut off by it: tonic's timer reads
/// the deadline a moment before this layer does, and fires on a tick of a millisecond.
const DEADLINE_SLACK: Duration = Duration::from_millis(10);

/// The call's deadline, read as the handlers read it, from `grpc-timeout`.
// NEW(lesson 17): read from the header itself, not from a copy of it in a map of its own.
fn call_deadline(headers: &HeaderMap) -> Option<tokio::time::Instant> {
    const TIMEOUT: HeaderName = HeaderName::from_static(GRPC_TIMEOUT);
    let left = parse_timeout(headers.get(TIMEOUT)?.to_str().ok()?)?;
    Some(tokio::time::Instant::now() + left)
}

/// A call in progress: what the log needs once its status is known. Dropped before that, it
/// logs the call as cut off (see `Drop`).
// NEW(lesson 17): the path and the id are shared, not copied: a `PathAndQuery` and a
// `HeaderValue` clone by bumping a count. `String`s are made only for whoever listens.
struct Call {
    path: Option<PathAndQuery>,
    request_id: HeaderValue,
    started: Instant,
    /// When the client stops waiting, if it said (`grpc-timeout`).
    deadline: Option<tokio::time::Instant>,
    span: Span,
    log: CallLog,
    /// Whether the response's headers went out (the status is then in the trailers).
    answered: bool,
    /// Whether the call is in the log already.
    logged: bool,
}

impl Call {
    fn finish(&mut self, code: Code, cut_off: Option<&'static str>) {
        if std::mem::replace(&mut self.logged, true) {
            return;
        }
        let took = self.started.elapsed();
        self.span.record("code", code_name(code));
        // NEW(lesson 17): the duration in whole microseconds: an integer formats in a few dozen
        // instructions, a `Duration`'s `Debug` in thousands.
        let took_us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        tracing::info!(parent: &self.span, took_us, cut_off, "call ended");
        if let Some(listener) = &self.log.0 {
            listener(&CallRecord {
                method: self
                    .path
                    .as_ref()
                    .map_or("", PathAndQuery::path)
                    .to_string(),
                code,
                took,
                request_id: String::from_utf8_lossy(self.request_id.as_bytes()).into_owned(),
                cut_off,
            });
        }
    }
}

impl Drop for Call {
    /// The call was dropped before its status was seen. Before the response, that is tonic's
    /// own timer (outside this layer) at the deadline, or hyper when the client reset the
    /// stream or closed the connection; after it, with the body, the client going away. Either
    /// way the client got no status from this layer: the call is logged as CANCELLED.
    fn drop(&mut self) {
        let at_deadline = self
            .deadline
            .is_some_and(|deadline| tokio::time::Instant::now() + DEADLINE_SLACK >= deadline);
        let reason = if self.answered {
            "cut off before its trailers: the client went away"
        } else if at_deadline {
            "cut off at its deadline"
        } else {
            "cut off before its response: the client went away"
        };
        self.finish(Code::Cancelled, Some(reason));
    }
}

impl<S, B> Service<http::Request<B>> for RequestLog<S>
where
    S: Service<http::Request<B>, Response = http::Response<Body>>,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    // NEW(lesson 17): a future of its own type, not a boxed `async` block.
    type Future = LoggedCall<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let id = request_id(request.headers().get(REQUEST_ID_HEADER));
        // The handlers see the id too, in the request's metadata, whoever made it.
        request.headers_mut().insert(REQUEST_ID_HEADER, id.clone());
        let path = request.uri().path_and_query().cloned();
        // The code is not known yet: the field is declared empty and recorded at the end.
        let span = tracing::info_span!(
            "call",
            method = path.as_ref().map_or("", PathAndQuery::path),
            request_id = id.to_str().unwrap_or_default(),
            code = tracing::field::Empty,
        );
        let call = Call {
            path,
            request_id: id.clone(),
            started: Instant::now(),
            deadline: call_deadline(request.headers()),
            span: span.clone(),
            log: self.log.clone(),
            answered: false,
            logged: false,
        };
        // The handler runs inside the call's span: what it logs carries the method and the id.
        let response = span.in_scope(|| self.inner.call(request));
        LoggedCall {
            response,
            call: Some(call),
            id,
        }
    }
}

pin_project! {
    /// The layer's future: the inner service's, inside the call's span, with the call's log.
    pub struct LoggedCall<F> {
        #[pin]
        response: F,
        call: Option<Call>,
        id: HeaderValue,
    }
}

impl<F, E> Future for LoggedCall<F>
where
    F: Future<Output = Result<http::Response<Body>, E>>,
{
    type Output = Result<http::Response<Body>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let polled = match this.call {
            Some(call) => call.span.in_scope(|| this.response.poll(cx)),
            None => this.response.poll(cx),
        };
        let mut response = match polled {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
            Poll::Ready(Ok(response)) => response,
        };
        response
            .headers_mut()
            .insert(REQUEST_ID_HEADER, this.id.clone());
        let Some(mut call) = this.call.take() else {
            return Poll::Ready(Ok(response));
        };
        // A call that failed before any message (an interceptor's refusal, a handler's `Err`)
        // is answered "trailers-only": the status is in these headers. Otherwise it comes after
        // the messages, in the trailers: watch the body for them.
        if let Some(code) = grpc_status(response.headers()) {
            call.finish(code, None);
            return Poll::Ready(Ok(response));
        }
        call.answered = true;
        let (parts, body) = response.into_parts();
        let body = Body::new(Logged { body, call });
        Poll::Ready(Ok(http::Response::from_parts(parts, body)))
    }
}

/// A response body that logs its call when the trailers go by (and, dropped before them, when
/// its `Call` is dropped).
struct Logged {
    body: Body,
    call: Call,
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
        if let Some(code) = code {
            this.call.finish(code, None);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_sent_never_indexed() {
        assert!(request_id(None).is_sensitive(), "a new id");
        let sent = HeaderValue::from_static("client-id-1");
        let kept = request_id(Some(&sent));
        assert_eq!(kept, "client-id-1", "a usable id is kept");
        assert!(kept.is_sensitive(), "a kept id");
    }

    #[test]
    fn a_codes_name_is_what_debug_writes() {
        for number in 0..=16 {
            let code = Code::from_i32(number);
            assert_eq!(code_name(code), format!("{code:?}"));
        }
    }
}
