//! The black-box checks of lesson 18 (storage): what a client and an operator can see of a
//! server that keeps its links in a database.
//!
//! - A link, a delete and clicks acknowledged before a SIGKILL are there after a restart on the
//!   same file; ids go on increasing; a retired code is never handed out again. The server is
//!   offered the retired code first (`SHORTENER_TEST_CODES`, the starter's hidden seam: codes
//!   to try before random ones), so a server that forgot it would hand it out.
//! - Under load (clients creating, deleting and clicking at once), SIGKILL at a random moment,
//!   then a restart: every acknowledged write is there, a few rounds in a row.
//! - A database the server cannot trust is refused before it listens, with exit code 2 and a
//!   message that names the file: not a database, a newer schema, a directory, a missing
//!   folder, a file another server holds, a read-only file (as another user when the checker
//!   runs as root, which may write any file).
//!
//! Every server gets a database in a folder of the check's own (`DATABASE_URL`).
//!
//! The newer schema is `quiz/fixtures/newer-schema.db`: solution 18's server made the file
//! (`--database-url sqlite:links.db`, stopped with SIGTERM), then the sqlite3 shell added a
//! migration it does not know: `PRAGMA journal_mode=DELETE; INSERT INTO _sqlx_migrations
//! (version, description, installed_on, success, checksum, execution_time) SELECT 2, 'from a
//! newer shortener', installed_on, 1, checksum, execution_time FROM _sqlx_migrations WHERE
//! version = 1; VACUUM;`.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use shortener_proto::link_service_client::LinkServiceClient;
use shortener_proto::{CreateLinkRequest, DeleteLinkRequest, GetLinkRequest, SyncRequest};
use tokio::io::AsyncReadExt;
use tokio_stream::StreamExt;
use tonic::Code;
use tonic::transport::Channel;

use super::rpc::{self, shown};
use super::server::{self, RunningServer};
use super::{Failure, Limits, Reporter};
use crate::scratch::{DATABASE_URL, ScratchDir};

/// The variable of the starter's seam: short codes to try, in order, before random ones.
const TEST_CODES: &str = "SHORTENER_TEST_CODES";

/// A database of a newer shortener: schema 1 and a migration 2 this lesson does not know.
const NEWER_SCHEMA: &[u8] = include_bytes!("../../fixtures/newer-schema.db");

/// Where the lesson's pieces live, for the hints.
const WRITER: &str = "Exercise 2, `Writer::run` in src/sqlite/writer.rs";
const HANDLERS: &str = "Exercise 3, the handlers in src/server.rs";
const BINARY: &str = "Exercise 4, `main` in src/bin/server.rs";

/// Rounds of load and SIGKILL.
const ROUNDS: usize = 3;
/// Clients writing at once in each round.
const CLIENTS: usize = 16;
/// The most writes each client makes in a round (the round is usually killed before).
const OPS_PER_CLIENT: usize = 150;

/// Runs every check of the lesson on servers of its own.
pub async fn run(binary: &Path, limits: Limits, reporter: &mut Reporter) {
    let Ok(dir) = ScratchDir::new("storage") else {
        reporter.record(
            "a folder for the storage checks",
            Err(Failure::new(
                "a new folder in the system's temporary folder",
                "it could not be created",
                "Check that the temporary folder (TMPDIR) exists and can be written.",
            )),
        );
        return;
    };
    match restart(binary, limits).await {
        Ok(()) => reporter.record(
            "after SIGKILL and a restart on the same file: links, deletes and clicks are there, \
             ids go on increasing, a retired code is not drawn again",
            Ok(()),
        ),
        Err(failure) => {
            reporter.record(
                "after SIGKILL and a restart on the same file: links, deletes and clicks are \
                 there, ids go on increasing, a retired code is not drawn again",
                Err(failure),
            );
            // The load would fail the same way, only later and less clearly.
            return;
        }
    }
    reporter.record(
        &format!("under load, every acknowledged write survives SIGKILL ({ROUNDS} rounds)"),
        crash_rounds(binary, limits).await,
    );
    refusals(binary, &dir, limits, reporter).await;
}

// ---- Restart -------------------------------------------------------------------------------

async fn start(
    binary: &Path,
    database: ScratchDir,
    codes: &[&str],
    limits: Limits,
) -> Result<RunningServer, Failure> {
    let codes = codes.join(",");
    server::start_on(
        binary,
        &[],
        Some(database),
        &[(TEST_CODES, codes.as_str())],
        limits.server_start,
    )
    .await
    .map_err(|failure| {
        Failure::new(
            "the server starts on its database and says `listening on`",
            failure.described(),
            format!(
                "A server that cannot open its database exits with code 2 and says why; a good \
                 database must open. {BINARY}."
            ),
        )
    })
}

async fn client(addr: SocketAddr, limit: Duration) -> Result<LinkServiceClient<Channel>, Failure> {
    rpc::connect(addr, limit).await
}

/// One link, a delete, clicks; SIGKILL; a restart on the same file; each is checked.
async fn restart(binary: &Path, limits: Limits) -> Result<(), Failure> {
    let limit = limits.call;
    let database = ScratchDir::new("restart")
        .map_err(|error| Failure::new("a folder for the database", error.to_string(), ""))?;
    let first = start(binary, database, &["kq7x2m", "rt4w9a"], limits).await?;
    let mut grpc = client(first.addr, limit).await?;
    let created = |url: &str| CreateLinkRequest {
        url: url.to_string(),
    };
    let kept = grpc
        .create_link(created("https://example.com/kept"))
        .await
        .map_err(|status| {
            Failure::new(
                "CreateLink answers OK",
                shown(&status),
                format!("{HANDLERS}."),
            )
        })?
        .into_inner()
        .link
        .ok_or_else(|| Failure::new("a link in the response", "none", format!("{HANDLERS}.")))?;
    if kept.short_code != "kq7x2m" {
        return Err(Failure::new(
            format!("the first link gets kq7x2m, the first code of {TEST_CODES}"),
            format!("{:?}", kept.short_code),
            "The starter's src/bin/server.rs hands the codes of SHORTENER_TEST_CODES to the store \
             (`PlannedCodes`): the checks use them to offer the server a retired code. Keep that \
             part of main, and make the store draw its codes from the source it is given.",
        ));
    }
    let gone = grpc
        .create_link(created("https://example.com/gone"))
        .await
        .map_err(|status| Failure::new("CreateLink answers OK", shown(&status), ""))?
        .into_inner()
        .link
        .ok_or_else(|| Failure::new("a link in the response", "none", ""))?;
    let clicks = SyncRequest {
        short_code: kept.short_code.clone(),
        clicks: 5,
    };
    let answer = sync_one(&mut grpc, clicks).await.map_err(|got| {
        Failure::new(
            "SyncClicks acknowledges 5 clicks on a live link",
            got,
            format!("{HANDLERS}."),
        )
    })?;
    if !answer.0 || answer.1 != 5 {
        return Err(Failure::new(
            "SyncClicks acknowledges 5 clicks on a new link, total 5",
            format!("acknowledged {}, total {}", answer.0, answer.1),
            format!("{HANDLERS}: `add_clicks` of the store answers each message."),
        ));
    }
    grpc.delete_link(DeleteLinkRequest {
        short_code: gone.short_code.clone(),
    })
    .await
    .map_err(|status| Failure::new("DeleteLink answers OK", shown(&status), ""))?;

    // SIGKILL: no drain, no close. Whatever was acknowledged must be in the file already.
    let database = first.crash().await.ok_or_else(|| {
        Failure::new(
            "the database's folder back from the killed server",
            "none",
            "",
        )
    })?;
    // The retired code is offered first: the store must draw past it.
    let second = start(
        binary,
        database,
        &[gone.short_code.as_str(), "mz3k8q"],
        limits,
    )
    .await?;
    let mut grpc = client(second.addr, limit).await?;
    let after = grpc
        .get_link(GetLinkRequest {
            short_code: kept.short_code.clone(),
        })
        .await
        .map(|response| response.into_inner().link);
    match after {
        Ok(Some(link))
            if link
                == (shortener_proto::Link {
                    clicks: 5,
                    ..kept.clone()
                }) => {}
        other => {
            return Err(Failure::new(
                format!(
                    "GetLink {} after the restart: the link as created (id {}), with the 5 \
                     acknowledged clicks",
                    kept.short_code, kept.id
                ),
                match other {
                    Ok(link) => format!("{link:?}"),
                    Err(status) => shown(&status),
                },
                format!(
                    "An answer means \"it is in the database\": the writer answers after COMMIT \
                     ({WRITER}), and the server opens the file it is given ({BINARY})."
                ),
            ));
        }
    }
    match grpc
        .get_link(GetLinkRequest {
            short_code: gone.short_code.clone(),
        })
        .await
    {
        Err(status) if status.code() == Code::NotFound => {}
        other => {
            return Err(Failure::new(
                format!(
                    "NOT_FOUND for {}, deleted before the SIGKILL",
                    gone.short_code
                ),
                match other {
                    Ok(response) => format!("{:?}", response.into_inner().link),
                    Err(status) => shown(&status),
                },
                format!("An acknowledged delete is committed before its answer ({WRITER})."),
            ));
        }
    }
    let next = grpc
        .create_link(created("https://example.com/next"))
        .await
        .map_err(|status| {
            Failure::new("CreateLink answers OK after a restart", shown(&status), "")
        })?
        .into_inner()
        .link
        .ok_or_else(|| Failure::new("a link in the response", "none", ""))?;
    if next.short_code == gone.short_code {
        return Err(Failure::new(
            format!(
                "a new code: {} was retired (its link deleted) before the restart",
                gone.short_code
            ),
            format!("{} handed out again", next.short_code),
            "A deleted link keeps its row (url NULL: a tombstone), so the UNIQUE code stays taken; \
             a store that deletes the row frees the code for another URL, and an old short URL \
             then points somewhere new.",
        ));
    }
    if next.id <= gone.id {
        return Err(Failure::new(
            format!(
                "an id above {}, the highest ever handed out (its link was deleted)",
                gone.id
            ),
            format!("id {}", next.id),
            "Ids never go back, across restarts too: AUTOINCREMENT remembers the highest id ever \
             given, even when its row is gone.",
        ));
    }
    second.stop().await;
    Ok(())
}

/// One SyncClicks message on a stream of its own: (acknowledged, total), or what went wrong.
async fn sync_one(
    grpc: &mut LinkServiceClient<Channel>,
    click: SyncRequest,
) -> Result<(bool, i64), String> {
    let mut answers = grpc
        .sync_clicks(tokio_stream::iter([click]))
        .await
        .map_err(|status| shown(&status))?
        .into_inner();
    match answers.next().await {
        Some(Ok(answer)) => Ok((answer.acknowledged, answer.total_clicks)),
        Some(Err(status)) => Err(shown(&status)),
        None => Err("the stream ended without an answer".to_string()),
    }
}

// ---- Load and SIGKILL ----------------------------------------------------------------------

/// What the clients saw: a write is noted before it is sent (`Deleting`, `Clicking`) and after
/// it is acknowledged (the others).
#[derive(Debug, Clone)]
enum Seen {
    Created { id: i64, code: String, url: String },
    Deleting(String),
    Deleted(String),
    Clicking(String, i64),
    Clicked(String, i64),
}

type Journal = Arc<Mutex<Vec<Seen>>>;

fn note(journal: &Journal, seen: Seen) {
    journal
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .push(seen);
}

/// What the check knows of one link.
#[derive(Debug)]
struct Known {
    id: i64,
    url: String,
    delete_sent: bool,
    deleted: bool,
    clicked: i64,
    clicks_sent: i64,
}

async fn crash_rounds(binary: &Path, limits: Limits) -> Result<(), Failure> {
    let mut database = Some(
        ScratchDir::new("crash")
            .map_err(|error| Failure::new("a folder for the database", error.to_string(), ""))?,
    );
    let mut known: HashMap<String, Known> = HashMap::new();
    let mut retired: BTreeSet<String> = BTreeSet::new();
    let mut highest = 0;
    for round in 1..=ROUNDS {
        let kill_after = Duration::from_millis(rand::rng().random_range(50..400));
        let offered: Vec<&str> = retired.iter().map(String::as_str).collect();
        let dir = database
            .take()
            .ok_or_else(|| Failure::new("the database", "none", ""))?;
        let server = start(binary, dir, &offered, limits).await?;
        let journal = Journal::default();
        let channel = rpc::channel(server.addr, limits.call)
            .await
            .map_err(|_| Failure::new("a connection to the server", "none", ""))?;
        let clients: Vec<_> = (0..CLIENTS)
            .map(|n| {
                tokio::spawn(load(
                    LinkServiceClient::new(channel.clone()),
                    n,
                    journal.clone(),
                ))
            })
            .collect();
        tokio::time::sleep(kill_after).await;
        database = server.crash().await;
        for client in clients {
            let _ = tokio::time::timeout(limits.call, client).await;
        }
        let context = format!("round {round} of {ROUNDS}, SIGKILL {kill_after:?} after the start");
        let seen = journal
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        let mut this_round = 0;
        for seen in seen {
            match seen {
                Seen::Created { id, code, url } => {
                    if id <= highest {
                        return Err(Failure::new(
                            format!("ids above {highest}, the highest before this round"),
                            format!("{context}: {code} got id {id}"),
                            "Ids go on increasing across restarts (AUTOINCREMENT).",
                        ));
                    }
                    if retired.contains(&code) {
                        return Err(Failure::new(
                            "no retired code handed out again",
                            format!(
                                "{context}: {code}, deleted in an earlier round, was drawn again"
                            ),
                            "A deleted link keeps its row (a tombstone) so that its code stays taken.",
                        ));
                    }
                    this_round = this_round.max(id);
                    known.insert(
                        code,
                        Known {
                            id,
                            url,
                            delete_sent: false,
                            deleted: false,
                            clicked: 0,
                            clicks_sent: 0,
                        },
                    );
                }
                Seen::Deleting(code) => {
                    if let Some(link) = known.get_mut(&code) {
                        link.delete_sent = true;
                    }
                }
                Seen::Deleted(code) => {
                    if let Some(link) = known.get_mut(&code) {
                        link.deleted = true;
                    }
                }
                Seen::Clicking(code, clicks) => {
                    if let Some(link) = known.get_mut(&code) {
                        link.clicks_sent += clicks;
                    }
                }
                Seen::Clicked(code, total) => {
                    if let Some(link) = known.get_mut(&code) {
                        link.clicked = link.clicked.max(total);
                    }
                }
            }
        }
        highest = highest.max(this_round);

        // Restart on the same file, and read back everything that was acknowledged.
        let dir = database
            .take()
            .ok_or_else(|| Failure::new("the database", "none", ""))?;
        let server = start(binary, dir, &[], limits).await?;
        let mut grpc = client(server.addr, limits.call).await?;
        let mut now_retired = Vec::new();
        for (code, link) in &known {
            let stored = grpc
                .get_link(GetLinkRequest {
                    short_code: code.clone(),
                })
                .await;
            match stored {
                Ok(response) => {
                    let stored = response.into_inner().link.unwrap_or_default();
                    if link.deleted {
                        return Err(lost(
                            &context,
                            code,
                            "deleted (acknowledged)",
                            "still there",
                        ));
                    }
                    if (stored.id, &stored.url) != (link.id, &link.url) {
                        return Err(lost(
                            &context,
                            code,
                            &format!("id {} and {}", link.id, link.url),
                            &format!("id {} and {}", stored.id, stored.url),
                        ));
                    }
                    if !(link.clicked..=link.clicks_sent).contains(&stored.clicks) {
                        return Err(lost(
                            &context,
                            code,
                            &format!(
                                "between {} clicks (acknowledged) and {} (sent)",
                                link.clicked, link.clicks_sent
                            ),
                            &format!("{} clicks", stored.clicks),
                        ));
                    }
                    highest = highest.max(stored.id);
                }
                Err(status) if status.code() == Code::NotFound => {
                    if !link.delete_sent {
                        return Err(lost(
                            &context,
                            code,
                            &format!("link {} (acknowledged, never deleted)", link.id),
                            "NOT_FOUND",
                        ));
                    }
                    now_retired.push(code.clone());
                }
                Err(status) => {
                    return Err(Failure::new(
                        format!("GetLink {code} after the restart answers"),
                        format!("{context}: {}", shown(&status)),
                        format!("{HANDLERS}: a store error becomes a status with `?`."),
                    ));
                }
            }
        }
        for code in now_retired {
            known.remove(&code);
            retired.insert(code);
        }
        database = server.crash().await;
    }
    if known.is_empty() && retired.is_empty() {
        return Err(Failure::new(
            "links created under load",
            "no CreateLink was acknowledged in any round",
            format!("{HANDLERS}; the server may also take too long to start."),
        ));
    }
    Ok(())
}

fn lost(context: &str, code: &str, expected: &str, got: &str) -> Failure {
    Failure::new(
        format!("after the restart, {code}: {expected}"),
        format!("{context}: {got}"),
        format!(
            "An answer must mean \"committed\": the writer answers each caller of a group only \
             after its COMMIT, never before ({WRITER}); a failed COMMIT answers every caller of \
             its group with the error."
        ),
    )
}

/// One client's mix of writes on its own links, until a call fails (the server died) or it
/// has made its share.
async fn load(mut grpc: LinkServiceClient<Channel>, client: usize, journal: Journal) {
    let mut mine: Vec<String> = Vec::new();
    for n in 0..OPS_PER_CLIENT {
        let roll = rand::rng().random_range(0..100);
        if roll < 60 || mine.is_empty() {
            let request = CreateLinkRequest {
                url: format!("https://example.com/crash/{client}/{n}"),
            };
            let Ok(response) = grpc.create_link(request).await else {
                return;
            };
            if let Some(link) = response.into_inner().link {
                mine.push(link.short_code.clone());
                note(
                    &journal,
                    Seen::Created {
                        id: link.id,
                        code: link.short_code,
                        url: link.url,
                    },
                );
            }
        } else if roll < 75 {
            let code = mine.swap_remove(rand::rng().random_range(0..mine.len()));
            note(&journal, Seen::Deleting(code.clone()));
            let request = DeleteLinkRequest {
                short_code: code.clone(),
            };
            if grpc.delete_link(request).await.is_err() {
                return;
            }
            note(&journal, Seen::Deleted(code));
        } else {
            let code = mine[rand::rng().random_range(0..mine.len())].clone();
            let clicks = rand::rng().random_range(1..=3);
            note(&journal, Seen::Clicking(code.clone(), clicks));
            let click = SyncRequest {
                short_code: code.clone(),
                clicks,
            };
            match sync_one(&mut grpc, click).await {
                Ok((true, total)) => note(&journal, Seen::Clicked(code, total)),
                Ok((false, _)) => {}
                Err(_) => return,
            }
        }
    }
}

// ---- Refusals ------------------------------------------------------------------------------

/// How a server that was meant to refuse its database ended.
struct Ended {
    code: Option<i32>,
    listened: bool,
    output: String,
}

/// Runs the server on `url` until it exits (or says it listens: then it is killed), as user
/// `uid` when given.
async fn run_on(
    binary: &Path,
    url: &str,
    uid: Option<u32>,
    limit: Duration,
) -> Result<Ended, String> {
    let mut command = tokio::process::Command::new(binary);
    command
        .args(["--addr", "127.0.0.1:0"])
        .env(DATABASE_URL, url)
        .env_remove("SHORTENER_ADDR")
        .env_remove(TEST_CODES)
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(uid) = uid {
        command.uid(uid).gid(uid);
    }
    let mut child = command
        .spawn()
        .map_err(|error| format!("cannot run it: {error}"))?;
    let mut stdout = child.stdout.take().ok_or("no stdout")?;
    let mut stderr = child.stderr.take().ok_or("no stderr")?;
    let read = async {
        let (mut out, mut err) = (String::new(), String::new());
        let _ = tokio::join!(
            stdout.read_to_string(&mut out),
            stderr.read_to_string(&mut err)
        );
        (out, err)
    };
    // A server that listens keeps its pipes open: the read never ends, and the limit does.
    match tokio::time::timeout(limit, read).await {
        Ok((out, err)) => {
            let status = child.wait().await.map_err(|error| error.to_string())?;
            Ok(Ended {
                code: status.code(),
                listened: out.contains("listening on"),
                output: format!("{out}{err}").trim().to_string(),
            })
        }
        Err(_) => {
            let _ = child.start_kill();
            let _ = child.wait().await;
            Ok(Ended {
                code: None,
                listened: true,
                output: format!("it still ran after {} s", limit.as_secs()),
            })
        }
    }
}

/// The check of one refusal: exit 2, no `listening on`, the file named.
fn refused(
    ended: Result<Ended, String>,
    case: &str,
    names: &str,
    hint: &str,
) -> Result<(), Failure> {
    let expected =
        format!("{case}: exit code 2 before listening, and a message on stderr that names {names}");
    let ended = ended.map_err(|got| Failure::new(&expected, got, ""))?;
    if ended.code == Some(2) && !ended.listened && ended.output.contains(names) {
        return Ok(());
    }
    let how = match (ended.code, ended.listened) {
        (_, true) => "it listened".to_string(),
        (Some(code), false) => format!("exit code {code}"),
        (None, false) => "killed by a signal".to_string(),
    };
    Err(Failure::new(
        expected,
        format!("{how}; its output:\n{}", ended.output),
        format!(
            "{hint} Open the store before binding the port; on an OpenError print `error: ...` \
             and `std::process::exit(2)` ({BINARY})."
        ),
    ))
}

async fn refusals(binary: &Path, dir: &ScratchDir, limits: Limits, reporter: &mut Reporter) {
    let limit = limits.server_start;
    let url = |name: &str| dir.database_url(name);

    let garbage = dir.path().join("notes.db");
    let content = b"my notes, not a database\n".repeat(400);
    let written = std::fs::write(&garbage, &content);
    let mut result = match written {
        Ok(()) => refused(
            run_on(binary, &url("notes.db"), None, limit).await,
            "a file that is not a SQLite database",
            "notes.db",
            "SQLite answers SQLITE_NOTADB (26) on the first read of such a file.",
        ),
        Err(error) => Err(Failure::new("a file to refuse", error.to_string(), "")),
    };
    if result.is_ok() && std::fs::read(&garbage).ok().as_deref() != Some(content.as_slice()) {
        result = Err(Failure::new(
            "notes.db left as it was",
            "the file changed",
            "A file that is not a database is refused, never replaced by a new one.",
        ));
    }
    reporter.record(
        "a file that is not a database is refused (exit 2) and left alone",
        result,
    );

    let result = match std::fs::write(dir.path().join("newer.db"), NEWER_SCHEMA) {
        Ok(()) => refused(
            run_on(binary, &url("newer.db"), None, limit).await,
            "a database with a migration this binary does not know",
            "newer.db",
            "sqlx's migrator answers MigrateError::VersionMissing before it applies anything: \
             that is OpenError::NewerSchema.",
        ),
        Err(error) => Err(Failure::new("a database to refuse", error.to_string(), "")),
    };
    reporter.record("a database from a newer schema is refused (exit 2)", result);

    let result = match std::fs::create_dir(dir.path().join("folder.db")) {
        Ok(()) => refused(
            run_on(binary, &url("folder.db"), None, limit).await,
            "a directory where the database should be",
            "folder.db",
            "",
        ),
        Err(error) => Err(Failure::new("a directory to refuse", error.to_string(), "")),
    };
    reporter.record("a directory is refused (exit 2)", result);

    let missing = format!(
        "sqlite:{}",
        dir.path().join("no-such-folder/links.db").display()
    );
    let mut result = refused(
        run_on(binary, &missing, None, limit).await,
        "a database in a folder that does not exist",
        "no-such-folder",
        "",
    );
    if result.is_ok() && dir.path().join("no-such-folder").exists() {
        result = Err(Failure::new(
            "no-such-folder still missing",
            "the server created it",
            "The store creates the database file, never its folders: a typo in the path must \
             not become a new, empty database somewhere else.",
        ));
    }
    reporter.record("a missing folder is refused (exit 2)", result);

    reporter.record(
        "a database another server holds is refused (exit 2)",
        held(binary, limits).await,
    );

    match read_only(binary, dir, limits).await {
        Some(result) => reporter.record("a read-only database is refused (exit 2)", result),
        None => reporter.note(
            "(the read-only case was not checked: as root it needs the server run as user \
             nobody, who cannot run this binary where it is)",
        ),
    }
}

/// A second server on the file of a running one.
async fn held(binary: &Path, limits: Limits) -> Result<(), Failure> {
    let database = ScratchDir::new("held")
        .map_err(|error| Failure::new("a folder for the database", error.to_string(), ""))?;
    let url = database.database_url("shortener.db");
    let first = start(binary, database, &[], limits).await?;
    let second = run_on(binary, &url, None, limits.server_start).await;
    first.stop().await;
    refused(
        second,
        "a database another server has open",
        "shortener.db",
        "Two writers would each trust a cache the other makes stale: the store takes an \
         exclusive lock on a file beside the database (given in src/sqlite/open.rs).",
    )
}

/// A database the server may read and not write. `None` when it cannot be checked here.
async fn read_only(binary: &Path, dir: &ScratchDir, limits: Limits) -> Option<Result<(), Failure>> {
    use std::os::unix::fs::PermissionsExt;
    // Made by the server itself (`start_on` names it shortener.db), then closed.
    let database = ScratchDir::new("read-only").ok()?;
    let folder = database.path().to_path_buf();
    let url = database.database_url("shortener.db");
    let args = ["--drain", "0", "--grace", "5"];
    let mut made =
        match server::start_on(binary, &args, Some(database), &[], limits.server_start).await {
            Ok(server) => server,
            Err(failure) => {
                return Some(Err(Failure::new(
                    "the server starts on a new database",
                    failure.described(),
                    "",
                )));
            }
        };
    // SIGTERM: the server drains, closes the store (the WAL goes into the file), and exits.
    made.signal(libc::SIGTERM);
    let deadline = tokio::time::Instant::now() + limits.server_start;
    while made.exited().is_none() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let database = made.crash().await?;
    let _ = dir;
    let file = folder.join("shortener.db");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o444)).ok()?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    let uid = if root {
        // Root writes any file: the server runs as nobody, in a folder anyone may write (the
        // lock file and SQLite's -shm go there), on the file nobody may write.
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o777)).ok()?;
        Some(65534)
    } else {
        None
    };
    let ended = run_on(binary, &url, uid, limits.server_start).await;
    drop(database);
    if let Err(error) = &ended
        && error.contains("ermission denied")
    {
        return None;
    }
    Some(refused(
        ended,
        "a database file the server may not write",
        "shortener.db",
        "SQLite opens such a file read-only without a word, and reads go on working: the first \
         CreateLink would be the first to fail. The write probe in src/sqlite/open.rs finds it \
         at start.",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newer_schema_is_a_sqlite_database_of_the_shortener() {
        assert_eq!(&NEWER_SCHEMA[..16], b"SQLite format 3\0", "a SQLite file");
        // The header's application_id, big-endian at offset 68: "SHOR".
        assert_eq!(
            &NEWER_SCHEMA[68..72],
            b"SHOR",
            "the shortener's application_id"
        );
    }
}
