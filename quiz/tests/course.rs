//! The course checks itself. Each test here keeps one of the course's promises (README.md, "How
//! the course keeps itself honest"): what a lesson shows is what its solution contains and prints,
//! the starters and solutions carry the same tests, and no starter drifts from the lesson before.
//!
//! `readme_outputs_are_what_the_solutions_print` runs the solutions' binaries from
//! `target/debug`: `cargo test` at the root builds them before any test runs.

use std::path::{Path, PathBuf};

use quiz::manifest::{Course, Lesson, Side};
use quiz::questions::Quiz;
use quiz::readme;
use quiz::{demo, drift, giveaway, normalize};

fn course() -> Course {
    Course::from_manifest_dir().expect("course.toml")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn lesson_readme(course: &Course, lesson: &Lesson) -> PathBuf {
    course.crate_dir(lesson, Side::Lesson).join("README.md")
}

/// Runs `check` for every ready lesson and fails once, listing every problem found.
fn for_every_lesson(check: impl Fn(&Course, &Lesson) -> Vec<String>) {
    let course = course();
    let problems: Vec<String> = course
        .ready()
        .flat_map(|lesson| {
            check(&course, lesson)
                .into_iter()
                .map(move |problem| format!("lesson {}: {problem}", lesson.number))
        })
        .collect();
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n\n"));
}

#[test]
fn every_ready_lesson_has_a_starter_a_solution_a_text_and_a_quiz() {
    for_every_lesson(|course, lesson| {
        let mut problems = Vec::new();
        for side in [Side::Lesson, Side::Solution] {
            let dir = course.crate_dir(lesson, side);
            let manifest = dir.join("Cargo.toml");
            if !manifest.is_file() {
                problems.push(format!("{} is missing", manifest.display()));
                continue;
            }
            let name = format!("name = \"{}\"", lesson.package(side));
            if !read(&manifest).contains(&name) {
                problems.push(format!("{} should say {name}", manifest.display()));
            }
            if !dir.join("tests/lesson.rs").is_file() {
                problems.push(format!("{} has no tests/lesson.rs", dir.display()));
            }
        }
        for path in [lesson_readme(course, lesson), course.quiz_file(lesson)] {
            if !path.is_file() {
                problems.push(format!("{} is missing", path.display()));
            }
        }
        problems
    });
}

#[test]
fn readme_code_blocks_are_the_solution_files() {
    for_every_lesson(|course, lesson| {
        let readme = lesson_readme(course, lesson);
        let Ok(text) = std::fs::read_to_string(&readme) else {
            return vec![format!("{} is missing", readme.display())];
        };
        let solution = course.crate_dir(lesson, Side::Solution);
        let mut problems = Vec::new();
        for block in readme::blocks(&text) {
            let Some(file) = &block.file else { continue };
            let path = solution.join(file);
            let Ok(content) = std::fs::read_to_string(&path) else {
                problems.push(format!(
                    "README.md:{} names {file}, which the solution does not have",
                    block.line
                ));
                continue;
            };
            // The learner's crate is lesson-NN: a block they copy must say so.
            let solution_name = format!("solution_{}", lesson.number);
            if block.body.contains(&solution_name) {
                problems.push(format!(
                    "README.md:{}: the block for {file} says {solution_name}; the learner's crate is lesson_{}",
                    block.line, lesson.number
                ));
            }
            let shown = normalize::crate_names(&block.body);
            let real = normalize::crate_names(&content);
            if let Err(why) = readme::check_code_block(&shown, &real) {
                problems.push(format!(
                    "README.md:{}: the block for {file} is not the solution's file: {why}",
                    block.line
                ));
            }
        }
        problems
    });
}

#[test]
fn lesson_tests_are_the_same_in_starter_and_solution() {
    for_every_lesson(|course, lesson| {
        let starter = course.crate_dir(lesson, Side::Lesson);
        let solution = course.crate_dir(lesson, Side::Solution);
        let mut problems = Vec::new();
        for dir in [&starter, &solution] {
            let tests = dir.join("tests");
            for file in drift::files(&tests) {
                // In a lesson whose learner writes tests (its check plants bugs for them to
                // catch), `tests/service.rs` is the learner's work, not the lesson's spec.
                if lesson.checks.iter().any(|check| check == "planted")
                    && file == Path::new("service.rs")
                {
                    continue;
                }
                let (a, b) = (
                    starter.join("tests").join(&file),
                    solution.join("tests").join(&file),
                );
                match (std::fs::read_to_string(&a), std::fs::read_to_string(&b)) {
                    (Ok(a), Ok(b)) if normalize::crate_names(&a) == normalize::crate_names(&b) => {}
                    (Ok(_), Ok(_)) => problems.push(format!(
                        "tests/{} differs between starter and solution",
                        file.display()
                    )),
                    _ => problems.push(format!(
                        "tests/{} is in only one of starter and solution",
                        file.display()
                    )),
                }
            }
        }
        problems.dedup();
        problems
    });
}

#[test]
fn starters_are_the_previous_solution_plus_todos() {
    for_every_lesson(|course, lesson| {
        let Some(previous) = course.previous(lesson) else {
            return Vec::new();
        };
        drift::untracked_changes(
            &course.crate_dir(previous, Side::Solution),
            &course.crate_dir(lesson, Side::Lesson),
            &course.crate_dir(lesson, Side::Solution),
        )
    });
}

#[test]
fn the_course_readme_links_every_ready_lesson() {
    let course = course();
    let text = read(&course.root().join("README.md"));
    for lesson in course.ready() {
        let link = format!("lessons/{}/README.md", lesson.dir_name());
        assert!(text.contains(&link), "README.md should link {link}");
    }
}

// ---- Learners write the code ----------------------------------------------------------------

/// The most of a learner's added lines that the texts and hints of lessons 01-10 may show, taken
/// together: room for the worked examples, which show a whole RPC once before the learner
/// writes the next (docs/AUTHORING.md).
const GIVE_AWAY_OVERALL: f64 = 40.0;
/// The most in any one lesson: a first lesson, whose whole work is small, shows more.
const GIVE_AWAY_LESSON: f64 = 60.0;

#[test]
fn lessons_give_away_little_of_the_learners_work() {
    let course = course();
    let (mut added, mut shown) = (0, 0);
    let mut problems = Vec::new();
    println!("lesson  added  shown  share");
    for lesson in course.ready() {
        let mut text = std::fs::read_to_string(lesson_readme(&course, lesson)).unwrap_or_default();
        // Everything a learner can read: the text, the stepped hints, and the hint a failed test
        // prints.
        if let Ok(quiz) = Quiz::load(&course.quiz_file(lesson)) {
            text.push('\n');
            text.push_str(&quiz.hints.join("\n"));
            for hint in quiz.tests.values() {
                text.push('\n');
                text.push_str(hint);
            }
        }
        let share = giveaway::share(
            &course.crate_dir(lesson, Side::Lesson),
            &course.crate_dir(lesson, Side::Solution),
            &text,
        );
        println!(
            "{:>6}  {:>5}  {:>5}  {:>4.0}%",
            lesson.number,
            share.added.len(),
            share.shown.len(),
            share.percent()
        );
        if share.percent() > GIVE_AWAY_LESSON {
            problems.push(format!(
                "lesson {}: the text and hints show {} of the {} lines the learner adds ({:.0}%, \
                 at most {GIVE_AWAY_LESSON}% in one lesson), such as:\n    {}",
                lesson.number,
                share.shown.len(),
                share.added.len(),
                share.percent(),
                share
                    .shown
                    .iter()
                    .take(8)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("\n    ")
            ));
        }
        if lesson.number.as_str() <= "10" {
            added += share.added.len();
            shown += share.shown.len();
        }
    }
    let overall = 100.0 * shown as f64 / added.max(1) as f64;
    println!("lessons 01-10: {shown} of {added} lines shown ({overall:.0}%)");
    if overall > GIVE_AWAY_OVERALL {
        problems.push(format!(
            "lessons 01-10 show {shown} of the {added} lines learners add ({overall:.0}%, at most \
             {GIVE_AWAY_OVERALL}%)"
        ));
    }
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n\n"));
}

#[test]
fn every_lesson_from_02_has_an_exercise() {
    for_every_lesson(|course, lesson| {
        let text = std::fs::read_to_string(lesson_readme(course, lesson)).unwrap_or_default();
        let has = text.lines().any(|line| line.trim() == "## Your turn")
            && text.lines().any(|line| line.starts_with("### Exercise"));
        if lesson.number.as_str() >= "02" && !has {
            vec!["README.md has no `## Your turn` section with a `### Exercise ...`".to_string()]
        } else {
            Vec::new()
        }
    });
}

#[test]
fn run_it_blocks_say_which_folder_to_run_from() {
    // `cargo run --bin lesson-NN-...` works only from the lesson's folder: the starters are not
    // default members of the workspace, so cargo at the top cannot see their binaries.
    for_every_lesson(|course, lesson| {
        let text = std::fs::read_to_string(lesson_readme(course, lesson)).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let Some(first) = lines.iter().position(|line| line.trim() == "```console") else {
            return Vec::new();
        };
        let folder = format!("lessons/{}", lesson.dir_name());
        let before = lines[first.saturating_sub(8)..first].join("\n");
        if before.contains(&folder) {
            Vec::new()
        } else {
            vec![format!(
                "README.md:{}: say where to run the first console block from (`{folder}`)",
                first + 1
            )]
        }
    });
}

// ---- Facts the lessons rely on --------------------------------------------------------------

#[test]
fn every_server_accepts_with_tcp_nodelay() {
    // `serve_with_incoming(TcpListenerStream::new(..))` keeps Nagle's algorithm on: small
    // responses then wait for the client's delayed ACK. Lesson 06 teaches why.
    for_every_lesson(|course, lesson| {
        if !lesson.server {
            return Vec::new();
        }
        let mut problems = Vec::new();
        for side in [Side::Lesson, Side::Solution] {
            let lib = course.crate_dir(lesson, side).join("src/lib.rs");
            let text = std::fs::read_to_string(&lib).unwrap_or_default();
            if text.contains("TcpListenerStream") || !text.contains(".with_nodelay(Some(true))") {
                problems.push(format!(
                    "{}: accept with `TcpIncoming::from(listener).with_nodelay(Some(true))`",
                    lib.display()
                ));
            }
        }
        problems
    });
}

#[test]
fn the_client_and_gateway_libraries_print_nothing() {
    // A library function that prints writes into every program that calls it: a test's output,
    // the gateway's log. The client's calls return what the server answered (or hand it to a
    // callback); the binaries print. Lesson 08 says why. (`eprintln!` is out too: it panics when
    // stderr is closed, lesson 12. A log line goes through `tracing`, or `writeln!` to stderr.)
    for_every_lesson(|course, lesson| {
        let mut problems = Vec::new();
        for side in [Side::Lesson, Side::Solution] {
            let src = course.crate_dir(lesson, side).join("src");
            let mut files = vec![src.join("client.rs"), src.join("gateway.rs")];
            if let Ok(entries) = std::fs::read_dir(src.join("gateway")) {
                files.extend(entries.flatten().map(|entry| entry.path()));
            }
            for file in files {
                let Ok(text) = std::fs::read_to_string(&file) else {
                    continue;
                };
                for (number, line) in text.lines().enumerate() {
                    let code = line.split("//").next().unwrap_or_default();
                    if ["println!", "print!", "eprintln!", "eprint!"]
                        .iter()
                        .any(|call| code.contains(call))
                    {
                        problems.push(format!(
                            "{}:{}: a library prints ({}): return the value, and print in the \
                             binary",
                            file.display(),
                            number + 1,
                            line.trim()
                        ));
                    }
                }
            }
        }
        problems
    });
}

#[test]
fn planted_bugs_fit_the_service_their_lesson_gives() {
    // `cargo quiz check 14` writes each bug into a copy of the learner's crate, by finding a
    // piece of the given service's code: each piece must be there exactly once, in the starter
    // (what the learner has) and in the solution. The bugs are not in the learner's crate.
    for_every_lesson(|course, lesson| {
        if !lesson.checks.iter().any(|check| check == "planted") {
            return Vec::new();
        }
        let mut problems = Vec::new();
        for side in [Side::Lesson, Side::Solution] {
            let dir = course.crate_dir(lesson, side);
            for file in drift::files(&dir.join("src")) {
                if read(&dir.join("src").join(&file)).contains("planted") {
                    problems.push(format!(
                        "{}: the word `planted` is in the learner's crate",
                        file.display()
                    ));
                }
            }
            for bug in quiz::check::planted::BUGS {
                for edit in bug.edits {
                    let text = read(&dir.join(edit.file));
                    let found = text.matches(edit.find).count();
                    if found != 1 || edit.find == edit.replace {
                        problems.push(format!(
                            "{}/{}: the piece where `{}` is planted is there {found} times",
                            dir.display(),
                            edit.file,
                            bug.name
                        ));
                    }
                }
            }
        }
        problems
    });
}

/// The version a `[workspace.dependencies]` entry asks for at least: `"0.14.9"` or
/// `{ version = "0.14.9", ... }`.
fn required_version(manifest: &toml::Table, name: &str) -> Vec<u64> {
    let entry = &manifest["workspace"]["dependencies"][name];
    let text = entry
        .as_str()
        .or_else(|| entry.get("version").and_then(toml::Value::as_str))
        .unwrap_or_else(|| panic!("[workspace.dependencies] {name} has no version"));
    text.trim_start_matches(['^', '='])
        .split('.')
        .map(|part| part.parse().unwrap_or(0))
        .collect()
}

#[test]
fn the_workspace_requires_the_versions_the_lessons_rely_on() {
    // Lessons 08-10 teach what tonic 0.14.9 and hyper >= 1.10 do (a dropped call resets its
    // stream with CANCEL; tonic's Timeout expired mapping); prost 0.14.6 is the one quoted.
    let manifest: toml::Table =
        toml::from_str(&read(&course().root().join("Cargo.toml"))).expect("Cargo.toml");
    for (name, least) in [
        ("tonic", [0, 14, 9]),
        ("tonic-prost", [0, 14, 9]),
        ("tonic-prost-build", [0, 14, 9]),
        ("prost", [0, 14, 6]),
    ] {
        let asked = required_version(&manifest, name);
        assert!(
            asked.as_slice() >= least.as_slice(),
            "[workspace.dependencies] {name} asks for {asked:?}; the lessons rely on {least:?}"
        );
    }
}

/// What `cargo tree` says a selection of packages builds, along `edges` (`normal,build` for
/// `cargo build`, `normal,build,dev` for `cargo test`): each registry crate (`name vX.Y.Z`) with
/// the feature lists it is built with (two lists when build scripts need other features).
fn features_built(
    edges: &str,
    selection: &[&str],
) -> std::collections::BTreeMap<String, Vec<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let output = std::process::Command::new(cargo)
        .args(["tree", "--quiet", "--edges", edges, "--prefix", "none"])
        .args(["--format", "{p}|{f}"])
        .args(selection)
        .current_dir(course().root())
        .output()
        .expect("run cargo tree");
    assert!(
        output.status.success(),
        "cargo tree {selection:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut built: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Some((package, features)) = line.trim_end_matches(" (*)").split_once('|') else {
            continue;
        };
        // A path such as `(/.../proto)` marks a crate of this workspace, not a dependency.
        if package.contains("(/") || package.contains("(\\") {
            continue;
        }
        let lists = built.entry(package.trim().to_string()).or_default();
        if !lists.iter().any(|list| list == features) {
            lists.push(features.to_string());
            lists.sort();
        }
    }
    built
}

#[test]
fn every_crate_builds_its_dependencies_as_the_workspace_does() {
    // The promise of workspace-hack/: a learner who runs `cargo quiz`, then `cargo test -p
    // lesson-07`, then `cargo quiz check 11`, compiles tokio and tonic once, not at each switch.
    let workspace = features_built("normal,build,dev", &["--workspace"]);
    let mut problems: Vec<String> = workspace
        .iter()
        .filter(|(_, lists)| lists.len() > 1)
        .map(|(package, lists)| format!("the workspace builds {package} twice: {lists:?}"))
        .collect();
    let metadata =
        std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string()))
            .args(["metadata", "--no-deps", "--format-version", "1"])
            .current_dir(course().root())
            .output()
            .expect("run cargo metadata");
    let metadata: serde_json::Value =
        serde_json::from_slice(&metadata.stdout).expect("cargo metadata's JSON");
    let members = metadata["packages"].as_array().expect("a list of packages");
    for member in members {
        let name = member["name"].as_str().expect("a package name");
        // `cargo build -p NAME` leaves the dev-dependencies out, `cargo test -p NAME` does not.
        for (command, edges) in [("build", "normal,build"), ("test", "normal,build,dev")] {
            for (package, lists) in features_built(edges, &["--package", name]) {
                let whole = workspace.get(&package);
                if whole != Some(&lists) {
                    problems.push(format!(
                        "`cargo {command} -p {name}` builds {package} with features {lists:?}, \
                         the workspace with {whole:?}"
                    ));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "\n{}\n\nEvery crate must ask for the same features as the whole workspace, or cargo \
         compiles the dependency again for it. Run `cargo hakari generate` (once: `cargo install \
         cargo-hakari --locked`), which rewrites workspace-hack/Cargo.toml, and `cargo hakari \
         manage-deps` for a new crate.\n",
        problems.join("\n")
    );
}

// ---- Outputs ------------------------------------------------------------------------------

/// `target/debug`, where cargo put the solutions' binaries before running this test.
fn binaries_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/debug/deps/<test>")
        .to_path_buf()
}

fn check_outputs(course: &Course, lesson: &Lesson) -> Vec<String> {
    let readme = lesson_readme(course, lesson);
    let Ok(text) = std::fs::read_to_string(&readme) else {
        return vec![format!("{} is missing", readme.display())];
    };
    let bin_dir = binaries_dir();
    let package = lesson.package(Side::Solution);
    // Solutions 17-19 are not default members (Cargo.toml says why): a root `cargo test` does
    // not build their binaries. CI builds the whole workspace first, and requires them.
    if lesson.server && !bin_dir.join(format!("{package}-server")).is_file() {
        if std::env::var_os("COURSE_REQUIRE_TOOLS").is_some() {
            return vec![format!(
                "{package}'s binaries are not in {}: `cargo build -p {package} --bins` first",
                bin_dir.display()
            )];
        }
        eprintln!(
            "lesson {}: README outputs not checked: {package} is not built (`cargo build -p \
             {package} --bins`, then run this test again)",
            lesson.number
        );
        return Vec::new();
    }
    demo::run_console_blocks(&text, lesson, &package, &|name| Some(bin_dir.join(name)))
}

/// The entries of a binary's `--help`, by flag: each from its `--name` to the next flag's.
fn help_entries(help: &str) -> Vec<(String, String)> {
    let mut entries: Vec<(String, String)> = Vec::new();
    for line in help.lines() {
        let trimmed = line.trim_start();
        let flag = trimmed
            .split([' ', ','])
            .next()
            .filter(|word| word.starts_with('-'));
        match flag {
            Some(flag) if !trimmed.starts_with("- ") => {
                // `-h, --help`: the long name is the one tables use.
                let long = trimmed
                    .split_whitespace()
                    .find(|word| word.starts_with("--"))
                    .unwrap_or(flag)
                    .trim_end_matches(',')
                    .to_string();
                entries.push((long, trimmed.to_string()));
            }
            _ => {
                if trimmed.is_empty() || !line.starts_with(' ') {
                    continue;
                }
                if let Some((_, text)) = entries.last_mut() {
                    text.push(' ');
                    text.push_str(trimmed);
                }
            }
        }
    }
    entries
}

#[test]
fn configuration_tables_say_what_help_says() {
    // A README table headed `| binary | flag | environment | default | ... |` documents the
    // binaries' settings: each row must be what `--help` says, and each flag in `--help` a row.
    let bin_dir = binaries_dir();
    for_every_lesson(|course, lesson| {
        let text = read(&lesson_readme(course, lesson));
        let mut rows: Vec<Vec<String>> = Vec::new();
        let mut in_table = false;
        for line in text.lines() {
            let cells: Vec<String> = line
                .trim()
                .trim_matches('|')
                .split('|')
                .map(|cell| cell.trim().trim_matches('`').to_string())
                .collect();
            if line
                .trim_start()
                .starts_with("| binary | flag | environment | default |")
            {
                in_table = true;
            } else if in_table && line.trim_start().starts_with('|') {
                if !cells[0].starts_with("---") {
                    rows.push(cells);
                }
            } else {
                in_table = false;
            }
        }
        let mut problems = Vec::new();
        let mut binaries: Vec<String> = rows.iter().map(|row| row[0].clone()).collect();
        binaries.dedup();
        for role in binaries {
            let name = format!("{}-{role}", lesson.package(Side::Solution));
            let output = std::process::Command::new(bin_dir.join(&name))
                .arg("--help")
                .output();
            let Ok(output) = output else {
                problems.push(format!("cannot run {name} --help"));
                continue;
            };
            let entries = help_entries(&String::from_utf8_lossy(&output.stdout));
            let documented: Vec<&Vec<String>> = rows.iter().filter(|row| row[0] == role).collect();
            for row in &documented {
                let (flag, variable, default) = (&row[1], &row[2], &row[3]);
                let Some((_, entry)) = entries.iter().find(|(name, _)| name == flag) else {
                    problems.push(format!("{name} has no flag {flag}, which the table lists"));
                    continue;
                };
                if !entry.contains(&format!("[env: {variable}="))
                    && !entry.contains(&format!("[env: {variable}]"))
                {
                    problems.push(format!(
                        "{name} {flag}: the table says {variable}; --help says: {entry}"
                    ));
                }
                let shown = entry
                    .split("[default: ")
                    .nth(1)
                    .and_then(|rest| rest.split(']').next())
                    .unwrap_or("");
                if shown != default {
                    problems.push(format!(
                        "{name} {flag}: the table's default is {default:?}, --help's {shown:?}"
                    ));
                }
            }
            for (flag, _) in &entries {
                if flag != "--help"
                    && flag != "--version"
                    && !documented.iter().any(|row| &row[1] == flag)
                {
                    problems.push(format!("{name} {flag} is in --help but not in the table"));
                }
            }
        }
        problems
    });
}

#[test]
fn readme_outputs_are_what_the_solutions_print() {
    for_every_lesson(check_outputs);
}
