//! `cargo quiz load`: a ghz-style load tool for a shortener that speaks the course's contract.
//!
//! It builds the crate's server in release, starts it on `127.0.0.1:0` (as `cargo quiz check`
//! does, reading its `listening on` line), runs one scenario for a warm-up and a measured
//! window, and reports ghz's summary plus what matters on a machine the tool shares with the
//! server: the server's own CPU time per operation, read from `/proc/PID/stat` around the
//! window, and its peak memory. With `--against-bare` it runs the same scenario, in the same
//! run, against a bare tonic server shipped with the course (`quiz/bare`), rounds interleaved,
//! and gives the ratio bare/ours of CPU per op with its spread over the rounds. With
//! `--against DIR` the other server is another crate's (lesson 18 against lesson 17, say), and
//! the report gives ours/theirs of calls a second and of CPU per op.
//!
//! Every server the tool starts gets a new, empty database (`DATABASE_URL`, lesson 18 on) each
//! round: a round never reads what the one before wrote.

pub mod proc;
pub mod report;
pub mod scenario;
pub mod stats;

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde::Serialize;
use tonic::metadata::MetadataValue;

use crate::BadInput;
use crate::check::{Target, cargo, server};
use crate::manifest::{Course, Side};
use crate::style::Style;

use report::{Report, RoundResult, ServerReport};
use scenario::{Client, Plan, Scenario, Window};

/// The package and binary of the bare server.
pub const BARE_PACKAGE: &str = "bare-tonic";
pub const BARE_BINARY: &str = "bare-tonic-server";

/// From starting a server to its `listening on` line.
const START_LIMIT: Duration = Duration::from_secs(20);
/// The release build of a server (the first one compiles every dependency in release).
const BUILD_LIMIT: Duration = Duration::from_secs(30 * 60);

/// The arguments of `cargo quiz load`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The lesson whose crate to load, such as 17: the tool builds its server in release and
    /// starts it. Or give --path or --addr.
    lesson: Option<String>,
    /// What to run (one RPC kind each).
    #[arg(long, short, value_enum, default_value_t = Scenario::Create)]
    scenario: Scenario,
    /// Load the server of the crate in this folder (the tool builds and starts it).
    #[arg(long, value_name = "DIR", conflicts_with = "lesson")]
    path: Option<PathBuf>,
    /// Load a server that is already running on this loopback address. The tool cannot read
    /// its CPU time then. Given more than once (replicas of one server), the connections are
    /// spread over the addresses, one each in turn (lesson 19).
    #[arg(long, value_name = "HOST:PORT", conflicts_with_all = ["lesson", "path", "against_bare", "against"])]
    addr: Vec<String>,
    /// Run the same scenario against the course's bare tonic server too, rounds interleaved,
    /// and compare CPU per operation.
    #[arg(long)]
    against_bare: bool,
    /// Run the same scenario against the server of the crate in this folder too (lesson 17's
    /// solution, say), rounds interleaved, and compare calls a second and CPU per operation.
    /// Settings for one server only go in its variables (SHORTENER_MAX_WRITE_GROUP=1, say: a
    /// server that does not read a variable ignores it).
    #[arg(long, value_name = "DIR", conflicts_with = "against_bare")]
    against: Option<PathBuf>,
    /// Calls (or streams) in flight [default: 64 for create and get, 4 for batch, sync and
    /// fill, 2 for list].
    #[arg(long, short, value_name = "N")]
    concurrency: Option<usize>,
    /// HTTP/2 connections the calls share [default: as many as calls in flight, at most 4].
    #[arg(long, value_name = "N")]
    connections: Option<usize>,
    /// Calls a second over all calls in flight (sync: messages a second), as ghz's --rps: both
    /// servers then do the same work a second, and their CPU per call compares at equal load.
    /// Without it, each call follows the last answer, as fast as the server and the tool go.
    #[arg(long, value_name = "PER_SEC")]
    rate: Option<f64>,
    /// Seconds measured in each round.
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    secs: f64,
    /// Seconds of load before each round's measurement starts (connections warm, the
    /// server's allocator and maps grown).
    #[arg(long, value_name = "SECS", default_value_t = 1.0)]
    warmup: f64,
    /// Rounds, each on a freshly started server; with --against-bare they alternate, ours then
    /// bare. The figures are the median over the rounds, with their spread.
    #[arg(long, value_name = "N", default_value_t = 3)]
    rounds: usize,
    /// The deadline of every call, in seconds (sent as grpc-timeout, and kept by the tool).
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    timeout: f64,
    /// URLs per BatchCreateLinks call (batch and fill).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    batch: usize,
    /// SyncClicks messages in flight on each stream.
    #[arg(long, value_name = "N", default_value_t = 128)]
    window: usize,
    /// The links in the store ListLinks streams [default: 10,000], or the links fill creates
    /// [default: 1,000,000].
    #[arg(long, value_name = "N")]
    links: Option<usize>,
    /// The API key to send (`authorization: Bearer KEY`), and to give a server the tool starts.
    #[arg(long, env = "SHORTENER_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// Print the report as JSON on stdout (progress stays on stderr).
    #[arg(long)]
    json: bool,
    /// Build nothing in release, this tool included: only for the tool's own tests, whose
    /// figures mean nothing.
    #[arg(long, hide = true)]
    debug_build: bool,
}

/// Why a run could not go on: said, and the run ends with exit code 1.
#[derive(Debug)]
struct RunFailed(String);

/// One side of a comparison: the server, and how to reach it.
struct Contender {
    /// "ours", "bare" or "theirs" (`--against`).
    name: &'static str,
    /// The binary's name, or the address.
    label: String,
    under: Under,
}

enum Under {
    /// A binary the tool starts, afresh for every round, with these arguments.
    Started { binary: PathBuf, args: Vec<String> },
    /// A server already running, or several replicas of one.
    Running(Vec<SocketAddr>),
}

/// What `--addr` mode prepares once and keeps: the store outlives the rounds.
#[derive(Default)]
struct Prepared {
    codes: Option<Arc<[String]>>,
    filled: bool,
}

/// Runs `cargo quiz load`. `Ok(true)` when every call succeeded, `Ok(false)` when some failed
/// or the run could not go on (said on stderr).
pub fn main(course: &Course, args: &Args, style: Style) -> anyhow::Result<bool> {
    let plan = Arc::new(settle(args)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    // Bad input is said before anything is built.
    subject(course, args)?;
    if Build::of_this_tool() == Build::Debug && !args.debug_build {
        // `cargo quiz` runs a debug build. As a load generator it would spend about three times
        // the CPU per call it spends optimised, on the cores the server needs, and push the
        // server so much less hard that the server's own CPU per call rises with it (measured
        // here: 41 µs against 15 µs for solution 16's CreateLink). So the tool runs optimised.
        return runtime.block_on(run_optimised(course.root(), style));
    }
    let outcome = runtime.block_on(async {
        tokio::select! {
            outcome = run(course, args, &plan, style) => outcome,
            signal = interrupted() => Ok(Err(RunFailed(format!(
                "{signal}: the run is stopped, and with it every server the tool started"
            )))),
        }
    });
    // Dropping the runtime ends the workers; the servers were killed when the run was dropped.
    drop(runtime);
    match outcome? {
        Ok(report) => {
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report::render(&report, style));
            }
            Ok(report.failed_calls() == 0)
        }
        Err(RunFailed(why)) => {
            eprintln!("{} {why}", style.red("load run failed:"));
            Ok(false)
        }
    }
}

/// Builds this tool in release and becomes it, with the same arguments.
async fn run_optimised(root: &Path, style: Style) -> anyhow::Result<bool> {
    progress(
        style,
        "building the load tool itself in release: cargo build -p quiz --bin quiz --release (a \
         debug build would measure itself; the first time takes a few minutes)",
    );
    let build = cargo::build_with(
        root,
        &["-p", "quiz", "--bin", "quiz", "--release"],
        BUILD_LIMIT,
    )
    .await?;
    let Some(optimised) = build.executables.get("quiz").filter(|_| build.success) else {
        anyhow::bail!(
            "cannot build the load tool in release:\n{}",
            crate::check::tail(&build.stderr, 20)
        );
    };
    let error = std::os::unix::process::CommandExt::exec(
        std::process::Command::new(optimised).args(std::env::args_os().skip(1)),
    );
    Err(anyhow::Error::new(error).context(format!("cannot run {}", optimised.display())))
}

async fn interrupted() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut interrupt), Ok(mut terminate)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = interrupt.recv() => "SIGINT",
        _ = terminate.recv() => "SIGTERM",
    }
}

fn seconds(value: f64, flag: &str, zero_ok: bool) -> Result<Duration, BadInput> {
    let fine = value.is_finite() && (value > 0.0 || (zero_ok && value == 0.0)) && value <= 86_400.0;
    if !fine {
        let least = if zero_ok { "0 or more" } else { "more than 0" };
        return Err(BadInput(format!(
            "{flag} {value} is not a number of seconds the tool can use: give {least}, at most 86400"
        )));
    }
    Ok(Duration::from_secs_f64(value))
}

fn at_least_one(value: usize, flag: &str) -> Result<usize, BadInput> {
    if value == 0 {
        return Err(BadInput(format!("{flag} must be at least 1")));
    }
    Ok(value)
}

/// The run's plan from the arguments, or why they cannot make one.
fn settle(args: &Args) -> Result<Plan, BadInput> {
    let scenario = args.scenario;
    let concurrency = at_least_one(
        args.concurrency.unwrap_or(scenario.default_concurrency()),
        "--concurrency",
    )?;
    let connections = at_least_one(
        args.connections.unwrap_or(concurrency.min(4)),
        "--connections",
    )?;
    if connections > concurrency {
        return Err(BadInput(format!(
            "--connections {connections} is more than --concurrency {concurrency}: a connection \
             with no call on it measures nothing"
        )));
    }
    at_least_one(args.rounds, "--rounds")?;
    let key = match &args.api_key {
        None => None,
        Some(key) if key.is_empty() => {
            return Err(BadInput(
                "the API key is empty: give a key, or no --api-key".to_string(),
            ));
        }
        Some(key) => Some(
            MetadataValue::try_from(format!("Bearer {key}")).map_err(|_| {
                BadInput(
                    "the API key cannot be sent as metadata: use visible ASCII characters only"
                        .to_string(),
                )
            })?,
        ),
    };
    Ok(Plan {
        scenario,
        concurrency,
        connections,
        warmup: seconds(args.warmup, "--warmup", true)?,
        secs: seconds(args.secs, "--secs", false)?,
        timeout: seconds(args.timeout, "--timeout", false)?,
        batch: at_least_one(args.batch, "--batch")?,
        window: at_least_one(args.window, "--window")?,
        links: at_least_one(args.links.unwrap_or(scenario.default_links()), "--links")?,
        codes: 1000,
        key,
        rate: match args.rate {
            None => None,
            Some(_) if scenario == Scenario::Fill => {
                return Err(BadInput(
                    "--rate paces timed runs: fill creates its links as fast as it can".to_string(),
                ));
            }
            Some(rate) if rate.is_finite() && rate > 0.0 => Some(rate),
            Some(rate) => {
                return Err(BadInput(format!(
                    "--rate {rate} is not a rate: give calls a second, more than 0"
                )));
            }
        },
    })
}

/// `HOST:PORT` on this machine's loopback, or why not.
pub fn loopback(addr: &str) -> Result<SocketAddr, BadInput> {
    let trimmed = addr.trim_start_matches("http://").trim_end_matches('/');
    let parsed = match trimmed.rsplit_once(':') {
        Some(("localhost", port)) => port
            .parse::<u16>()
            .ok()
            .map(|port| SocketAddr::new(IpAddr::from([127, 0, 0, 1]), port)),
        _ => trimmed.parse::<SocketAddr>().ok(),
    };
    let Some(parsed) = parsed else {
        return Err(BadInput(format!(
            "--addr {addr:?} is not an address: write HOST:PORT, such as 127.0.0.1:50051"
        )));
    };
    if !parsed.ip().is_loopback() {
        return Err(BadInput(format!(
            "--addr {addr}: the load tool only loads servers on this machine's loopback \
             (127.0.0.1, ::1, localhost): load is not something to point at a machine by accident"
        )));
    }
    Ok(parsed)
}

/// The server a run loads.
enum Subject {
    /// A crate whose server binary the tool builds and starts.
    Crate(Target),
    /// A server already running, or several replicas of one.
    Running(Vec<SocketAddr>),
}

/// What the arguments name, or why they name nothing usable. Cheap: no build, no connection.
fn subject(course: &Course, args: &Args) -> Result<Subject, BadInput> {
    if !args.addr.is_empty() {
        let addrs = args.addr.iter().map(|addr| loopback(addr));
        return addrs.collect::<Result<_, _>>().map(Subject::Running);
    }
    let dir = target_dir(course, args)?;
    if !dir.is_dir() {
        return Err(BadInput(format!("there is no crate at {}", dir.display())));
    }
    Target::from_dir(&dir).map(Subject::Crate)
}

/// The crate to build and start, from the lesson number or --path.
fn target_dir(course: &Course, args: &Args) -> Result<PathBuf, BadInput> {
    if let Some(path) = &args.path {
        return Ok(path.clone());
    }
    let Some(number) = &args.lesson else {
        return Err(BadInput(
            "say which server to load: a lesson number (cargo quiz load 17), --path DIR for a \
             crate, or --addr HOST:PORT for a server already running"
                .to_string(),
        ));
    };
    let lesson = course
        .lesson(number)
        .map_err(|error| BadInput(format!("{error:#}")))?;
    if !lesson.server {
        return Err(BadInput(format!(
            "lesson {} has no server to load",
            lesson.number
        )));
    }
    Ok(course.crate_dir(lesson, Side::Lesson))
}

async fn run(
    course: &Course,
    args: &Args,
    plan: &Arc<Plan>,
    style: Style,
) -> anyhow::Result<Result<Report, RunFailed>> {
    let contenders = contenders(course, args, plan, style).await?;

    progress(style, &report::describe_plan(plan, args.rounds));
    let mut rounds: Vec<Vec<RoundResult>> = contenders.iter().map(|_| Vec::new()).collect();
    let mut prepared: Vec<Prepared> = contenders.iter().map(|_| Prepared::default()).collect();
    for round in 1..=args.rounds {
        for (index, contender) in contenders.iter().enumerate() {
            let result = match run_once(contender, plan, round, &mut prepared[index], style).await {
                Ok(result) => result,
                Err(failed) => return Ok(Err(failed)),
            };
            progress(
                style,
                &format!(
                    "round {round} of {}, {} ({}): {}",
                    args.rounds,
                    contender.name,
                    contender.label,
                    report::round_line(plan.scenario, &result)
                ),
            );
            rounds[index].push(result);
        }
    }

    let servers: Vec<ServerReport> = contenders
        .iter()
        .zip(rounds)
        .map(|(contender, rounds)| {
            ServerReport::new(contender.name, &contender.label, plan, rounds)
        })
        .collect();
    Ok(Ok(Report::new(
        plan,
        args.rounds,
        args.debug_build,
        servers,
    )))
}

/// The servers a run loads: ours, and the bare one with --against-bare.
async fn contenders(
    course: &Course,
    args: &Args,
    plan: &Plan,
    style: Style,
) -> anyhow::Result<Vec<Contender>> {
    let target = match subject(course, args)? {
        Subject::Running(addrs) => {
            // A wrong address is the caller's mistake, said before any load: nothing listens
            // there.
            let probe = Plan {
                connections: 1,
                ..plan.clone()
            };
            for &addr in &addrs {
                if let Err(error) = scenario::connect(addr, &probe).await {
                    return Err(BadInput(format!(
                        "cannot connect to {addr}: {error}. Is the server running there? (A \
                         lesson number or --path lets the tool start the server itself.)"
                    ))
                    .into());
                }
            }
            let label = addrs
                .iter()
                .map(SocketAddr::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            return Ok(vec![Contender {
                name: "ours",
                label,
                under: Under::Running(addrs),
            }]);
        }
        Subject::Crate(target) => target,
    };
    let against = match &args.against {
        Some(dir) if !dir.is_dir() => {
            return Err(
                BadInput(format!("--against: there is no crate at {}", dir.display())).into(),
            );
        }
        Some(dir) => Some(Target::from_dir(dir)?),
        None => None,
    };
    let binaries = build(course.root(), &target, against.as_ref(), args, style).await?;
    let binary = |name: &str| {
        binaries.get(name).cloned().ok_or_else(|| {
            BadInput(format!(
                "cargo built no binary named {name}: the load tool starts a crate's server binary, \
                 named PACKAGE-server"
            ))
        })
    };
    let name = target.binary("server");
    let mut server_args = Vec::new();
    if let Some(key) = &args.api_key {
        server_args.extend(["--api-key".to_string(), key.clone()]);
    }
    let mut contenders = vec![Contender {
        name: "ours",
        under: Under::Started {
            binary: binary(&name)?,
            args: server_args.clone(),
        },
        label: name,
    }];
    if let Some(against) = &against {
        let name = against.binary("server");
        contenders.push(Contender {
            name: "theirs",
            under: Under::Started {
                binary: binary(&name)?,
                args: server_args,
            },
            label: name,
        });
    }
    if args.against_bare {
        let mut bare_args = Vec::new();
        if plan.scenario == Scenario::List {
            bare_args.extend(["--list-links".to_string(), plan.links.to_string()]);
        }
        contenders.push(Contender {
            name: "bare",
            label: BARE_BINARY.to_string(),
            under: Under::Started {
                binary: binary(BARE_BINARY)?,
                args: bare_args,
            },
        });
    }
    Ok(contenders)
}

/// Builds the crate's binaries (and the bare server's) in release, and says where they are.
async fn build(
    root: &Path,
    target: &Target,
    against: Option<&Target>,
    args: &Args,
    style: Style,
) -> anyhow::Result<std::collections::HashMap<String, PathBuf>> {
    let mut cargo_args = vec!["-p", target.package.as_str()];
    if let Some(against) = against {
        cargo_args.extend(["-p", against.package.as_str()]);
    }
    if args.against_bare {
        cargo_args.extend(["-p", BARE_PACKAGE]);
    }
    cargo_args.push("--bins");
    if !args.debug_build {
        cargo_args.push("--release");
    }
    let first_time = if args.debug_build {
        ""
    } else {
        " (the first release build compiles every dependency again, optimised: minutes)"
    };
    progress(
        style,
        &format!("building: cargo build {}{first_time}", cargo_args.join(" ")),
    );
    let started = Instant::now();
    let build = cargo::build_with(root, &cargo_args, BUILD_LIMIT).await?;
    if !build.success {
        let failure = cargo::build_failure(&build, &target.package);
        return Err(BadInput(format!(
            "the crate does not build, so there is nothing to load:\n{}\n{}",
            failure.got, failure.hint
        ))
        .into());
    }
    progress(
        style,
        &format!("built in {:.0} s", started.elapsed().as_secs_f64()),
    );
    Ok(build.executables)
}

/// One round against one server: start it (when the tool runs it), prepare its store, load it,
/// read its CPU time and memory, stop it.
async fn run_once(
    contender: &Contender,
    plan: &Arc<Plan>,
    round: usize,
    prepared: &mut Prepared,
    style: Style,
) -> Result<RoundResult, RunFailed> {
    let (binary, args) = match &contender.under {
        Under::Running(addrs) => return measure(addrs, None, plan, round, prepared).await,
        Under::Started { binary, args } => (binary, args),
    };
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut running = server::start_with_args(binary, &args, START_LIMIT)
        .await
        .map_err(|failure| {
            RunFailed(format!(
                "{} did not start: {}",
                contender.label,
                failure.described()
            ))
        })?;
    progress(
        style,
        &format!(
            "round {round}: started {} (pid {}) on {}",
            contender.label,
            running
                .pid()
                .map_or_else(|| "?".to_string(), |pid| pid.to_string()),
            running.addr
        ),
    );
    // A fresh server each round: nothing it prepared before is there.
    *prepared = Prepared::default();
    let result = measure(&[running.addr], running.pid(), plan, round, prepared).await;
    if let Some(status) = running.exited() {
        return Err(RunFailed(format!(
            "{} exited during the run ({status}); its last output:\n{}",
            contender.label,
            running.log.text()
        )));
    }
    running.stop().await;
    result.map_err(|RunFailed(why)| RunFailed(format!("{}: {why}", contender.label)))
}

/// The CPU time of the server (when the tool started it) and of the tool, read together.
#[derive(Debug, Clone, Copy)]
struct Clocks {
    server: Option<proc::CpuTime>,
    tool: Option<proc::CpuTime>,
}

fn read_clocks(pid: Option<u32>) -> Clocks {
    Clocks {
        server: pid.and_then(|pid| proc::cpu_time(pid).ok()),
        tool: proc::own_cpu_time().ok(),
    }
}

async fn measure(
    addrs: &[SocketAddr],
    pid: Option<u32>,
    plan: &Arc<Plan>,
    round: usize,
    prepared: &mut Prepared,
) -> Result<RoundResult, RunFailed> {
    let clients = scenario::connect_all(addrs, plan)
        .await
        .map_err(|(addr, error)| RunFailed(format!("cannot connect to {addr}: {error}")))?;
    let codes = prepare(&clients, plan, prepared).await?;
    let before = pid.and_then(|pid| proc::memory(pid).ok());

    let (tally, secs, start, end) = if plan.scenario == Scenario::Fill {
        let start = read_clocks(pid);
        let started = Instant::now();
        let tally = scenario::fill(&clients, plan, plan.links).await;
        let secs = started.elapsed();
        (tally, secs, start, read_clocks(pid))
    } else {
        let now = Instant::now();
        let window = Window {
            start: now + plan.warmup,
            end: now + plan.warmup + plan.secs,
        };
        let clocks = tokio::spawn(async move {
            tokio::time::sleep_until(window.start.into()).await;
            let start = read_clocks(pid);
            tokio::time::sleep_until(window.end.into()).await;
            (start, read_clocks(pid))
        });
        let tally = scenario::drive(&clients, plan, window, codes).await;
        let (start, end) = clocks
            .await
            .map_err(|error| RunFailed(format!("the clock reader failed: {error}")))?;
        (tally, plan.secs, start, end)
    };
    let after = pid.and_then(|pid| proc::memory(pid).ok());
    let elapsed = |a: Option<proc::CpuTime>, b: Option<proc::CpuTime>| Some(b?.since(a?));
    Ok(RoundResult::new(
        round,
        pid,
        secs,
        tally,
        elapsed(start.server, end.server),
        elapsed(start.tool, end.tool),
        before,
        after,
    ))
}

/// What a scenario needs before its load: codes for get and sync, a store for list.
async fn prepare(
    clients: &[Client],
    plan: &Arc<Plan>,
    prepared: &mut Prepared,
) -> Result<Arc<[String]>, RunFailed> {
    match plan.scenario {
        Scenario::Get | Scenario::Sync => {
            if let Some(codes) = &prepared.codes {
                return Ok(Arc::clone(codes));
            }
            let codes: Arc<[String]> = scenario::create_codes(clients, plan)
                .await
                .map_err(|status| {
                    RunFailed(format!(
                        "creating {} links for the {} scenario: CreateLink answered {}",
                        plan.codes,
                        plan.scenario.rpc(),
                        crate::check::rpc::shown(&status)
                    ))
                })?
                .into();
            prepared.codes = Some(Arc::clone(&codes));
            Ok(codes)
        }
        Scenario::List if !prepared.filled => {
            let tally = scenario::fill(clients, plan, plan.links).await;
            if let Some(failed) = tally.statuses.iter().find(|seen| seen.code != "OK") {
                return Err(RunFailed(format!(
                    "filling the store with {} links for ListLinks: BatchCreateLinks answered \
                     {}: {}",
                    plan.links, failed.code, failed.example
                )));
            }
            prepared.filled = true;
            Ok(Arc::from(Vec::new()))
        }
        _ => Ok(Arc::from(Vec::new())),
    }
}

/// Progress lines, on stderr, so that stdout is the report.
fn progress(style: Style, text: &str) {
    eprintln!("{}", style.dim(&format!("==> {text}")));
}

/// How the tool itself was built: its own speed decides how hard it can push.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Build {
    Release,
    Debug,
}

impl Build {
    pub fn of_this_tool() -> Build {
        if cfg!(debug_assertions) {
            Build::Debug
        } else {
            Build::Release
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_addresses_are_loaded() {
        assert_eq!(
            loopback("127.0.0.1:50051").expect("loopback"),
            "127.0.0.1:50051".parse().expect("an address")
        );
        assert_eq!(loopback("localhost:8080").expect("loopback").port(), 8080);
        assert!(loopback("[::1]:1").is_ok());
        let remote = loopback("10.0.0.1:50051").expect_err("not loopback");
        assert!(remote.0.contains("loopback"), "{}", remote.0);
        let nonsense = loopback("nonsense").expect_err("not an address");
        assert!(nonsense.0.contains("HOST:PORT"), "{}", nonsense.0);
    }
}
