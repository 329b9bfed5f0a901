//! The terminal while the watch runs: raw mode (keys arrive one at a time, unechoed) and a
//! hidden cursor, put back however the watch ends: `q`, Ctrl-C (a key in raw mode), a panic,
//! SIGTERM or SIGINT from outside, or a terminal that closes (SIGHUP).

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::Context;
use crossterm::event::{self, Event};
use crossterm::{cursor, execute, terminal};

/// Raw mode and a hidden cursor until dropped.
pub struct Terminal {
    raw: bool,
}

/// Puts the terminal back as it was: cooked mode, a visible cursor. Harmless when it already is.
pub fn restore() {
    let _ = terminal::disable_raw_mode();
    let mut stdout = std::io::stdout();
    let _ = execute!(stdout, cursor::Show);
    let _ = stdout.flush();
}

impl Terminal {
    /// Enters raw mode. A panic from here on puts the terminal back before its message is
    /// printed, so that the message is readable and the shell is usable after it.
    pub fn enter() -> anyhow::Result<Terminal> {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
        let mut terminal = Terminal { raw: false };
        terminal.resume()?;
        Ok(terminal)
    }

    /// Hands the terminal back to a line-by-line program (the quiz, a diff) until
    /// [`Terminal::resume`].
    pub fn suspend(&mut self) {
        restore();
        self.raw = false;
    }

    pub fn resume(&mut self) -> anyhow::Result<()> {
        terminal::enable_raw_mode().context("cannot switch the terminal to raw mode")?;
        self.raw = true;
        let mut stdout = std::io::stdout();
        execute!(stdout, cursor::Hide).context("cannot write to the terminal")?;
        Ok(())
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        if self.raw {
            restore();
        }
    }
}

/// Whether the terminal has gone (closed, hung up): reading it would only ever fail.
pub fn gone() -> bool {
    let mut fd = libc::pollfd {
        fd: libc::STDIN_FILENO,
        events: 0,
        revents: 0,
    };
    // SAFETY: one pollfd of ours, no waiting; POLLHUP, POLLERR and POLLNVAL are reported
    // whatever `events` asks.
    let ready = unsafe { libc::poll(&mut fd, 1, 0) };
    ready > 0 && fd.revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0
}

/// What the key reader tells the loop.
#[derive(Debug)]
pub enum Input {
    Event(Event),
    /// The terminal cannot be read any more.
    Gone,
}

/// The keys, read on a thread of their own. crossterm 0.29's reader spins forever, inside
/// `event::poll` whatever its time limit, once the terminal is gone (crossterm issue #793):
/// the loop must never wait in it, so it waits on a channel, and watches for the terminal's
/// end by itself ([`gone`] and SIGHUP).
pub struct Keys {
    pause: mpsc::Sender<mpsc::Sender<()>>,
    resume: mpsc::Sender<()>,
}

impl Keys {
    /// Starts reading; each key (and resize) goes to `send`.
    pub fn start(send: impl Fn(Input) -> bool + Send + 'static) -> Keys {
        let (pause, pauses) = mpsc::channel::<mpsc::Sender<()>>();
        let (resume, resumes) = mpsc::channel::<()>();
        std::thread::spawn(move || {
            loop {
                match pauses.try_recv() {
                    Ok(paused) => {
                        let _ = paused.send(());
                        if resumes.recv().is_err() {
                            return;
                        }
                        continue;
                    }
                    Err(mpsc::TryRecvError::Disconnected) => return,
                    Err(mpsc::TryRecvError::Empty) => {}
                }
                let input = match event::poll(Duration::from_millis(100)) {
                    Ok(false) => continue,
                    Ok(true) => match event::read() {
                        Ok(event) => Input::Event(event),
                        Err(_) => Input::Gone,
                    },
                    Err(_) => Input::Gone,
                };
                let gone = matches!(input, Input::Gone);
                if !send(input) || gone {
                    return;
                }
            }
        });
        Keys { pause, resume }
    }

    /// Stops reading until [`Keys::resume`], so that a program run in the foreground (the
    /// quiz) gets every key typed.
    pub fn pause(&self) {
        let (paused, ack) = mpsc::channel();
        if self.pause.send(paused).is_ok() {
            // The reader acknowledges between two polls of at most 100 ms.
            let _ = ack.recv_timeout(Duration::from_secs(2));
        }
    }

    pub fn resume(&self) {
        let _ = self.resume.send(());
    }
}

/// Signals that end the watch in order: SIGTERM and SIGHUP (the terminal closed) set `ended`,
/// SIGINT sets `interrupted` (in raw mode Ctrl-C is a key; SIGINT comes from outside, or
/// from Ctrl-C while the quiz has the terminal, when it stops the quiz only).
pub struct Signals {
    pub ended: Arc<AtomicBool>,
    pub interrupted: Arc<AtomicBool>,
}

impl Signals {
    pub fn register() -> anyhow::Result<Signals> {
        let signals = Signals {
            ended: Arc::new(AtomicBool::new(false)),
            interrupted: Arc::new(AtomicBool::new(false)),
        };
        for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGHUP] {
            signal_hook::flag::register(signal, Arc::clone(&signals.ended))
                .context("cannot handle SIGTERM and SIGHUP")?;
        }
        signal_hook::flag::register(
            signal_hook::consts::SIGINT,
            Arc::clone(&signals.interrupted),
        )
        .context("cannot handle SIGINT")?;
        Ok(signals)
    }

    /// Whether a signal asked the watch to end.
    pub fn stop(&self) -> bool {
        self.ended.load(Ordering::Relaxed) || self.interrupted.load(Ordering::Relaxed)
    }

    /// Forgets a Ctrl-C that stopped a program the watch ran in the foreground.
    pub fn forget_interrupt(&self) {
        self.interrupted.store(false, Ordering::Relaxed);
    }
}

/// Whether the terminal shows OSC 8 links (<https://gist.github.com/egmontkob/eb114294efbcd5adb1944c9f3cb5feda>):
/// `FORCE_HYPERLINK=1` or `0` decides; otherwise the terminals known to, by the variables
/// they set. Terminals that do not know the sequence print its text alone, but some old ones
/// show garbage, and multiplexers (tmux, screen) may pass it on to a terminal that does not:
/// so only those known.
pub fn links_supported(var: impl Fn(&str) -> Option<String>) -> bool {
    if let Some(forced) = var("FORCE_HYPERLINK") {
        return forced.trim() != "0";
    }
    if var("TMUX").is_some() || var("STY").is_some() {
        return false;
    }
    let number = |name: &str| var(name).and_then(|value| value.trim().parse::<u32>().ok());
    let program = var("TERM_PROGRAM").unwrap_or_default();
    let term = var("TERM").unwrap_or_default();
    matches!(
        program.as_str(),
        "iTerm.app" | "WezTerm" | "vscode" | "ghostty" | "Hyper" | "Tabby" | "rio"
    ) || matches!(
        term.as_str(),
        "xterm-kitty" | "alacritty" | "foot" | "foot-extra" | "xterm-ghostty" | "wezterm"
    ) || number("VTE_VERSION").is_some_and(|version| version >= 5000)
        || var("WT_SESSION").is_some()
        || var("DOMTERM").is_some()
}

/// `text` as a link to the file at `path` (absolute).
pub fn link(path: &Path, text: &str) -> String {
    let mut url = String::from("file://");
    url.push_str(&hostname());
    for byte in path.to_string_lossy().bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                url.push(char::from(byte));
            }
            _ => url.push_str(&format!("%{byte:02X}")),
        }
    }
    format!("\x1b]8;;{url}\x1b\\{text}\x1b]8;;\x1b\\")
}

/// This machine's name, which a file link names so that a terminal on another machine (over
/// ssh) does not open a local file of the same path.
fn hostname() -> String {
    let mut buffer = [0u8; 256];
    // SAFETY: gethostname writes at most `len` bytes into the buffer we own.
    let result = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) };
    if result != 0 {
        return String::new();
    }
    let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
    String::from_utf8_lossy(&buffer[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn links_only_where_the_terminal_is_known_to_show_them() {
        assert!(links_supported(env(&[("TERM_PROGRAM", "iTerm.app")])));
        assert!(links_supported(env(&[("VTE_VERSION", "7600")])));
        assert!(!links_supported(env(&[("VTE_VERSION", "4600")])));
        assert!(!links_supported(env(&[("TERM", "xterm-256color")])));
        assert!(
            !links_supported(env(&[("TERM_PROGRAM", "WezTerm"), ("TMUX", "/tmp/t,1,0")])),
            "tmux may pass the sequence to a terminal that cannot show it"
        );
        assert!(links_supported(env(&[("FORCE_HYPERLINK", "1")])));
        assert!(!links_supported(env(&[
            ("FORCE_HYPERLINK", "0"),
            ("TERM", "xterm-kitty")
        ])));
    }

    #[test]
    fn a_link_escapes_its_path_and_shows_its_text() {
        let shown = link(Path::new("/course/my lesson/src/lib.rs"), "src/lib.rs");
        assert!(
            shown.contains("/course/my%20lesson/src/lib.rs"),
            "{shown:?}"
        );
        assert!(shown.starts_with("\x1b]8;;file://"), "{shown:?}");
        assert!(
            shown.ends_with("\x1b\\src/lib.rs\x1b]8;;\x1b\\"),
            "{shown:?}"
        );
        assert_eq!(crate::wrap::visible_width(&shown), "src/lib.rs".len());
    }
}
