//! The clicks counted in memory and not yet sent, per short code.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use super::FLUSH_AT;

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

    /// Completes when [`FLUSH_AT`] clicks wait (or as soon as they did since the last wait).
    pub async fn full(&self) {
        self.inner.full.notified().await;
    }
}
