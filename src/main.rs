//! The `isotop` binary: parse the command line, dispatch, map errors to exit codes.

use clap::Parser;

fn main() {
    let cli = isotop::cli::Cli::parse();
    if let Err(err) = isotop::cli::run(cli) {
        eprintln!("isotop: {err}");
        std::process::exit(err.exit_code());
    }
}
