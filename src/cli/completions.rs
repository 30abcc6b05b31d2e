//! `isotop completions SHELL` and `isotop man [--dir DIR]`: shell completions and man pages
//! generated from the one clap definition ([`super::Cli`]), so they cannot drift from the
//! options the binary takes. Neither reads the host, the config or the pending reverts (both
//! are dispatched before any of that). Completions go to stdout; the man pages go to stdout
//! (the main page) or, with `--dir`, one file per command (`isotop.1`, `isotop-ls.1`,
//! `isotop-image-ls.1`, ...; hidden internal commands left out) into an existing directory,
//! each path written printed on its own line; a page replaces what had its name (a symlink
//! included) and never writes through it.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, CommandFactory, ValueEnum};

use super::{Cli, CliError};

/// The shells `isotop completions` writes a script for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete for: bash (/usr/share/bash-completion/completions/isotop), zsh
    /// (/usr/share/zsh/vendor-completions/_isotop), fish
    /// (/usr/share/fish/vendor_completions.d/isotop.fish).
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: Shell,
}

#[derive(Debug, Args)]
pub(crate) struct ManArgs {
    /// Write every page (isotop.1 and one per subcommand) into this existing directory instead
    /// of the main page to stdout.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Writes the completion script for `args.shell` to stdout.
pub(crate) fn completions(args: &CompletionsArgs) -> Result<(), CliError> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    match args.shell {
        Shell::Bash => generate(clap_complete::Shell::Bash, &mut command, &mut script),
        Shell::Zsh => generate(clap_complete::Shell::Zsh, &mut command, &mut script),
        Shell::Fish => generate(clap_complete::Shell::Fish, &mut command, &mut script),
    }
    write_raw(&script)
}

fn generate(shell: clap_complete::Shell, command: &mut clap::Command, out: &mut Vec<u8>) {
    clap_complete::generate(shell, command, "isotop", out);
}

/// Writes the man pages: the main one to stdout, or every page into `args.dir`.
pub(crate) fn man(args: &ManArgs) -> Result<(), CliError> {
    let command = man_command();
    match &args.dir {
        None => {
            let mut page = Vec::new();
            render(&command, &mut page).map_err(|e| CliError::Output(e.to_string()))?;
            write_raw(&page)
        }
        Some(dir) => {
            if !dir.is_dir() {
                return Err(CliError::Usage(format!(
                    "man --dir {}: not a directory (make it first)",
                    dir.display()
                )));
            }
            let mut written = Vec::new();
            write_pages(&command, dir, &mut written)?;
            let listing: String = written
                .iter()
                .map(|path| format!("{}\n", path.display()))
                .collect();
            super::print_text(&listing)
        }
    }
}

/// Writes `command`'s page and its visible subcommands' pages into `dir`; clap names each
/// subcommand after its parents (`isotop-image-ls`), which is the page's file name.
fn write_pages(
    command: &clap::Command,
    dir: &Path,
    written: &mut Vec<PathBuf>,
) -> Result<(), CliError> {
    let man = clap_mangen::Man::new(command.clone());
    let name = man.get_filename();
    let path = dir.join(&name);
    let mut page = Vec::new();
    man.render(&mut page)
        .and_then(|()| replace_file(dir, &name, &page))
        .map_err(|e| CliError::Output(format!("{}: {e}", path.display())))?;
    written.push(path);
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub, dir, written)?;
    }
    Ok(())
}

/// The clap definition as the pages show it: the NAME line says what isotop is once
/// (`isotop \- containers ...`, not the `--help` banner's `isotop — ...` after the name).
fn man_command() -> clap::Command {
    let mut command = Cli::command()
        .about("containers the way the kernel sees them")
        .disable_help_subcommand(true);
    command.build();
    command
}

/// Puts `bytes` at `dir/name` without following what is there: root may be asked to write
/// into a directory another user controls, where `name` could be a symlink to any file. The
/// bytes go to a new file (`create_new` refuses an existing name, a symlink included), which
/// is then renamed over `name` (a rename replaces a symlink itself, never its target).
fn replace_file(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let temporary = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temporary)
        .and_then(|mut file| file.write_all(bytes));
    match written.and_then(|()| std::fs::rename(&temporary, dir.join(name))) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = std::fs::remove_file(&temporary);
            Err(e)
        }
    }
}

fn render(command: &clap::Command, out: &mut Vec<u8>) -> std::io::Result<()> {
    clap_mangen::Man::new(command.clone()).render(out)
}

/// Writes generated text to stdout as is: it is the binary's own text (no stranger's), and a
/// completion script or roff page must not be altered. A closed pipe is not an error.
fn write_raw(bytes: &[u8]) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::Output(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_gets_a_script_naming_the_subcommands() {
        for shell in [
            clap_complete::Shell::Bash,
            clap_complete::Shell::Zsh,
            clap_complete::Shell::Fish,
        ] {
            let mut script = Vec::new();
            generate(shell, &mut Cli::command(), &mut script);
            let text = String::from_utf8(script).unwrap_or_default();
            for word in ["inspect", "completions", "read-only"] {
                assert!(text.contains(word), "{shell}: no {word}");
            }
        }
    }

    #[test]
    fn pages_cover_visible_subcommands_only() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let mut written = Vec::new();
        assert!(write_pages(&man_command(), dir.path(), &mut written).is_ok());
        let names: Vec<String> = written
            .iter()
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        for page in [
            "isotop.1",
            "isotop-ls.1",
            "isotop-image-ls.1",
            "isotop-man.1",
        ] {
            assert!(names.iter().any(|n| n == page), "no {page} in {names:?}");
        }
        assert!(!names.iter().any(|n| n.contains("supervise")), "{names:?}");
        let main = std::fs::read_to_string(dir.path().join("isotop.1")).unwrap_or_default();
        assert!(
            main.starts_with(".ie"),
            "roff: {}",
            &main[..main.len().min(80)]
        );
        assert!(main.contains(env!("ISOTOP_COMMIT")), "version section");
    }

    #[test]
    fn a_page_replaces_a_symlink_and_leaves_its_target_alone() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let target = dir.path().join("precious");
        std::fs::write(&target, "keep me").unwrap_or_else(|e| panic!("{e}"));
        let link = dir.path().join("isotop.1");
        std::os::unix::fs::symlink(&target, &link).unwrap_or_else(|e| panic!("{e}"));
        assert!(replace_file(dir.path(), "isotop.1", b".TH page").is_ok());
        assert_eq!(
            std::fs::read_to_string(&target).ok().as_deref(),
            Some("keep me")
        );
        assert!(!link.is_symlink(), "the link itself was replaced");
        assert_eq!(
            std::fs::read_to_string(&link).ok().as_deref(),
            Some(".TH page")
        );
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .map(|d| d.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert_eq!(left.len(), 2, "no temporary file left: {left:?}");
    }
}
