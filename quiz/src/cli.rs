//! The `cargo quiz` command line: arguments, and one function per command.
//!
//! Exit codes: 0 success, 1 a check or quiz failed, 2 bad input (unknown lesson, malformed
//! question file, no terminal for an interactive quiz, no such crate).

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::BadInput;
use crate::check::{self, Limits, Reporter, Target, Todos};
use crate::manifest::{Course, Lesson, Side};
use crate::progress::ProgressFile;
use crate::questions::Quiz;
use crate::style::Style;
use crate::take::{self, Ending};

/// The course's companion: the course map, each lesson's quiz, and checks of your code.
///
/// Run with no command for the course map.
#[derive(Debug, Parser)]
#[command(name = "cargo quiz", bin_name = "cargo quiz", version)]
pub struct Cli {
    /// The course's top folder (found from the current folder upwards by default).
    #[arg(long, env = "QUIZ_COURSE_ROOT", hide = true, global = true)]
    root: Option<PathBuf>,
    /// Where progress is kept (`.quiz-progress.toml` at the course's top by default).
    #[arg(long, env = "QUIZ_PROGRESS_FILE", hide = true, global = true)]
    progress_file: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Take a lesson's quiz: one question at a time, with an explanation after each answer.
    Take {
        /// The lesson number, such as 07.
        lesson: String,
        /// For scripts and the course's own tests: answer every question at once, in the
        /// question file's order, without prompts. One answer each, comma-separated: a choice's
        /// id, or the text of a free-text answer (`--answers redraw,ac02,...`). Learners take
        /// the quiz on a terminal, without this.
        #[arg(long, value_name = "ANSWERS")]
        answers: Option<String>,
    },
    /// Check a lesson's code: it builds, passes the lesson's tests, and (for servers and
    /// clients) behaves as the lesson asks over gRPC.
    ///
    /// Exit codes: 0 when every check passed, 1 when one failed, 2 for bad input (an unknown
    /// lesson, a folder with no crate, a malformed question file).
    Check {
        /// The lesson number, such as 07.
        lesson: String,
        /// Check the crate in this folder instead of lessons/NN-slug.
        #[arg(long, value_name = "DIR")]
        path: Option<PathBuf>,
    },
    /// Show how your crate differs from the lesson's solution.
    Diff {
        /// The lesson number, such as 07.
        lesson: String,
    },
    /// The lesson's next hint (each call shows one more), and where its TODOs are.
    Hint {
        /// The lesson number, such as 07.
        lesson: String,
    },
    /// Load a shortener server the way ghz does, and measure what each call costs it.
    ///
    /// The tool builds the server in release, starts it on 127.0.0.1:0, runs one scenario for a
    /// warm-up and a measured window, and prints ghz's summary (count, slowest, fastest,
    /// average, rate, a latency histogram, p50/p90/p99/p99.9, status codes) with the server's
    /// CPU time per operation and its peak memory. The tool and the server share this machine's
    /// cores, so calls/s measures both; CPU per operation is the server's own. With
    /// --against-bare the same scenario runs against a bare tonic server too, rounds
    /// interleaved, and the report gives bare/ours of CPU per operation. See docs/LOAD.md.
    ///
    /// Exit codes: 0 when every call succeeded, 1 when some failed or the run could not go on,
    /// 2 for bad input (an unknown scenario, a bad address, a crate that does not build).
    Load(crate::load::Args),
    /// Put the lesson's starter code back, throwing away your changes (asks first).
    Reset {
        /// The lesson number, such as 07.
        lesson: String,
        /// Don't ask: for scripts.
        #[arg(long)]
        yes: bool,
    },
    /// Work on a lesson with its check rerunning every time you save: the first failing check
    /// with its hint, and one-key commands (h hint, d diff, t quiz, n next lesson, r rerun, q
    /// quit).
    ///
    /// It runs what `cargo quiz check NN` runs. Exit codes: 0 after q, 2 for bad input (an
    /// unknown lesson, no terminal).
    Watch(crate::watch::Args),
}

/// What a command found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Passed,
    Failed,
}

/// Parses the command line, runs the command and says how it went.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(Verdict::Passed) => ExitCode::SUCCESS,
        Ok(Verdict::Failed) => ExitCode::from(1),
        Err(error) => {
            let style = Style::for_stdout();
            let said = match error.downcast_ref::<BadInput>() {
                Some(bad) => bad.to_string(),
                None => format!("{error:#}"),
            };
            eprintln!(
                "{}",
                style.hang(&format!("{} ", style.red("error:")), &said)
            );
            ExitCode::from(2)
        }
    }
}

fn find_course(cli: &Cli) -> anyhow::Result<Course> {
    let root = match &cli.root {
        Some(root) => root.clone(),
        None => std::env::current_dir()
            .ok()
            .and_then(|dir| Course::find_root(&dir))
            .or_else(|| Course::find_root(Path::new(env!("CARGO_MANIFEST_DIR"))))
            .ok_or_else(|| {
                BadInput("cannot find course.toml here or in any folder above".to_string())
            })?,
    };
    Course::load(&root).map_err(|error| BadInput(format!("{error:#}")).into())
}

pub(crate) fn ready_lesson<'a>(course: &'a Course, number: &str) -> Result<&'a Lesson, BadInput> {
    let lesson = course
        .lesson(number)
        .map_err(|error| BadInput(format!("{error:#}")))?;
    if !lesson.ready {
        return Err(BadInput(format!(
            "lesson {} ({}) is not written yet",
            lesson.number, lesson.title
        )));
    }
    Ok(lesson)
}

pub(crate) fn load_quiz(course: &Course, lesson: &Lesson) -> Result<Quiz, BadInput> {
    Quiz::load(&course.quiz_file(lesson))
        .map_err(|error| BadInput(format!("malformed question file: {error}")))
}

fn progress_path(cli: &Cli, course: &Course) -> PathBuf {
    cli.progress_file
        .clone()
        .unwrap_or_else(|| ProgressFile::path_in(course.root()))
}

fn run(cli: Cli) -> anyhow::Result<Verdict> {
    let course = find_course(&cli)?;
    let style = Style::for_stdout();
    let progress = progress_path(&cli, &course);
    match &cli.command {
        None => {
            let file = ProgressFile::open(&progress);
            print!("{}", crate::map::render(&course, &file.progress, style));
            Ok(Verdict::Passed)
        }
        Some(Command::Take { lesson, answers }) => {
            take(&course, lesson, answers.as_deref(), &progress, style)
        }
        Some(Command::Check { lesson, path }) => {
            check(&course, lesson, path.as_deref(), &progress, style)
        }
        Some(Command::Diff { lesson }) => diff(&course, lesson, style),
        Some(Command::Hint { lesson }) => hint(&course, lesson, &progress, style),
        Some(Command::Reset { lesson, yes }) => reset(&course, lesson, *yes, &progress, style),
        Some(Command::Watch(args)) => crate::watch::run(&course, args, &progress),
        Some(Command::Load(args)) => Ok(match crate::load::main(&course, args, style)? {
            true => Verdict::Passed,
            false => Verdict::Failed,
        }),
    }
}

fn take(
    course: &Course,
    number: &str,
    answers: Option<&str>,
    progress: &Path,
    style: Style,
) -> anyhow::Result<Verdict> {
    let lesson = ready_lesson(course, number)?;
    let quiz = load_quiz(course, lesson)?;
    let stdout = std::io::stdout();
    let title = style.bold(&format!("Quiz: lesson {lesson}"));
    let score = match answers {
        Some(answers) => {
            let answers = take::parse_answers(answers, &quiz)?;
            println!("{title}");
            take::with_answers(&quiz, &answers, stdout.lock(), style)?
        }
        None => {
            if !std::io::stdin().is_terminal() {
                return Err(BadInput(format!(
                    "`cargo quiz take {}` asks its questions on a terminal, but stdin is not a \
                     terminal: run it in a terminal (scripts can answer with --answers, see \
                     `cargo quiz take --help`)",
                    lesson.number
                ))
                .into());
            }
            println!("{title}");
            let mut shuffler = take::Shuffler::from_env();
            match take::interactive(
                &quiz,
                std::io::stdin().lock(),
                stdout.lock(),
                style,
                &mut shuffler,
            )? {
                Ending::Finished(score) => score,
                Ending::Stopped => return Ok(Verdict::Failed),
            }
        }
    };
    let mut file = ProgressFile::open(progress);
    file.update(&lesson.number, |p| {
        p.quiz |= score.passed();
        let better = p
            .best_score
            .as_deref()
            .and_then(|best| best.split('/').next())
            .and_then(|right| right.parse::<usize>().ok())
            .is_none_or(|best| score.right > best);
        if better {
            p.best_score = Some(score.to_string());
        }
    });
    file.save()?;
    if score.passed() {
        let next = if file.lesson(&lesson.number).check {
            "Lesson done: run `cargo quiz` for the next one.".to_string()
        } else {
            format!(
                "Now make `cargo quiz check {}` pass to finish the lesson.",
                lesson.number
            )
        };
        println!("{}", style.wrap(&next));
        Ok(Verdict::Passed)
    } else {
        Ok(Verdict::Failed)
    }
}

pub(crate) fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn check(
    course: &Course,
    number: &str,
    path: Option<&Path>,
    progress: &Path,
    style: Style,
) -> anyhow::Result<Verdict> {
    let lesson = ready_lesson(course, number)?;
    let own = course.crate_dir(lesson, Side::Lesson);
    let dir = path.map_or_else(|| own.clone(), Path::to_path_buf);
    if !dir.is_dir() {
        return Err(BadInput(format!("there is no lesson crate at {}", dir.display())).into());
    }
    let target = Target::from_dir(&dir)?;
    let quiz = load_quiz(course, lesson)?;
    println!(
        "{}",
        style.bold(&style.wrap(&format!("Checking lesson {} in {}", lesson, dir.display())))
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let mut reporter = Reporter::new(Box::new(std::io::stdout()), style);
    runtime.block_on(check::run(
        course.root(),
        lesson,
        &target,
        Limits::default(),
        &quiz.tests,
        &mut reporter,
    ))?;
    let passed = reporter.passed();
    let total = reporter.checks.len();
    println!();
    if passed {
        println!(
            "{} all {total} checks passed.",
            style.green("Code check passed:")
        );
    } else {
        println!(
            "{} {} of {total} checks failed ({} passed).",
            style.red("Code check failed:"),
            reporter.failed_count(),
            total - reporter.failed_count()
        );
    }
    if same_dir(&dir, &own) {
        let mut file = ProgressFile::open(progress);
        file.update(&lesson.number, |p| p.check = passed);
        file.save()?;
        if passed && !file.lesson(&lesson.number).quiz {
            println!("Now take the quiz: cargo quiz take {}", lesson.number);
        } else if !passed {
            println!("Stuck? cargo quiz hint {}", lesson.number);
        }
    }
    Ok(if passed {
        Verdict::Passed
    } else {
        Verdict::Failed
    })
}

fn lesson_dirs(course: &Course, lesson: &Lesson) -> Result<(PathBuf, PathBuf), BadInput> {
    let mine = course.crate_dir(lesson, Side::Lesson);
    let solution = course.crate_dir(lesson, Side::Solution);
    for dir in [&mine, &solution] {
        if !dir.is_dir() {
            return Err(BadInput(format!("there is no crate at {}", dir.display())));
        }
    }
    Ok((mine, solution))
}

fn diff(course: &Course, number: &str, style: Style) -> anyhow::Result<Verdict> {
    let lesson = ready_lesson(course, number)?;
    let (mine, solution) = lesson_dirs(course, lesson)?;
    match crate::diff::render(&mine, &solution, style) {
        Some(shown) => {
            println!(
                "{}",
                style.dim(&style.wrap(&format!(
                    "- lines: yours ({}), + lines: the solution ({})",
                    mine.display(),
                    solution.display()
                )))
            );
            print!("{shown}");
        }
        None => println!("Your crate is the same as the solution."),
    }
    Ok(Verdict::Passed)
}

fn hint(course: &Course, number: &str, progress: &Path, style: Style) -> anyhow::Result<Verdict> {
    let lesson = ready_lesson(course, number)?;
    let quiz = load_quiz(course, lesson)?;
    let mut file = ProgressFile::open(progress);
    let total = quiz.hints.len();
    let seen = file.lesson(&lesson.number).hints_shown.min(total);
    for (index, earlier) in quiz.hints.iter().enumerate().take(seen) {
        println!(
            "{}",
            style.dim(&style.hang(&format!("Hint {} of {total}: ", index + 1), earlier.trim()))
        );
    }
    if seen < total {
        if seen > 0 {
            println!();
        }
        println!(
            "{}",
            style.hang(
                &format!("{} ", style.bold(&format!("Hint {} of {total}:", seen + 1))),
                quiz.hints[seen].trim()
            )
        );
        file.update(&lesson.number, |p| p.hints_shown = seen + 1);
        file.save()?;
        if seen + 1 < total {
            println!(
                "\nStill stuck? `cargo quiz hint {}` again shows the next hint.",
                lesson.number
            );
        } else {
            println!("\nThat was the last hint.");
        }
    } else {
        let all = format!(
            "Those are all the hints. The tests in lessons/{}/tests/lesson.rs are the whole \
             spec: their names are the rules, their messages say what was expected.",
            lesson.dir_name()
        );
        println!("\n{}", style.wrap(&all));
    }
    let todos = Todos::find(&course.crate_dir(lesson, Side::Lesson));
    let where_ = todos.hint(None);
    if !where_.is_empty() {
        println!("\n{}", style.wrap(&where_));
    }
    let next = format!(
        "The lesson text: lessons/{}/README.md; check your work: cargo quiz check {}",
        lesson.dir_name(),
        lesson.number
    );
    println!("\n{}", style.wrap(&next));
    Ok(Verdict::Passed)
}

fn git(root: &Path, args: &[&str]) -> anyhow::Result<std::process::Output> {
    std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .output()
        .context("cannot run git (reset restores the starter from the repository's history)")
}

fn reset(
    course: &Course,
    number: &str,
    yes: bool,
    progress: &Path,
    style: Style,
) -> anyhow::Result<Verdict> {
    let lesson = ready_lesson(course, number)?;
    let folder = format!("lessons/{}", lesson.dir_name());
    if !course.root().join(&folder).is_dir() {
        return Err(BadInput(format!("there is no lesson crate at {folder}")).into());
    }
    let tracked = git(
        course.root(),
        &["ls-files", "--error-unmatch", "--", &folder],
    )?;
    if !tracked.status.success() {
        return Err(BadInput(format!(
            "cannot reset {folder}: it is not in the repository's git history to restore from"
        ))
        .into());
    }
    if !yes {
        if !std::io::stdin().is_terminal() {
            return Err(BadInput(format!(
                "`cargo quiz reset {}` asks before throwing away your work, and stdin is not a \
                 terminal; pass --yes to reset without asking",
                lesson.number
            ))
            .into());
        }
        print!(
            "This puts back the starter of {folder} and deletes your changes there. Continue? [y/N] "
        );
        std::io::stdout().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            println!("Nothing changed.");
            return Ok(Verdict::Failed);
        }
    }
    for args in [
        &["checkout", "HEAD", "--", folder.as_str()][..],
        &["clean", "-fdq", "--", folder.as_str()][..],
    ] {
        let output = git(course.root(), args)?;
        if !output.status.success() {
            anyhow::bail!(
                "git {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
    }
    let mut file = ProgressFile::open(progress);
    file.update(&lesson.number, |p| p.check = false);
    file.save()?;
    println!("{} {folder} is the starter again.", style.green("Reset:"));
    Ok(Verdict::Passed)
}
