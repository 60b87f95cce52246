//! The `gatehouse` binary: a thin shell over the library's CLI.

fn main() -> std::process::ExitCode {
    gatehouse::cli::main()
}
