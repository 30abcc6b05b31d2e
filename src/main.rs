//! The `isotop` binary: parse the command line, dispatch, map errors to exit codes.

use clap::Parser;

fn main() {
    let cli = isotop::cli::Cli::parse();
    if let Err(err) = isotop::cli::run(cli) {
        // Messages can quote what an image or container said (a command, a path, a name):
        // control characters never reach the terminal.
        eprintln!(
            "isotop: {}",
            isotop::host::text::clean_lines(&err.to_string())
        );
        std::process::exit(err.exit_code());
    }
}
