//! Processes that run in a process group of their own: a lesson's test executable, with
//! whatever it starts (a server, the client binary). A group is killed whole when its run ends,
//! however it ends: the run's future finishing, being dropped mid-way, or the whole check being
//! stopped by [`kill_all`] (`cargo quiz watch` does that when the learner saves during a run).
//!
//! Every other process of a check (cargo and rustc, the learner's server and client) stays in
//! the checker's own process group, which `cargo quiz watch` kills as a whole; a group made
//! here is outside it, which is why each one is registered.

use std::collections::BTreeSet;
use std::sync::Mutex;

/// The groups alive now, by their id (the pid of the process that leads each).
static LIVE: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());

fn live() -> std::sync::MutexGuard<'static, BTreeSet<i32>> {
    LIVE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn kill(group: i32) {
    // SAFETY: kill(2) takes plain integers and touches no memory of ours; a negative pid names
    // the process group, which `process_group(0)` made for one child alone.
    unsafe {
        libc::kill(-group, libc::SIGKILL);
    }
}

/// A child's process group: killed when this is dropped.
#[derive(Debug)]
pub struct Group(Option<i32>);

impl Drop for Group {
    fn drop(&mut self) {
        if let Some(group) = self.0 {
            let mut live = live();
            kill(group);
            live.remove(&group);
        }
    }
}

/// Spawns `command` as the leader of a new process group and registers the group. The
/// registry is held while the process starts, so [`kill_all`] never misses a group that is
/// being made.
pub fn spawn(
    command: &mut tokio::process::Command,
) -> std::io::Result<(tokio::process::Child, Group)> {
    let mut live = live();
    let child = command.process_group(0).spawn()?;
    let group = child.id().and_then(|id| i32::try_from(id).ok());
    if let Some(group) = group {
        live.insert(group);
    }
    Ok((child, Group(group)))
}

/// Kills every group alive now, and keeps new ones from starting: for a check that is being
/// stopped, just before its own process group is killed.
pub fn kill_all() -> std::sync::MutexGuard<'static, BTreeSet<i32>> {
    let live = live();
    for &group in live.iter() {
        kill(group);
    }
    live
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `pid` runs (a zombie, killed and waiting to be reaped, does not).
    fn alive(pid: i32) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            // The state follows the command's closing parenthesis.
            Ok(stat) => stat
                .rsplit_once(") ")
                .is_some_and(|(_, rest)| !rest.starts_with('Z')),
            Err(_) if std::path::Path::new("/proc/self/stat").exists() => false,
            // SAFETY: signal 0 only asks whether the process exists.
            Err(_) => unsafe { libc::kill(pid, 0) == 0 },
        }
    }

    #[tokio::test]
    async fn a_dropped_group_takes_its_grandchildren_with_it() {
        // A shell that starts a grandchild and prints its pid: the grandchild is in the group.
        let mut command = tokio::process::Command::new("sh");
        command
            .args(["-c", "sleep 300 & echo $!; wait"])
            .stdout(std::process::Stdio::piped());
        let (mut child, group) = spawn(&mut command).expect("run sh");
        let mut stdout = tokio::io::BufReader::new(child.stdout.take().expect("piped"));
        let mut line = String::new();
        tokio::time::timeout(
            std::time::Duration::from_secs(10),
            tokio::io::AsyncBufReadExt::read_line(&mut stdout, &mut line),
        )
        .await
        .expect("sh printed the sleep's pid within 10 s")
        .expect("read sh's output");
        let grandchild: i32 = line.trim().parse().expect("a pid");
        assert!(alive(grandchild), "the grandchild runs");
        drop(group);
        let _ = child.wait().await;
        // The grandchild is sh's child: once killed, init reaps it; wait for that, bounded.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while alive(grandchild) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(
            !alive(grandchild),
            "the group's grandchild {grandchild} outlived the group: the kill must name the \
             group (a negative pid), not the child alone"
        );
    }
}
