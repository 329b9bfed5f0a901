//! Prose wrapped at word boundaries, so that a terminal never breaks a word in two ("the like /
//! ly cause"). Every piece of the checker's prose goes through [`wrap`]; [`hang`] is the same
//! with a label in front (`hint:     ...`, `a) ...`).
//!
//! A line is only ever broken at a space. A code span in backquotes (`` `let x = 1;` ``) is
//! kept whole, and so is anything without spaces (a URL, a path): a word wider than the line
//! overflows it rather than being cut. Escape sequences (colours, terminal links) take no room.

/// The width prose is wrapped to when the output is not a terminal.
pub const DEFAULT_WIDTH: usize = 100;

/// Narrower than this, wrapping would make a column of single words: wrap to this instead.
const MIN_WIDTH: usize = 20;

/// `text` with every line wrapped to `width` columns. A line broken in two keeps its
/// indentation on the lines it continues on (and a list item's `- ` marker's width), so a block
/// stays a block.
pub fn wrap(text: &str, width: usize) -> String {
    let width = width.max(MIN_WIDTH);
    let mut out = String::with_capacity(text.len() + text.len() / width + 1);
    for (index, line) in text.split('\n').enumerate() {
        if index > 0 {
            out.push('\n');
        }
        wrap_line(line.trim_end(), width, &mut out);
    }
    out
}

/// `prefix` followed by `text` wrapped to `width`: the lines after the first, blank ones too, are
/// indented by the prefix's width, so `text` reads as one column beside it.
pub fn hang(prefix: &str, text: &str, width: usize) -> String {
    let lead = visible_width(prefix);
    let pad = " ".repeat(lead);
    let wrapped = wrap(text, width.saturating_sub(lead));
    let mut out = String::with_capacity(wrapped.len() + prefix.len());
    for (index, line) in wrapped.split('\n').enumerate() {
        if index == 0 {
            out.push_str(prefix);
        } else {
            // A blank line too stays in the column: the block reads as one.
            out.push('\n');
            out.push_str(&pad);
        }
        out.push_str(line);
    }
    out
}

/// How many columns `text` takes on a terminal: its characters, without escape sequences.
pub fn visible_width(text: &str) -> usize {
    let mut width = 0;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\x1b' {
            if !c.is_control() {
                width += 1;
            }
            continue;
        }
        match chars.next() {
            // CSI (colours): parameters up to a final byte in @..~.
            Some('[') => {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            // OSC (terminal links): up to BEL or ESC \.
            Some(']') => {
                while let Some(c) = chars.next() {
                    if c == '\x07' {
                        break;
                    }
                    if c == '\x1b' && chars.peek() == Some(&'\\') {
                        chars.next();
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    width
}

/// The words of a line, each with the spaces before it; a code span in backquotes is one word.
fn words(text: &str) -> Vec<(&str, &str)> {
    let mut words = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let gap_len = rest.len() - rest.trim_start_matches(' ').len();
        let (gap, after) = rest.split_at(gap_len);
        if after.is_empty() {
            break;
        }
        let mut end = after.find(' ').unwrap_or(after.len());
        // An unclosed backquote opens a code span: the word runs to the backquote that closes it
        // (when the line has one).
        if after[..end].matches('`').count() % 2 == 1
            && let Some(close) = after[end..].find('`')
        {
            let close = end + close + 1;
            end = close + after[close..].find(' ').unwrap_or(after.len() - close);
        }
        words.push((gap, &after[..end]));
        rest = &after[end..];
    }
    words
}

fn wrap_line(line: &str, width: usize, out: &mut String) {
    let body = line.trim_start_matches([' ', '\t']);
    let indent = &line[..line.len() - body.len()];
    // A list item's continuation lines start under its text, not under its marker.
    let marker = ["- ", "* ", "• "]
        .iter()
        .find(|marker| body.starts_with(**marker))
        .map_or(0, |marker| marker.chars().count());
    let continuation = format!("{indent}{}", " ".repeat(marker));
    let continuation_width = visible_width(&continuation);

    out.push_str(indent);
    let mut used = visible_width(indent);
    let mut first = true;
    for (gap, word) in words(body) {
        let word_width = visible_width(word);
        if !first && used + gap.len() + word_width > width {
            out.push('\n');
            out.push_str(&continuation);
            used = continuation_width;
        } else {
            out.push_str(gap);
            used += gap.len();
        }
        out.push_str(word);
        used += word_width;
        first = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn widest(text: &str) -> usize {
        text.lines().map(visible_width).max().unwrap_or(0)
    }

    #[test]
    fn lines_break_between_words_never_inside_one() {
        let text = "The check failed because the likely cause is a server that answers before it \
                    has stored the link, so the next call cannot find it.";
        let wrapped = wrap(text, 30);
        assert!(
            widest(&wrapped) <= 30,
            "a line is wider than 30:\n{wrapped}"
        );
        assert_eq!(
            wrapped.split_whitespace().collect::<Vec<_>>(),
            text.split_whitespace().collect::<Vec<_>>(),
            "wrapping must only replace spaces by line breaks:\n{wrapped}"
        );
        assert!(
            wrapped.contains("likely"),
            "`likely` was cut in two:\n{wrapped}"
        );
    }

    #[test]
    fn code_spans_and_urls_stay_whole() {
        let text = "Write `while let Some(req) = stream.message().await?` and read \
                    https://github.com/hyperium/tonic/blob/master/tonic/src/codec/decode.rs for why.";
        let wrapped = wrap(text, 30);
        assert!(
            wrapped.contains("`while let Some(req) = stream.message().await?`"),
            "the code span was broken:\n{wrapped}"
        );
        assert!(
            wrapped.lines().any(|line| line
                == "https://github.com/hyperium/tonic/blob/master/tonic/src/codec/decode.rs"),
            "the URL must stand whole on a line of its own, even wider than the width:\n{wrapped}"
        );
    }

    #[test]
    fn short_lines_indentation_and_blank_lines_are_kept() {
        let text = "Look at:\n  src/server.rs:130  // TODO(lesson 07): answer\n\nnext";
        assert_eq!(wrap(text, 100), text);
    }

    #[test]
    fn a_broken_line_keeps_its_indentation_and_a_list_marker_hangs() {
        let wrapped = wrap("    - one two three four five six seven eight nine", 24);
        assert_eq!(
            wrapped,
            "    - one two three four\n      five six seven\n      eight nine"
        );
    }

    #[test]
    fn escape_sequences_take_no_room() {
        let link = "\x1b]8;;file:///course/src/server.rs\x1b\\src/server.rs\x1b]8;;\x1b\\";
        assert_eq!(visible_width(link), "src/server.rs".len());
        assert_eq!(visible_width("\x1b[33mhint\x1b[0m"), 4);
        let text = format!("\x1b[2mfix {link} at the TODO\x1b[0m");
        assert_eq!(
            wrap(&text, 40),
            text,
            "fits in 40 columns once the escapes are not counted"
        );
    }

    #[test]
    fn a_hanging_label_makes_a_column() {
        let text = hang(
            "       hint:     ",
            "Exercise 1, `get_link` in src/server.rs: the test stores an odd URL and expects it back",
            60,
        );
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.len() > 1, "{text}");
        assert!(
            lines[0].starts_with("       hint:     Exercise 1"),
            "{text}"
        );
        for line in &lines[1..] {
            assert!(
                line.starts_with(&" ".repeat(17)) && !line[17..].starts_with(' '),
                "a continuation line is not under the text:\n{text}"
            );
        }
        assert!(widest(&text) <= 60, "{text}");
    }
}
