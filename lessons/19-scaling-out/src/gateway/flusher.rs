//! The click flusher: it sends the counted clicks to the server over one long-lived SyncClicks
//! stream, every [`FLUSH_EVERY`](super::FLUSH_EVERY) or as soon as [`FLUSH_AT`](super::FLUSH_AT)
//! clicks wait, whichever comes first.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Status, Streaming};

use super::clicks::Clicks;
use super::upstream::GrpcClient;
use super::{CALL_TIMEOUT, LAST_FLUSH};
use crate::pb::{SyncRequest, SyncResponse};

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
            // NEW(lesson 16): the shutdown first, when it is one of several ready: a tick that
            // won the draw would start a flush the shutdown then waits for.
            biased;
            () = &mut shutdown => true,
            _ = ticker.tick() => false,
            () = clicks.full(), if !failing => false,
        };
        let attempts = if stopping { 3 } else { 1 };
        // NEW(lesson 16): the last flush has a deadline of its own, so that the gateway's
        // shutdown is bounded. `batch` lives here, outside the future that the deadline drops,
        // so it still holds exactly the clicks the server did not confirm.
        let deadline = Instant::now() + LAST_FLUSH;
        for attempt in 0..attempts {
            let mut batch = clicks.take();
            if batch.is_empty() {
                break;
            }
            let flushing = flush(&mut client, &mut stream, &mut batch);
            let result = if stopping {
                tokio::time::timeout_at(deadline, flushing)
                    .await
                    .unwrap_or_else(|_| {
                        Err(Status::deadline_exceeded("the last flush ran out of time"))
                    })
            } else {
                flushing.await
            };
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
                        tokio::time::sleep_until(deadline.min(Instant::now() + every)).await;
                    }
                }
            }
        }
        if stopping {
            if let Some(open_stream) = stream {
                let _ = tokio::time::timeout_at(deadline, close(open_stream)).await;
            }
            return clicks.pending();
        }
    }
}
