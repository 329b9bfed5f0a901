//! The one difference allowed between a lesson's starter and its solution: the crate's name.

/// Rewrites `lesson-NN`, `lesson_NN`, `solution-NN` and `solution_NN` (any two digits) to
/// `crate-NN` / `crate_NN` with the digits kept as `NN`, so that a starter, its solution and the
/// previous lesson's solution can be compared line by line.
pub fn crate_names(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let mut matched = false;
        for prefix in ["lesson", "solution"] {
            if let Some(after) = rest.strip_prefix(prefix) {
                let bytes = after.as_bytes();
                let boundary_before = out
                    .chars()
                    .next_back()
                    .is_none_or(|c| !c.is_ascii_alphanumeric());
                let shape = bytes.len() >= 3
                    && (bytes[0] == b'-' || bytes[0] == b'_')
                    && bytes[1].is_ascii_digit()
                    && bytes[2].is_ascii_digit()
                    && bytes.get(3).is_none_or(|b| !b.is_ascii_digit());
                if boundary_before && shape {
                    out.push_str("crate");
                    out.push(char::from(bytes[0]));
                    out.push_str("NN");
                    rest = &after[3..];
                    matched = true;
                    break;
                }
            }
        }
        if !matched {
            let c = rest.chars().next().expect("rest is not empty");
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// A file's text as compared: crate names made equal, and the one-line crate `description` of
/// `Cargo.toml` left out (it says which lesson and which side the crate is).
pub fn for_comparison(relative: &std::path::Path, text: &str) -> String {
    let text = crate_names(text);
    if relative == std::path::Path::new("Cargo.toml") {
        text.lines()
            .filter(|line| !line.starts_with("description ="))
            .map(|line| format!("{line}\n"))
            .collect()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::crate_names;

    #[test]
    fn rewrites_package_library_and_binary_names() {
        assert_eq!(crate_names("use lesson_07::pb;"), "use crate_NN::pb;");
        assert_eq!(
            crate_names("use solution_06::serve;"),
            "use crate_NN::serve;"
        );
        assert_eq!(
            crate_names("cargo run --bin lesson-08-client -- get"),
            "cargo run --bin crate-NN-client -- get"
        );
        assert_eq!(crate_names("name = \"solution-10\""), "name = \"crate-NN\"");
        assert_eq!(
            crate_names("env!(\"CARGO_BIN_EXE_lesson-06-server\")"),
            "env!(\"CARGO_BIN_EXE_crate-NN-server\")"
        );
    }

    #[test]
    fn leaves_other_words_alone() {
        for text in [
            "lesson 07",
            "lessons/07-unary-server",
            "mylesson_07",
            "lesson_123",
            "solution",
        ] {
            assert_eq!(crate_names(text), text);
        }
    }
}
