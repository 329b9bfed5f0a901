//! The load tool's report: ghz's summary for each server, the server's CPU per operation and
//! memory, the ratio against the bare server, and notes on what the figures can and cannot say.
//! The same `Report` is printed as text or as JSON.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use super::Build;
use super::proc::{CpuTime, Memory};
use super::scenario::{Plan, Scenario};
use super::stats::{Seen, Spread, Tally, spread};
use crate::style::Style;

/// One round against one server.
#[derive(Debug, Clone, Serialize)]
pub struct RoundResult {
    pub round: usize,
    /// The server's process id, when the tool started it.
    pub pid: Option<u32>,
    /// The measured window (for fill: the whole fill).
    pub secs: f64,
    /// Latency samples: calls, or messages for sync.
    pub samples: u64,
    pub ops: u64,
    pub failed_calls: u64,
    pub ops_per_sec: f64,
    /// The server's CPU time (user + system) in the window; `None` for a server the tool did not
    /// start.
    pub server_cpu_secs: Option<f64>,
    /// The part of it spent in the kernel (syscalls: socket reads and writes, the log's writes).
    pub server_system_secs: Option<f64>,
    pub cpu_us_per_op: Option<f64>,
    /// The load tool's own CPU time in the window: it shares the machine with the server.
    pub tool_cpu_secs: Option<f64>,
    /// The server's memory before the load (after its store was prepared) and after it.
    pub rss_before_bytes: Option<u64>,
    pub rss_after_bytes: Option<u64>,
    pub peak_rss_bytes: Option<u64>,
    #[serde(skip)]
    pub tally: Tally,
}

impl RoundResult {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        round: usize,
        pid: Option<u32>,
        secs: Duration,
        tally: Tally,
        server_cpu: Option<CpuTime>,
        tool_cpu: Option<CpuTime>,
        before: Option<Memory>,
        after: Option<Memory>,
    ) -> RoundResult {
        let secs = secs.as_secs_f64();
        let server_cpu_secs = server_cpu.map(|cpu| cpu.total().as_secs_f64());
        RoundResult {
            round,
            pid,
            secs,
            samples: tally.latencies.count(),
            ops: tally.ops,
            failed_calls: tally.failed(),
            ops_per_sec: if secs > 0.0 {
                tally.ops as f64 / secs
            } else {
                0.0
            },
            server_cpu_secs,
            server_system_secs: server_cpu.map(|cpu| cpu.system.as_secs_f64()),
            cpu_us_per_op: server_cpu_secs
                .filter(|_| tally.ops > 0)
                .map(|cpu| cpu * 1e6 / tally.ops as f64),
            tool_cpu_secs: tool_cpu.map(|cpu| cpu.total().as_secs_f64()),
            rss_before_bytes: before.map(|memory| memory.rss),
            rss_after_bytes: after.map(|memory| memory.rss),
            peak_rss_bytes: after.map(|memory| memory.peak_rss),
            tally,
        }
    }
}

/// One step of the response-time histogram.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub upto_us: f64,
    pub count: u64,
}

/// ghz's summary, over every round of one server.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Latency samples: calls, or messages for sync.
    pub count: u64,
    pub total_secs: f64,
    pub slowest_us: Option<f64>,
    pub fastest_us: Option<f64>,
    pub average_us: Option<f64>,
    /// Samples a second: calls/s (messages/s for sync).
    pub rate: f64,
    pub ops: u64,
    pub ops_per_sec: f64,
    pub p50_us: Option<f64>,
    pub p90_us: Option<f64>,
    pub p99_us: Option<f64>,
    pub p999_us: Option<f64>,
    pub histogram: Vec<Step>,
    /// How calls ended (for sync: streams), the most frequent first.
    pub statuses: Vec<Seen>,
}

fn micros(duration: Option<Duration>) -> Option<f64> {
    duration.map(|d| d.as_secs_f64() * 1e6)
}

impl Summary {
    fn of(rounds: &[RoundResult]) -> Summary {
        let mut all = Tally::default();
        for round in rounds {
            all.merge(&round.tally);
        }
        let total_secs: f64 = rounds.iter().map(|round| round.secs).sum();
        let per_sec = |n: u64| {
            if total_secs > 0.0 {
                n as f64 / total_secs
            } else {
                0.0
            }
        };
        let latencies = &all.latencies;
        Summary {
            count: latencies.count(),
            total_secs,
            slowest_us: micros(latencies.slowest()),
            fastest_us: micros(latencies.fastest()),
            average_us: micros(latencies.average()),
            rate: per_sec(latencies.count()),
            ops: all.ops,
            ops_per_sec: per_sec(all.ops),
            p50_us: micros(latencies.quantile(0.5)),
            p90_us: micros(latencies.quantile(0.9)),
            p99_us: micros(latencies.quantile(0.99)),
            p999_us: micros(latencies.quantile(0.999)),
            histogram: latencies
                .steps(10)
                .into_iter()
                .map(|(upto, count)| Step {
                    upto_us: upto.as_secs_f64() * 1e6,
                    count,
                })
                .collect(),
            statuses: all.statuses,
        }
    }
}

/// Everything measured of one server.
#[derive(Debug, Clone, Serialize)]
pub struct ServerReport {
    /// "ours" or "bare".
    pub name: String,
    /// The binary the tool started, or the address it loaded.
    pub server: String,
    pub summary: Summary,
    /// Over the rounds: the figure to compare.
    pub cpu_us_per_op: Option<Spread>,
    /// The share of that CPU time spent in the kernel, in percent.
    pub system_percent: Option<Spread>,
    pub ops_per_sec: Option<Spread>,
    /// The most memory the server held in any round.
    pub peak_rss_bytes: Option<u64>,
    /// fill: peak RSS over the links created.
    pub peak_rss_bytes_per_link: Option<Spread>,
    /// fill: (RSS after - RSS before) over the links created: what each stored link holds.
    pub held_bytes_per_link: Option<Spread>,
    pub rounds: Vec<RoundResult>,
}

impl ServerReport {
    pub fn new(name: &str, server: &str, plan: &Plan, rounds: Vec<RoundResult>) -> ServerReport {
        let cpu: Vec<f64> = rounds.iter().filter_map(|r| r.cpu_us_per_op).collect();
        let rates: Vec<f64> = rounds.iter().map(|r| r.ops_per_sec).collect();
        let fill = plan.scenario == Scenario::Fill;
        let per_link = |bytes: &dyn Fn(&RoundResult) -> Option<f64>| -> Option<Spread> {
            if !fill {
                return None;
            }
            let values: Vec<f64> = rounds
                .iter()
                .filter(|round| round.ops > 0)
                .filter_map(|round| bytes(round).map(|b| b / round.ops as f64))
                .collect();
            spread(&values)
        };
        ServerReport {
            name: name.to_string(),
            server: server.to_string(),
            summary: Summary::of(&rounds),
            cpu_us_per_op: spread(&cpu),
            system_percent: spread(
                &rounds
                    .iter()
                    .filter_map(|r| match (r.server_system_secs, r.server_cpu_secs) {
                        (Some(system), Some(all)) if all > 0.0 => Some(system / all * 100.0),
                        _ => None,
                    })
                    .collect::<Vec<f64>>(),
            ),
            ops_per_sec: spread(&rates),
            peak_rss_bytes: rounds.iter().filter_map(|r| r.peak_rss_bytes).max(),
            peak_rss_bytes_per_link: per_link(&|r| r.peak_rss_bytes.map(|b| b as f64)),
            held_bytes_per_link: per_link(&|r| match (r.rss_before_bytes, r.rss_after_bytes) {
                (Some(before), Some(after)) => Some(after.saturating_sub(before) as f64),
                _ => None,
            }),
            rounds,
        }
    }
}

/// The settings of a run, as the report states them.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    pub concurrency: usize,
    pub connections: usize,
    pub rounds: usize,
    pub warmup_secs: f64,
    pub secs: f64,
    pub timeout_secs: f64,
    pub batch: usize,
    pub window: usize,
    pub links: usize,
    pub api_key: bool,
    /// `--rate`: calls (sync: messages) a second asked for, or `None` for a closed loop.
    pub rate: Option<f64>,
}

/// The machine and the builds the figures come from.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cores: usize,
    pub servers_build: Build,
    pub tool_build: Build,
}

/// bare / ours of CPU per operation, round by round.
#[derive(Debug, Clone, Serialize)]
pub struct Ratio {
    pub per_round: Vec<f64>,
    pub spread: Spread,
}

/// A whole run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub scenario: Scenario,
    pub rpc: &'static str,
    /// What one operation is.
    pub op: &'static str,
    /// What one latency sample is.
    pub sample: &'static str,
    pub settings: Settings,
    pub machine: Machine,
    pub servers: Vec<ServerReport>,
    /// CPU per op of the bare server over ours: 1.0 is as cheap as bare tonic.
    pub bare_over_ours: Option<Ratio>,
    /// `--against`: our calls a second over theirs, round by round (1.0: as fast).
    pub ours_over_theirs_ops: Option<Ratio>,
    /// `--against`: our CPU per op over theirs, round by round (2.0: twice their CPU).
    pub ours_over_theirs_cpu: Option<Ratio>,
    pub notes: Vec<String>,
}

impl Report {
    pub fn new(
        plan: &Plan,
        rounds: usize,
        debug_build: bool,
        servers: Vec<ServerReport>,
    ) -> Report {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let ratio =
            |ours: &ServerReport, theirs: &ServerReport, of: fn(&RoundResult) -> Option<f64>| {
                let per_round: Vec<f64> = ours
                    .rounds
                    .iter()
                    .zip(&theirs.rounds)
                    .filter_map(|(o, t)| Some(of(o)? / of(t)?))
                    .collect();
                spread(&per_round).map(|spread| Ratio { per_round, spread })
            };
        let (ours_over_theirs_ops, ours_over_theirs_cpu) = match servers.as_slice() {
            [ours, theirs] if theirs.name == "theirs" => (
                ratio(ours, theirs, |r| Some(r.ops_per_sec)),
                ratio(ours, theirs, |r| r.cpu_us_per_op),
            ),
            _ => (None, None),
        };
        let bare_over_ours = match servers.as_slice() {
            [ours, bare] if bare.name == "bare" => {
                let per_round: Vec<f64> = ours
                    .rounds
                    .iter()
                    .zip(&bare.rounds)
                    .filter_map(|(o, b)| Some(b.cpu_us_per_op? / o.cpu_us_per_op?))
                    .collect();
                spread(&per_round).map(|spread| Ratio { per_round, spread })
            }
            _ => None,
        };
        let mut report = Report {
            scenario: plan.scenario,
            rpc: plan.scenario.rpc(),
            op: plan.scenario.op(),
            sample: plan.scenario.sample(),
            settings: Settings {
                concurrency: plan.concurrency,
                connections: plan.connections,
                rounds,
                warmup_secs: plan.warmup.as_secs_f64(),
                secs: plan.secs.as_secs_f64(),
                timeout_secs: plan.timeout.as_secs_f64(),
                batch: plan.batch,
                window: plan.window,
                links: plan.links,
                api_key: plan.key.is_some(),
                rate: plan.rate,
            },
            machine: Machine {
                cores,
                servers_build: if debug_build {
                    Build::Debug
                } else {
                    Build::Release
                },
                tool_build: Build::of_this_tool(),
            },
            servers,
            bare_over_ours,
            ours_over_theirs_ops,
            ours_over_theirs_cpu,
            notes: Vec::new(),
        };
        report.notes = report.notes();
        report
    }

    /// Calls that ended with a status other than OK, on every server.
    pub fn failed_calls(&self) -> u64 {
        self.servers
            .iter()
            .map(|server| server.rounds.iter().map(|r| r.failed_calls).sum::<u64>())
            .sum()
    }

    fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        let cores = self.machine.cores;
        notes.push(format!(
            "The load tool and the servers share this machine's {cores} core{}: calls/s measures \
             both of them, and a busy tool or another program slows the server down. CPU time \
             per operation is the server's own (utime + stime from /proc/PID/stat over the \
             measured window, divided by the operations done in it): that is the figure to \
             compare between servers and between changes.",
            if cores == 1 { "" } else { "s" }
        ));
        let tool_cpu: f64 = self
            .servers
            .iter()
            .flat_map(|server| &server.rounds)
            .filter_map(|round| round.tool_cpu_secs)
            .sum();
        let server_cpu: f64 = self
            .servers
            .iter()
            .flat_map(|server| &server.rounds)
            .filter_map(|round| round.server_cpu_secs)
            .sum();
        let window: f64 = self
            .servers
            .iter()
            .flat_map(|server| &server.rounds)
            .map(|round| round.secs)
            .sum();
        if window > 0.0 && tool_cpu > 0.0 {
            notes.push(format!(
                "In the measured windows the load tool used {:.0}% of one core on average{}.",
                tool_cpu / window * 100.0,
                if server_cpu > 0.0 {
                    format!(", the servers {:.0}%", server_cpu / window * 100.0)
                } else {
                    String::new()
                }
            ));
        }
        if self.machine.tool_build == Build::Debug {
            notes.push(
                "The load tool itself is a debug build (--debug-build): it spends about three \
                 times the CPU per call it spends optimised, pushes the server less hard, and \
                 the server's CPU per call rises with it."
                    .to_string(),
            );
        }
        if self.machine.servers_build == Build::Debug {
            notes.push(
                "The servers were built without optimisations (--debug-build): these figures say \
                 nothing about their speed."
                    .to_string(),
            );
        }
        if self
            .servers
            .iter()
            .all(|server| server.cpu_us_per_op.is_none())
        {
            notes.push(
                "No CPU figures: the tool reads a server's CPU time from /proc/PID/stat, which it \
                 can only do for a server it started. Give a lesson number or --path (not --addr) \
                 to let it start the server."
                    .to_string(),
            );
        }
        if self.settings.rounds < 3 {
            notes.push(format!(
                "{} round{}: with fewer than 3, one disturbed round decides the figure. Use \
                 --rounds 3 or more for a decision.",
                self.settings.rounds,
                if self.settings.rounds == 1 { "" } else { "s" }
            ));
        }
        for server in &self.servers {
            if let Some(cpu) = server.cpu_us_per_op
                && self.settings.rounds >= 2
                && cpu.width_percent() > 10.0
            {
                notes.push(format!(
                    "{}'s CPU per op differed by {:.0}% between rounds: something else used the \
                     machine, or the rounds are too short. More rounds (or longer ones) narrow it.",
                    server.name,
                    cpu.width_percent()
                ));
            }
            let least_cpu = server
                .rounds
                .iter()
                .filter_map(|round| round.server_cpu_secs)
                .fold(f64::INFINITY, f64::min);
            if least_cpu.is_finite() && least_cpu < 1.0 {
                notes.push(format!(
                    "{} used as little as {:.2} s of CPU in a round; /proc counts it in clock \
                     ticks of 10 ms, so that round's figure is within about ±{:.0}%. Longer \
                     rounds (--secs) make it finer.",
                    server.name,
                    least_cpu,
                    (0.02 / least_cpu.max(0.01) * 100.0).min(100.0)
                ));
            }
        }
        if let Some(rate) = self.settings.rate {
            for server in &self.servers {
                let slowest = server
                    .rounds
                    .iter()
                    .filter(|round| round.secs > 0.0)
                    .map(|round| round.samples as f64 / round.secs)
                    .fold(f64::INFINITY, f64::min);
                if slowest.is_finite() && slowest < rate * 0.95 {
                    notes.push(format!(
                        "{} reached {} of the {} a second asked for (--rate) in its slowest \
                         round: it (or the tool) could not keep up, so its figures are at the \
                         load it reached, not at the rate.",
                        server.name,
                        thousands(slowest),
                        thousands(rate)
                    ));
                }
            }
        }
        if self.failed_calls() > 0 {
            notes.push(
                "Some calls failed (see the status codes): the figures count successful \
                 operations only."
                    .to_string(),
            );
        }
        notes
    }
}

/// The plan, in one line.
pub fn describe_plan(plan: &Plan, rounds: usize) -> String {
    let what = match plan.scenario {
        Scenario::Create | Scenario::Get => format!(
            "{} calls in flight on {} connection{}",
            plan.concurrency,
            plan.connections,
            plural(plan.connections)
        ),
        Scenario::Batch => format!(
            "{} streams of {} URLs in flight on {} connection{}",
            plan.concurrency,
            thousands(plan.batch as f64),
            plan.connections,
            plural(plan.connections)
        ),
        Scenario::Sync => format!(
            "{} bidi streams, {} messages in flight on each, on {} connection{}",
            plan.concurrency,
            plan.window,
            plan.connections,
            plural(plan.connections)
        ),
        Scenario::List => format!(
            "{} streams at a time over a store of {} links, on {} connection{}",
            plan.concurrency,
            thousands(plan.links as f64),
            plan.connections,
            plural(plan.connections)
        ),
        Scenario::Fill => format!(
            "{} links in batches of {}, {} at a time",
            thousands(plan.links as f64),
            thousands(plan.batch as f64),
            plan.concurrency
        ),
    };
    let timing = if plan.scenario == Scenario::Fill {
        format!("{rounds} round{}", plural(rounds))
    } else {
        format!(
            "{rounds} round{} of {:.1} s after {:.1} s of warm-up",
            plural(rounds),
            plan.secs.as_secs_f64(),
            plan.warmup.as_secs_f64()
        )
    };
    let pace = plan.rate.map_or_else(String::new, |rate| {
        format!(
            ", paced at {} {}",
            thousands(rate),
            plan.scenario.rate_unit()
        )
    });
    format!(
        "{} ({}): {what}{pace}; {timing}; every call's deadline {:.1} s",
        scenario_name(plan.scenario),
        plan.scenario.rpc(),
        plan.timeout.as_secs_f64()
    )
}

fn scenario_name(scenario: Scenario) -> &'static str {
    match scenario {
        Scenario::Create => "create",
        Scenario::Get => "get",
        Scenario::Batch => "batch",
        Scenario::Sync => "sync",
        Scenario::List => "list",
        Scenario::Fill => "fill",
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// A round, in one line of progress.
pub fn round_line(scenario: Scenario, round: &RoundResult) -> String {
    let mut line = format!("{} {}/s", thousands(round.ops_per_sec), scenario.ops());
    if let Some(cpu) = round.cpu_us_per_op {
        line.push_str(&format!(", {cpu:.2} µs CPU per {}", scenario.op()));
    }
    if round.failed_calls > 0 {
        line.push_str(&format!(", {} failed", round.failed_calls));
    }
    if scenario == Scenario::Fill
        && let Some(peak) = round.peak_rss_bytes
    {
        line.push_str(&format!(", peak RSS {}", mib(peak)));
    }
    line
}

/// 12345.6 as "12,346".
fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (index, c) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// A latency in the unit that reads best.
fn latency(us: f64) -> String {
    if us >= 1_000_000.0 {
        format!("{:.2} s", us / 1e6)
    } else if us >= 1_000.0 {
        format!("{:.2} ms", us / 1e3)
    } else {
        format!("{us:.1} µs")
    }
}

fn spread_text(spread: &Spread, unit: &str, rounds: usize) -> String {
    if rounds < 2 {
        return format!("{:.2}{unit} (1 round)", spread.median);
    }
    format!(
        "{:.2}{unit} (median of {rounds} rounds; {:.2} to {:.2}, a spread of {:.0}%)",
        spread.median,
        spread.min,
        spread.max,
        spread.width_percent()
    )
}

fn render_server(out: &mut String, report: &Report, server: &ServerReport, style: Style) {
    let summary = &server.summary;
    let rounds = server.rounds.len();
    let _ = writeln!(
        out,
        "{}",
        style.bold(&format!("== {}: {} ==", server.name, server.server))
    );
    let _ = writeln!(out, "Summary:");
    let _ = writeln!(
        out,
        "  Count:\t{} {}",
        thousands(summary.count as f64),
        report.sample
    );
    let _ = writeln!(out, "  Total:\t{:.2} s", summary.total_secs);
    let field = |value: Option<f64>| value.map_or_else(|| "-".to_string(), latency);
    let _ = writeln!(out, "  Slowest:\t{}", field(summary.slowest_us));
    let _ = writeln!(out, "  Fastest:\t{}", field(summary.fastest_us));
    let _ = writeln!(out, "  Average:\t{}", field(summary.average_us));
    let _ = writeln!(
        out,
        "  Rate:\t\t{} {}",
        thousands(summary.rate),
        report.scenario.rate_unit()
    );
    let _ = writeln!(
        out,
        "  Operations:\t{} {} ({}/s)",
        thousands(summary.ops as f64),
        report.scenario.ops(),
        thousands(summary.ops_per_sec),
    );
    if !summary.histogram.is_empty() {
        let _ = writeln!(out, "\nResponse time histogram:");
        let most = summary
            .histogram
            .iter()
            .map(|step| step.count)
            .max()
            .unwrap_or(1)
            .max(1);
        for step in &summary.histogram {
            let bar = "∎".repeat((step.count * 40 / most) as usize);
            let _ = writeln!(
                out,
                "  {:>10} [{}]\t|{bar}",
                latency(step.upto_us),
                step.count
            );
        }
        let _ = writeln!(out, "\nLatency distribution:");
        for (label, value) in [
            ("50 %", summary.p50_us),
            ("90 %", summary.p90_us),
            ("99 %", summary.p99_us),
            ("99.9 %", summary.p999_us),
        ] {
            let _ = writeln!(out, "  {label:>6} in {}", field(value));
        }
    }
    let _ = writeln!(out, "\nStatus code distribution:");
    if summary.statuses.is_empty() {
        let _ = writeln!(out, "  (no call ended inside the measured window)");
    }
    for seen in &summary.statuses {
        let unit = if report.scenario == Scenario::Sync {
            "streams"
        } else {
            "calls"
        };
        let line = if seen.code == "OK" {
            format!("  [{}]\t{} {unit}", seen.code, seen.count)
        } else {
            format!(
                "  [{}]\t{} {unit}, the first said: {}",
                seen.code, seen.count, seen.example
            )
        };
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out, "\nServer:");
    match server.cpu_us_per_op {
        Some(cpu) => {
            let _ = writeln!(
                out,
                "  CPU per {}:\t{}",
                report.op,
                spread_text(&cpu, " µs", rounds)
            );
        }
        None => {
            let _ = writeln!(out, "  CPU per {}:\tnot known (see the notes)", report.op);
        }
    }
    if let Some(peak) = server.peak_rss_bytes {
        let _ = writeln!(out, "  Peak RSS:\t{}", mib(peak));
    }
    if let Some(system) = server.system_percent {
        let _ = writeln!(
            out,
            "  In the kernel:\t{:.0}% of its CPU time (syscalls: sockets, the log's writes)",
            system.median
        );
    }
    if let Some(per_link) = server.peak_rss_bytes_per_link {
        let _ = writeln!(
            out,
            "  Peak RSS per link:\t{}",
            spread_text(&per_link, " bytes", rounds)
        );
    }
    if let Some(held) = server.held_bytes_per_link {
        let _ = writeln!(
            out,
            "  RSS added per link:\t{}",
            spread_text(&held, " bytes", rounds)
        );
    }
    let _ = writeln!(out, "  Rounds:");
    for round in &server.rounds {
        let _ = writeln!(
            out,
            "    {}: {}",
            round.round,
            round_line(report.scenario, round)
        );
    }
    let _ = writeln!(out);
}

/// The report as text, ghz's layout first.
pub fn render(report: &Report, style: Style) -> String {
    let mut out = String::new();
    let plan_line = format!(
        "{} ({}): {} in flight on {} connection{}, {} round{}",
        scenario_name(report.scenario),
        report.rpc,
        report.settings.concurrency,
        report.settings.connections,
        plural(report.settings.connections),
        report.settings.rounds,
        plural(report.settings.rounds)
    );
    let _ = writeln!(out, "{}\n", style.bold(&plan_line));
    for server in &report.servers {
        render_server(&mut out, report, server, style);
    }
    if let (Some(ratio), [ours, bare]) = (&report.bare_over_ours, report.servers.as_slice())
        && let (Some(o), Some(b)) = (ours.cpu_us_per_op, bare.cpu_us_per_op)
    {
        let _ = writeln!(out, "{}", style.bold("== bare / ours =="));
        let _ = writeln!(
            out,
            "  CPU per {}: ours {:.2} µs, bare {:.2} µs (medians)",
            report.op, o.median, b.median
        );
        let rounds: Vec<String> = ratio.per_round.iter().map(|r| format!("{r:.2}")).collect();
        let _ = writeln!(
            out,
            "  bare / ours: {:.2} (rounds: {}; {:.2} to {:.2})",
            ratio.spread.median,
            rounds.join(", "),
            ratio.spread.min,
            ratio.spread.max
        );
        let _ = writeln!(
            out,
            "  1.00 would be as cheap as bare tonic; 0.50, twice its CPU per {}.\n",
            report.op
        );
    }
    if let ([ours, theirs], Some(ops)) = (report.servers.as_slice(), &report.ours_over_theirs_ops) {
        let _ = writeln!(
            out,
            "{}",
            style.bold(&format!(
                "== ours ({}) / theirs ({}) ==",
                ours.server, theirs.server
            ))
        );
        let rounds = |ratio: &Ratio| {
            ratio
                .per_round
                .iter()
                .map(|r| format!("{r:.2}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            out,
            "  calls/s, ours / theirs: {:.2} (rounds: {}; {:.2} to {:.2})",
            ops.spread.median,
            rounds(ops),
            ops.spread.min,
            ops.spread.max
        );
        if let Some(cpu) = &report.ours_over_theirs_cpu {
            let _ = writeln!(
                out,
                "  CPU per {}, ours / theirs: {:.2} (rounds: {}; {:.2} to {:.2})\n",
                report.op,
                cpu.spread.median,
                rounds(cpu),
                cpu.spread.min,
                cpu.spread.max
            );
        }
    }
    let _ = writeln!(out, "Notes:");
    for note in &report.notes {
        let _ = writeln!(out, "  - {note}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_people_write_them() {
        assert_eq!(thousands(1234567.4), "1,234,567");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(latency(12.34), "12.3 µs");
        assert_eq!(latency(2_500.0), "2.50 ms");
        assert_eq!(latency(3_000_000.0), "3.00 s");
        assert_eq!(mib(3 * 1024 * 1024), "3.0 MiB");
    }
}
