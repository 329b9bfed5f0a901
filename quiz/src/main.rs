//! `cargo quiz`: see `quiz::cli`.

fn main() -> std::process::ExitCode {
    quiz::cli::main()
}
