//! The `runner` binary: parses the command line and maps outcomes to exit codes
//! (0 ok, 1 a node failed, 2 bad input, 130 interrupted).

fn main() {
    std::process::exit(runner::cli::main());
}
