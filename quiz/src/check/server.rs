//! Starting the learner's server binary on a free loopback port, and making sure it is stopped
//! on every path out of the check.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use crate::scratch::{DATABASE_URL, ScratchDir};

/// How many of the server's last output lines a report shows.
const KEPT_LINES: usize = 20;

/// The server's last lines of output (stdout and stderr, interleaved as they arrived).
#[derive(Debug, Clone, Default)]
pub struct OutputLog(Arc<Mutex<VecDeque<String>>>);

impl OutputLog {
    fn push(&self, line: String) {
        let mut lines = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if lines.len() == KEPT_LINES {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    /// The lines kept, or a note that there were none.
    pub fn text(&self) -> String {
        let lines = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if lines.is_empty() {
            "(the server printed nothing)".to_string()
        } else {
            lines.iter().cloned().collect::<Vec<_>>().join("\n")
        }
    }
}

/// The learner's server, running. Dropping it kills the process (and removes its database).
#[derive(Debug)]
pub struct RunningServer {
    child: Child,
    pub addr: SocketAddr,
    pub log: OutputLog,
    /// The folder of the server's database (lesson 18 on), removed after the process is gone.
    database: Option<ScratchDir>,
}

/// Why a server did not get as far as listening.
#[derive(Debug)]
pub enum StartFailure {
    /// The binary could not be run at all.
    Spawn(std::io::Error),
    /// It exited (or crashed) before saying it listens.
    Exited { status: ExitStatus, log: OutputLog },
    /// It did not say `listening on ADDR` within the time limit, and was killed.
    Silent { limit: Duration, log: OutputLog },
    /// It said it listens, but not on an address that can be read.
    BadAddress { line: String, log: OutputLog },
}

impl StartFailure {
    /// What came back, in words, with the process's output.
    pub fn described(self) -> String {
        match self {
            StartFailure::Spawn(error) => format!("cannot run it: {error}"),
            StartFailure::Exited { status, log } => {
                format!("it exited ({status}) with this output:\n{}", log.text())
            }
            StartFailure::Silent { limit, log } => format!(
                "nothing within {} s; its output:\n{}",
                limit.as_secs(),
                log.text()
            ),
            StartFailure::BadAddress { line, log } => format!("{line}\n{}", log.text()),
        }
    }
}

/// The address of a `... listening on 127.0.0.1:PORT` line.
pub fn listening_address(line: &str) -> Option<Result<SocketAddr, String>> {
    let (_, after) = line.split_once("listening on")?;
    let word = after.split_whitespace().next().unwrap_or_default();
    let word = word
        .trim_start_matches("http://")
        .trim_end_matches(['.', ',', '/']);
    Some(word.parse().map_err(|_| line.to_string()))
}

fn forward<R: AsyncRead + Unpin + Send + 'static>(
    stream: R,
    log: OutputLog,
    addresses: Option<mpsc::UnboundedSender<String>>,
) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(addresses) = &addresses
                && line.contains("listening on")
            {
                let _ = addresses.send(line.clone());
            }
            log.push(line);
        }
    });
}

/// Starts `binary --addr 127.0.0.1:0` and waits up to `limit` for its `listening on` line.
pub async fn start(binary: &Path, limit: Duration) -> Result<RunningServer, StartFailure> {
    start_with_args(binary, &[], limit).await
}

/// Starts `binary --addr 127.0.0.1:0 ARGS...` on a new, empty database and waits up to
/// `limit` for its `listening on` line.
pub async fn start_with_args(
    binary: &Path,
    args: &[&str],
    limit: Duration,
) -> Result<RunningServer, StartFailure> {
    let database = ScratchDir::for_database();
    start_on(binary, args, database, &[], limit).await
}

/// Starts `binary --addr 127.0.0.1:0 ARGS...` with its database in `database` (`None`: the
/// server's default) and the variables `env`, and waits up to `limit` for its `listening on`
/// line. Lesson 18's check restarts a server on the database of the one before with it.
pub async fn start_on(
    binary: &Path,
    args: &[&str],
    database: Option<ScratchDir>,
    env: &[(&str, &str)],
    limit: Duration,
) -> Result<RunningServer, StartFailure> {
    let mut command = Command::new(binary);
    if let Some(database) = &database {
        command.env(DATABASE_URL, database.database_url("shortener.db"));
    }
    command.envs(env.iter().copied());
    let mut child = command
        .args(["--addr", "127.0.0.1:0"])
        .args(args)
        .env_remove("SHORTENER_ADDR")
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(StartFailure::Spawn)?;
    let log = OutputLog::default();
    let (addresses, mut listening) = mpsc::unbounded_channel();
    if let Some(stdout) = child.stdout.take() {
        forward(stdout, log.clone(), Some(addresses));
    }
    if let Some(stderr) = child.stderr.take() {
        forward(stderr, log.clone(), None);
    }

    let deadline = tokio::time::sleep(limit);
    tokio::pin!(deadline);
    let mut stdout_open = true;
    loop {
        tokio::select! {
            line = listening.recv(), if stdout_open => match line {
                // stdout closed without the line: wait for the exit or the deadline.
                None => stdout_open = false,
                Some(line) => match listening_address(&line) {
                    Some(Ok(addr)) => {
                        return Ok(RunningServer { child, addr, log, database });
                    }
                    Some(Err(line)) => {
                        kill(&mut child).await;
                        return Err(StartFailure::BadAddress { line, log });
                    }
                    None => {}
                },
            },
            status = child.wait() => {
                // Let the last lines of output arrive before reporting them.
                tokio::time::sleep(Duration::from_millis(200)).await;
                return match status {
                    Ok(status) => Err(StartFailure::Exited { status, log }),
                    Err(error) => Err(StartFailure::Spawn(error)),
                };
            }
            () = &mut deadline => {
                kill(&mut child).await;
                return Err(StartFailure::Silent { limit, log });
            }
        }
    }
}

async fn kill(child: &mut Child) {
    let _ = child.start_kill();
    let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
}

impl RunningServer {
    /// Whether the server has exited (crashed) since it started, and how.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Sends the server a signal (`libc::SIGTERM`, say).
    pub fn signal(&self, signal: libc::c_int) {
        if let Some(pid) = self
            .child
            .id()
            .and_then(|pid| libc::pid_t::try_from(pid).ok())
        {
            // SAFETY: kill(2) with a child's pid and a signal number has no memory effects.
            unsafe {
                libc::kill(pid, signal);
            }
        }
    }

    /// Stops the server and waits for it to go.
    pub async fn stop(mut self) {
        kill(&mut self.child).await;
    }

    /// Kills the server with SIGKILL (nothing of it runs after: no drain, no close), waits for
    /// it to go, and hands back its database's folder, to start the next server on.
    pub async fn crash(mut self) -> Option<ScratchDir> {
        kill(&mut self.child).await;
        self.database.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listening_line_gives_the_address() {
        let addr = listening_address("LinkService listening on 127.0.0.1:40123")
            .expect("a listening line")
            .expect("an address");
        assert_eq!(addr.port(), 40123);
        assert!(listening_address("starting up").is_none());
        assert!(matches!(
            listening_address("listening on port five"),
            Some(Err(_))
        ));
    }
}
