//! Opening a SQLite database, and everything that can be wrong with it.
//!
//! The server prints an [`OpenError`] and exits 2: each one names the file and the problem, so
//! that the person who started the server knows what to fix. None of them is a panic, and none
//! of them silently starts on a new empty database.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::migrate::{MigrateError, Migration, MigrationType, Migrator};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, SqlSafeStr};

/// The shortener's mark in the database header (`PRAGMA application_id`): "SHOR". A database
/// with another mark, or with tables and no mark, belongs to another program.
pub const APPLICATION_ID: i32 = 0x5348_4f52;

/// The migrations this binary knows, embedded: each is a line here and a file in
/// `migrations/sqlite/`. No `sqlx::migrate!` macro, so no proc-macro build of sqlx (about 20
/// CPU s of every cold build) and no build script to remind of new files.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "links",
        include_str!("../../migrations/sqlite/0001_links.sql"),
    ),
    // NEW(lesson 19): idempotency keys.
    (
        2,
        "idempotency keys",
        include_str!("../../migrations/sqlite/0002_idempotency_keys.sql"),
    ),
];

/// The migrator for every migration this binary knows.
pub fn migrator() -> Migrator {
    migrator_up_to(i64::MAX)
}

/// The migrator for the migrations up to `version` (tests build older databases with it).
pub fn migrator_up_to(version: i64) -> Migrator {
    Migrator::with_migrations(
        MIGRATIONS
            .iter()
            .filter(|(number, _, _)| *number <= version)
            .map(|&(number, description, sql)| {
                Migration::new(
                    number,
                    description.into(),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

/// The newest schema version this binary knows.
pub fn schema_version() -> i64 {
    MIGRATIONS.last().map_or(0, |(number, _, _)| *number)
}

/// Why a SQLite database could not be opened. Each message names the file and the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("{url:?} is not a database URL this store opens: {problem}")]
    Url { url: String, problem: String },
    #[error(
        "cannot open {path}: the folder {folder} does not exist (the store creates the \
         database file, not its folders)",
        path = path.display(), folder = folder.display()
    )]
    MissingFolder { path: PathBuf, folder: PathBuf },
    #[error("cannot open {path}: it is a directory, not a database file", path = path.display())]
    IsDirectory { path: PathBuf },
    #[error(
        "{path} is in use by another shortener server ({holder}): stop it first, or give this \
         one another database",
        path = path.display()
    )]
    Locked { path: PathBuf, holder: String },
    #[error("cannot open {path}: {reason}", path = path.display())]
    CannotOpen { path: PathBuf, reason: String },
    #[error("{path} is not a SQLite database ({reason})", path = path.display())]
    NotADatabase { path: PathBuf, reason: String },
    #[error(
        "{path} is corrupt ({report}): restore it from a backup (the sqlite3 shell's .recover \
         may save part of it)",
        path = path.display()
    )]
    Corrupt { path: PathBuf, report: String },
    #[error(
        "{path} is read-only ({reason}): the shortener writes to its database; check the \
         file's permissions and its file system",
        path = path.display()
    )]
    ReadOnly { path: PathBuf, reason: String },
    #[error(
        "{path} belongs to another program ({detail}): give the shortener a database of its own",
        path = path.display()
    )]
    Foreign { path: PathBuf, detail: String },
    #[error(
        "{path} was written by a newer shortener (its schema has migration {found}; this \
         binary knows up to {known}): run the newer binary, or restore a backup from before \
         the upgrade",
        path = path.display()
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("cannot bring {path} up to date: {reason}", path = path.display())]
    Migrate { path: PathBuf, reason: String },
}

/// The file a `sqlite:` URL names. `sqlite:PATH` and `sqlite://PATH` (so `sqlite:///abs/path`
/// is absolute), the path as written: no `?options` (the store sets its own) and no in-memory
/// database (it would forget every link at exit).
pub(crate) fn parse_url(url: &str) -> Result<PathBuf, OpenError> {
    let problem = |problem: &str| OpenError::Url {
        url: url.to_string(),
        problem: problem.to_string(),
    };
    let Some(rest) = url.strip_prefix("sqlite:") else {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Err(problem(
                "it is a PostgreSQL URL, and this is the SQLite store (it opens sqlite:PATH)",
            ));
        }
        return Err(problem(
            "expected sqlite:PATH, for example sqlite:shortener.db",
        ));
    };
    let path = rest.strip_prefix("//").unwrap_or(rest);
    if path.is_empty() {
        return Err(problem(
            "it names no file: sqlite:PATH, for example sqlite:shortener.db",
        ));
    }
    if path == ":memory:" || path.starts_with("file:") {
        return Err(problem(
            "an in-memory database forgets every link at exit: name a file \
             (tests use the in-memory store)",
        ));
    }
    if path.contains('?') {
        return Err(problem(
            "options after `?` are not taken: the store sets its own (WAL, synchronous=FULL, \
             a busy timeout)",
        ));
    }
    Ok(PathBuf::from(path))
}

/// The checks SQLite would fail with the vague "unable to open database file".
pub(crate) fn check_path(path: &Path) -> Result<(), OpenError> {
    if path.is_dir() {
        return Err(OpenError::IsDirectory {
            path: path.to_path_buf(),
        });
    }
    let folder = match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    };
    if !folder.is_dir() {
        return Err(OpenError::MissingFolder {
            path: path.to_path_buf(),
            folder: folder.to_path_buf(),
        });
    }
    Ok(())
}

/// The lock file beside the database: `shortener.db.lock` for `shortener.db`.
pub fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(".lock");
    PathBuf::from(name)
}

/// How long a held lock is retried before opening fails with [`OpenError::Locked`].
const LOCK_PATIENCE: Duration = Duration::from_millis(500);

/// Takes the exclusive lock that makes this process the database's only writer (the cache is
/// correct only then). The lock is the kernel's (`flock`): it is released when the last file
/// descriptor of the open file is closed, also when the process is killed, so a crash never
/// leaves a stale lock. The file stays; it holds the pid of the last holder, for the message a
/// second server gets.
///
/// A held lock is tried again for [`LOCK_PATIENCE`]: a process that forks shares the lock with
/// its child until the child's `exec` closes the descriptor (it is close-on-exec), and a busy
/// machine may take milliseconds to run that child. The tests met exactly this: a store closed
/// while another test spawned a process, and the file stayed locked a moment longer.
pub(crate) async fn lock(path: &Path) -> Result<File, OpenError> {
    let deadline = tokio::time::Instant::now() + LOCK_PATIENCE;
    loop {
        match try_lock(path) {
            Err(OpenError::Locked { .. }) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            result => return result,
        }
    }
}

fn try_lock(path: &Path) -> Result<File, OpenError> {
    let lock_path = lock_path(path);
    let cannot_open = |what: &str, error: std::io::Error| OpenError::CannotOpen {
        path: path.to_path_buf(),
        reason: format!("{what} {}: {error}", lock_path.display()),
    };
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path);
    let (mut file, writable) = match file {
        Ok(file) => (file, true),
        // Left by another user: a lock needs no write access (flock), only the pid does.
        Err(error)
            if error.kind() == std::io::ErrorKind::PermissionDenied && lock_path.is_file() =>
        {
            let file = File::open(&lock_path)
                .map_err(|error| cannot_open("cannot open the lock file", error))?;
            (file, false)
        }
        Err(error) => return Err(cannot_open("cannot create the lock file", error)),
    };
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = match holder.trim() {
                "" => format!("it holds {}", lock_path.display()),
                pid => format!("process {pid} holds {}", lock_path.display()),
            };
            return Err(OpenError::Locked {
                path: path.to_path_buf(),
                holder,
            });
        }
        Err(std::fs::TryLockError::Error(error)) => {
            return Err(cannot_open("cannot lock", error));
        }
    }
    // The pid only helps the message above; a failure to write it changes nothing.
    if writable {
        let _ = file
            .set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| writeln!(file, "{}", std::process::id()));
    }
    Ok(file)
}

/// The options of every connection: WAL (readers never wait for the writer, and a commit
/// appends to one file), `synchronous = FULL`, a busy timeout.
///
/// FULL, not NORMAL: in WAL mode NORMAL does not fsync at COMMIT, only at checkpoints
/// (sqlite3.c, `walSyncFlags`), so a power cut or an OS crash can lose the last acknowledged
/// commits (a process crash cannot: the OS has the pages). A lost CreateLink is worse than a
/// lost row: after the restart its code is free again, is drawn for another URL, and a short
/// URL already published points somewhere else. With group commit, FULL costs 1.3–1.5× NORMAL
/// per create (measured for this course), one fsync shared by every write of the group.
///
/// The busy timeout only matters when another program (the sqlite3 shell, a backup) holds the
/// write lock: this process has one writer, and WAL readers do not block it.
pub(crate) fn connect_options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(5))
}

/// Opens the writer's connection and checks the database: it is SQLite, whole, ours, writable,
/// and not from a newer schema; then brings it up to date. `quick_check`: see
/// `SqliteOptions::quick_check`.
pub(crate) async fn open_writer(
    path: &Path,
    quick_check: bool,
) -> Result<SqliteConnection, OpenError> {
    let mut conn = connect_options(path)
        .create_if_missing(true)
        .connect()
        .await
        .map_err(|error| classify(path, &error))?;
    if let Err(error) = check(path, &mut conn, quick_check).await {
        let _ = sqlx::Connection::close(conn).await;
        return Err(error);
    }
    Ok(conn)
}

async fn check(
    path: &Path,
    conn: &mut SqliteConnection,
    quick_check: bool,
) -> Result<(), OpenError> {
    if quick_check {
        // Reads every page (not the indexes' contents against the table, as integrity_check
        // does): a damaged page no query would touch for days is found now. 14 ms for 100,000
        // links, 135 ms for 1,000,000 (measured for this course).
        let report: Vec<String> = sqlx::query_scalar("PRAGMA quick_check")
            .fetch_all(&mut *conn)
            .await
            .map_err(|error| classify(path, &error))?;
        if report != ["ok"] {
            return Err(OpenError::Corrupt {
                path: path.to_path_buf(),
                report: summary(&report),
            });
        }
    }
    let application_id: i32 = sqlx::query_scalar("PRAGMA application_id")
        .fetch_one(&mut *conn)
        .await
        .map_err(|error| classify(path, &error))?;
    if application_id != APPLICATION_ID {
        if application_id != 0 {
            return Err(OpenError::Foreign {
                path: path.to_path_buf(),
                detail: format!(
                    "its application_id is {application_id:#x}; the shortener's is \
                     {APPLICATION_ID:#x}"
                ),
            });
        }
        let tables: i64 =
            sqlx::query_scalar("SELECT count(*) FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'")
                .fetch_one(&mut *conn)
                .await
                .map_err(|error| classify(path, &error))?;
        if tables > 0 {
            return Err(OpenError::Foreign {
                path: path.to_path_buf(),
                detail: format!("it has {tables} tables and not the shortener's application_id"),
            });
        }
    }
    // The write probe. SQLite opens a file it may not write read-only without a word, and
    // reads (and migrations already applied) go on working: the first CreateLink would be the
    // first to fail. Writing the header's application_id fails at once instead. (BEGIN
    // IMMEDIATE is no probe: it succeeds on a read-only database.)
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "PRAGMA application_id = {APPLICATION_ID}"
    )))
    .execute(&mut *conn)
    .await
    .map_err(|error| classify(path, &error))?;
    migrator().run(&mut *conn).await.map_err(|error| match error {
        // The database has a migration this binary does not: checked before anything is
        // applied (sqlx-core migrate/migrator.rs, validate_applied_migrations).
        MigrateError::VersionMissing(found) => OpenError::NewerSchema {
            path: path.to_path_buf(),
            found,
            known: schema_version(),
        },
        MigrateError::VersionMismatch(version) => OpenError::Migrate {
            path: path.to_path_buf(),
            reason: format!(
                "migration {version} was applied with other SQL than this binary's (a migration \
                 file was edited after its release)"
            ),
        },
        MigrateError::Execute(error) | MigrateError::ExecuteMigration(error, _) => {
            match classify(path, &error) {
                OpenError::CannotOpen { reason, .. } => OpenError::Migrate {
                    path: path.to_path_buf(),
                    reason,
                },
                specific => specific,
            }
        }
        other => OpenError::Migrate {
            path: path.to_path_buf(),
            reason: other.to_string(),
        },
    })
}

/// Opens one read-only connection (after the writer has created and migrated the file).
pub(crate) async fn open_reader(path: &Path) -> Result<SqliteConnection, OpenError> {
    SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .busy_timeout(Duration::from_secs(5))
        .connect()
        .await
        .map_err(|error| classify(path, &error))
}

/// SQLite's error codes, in the words of an operator.
fn classify(path: &Path, error: &sqlx::Error) -> OpenError {
    let path = path.to_path_buf();
    let reason = error.to_string();
    let code = error
        .as_database_error()
        .and_then(|error| error.code())
        .and_then(|code| code.parse::<i32>().ok());
    // Primary codes: the low byte of the extended code.
    match code.map(|code| code & 0xff) {
        // SQLITE_NOTADB
        Some(26) => OpenError::NotADatabase { path, reason },
        // SQLITE_CORRUPT
        Some(11) => OpenError::Corrupt {
            path,
            report: reason,
        },
        // SQLITE_READONLY
        Some(8) => OpenError::ReadOnly { path, reason },
        // SQLITE_CANTOPEN (the folder and directory cases were checked before)
        Some(14) => OpenError::CannotOpen {
            path,
            reason: format!("{reason} (check the permissions of the file and of its folder)"),
        },
        _ => OpenError::CannotOpen { path, reason },
    }
}

/// The first lines of quick_check's report (it lists up to 100 problems).
fn summary(report: &[String]) -> String {
    const SHOWN: usize = 3;
    let mut text = report
        .iter()
        .take(SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join("; ");
    if report.len() > SHOWN {
        text.push_str(&format!("; and {} more problems", report.len() - SHOWN));
    }
    format!("PRAGMA quick_check: {text}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_a_file() {
        assert_eq!(
            parse_url("sqlite:shortener.db"),
            Ok(PathBuf::from("shortener.db"))
        );
        assert_eq!(
            parse_url("sqlite://links.db"),
            Ok(PathBuf::from("links.db"))
        );
        assert_eq!(
            parse_url("sqlite:///var/lib/s.db"),
            Ok(PathBuf::from("/var/lib/s.db"))
        );
        for (url, words) in [
            ("postgres://u@localhost/links", "PostgreSQL URL"),
            ("shortener.db", "expected sqlite:PATH"),
            ("sqlite:", "names no file"),
            ("sqlite::memory:", "forgets every link"),
            ("sqlite:links.db?mode=ro", "options after `?`"),
        ] {
            let error = parse_url(url).expect_err(url).to_string();
            assert!(
                error.contains(words),
                "{url}: {error:?} should say {words:?}"
            );
        }
    }

    #[test]
    fn the_lock_file_sits_beside_the_database() {
        assert_eq!(lock_path(Path::new("a/b.db")), PathBuf::from("a/b.db.lock"));
    }
}
