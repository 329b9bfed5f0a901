//! NEW(lesson 16): the health service, ended at the drain. tonic-health's `Watch` streams run
//! until the client cancels them; a watcher that never does would hold the server's shutdown
//! until the grace period runs out. Here each Watch ends, with UNAVAILABLE, once the server stops
//! accepting, and the watcher (a gRPC client channel checking health) moves on to another
//! server. `Check` is tonic-health's own.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio_stream::Stream;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tonic::{Request, Response, Status};
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};
use tonic_health::server::{HealthReporter, HealthService};

/// The health service for `reporter`'s statuses, whose Watch streams end when `stopping` is
/// cancelled.
pub fn health_service(
    reporter: HealthReporter,
    stopping: CancellationToken,
) -> HealthServer<DrainingHealth> {
    HealthServer::new(DrainingHealth {
        inner: HealthService::from_health_reporter(reporter),
        stopping,
    })
}

/// tonic-health's service, with Watch streams that end when the server stops accepting.
#[derive(Debug)]
pub struct DrainingHealth {
    inner: HealthService,
    stopping: CancellationToken,
}

#[tonic::async_trait]
impl Health for DrainingHealth {
    async fn check(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        self.inner.check(request).await
    }

    type WatchStream = UntilStopping<<HealthService as Health>::WatchStream>;

    async fn watch(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let statuses = self.inner.watch(request).await?.into_inner();
        Ok(Response::new(UntilStopping::new(
            statuses,
            self.stopping.clone(),
        )))
    }
}

/// The items of a stream until `stopping` is cancelled; then UNAVAILABLE, and the end.
pub struct UntilStopping<S> {
    inner: S,
    stopped: Pin<Box<WaitForCancellationFutureOwned>>,
    ended: bool,
}

impl<S> UntilStopping<S> {
    pub fn new(inner: S, stopping: CancellationToken) -> UntilStopping<S> {
        UntilStopping {
            inner,
            stopped: Box::pin(stopping.cancelled_owned()),
            ended: false,
        }
    }
}

impl<S, T> Stream for UntilStopping<S>
where
    S: Stream<Item = Result<T, Status>> + Unpin,
{
    type Item = Result<T, Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.ended {
            return Poll::Ready(None);
        }
        // What the stream has to say first: a NOT_SERVING set just before the stop goes out.
        if let Poll::Ready(item) = Pin::new(&mut self.inner).poll_next(cx) {
            return Poll::Ready(item);
        }
        if self.stopped.as_mut().poll(cx).is_ready() {
            self.ended = true;
            let status = Status::unavailable("the server is shutting down: watch another one");
            return Poll::Ready(Some(Err(status)));
        }
        Poll::Pending
    }
}
