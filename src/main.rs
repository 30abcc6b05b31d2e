//! The `isotop` binary: everything it does is the library's [`isotop::cli_main`] (parse the
//! command line, dispatch, map errors to exit codes), so the subcommands stay a private leaf
//! of the library whose dead code the compiler can see.

fn main() {
    isotop::cli_main();
}
