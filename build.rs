//! Build script: the git commit the binary is built from, for `isotop --version` and the
//! exporter's `isotop_build_info{commit}`.
//!
//! Sets `ISOTOP_COMMIT` to the short hash of HEAD, with `-dirty` when tracked files differ
//! from it (as of the moment this script last ran), or `unknown` when the sources are not a
//! git checkout of their own (a crate tarball, an unpacked source package, no `git` program):
//! never a build failure. Cargo re-runs the script only when HEAD moves (`.git/HEAD` and the
//! ref it names, or `packed-refs`), so an ordinary edit-and-build cycle does not re-run git:
//! `-dirty` is refreshed at the next commit or checkout, not at every save.
//!
//! In a release build it also hands the linker `assets/symbol-order.txt`: the functions a
//! dashboard run executes (`bench/symbol-order.sh` lists them), laid side by side at the front
//! of `.text`. The kernel maps a binary's code 64 KiB around each page a process touches
//! (fault-around), so code the dashboard runs, scattered among code it never runs, made ~7 MiB
//! of the 12 MB `.text` resident for ~1.1 MB executed. Only a linker that takes the option
//! (lld: rustc's default on x86_64 Linux since 1.90) gets it — a probe link says — and
//! `ISOTOP_NO_SYMBOL_ORDER=1` turns it off. Names missing from the file (code changed since it
//! was made) are laid out as before: the order is a layout, never a build failure.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // A hash someone supplies (a distribution building from a tarball it knows the commit of).
    println!("cargo:rerun-if-env-changed=ISOTOP_COMMIT");
    let commit = match std::env::var("ISOTOP_COMMIT") {
        Ok(given) if !given.trim().is_empty() => given.trim().to_string(),
        _ => git_commit().unwrap_or_else(|| "unknown".to_string()),
    };
    println!("cargo:rustc-env=ISOTOP_COMMIT={commit}");
    order_symbols();
}

/// Passes the symbol order to the binaries' link when this is a release build and the linker
/// takes it.
fn order_symbols() {
    println!("cargo:rerun-if-env-changed=ISOTOP_NO_SYMBOL_ORDER");
    let wanted = std::env::var("PROFILE").is_ok_and(|profile| profile == "release")
        && std::env::var_os("ISOTOP_NO_SYMBOL_ORDER")
            .is_none_or(|off| off.is_empty() || off == "0");
    let Some(manifest_dir) = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from) else {
        return;
    };
    let order = manifest_dir.join("assets/symbol-order.txt");
    if !order.is_file() {
        // (A missing file named would re-run this script at every build; its folder is not.)
        println!(
            "cargo:rerun-if-changed={}",
            manifest_dir.join("assets").display()
        );
        return;
    }
    println!("cargo:rerun-if-changed={}", order.display());
    if !wanted {
        return;
    }
    let args = order_args(&order);
    if !linker_takes(&args) {
        println!(
            "cargo:warning=the linker does not take --symbol-ordering-file (lld does): \
             the binary's code is laid out unordered (more of it resident)"
        );
        return;
    }
    for arg in args {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
}

/// The link arguments for the order (`-Xlinker` passes each whole: a path may hold a comma).
fn order_args(order: &Path) -> Vec<String> {
    vec![
        "-Xlinker".to_string(),
        format!("--symbol-ordering-file={}", order.display()),
        "-Xlinker".to_string(),
        "--no-warn-symbol-ordering".to_string(),
    ]
}

/// Whether an empty program links with `args`, with the rustc, target, linker and flags cargo
/// builds this package with.
fn linker_takes(args: &[String]) -> bool {
    let (Some(out_dir), Some(target)) = (std::env::var_os("OUT_DIR"), std::env::var_os("TARGET"))
    else {
        return false;
    };
    let out_dir = PathBuf::from(out_dir);
    let source = out_dir.join("symbol_order_probe.rs");
    if std::fs::write(&source, "fn main() {}\n").is_err() {
        return false;
    }
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let mut probe = Command::new(rustc);
    probe
        .arg("--crate-type=bin")
        .arg("--target")
        .arg(target)
        .arg("-o")
        .arg(out_dir.join("symbol_order_probe"))
        .arg(&source);
    if let Some(linker) = std::env::var_os("RUSTC_LINKER") {
        probe
            .arg("-C")
            .arg(format!("linker={}", linker.to_string_lossy()));
    }
    if let Ok(flags) = std::env::var("CARGO_ENCODED_RUSTFLAGS") {
        probe.args(flags.split('\x1f').filter(|flag| !flag.is_empty()));
    }
    for arg in args {
        probe.arg("-C").arg(format!("link-arg={arg}"));
    }
    probe
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// The short hash of HEAD (`-dirty` when the tree has changes), when the package directory is
/// itself the top of a git work tree; registers the files whose change moves HEAD.
fn git_commit() -> Option<String> {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR")?);
    // A tarball unpacked inside some other repository must not take that repository's hash.
    let top = git(&manifest_dir, &["rev-parse", "--show-toplevel"])?;
    if !same_dir(Path::new(&top), &manifest_dir) {
        return None;
    }
    watch_head(&manifest_dir);
    let hash = git(&manifest_dir, &["rev-parse", "--short=7", "HEAD"])?;
    // Untracked files do not count: a build's own outputs (target/) are ignored anyway, and a
    // stray scratch file does not change what the binary was built from.
    // `status` compares contents where the index's stat data is stale (a touched but unchanged
    // file is clean); `--no-optional-locks` keeps it from rewriting the index during a build.
    let dirty = git_output(
        &manifest_dir,
        &[
            "--no-optional-locks",
            "status",
            "--porcelain",
            "--untracked-files=no",
        ],
    )
    .is_some_and(|text| !text.trim().is_empty());
    Some(if dirty { format!("{hash}-dirty") } else { hash })
}

/// Tells cargo to re-run this script when HEAD (this work tree's, in a linked worktree) or the
/// branch it points to moves. Only files that exist are named: cargo re-runs a script on every
/// build for a named path that is missing.
fn watch_head(dir: &Path) {
    let Some(git_dir) = git(dir, &["rev-parse", "--absolute-git-dir"]) else {
        return;
    };
    let git_dir = PathBuf::from(git_dir);
    let common_dir = git(dir, &["rev-parse", "--git-common-dir"])
        .map(|common| dir.join(common))
        .unwrap_or_else(|| git_dir.clone());
    let head = git_dir.join("HEAD");
    watch(&head);
    if let Ok(text) = std::fs::read_to_string(&head)
        && let Some(reference) = text.trim().strip_prefix("ref: ")
    {
        watch(&git_dir.join(reference));
        watch(&common_dir.join(reference));
    }
    watch(&common_dir.join("packed-refs"));
}

fn watch(path: &Path) {
    if path.is_file() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

/// One line of `git -C dir ARGS` output, or `None` when git is missing or fails.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let text = git_output(dir, args)?;
    let line = text.trim();
    (!line.is_empty()).then(|| line.to_string())
}

/// The whole output of `git -C dir ARGS`, or `None` when git is missing or fails.
fn git_output(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    String::from_utf8(output.stdout).ok()
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
