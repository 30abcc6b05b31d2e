//! Shared harness for isotop's fuzz targets: a jail to run hostile input in, a snapshot of
//! what must not change, and the split of one fuzz input into several files.
//!
//! The targets feed layers, image bundles and runtime state files to isotop's readers as
//! root. If a reader ever followed a hostile path out of its directory, a fuzz run must not
//! damage the machine it runs on: [`Jail::enter`] moves the process (once, on the first
//! input) into a private mount namespace whose root is a fresh, size-limited tmpfs, with the
//! working corpus, artifact and seed directories (`fuzz/{corpus,artifacts,seeds}`, the
//! working directory's) bind-mounted in at the same relative paths, so libFuzzer keeps
//! reading and writing where it was told and nothing else of the host is reachable. The
//! jail also bounds the disk a run can fill ([`JAIL_TMPFS_SIZE`]). Without root (no mount
//! namespace), the targets run in a plain temporary directory instead.
//!
//! Inside the jail, `/scratch/outside` holds sentinels (a file, a directory, a symlink, a
//! FIFO) that every target checks after each input with [`Snapshot`]: a mode, owner, time,
//! link count, content or xattr that changed there is a write outside the place isotop was
//! given, and the target panics (a crash libFuzzer records).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Size of the jail's tmpfs: room for many small layers, far below the machine's memory.
pub const JAIL_TMPFS_SIZE: &str = "512m";

/// Separates the files of one structured fuzz input (see [`sections`]).
pub const SEPARATOR: &[u8] = b"\n%%%%\n";

/// What the sentinel file holds.
const SENTINEL_TEXT: &[u8] = b"isotop fuzz sentinel: nothing may change this file\n";

/// Where the fuzz targets work, set up once per process.
pub struct Jail {
    /// The scratch directory inputs are unpacked and written under.
    pub scratch: PathBuf,
    /// The sentinel directory next to every destination (`<scratch>/outside`).
    pub outside: PathBuf,
    /// `outside` as it was made.
    pub baseline: Snapshot,
    /// True when the process is in its own mount namespace, chrooted into a tmpfs.
    pub isolated: bool,
    next: std::sync::atomic::AtomicU64,
}

impl Jail {
    /// The process's jail, made on first use (see the module contract).
    pub fn enter() -> &'static Jail {
        static JAIL: OnceLock<Jail> = OnceLock::new();
        JAIL.get_or_init(|| {
            let isolated = nix::unistd::geteuid().is_root() && isolate().is_ok();
            let scratch = if isolated {
                PathBuf::from("/scratch")
            } else {
                std::env::temp_dir().join(format!("isotop-fuzz-{}", std::process::id()))
            };
            fs::create_dir_all(&scratch).expect("make the scratch directory");
            let outside = scratch.join("outside");
            make_sentinels(&outside);
            let baseline = Snapshot::take(&outside);
            if !isolated {
                eprintln!(
                    "isotop-fuzz: not isolated (needs root for a mount namespace); working in {}",
                    scratch.display()
                );
            }
            Jail {
                scratch,
                outside,
                baseline,
                isolated,
                next: std::sync::atomic::AtomicU64::new(0),
            }
        })
    }

    /// A fresh, not yet existing path under the scratch directory (`<scratch>/<stem>-<n>`).
    pub fn fresh(&self, stem: &str) -> PathBuf {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.scratch.join(format!("{stem}-{n}"))
    }

    /// Panics when anything outside `work` changed since the jail was made: the sentinels
    /// under `outside`, or a new entry beside `work` in the scratch directory (or, in the
    /// jail, in its root).
    pub fn check_outside(&self, what: &str, work: &Path) {
        let now = Snapshot::take(&self.outside);
        if now != self.baseline {
            panic!(
                "{what} changed something outside its directory:\n{}",
                self.baseline.diff(&now)
            );
        }
        let mut allowed = vec![self.outside.clone(), work.to_path_buf()];
        let mut dirs = vec![self.scratch.clone()];
        if self.isolated {
            dirs.push(PathBuf::from("/"));
            allowed.extend(["/scratch", "/corpus", "/artifacts", "/seeds"].map(PathBuf::from));
        }
        for dir in dirs {
            for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if !allowed.contains(&path) {
                    panic!("{what} made {} outside its directory", path.display());
                }
            }
        }
    }
}

/// Removes a directory tree the target made, whatever modes the input gave it (as root the
/// modes do not matter; without root, directories are made writable first).
pub fn remove_tree(path: &Path) {
    if fs::remove_dir_all(path).is_ok() || !path.exists() {
        return;
    }
    make_writable(path);
    let _ = fs::remove_dir_all(path);
}

fn make_writable(path: &Path) {
    let Ok(meta) = fs::symlink_metadata(path) else {
        return;
    };
    if meta.is_dir() {
        let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o700));
        if let Ok(entries) = fs::read_dir(path) {
            for entry in entries.flatten() {
                make_writable(&entry.path());
            }
        }
    }
}

/// Private mount namespace, tmpfs root with the corpus, artifact and seed dirs bound in,
/// chroot.
fn isolate() -> nix::Result<()> {
    use nix::mount::{MsFlags, mount};
    use nix::sched::{CloneFlags, unshare};
    unshare(CloneFlags::CLONE_NEWNS)?;
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )?;
    // The jail's root: a tmpfs over /tmp, seen only in this namespace. The working
    // directory (where libFuzzer's relative corpus and artifact paths start) stays usable.
    let jail = Path::new("/tmp");
    let options = format!("size={JAIL_TMPFS_SIZE},mode=0755");
    mount(
        Some("isotop-fuzz"),
        jail,
        Some("tmpfs"),
        MsFlags::MS_NOSUID,
        Some(options.as_str()),
    )?;
    for dir in ["corpus", "artifacts", "seeds"] {
        if Path::new(dir).is_dir() {
            let target = jail.join(dir);
            fs::create_dir_all(&target).map_err(|_| nix::errno::Errno::EIO)?;
            mount(
                Some(dir),
                &target,
                None::<&str>,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None::<&str>,
            )?;
        }
    }
    nix::unistd::chroot(jail)?;
    // Relative paths from here on resolve inside the jail, as they did outside.
    nix::unistd::chdir("/")?;
    Ok(())
}

/// `outside/`: a file, a directory with a file, a symlink to the file and a FIFO, with
/// fixed modes and times (so a change shows).
fn make_sentinels(outside: &Path) {
    let _ = fs::remove_dir_all(outside);
    fs::create_dir_all(outside.join("dir")).expect("make the sentinel directory");
    fs::write(outside.join("secret"), SENTINEL_TEXT).expect("write the sentinel");
    fs::write(outside.join("dir/inner"), SENTINEL_TEXT).expect("write the sentinel");
    symlink("secret", outside.join("link")).expect("make the sentinel symlink");
    nix::unistd::mkfifo(
        &outside.join("fifo"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .expect("make the sentinel FIFO");
    for (name, mode) in [
        ("secret", 0o640),
        ("dir/inner", 0o600),
        ("dir", 0o750),
        ("", 0o755),
    ] {
        fs::set_permissions(outside.join(name), fs::Permissions::from_mode(mode))
            .expect("set a sentinel's mode");
    }
}

/// Everything observable about one file that a write through it would change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileState {
    pub kind: u32,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u64,
    pub size: u64,
    pub mtime: (i64, i64),
    /// The inode change time: moves on any chmod, chown, link, xattr or write, and cannot be
    /// set back, so a change that was undone still shows.
    pub ctime: (i64, i64),
    pub inode: u64,
    pub content: Option<Vec<u8>>,
    pub link_target: Option<PathBuf>,
    pub xattrs: Vec<OsString>,
}

impl FileState {
    /// The fields that differ, `name: before -> after` (modes in octal).
    fn diff(&self, after: &FileState) -> String {
        let mut out = Vec::new();
        let mut field = |name: &str, a: String, b: String| {
            if a != b {
                out.push(format!("{name}: {a} -> {b}"));
            }
        };
        field(
            "type",
            format!("{:o}", self.kind),
            format!("{:o}", after.kind),
        );
        field(
            "mode",
            format!("{:o}", self.mode),
            format!("{:o}", after.mode),
        );
        field("uid", self.uid.to_string(), after.uid.to_string());
        field("gid", self.gid.to_string(), after.gid.to_string());
        field("nlink", self.nlink.to_string(), after.nlink.to_string());
        field("size", self.size.to_string(), after.size.to_string());
        field(
            "mtime",
            format!("{:?}", self.mtime),
            format!("{:?}", after.mtime),
        );
        field(
            "ctime",
            format!("{:?}", self.ctime),
            format!("{:?}", after.ctime),
        );
        field("inode", self.inode.to_string(), after.inode.to_string());
        let text = |c: &Option<Vec<u8>>| format!("{:?}", c.as_deref().map(String::from_utf8_lossy));
        field("content", text(&self.content), text(&after.content));
        field(
            "link",
            format!("{:?}", self.link_target),
            format!("{:?}", after.link_target),
        );
        field(
            "xattrs",
            format!("{:?}", self.xattrs),
            format!("{:?}", after.xattrs),
        );
        out.join(", ")
    }
}

/// The state of every file under a directory (symlinks not followed), by relative path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot(pub BTreeMap<PathBuf, FileState>);

impl Snapshot {
    pub fn take(dir: &Path) -> Snapshot {
        let mut files = BTreeMap::new();
        walk(dir, Path::new(""), &mut files);
        Snapshot(files)
    }

    /// What differs, one line per path.
    pub fn diff(&self, other: &Snapshot) -> String {
        let mut lines = Vec::new();
        for (path, before) in &self.0 {
            match other.0.get(path) {
                None => lines.push(format!("removed {}", path.display())),
                Some(after) if after != before => lines.push(format!(
                    "changed {}: {}",
                    path.display(),
                    before.diff(after)
                )),
                Some(_) => {}
            }
        }
        for path in other.0.keys().filter(|p| !self.0.contains_key(*p)) {
            lines.push(format!("added {}", path.display()));
        }
        lines.join("\n")
    }
}

fn walk(base: &Path, relative: &Path, files: &mut BTreeMap<PathBuf, FileState>) {
    let path = base.join(relative);
    let Ok(meta) = fs::symlink_metadata(&path) else {
        return;
    };
    let kind = meta.mode() & S_IFMT;
    let content = meta
        .file_type()
        .is_file()
        .then(|| fs::read(&path).unwrap_or_default());
    let link_target = meta
        .file_type()
        .is_symlink()
        .then(|| fs::read_link(&path).unwrap_or_default());
    let xattrs = rustix::fs::llistxattr(&path, &mut [0u8; 0])
        .ok()
        .filter(|len| *len > 0)
        .map(|len| {
            let mut buf = vec![0u8; len];
            let n = rustix::fs::llistxattr(&path, &mut buf).unwrap_or(0);
            buf[..n]
                .split(|b| *b == 0)
                .filter(|n| !n.is_empty())
                .map(|n| OsString::from(String::from_utf8_lossy(n).into_owned()))
                .collect()
        })
        .unwrap_or_default();
    files.insert(
        relative.to_path_buf(),
        FileState {
            kind,
            mode: meta.mode() & 0o7777,
            uid: meta.uid(),
            gid: meta.gid(),
            nlink: meta.nlink(),
            size: meta.size(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
            inode: meta.ino(),
            content,
            link_target,
            xattrs,
        },
    );
    if meta.is_dir()
        && let Ok(entries) = fs::read_dir(&path)
    {
        for entry in entries.flatten() {
            walk(base, &relative.join(entry.file_name()), files);
        }
    }
}

/// `S_IFMT`: the file-type bits of `st_mode`.
const S_IFMT: u32 = 0o170000;

/// True when `ISOTOP_FUZZ_VERBOSE` is set: targets then print what each input came to (to
/// check that seeds reach past the parsers).
pub fn verbose() -> bool {
    static VERBOSE: OnceLock<bool> = OnceLock::new();
    *VERBOSE.get_or_init(|| std::env::var_os("ISOTOP_FUZZ_VERBOSE").is_some())
}

/// Splits `data` at every [`SEPARATOR`]: the files of one structured input, in order.
pub fn sections(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some(at) = find(rest, SEPARATOR) {
        out.push(&rest[..at]);
        rest = &rest[at + SEPARATOR.len()..];
    }
    out.push(rest);
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Replaces every `from` in `data` by `to`.
pub fn replace(data: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut rest = data;
    while let Some(at) = find(rest, from) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(to);
        rest = &rest[at + from.len()..];
    }
    out.extend_from_slice(rest);
    out
}

/// Panics when `text` holds a character isotop must never put on a terminal as is (control
/// characters, bidi controls) — readers promise to store cleaned text only.
pub fn assert_clean(what: &str, text: &str) {
    if let Some(c) = text.chars().find(|c| isotop::host::text::must_escape(*c)) {
        panic!("{what} holds a character that must be escaped {c:?}: {text:?}");
    }
}
