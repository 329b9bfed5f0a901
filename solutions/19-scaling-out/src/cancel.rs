//! A tower layer that tells a handler whether its request stream was cancelled.
//!
//! tonic turns a client's RST_STREAM(CANCEL) into the end of the request stream: `message()`
//! answers `Ok(None)`, as it does for a stream that ended cleanly. A handler that acts on the
//! whole stream (BatchCreateLinks stores it) cannot tell a finished batch from an abandoned one.
//! The request body can: it ends with END_STREAM, or with an error. This layer sits below tonic,
//! wraps each request's body, and writes down how the body ended in a flag that it puts in the
//! request's extensions, where the handler finds it.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use http_body::{Frame, SizeHint};
use tonic::body::Body;
use tower::{Layer, Service};

/// Whether the client reset the request stream. The layer puts one in every request's
/// extensions; a handler reads it with `request.extensions().get::<StreamReset>()`.
#[derive(Debug, Clone, Default)]
pub struct StreamReset(Arc<AtomicBool>);

impl StreamReset {
    /// True once the request body has ended with an error (a reset) instead of END_STREAM.
    pub fn happened(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// The layer: `Server::builder().layer(StreamResetLayer::for_paths(&[...]))`.
// NEW(lesson 17): it watches the calls whose handler reads the flag, and only those: every
// other request goes by without a flag to allocate or a body to box.
#[derive(Debug, Clone, Copy)]
pub struct StreamResetLayer {
    paths: &'static [&'static str],
}

impl StreamResetLayer {
    /// Watches the requests to these paths (`/shortener.LinkService/BatchCreateLinks`).
    pub const fn for_paths(paths: &'static [&'static str]) -> StreamResetLayer {
        StreamResetLayer { paths }
    }
}

impl<S> Layer<S> for StreamResetLayer {
    type Service = WatchReset<S>;

    fn layer(&self, inner: S) -> WatchReset<S> {
        WatchReset {
            inner,
            paths: self.paths,
        }
    }
}

/// The service the layer wraps around the server's routes.
#[derive(Debug, Clone)]
pub struct WatchReset<S> {
    inner: S,
    paths: &'static [&'static str],
}

impl<S> Service<http::Request<Body>> for WatchReset<S>
where
    S: Service<http::Request<Body>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> S::Future {
        if !self.paths.contains(&request.uri().path()) {
            return self.inner.call(request);
        }
        let reset = StreamReset::default();
        let (mut parts, body) = request.into_parts();
        parts.extensions.insert(reset.clone());
        let body = Body::new(Watched { body, reset });
        self.inner.call(http::Request::from_parts(parts, body))
    }
}

/// A request body that raises the flag when it ends with an error.
struct Watched {
    body: Body,
    reset: StreamReset,
}

impl http_body::Body for Watched {
    type Data = <Body as http_body::Body>::Data;
    type Error = <Body as http_body::Body>::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        if let Poll::Ready(Some(Err(_))) = &polled {
            self.reset.0.store(true, Ordering::SeqCst);
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
