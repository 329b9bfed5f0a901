//! The SQLite store (lesson 18): links that survive a crash, on an embedded database.
//!
//! - One writer: a task owns the only connection that writes and commits queued writes in
//!   groups (`writer.rs`); every caller is answered after its group's COMMIT.
//! - Reads: a bounded write-through cache of links by code (`cache.rs`), and read-only
//!   connections for what it misses and for ListLinks' pages.
//! - Opening checks everything that can be wrong with the file (`open.rs`), and takes an
//!   exclusive lock so that this process is the database's only writer.

mod cache;
mod open;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use sqlx::Connection;
use sqlx::sqlite::SqliteConnection;
use tokio::sync::{Mutex, MutexGuard, mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use self::cache::Cache;
pub use self::open::{
    APPLICATION_ID, OpenError, lock_path, migrator, migrator_up_to, schema_version,
};
use self::writer::{Op, Writer};
use crate::pb::{Link, SyncRequest, SyncResponse};
use crate::store::{self, CodeSource, Keyed, RandomCodes, Store, StoreError};

/// How the store runs. `SqliteOptions::default()` is what the server uses.
pub struct SqliteOptions {
    readers: usize,
    cache_capacity: usize,
    group_cap: usize,
    queue: usize,
    quick_check: bool,
    commit_hook: Option<Box<dyn FnMut() -> bool + Send>>,
}

impl Default for SqliteOptions {
    fn default() -> SqliteOptions {
        SqliteOptions {
            readers: 2,
            cache_capacity: 100_000,
            group_cap: 256,
            queue: 4096,
            quick_check: true,
            commit_hook: None,
        }
    }
}

impl std::fmt::Debug for SqliteOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteOptions")
            .field("readers", &self.readers)
            .field("cache_capacity", &self.cache_capacity)
            .field("group_cap", &self.group_cap)
            .field("queue", &self.queue)
            .field("quick_check", &self.quick_check)
            .field("commit_hook", &self.commit_hook.is_some())
            .finish()
    }
}

impl SqliteOptions {
    /// Read-only connections for cache misses and ListLinks (at least 1; default 2). Each is an
    /// OS thread in sqlx; on 2 cores, 2 measured best.
    pub fn readers(self, readers: usize) -> SqliteOptions {
        SqliteOptions {
            readers: readers.max(1),
            ..self
        }
    }

    /// How many links the read cache holds (default 100,000; 0 turns it off). A cached link
    /// costs about 180 bytes of heap with 40-byte URLs (measured for this course).
    pub fn cache_capacity(self, cache_capacity: usize) -> SqliteOptions {
        SqliteOptions {
            cache_capacity,
            ..self
        }
    }

    /// How many queued writes may share one transaction (default 256; 1 is a transaction per
    /// write, for measuring what group commit wins).
    pub fn group_cap(self, group_cap: usize) -> SqliteOptions {
        SqliteOptions {
            group_cap: group_cap.max(1),
            ..self
        }
    }

    /// How many writes may wait for the writer (default 4,096); past that, a write waits for
    /// room (its call's deadline bounds the wait).
    pub fn queue(self, queue: usize) -> SqliteOptions {
        SqliteOptions {
            queue: queue.max(1),
            ..self
        }
    }

    /// Whether opening runs `PRAGMA quick_check` (default true): a damaged page is found at
    /// start, not by the call that first reads it. It reads the whole file: 14 ms for 100,000
    /// links, 135 ms for 1,000,000.
    pub fn quick_check(self, quick_check: bool) -> SqliteOptions {
        SqliteOptions {
            quick_check,
            ..self
        }
    }

    /// Called by SQLite at each COMMIT of the writer, before the commit is durable; returning
    /// false turns that COMMIT into a ROLLBACK (`sqlite3_commit_hook`). Tests fail a commit on
    /// purpose with it. It runs on the connection's thread and must not touch the database.
    pub fn commit_hook(self, hook: impl FnMut() -> bool + Send + 'static) -> SqliteOptions {
        SqliteOptions {
            commit_hook: Some(Box::new(hook)),
            ..self
        }
    }
}

/// Links in a SQLite file. Clones share the database, the writer and the cache.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writes: mpsc::Sender<Op>,
    readers: Box<[Mutex<Option<SqliteConnection>>]>,
    next_reader: AtomicUsize,
    cache: Arc<Cache>,
    closed: AtomicBool,
    closing: watch::Sender<bool>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens `url` (`sqlite:PATH`; the file is created on first start) with random codes and
    /// the default options.
    pub async fn open(url: &str) -> Result<SqliteStore, OpenError> {
        SqliteStore::open_with(url, RandomCodes, SqliteOptions::default()).await
    }

    /// Opens `url` with codes from `codes`. Must run inside a tokio runtime (it spawns the
    /// writer task).
    pub async fn open_with(
        url: &str,
        codes: impl CodeSource,
        options: SqliteOptions,
    ) -> Result<SqliteStore, OpenError> {
        let path = open::parse_url(url)?;
        open::check_path(&path)?;
        let lock = open::lock(&path).await?;
        let mut conn = open::open_writer(&path, options.quick_check).await?;
        let mut readers = Vec::with_capacity(options.readers);
        for _ in 0..options.readers {
            match open::open_reader(&path).await {
                Ok(reader) => readers.push(Mutex::new(Some(reader))),
                Err(error) => {
                    let _ = conn.close().await;
                    return Err(error);
                }
            }
        }
        if let Some(hook) = options.commit_hook {
            match conn.lock_handle().await {
                Ok(mut handle) => handle.set_commit_hook(hook),
                Err(error) => {
                    return Err(OpenError::CannotOpen {
                        path,
                        reason: error.to_string(),
                    });
                }
            }
        }
        let cache = Arc::new(Cache::new(options.cache_capacity));
        let (writes, queue) = mpsc::channel(options.queue);
        let (closing, closing_rx) = watch::channel(false);
        let writer = Writer {
            conn,
            codes: Box::new(codes),
            cache: Arc::clone(&cache),
            group_cap: options.group_cap,
        };
        let writer = tokio::spawn(async move {
            writer.run(queue, closing_rx).await;
            // The writer's connection is closed: now another process may open the file.
            drop(lock);
        });
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path,
                writes,
                readers: readers.into_boxed_slice(),
                next_reader: AtomicUsize::new(0),
                cache,
                closed: AtomicBool::new(false),
                closing,
                writer: Mutex::new(Some(writer)),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// How many writes wait for the writer now (a gauge worth exporting).
    pub fn queued_writes(&self) -> usize {
        self.inner.writes.max_capacity() - self.inner.writes.capacity()
    }

    /// Stops the store: new calls get [`StoreError::Unavailable`]; reads in flight finish;
    /// every write already queued is committed and answered; then the connections are closed
    /// (the writer's last, which checkpoints the WAL into the file) and the lock released.
    /// Call it at shutdown, and always before opening the same file again in one process: a
    /// connection still closing in the background deletes the WAL files by path.
    pub async fn close(&self) {
        self.inner.closed.store(true, Ordering::Release);
        for reader in &self.inner.readers {
            if let Some(conn) = reader.lock().await.take()
                && let Err(error) = conn.close().await
            {
                tracing::warn!(%error, "closing a read connection");
            }
        }
        let _ = self.inner.closing.send(true);
        if let Some(writer) = self.inner.writer.lock().await.take()
            && let Err(error) = writer.await
        {
            tracing::error!(%error, "the writer task failed");
        }
    }

    fn check_open(&self) -> Result<(), StoreError> {
        if self.inner.closed.load(Ordering::Acquire) {
            Err(closed())
        } else {
            Ok(())
        }
    }

    /// A free read connection, else the next one in turn.
    async fn reader(&self) -> MutexGuard<'_, Option<SqliteConnection>> {
        let readers = &self.inner.readers;
        let start = self.inner.next_reader.fetch_add(1, Ordering::Relaxed) % readers.len();
        for offset in 0..readers.len() {
            if let Ok(reader) = readers[(start + offset) % readers.len()].try_lock() {
                return reader;
            }
        }
        readers[start].lock().await
    }

    /// Queues a write and waits for its answer (sent after COMMIT).
    async fn write<T>(
        &self,
        op: impl FnOnce(oneshot::Sender<Result<T, StoreError>>) -> Op,
    ) -> Result<T, StoreError> {
        self.check_open()?;
        let (reply, answer) = oneshot::channel();
        self.inner
            .writes
            .send(op(reply))
            .await
            .map_err(|_| closed())?;
        answer.await.map_err(|_| {
            StoreError::Unavailable(
                "the writer stopped before answering: the write may or may not have been \
                 committed"
                    .to_string(),
            )
        })?
    }
}

fn closed() -> StoreError {
    StoreError::Unavailable("the store is closed".to_string())
}

impl Store for SqliteStore {
    async fn create(&self, urls: Vec<String>) -> Result<Vec<Link>, StoreError> {
        if urls.is_empty() {
            return Ok(Vec::new());
        }
        self.write(|reply| Op::Create { urls, reply }).await
    }

    async fn get(&self, code: &str) -> Result<Option<Link>, StoreError> {
        self.check_open()?;
        if let Some(link) = self.inner.cache.get(code) {
            return Ok(Some(link));
        }
        let generation = self.inner.cache.generation();
        let mut reader = self.reader().await;
        let conn = reader.as_mut().ok_or_else(closed)?;
        let row: Option<(i64, String, i64)> =
            sqlx::query_as("SELECT id, url, clicks FROM links WHERE code = ?1 AND url IS NOT NULL")
                .bind(code)
                .fetch_optional(conn)
                .await
                .map_err(|error| store::from_sqlx(&error, &format!("reading link {code:?}")))?;
        drop(reader);
        let link = row.map(|(id, url, clicks)| Link {
            id,
            url,
            short_code: code.to_string(),
            clicks,
        });
        if let Some(link) = &link {
            self.inner.cache.fill(link, generation);
        }
        Ok(link)
    }

    async fn delete(&self, code: &str) -> Result<bool, StoreError> {
        let code = code.to_string();
        self.write(|reply| Op::Delete { code, reply }).await
    }

    async fn add_clicks(&self, clicks: Vec<SyncRequest>) -> Result<Vec<SyncResponse>, StoreError> {
        if clicks.is_empty() {
            return Ok(Vec::new());
        }
        self.write(|reply| Op::Clicks { clicks, reply }).await
    }

    async fn page(&self, after_id: i64, limit: usize) -> Result<Vec<Link>, StoreError> {
        self.check_open()?;
        let mut reader = self.reader().await;
        let conn = reader.as_mut().ok_or_else(closed)?;
        // Keyset paging: the primary key's order from `after_id` on, LIMIT rows, whatever the
        // table's size. One writer assigns ids and commits them in order, so a page never
        // misses a link that commits later with a lower id (PostgreSQL can: lesson 19).
        let rows: Vec<(i64, String, String, i64)> = sqlx::query_as(
            "SELECT id, code, url, clicks FROM links \
             WHERE id > ?1 AND url IS NOT NULL ORDER BY id LIMIT ?2",
        )
        .bind(after_id)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(conn)
        .await
        .map_err(|error| store::from_sqlx(&error, &format!("reading links after id {after_id}")))?;
        Ok(rows
            .into_iter()
            .map(|(id, short_code, url, clicks)| Link {
                id,
                url,
                short_code,
                clicks,
            })
            .collect())
    }

    /// NEW(lesson 19): a keyed create, through the one writer like every write.
    async fn create_with_key(&self, key: String, url: String) -> Result<Keyed, StoreError> {
        self.write(|reply| Op::CreateKeyed { key, url, reply })
            .await
    }
}
