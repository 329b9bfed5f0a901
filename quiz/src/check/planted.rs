//! Lesson 14's check: the learner's own tests (`tests/service.rs`) against the real service and
//! against planted bugs.
//!
//! The bugs are not in the learner's crate. The tests are built and run once as they are (every
//! test must pass). Then the crate is copied to `target/quiz/planted/PACKAGE/`, a workspace of
//! its own that shares the course's `target/` (so nothing but the crate itself is compiled
//! again), and every bug below is written into the copy's source, each behind a check of the
//! environment variable `SHORTENER_PLANTED_BUG`. The copy's tests are built once and run once
//! per bug (at least one test must fail each time). Each run has a time limit, and its whole
//! process group is killed when it ends.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context as _;
use serde_json::Value;

use super::{Failure, Reporter, Target, head};

/// The variable that names the bug to plant, read by the planted copy.
pub const VAR: &str = "SHORTENER_PLANTED_BUG";

/// The test target the learner writes: `tests/service.rs`.
const TEST_TARGET: &str = "service";

/// How long one run of the learner's tests may take.
const RUN_LIMIT: Duration = Duration::from_secs(90);

/// The function the copy's `src/lib.rs` gets, which the edits below call.
const SWITCH: &str = "
#[doc(hidden)]
pub fn __planted(bug: &str) -> bool {
    std::env::var(\"SHORTENER_PLANTED_BUG\").is_ok_and(|planted| planted == bug)
}
";

/// One change to one file of the copy: `find` must be in the file exactly once.
pub struct Edit {
    pub file: &'static str,
    pub find: &'static str,
    pub replace: &'static str,
}

/// One planted bug: its name (the variable's value), what it breaks, what a test that catches
/// it does, and how it is written into the service.
pub struct Bug {
    pub name: &'static str,
    pub breaks: &'static str,
    pub hint: &'static str,
    pub edits: &'static [Edit],
}

/// Every bug the lesson plants, in the order they are tried. The edits apply to the service as
/// lesson 14 gives it (lesson 13's solution).
pub const BUGS: &[Bug] = &[
    Bug {
        name: "reused-code",
        breaks: "a deleted link's short code is handed out again",
        hint: "Make the server draw the same code twice (`LinkServer::with_codes`), create a link, \
               delete it, create another: the new link must not get the old code.",
        edits: &[Edit {
            file: "src/server.rs",
            find: "        links.retired.insert(code);\n",
            replace: "        if !crate::__planted(\"reused-code\") {\n            \
                      links.retired.insert(code);\n        }\n",
        }],
    },
    Bug {
        name: "unordered-list",
        breaks: "ListLinks streams the links out of creation order",
        hint: "Create several links, read the whole ListLinks stream, and compare the ids with \
               the order you created them in.",
        edits: &[Edit {
            file: "src/server.rs",
            find: "        links.sort_unstable_by_key(|link| link.id);\n",
            replace: "        links.sort_unstable_by_key(|link| link.id);\n        \
                      if crate::__planted(\"unordered-list\") {\n            \
                      links.reverse();\n        }\n",
        }],
    },
    Bug {
        name: "partial-batch",
        breaks: "a batch stores its good URLs as they arrive, even when a later one is bad",
        hint: "Send a batch with good URLs before a bad one: the call fails, and then ListLinks \
               must show that nothing was stored.",
        edits: &[
            Edit {
                file: "src/server.rs",
                find: "        let mut urls = Vec::new();\n",
                replace: "        let mut urls = Vec::new();\n        \
                          let mut early: Vec<Link> = Vec::new();\n",
            },
            Edit {
                file: "src/server.rs",
                find: "            urls.push(request.url);\n",
                replace: "            if crate::__planted(\"partial-batch\") {\n                \
                          early.push(self.links().insert(self.next_id(), request.url.clone()));\n            \
                          }\n            urls.push(request.url);\n",
            },
            Edit {
                file: "src/server.rs",
                find: "        let created: Vec<Link> = urls\n            .into_iter()\n            \
                       .map(|url| links.insert(self.next_id(), url))\n            .collect();\n",
                replace: "        let created: Vec<Link> = if crate::__planted(\"partial-batch\") {\n            \
                          early\n        } else {\n            urls.into_iter()\n                \
                          .map(|url| links.insert(self.next_id(), url))\n                \
                          .collect()\n        };\n",
            },
        ],
    },
    Bug {
        name: "negative-clicks",
        breaks: "SyncClicks accepts a negative count",
        hint: "On one SyncClicks stream, send a positive count and then a negative one: the \
               second answer must not be acknowledged, and the total must not go down.",
        edits: &[Edit {
            file: "src/server.rs",
            find: "            Some(total) if request.clicks >= 0 => {\n",
            replace: "            Some(total) if request.clicks >= 0 || \
                      crate::__planted(\"negative-clicks\") => {\n",
        }],
    },
    Bug {
        name: "internal-not-found",
        breaks: "an unknown short code is answered with INTERNAL instead of NOT_FOUND",
        hint: "Call GetLink (or DeleteLink) with a code nobody created and assert the status \
               code itself, not only that the call failed.",
        edits: &[Edit {
            file: "src/error.rs",
            find: "            ShortenerError::NotFound(_) => Status::not_found(message),\n",
            replace: "            ShortenerError::NotFound(_) if crate::__planted(\"internal-not-found\") => {\n                \
                      Status::internal(message)\n            }\n            \
                      ShortenerError::NotFound(_) => Status::not_found(message),\n",
        }],
    },
    Bug {
        name: "open-door",
        breaks: "the server lets calls through without the right API key",
        hint: "Start a server with a key (the `TestServer` fixture takes one) and call it with no \
               key and with a wrong key: both must be UNAUTHENTICATED.",
        edits: &[Edit {
            file: "src/auth.rs",
            find: "        let Some(key) = &self.key else {\n            return Ok(());\n        };\n",
            replace: "        let Some(key) = &self.key else {\n            return Ok(());\n        };\n        \
                      if crate::__planted(\"open-door\") {\n            return Ok(());\n        }\n",
        }],
    },
    Bug {
        name: "no-details",
        breaks: "a bad URL is refused without the google.rpc.BadRequest details",
        hint: "Send CreateLink a bad URL and read the details back (tonic-types' \
               `StatusExt::get_details_bad_request`): one field violation, for `url`.",
        edits: &[Edit {
            file: "src/error.rs",
            find: "        let message = error.to_string();\n",
            replace: "        let message = error.to_string();\n        \
                      if crate::__planted(\"no-details\")\n            \
                      && matches!(error, ShortenerError::InvalidUrl(_) | ShortenerError::InvalidUrlInBatch { .. })\n        \
                      {\n            return Status::invalid_argument(message);\n        }\n",
        }],
    },
    Bug {
        name: "deadline-ignored",
        breaks: "ListLinks keeps streaming after the call's deadline has passed",
        hint: "Pause time (`#[tokio::test(start_paused = true)]`), call `list_links` with a \
               `grpc-timeout` and more links than the channel holds, wait past the deadline \
               before reading: the stream must end with DEADLINE_EXCEEDED.",
        edits: &[Edit {
            file: "src/server.rs",
            find: "        let deadline = deadline(request.metadata());\n        \
                   // Copy the links out",
            replace: "        let deadline = deadline(request.metadata())\n            \
                      .filter(|_| !crate::__planted(\"deadline-ignored\"));\n        \
                      // Copy the links out",
        }],
    },
    Bug {
        name: "any-scheme",
        breaks: "URL validation lets any scheme through (`ftp://`, `javascript://`)",
        hint: "Exercise 4: a property test that builds URLs with any scheme but http and https \
               and expects `validate_url` to refuse every one.",
        edits: &[Edit {
            file: "src/validate.rs",
            find: "    if scheme != \"http\" && scheme != \"https\" {\n",
            replace: "    if scheme != \"http\" && scheme != \"https\" && !crate::__planted(\"any-scheme\") {\n",
        }],
    },
    Bug {
        name: "upper-codes",
        breaks: "short codes come out in upper case",
        hint: "Exercise 4: a property test that draws many `short_code()`s and checks each is six \
               characters of `[a-z0-9]`.",
        edits: &[Edit {
            file: "src/server.rs",
            find: "        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))\n",
            replace: "        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))\n        \
                      .map(|c| if crate::__planted(\"upper-codes\") { c.to_ascii_uppercase() } else { c })\n",
        }],
    },
    Bug {
        name: "client-waits-forever",
        breaks: "the client sets no deadline, so a server that never answers hangs it",
        hint: "Exercise 3: a fake server whose handler never returns, and a client call that must \
               fail (CANCELLED or DEADLINE_EXCEEDED) within the client's timeout.",
        edits: &[
            Edit {
                file: "src/client.rs",
                find: "        request.set_timeout(self.timeout);\n",
                replace: "        if !crate::__planted(\"client-waits-forever\") {\n            \
                          request.set_timeout(self.timeout);\n        }\n",
            },
            Edit {
                file: "src/client.rs",
                find: "        .timeout(timeout)\n",
                replace: "        .timeout(if crate::__planted(\"client-waits-forever\") { Duration::from_secs(3600) } else { timeout })\n",
            },
        ],
    },
    Bug {
        name: "client-trusts-order",
        breaks: "the client's `list` stops at the first link whose id is lower than the last",
        hint: "Exercise 3: a fake ListLinks that answers ids out of order (3, 1, 2), and a check \
               that the client still counts all three.",
        edits: &[
            Edit {
                file: "src/client.rs",
                find: "    let mut count = 0;\n",
                replace: "    let mut count = 0;\n    let mut last = 0;\n",
            },
            Edit {
                file: "src/client.rs",
                find: "        each(&link);\n        count += 1;\n",
                replace: "        if crate::__planted(\"client-trusts-order\") && link.id < last {\n            \
                          break;\n        }\n        last = link.id;\n        \
                          each(&link);\n        count += 1;\n",
            },
        ],
    },
];

/// How one run of the learner's tests went.
struct Run {
    passed: bool,
    hung: bool,
    output: String,
}

/// Builds `tests/service.rs`, runs it with no bug and with each bug, and records a check for each.
pub async fn run(root: &Path, target: &Target, reporter: &mut Reporter) -> anyhow::Result<()> {
    if !target.dir.join("tests").join("service.rs").is_file() {
        reporter.record(
            "your tests exist",
            Err(Failure::new(
                "your tests in tests/service.rs",
                "there is no tests/service.rs",
                "The lesson's exercises are tests: write them in tests/service.rs.",
            )),
        );
        return Ok(());
    }
    let executable = match build(root, &target.package, None).await? {
        Ok(executable) => executable,
        Err(failure) => {
            reporter.record("your tests build", Err(failure));
            return Ok(());
        }
    };

    let clean = run_tests(&executable, &target.dir, None).await?;
    if !clean.passed {
        let got = if clean.hung {
            format!(
                "the tests were still running after {} s",
                RUN_LIMIT.as_secs()
            )
        } else {
            failed_tests(&clean.output)
        };
        reporter.record(
            "your tests pass against the real service",
            Err(Failure::new(
                "every test of tests/service.rs passes (the service has no planted bug)",
                got,
                format!(
                    "A test that fails against the real service tests the wrong rule, or is not \
                     written yet (`todo!()`). Run `cargo test -p {} --test service`.",
                    target.package
                ),
            )),
        );
        return Ok(());
    }
    reporter.record("your tests pass against the real service", Ok(()));

    let copy = match plant(root, target) {
        Ok(copy) => copy,
        Err(failure) => {
            reporter.record(
                "the bugs can be planted in a copy of your crate",
                Err(failure),
            );
            return Ok(());
        }
    };
    let course_target = root.join("target");
    let planted = match build(&copy, &target.package, Some(&course_target)).await? {
        Ok(executable) => executable,
        Err(failure) => {
            reporter.record(
                "the copy with the planted bugs builds",
                Err(Failure::new(
                    failure.expected,
                    failure.got,
                    format!(
                        "The copy in {} is your crate with the bugs written in: if your own \
                         crate builds, tell the course's authors.",
                        copy.display()
                    ),
                )),
            );
            return Ok(());
        }
    };

    // With no bug switched on, the copy is the real service: if a test fails here, a bug would
    // look caught when the copy itself is at fault.
    let unplanted = run_tests(&planted, &copy, None).await?;
    if !unplanted.passed {
        reporter.record(
            "your tests pass against the copy with no bug switched on",
            Err(Failure::new(
                "every test passes, as it did against your crate",
                failed_tests(&unplanted.output),
                format!(
                    "The copy in {} differs from your crate only by the planted bugs, all off \
                     here. Two causes are common. A test that passes only sometimes: random \
                     input (a property test's \"minimal failing input\" is a case your \
                     strategy should not make) or a race on time. Or a test that depends on \
                     where the crate lives (a path, a binary's name): use \
                     `env!(\"CARGO_MANIFEST_DIR\")` and `env!(\"CARGO_BIN_EXE_...\")`.",
                    copy.display()
                ),
            )),
        );
        return Ok(());
    }

    for bug in BUGS {
        let run = run_tests(&planted, &copy, Some(bug.name)).await?;
        let result = if run.passed {
            Err(Failure::new(
                format!("a test that fails when {}", bug.breaks),
                "every test passed",
                bug.hint,
            ))
        } else {
            Ok(())
        };
        reporter.record(&format!("your tests catch: {}", bug.breaks), result);
    }
    Ok(())
}

/// `cargo test --test service --no-run` for the crate in `target.dir`, from `workspace` (the
/// course's root, or the planted copy, a workspace of its own whose build goes to the course's
/// `target/`): the test executable, or why it did not build.
async fn build(
    workspace: &Path,
    package: &str,
    target_dir: Option<&Path>,
) -> anyhow::Result<Result<PathBuf, Failure>> {
    let mut command = super::cargo::cargo_command();
    command
        .current_dir(workspace)
        .args(["test", "--message-format=json", "--no-run", "-p"])
        .arg(package)
        .args(["--test", TEST_TARGET])
        .env("CARGO_TERM_COLOR", "never")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    if let Some(target_dir) = target_dir {
        command.env("CARGO_TARGET_DIR", target_dir);
    }
    let output = command.output().await.context("cannot run cargo")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut executable = None;
    let mut errors = Vec::new();
    for line in stdout.lines() {
        let Ok(message) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        match message["reason"].as_str() {
            Some("compiler-artifact") if message["target"]["name"] == TEST_TARGET => {
                executable = message["executable"].as_str().map(PathBuf::from);
            }
            Some("compiler-message") if message["message"]["level"] == "error" => {
                if let Some(rendered) = message["message"]["rendered"].as_str() {
                    errors.push(rendered.to_string());
                }
            }
            _ => {}
        }
    }
    Ok(match executable {
        Some(executable) if output.status.success() => Ok(executable),
        _ => Err(Failure::new(
            "tests/service.rs compiles",
            if errors.is_empty() {
                head(&String::from_utf8_lossy(&output.stderr), 20)
            } else {
                head(&errors.join("\n"), 20)
            },
            format!("Run `cargo test -p {package} --test service` and fix the first error."),
        )),
    })
}

/// The prefix of the copy's binaries, so that they do not replace the crate's own in
/// `target/debug/`.
const BIN_PREFIX: &str = "planted-";

/// Copies the learner's crate to `target/quiz/planted/PACKAGE/` with every bug written in, and
/// returns the copy's folder. Files that did not change keep their times, so the next check
/// compiles only what changed.
fn plant(root: &Path, target: &Target) -> Result<PathBuf, Failure> {
    let cannot = |got: String| {
        Failure::new(
            "a copy of your crate with the planted bugs",
            got,
            "The bugs are written into a copy of the code the lesson gives; your work is \
             tests/service.rs. `git diff -- src` in your crate shows what you changed in the \
             service, and `git checkout -- src` puts it back.",
        )
    };
    let mut files = BTreeMap::new();
    for relative in crate::drift::files(&target.dir) {
        let bytes = std::fs::read(target.dir.join(&relative))
            .map_err(|error| cannot(format!("cannot read {}: {error}", relative.display())))?;
        files.insert(relative, bytes);
    }
    let text = |files: &BTreeMap<PathBuf, Vec<u8>>, file: &str| -> Result<String, Failure> {
        let bytes = files
            .get(Path::new(file))
            .ok_or_else(|| cannot(format!("your crate has no {file}")))?;
        String::from_utf8(bytes.clone()).map_err(|_| cannot(format!("{file} is not UTF-8")))
    };

    let read_root = |name: &str| {
        std::fs::read_to_string(root.join(name))
            .map_err(|error| cannot(format!("cannot read the course's {name}: {error}")))
    };
    let manifest = standalone_manifest(
        &read_root("Cargo.toml")?,
        &text(&files, "Cargo.toml")?,
        root,
    )
    .map_err(|why| cannot(format!("Cargo.toml: {why}")))?;
    files.insert(PathBuf::from("Cargo.toml"), manifest.into_bytes());
    files.insert(
        PathBuf::from("Cargo.lock"),
        read_root("Cargo.lock")?.into_bytes(),
    );

    let tests: Vec<PathBuf> = files
        .keys()
        .filter(|path| path.starts_with("tests") && path.extension().is_some_and(|e| e == "rs"))
        .cloned()
        .collect();
    for test in tests {
        let renamed = text(&files, &test.to_string_lossy())?
            .replace("CARGO_BIN_EXE_", &format!("CARGO_BIN_EXE_{BIN_PREFIX}"));
        files.insert(test, renamed.into_bytes());
    }

    let mut lib = text(&files, "src/lib.rs")?;
    lib.push_str(SWITCH);
    files.insert(PathBuf::from("src/lib.rs"), lib.into_bytes());
    for bug in BUGS {
        for edit in bug.edits {
            let source = text(&files, edit.file)?;
            let found = source.matches(edit.find).count();
            if found != 1 {
                let first = edit
                    .find
                    .lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty())
                    .unwrap_or("");
                return Err(cannot(format!(
                    "{} has `{first}` {} time(s), where the bug `{}` is planted (once, as the \
                     lesson gives it)",
                    edit.file, found, bug.name
                )));
            }
            files.insert(
                PathBuf::from(edit.file),
                source.replacen(edit.find, edit.replace, 1).into_bytes(),
            );
        }
    }

    let copy = root
        .join("target")
        .join("quiz")
        .join("planted")
        .join(&target.package);
    write_tree(&copy, &files)
        .map_err(|error| cannot(format!("cannot write {}: {error}", copy.display())))?;
    Ok(copy)
}

/// Makes `dir` hold exactly `files`, writing only those whose content changed.
fn write_tree(dir: &Path, files: &BTreeMap<PathBuf, Vec<u8>>) -> std::io::Result<()> {
    for stale in crate::drift::files(dir) {
        if !files.contains_key(&stale) {
            std::fs::remove_file(dir.join(stale))?;
        }
    }
    for (relative, bytes) in files {
        let path = dir.join(relative);
        if std::fs::read(&path).is_ok_and(|old| old == *bytes) {
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, bytes)?;
    }
    Ok(())
}

/// The crate's `Cargo.toml` as a workspace of its own: every `workspace = true` replaced by
/// what the course's root `Cargo.toml` says (paths made absolute), the root's profiles (so the
/// dependencies already built are used as they are), and the binaries renamed.
pub fn standalone_manifest(
    root_manifest: &str,
    manifest: &str,
    root: &Path,
) -> Result<String, String> {
    let root_manifest: toml::Table = toml::from_str(root_manifest).map_err(|e| e.to_string())?;
    let mut manifest: toml::Table = toml::from_str(manifest).map_err(|e| e.to_string())?;
    let workspace = root_manifest
        .get("workspace")
        .and_then(toml::Value::as_table)
        .ok_or("the course's Cargo.toml has no [workspace]")?;
    let empty = toml::Table::new();
    let table = |key: &str| {
        workspace
            .get(key)
            .and_then(toml::Value::as_table)
            .unwrap_or(&empty)
    };
    let (package_defaults, dependency_defaults) = (table("package"), table("dependencies"));
    let inherited =
        |value: &toml::Value| value.get("workspace").and_then(toml::Value::as_bool) == Some(true);
    let renamed = |name: &str| toml::Value::String(format!("{BIN_PREFIX}{name}"));

    if let Some(package) = manifest
        .get_mut("package")
        .and_then(toml::Value::as_table_mut)
    {
        for (key, value) in package.iter_mut() {
            if inherited(value) {
                *value = package_defaults
                    .get(key)
                    .cloned()
                    .ok_or(format!("[workspace.package] has no {key}"))?;
            }
        }
        if let Some(run) = package.get_mut("default-run") {
            *run = renamed(run.as_str().unwrap_or_default());
        }
    }
    for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
        let Some(dependencies) = manifest
            .get_mut(section)
            .and_then(toml::Value::as_table_mut)
        else {
            continue;
        };
        for (name, value) in dependencies.iter_mut() {
            if !inherited(value) {
                continue;
            }
            let mut dependency = match dependency_defaults.get(name) {
                Some(toml::Value::String(version)) => toml::Table::from_iter([(
                    "version".to_string(),
                    toml::Value::String(version.clone()),
                )]),
                Some(toml::Value::Table(spec)) => spec.clone(),
                _ => return Err(format!("[workspace.dependencies] has no {name}")),
            };
            if let Some(toml::Value::String(path)) = dependency.get("path") {
                let path = root.join(path).display().to_string();
                dependency.insert("path".to_string(), toml::Value::String(path));
            }
            for (key, local) in value.as_table().into_iter().flatten() {
                match key.as_str() {
                    "workspace" => {}
                    "features" => {
                        let features = dependency
                            .entry("features")
                            .or_insert_with(|| toml::Value::Array(Vec::new()));
                        if let (Some(all), Some(more)) = (features.as_array_mut(), local.as_array())
                        {
                            all.extend(more.iter().cloned());
                        }
                    }
                    _ => {
                        dependency.insert(key.clone(), local.clone());
                    }
                }
            }
            *value = toml::Value::Table(dependency);
        }
    }
    if let Some(bins) = manifest.get_mut("bin").and_then(toml::Value::as_array_mut) {
        for bin in bins.iter_mut().filter_map(toml::Value::as_table_mut) {
            if let Some(name) = bin.get_mut("name") {
                *name = renamed(name.as_str().unwrap_or_default());
            }
        }
    }
    manifest.remove("lints");
    manifest.insert(
        "workspace".to_string(),
        toml::Value::Table(toml::Table::new()),
    );
    if let Some(profile) = root_manifest.get("profile") {
        manifest.insert("profile".to_string(), profile.clone());
    }
    toml::to_string(&manifest).map_err(|e| e.to_string())
}

/// The seed of every property test in every run: each run draws the same cases, so a bug is
/// caught by what the service does, never by a luckier draw, and a strategy that makes a bad
/// case fails the run with no bug too, every time (proptest reads `PROPTEST_RNG_SEED`).
const PROPTEST_SEED: &str = "1414";

/// Runs every test of the executable, with `bug` planted, stopped after [`RUN_LIMIT`].
async fn run_tests(executable: &Path, dir: &Path, bug: Option<&str>) -> anyhow::Result<Run> {
    let mut command = tokio::process::Command::new(executable);
    command
        .args(["--color", "never"])
        .current_dir(dir)
        .env("RUST_BACKTRACE", "0")
        .env("PROPTEST_RNG_SEED", PROPTEST_SEED)
        .env_remove(VAR)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(bug) = bug {
        command.env(VAR, bug);
    }
    let (child, group) = super::group::spawn(&mut command)
        .with_context(|| format!("cannot run {}", executable.display()))?;
    let result = tokio::time::timeout(RUN_LIMIT, child.wait_with_output()).await;
    // Whatever happened, nothing the tests started may outlive them.
    drop(group);
    Ok(match result {
        Ok(output) => {
            let output = output?;
            Run {
                passed: output.status.success(),
                hung: false,
                output: format!(
                    "{}{}",
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                ),
            }
        }
        Err(_) => Run {
            passed: false,
            hung: true,
            output: String::new(),
        },
    })
}

/// The names of the tests that failed, from libtest's output, with the first panic message.
fn failed_tests(output: &str) -> String {
    let failed: Vec<&str> = output
        .lines()
        .filter_map(|line| line.strip_prefix("test "))
        .filter_map(|line| line.strip_suffix(" ... FAILED"))
        .collect();
    let message = super::cargo::failure_message(output);
    if failed.is_empty() {
        return head(output, 12);
    }
    format!(
        "these tests failed: {}\n{}",
        failed.join(", "),
        head(&message, 8)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_tests_are_named() {
        let output = "test a ... ok\ntest b_c ... FAILED\ntest d ... FAILED\n";
        assert!(failed_tests(output).starts_with("these tests failed: b_c, d"));
    }

    #[test]
    fn a_standalone_manifest_resolves_what_the_workspace_gave() {
        let root = r#"
[workspace]
members = ["a"]
[workspace.package]
edition = "2024"
[workspace.dependencies]
tokio = { version = "1.48.0", features = ["macros"] }
prost = "0.14.6"
shortener-proto = { path = "proto" }
[profile.dev]
debug = "line-tables-only"
"#;
        let crate_manifest = r#"
[package]
name = "lesson-14"
edition.workspace = true
default-run = "lesson-14-server"
[[bin]]
name = "lesson-14-server"
path = "src/bin/server.rs"
[dependencies]
prost.workspace = true
[dev-dependencies]
tokio = { workspace = true, features = ["test-util"] }
shortener-proto = { workspace = true, features = ["testing"] }
"#;
        let written =
            standalone_manifest(root, crate_manifest, Path::new("/course")).expect("a manifest");
        let manifest: toml::Table = toml::from_str(&written).expect("valid TOML");
        assert_eq!(manifest["package"]["edition"].as_str(), Some("2024"));
        assert_eq!(
            manifest["package"]["default-run"].as_str(),
            Some("planted-lesson-14-server")
        );
        assert_eq!(
            manifest["bin"][0]["name"].as_str(),
            Some("planted-lesson-14-server")
        );
        assert_eq!(
            manifest["dependencies"]["prost"]["version"].as_str(),
            Some("0.14.6")
        );
        let tokio = &manifest["dev-dependencies"]["tokio"];
        assert_eq!(tokio["version"].as_str(), Some("1.48.0"));
        assert_eq!(
            tokio["features"].as_array().map(Vec::len),
            Some(2),
            "the workspace's features and the crate's: {tokio}"
        );
        assert_eq!(
            manifest["dev-dependencies"]["shortener-proto"]["path"].as_str(),
            Some("/course/proto")
        );
        assert!(
            manifest["workspace"]
                .as_table()
                .is_some_and(toml::Table::is_empty)
        );
        assert_eq!(
            manifest["profile"]["dev"]["debug"].as_str(),
            Some("line-tables-only")
        );
    }

    #[test]
    fn every_bug_has_a_unique_name() {
        let mut names: Vec<&str> = BUGS.iter().map(|bug| bug.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), BUGS.len());
    }
}
