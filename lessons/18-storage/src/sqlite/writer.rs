//! The writer task: the one connection that writes, and group commit.
//!
//! Every write of the store is an [`Op`] sent to this task with a oneshot for its answer. The
//! task takes everything queued (up to a cap), runs it in one transaction, commits, updates the
//! cache, and only then answers each caller: an `Ok` means "committed". One commit (one fsync
//! of the WAL) serves the whole group, which is what makes `synchronous = FULL` affordable.
//!
//! Expected outcomes are answers computed in SQL (a colliding code is drawn again, an unknown
//! code or an overflowing total is not acknowledged), so a database error means the transaction
//! is lost: the group is rolled back and every caller in it gets the error. Nothing of a failed
//! group reaches the cache, which is emptied (it refills from SQLite as it is read).

// TODO(lesson 18): delete this line once Exercise 2 uses the helpers below.
#![allow(dead_code, unused_imports)]

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use sqlx::sqlite::SqliteConnection;
use sqlx::{Connection, Sqlite, Transaction};
use tokio::sync::{mpsc, oneshot, watch};

use super::cache::{Cache, Effect};
use crate::pb::{Link, SyncRequest, SyncResponse};
use crate::store::{self, CodeSource, MAX_DRAWS, StoreError};

type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// One write, waiting in the queue.
pub(crate) enum Op {
    Create {
        urls: Vec<String>,
        reply: Reply<Vec<Link>>,
    },
    Delete {
        code: String,
        reply: Reply<bool>,
    },
    Clicks {
        clicks: Vec<SyncRequest>,
        reply: Reply<Vec<SyncResponse>>,
    },
}

impl Op {
    /// The caller stopped waiting (its call was cancelled): the write need not happen.
    fn abandoned(&self) -> bool {
        match self {
            Op::Create { reply, .. } => reply.is_closed(),
            Op::Delete { reply, .. } => reply.is_closed(),
            Op::Clicks { reply, .. } => reply.is_closed(),
        }
    }

    fn fail(self, error: StoreError) {
        // A caller that went away does not read its answer: nothing to do about a failed send.
        let _ = match self {
            Op::Create { reply, .. } => reply.send(Err(error)).is_ok(),
            Op::Delete { reply, .. } => reply.send(Err(error)).is_ok(),
            Op::Clicks { reply, .. } => reply.send(Err(error)).is_ok(),
        };
    }
}

/// A write that ran inside the open transaction: its answer, held until COMMIT.
enum Done {
    Create(Reply<Vec<Link>>, Result<Vec<Link>, StoreError>),
    Delete(Reply<bool>, String, bool),
    Clicks(Reply<Vec<SyncResponse>>, Vec<SyncResponse>),
}

impl Done {
    /// What the committed write changes in the cache.
    fn effects(&self, effects: &mut Vec<Effect>) {
        match self {
            Done::Create(_, Ok(links)) => {
                effects.extend(links.iter().cloned().map(Effect::Created));
            }
            Done::Delete(_, code, true) => effects.push(Effect::Deleted(code.clone())),
            Done::Clicks(_, answers) => effects.extend(
                answers
                    .iter()
                    .filter(|answer| answer.acknowledged)
                    .map(|answer| Effect::Clicked {
                        code: answer.short_code.clone(),
                        total: answer.total_clicks,
                    }),
            ),
            Done::Create(..) | Done::Delete(..) => {}
        }
    }

    fn answer(self) {
        let _ = match self {
            Done::Create(reply, result) => reply.send(result).is_ok(),
            Done::Delete(reply, _, deleted) => reply.send(Ok(deleted)).is_ok(),
            Done::Clicks(reply, answers) => reply.send(Ok(answers)).is_ok(),
        };
    }

    fn fail(self, error: StoreError) {
        let _ = match self {
            Done::Create(reply, _) => reply.send(Err(error)).is_ok(),
            Done::Delete(reply, ..) => reply.send(Err(error)).is_ok(),
            Done::Clicks(reply, _) => reply.send(Err(error)).is_ok(),
        };
    }
}

/// The writer task's state.
pub(crate) struct Writer {
    pub(crate) conn: SqliteConnection,
    pub(crate) codes: Box<dyn CodeSource>,
    pub(crate) cache: Arc<Cache>,
    /// How many queued writes may share one transaction; 1 is a transaction per call.
    pub(crate) group_cap: usize,
}

impl Writer {
    /// Runs until the store is closed (`closing` turns true) or every sender is dropped, then
    /// closes the connection (which checkpoints the WAL into the database file).
    pub(crate) async fn run(
        mut self,
        mut queue: mpsc::Receiver<Op>,
        mut closing: watch::Receiver<bool>,
    ) {
        // TODO(lesson 18): Exercise 2. The group loop, until `recv_many` gives 0 (the queue is
        // closed and empty, or every store handle was dropped); then close `self.conn`.
        // - Take everything queued, up to `self.group_cap` ops, in one `queue.recv_many`; while
        //   waiting, also wait for `closing` to turn true (`closing.wait_for(|c| *c)`): then
        //   `queue.close()` and go on until the queue is empty (every accepted write is
        //   answered).
        // - Drop the ops whose caller has gone (`Op::abandoned`): a cancelled call is not made.
        // - `self.group(&mut ops, &mut done)` runs the rest in one transaction and COMMITs.
        // - On `Ok`: the effects of every `Done` into the cache (`Done::effects`,
        //   `self.cache.apply`), THEN the answers (`Done::answer`). Never an answer before
        //   the COMMIT: an answer says "it is on disk".
        // - On `Err`: `store::from_sqlx(&error, what)` makes the error, `what` saying what was
        //   lost: "a write, rolled back", or "a group of N writes, rolled back" (the tests read
        //   it). Empty the cache (a COMMIT that failed may still have reached the disk) and fail
        //   every `Done` and every `Op` left with it.
        let _ = (&mut self, &mut queue, &mut closing);
        todo!("Exercise 2: the writer's group loop")
    }

    /// One transaction for the queued `ops`: each runs and leaves its answer in `done`; COMMIT.
    /// On `Err`, everything is rolled back; the ops not yet run stay in `ops`.
    async fn group(&mut self, ops: &mut Vec<Op>, done: &mut Vec<Done>) -> Result<(), sqlx::Error> {
        // IMMEDIATE takes the write lock now: if another program (the sqlite3 shell, a backup)
        // holds it, the busy timeout is waited here, before any work.
        let mut tx = self.conn.begin_with("BEGIN IMMEDIATE").await?;
        // The group's CreateLinks first, all in one INSERT: one statement, one trip to the
        // connection's thread, for what would be one each.
        let (singles, others): (Vec<Op>, Vec<Op>) = ops
            .drain(..)
            .partition(|op| matches!(op, Op::Create { urls, .. } if urls.len() == 1));
        ops.extend(others);
        if !singles.is_empty() {
            let urls: Vec<&str> = singles
                .iter()
                .filter_map(|op| match op {
                    Op::Create { urls, .. } => urls.first().map(String::as_str),
                    _ => None,
                })
                .collect();
            match insert_many(&mut tx, self.codes.as_mut(), &urls).await {
                Ok(created) => {
                    for (op, created) in singles.into_iter().zip(created) {
                        if let Op::Create { urls, reply } = op {
                            done.push(Done::Create(
                                reply,
                                created.map(|link| links(vec![link], urls)),
                            ));
                        }
                    }
                }
                Err(error) => {
                    let _ = tx.rollback().await;
                    ops.splice(0..0, singles);
                    return Err(error);
                }
            }
        }
        let mut pending = ops.drain(..);
        let mut failed = None;
        for op in pending.by_ref() {
            match apply(&mut tx, self.codes.as_mut(), op).await {
                Ok(answer) => done.push(answer),
                Err((error, op)) => {
                    failed = Some((error, op));
                    break;
                }
            }
        }
        let rest: Vec<Op> = pending.collect();
        if let Some((error, op)) = failed {
            let _ = tx.rollback().await; // the error is the one that matters
            ops.push(op);
            ops.extend(rest);
            return Err(error);
        }
        tx.commit().await
    }
}

/// Runs one write inside the transaction. A database error hands the op back, so that its
/// caller is answered with the group's error.
async fn apply(
    tx: &mut Transaction<'_, Sqlite>,
    codes: &mut dyn CodeSource,
    op: Op,
) -> Result<Done, (sqlx::Error, Op)> {
    match op {
        Op::Create { urls, reply } => match create(tx, codes, &urls).await {
            Ok(created) => Ok(Done::Create(reply, created.map(|ids| links(ids, urls)))),
            Err(error) => Err((error, Op::Create { urls, reply })),
        },
        Op::Delete { code, reply } => match delete(tx, &code).await {
            Ok(deleted) => Ok(Done::Delete(reply, code, deleted)),
            Err(error) => Err((error, Op::Delete { code, reply })),
        },
        Op::Clicks { clicks, reply } => match add_clicks(tx, &clicks).await {
            Ok(answers) => Ok(Done::Clicks(reply, answers)),
            Err(error) => Err((error, Op::Clicks { clicks, reply })),
        },
    }
}

/// The links of a create, from the ids and codes SQL gave and the URLs that were asked for.
fn links(ids: Vec<(i64, String)>, urls: Vec<String>) -> Vec<Link> {
    ids.into_iter()
        .zip(urls)
        .map(|((id, short_code), url)| Link {
            id,
            url,
            short_code,
            clicks: 0,
        })
        .collect()
}

/// A new link for each URL, all or nothing: `Ok(Err(NoFreeCode))` when a code could not be
/// found, with nothing of this create left in the transaction (the other writes of the group
/// still commit).
async fn create(
    tx: &mut Transaction<'_, Sqlite>,
    codes: &mut dyn CodeSource,
    urls: &[String],
) -> Result<Result<Vec<(i64, String)>, StoreError>, sqlx::Error> {
    if urls.len() == 1 {
        // One INSERT: a failed draw inserted nothing, so no savepoint is needed.
        return Ok(insert(tx, codes, &urls[0]).await?.map(|link| vec![link]));
    }
    // A batch that fails halfway must take back its first links, and only those.
    let mut batch = tx.begin().await?; // SAVEPOINT
    let mut created = Vec::with_capacity(urls.len());
    for url in urls {
        match insert(&mut batch, codes, url).await? {
            Ok(link) => created.push(link),
            Err(error) => {
                batch.rollback().await?; // ROLLBACK TO the savepoint
                return Ok(Err(error));
            }
        }
    }
    batch.commit().await?; // RELEASE the savepoint
    Ok(Ok(created))
}

/// One new link: draws codes until one is free. The UNIQUE constraint on `code` covers live and
/// retired codes alike (a deleted link keeps its row), so `DO NOTHING` is the "draw again".
async fn insert(
    conn: &mut SqliteConnection,
    codes: &mut dyn CodeSource,
    url: &str,
) -> Result<Result<(i64, String), StoreError>, sqlx::Error> {
    for _ in 0..MAX_DRAWS {
        let code = String::from(codes.next_code());
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO links (code, url) VALUES (?1, ?2) \
             ON CONFLICT (code) DO NOTHING RETURNING id",
        )
        .bind(&code)
        .bind(url)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(id) = id {
            return Ok(Ok((id, code)));
        }
    }
    Ok(Err(StoreError::NoFreeCode {
        attempts: MAX_DRAWS,
    }))
}

/// One new link for each URL, in one statement per draw: `INSERT ... VALUES (..), (..) ... ON
/// CONFLICT (code) DO NOTHING RETURNING id, code`. The rows are inserted in the order of the
/// VALUES, so of two URLs that drew the same code the first gets it; a URL whose code was taken
/// draws again, with the others that lost, in the next statement. RETURNING gives the rows in no
/// promised order: they are matched to the URLs by code.
async fn insert_many(
    tx: &mut Transaction<'_, Sqlite>,
    codes: &mut dyn CodeSource,
    urls: &[&str],
) -> Result<Vec<Result<(i64, String), StoreError>>, sqlx::Error> {
    let mut created: Vec<Option<(i64, String)>> = vec![None; urls.len()];
    let mut waiting: Vec<usize> = (0..urls.len()).collect();
    for _ in 0..MAX_DRAWS {
        if waiting.is_empty() {
            break;
        }
        let drawn: Vec<String> = waiting
            .iter()
            .map(|_| String::from(codes.next_code()))
            .collect();
        let mut sql = String::from("INSERT INTO links (code, url) VALUES ");
        for n in 0..waiting.len() {
            let separator = if n == 0 { "" } else { ", " };
            let _ = write!(sql, "{separator}(?{}, ?{})", 2 * n + 1, 2 * n + 2);
        }
        sql.push_str(" ON CONFLICT (code) DO NOTHING RETURNING id, code");
        // Not kept prepared: a group has any size from 1 to its cap, and each size is another
        // statement, which would push the writer's few others out of sqlx's statement cache.
        let mut insert =
            sqlx::query_as::<_, (i64, String)>(sqlx::AssertSqlSafe(sql)).persistent(false);
        for (&index, code) in waiting.iter().zip(&drawn) {
            insert = insert.bind(code.as_str()).bind(urls[index]);
        }
        let mut ids: HashMap<String, i64> = insert
            .fetch_all(&mut **tx)
            .await?
            .into_iter()
            .map(|(id, code)| (code, id))
            .collect();
        let mut lost = Vec::new();
        for (index, code) in waiting.into_iter().zip(drawn) {
            match ids.remove(&code) {
                Some(id) => created[index] = Some((id, code)),
                None => lost.push(index),
            }
        }
        waiting = lost;
    }
    Ok(created
        .into_iter()
        .map(|created| {
            created.ok_or(StoreError::NoFreeCode {
                attempts: MAX_DRAWS,
            })
        })
        .collect())
}

/// Deletes the live link: the row stays as a tombstone (url NULL), so its code stays taken and
/// its id is never used again.
async fn delete(tx: &mut Transaction<'_, Sqlite>, code: &str) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("UPDATE links SET url = NULL, clicks = 0 WHERE code = ?1 AND url IS NOT NULL")
            .bind(code)
            .execute(&mut **tx)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Adds each count in SQL. SQLite turns an integer overflow into a REAL (and the STRICT table
/// refuses it), so the WHERE clause refuses a count that would pass i64::MAX instead.
async fn add_clicks(
    tx: &mut Transaction<'_, Sqlite>,
    clicks: &[SyncRequest],
) -> Result<Vec<SyncResponse>, sqlx::Error> {
    let mut answers = Vec::with_capacity(clicks.len());
    for click in clicks {
        if click.clicks > 0 {
            let total: Option<i64> = sqlx::query_scalar(
                "UPDATE links SET clicks = clicks + ?2 \
                 WHERE code = ?1 AND url IS NOT NULL AND clicks <= 9223372036854775807 - ?2 \
                 RETURNING clicks",
            )
            .bind(&click.short_code)
            .bind(click.clicks)
            .fetch_optional(&mut **tx)
            .await?;
            if let Some(total) = total {
                answers.push(SyncResponse {
                    short_code: click.short_code.clone(),
                    total_clicks: total,
                    acknowledged: true,
                });
                continue;
            }
        }
        // 0, negative, overflowing or unknown: nothing is added; the answer needs the total.
        let total: Option<i64> =
            sqlx::query_scalar("SELECT clicks FROM links WHERE code = ?1 AND url IS NOT NULL")
                .bind(&click.short_code)
                .fetch_optional(&mut **tx)
                .await?;
        answers.push(match total {
            None => store::unknown(click.short_code.clone()),
            Some(total) => SyncResponse {
                short_code: click.short_code.clone(),
                total_clicks: total,
                acknowledged: click.clicks == 0,
            },
        });
    }
    Ok(answers)
}
