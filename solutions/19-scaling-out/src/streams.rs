//! NEW(lesson 17): the response streams of ListLinks and SyncClicks, made by hand.
//!
//! Until lesson 16 each of these streams was a task that sent into a channel, and tonic read the
//! other end: a wake-up, a channel slot and a hop between tasks for every message, and a new
//! deadline timer on each turn of the task's loop. Here the stream itself is the work: tonic
//! polls it when it has room to send, and it answers from what is ready. tonic's encoder takes
//! every message a stream has ready, up to 32 KiB, into one buffer for hyper (which h2 cuts
//! into DATA frames of at most 16 KiB, HTTP/2's default frame size); a stream that is always
//! ready is sent in few, large writes.
//!
//! Nothing runs while nobody polls: when the client stops reading, HTTP/2's flow control
//! stops hyper, hyper stops polling the body, and the stream waits, holding no lock.
//!
//! NEW(lesson 18): the store answers with a future (SQLite reads a page, or commits a batch of
//! clicks, on other threads). The stream keeps the one call it is waiting for, boxed: the
//! future's type is the store's, and naming it would take the store's code into this file.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::time::{Instant, Sleep};
use tokio_stream::Stream;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tonic::{Status, Streaming};
use tracing::Span;

use crate::pb::{Link, SyncRequest, SyncResponse};
use crate::store::{Store, StoreError};

/// NEW(lesson 18): a store call in flight, as the stream holds it.
type Call<T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send>>;

/// How many links ListLinks reads from the store at a time: long enough to fill tonic's 32 KiB
/// buffer several times over, short enough that a CreateLink waits microseconds for the lock.
pub const LIST_PAGE: usize = 256;

/// How many SyncClicks messages are counted by one store call, at most: the messages that have
/// arrived and are ready, up to this many (for SQLite, one UPDATE each in one transaction).
pub const SYNC_BATCH: usize = 128;

/// A call's deadline, as one timer made once per call (a `sleep_until` made on every message
/// would put a new timer in tokio's wheel, and take it out again, each time).
struct Deadline {
    sleep: Option<Pin<Box<Sleep>>>,
    /// Whether the timer is in tokio's timer wheel: it goes in when it is first polled.
    armed: bool,
}

impl Deadline {
    fn new(deadline: Option<Instant>) -> Deadline {
        Deadline {
            sleep: deadline.map(|at| Box::pin(tokio::time::sleep_until(at))),
            armed: false,
        }
    }

    /// Whether the deadline has passed. The first call arms the timer; later calls only read
    /// whether the timer wheel has fired it: a load, not a registration.
    fn passed(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(sleep) = &mut self.sleep else {
            return false;
        };
        if self.armed {
            return sleep.is_elapsed();
        }
        self.armed = true;
        sleep.as_mut().poll(cx).is_ready()
    }

    /// Whether the deadline has passed; if not, the task is woken when it does. For a stream
    /// about to answer `Pending`.
    fn wait(&mut self, cx: &mut Context<'_>) -> bool {
        self.armed = true;
        self.sleep
            .as_mut()
            .is_some_and(|sleep| sleep.as_mut().poll(cx).is_ready())
    }
}

/// ListLinks' response: the store read a page at a time, as tonic asks for links.
pub struct Pages<S> {
    store: S,
    /// The id of the last link read from the store: the next page starts after it.
    after_id: i64,
    /// How many links the call may still send; `None` when it asked for no limit.
    left: Option<usize>,
    /// The page being sent.
    page: std::vec::IntoIter<Link>,
    /// NEW(lesson 18): the next page, while the store reads it.
    reading: Option<Call<Vec<Link>>>,
    deadline: Deadline,
    sent: usize,
    ended: bool,
    /// The call's span, for the line logged when the client goes away.
    span: Span,
}

// Nothing here is pinned in place: the store is only ever used through `&S`, and the call in
// flight is boxed.
impl<S> Unpin for Pages<S> {}

impl<S: Store> Pages<S> {
    /// The links after `after_id`, at most `limit` of them (`None`: all), until `deadline`.
    pub fn new(
        store: S,
        after_id: i64,
        limit: Option<usize>,
        deadline: Option<Instant>,
    ) -> Pages<S> {
        Pages {
            store,
            after_id,
            left: limit,
            page: Vec::new().into_iter(),
            reading: None,
            deadline: Deadline::new(deadline),
            sent: 0,
            ended: false,
            span: Span::current(),
        }
    }

    fn end(&mut self, status: Status) -> Poll<Option<Result<Link, Status>>> {
        self.ended = true;
        Poll::Ready(Some(Err(status)))
    }
}

impl<S: Store> Stream for Pages<S> {
    type Item = Result<Link, Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.ended {
            return Poll::Ready(None);
        }
        // tonic's own timer stops at the handler's return: the stream keeps the deadline.
        if this.deadline.passed(cx) {
            let status =
                Status::deadline_exceeded(format!("the deadline passed after {} links", this.sent));
            return this.end(status);
        }
        if let Some(link) = this.page.next() {
            this.sent += 1;
            return Poll::Ready(Some(Ok(link)));
        }
        let reading = match &mut this.reading {
            Some(reading) => reading,
            None => {
                let wanted = this.left.map_or(LIST_PAGE, |left| left.min(LIST_PAGE));
                if wanted == 0 {
                    this.ended = true;
                    return Poll::Ready(None);
                }
                // The store is asked for one page; nothing is held while tonic sends it.
                let store = this.store.clone();
                let after_id = this.after_id;
                this.reading
                    .insert(Box::pin(async move { store.page(after_id, wanted).await }))
            }
        };
        let page = match reading.as_mut().poll(cx) {
            Poll::Ready(page) => page,
            Poll::Pending => {
                if this.deadline.wait(cx) {
                    this.reading = None;
                    let status = Status::deadline_exceeded(format!(
                        "the deadline passed after {} links",
                        this.sent
                    ));
                    return this.end(status);
                }
                return Poll::Pending;
            }
        };
        this.reading = None;
        let page = match page {
            Ok(page) => page,
            Err(error) => return this.end(error.into()),
        };
        let Some(last) = page.last() else {
            this.ended = true;
            return Poll::Ready(None);
        };
        this.after_id = last.id;
        if let Some(left) = &mut this.left {
            *left -= page.len();
        }
        this.page = page.into_iter();
        match this.page.next() {
            Some(link) => {
                this.sent += 1;
                Poll::Ready(Some(Ok(link)))
            }
            None => {
                this.ended = true;
                Poll::Ready(None)
            }
        }
    }
}

impl<S> Drop for Pages<S> {
    fn drop(&mut self) {
        // Dropped before its end: the client went away (or reset the call), and hyper dropped
        // the body. Nothing more is read from the store.
        if !self.ended {
            tracing::info!(parent: &self.span, sent = self.sent, "ListLinks: the client went away");
        }
    }
}

/// SyncClicks' response: an answer for every request of the inbound stream, in order, counted
/// a batch at a time (every request that is ready, in one store call).
pub struct Answers<S> {
    inbound: Streaming<SyncRequest>,
    store: S,
    /// Answers counted and not yet sent.
    answered: std::vec::IntoIter<SyncResponse>,
    /// NEW(lesson 18): the batch the store is counting. No more requests are read until it
    /// answers: the answers go out in the order of the requests.
    counting: Option<Call<Vec<SyncResponse>>>,
    /// How the inbound stream ended with an error, to send once the answers before it are out.
    failed: Option<Status>,
    deadline: Deadline,
    /// The news that the server is stopping: checked on every message, waited on when idle.
    stopping: CancellationToken,
    stopped: Pin<Box<WaitForCancellationFutureOwned>>,
    ended: bool,
}

// As for `Pages`: nothing is pinned in place.
impl<S> Unpin for Answers<S> {}

impl<S: Store> Answers<S> {
    pub fn new(
        inbound: Streaming<SyncRequest>,
        store: S,
        deadline: Option<Instant>,
        stopping: CancellationToken,
    ) -> Answers<S> {
        Answers {
            inbound,
            store,
            answered: Vec::new().into_iter(),
            counting: None,
            failed: None,
            deadline: Deadline::new(deadline),
            stopped: Box::pin(stopping.clone().cancelled_owned()),
            stopping,
            ended: false,
        }
    }

    fn end(&mut self, status: Status) -> Poll<Option<Result<SyncResponse, Status>>> {
        self.ended = true;
        self.counting = None;
        Poll::Ready(Some(Err(status)))
    }
}

fn deadline_passed() -> Status {
    Status::deadline_exceeded("the stream's deadline passed")
}

fn shutting_down() -> Status {
    Status::unavailable("the server is shutting down: send the rest on a new stream")
}

impl<S: Store> Stream for Answers<S> {
    type Item = Result<SyncResponse, Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            // Every request counted is answered, whatever happens next.
            if let Some(answer) = this.answered.next() {
                return Poll::Ready(Some(Ok(answer)));
            }
            // NEW(lesson 18): a batch in the store: its answers come before anything else.
            if let Some(counting) = &mut this.counting {
                match counting.as_mut().poll(cx) {
                    Poll::Ready(Ok(answers)) => {
                        this.counting = None;
                        this.answered = answers.into_iter();
                        continue;
                    }
                    // The clicks were not acknowledged: the client sends them again, on a new
                    // stream, when the store is back.
                    Poll::Ready(Err(error)) => return this.end(error.into()),
                    Poll::Pending => {
                        if this.deadline.wait(cx) {
                            return this.end(deadline_passed());
                        }
                        return Poll::Pending;
                    }
                }
            }
            if let Some(status) = this.failed.take() {
                // The request stream broke: end the call with its status.
                return this.end(status);
            }
            if this.ended {
                return Poll::Ready(None);
            }
            // A flag read, not a wait: on the hot path the stream only looks.
            if this.stopping.is_cancelled() {
                // The server stops: every request read was answered; the client sends the rest
                // to another server (or to this one, restarted).
                return this.end(shutting_down());
            }
            if this.deadline.passed(cx) {
                return this.end(deadline_passed());
            }

            let mut batch = Vec::new();
            while batch.len() < SYNC_BATCH {
                match Pin::new(&mut this.inbound).poll_next(cx) {
                    Poll::Ready(Some(Ok(request))) => batch.push(request),
                    Poll::Ready(Some(Err(status))) => {
                        this.failed = Some(status);
                        break;
                    }
                    // The client closed its side: the answers still to send are the last.
                    Poll::Ready(None) => {
                        this.ended = true;
                        break;
                    }
                    Poll::Pending => break,
                }
            }
            if !batch.is_empty() {
                let store = this.store.clone();
                this.counting = Some(Box::pin(async move { store.add_clicks(batch).await }));
                continue;
            }
            if this.failed.is_some() || this.ended {
                continue;
            }

            // Nothing to answer: wait for the next request (polled above), the deadline, or the
            // server's stop, whichever comes first.
            if this.stopped.as_mut().poll(cx).is_ready() {
                return this.end(shutting_down());
            }
            if this.deadline.wait(cx) {
                return this.end(deadline_passed());
            }
            return Poll::Pending;
        }
    }
}
