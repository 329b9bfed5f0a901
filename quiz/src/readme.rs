//! The parts of a lesson's README that the course proves: code blocks that name a file, and
//! console blocks whose output a real run must reproduce.

use std::collections::HashMap;

/// A fenced code block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The language, the first word of the info string (`rust`, `console`, ...).
    pub lang: String,
    /// The `file=PATH` of the info string, if any.
    pub file: Option<String>,
    /// The block's text, without the fences, ending with a newline.
    pub body: String,
    /// The 1-based line of the opening fence.
    pub line: usize,
}

/// Every fenced block (```` ``` ```` or `~~~`) of a Markdown text, in order.
pub fn blocks(markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut lines = markdown.lines().enumerate();
    while let Some((index, line)) = lines.next() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let fence: String = trimmed
            .chars()
            .take_while(|&c| c == '`' || c == '~')
            .collect();
        if fence.len() < 3
            || fence
                .chars()
                .any(|c| c != fence.chars().next().unwrap_or('`'))
        {
            continue;
        }
        let info = trimmed[fence.len()..].trim();
        let mut words = info.split_whitespace();
        let lang = words.next().unwrap_or("").to_string();
        let file = words
            .find_map(|word| word.strip_prefix("file="))
            .map(|path| path.trim_matches('"').to_string());
        let mut body = String::new();
        for (_, line) in lines.by_ref() {
            let closing = line.trim_start();
            if closing.starts_with(&fence)
                && closing
                    .trim_end()
                    .chars()
                    .all(|c| c == fence.chars().next().unwrap_or('`'))
            {
                break;
            }
            // Blocks inside lists are indented: drop the fence's indentation.
            let strip = line.len() - line.trim_start().len();
            body.push_str(&line[strip.min(indent)..]);
            body.push('\n');
        }
        blocks.push(Block {
            lang,
            file,
            body,
            line: index + 1,
        });
    }
    blocks
}

/// Whether a code block is `file`'s text. A line that is only `// ...`, `# ...` or `-- ...`
/// (SQL) (any indentation) elides: the pieces between elisions must each appear in the file, whole lines,
/// in order. Without an elision the block must be the whole file.
pub fn check_code_block(block: &str, file: &str) -> Result<(), String> {
    let is_elision =
        |line: &str| matches!(line.trim(), "// ..." | "# ..." | "-- ..." | "<!-- ... -->");
    let block_lines: Vec<&str> = block.lines().collect();
    let file_lines: Vec<&str> = file.lines().collect();
    if !block_lines.iter().any(|line| is_elision(line)) {
        return if block_lines == file_lines {
            Ok(())
        } else {
            Err(first_difference(&block_lines, &file_lines))
        };
    }
    let mut from = 0;
    for piece in block_lines.split(|line| is_elision(line)) {
        // Blank lines at the edges of a piece are layout, not content.
        let start = piece.iter().position(|l| !l.trim().is_empty());
        let end = piece.iter().rposition(|l| !l.trim().is_empty());
        let (Some(start), Some(end)) = (start, end) else {
            continue;
        };
        let piece = &piece[start..=end];
        let found = (from..=file_lines.len().saturating_sub(piece.len()))
            .find(|&at| file_lines[at..at + piece.len()] == *piece);
        match found {
            Some(at) => from = at + piece.len(),
            None => {
                return Err(format!(
                    "this piece is not in the file (after line {from}):\n{}",
                    piece.join("\n")
                ));
            }
        }
    }
    Ok(())
}

fn first_difference(block: &[&str], file: &[&str]) -> String {
    let at = block
        .iter()
        .zip(file)
        .position(|(a, b)| a != b)
        .unwrap_or(block.len().min(file.len()));
    format!(
        "the block differs from the file at line {}:\n  block: {:?}\n  file:  {:?}",
        at + 1,
        block.get(at).copied().unwrap_or("<end of block>"),
        file.get(at).copied().unwrap_or("<end of file>")
    )
}

/// One command of a console block and the lines it is expected to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub command: String,
    pub expected: Vec<String>,
    /// The 1-based README line of the command.
    pub line: usize,
}

/// The commands of a `console` block (lines starting with `$ `) and their expected output.
pub fn console_steps(block: &Block) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    for (offset, line) in block.body.lines().enumerate() {
        if let Some(command) = line.strip_prefix("$ ") {
            steps.push(Step {
                command: command.trim().to_string(),
                expected: Vec::new(),
                line: block.line + 1 + offset,
            });
        } else if let Some(step) = steps.last_mut() {
            step.expected.push(line.to_string());
        }
    }
    for step in &mut steps {
        while step.expected.last().is_some_and(|l| l.trim().is_empty()) {
            step.expected.pop();
        }
    }
    steps
}

/// Matches expected output against real output, with the course's rules for random parts: a
/// six-character `[a-z0-9]` word with a digit in it stands for a short code, bound to the real
/// code the first time it is seen; the ports 50051 (the server's) and 8080 (the gateway's)
/// match any port; an HTTP `date: ` header line matches any date.
#[derive(Debug, Default)]
pub struct Bindings {
    codes: HashMap<String, String>,
}

impl Bindings {
    /// A command with every bound short code replaced by the real one.
    pub fn substitute(&self, command: &str) -> String {
        split_words(command)
            .into_iter()
            .map(|word| self.codes.get(word).map_or(word, String::as_str))
            .collect()
    }

    /// Compares expected lines with actual lines, binding new short codes on the way.
    pub fn match_lines(&mut self, expected: &[String], actual: &[&str]) -> Result<(), String> {
        if expected.len() != actual.len() {
            return Err(format!(
                "expected {} lines, got {}:\n--- expected\n{}\n--- got\n{}",
                expected.len(),
                actual.len(),
                expected.join("\n"),
                actual.join("\n")
            ));
        }
        for (want, got) in expected.iter().zip(actual) {
            self.match_line(want, got)
                .map_err(|why| format!("{why}\n  expected: {want:?}\n  got:      {got:?}"))?;
        }
        Ok(())
    }

    fn match_line(&mut self, expected: &str, actual: &str) -> Result<(), String> {
        // An HTTP `date:` header (curl -i) is the time of the run.
        if expected.starts_with("date: ") && actual.starts_with("date: ") {
            return Ok(());
        }
        let want = split_words(expected);
        let got = split_words(actual);
        if want.len() != got.len() {
            return Err("the lines differ".to_string());
        }
        for (w, g) in want.into_iter().zip(got) {
            if w == g {
                continue;
            }
            if is_code_placeholder(w) && is_code(g) {
                match self.codes.get(w) {
                    Some(bound) if bound != g => {
                        return Err(format!("{w} was bound to {bound}, but here it is {g}"));
                    }
                    Some(_) => {}
                    None => {
                        self.codes.insert(w.to_string(), g.to_string());
                    }
                }
                continue;
            }
            if (w == "50051" || w == "8080")
                && g.bytes().all(|b| b.is_ascii_digit())
                && !g.is_empty()
            {
                continue;
            }
            return Err(format!("{w:?} differs from {g:?}"));
        }
        Ok(())
    }
}

/// Splits text into runs of word characters and runs of everything else, keeping both, so
/// `k7m2px:` is `k7m2px` + `:`.
fn split_words(text: &str) -> Vec<&str> {
    let mut words = Vec::new();
    let mut start = 0;
    let mut in_word = None;
    for (at, c) in text.char_indices() {
        let word = c.is_ascii_alphanumeric();
        if in_word != Some(word) {
            if at > start {
                words.push(&text[start..at]);
            }
            start = at;
            in_word = Some(word);
        }
    }
    if start < text.len() {
        words.push(&text[start..]);
    }
    words
}

fn is_code(word: &str) -> bool {
    word.len() == 6
        && word
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

fn is_code_placeholder(word: &str) -> bool {
    is_code(word) && word.bytes().any(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_blocks_with_their_files() {
        let text =
            "intro\n```rust file=src/lib.rs\nfn a() {}\n```\n\n```console\n$ cargo run\nhi\n```\n";
        let found = blocks(text);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].lang, "rust");
        assert_eq!(found[0].file.as_deref(), Some("src/lib.rs"));
        assert_eq!(found[0].body, "fn a() {}\n");
        assert_eq!(found[0].line, 2);
        assert_eq!(found[1].file, None);
        let steps = console_steps(&found[1]);
        assert_eq!(steps[0].command, "cargo run");
        assert_eq!(steps[0].expected, vec!["hi".to_string()]);
    }

    #[test]
    fn elided_blocks_match_pieces_in_order() {
        let file = "a\nb\nc\nd\ne\n";
        assert!(check_code_block("a\nb\nc\nd\ne\n", file).is_ok());
        assert!(check_code_block("b\n// ...\nd\n", file).is_ok());
        assert!(
            check_code_block("d\n// ...\nb\n", file).is_err(),
            "order matters"
        );
        assert!(
            check_code_block("b\nd\n", file).is_err(),
            "a piece is contiguous"
        );
        assert!(
            check_code_block("a\nb\n", file).is_err(),
            "no elision: the whole file"
        );
    }

    #[test]
    fn short_codes_bind_to_the_real_ones() {
        let mut bindings = Bindings::default();
        let expected = vec!["created k7m2px -> https://example.com".to_string()];
        bindings
            .match_lines(&expected, &["created qq1abc -> https://example.com"])
            .expect("a code matches a code");
        assert_eq!(
            bindings.substitute("cargo run -- get k7m2px"),
            "cargo run -- get qq1abc"
        );
        let again = vec!["k7m2px -> https://example.com".to_string()];
        assert!(
            bindings
                .match_lines(&again, &["zzzzz9 -> https://example.com"])
                .is_err()
        );
        assert!(
            bindings
                .match_lines(&["synced x".to_string()], &["synced y"])
                .is_err()
        );
        assert!(
            bindings
                .match_lines(
                    &["LinkService listening on 127.0.0.1:50051".to_string()],
                    &["LinkService listening on 127.0.0.1:40231"]
                )
                .is_ok()
        );
        assert!(
            bindings
                .match_lines(
                    &["date: Wed, 02 Dec 2026 13:07:10 GMT".to_string()],
                    &["date: Thu, 03 Dec 2026 09:00:01 GMT"]
                )
                .is_ok(),
            "an HTTP date is the time of the run"
        );
        assert!(
            bindings
                .match_lines(
                    &["gateway listening on http://127.0.0.1:8080".to_string()],
                    &["gateway listening on http://127.0.0.1:35117"]
                )
                .is_ok()
        );
    }
}
