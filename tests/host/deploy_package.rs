//! What the .deb installs is made right: `deploy/deb/prepare.sh`, run on the tests' binary,
//! writes completions that complete (bash always; fish where installed) and parse (zsh where
//! installed), a man page per visible command that groff formats without a warning (UTF-8,
//! through preconv as man reads it), and exactly the files Cargo.toml's
//! `[package.metadata.deb]` assets take from it; `isotop --version` names the commit the
//! binary was built from.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use crate::support::common;
use crate::support::deploy::{repo_path, repo_text, tool};

/// Runs prepare.sh on the tests' binary into a temporary directory.
fn prepared() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(repo_path("deploy/deb/prepare.sh"))
        .arg(env!("CARGO_BIN_EXE_isotop"))
        .env("ISOTOP_DEB_ASSETS", dir.path())
        .output()
        .expect("prepare.sh starts");
    assert!(
        out.status.success(),
        "prepare.sh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

/// Every file under `dir`, as paths relative to it.
fn files(dir: &Path) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for sub in ["completions", "man"] {
        for entry in std::fs::read_dir(dir.join(sub))
            .expect("an asset dir")
            .flatten()
        {
            found.insert(format!("{sub}/{}", entry.file_name().to_string_lossy()));
        }
    }
    found
}

/// The asset sources Cargo.toml's deb metadata takes from `target/deb-assets/`.
fn deb_asset_sources() -> Vec<String> {
    let manifest: toml::Table = repo_text("Cargo.toml").parse().expect("Cargo.toml");
    let assets = manifest["package"]["metadata"]["deb"]["assets"]
        .as_array()
        .expect("deb assets");
    assets
        .iter()
        .filter_map(|a| a.as_array()?.first()?.as_str())
        .filter_map(|source| source.strip_prefix("target/deb-assets/"))
        .map(str::to_string)
        .collect()
}

/// True when `name` matches `pattern`, whose one `*` stands for any text.
fn matches(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        Some((head, tail)) => {
            name.len() >= head.len() + tail.len() && name.starts_with(head) && name.ends_with(tail)
        }
        None => pattern == name,
    }
}

#[test]
fn prepare_writes_exactly_the_assets_the_deb_takes() {
    let dir = prepared();
    let made = files(dir.path());
    let sources = deb_asset_sources();
    assert!(sources.len() >= 4, "{sources:?}");
    for source in &sources {
        assert!(
            made.iter().any(|f| matches(source, f)),
            "Cargo.toml packages {source}, prepare.sh made none: {made:?}"
        );
    }
    for file in &made {
        assert!(
            sources.iter().any(|s| matches(s, file)),
            "prepare.sh made {file}, which the .deb leaves out"
        );
    }
    // A page per visible command: the top one, a subcommand, a nested one; none for internals.
    for page in [
        "man/isotop.1.gz",
        "man/isotop-ls.1.gz",
        "man/isotop-image-prune.1.gz",
    ] {
        assert!(made.contains(page), "{page}: {made:?}");
    }
    assert!(
        !made
            .iter()
            .any(|f| f.contains("supervise") || f.contains("revert-worker"))
    );
}

#[test]
fn the_completions_parse_in_their_shells() {
    let dir = prepared();
    let scripts = dir.path().join("completions");
    // bash completes a subcommand from its start, as it would at a prompt.
    let bash = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "set -e; source '{}'; COMP_WORDS=(isotop insp); COMP_CWORD=1; \
             _isotop isotop insp isotop; echo \"${{COMPREPLY[@]}}\"",
            scripts.join("isotop").display()
        ))
        .output()
        .expect("bash starts");
    assert!(
        bash.status.success(),
        "{}",
        String::from_utf8_lossy(&bash.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&bash.stdout).trim(), "inspect");
    if let Some(fish) = tool("fish", "its completions") {
        let out = Command::new(fish)
            .arg("-c")
            .arg(format!(
                "source '{}'; complete -C 'isotop ls --wi'",
                scripts.join("isotop.fish").display()
            ))
            .output()
            .expect("fish starts");
        assert!(
            String::from_utf8_lossy(&out.stdout).starts_with("--wide\t"),
            "fish: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for (shell, file) in [("zsh", "_isotop"), ("fish", "isotop.fish")] {
        let Some(program) = tool(shell, "its completions' syntax") else {
            continue;
        };
        let out = Command::new(program)
            .arg("-n")
            .arg(scripts.join(file))
            .output()
            .expect("the shell starts");
        assert!(
            out.status.success(),
            "{shell} -n {file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn every_man_page_formats_without_a_warning() {
    if !common::require_program("groff") || !common::require_program("preconv") {
        return;
    }
    let dir = prepared();
    let pages: Vec<_> = std::fs::read_dir(dir.path().join("man"))
        .expect("man dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(pages.len() > 20, "{pages:?}");
    for page in pages {
        let out = Command::new("sh")
            .arg("-c")
            .arg("zcat \"$1\" | preconv | groff -man -Tutf8 -ww -z")
            .arg("sh")
            .arg(&page)
            .output()
            .expect("sh starts");
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{}: {}",
            page.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn version_names_the_commit_built() {
    let out = common::isotop()
        .arg("--version")
        .output()
        .expect("isotop starts");
    let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let expected_start = format!("isotop {} (commit ", env!("CARGO_PKG_VERSION"));
    let commit = line
        .strip_prefix(&expected_start)
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("--version says {line:?}"));
    let git = |args: &[&str]| {
        Command::new("git")
            .args(["-C", env!("CARGO_MANIFEST_DIR")])
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    // As build.rs: only a checkout whose top is this package names a commit.
    let own_checkout = git(&["rev-parse", "--show-toplevel"]).is_some_and(|top| {
        Path::new(&top).canonicalize().ok()
            == Path::new(env!("CARGO_MANIFEST_DIR")).canonicalize().ok()
    });
    let head = git(&["rev-parse", "--short=7", "HEAD"]).filter(|_| own_checkout);
    match head {
        // build.rs re-runs when HEAD moves, so the binary the tests built names HEAD.
        Some(head) => assert_eq!(commit.trim_end_matches("-dirty"), head, "{line}"),
        None => assert_eq!(commit, "unknown", "no git here, yet {line}"),
    }
}
