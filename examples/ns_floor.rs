//! The syscall floor of `isotop ns --json`: the reads that command needs and nothing else, with
//! plain syscalls (rustix, and the nsfs ioctls of `isotop::sys::nsfs`), no JSON and no
//! allocation per link or per path. bench/ns-bench.sh times it beside `isotop ns --json` and
//! `lsns -J`; a test (tests/host/ns_floor.rs) compiles this very file and checks it finds the
//! same namespaces, counts, owners and relatives as isotop, so the floor cannot drift into
//! reading less than the command shows.
//!
//! What it reads, in order:
//! - `/proc` listed (`getdents64`) and opened once as a directory;
//! - per process the eight links `readlinkat(proc, "PID/ns/KIND")` (the inodes, hence every
//!   namespace's processes, count and lowest pid; EACCES marks a process hiding its links);
//! - `/proc/self/mountinfo` to its end (the nsfs bind mounts) and `/etc/passwd` (user names);
//! - per distinct lowest pid: `statat(proc, "PID")` (its owner) and its `cmdline` (one page
//!   read: a short read is the end), its `comm` when the cmdline is empty;
//! - `/proc/2/stat` when PID 1's links are unreadable (kthreadd as the host's witness);
//! - per namespace: `openat(proc, "PID/ns/KIND")` and `fstat` (the inode check against a
//!   reused pid), `NS_GET_USERNS` (not for user namespaces: their owner is their parent),
//!   `NS_GET_PARENT` for user and pid namespaces, `NS_GET_OWNER_UID` for user namespaces, an
//!   `fstat` of each returned descriptor, and for relatives no process holds `NS_GET_NSTYPE`
//!   and their own relations, until none is new.
//!
//! Output: one line per namespace, sorted by inode, tab-separated: `inode kind nprocs pid uid
//! parent owner owner_uid nsfs_mounts command` (`-` for none; the command with control bytes
//! as `?`). Usage: `ns_floor [PROC_DIR]` (default `/proc`).

use std::collections::HashMap;
use std::ffi::CStr;
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use isotop::host::namespace::NsKind;
use isotop::sys::nsfs;
use rustix::fs::{AtFlags, Mode, OFlags};

/// One namespace as the floor knows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FloorRow {
    pub inode: u64,
    pub kind: Option<NsKind>,
    pub pids: Vec<i32>,
    pub uid: Option<u32>,
    pub parent: Option<u64>,
    pub owner: Option<u64>,
    pub owner_uid: Option<u32>,
    pub nsfs_mounts: usize,
    pub command: Option<Vec<u8>>,
}

/// `PID/SUFFIX` NUL-terminated in a stack buffer.
struct RelPath([u8; 40]);

impl RelPath {
    fn new(pid: i32, suffix: &[u8]) -> RelPath {
        let mut buf = [0u8; 40];
        let mut cursor = std::io::Cursor::new(&mut buf[..39]);
        let _ = write!(cursor, "{pid}/");
        let at = cursor.position() as usize;
        let take = suffix.len().min(39 - at);
        buf[at..at + take].copy_from_slice(&suffix[..take]);
        RelPath(buf)
    }

    fn c_str(&self) -> &CStr {
        CStr::from_bytes_until_nul(&self.0).unwrap_or(c"")
    }
}

fn ns_path(pid: i32, kind: NsKind) -> RelPath {
    let mut suffix = [0u8; 10];
    suffix[..3].copy_from_slice(b"ns/");
    let name = kind.name().as_bytes();
    suffix[3..3 + name.len()].copy_from_slice(name);
    RelPath::new(pid, &suffix[..3 + name.len()])
}

/// `kind:[inode]` → inode.
fn link_inode(text: &[u8]) -> Option<u64> {
    let start = text.iter().position(|b| *b == b'[')? + 1;
    let end = text.iter().rposition(|b| *b == b']')?;
    std::str::from_utf8(text.get(start..end)?)
        .ok()?
        .parse()
        .ok()
}

/// Reads `fd` in `chunk`-byte reads until a read returns nothing (or less than a chunk, when
/// `short_is_end`).
fn read_fd(fd: &OwnedFd, chunk: usize, short_is_end: bool) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut page = vec![0u8; chunk];
    while let Ok(n) = rustix::io::read(fd, &mut page[..]) {
        bytes.extend_from_slice(&page[..n]);
        if n == 0 || (short_is_end && n < chunk) {
            break;
        }
    }
    bytes
}

fn read_path(path: &Path) -> Vec<u8> {
    match rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()) {
        Ok(fd) => read_fd(&fd, 64 * 1024, false),
        Err(_) => Vec::new(),
    }
}

fn read_at(proc: &OwnedFd, path: &RelPath) -> Vec<u8> {
    match rustix::fs::openat(
        proc,
        path.c_str(),
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => read_fd(&fd, 4096, true),
        Err(_) => Vec::new(),
    }
}

/// The whole floor: every namespace with what `isotop ns` shows of it, sorted by inode.
pub fn floor(proc_dir: &Path) -> std::io::Result<Vec<FloorRow>> {
    let mut pids: Vec<i32> = std::fs::read_dir(proc_dir)?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    pids.sort_unstable();
    let proc = rustix::fs::open(
        proc_dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;

    let mut rows: Vec<FloorRow> = Vec::new();
    let mut at: HashMap<u64, usize> = HashMap::new();
    let mut pid1_hidden = true;
    let mut text = [0u8; 64];
    for pid in pids {
        for kind in NsKind::ALL {
            let Ok(len) =
                rustix::fs::readlinkat_raw(&proc, ns_path(pid, kind).c_str(), &mut text[..])
            else {
                continue;
            };
            let Some(inode) = link_inode(&text[..len]) else {
                continue;
            };
            if pid == 1 {
                pid1_hidden = false;
            }
            let i = row_of(&mut rows, &mut at, inode, kind);
            rows[i].pids.push(pid);
        }
    }

    // nsfs bind mounts: field 4 is the root `kind:[inode]`, the type follows the ` - `.
    let mountinfo = read_path(&proc_dir.join("self/mountinfo"));
    let mut mount_points = std::collections::HashSet::new();
    for line in mountinfo.split(|b| *b == b'\n') {
        let Some(dash) = line.windows(3).position(|w| w == b" - ") else {
            continue;
        };
        if !line[dash + 3..].starts_with(b"nsfs ") {
            continue;
        }
        let Some(root) = line.split(|b| *b == b' ').nth(3) else {
            continue;
        };
        let (Some(inode), Some(kind)) = (
            link_inode(root),
            root.split(|b| *b == b':')
                .next()
                .and_then(|k| NsKind::from_name(std::str::from_utf8(k).ok()?)),
        ) else {
            continue;
        };
        // One mount point counts once, however many lines name it (as isotop lists it).
        let point = line.split(|b| *b == b' ').nth(4).unwrap_or_default();
        if mount_points.insert((inode, point.to_vec())) {
            let i = row_of(&mut rows, &mut at, inode, kind);
            rows[i].nsfs_mounts += 1;
        }
    }
    let passwd = read_path(Path::new("/etc/passwd"));
    std::hint::black_box(&passwd);

    // Owner and command once per distinct lowest pid.
    let mut seen: HashMap<i32, (Option<u32>, Option<Vec<u8>>)> = HashMap::new();
    for row in &mut rows {
        let Some(&pid) = row.pids.first() else {
            continue;
        };
        let (uid, command) = seen
            .entry(pid)
            .or_insert_with(|| {
                let uid =
                    rustix::fs::statat(&proc, RelPath::new(pid, b"").c_str(), AtFlags::empty())
                        .ok()
                        .map(|st| st.st_uid);
                let mut command = read_at(&proc, &RelPath::new(pid, b"cmdline"));
                if command.strip_suffix(&[0]).unwrap_or(&command).is_empty() {
                    command = read_at(&proc, &RelPath::new(pid, b"comm"));
                    if command.last() == Some(&b'\n') {
                        command.pop();
                    }
                } else if command.last() == Some(&0) {
                    command.pop();
                }
                (
                    uid,
                    (uid.is_some() && !command.is_empty()).then_some(command),
                )
            })
            .clone();
        row.uid = uid;
        row.command = command;
    }
    if pid1_hidden {
        std::hint::black_box(read_at(&proc, &RelPath::new(2, b"stat")));
    }

    relations(&proc, &mountinfo, &mut rows, &mut at);
    rows.sort_unstable_by_key(|row| row.inode);
    Ok(rows)
}

/// The position of `inode`'s row, added when new.
fn row_of(
    rows: &mut Vec<FloorRow>,
    at: &mut HashMap<u64, usize>,
    inode: u64,
    kind: NsKind,
) -> usize {
    *at.entry(inode).or_insert_with(|| {
        rows.push(FloorRow {
            inode,
            kind: Some(kind),
            ..FloorRow::default()
        });
        rows.len() - 1
    })
}

/// The nsfs ioctls per namespace, and the relatives no process holds.
fn relations(
    proc: &OwnedFd,
    mountinfo: &[u8],
    rows: &mut Vec<FloorRow>,
    at: &mut HashMap<u64, usize>,
) {
    let mut pending: Vec<OwnedFd> = Vec::new();
    for row in rows.iter_mut() {
        let (inode, Some(kind)) = (row.inode, row.kind) else {
            continue;
        };
        let via_pid = row.pids.iter().take(3).find_map(|pid| {
            let fd = rustix::fs::openat(
                proc,
                ns_path(*pid, kind).c_str(),
                OFlags::RDONLY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .ok()?;
            (nsfs::inode(fd.as_fd()).ok()? == inode).then_some(fd)
        });
        // A namespace no process holds is opened through its bind mount.
        let fd = via_pid.or_else(|| {
            let needle = format!("{}:[{inode}]", kind.name());
            mountinfo.split(|b| *b == b'\n').find_map(|line| {
                let mut fields = line.split(|b| *b == b' ');
                (fields.nth(3)? == needle.as_bytes()).then_some(())?;
                let point = std::str::from_utf8(fields.next()?).ok()?;
                let fd = nsfs::open(Path::new(point)).ok()?;
                (nsfs::inode(fd.as_fd()).ok()? == inode).then_some(fd)
            })
        });
        let Some(fd) = fd else { continue };
        let (parent, owner, owner_uid) = ask(&fd, kind, at, &mut pending);
        row.parent = parent;
        row.owner = owner;
        row.owner_uid = owner_uid;
    }
    while let Some(fd) = pending.pop() {
        let (Ok(inode), Ok(Some(kind))) = (nsfs::inode(fd.as_fd()), nsfs::kind(fd.as_fd())) else {
            continue;
        };
        if at.contains_key(&inode) {
            continue;
        }
        at.insert(inode, rows.len());
        let (parent, owner, owner_uid) = ask(&fd, kind, at, &mut pending);
        rows.push(FloorRow {
            inode,
            kind: Some(kind),
            parent,
            owner,
            owner_uid,
            ..FloorRow::default()
        });
    }
}

/// Parent, owner and owner uid of one open namespace; relatives not yet known are kept open.
fn ask(
    fd: &OwnedFd,
    kind: NsKind,
    known: &HashMap<u64, usize>,
    pending: &mut Vec<OwnedFd>,
) -> (Option<u64>, Option<u64>, Option<u32>) {
    let mut keep = |relative: OwnedFd| {
        let inode = nsfs::inode(relative.as_fd()).ok()?;
        if !known.contains_key(&inode) {
            pending.push(relative);
        }
        Some(inode)
    };
    let parent = if matches!(kind, NsKind::User | NsKind::Pid) {
        nsfs::parent(fd.as_fd()).ok().flatten().and_then(&mut keep)
    } else {
        None
    };
    if kind == NsKind::User {
        return (parent, parent, nsfs::owner_uid(fd.as_fd()).ok().flatten());
    }
    let owner = nsfs::owning_userns(fd.as_fd())
        .ok()
        .flatten()
        .and_then(&mut keep);
    (parent, owner, None)
}

/// The floor's table as text (see the module's Output).
pub fn render(rows: &[FloorRow]) -> String {
    let dash = |v: Option<String>| v.unwrap_or_else(|| "-".to_string());
    let mut out = String::new();
    for row in rows {
        let command = row.command.as_ref().map(|c| {
            c.iter()
                .map(|b| match b {
                    0 => ' ',
                    b if b.is_ascii_control() => '?',
                    b => char::from(*b),
                })
                .collect::<String>()
        });
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
            row.inode,
            dash(row.kind.map(|k| k.name().to_string())),
            row.pids.len(),
            dash(row.pids.first().map(i32::to_string)),
            dash(row.uid.map(|u| u.to_string())),
            dash(row.parent.map(|i| i.to_string())),
            dash(row.owner.map(|i| i.to_string())),
            dash(row.owner_uid.map(|u| u.to_string())),
            row.nsfs_mounts,
            dash(command),
        ));
    }
    out
}

#[allow(dead_code)] // compiled into tests/host too, where only `floor` and `render` are used
fn main() -> std::io::Result<()> {
    let proc_dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/proc".to_string());
    let rows = floor(Path::new(&proc_dir))?;
    std::io::stdout().lock().write_all(render(&rows).as_bytes())
}
