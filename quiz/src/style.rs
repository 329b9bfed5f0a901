//! Colours on a terminal, plain text everywhere else (and whenever `NO_COLOR` is set).

use std::io::IsTerminal;

/// How to dress up text for one output stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    color: bool,
}

impl Style {
    /// Colours only when stdout is a terminal and `NO_COLOR` is unset or empty
    /// (<https://no-color.org>).
    pub fn for_stdout() -> Style {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
        Style {
            color: !no_color && std::io::stdout().is_terminal(),
        }
    }

    /// No colours: for tests and for text written to files or pipes.
    pub fn plain() -> Style {
        Style { color: false }
    }

    /// Colours, whatever the output is.
    pub fn colored() -> Style {
        Style { color: true }
    }

    pub fn is_colored(self) -> bool {
        self.color
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
