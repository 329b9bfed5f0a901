//! `cargo quiz` with no command: the course map.

use std::fmt::Write;

use crate::manifest::{Course, Lesson};
use crate::progress::Progress;
use crate::style::Style;

const BAR_WIDTH: usize = 30;

/// The first ready lesson that is not done yet.
pub fn next_lesson<'a>(course: &'a Course, progress: &Progress) -> Option<&'a Lesson> {
    course.ready().find(|lesson| {
        !progress
            .lessons
            .get(&lesson.number)
            .is_some_and(|p| p.done())
    })
}

fn mark(style: Style, passed: bool) -> String {
    if passed {
        style.green("passed")
    } else {
        style.dim("  -   ")
    }
}

/// The course map: every lesson with its quiz and check, a progress bar and what to do next.
pub fn render(course: &Course, progress: &Progress, style: Style) -> String {
    let mut out = String::new();
    let ready = course.ready().count();
    let done = course
        .ready()
        .filter(|lesson| {
            progress
                .lessons
                .get(&lesson.number)
                .is_some_and(|p| p.done())
        })
        .count();
    let next = next_lesson(course, progress);
    let title_width = course
        .lessons
        .iter()
        .map(|l| l.title.chars().count())
        .max()
        .unwrap_or(0);

    let _ = writeln!(
        out,
        "{}",
        style.bold("Protocol Buffers and gRPC in Rust: building a link shortener")
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "  {:<4}{:<title_width$}  {:<6}  {:<6}",
        "", "lesson", "quiz", "check"
    );
    for lesson in &course.lessons {
        let pointer = if next == Some(lesson) {
            style.cyan("->")
        } else {
            "  ".to_string()
        };
        if !lesson.ready {
            let _ = writeln!(
                out,
                "{pointer}{}",
                style.dim(&format!(
                    "{:<4}{:<title_width$}  (coming soon)",
                    lesson.number, lesson.title
                ))
            );
            continue;
        }
        let p = progress
            .lessons
            .get(&lesson.number)
            .cloned()
            .unwrap_or_default();
        let title = format!("{:<title_width$}", lesson.title);
        let title = if p.done() { style.green(&title) } else { title };
        let _ = writeln!(
            out,
            "{pointer}{:<4}{title}  {}  {}",
            lesson.number,
            mark(style, p.quiz),
            mark(style, p.check)
        );
    }

    let filled = (done * BAR_WIDTH).checked_div(ready).unwrap_or(0);
    let percent = (done * 100).checked_div(ready).unwrap_or(0);
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "[{}{}] {done} of {ready} lessons done ({percent}%)",
        style.green(&"#".repeat(filled)),
        style.dim(&".".repeat(BAR_WIDTH - filled))
    );
    let _ = writeln!(out);
    match next {
        Some(lesson) => {
            let p = progress
                .lessons
                .get(&lesson.number)
                .cloned()
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "Next: {} {}",
                style.bold(&format!("lesson {}", lesson.number)),
                lesson.title
            );
            let _ = writeln!(out, "  1. read  lessons/{}/README.md", lesson.dir_name());
            let _ = writeln!(
                out,
                "  2. write the code at its TODO markers in lessons/{}/",
                lesson.dir_name()
            );
            let _ = writeln!(
                out,
                "  3. run   cargo quiz watch {}   (it reruns cargo quiz check {} at every save){}",
                lesson.number,
                lesson.number,
                if p.check { "   (passed)" } else { "" }
            );
            let _ = writeln!(
                out,
                "  4. see   cargo quiz diff {}   (your crate against the solution)",
                lesson.number
            );
            let _ = writeln!(
                out,
                "  5. take  cargo quiz take {}{}",
                lesson.number,
                if p.quiz { "    (passed)" } else { "" }
            );
            let _ = writeln!(out, "Stuck? cargo quiz hint {}", lesson.number);
        }
        None if ready > 0 => {
            let _ = writeln!(
                out,
                "{}",
                style.green("Every lesson written so far is done. Well done!")
            );
        }
        None => {}
    }
    out
}
