//! `cargo quiz watch [NN]`: the lesson's check reruns every time the learner saves.
//!
//! The loop watches the crate's `src/`, `tests/`, `proto/`, `build.rs` and `Cargo.toml` (never
//! `target/`) through notify's debouncer. Each save starts a run of the check, the one
//! `cargo quiz check NN` runs, in a worker process ([`worker`]); a save during a run stops
//! that run with every process it started before the next begins. The screen ([`screen`])
//! shows the first failing check as the run goes, and one-key commands. The terminal is in raw
//! mode while the watch runs and is put back on every way out ([`terminal`]).

mod screen;
mod terminal;
pub mod worker;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::Context;
use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use notify_debouncer_full::notify::event::{MetadataKind, ModifyKind};
use notify_debouncer_full::notify::{EventKind, RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};

use crate::BadInput;
use crate::cli::{Verdict, load_quiz, ready_lesson, same_dir};
use crate::manifest::{Course, Lesson, Side};
use crate::progress::ProgressFile;
use crate::questions::Quiz;
use crate::style::Style;
use screen::{RunState, Screen};
use terminal::{Input, Keys, Signals, Terminal};
use worker::{Message, Report, Run};

/// Saves closer together than this are one change (an editor that writes a file in steps, a
/// "save all").
const DEBOUNCE: Duration = Duration::from_millis(200);

/// How long the loop waits for a key before it looks at the other news.
const TICK: Duration = Duration::from_millis(100);

/// `cargo quiz watch`'s arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The lesson number, such as 07 (by default the next lesson on the course map).
    lesson: Option<String>,
    /// Watch and check the crate in this folder instead of lessons/NN-slug.
    #[arg(long, value_name = "DIR")]
    path: Option<PathBuf>,
    /// Run the check once and report it as JSON lines: the watch runs itself this way.
    #[arg(long, hide = true)]
    worker: bool,
}

/// Runs `cargo quiz watch`.
pub(crate) fn run(course: &Course, args: &Args, progress: &Path) -> anyhow::Result<Verdict> {
    let lesson = match &args.lesson {
        Some(number) => ready_lesson(course, number)?,
        None => {
            let file = ProgressFile::open(progress);
            crate::map::next_lesson(course, &file.progress).ok_or_else(|| {
                BadInput(
                    "every lesson on the course map is done: name the one to watch, as in \
                     `cargo quiz watch 07`"
                        .to_string(),
                )
            })?
        }
    };
    let dir = args
        .path
        .clone()
        .unwrap_or_else(|| course.crate_dir(lesson, Side::Lesson));
    if !dir.is_dir() {
        return Err(BadInput(format!("there is no lesson crate at {}", dir.display())).into());
    }
    let dir = worker::absolute(&dir);
    crate::check::Target::from_dir(&dir)?;
    if args.worker {
        worker::work(course, lesson, &dir)?;
        return Ok(Verdict::Passed);
    }
    let quiz = load_quiz(course, lesson)?;
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        return Err(BadInput(format!(
            "`cargo quiz watch` draws its screen and reads keys on a terminal, but {} is not a \
             terminal: run it in a terminal (scripts and CI run `cargo quiz check {}`, the \
             check it reruns)",
            if std::io::stdin().is_terminal() {
                "stdout"
            } else {
                "stdin"
            },
            lesson.number
        ))
        .into());
    }
    Watch::new(course, lesson, quiz, dir, args.path.is_some(), progress).run()
}

/// What happened that the loop must look at.
enum News {
    /// Files of the crate changed.
    Saved,
    /// The file watcher failed.
    WatchFailed(String),
    /// Run `number` said something.
    Run(u64, Message),
    /// A key, a resize, or the terminal's end.
    Terminal(Input),
}

/// What the loop does after some news.
enum Next {
    /// Draw the screen again.
    Go,
    /// Nothing to show.
    Same,
    Quit,
}

struct Watch<'a> {
    course: &'a Course,
    progress: PathBuf,
    lesson: Lesson,
    quiz: Quiz,
    dir: PathBuf,
    /// The crate came from `--path`: only that crate is watched (no `n`).
    one_crate: bool,
    news: mpsc::Sender<News>,
    inbox: mpsc::Receiver<News>,
    watcher: Option<Files>,
    run: Option<Run>,
    /// Runs started so far; the next run's number is one more.
    started: u64,
    state: RunState,
    expected_total: Option<usize>,
    hint: Option<String>,
    notice: Option<String>,
    links: bool,
    /// The quiz's or the diff's output is on screen until the next key.
    aside: bool,
}

impl<'a> Watch<'a> {
    fn new(
        course: &'a Course,
        lesson: &Lesson,
        quiz: Quiz,
        dir: PathBuf,
        one_crate: bool,
        progress: &Path,
    ) -> Watch<'a> {
        let (news, inbox) = mpsc::channel();
        Watch {
            course,
            progress: progress.to_path_buf(),
            lesson: lesson.clone(),
            quiz,
            dir,
            one_crate,
            news,
            inbox,
            watcher: None,
            run: None,
            started: 0,
            state: RunState::default(),
            expected_total: None,
            hint: None,
            notice: None,
            links: terminal::links_supported(|name| std::env::var(name).ok()),
            aside: false,
        }
    }

    fn run(&mut self) -> anyhow::Result<Verdict> {
        let signals = Signals::register()?;
        let mut terminal = Terminal::enter()?;
        let news = self.news.clone();
        let keys = Keys::start(move |input| news.send(News::Terminal(input)).is_ok());
        self.watcher = Some(watch_files(&self.dir, self.news.clone())?);
        self.restart()?;
        // A terminal that cannot be read or written any more has gone (closed): the watch
        // ends as after q.
        let mut alive = self.draw().is_ok();
        while alive && !signals.stop() && !terminal::gone() {
            let mut batch = Vec::new();
            match self.inbox.recv_timeout(TICK) {
                Ok(news) => batch.push(news),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
            batch.extend(std::iter::from_fn(|| self.inbox.try_recv().ok()));
            let mut changed = false;
            for news in batch {
                match self.handle(news, &mut terminal, &keys, &signals)? {
                    Next::Quit => {
                        alive = false;
                        break;
                    }
                    Next::Go => changed = true,
                    Next::Same => {}
                }
            }
            if alive && changed && !self.aside {
                alive = self.draw().is_ok();
            }
        }
        self.stop();
        drop(terminal);
        // Below the screen, for the shell's prompt (if the terminal is still there).
        let _ = writeln!(std::io::stdout());
        Ok(Verdict::Passed)
    }

    /// Stops the run under way, if any, with everything it started.
    fn stop(&mut self) {
        if let Some(run) = self.run.take() {
            drop(run);
        }
    }

    /// Stops the run under way and starts a new one.
    fn restart(&mut self) -> anyhow::Result<()> {
        self.stop();
        self.started += 1;
        self.state = RunState::default();
        let (news, number) = (self.news.clone(), self.started);
        self.run = Some(worker::Run::start(
            number,
            self.course.root(),
            &self.lesson,
            &self.dir,
            move |message| news.send(News::Run(number, message)).is_ok(),
        )?);
        Ok(())
    }

    fn handle(
        &mut self,
        news: News,
        terminal: &mut Terminal,
        keys: &Keys,
        signals: &Signals,
    ) -> anyhow::Result<Next> {
        match news {
            News::Terminal(Input::Gone) => return Ok(Next::Quit),
            News::Terminal(Input::Event(Event::Key(key))) if key.kind != KeyEventKind::Release => {
                if self.aside {
                    // Any key after the quiz or the diff: back to the watch.
                    self.aside = false;
                    return Ok(Next::Go);
                }
                return self.key(key, terminal, keys, signals);
            }
            News::Terminal(Input::Event(Event::Resize(..))) => return Ok(Next::Go),
            News::Terminal(_) => return Ok(Next::Same),
            News::Saved => {
                self.notice = None;
                self.restart()?;
            }
            News::WatchFailed(error) => {
                self.notice = Some(format!(
                    "Watching the files failed ({error}): press r to run the check by hand."
                ));
            }
            News::Run(number, message) => {
                if number != self.started {
                    return Ok(Next::Same); // the last words of a run that was stopped
                }
                match message {
                    Message::Report(Report::Check(check)) => self.state.checks.push(check),
                    Message::Report(Report::Error(error)) => self.state.error = Some(error),
                    Message::Report(Report::Finished) => {
                        self.state.finished = true;
                        self.expected_total = Some(self.state.checks.len());
                        self.record()?;
                    }
                    Message::Status(line) => self.state.progress(&line),
                    Message::Ended => {
                        self.state.died();
                        // Reaps the worker (it has exited) and kills what it may have left.
                        self.stop();
                    }
                }
            }
        }
        Ok(Next::Go)
    }

    /// Whether the crate watched is the learner's own (`lessons/NN-slug`): only its checks go
    /// on the course map.
    fn own_crate(&self) -> bool {
        same_dir(
            &self.dir,
            &self.course.crate_dir(&self.lesson, Side::Lesson),
        )
    }

    fn record(&mut self) -> anyhow::Result<()> {
        if !self.own_crate() {
            return Ok(());
        }
        let passed = self.state.passed();
        let mut file = ProgressFile::open(&self.progress);
        file.update(&self.lesson.number, |p| p.check = passed);
        file.save()
    }

    fn next_lesson(&self) -> Option<&'a Lesson> {
        self.course
            .ready()
            .skip_while(|lesson| lesson.number != self.lesson.number)
            .nth(1)
    }

    fn key(
        &mut self,
        key: KeyEvent,
        terminal: &mut Terminal,
        keys: &Keys,
        signals: &Signals,
    ) -> anyhow::Result<Next> {
        self.notice = None;
        let control = key.modifiers.contains(KeyModifiers::CONTROL);
        let passed = self.state.passed();
        match key.code {
            KeyCode::Char('c' | 'd') if control => return Ok(Next::Quit),
            KeyCode::Char('q') => return Ok(Next::Quit),
            KeyCode::Char('r') => self.restart()?,
            KeyCode::Char('h') => self.next_hint()?,
            KeyCode::Char('t') => self.take_quiz(terminal, keys, signals)?,
            KeyCode::Char('d') if passed => self.show_diff(terminal, keys)?,
            KeyCode::Char('d') => {
                self.notice = Some(
                    "d shows your crate against the solution once every check passes.".to_string(),
                );
            }
            KeyCode::Char('n') if self.one_crate => {
                self.notice =
                    Some("--path watches one crate: n has no next lesson to go to.".to_string());
            }
            KeyCode::Char('n') if passed => match self.next_lesson() {
                Some(next) => self.switch(next)?,
                None => {
                    self.notice = Some("This is the last lesson written so far.".to_string());
                }
            },
            KeyCode::Char('n') => {
                self.notice =
                    Some("n moves on to the next lesson once every check passes.".to_string());
            }
            _ => {}
        }
        Ok(Next::Go)
    }

    /// Shows the next of the lesson's stepped hints (as `cargo quiz hint` does, and counted
    /// with it).
    fn next_hint(&mut self) -> anyhow::Result<()> {
        let total = self.quiz.hints.len();
        if total == 0 {
            self.notice = Some("This lesson has no hints.".to_string());
            return Ok(());
        }
        let mut file = ProgressFile::open(&self.progress);
        let seen = file.lesson(&self.lesson.number).hints_shown.min(total);
        let index = seen.min(total - 1);
        let last = if index + 1 == total {
            " (the last one)"
        } else {
            ""
        };
        self.hint = Some(format!(
            "Hint {} of {total}{last}: {}",
            index + 1,
            self.quiz.hints[index].trim()
        ));
        if seen < total {
            file.update(&self.lesson.number, |p| p.hints_shown = seen + 1);
            file.save()?;
        }
        Ok(())
    }

    /// Runs `cargo quiz take NN` on the terminal; the watch comes back at the next key.
    fn take_quiz(
        &mut self,
        terminal: &mut Terminal,
        keys: &Keys,
        signals: &Signals,
    ) -> anyhow::Result<()> {
        keys.pause();
        terminal.suspend();
        clear_screen()?;
        let exe = std::env::current_exe().context("cannot find the quiz binary to run")?;
        let status = Command::new(exe)
            .args(["take", &self.lesson.number])
            .env("QUIZ_COURSE_ROOT", self.course.root())
            .env("QUIZ_PROGRESS_FILE", &self.progress)
            .status();
        // A Ctrl-C in the quiz stopped the quiz, not the watch.
        signals.forget_interrupt();
        if let Err(error) = status {
            println!("cannot run the quiz: {error}");
        }
        self.back_to_watch(terminal, keys)
    }

    fn show_diff(&mut self, terminal: &mut Terminal, keys: &Keys) -> anyhow::Result<()> {
        let solution = self.course.crate_dir(&self.lesson, Side::Solution);
        let style = Style::for_stdout();
        keys.pause();
        terminal.suspend();
        clear_screen()?;
        match crate::diff::render(&self.dir, &solution, style) {
            Some(shown) => {
                println!(
                    "{}",
                    style.dim(&style.wrap(&format!(
                        "- lines: yours ({}), + lines: the solution ({})",
                        self.dir.display(),
                        solution.display()
                    )))
                );
                print!("{shown}");
            }
            None => println!("Your crate is the same as the solution."),
        }
        self.back_to_watch(terminal, keys)
    }

    /// Leaves what was shown on screen until the next key, which brings the watch back.
    fn back_to_watch(&mut self, terminal: &mut Terminal, keys: &Keys) -> anyhow::Result<()> {
        print!("\nPress any key to go back to the watch.");
        std::io::stdout().flush()?;
        terminal.resume()?;
        keys.resume();
        self.aside = true;
        Ok(())
    }

    /// Moves the watch to `next` lesson's crate.
    fn switch(&mut self, next: &Lesson) -> anyhow::Result<()> {
        let quiz = load_quiz(self.course, next)?;
        let dir = worker::absolute(&self.course.crate_dir(next, Side::Lesson));
        self.stop();
        self.watcher = None;
        self.watcher = Some(watch_files(&dir, self.news.clone())?);
        self.lesson = next.clone();
        self.quiz = quiz;
        self.dir = dir;
        self.hint = None;
        self.expected_total = None;
        self.restart()
    }

    fn draw(&self) -> anyhow::Result<()> {
        let style = Style::for_stdout();
        let bases = [
            self.dir.clone(),
            self.course.root().to_path_buf(),
            self.dir.parent().map(Path::to_path_buf).unwrap_or_default(),
        ];
        let links_on = self.links;
        let link = |path: &Path, text: &str| terminal::link(path, text);
        let links = |text: &str| {
            if links_on {
                screen::link_paths(text, &bases, &link)
            } else {
                text.to_string()
            }
        };
        let shown_dir = self
            .dir
            .strip_prefix(self.course.root())
            .unwrap_or(&self.dir)
            .display()
            .to_string();
        let watching = if links_on {
            terminal::link(&self.dir, &shown_dir)
        } else {
            shown_dir
        };
        let mut keys = vec![("h", "hint"), ("r", "rerun"), ("t", "quiz")];
        if self.state.passed() {
            keys.insert(1, ("d", "diff"));
            if !self.one_crate {
                keys.push(("n", "next lesson"));
            }
        }
        keys.push(("q", "quit"));
        let screen = Screen {
            title: format!("Lesson {}: {}", self.lesson.number, self.lesson.title),
            watching,
            run: &self.state,
            expected_total: self.expected_total,
            lesson: &self.lesson.number,
            passed_note: self.passed_note(),
            hint: self.hint.clone(),
            notice: self.notice.clone(),
            keys,
            links: &links,
        };
        let text = screen::render(&screen, style);
        let mut stdout = std::io::stdout().lock();
        // Raw mode: a line feed does not return the carriage.
        write!(stdout, "\x1b[H\x1b[2J{}", text.replace('\n', "\r\n"))?;
        stdout.flush()?;
        Ok(())
    }

    /// What a passed check means for the lesson, and what to do next.
    fn passed_note(&self) -> String {
        let number = &self.lesson.number;
        if !self.own_crate() {
            return format!(
                "Every check of lesson {number} passes on this crate (not your lessons/ crate: \
                 nothing goes on the course map)."
            );
        }
        let quiz_done = ProgressFile::open(&self.progress).lesson(number).quiz;
        if quiz_done {
            format!(
                "Lesson {number}'s code is done, and so is its quiz: the lesson is done (on the \
                 course map). Press n for the next lesson, d to compare with the solution."
            )
        } else {
            format!(
                "Lesson {number}'s code is done: that is on the course map. Press t to take the \
                 quiz, which finishes the lesson."
            )
        }
    }
}

fn clear_screen() -> anyhow::Result<()> {
    let mut stdout = std::io::stdout();
    write!(stdout, "\x1b[H\x1b[2J")?;
    stdout.flush()?;
    Ok(())
}

/// Whether a changed file is one the check reads: `src/`, `tests/`, `proto/`, `build.rs`,
/// `Cargo.toml`; not an editor's backup, swap or lock file.
fn counts(dir: &Path, path: &Path) -> bool {
    let Ok(relative) = path.strip_prefix(dir) else {
        return false;
    };
    let name = relative
        .file_name()
        .map(|name| name.to_string_lossy())
        .unwrap_or_default();
    let scratch = name.starts_with('.')
        || name.starts_with('#')
        || name.ends_with('~')
        || name == "4913" // vim's test of whether it may write the folder
        || [".swp", ".swo", ".swx", ".tmp", ".bak"]
            .iter()
            .any(|end| name.ends_with(end));
    if scratch {
        return false;
    }
    let mut parts = relative.components();
    match parts.next().map(|part| part.as_os_str().to_string_lossy()) {
        Some(first) if ["src", "tests", "proto"].contains(&first.as_ref()) => true,
        Some(first) => parts.next().is_none() && (first == "build.rs" || first == "Cargo.toml"),
        None => false,
    }
}

/// The file watcher: watching until dropped.
type Files = Debouncer<RecommendedWatcher, RecommendedCache>;

/// Whether an event changed a file. Reading one is an event too (inotify's IN_OPEN, which
/// cargo and rustc cause on every build): counting it would rerun the check forever.
fn changes(kind: &EventKind) -> bool {
    match kind {
        EventKind::Modify(ModifyKind::Metadata(MetadataKind::AccessTime)) => false,
        EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_) | EventKind::Any => true,
        // Opened or closed (a close after writing comes after a Modify event of its own).
        EventKind::Access(_) | EventKind::Other => false,
    }
}

/// Starts watching the crate in `dir`; saves that count arrive as [`News::Saved`].
fn watch_files(dir: &Path, news: mpsc::Sender<News>) -> anyhow::Result<Files> {
    let root = dir.to_path_buf();
    let mut debouncer = new_debouncer(DEBOUNCE, None, move |result: DebounceEventResult| {
        let news_of = match result {
            Ok(events) => events
                .iter()
                .any(|event| {
                    changes(&event.kind) && event.paths.iter().any(|path| counts(&root, path))
                })
                .then_some(News::Saved),
            Err(errors) => Some(News::WatchFailed(
                errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            )),
        };
        if let Some(news_of) = news_of {
            let _ = news.send(news_of);
        }
    })
    .context("cannot watch the crate's files")?;
    // The crate's folder itself for build.rs and Cargo.toml (an editor that saves by renaming a
    // new file over the old one replaces the file, so the folder is what is watched); its
    // source folders with everything in them.
    debouncer
        .watch(dir, RecursiveMode::NonRecursive)
        .with_context(|| format!("cannot watch {}", dir.display()))?;
    for folder in ["src", "tests", "proto"] {
        let folder = dir.join(folder);
        if folder.is_dir() {
            debouncer
                .watch(&folder, RecursiveMode::Recursive)
                .with_context(|| format!("cannot watch {}", folder.display()))?;
        }
    }
    Ok(debouncer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_files_the_check_reads_count() {
        let dir = Path::new("/course/lessons/07-unary-server");
        for path in [
            "src/server.rs",
            "src/bin/client.rs",
            "tests/lesson.rs",
            "proto/link.proto",
            "build.rs",
            "Cargo.toml",
        ] {
            assert!(counts(dir, &dir.join(path)), "{path} must count");
        }
        for path in [
            "target/debug/lesson-07-server",
            "README.md",
            "src/.server.rs.swp",
            "src/server.rs~",
            "src/4913",
            "src/#server.rs#",
            "notes/build.rs",
        ] {
            assert!(!counts(dir, &dir.join(path)), "{path} must not count");
        }
        assert!(!counts(dir, Path::new("/elsewhere/src/lib.rs")));
    }
}
