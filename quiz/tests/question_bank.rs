//! The question bank: every ready lesson has `quiz/lessons/NN.toml`, and every file there is
//! valid (at least 6 questions, 3 to 5 choices, exactly one right answer given as a letter, an
//! explanation, no duplicate ids). `Quiz::load` enforces each rule and names the file and line.

use quiz::manifest::Course;
use quiz::questions::Quiz;

#[test]
fn every_ready_lesson_has_a_valid_quiz() {
    let course = Course::from_manifest_dir().expect("course.toml");
    let mut problems = Vec::new();
    for lesson in course.ready() {
        let file = course.quiz_file(lesson);
        match Quiz::load(&file) {
            Ok(quiz) => {
                for question in &quiz.questions {
                    if question.prompt.trim().len() < 10 {
                        problems.push(format!(
                            "{}:{}: the prompt of {:?} is too short to test understanding",
                            file.display(),
                            question.line,
                            question.id
                        ));
                    }
                }
            }
            Err(error) => problems.push(error.to_string()),
        }
    }
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

#[test]
fn no_quiz_file_belongs_to_an_unknown_lesson() {
    let course = Course::from_manifest_dir().expect("course.toml");
    let dir = course.root().join("quiz").join("lessons");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(number) = name.strip_suffix(".toml") else {
            panic!("{}: only NN.toml files belong here", entry.path().display());
        };
        assert!(
            course.lessons.iter().any(|lesson| lesson.number == number),
            "{}: there is no lesson {number} in course.toml",
            entry.path().display()
        );
    }
}
