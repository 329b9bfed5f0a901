//! Colours on a terminal, plain text everywhere else (and whenever `NO_COLOR` is set); prose
//! wrapped to the terminal's width, or to 100 columns when the output is not a terminal.

use std::io::IsTerminal;

use crate::wrap::{self, DEFAULT_WIDTH};

/// How to dress up text for one output stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    color: bool,
    width: usize,
}

impl Style {
    /// Colours only when stdout is a terminal and `NO_COLOR` is unset or empty
    /// (<https://no-color.org>); the terminal's width, or 100 columns.
    pub fn for_stdout() -> Style {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
        let terminal = std::io::stdout().is_terminal();
        Style {
            color: !no_color && terminal,
            width: if terminal {
                terminal_width()
            } else {
                DEFAULT_WIDTH
            },
        }
    }

    /// No colours, 100 columns: for tests and for text written to files or pipes.
    pub fn plain() -> Style {
        Style {
            color: false,
            width: DEFAULT_WIDTH,
        }
    }

    /// Colours, whatever the output is.
    pub fn colored() -> Style {
        Style {
            color: true,
            width: DEFAULT_WIDTH,
        }
    }

    /// The same, wrapping prose to `width` columns.
    pub fn with_width(self, width: usize) -> Style {
        Style { width, ..self }
    }

    pub fn is_colored(self) -> bool {
        self.color
    }

    /// The width prose is wrapped to.
    pub fn width(self) -> usize {
        self.width
    }

    /// `text` wrapped at word boundaries to this output's width (see [`crate::wrap`]).
    pub fn wrap(self, text: &str) -> String {
        wrap::wrap(text, self.width)
    }

    /// `prefix`, then `text` wrapped in a column beside it (see [`crate::wrap::hang`]).
    pub fn hang(self, prefix: &str, text: &str) -> String {
        wrap::hang(prefix, text, self.width)
    }

    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    pub fn green(self, text: &str) -> String {
        self.paint("32", text)
    }

    pub fn red(self, text: &str) -> String {
        self.paint("31", text)
    }

    pub fn yellow(self, text: &str) -> String {
        self.paint("33", text)
    }

    pub fn cyan(self, text: &str) -> String {
        self.paint("36", text)
    }

    pub fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }

    pub fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }

    /// `ok` in green or `FAIL` in red, padded to the same width.
    pub fn verdict(self, passed: bool) -> String {
        if passed {
            self.green("  ok")
        } else {
            self.red("FAIL")
        }
    }
}

/// The terminal's width in columns, or 100 when it cannot be read.
pub fn terminal_width() -> usize {
    match crossterm::terminal::size() {
        Ok((columns, _)) if columns > 0 => usize::from(columns),
        _ => DEFAULT_WIDTH,
    }
}
