//! NEW(lesson 17): where the log's lines go: into memory at once, and to stderr a moment later,
//! many lines in one write, from a thread of their own.
//!
//! Writing each line to stderr costs a `write(2)`, and a write into a pipe also wakes whoever
//! reads it. perf put that at a fifth of the server's CPU time on CreateLink. Here the line is
//! appended to a buffer; a thread wakes when the first line lands in an empty buffer, waits
//! [`FLUSH_EVERY`] for others to join it, and writes them all in one go. Every line is still
//! written, in order: nothing is dropped when stderr is slow. When the buffer reaches
//! [`MAX_BUFFER`], the thread that adds to it writes it out itself and waits for stderr, as
//! every line did before, so memory stays bounded.
//!
//! What a line can lose: the last [`FLUSH_EVERY`] of lines if the process is killed (SIGKILL,
//! an abort). A normal exit drops the [`LogGuard`], which writes what is left.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// How long a line may wait in memory before it is written.
pub const FLUSH_EVERY: Duration = Duration::from_millis(50);

/// How many bytes of lines may wait. Past this, the thread adding a line writes them itself.
pub const MAX_BUFFER: usize = 1024 * 1024;

/// Takes the log's lines, for `tracing_subscriber`'s `with_writer`. Cloning it is cheap.
#[derive(Clone)]
pub struct LogWriter {
    shared: Arc<Shared>,
}

struct Shared {
    /// The lines not written yet.
    lines: Mutex<Vec<u8>>,
    /// Where they go. Its lock is taken before `lines`' by whoever writes, so the lines go out
    /// in the order they came.
    out: Mutex<Output>,
    /// Rung when a line lands in an empty buffer, and when the log closes.
    rung: Condvar,
    closing: AtomicBool,
}

/// The other end, and a second buffer: the one being written while `lines` fills.
struct Output {
    to: Box<dyn Write + Send>,
    spare: Vec<u8>,
}

/// Keeps the writing thread; dropped, it writes what is left and stops the thread.
pub struct LogGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl LogWriter {
    /// A writer to stderr.
    pub fn stderr() -> io::Result<(LogWriter, LogGuard)> {
        LogWriter::to(io::stderr())
    }

    /// A writer to `out`, with a thread that writes to it.
    pub fn to(out: impl Write + Send + 'static) -> io::Result<(LogWriter, LogGuard)> {
        let shared = Arc::new(Shared {
            lines: Mutex::new(Vec::with_capacity(64 * 1024)),
            out: Mutex::new(Output {
                to: Box::new(out),
                spare: Vec::with_capacity(64 * 1024),
            }),
            rung: Condvar::new(),
            closing: AtomicBool::new(false),
        });
        let thread = std::thread::Builder::new()
            .name("log-writer".to_string())
            .spawn({
                let shared = shared.clone();
                move || shared.run()
            })?;
        let guard = LogGuard {
            shared: shared.clone(),
            thread: Some(thread),
        };
        Ok((LogWriter { shared }, guard))
    }
}

/// Takes a lock whatever a panic elsewhere left behind: a half-written line is better than
/// no log at all.
fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    fn add(&self, line: &[u8]) {
        let mut lines = lock(&self.lines);
        let was_empty = lines.is_empty();
        lines.extend_from_slice(line);
        let full = lines.len() >= MAX_BUFFER;
        drop(lines);
        if full {
            // stderr does not keep up: wait for it here, as an unbuffered log would.
            self.flush();
        } else if was_empty {
            self.rung.notify_one();
        }
    }

    /// Writes every line waiting, in one write.
    fn flush(&self) {
        let mut out = lock(&self.out);
        let Output { to, spare } = &mut *out;
        // The buffers change places: the lines fill an empty one while these are written.
        std::mem::swap(&mut *lock(&self.lines), spare);
        if spare.is_empty() {
            return;
        }
        // A log that cannot be written (stderr closed) has nowhere to say so.
        let _ = to.write_all(spare).and_then(|()| to.flush());
        spare.clear();
    }

    /// The writing thread: sleeps until a line comes, gives the next ones [`FLUSH_EVERY`] to
    /// join it, writes them all.
    fn run(&self) {
        loop {
            let lines = lock(&self.lines);
            let lines = self
                .rung
                .wait_while(lines, |lines| {
                    lines.is_empty() && !self.closing.load(Ordering::Acquire)
                })
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if self.closing.load(Ordering::Acquire) {
                drop(lines);
                break;
            }
            let _ = self
                .rung
                .wait_timeout_while(lines, FLUSH_EVERY, |_| {
                    !self.closing.load(Ordering::Acquire)
                })
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            self.flush();
        }
        self.flush();
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        // Set under the lock the thread checks `closing` with: set outside it, the store and the
        // ring could both fall between the thread's check and its sleep, and it would sleep,
        // and this join wait, for ever.
        {
            let _lines = lock(&self.shared.lines);
            self.shared.closing.store(true, Ordering::Release);
        }
        self.shared.rung.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What `tracing_subscriber` writes one event to.
pub struct Line<'a> {
    shared: &'a Shared,
}

impl Write for Line<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.shared.add(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogWriter {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Line<'a> {
        Line {
            shared: &self.shared,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `Write` that keeps what it is given, shared with the test.
    #[derive(Clone, Default)]
    struct Kept(Arc<Mutex<Vec<u8>>>);

    impl Write for Kept {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            lock(&self.0).extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_is_written_in_order_by_the_time_the_guard_is_dropped() {
        let kept = Kept::default();
        let (writer, guard) = LogWriter::to(kept.clone()).expect("the writing thread");
        let mut expected = Vec::new();
        for n in 0..10_000 {
            let line = format!("line {n}\n");
            writer
                .make_writer()
                .write_all(line.as_bytes())
                .expect("a line");
            expected.extend_from_slice(line.as_bytes());
        }
        drop(guard);
        assert!(
            lock(&kept.0).as_slice() == expected,
            "lost or reordered lines"
        );
    }

    #[test]
    fn a_line_reaches_the_output_within_a_moment_without_a_guard_dropped() {
        let kept = Kept::default();
        let (writer, _guard) = LogWriter::to(kept.clone()).expect("the writing thread");
        writer
            .make_writer()
            .write_all(b"one line\n")
            .expect("a line");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while lock(&kept.0).is_empty() {
            assert!(
                std::time::Instant::now() < deadline,
                "a line waited more than 5 s: the writing thread was not woken"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(lock(&kept.0).as_slice(), b"one line\n");
    }

    #[test]
    fn a_full_buffer_is_written_by_the_thread_that_fills_it() {
        let kept = Kept::default();
        let (writer, _guard) = LogWriter::to(kept.clone()).expect("the writing thread");
        let big = vec![b'x'; MAX_BUFFER];
        writer.make_writer().write_all(&big).expect("a line");
        // Written before `write_all` returned: no wait for the thread.
        assert_eq!(lock(&kept.0).len(), MAX_BUFFER);
    }
}
