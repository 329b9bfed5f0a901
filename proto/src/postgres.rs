//! A throwaway PostgreSQL server for the length of one test.
//!
//! [`TestPostgres::start`] runs `initdb` into a fresh temporary folder and starts `postgres` on a
//! free loopback port, with its Unix socket in that folder too, so tests running in parallel
//! never share a server, a port or a file. Dropping the value stops the server and removes the
//! folder.
//!
//! ```no_run
//! # async fn example() -> Result<(), shortener_proto::postgres::PostgresError> {
//! use shortener_proto::postgres::TestPostgres;
//!
//! // `None`: no PostgreSQL on this machine; `start` said so on stderr, and the test passes.
//! let Some(postgres) = TestPostgres::start().await? else { return Ok(()) };
//! let url = postgres.create_database("links").await?;
//! // ... connect to `url` ("postgres://postgres@127.0.0.1:PORT/links") with a client ...
//! # Ok(()) }
//! ```
//!
//! PostgreSQL is found on `PATH` or in `/usr/lib/postgresql/<version>/bin` (Debian and Ubuntu
//! install it there, newest version first). When it is not installed, `start` returns `Ok(None)`
//! after printing `skipped: no PostgreSQL installed (apt install postgresql)`, unless the
//! environment sets `COURSE_REQUIRE_TOOLS` (as CI does), where the same words are an error.
//!
//! `initdb` and `postgres` refuse to run as root, so under root (a container, CI) both run as
//! the `postgres` user that the distribution's package creates.

use std::ffi::c_char;
use std::fmt;
use std::fs;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// What a machine without PostgreSQL is told, as a skip note or as the error.
const NOT_INSTALLED: &str = "no PostgreSQL installed (apt install postgresql)";

/// The environment variable that turns a missing tool into a failure (CI sets it).
const REQUIRE_TOOLS: &str = "COURSE_REQUIRE_TOOLS";

/// The environment variable through which a program that runs many test processes shares one
/// server with them: the port of a server it started with [`TestPostgres::start`] on
/// 127.0.0.1. `cargo quiz check` runs each test of `tests/lesson.rs` in a process of its own,
/// and a cluster of its own for each would cost half a second of `initdb` a test. With this set,
/// `start` returns that server, and each test still makes databases of its own (see
/// [`TestPostgres::create_database`]: the tests' names hold their process id).
pub const SHARED_PORT: &str = "SHORTENER_TEST_POSTGRES_PORT";

/// Where Debian and Ubuntu install each major version: `/usr/lib/postgresql/15/bin`.
const DEBIAN_ROOT: &str = "/usr/lib/postgresql";

/// The user that `initdb` and `postgres` run as when the tests run as root.
const SERVICE_USER: &str = "postgres";

/// `initdb` takes about half a second; this only turns a hang into an error.
const INITDB_TIMEOUT: Duration = Duration::from_secs(120);
/// A fresh cluster accepts connections in a fraction of a second; the machine may be busy.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `createdb` may take before it counts as hung.
const CREATEDB_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a fast shutdown may take before the server is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// How many free ports to try when another process takes the one found first.
const PORT_ATTEMPTS: usize = 5;
/// How many lines of the server's log an error quotes.
const LOG_TAIL_LINES: usize = 20;

/// A PostgreSQL server that lives as long as this value: its own data folder, its own port.
///
/// Dropping it stops the server and blocks the current thread until it has stopped (a fast
/// shutdown of a test cluster takes tens of milliseconds; after 5 s without one, the
/// server is killed). Hold one per test rather than in a `static`: statics are never dropped,
/// so the server would outlive the test binary.
///
/// Or a server another process started and shares through [`SHARED_PORT`]: that one is left
/// running when this value is dropped.
#[derive(Debug)]
pub struct TestPostgres {
    port: u16,
    /// Where `createdb` is.
    bin: PathBuf,
    /// `None` for a shared server: not ours to stop.
    cluster: Option<Cluster>,
}

/// Why the throwaway server could not be started or used. The message says what failed, and
/// for a server that stopped or never became ready it quotes the end of the server's log.
pub struct PostgresError {
    message: String,
}

impl PostgresError {
    fn new(message: impl Into<String>) -> Self {
        PostgresError {
            message: message.into(),
        }
    }

    fn io(what: impl fmt::Display, error: io::Error) -> Self {
        PostgresError::new(format!("{what}: {error}"))
    }
}

impl fmt::Display for PostgresError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

// `expect` and `?` in `main` print `Debug`: show the message itself, not a struct around it.
impl fmt::Debug for PostgresError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PostgresError {}

impl TestPostgres {
    /// Creates a cluster in a new temporary folder and starts a server on a free port of
    /// 127.0.0.1, returning once it accepts connections. When the environment gives
    /// [`SHARED_PORT`], the server on that port instead.
    ///
    /// `Ok(None)` means PostgreSQL is not installed: a note saying so is printed on stderr and
    /// the caller should return, passing. With `COURSE_REQUIRE_TOOLS` set, that is an error.
    pub async fn start() -> Result<Option<TestPostgres>, PostgresError> {
        let Some(bin) = find_bin_dir(std::env::var_os("PATH"), Path::new(DEBIAN_ROOT)) else {
            return not_installed(require_tools());
        };
        match std::env::var_os(SHARED_PORT) {
            Some(port) => TestPostgres::shared(bin, &port).map(Some),
            None => TestPostgres::start_in(bin, None).await.map(Some),
        }
    }

    /// The server another process started on `port` (the value of [`SHARED_PORT`]).
    fn shared(bin: PathBuf, port: &std::ffi::OsStr) -> Result<Self, PostgresError> {
        let port = port
            .to_str()
            .and_then(|port| port.parse().ok())
            .ok_or_else(|| {
                PostgresError::new(format!(
                    "{SHARED_PORT} must be the port of a running server, not {port:?}"
                ))
            })?;
        Ok(TestPostgres {
            port,
            bin,
            cluster: None,
        })
    }

    /// `first_port`: the port to try first (a test takes it to lose the race on purpose).
    async fn start_in(bin: PathBuf, first_port: Option<u16>) -> Result<Self, PostgresError> {
        let run_as = run_as()?;
        // From here on, dropping `cluster` (an error, a panic) stops the server and removes the
        // folder.
        let mut cluster = Cluster::create(bin, run_as)?;
        cluster.initdb().await?;
        let mut port = first_port;
        for _ in 0..PORT_ATTEMPTS {
            let candidate = match port.take() {
                Some(port) => port,
                None => free_port()?,
            };
            match cluster.start_server(candidate).await? {
                Started::Ready => {
                    return Ok(TestPostgres {
                        port: candidate,
                        bin: cluster.bin.clone(),
                        cluster: Some(cluster),
                    });
                }
                // Another process took the port between our probe and the server's bind.
                Started::PortTaken => continue,
            }
        }
        Err(PostgresError::new(format!(
            "postgres found its port taken {PORT_ATTEMPTS} times in a row; the end of its log:\n{}",
            cluster.log_tail()
        )))
    }

    /// The server's TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`: the superuser on the default database.
    /// Authentication is `trust`, so no password is needed.
    pub fn url(&self) -> String {
        self.database_url("postgres")
    }

    /// The URL of database `name` on this server (it must exist: see
    /// [`create_database`](Self::create_database)).
    pub fn database_url(&self, name: &str) -> String {
        format!("postgres://{SERVICE_USER}@127.0.0.1:{}/{name}", self.port)
    }

    /// Creates an empty database and returns its URL, so that each test can have a database of
    /// its own on one server. A name is 1 to 63 characters of `[a-z0-9_]`, not starting with a
    /// digit (so it needs no quoting in SQL or in a URL).
    pub async fn create_database(&self, name: &str) -> Result<String, PostgresError> {
        check_database_name(name)?;
        let createdb = self.bin.join("createdb");
        let mut command = tokio::process::Command::new(&createdb);
        command
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--username", SERVICE_USER, "--no-password", name])
            .env("LC_ALL", "C")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        let output = run_bounded(&mut command, CREATEDB_TIMEOUT, &createdb).await?;
        if !output.status.success() {
            return Err(PostgresError::new(format!(
                "createdb {name} failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        Ok(self.database_url(name))
    }

    /// The cluster's data folder (inside the temporary folder that drop removes); `None` for a
    /// shared server.
    pub fn data_dir(&self) -> Option<PathBuf> {
        self.cluster.as_ref().map(Cluster::data_dir)
    }

    /// The server's log file: everything it wrote to stdout and stderr; `None` for a shared
    /// server.
    pub fn log_path(&self) -> Option<PathBuf> {
        self.cluster.as_ref().map(Cluster::log_path)
    }
}

/// The answer for a machine without PostgreSQL.
fn not_installed(required: bool) -> Result<Option<TestPostgres>, PostgresError> {
    if required {
        return Err(PostgresError::new(format!(
            "{NOT_INSTALLED}: looked for initdb and postgres on PATH and in {DEBIAN_ROOT}/*/bin, \
             and {REQUIRE_TOOLS} is set, which makes a missing tool a failure"
        )));
    }
    eprintln!("skipped: {NOT_INSTALLED}");
    Ok(None)
}

/// Whether the environment asks for every tool to be there.
fn require_tools() -> bool {
    requires(std::env::var_os(REQUIRE_TOOLS).as_deref())
}

/// `COURSE_REQUIRE_TOOLS`'s value means "required" when it is set, not empty and not `0` (as
/// the README runner in quiz/src/demo.rs reads it).
fn requires(value: Option<&std::ffi::OsStr>) -> bool {
    value.is_some_and(|value| !value.is_empty() && value != "0")
}

/// The first folder holding both `initdb` and `postgres`: where `PATH`'s `initdb` really lives
/// (a symlink's target first, so that `createdb` of the same installation is found beside it),
/// then `<debian_root>/<version>/bin`, newest version first.
fn find_bin_dir(path: Option<std::ffi::OsString>, debian_root: &Path) -> Option<PathBuf> {
    let mut candidates = Vec::new();
    for dir in path.iter().flat_map(std::env::split_paths) {
        let initdb = dir.join("initdb");
        if initdb.is_file() {
            if let Some(real) = fs::canonicalize(&initdb)
                .ok()
                .and_then(|real| real.parent().map(Path::to_path_buf))
            {
                candidates.push(real);
            }
            candidates.push(dir);
        }
    }
    let mut versions: Vec<(Vec<u32>, PathBuf)> = fs::read_dir(debian_root)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            // "15", "9.6": a version, compared as numbers (so 10 is newer than 9.6).
            let version = name
                .split('.')
                .map(str::parse)
                .collect::<Result<Vec<u32>, _>>()
                .ok()?;
            Some((version, entry.path().join("bin")))
        })
        .collect();
    versions.sort_by(|a, b| b.0.cmp(&a.0));
    candidates.extend(versions.into_iter().map(|(_, bin)| bin));
    candidates
        .into_iter()
        .find(|dir| dir.join("initdb").is_file() && dir.join("postgres").is_file())
}

/// The user and group to run the server as, when this process is root: both `initdb` and
/// `postgres` exit at once under uid 0, so that a bug or an attack through the server cannot
/// act as root.
#[derive(Debug, Clone, Copy)]
struct RunAs {
    uid: u32,
    gid: u32,
}

fn run_as() -> Result<Option<RunAs>, PostgresError> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    run_as_when(unsafe { libc::geteuid() }, SERVICE_USER)
}

/// `run_as` for effective uid `euid`, with `user` as the server's user.
fn run_as_when(euid: u32, user: &str) -> Result<Option<RunAs>, PostgresError> {
    if euid != 0 {
        return Ok(None);
    }
    match lookup_user(user) {
        Ok(Some(found)) => Ok(Some(found)),
        Ok(None) => Err(PostgresError::new(format!(
            "running as root, where initdb and postgres refuse to run, and there is no `{user}` \
             user to run them as (the postgresql package creates one; `useradd --system {user}` \
             does too), or run the tests as another user"
        ))),
        Err(error) => Err(PostgresError::io(
            format!("looking up the `{user}` user"),
            error,
        )),
    }
}

/// The uid and gid of `name` from the system's user database (`getpwnam_r`: the thread-safe
/// form, since tests run on many threads).
fn lookup_user(name: &str) -> io::Result<Option<RunAs>> {
    let name = std::ffi::CString::new(name).map_err(io::Error::other)?;
    let mut buffer: Vec<c_char> = vec![0; 4096];
    loop {
        // SAFETY: all-zero is a valid `passwd` (integers and null pointers); getpwnam_r fills it.
        let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call, and `buffer.len()` is the buffer's size.
        let error = unsafe {
            libc::getpwnam_r(
                name.as_ptr(),
                &mut entry,
                buffer.as_mut_ptr(),
                buffer.len(),
                &mut found,
            )
        };
        match error {
            0 if found.is_null() => return Ok(None),
            0 => {
                return Ok(Some(RunAs {
                    uid: entry.pw_uid,
                    gid: entry.pw_gid,
                }));
            }
            libc::ERANGE if buffer.len() < 1 << 20 => buffer.resize(buffer.len() * 2, 0),
            error => return Err(io::Error::from_raw_os_error(error)),
        }
    }
}

/// A port that was free a moment ago: bind port 0, read the port the kernel chose, let it go.
/// Another process may take it before the server binds it; `start_in` tries another then.
fn free_port() -> Result<u16, PostgresError> {
    let probe = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|error| PostgresError::io("binding 127.0.0.1:0 to find a free port", error))?;
    probe
        .local_addr()
        .map(|addr| addr.port())
        .map_err(|error| PostgresError::io("reading the probe's port", error))
}

fn check_database_name(name: &str) -> Result<(), PostgresError> {
    let valid = (1..=63).contains(&name.len())
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(PostgresError::new(format!(
            "{name:?} is not a database name this helper creates: use 1 to 63 characters of \
             [a-z0-9_], not starting with a digit"
        )))
    }
}

/// Runs a short-lived command with a time limit; `kill_on_drop` on the command ends it when the
/// limit passes.
async fn run_bounded(
    command: &mut tokio::process::Command,
    limit: Duration,
    program: &Path,
) -> Result<std::process::Output, PostgresError> {
    match tokio::time::timeout(limit, command.output()).await {
        Ok(Ok(output)) => Ok(output),
        Ok(Err(error)) => Err(PostgresError::io(
            format!("running {}", program.display()),
            error,
        )),
        Err(_) => Err(PostgresError::new(format!(
            "{} did not finish within {} s",
            program.display(),
            limit.as_secs()
        ))),
    }
}

/// How one attempt to start the server ended.
enum Started {
    Ready,
    PortTaken,
}

/// The temporary folder (data, socket, log) and the server process. Dropping it stops the
/// server and removes the folder, whatever state the start-up reached.
#[derive(Debug)]
struct Cluster {
    root: PathBuf,
    bin: PathBuf,
    run_as: Option<RunAs>,
    server: Option<Child>,
}

impl Cluster {
    /// A new, empty folder under the system's temporary directory, owned by the user the server
    /// will run as (it creates `data/` and its socket there).
    fn create(bin: PathBuf, run_as: Option<RunAs>) -> Result<Cluster, PostgresError> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let base = std::env::temp_dir();
        let root = loop {
            let candidate = base.join(format!(
                "shortener-pg-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            // 0700: only the server's user may read the cluster. `create`, not
            // `create_dir_all`: a folder left by an earlier process with our pid is skipped.
            match fs::DirBuilder::new().mode(0o700).create(&candidate) {
                Ok(()) => break candidate,
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(error) => {
                    return Err(PostgresError::io(
                        format!("creating {}", candidate.display()),
                        error,
                    ));
                }
            }
        };
        let cluster = Cluster {
            root,
            bin,
            run_as,
            server: None,
        };
        if let Some(user) = run_as {
            std::os::unix::fs::chown(&cluster.root, Some(user.uid), Some(user.gid)).map_err(
                |error| {
                    PostgresError::io(
                        format!(
                            "giving {} to the `{SERVICE_USER}` user",
                            cluster.root.display()
                        ),
                        error,
                    )
                },
            )?;
        }
        Ok(cluster)
    }

    fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    fn log_path(&self) -> PathBuf {
        self.root.join("postgres.log")
    }

    /// A new cluster in `data/`: superuser `postgres`, every connection trusted (the server
    /// listens on loopback and a Unix socket in a 0700 folder, for one test), UTF-8 text, the C
    /// locale (the same sort order and messages on every machine), no fsync of the new files.
    async fn initdb(&self) -> Result<(), PostgresError> {
        let initdb = self.bin.join("initdb");
        let mut command = tokio::process::Command::new(&initdb);
        command
            .arg("--pgdata")
            .arg(self.data_dir())
            .args(["--username", SERVICE_USER, "--auth", "trust"])
            .args(["--encoding", "UTF8", "--locale", "C", "--no-sync"])
            .env("LC_ALL", "C")
            // The server's user may not be allowed into the caller's working directory.
            .current_dir(&self.root)
            .stdin(Stdio::null())
            .kill_on_drop(true);
        if let Some(user) = self.run_as {
            command.uid(user.uid).gid(user.gid);
        }
        let output = run_bounded(&mut command, INITDB_TIMEOUT, &initdb).await?;
        if output.status.success() {
            Ok(())
        } else {
            Err(PostgresError::new(format!(
                "initdb failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            )))
        }
    }

    /// Starts `postgres` on `port` and waits until it accepts connections, it exits, or
    /// [`READY_TIMEOUT`] passes.
    async fn start_server(&mut self, port: u16) -> Result<Started, PostgresError> {
        let log_path = self.log_path();
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|error| PostgresError::io(format!("opening {}", log_path.display()), error))?;
        let log_start = log.metadata().map(|m| m.len()).unwrap_or(0);
        let stderr = log
            .try_clone()
            .map_err(|error| PostgresError::io("duplicating the log file", error))?;
        let postgres = self.bin.join("postgres");
        let mut command = Command::new(&postgres);
        command
            .arg("-D")
            .arg(self.data_dir())
            .arg("-p")
            .arg(port.to_string())
            // The Unix socket goes in our folder, not /var/run/postgresql (which may not
            // exist, and where a second server on the same port number would clash).
            .arg("-k")
            .arg(&self.root)
            .args(["-c", "listen_addresses=127.0.0.1"])
            // Every commit and checkpoint would otherwise wait for the disk (~110 µs an fsync
            // on the course's VM). Without fsync a power cut or an OS crash can lose committed
            // transactions or corrupt the cluster: fine for a cluster that is thrown away
            // after one test, never for one whose data matters. A crash of the server process
            // alone loses nothing either way: the written pages are in the OS's cache.
            .args(["-c", "fsync=off"])
            .env("LC_ALL", "C")
            .current_dir(&self.root)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(stderr);
        // Not a process group of its own: a Ctrl-C on `cargo test` reaches the server too, and
        // SIGINT is its fast shutdown, so an interrupted run does not leave it running.
        if let Some(user) = self.run_as {
            std::os::unix::process::CommandExt::uid(&mut command, user.uid);
            std::os::unix::process::CommandExt::gid(&mut command, user.gid);
        }
        let child = command.spawn().map_err(|error| {
            PostgresError::io(format!("starting {}", postgres.display()), error)
        })?;
        let server = self.server.insert(child);
        let pid_file = self.root.join("data").join("postmaster.pid");
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = server
                .try_wait()
                .map_err(|error| PostgresError::io("waiting for postgres", error))?
            {
                self.server = None;
                let log = read_from(&log_path, log_start);
                // PostgreSQL's words when it cannot bind its one listen address.
                if log.contains("Address already in use") {
                    return Ok(Started::PortTaken);
                }
                return Err(PostgresError::new(format!(
                    "postgres stopped ({status}) before it accepted connections; the end of its \
                     log ({}):\n{}",
                    log_path.display(),
                    tail(&log)
                )));
            }
            if is_ready(&pid_file) {
                return Ok(Started::Ready);
            }
            if Instant::now() >= deadline {
                return Err(PostgresError::new(format!(
                    "postgres did not accept connections within {} s; the end of its log ({}):\n{}",
                    READY_TIMEOUT.as_secs(),
                    log_path.display(),
                    self.log_tail()
                )));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn log_tail(&self) -> String {
        tail(&read_from(&self.log_path(), 0))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(mut server) = self.server.take() {
            stop(&mut server);
        }
        if let Err(error) = fs::remove_dir_all(&self.root)
            && error.kind() != io::ErrorKind::NotFound
        {
            eprintln!(
                "could not remove the test cluster {}: {error}",
                self.root.display()
            );
        }
    }
}

/// Whether the postmaster says it is ready for connections: line 8 of `postmaster.pid` is
/// `ready` once start-up has finished (PostgreSQL's `src/include/utils/pidfile.h`; `pg_ctl
/// start --wait` watches the same line).
fn is_ready(pid_file: &Path) -> bool {
    fs::read_to_string(pid_file)
        .is_ok_and(|text| text.lines().nth(7).map(str::trim) == Some("ready"))
}

/// Stops the postmaster: SIGINT asks for PostgreSQL's fast shutdown (open sessions are ended,
/// every child process exits, then the postmaster), bounded by [`STOP_TIMEOUT`]; SIGKILL after
/// that. Its child processes notice a killed postmaster and exit by themselves.
fn stop(server: &mut Child) {
    if let (Ok(None), Ok(pid)) = (server.try_wait(), libc::pid_t::try_from(server.id())) {
        // SAFETY: kill has no memory preconditions. The pid is our child's, and it has not been
        // reaped (try_wait said it is running), so it cannot name another process.
        unsafe { libc::kill(pid, libc::SIGINT) };
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            match server.try_wait() {
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Ok(Some(_)) | Err(_) => return,
            }
        }
        let _ = server.kill();
    }
    let _ = server.wait();
}

/// The file's text from byte `start` on (empty if it cannot be read: this is only for messages).
fn read_from(path: &Path, start: u64) -> String {
    let mut text = Vec::new();
    if let Ok(mut file) = fs::File::open(path)
        && file.seek(SeekFrom::Start(start)).is_ok()
    {
        let _ = file.read_to_end(&mut text);
    }
    String::from_utf8_lossy(&text).into_owned()
}

/// The last [`LOG_TAIL_LINES`] lines of a log, for an error message.
fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    let start = lines.len().saturating_sub(LOG_TAIL_LINES);
    let tail = lines[start..].join("\n");
    if tail.is_empty() {
        "(the log is empty)".to_string()
    } else {
        tail
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A folder for one unit test, removed at the end.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Scratch {
            let dir = std::env::temp_dir()
                .join(format!("shortener-pg-unit-{}-{name}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).expect("create a scratch folder");
            Scratch(dir)
        }

        /// Creates `<rel>/initdb` and `<rel>/postgres` (empty files: only their presence counts).
        fn install(&self, rel: &str) -> PathBuf {
            let bin = self.0.join(rel);
            fs::create_dir_all(&bin).expect("create a fake bin folder");
            for program in ["initdb", "postgres"] {
                fs::write(bin.join(program), "").expect("create a fake program");
            }
            bin
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn the_newest_debian_version_is_chosen() {
        let scratch = Scratch::new("newest");
        scratch.install("lib/9.6/bin");
        scratch.install("lib/15/bin");
        let newest = scratch.install("lib/17/bin");
        scratch.install("lib/16/bin");
        fs::create_dir_all(scratch.0.join("lib/18/bin")).expect("an empty version folder");
        let found = find_bin_dir(None, &scratch.0.join("lib"));
        assert_eq!(
            found,
            Some(newest),
            "of 9.6, 15, 16 and 17 (and an 18 without programs), version 17 must win: versions \
             compare as numbers, newest first, and a folder counts only with initdb and postgres"
        );
    }

    #[test]
    fn path_comes_before_the_debian_folders() {
        let scratch = Scratch::new("path");
        scratch.install("lib/17/bin");
        let on_path = scratch.install("local/bin");
        let path =
            std::env::join_paths([scratch.0.join("empty"), on_path.clone()]).expect("a PATH value");
        assert_eq!(
            find_bin_dir(Some(path), &scratch.0.join("lib")),
            Some(on_path),
            "an initdb on PATH is the one the user chose: it must win over {DEBIAN_ROOT}"
        );
    }

    #[test]
    fn a_symlink_on_path_leads_to_its_installation() {
        let scratch = Scratch::new("symlink");
        let real = scratch.install("lib/15/bin");
        let local = scratch.0.join("local/bin");
        fs::create_dir_all(&local).expect("create local/bin");
        for program in ["initdb", "postgres"] {
            std::os::unix::fs::symlink(real.join(program), local.join(program))
                .expect("symlink a program");
        }
        let found = find_bin_dir(Some(local.into_os_string()), &scratch.0.join("none"));
        assert_eq!(
            found.and_then(|dir| fs::canonicalize(dir).ok()),
            fs::canonicalize(&real).ok(),
            "initdb on PATH is a symlink (as /usr/local/bin/initdb on the course's machine): the \
             folder it points into holds createdb too, so it must be chosen"
        );
    }

    #[test]
    fn nothing_found_means_none() {
        let scratch = Scratch::new("nothing");
        let path = scratch.0.join("empty").into_os_string();
        assert_eq!(find_bin_dir(Some(path), &scratch.0.join("lib")), None);
    }

    #[test]
    fn a_missing_installation_skips_unless_tools_are_required() {
        assert!(
            matches!(not_installed(false), Ok(None)),
            "without {REQUIRE_TOOLS}, a machine without PostgreSQL skips the test"
        );
        let error = not_installed(true).expect_err(&format!(
            "with {REQUIRE_TOOLS} set, a missing PostgreSQL must be an error"
        ));
        assert!(
            error.to_string().contains(NOT_INSTALLED),
            "the error must say what is missing and how to install it: {error}"
        );
    }

    #[test]
    fn course_require_tools_is_read_as_the_readme_runner_reads_it() {
        for (value, required) in [(None, false), (Some(""), false), (Some("0"), false)]
            .into_iter()
            .chain([(Some("1"), true), (Some("yes"), true)])
        {
            assert_eq!(
                requires(value.map(std::ffi::OsStr::new)),
                required,
                "{REQUIRE_TOOLS}={value:?}"
            );
        }
    }

    #[test]
    fn root_without_the_postgres_user_is_a_clear_error() {
        let error = run_as_when(0, "no-such-user-here")
            .expect_err("as root, a missing server user must be an error");
        assert!(
            error.to_string().contains("refuse to run")
                && error.to_string().contains("`no-such-user-here`"),
            "the error must say why a user is needed and which one: {error}"
        );
        assert!(
            matches!(run_as_when(1000, "no-such-user-here"), Ok(None)),
            "an ordinary user runs the server as itself: no lookup, no error"
        );
    }

    #[test]
    fn database_names_are_checked() {
        for good in ["links", "lesson_19", "t1", &"a".repeat(63)] {
            assert!(check_database_name(good).is_ok(), "{good:?} is a fine name");
        }
        for bad in ["", "1links", "Links", "links-19", "a;b", &"a".repeat(64)] {
            assert!(check_database_name(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn the_postgres_user_is_found_when_there_is_one() {
        let expected = fs::read_to_string("/etc/passwd")
            .unwrap_or_default()
            .lines()
            .any(|line| line.starts_with("postgres:"));
        let found = lookup_user(SERVICE_USER).expect("getpwnam_r works");
        assert_eq!(
            found.is_some(),
            expected,
            "/etc/passwd and getpwnam_r disagree about the `postgres` user"
        );
        assert!(
            lookup_user("no-such-user-here")
                .expect("getpwnam_r works")
                .is_none(),
            "an unknown user is None, not an error"
        );
    }

    /// A test process given SHARED_PORT makes its databases on that server, and leaves it
    /// running for the next.
    #[tokio::test]
    async fn a_shared_server_is_used_and_left_running() {
        let Some(bin) = find_bin_dir(std::env::var_os("PATH"), Path::new(DEBIAN_ROOT)) else {
            not_installed(require_tools()).expect("PostgreSQL is required");
            return;
        };
        let owner = TestPostgres::start_in(bin.clone(), None)
            .await
            .expect("start PostgreSQL");
        let port = owner.port().to_string();
        for name in ["first_test", "second_test"] {
            let shared =
                TestPostgres::shared(bin.clone(), port.as_ref()).expect("the shared server");
            assert_eq!(shared.port(), owner.port());
            assert_eq!(
                shared.data_dir(),
                None,
                "a shared server's folder is not ours"
            );
            let url = shared
                .create_database(name)
                .await
                .expect("createdb on the shared server");
            assert!(url.ends_with(&format!(":{port}/{name}")), "{url}");
            drop(shared);
            std::net::TcpStream::connect(("127.0.0.1", owner.port()))
                .expect("dropping a shared server's handle leaves the server running");
        }
        let error = TestPostgres::shared(bin, "not-a-port".as_ref()).expect_err("a bad port");
        assert!(error.to_string().contains(SHARED_PORT), "{error}");
    }

    /// The port race: another process holds the port found first. The server must fail to bind
    /// it, and the start must go on with another port.
    #[tokio::test]
    async fn a_taken_port_is_replaced_by_another() {
        let Some(bin) = find_bin_dir(std::env::var_os("PATH"), Path::new(DEBIAN_ROOT)) else {
            not_installed(require_tools()).expect("PostgreSQL is required");
            return;
        };
        let holder = std::net::TcpListener::bind("127.0.0.1:0").expect("hold a port");
        let taken = holder.local_addr().expect("the held port").port();
        let postgres = TestPostgres::start_in(bin, Some(taken))
            .await
            .expect("start PostgreSQL after losing the first port");
        assert_ne!(
            postgres.port(),
            taken,
            "the server cannot have the port another socket holds"
        );
        assert!(
            read_from(&postgres.log_path().expect("a server of its own"), 0)
                .contains("Address already in use"),
            "the first attempt must have failed on the taken port; the log:\n{}",
            postgres
                .cluster
                .as_ref()
                .map(Cluster::log_tail)
                .unwrap_or_default()
        );
        std::net::TcpStream::connect(("127.0.0.1", postgres.port()))
            .expect("the server listens on the port it was given in the end");
    }
}
