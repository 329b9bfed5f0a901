//! What Linux says about a process: the CPU time it has used and the memory it holds, from
//! `/proc/PID/stat` and `/proc/PID/status` (proc(5)).

use std::time::Duration;

use anyhow::Context as _;

/// CPU time, split as the kernel counts it: in the process's own code (user) and in the
/// kernel on its behalf (system: its syscalls, such as socket reads and writes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTime {
    pub user: Duration,
    pub system: Duration,
}

impl CpuTime {
    pub fn total(self) -> Duration {
        self.user + self.system
    }

    /// The time used since `earlier`.
    pub fn since(self, earlier: CpuTime) -> CpuTime {
        CpuTime {
            user: self.user.saturating_sub(earlier.user),
            system: self.system.saturating_sub(earlier.system),
        }
    }
}

/// The CPU time a process has used so far, all its threads together (the `utime` and `stime`
/// fields of `/proc/PID/stat`, in clock ticks: 10 ms on most systems).
pub fn cpu_time(pid: u32) -> anyhow::Result<CpuTime> {
    let path = format!("/proc/{pid}/stat");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    parse_cpu_time(&text, ticks_per_second())
        .with_context(|| format!("{path} is not as proc(5) says"))
}

/// This process's own CPU time.
pub fn own_cpu_time() -> anyhow::Result<CpuTime> {
    cpu_time(std::process::id())
}

fn ticks_per_second() -> u64 {
    // SAFETY: sysconf only reads a system constant.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(ticks).ok().filter(|&t| t > 0).unwrap_or(100)
}

/// `utime + stime` of a `/proc/PID/stat` line. The command name (field 2) is in parentheses and
/// may hold spaces and parentheses itself, so the fields are counted from its last `)`.
fn parse_cpu_time(stat: &str, ticks_per_second: u64) -> Option<CpuTime> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    // Field 3 (state) is the first after the name; utime and stime are fields 14 and 15.
    let mut fields = after_name.split_whitespace().skip(11);
    let mut next = || -> Option<Duration> {
        let ticks: u64 = fields.next()?.parse().ok()?;
        Some(Duration::from_nanos(
            ticks * 1_000_000_000 / ticks_per_second,
        ))
    };
    Some(CpuTime {
        user: next()?,
        system: next()?,
    })
}

/// The memory a process holds now and the most it has held (`VmRSS`, `VmHWM`), in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    pub rss: u64,
    pub peak_rss: u64,
}

pub fn memory(pid: u32) -> anyhow::Result<Memory> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    parse_memory(&text).with_context(|| format!("{path} has no VmRSS or VmHWM line"))
}

fn parse_memory(status: &str) -> Option<Memory> {
    let kib = |name: &str| -> Option<u64> {
        let line = status.lines().find(|line| line.starts_with(name))?;
        let value = line[name.len()..].trim().trim_end_matches("kB").trim();
        value.parse::<u64>().ok().map(|kib| kib * 1024)
    };
    Some(Memory {
        rss: kib("VmRSS:")?,
        peak_rss: kib("VmHWM:")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_is_user_plus_system_after_the_name() {
        // A name with a space and a parenthesis, as `(tokio-rt (x))` could be.
        let stat = "4242 (my server) x) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 50 0 0 20 0 3 0";
        let cpu = parse_cpu_time(stat, 100).expect("a stat line");
        assert_eq!(
            cpu.user,
            Duration::from_millis(2_500),
            "250 ticks at 100 a second"
        );
        assert_eq!(cpu.system, Duration::from_millis(500));
        assert_eq!(cpu.total(), Duration::from_secs(3));
        assert_eq!(parse_cpu_time("4242 (short) S 1", 100), None);
    }

    #[test]
    fn memory_is_read_in_bytes() {
        let status = "Name:\tserver\nVmPeak:\t  999 kB\nVmHWM:\t    2048 kB\nVmRSS:\t    1024 kB\n";
        assert_eq!(
            parse_memory(status),
            Some(Memory {
                rss: 1024 * 1024,
                peak_rss: 2048 * 1024
            })
        );
    }

    #[test]
    fn this_process_can_be_read() {
        assert!(own_cpu_time().is_ok());
        let memory = memory(std::process::id()).expect("our own /proc/PID/status");
        assert!(memory.peak_rss >= memory.rss && memory.rss > 0);
    }
}
