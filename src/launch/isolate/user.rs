//! The user a container's command runs as: the image's `User`, or the operator's `--user`, in
//! Docker's forms — `1000`, `1000:1000`, `name`, `name:group`, `name:1000` — resolved like runc
//! against the IMAGE's own `/etc/passwd` and `/etc/group`.
//!
//! Contract:
//! - [`check_spec`] checks the form alone (before anything is made).
//! - [`resolve`] reads the two files beneath the mounted container root, never outside it:
//!   `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)` (the image's symlinks
//!   resolve as if the root were `/`), `O_NONBLOCK` (a FIFO cannot hang the supervisor),
//!   regular files only, at most [`MAX_DB_BYTES`] each. A missing file is an empty database.
//! - Resolution follows runc (`user.GetExecUser`): a numeric user is a uid whether or not
//!   passwd has it (its gid and home then come from the entry, else 0 and `/`); a name must be
//!   in passwd. An explicit group (a gid, or a name that must be in `/etc/group`) replaces the
//!   entry's gid and adds no supplementary groups; without one, every group of `/etc/group`
//!   listing the user's name is added. The primary gid is always the first of the groups.
//!   No user at all is uid 0 (`root`'s entry gives home and groups, as in Docker).
//! - Ids above 2^31 - 1 (runc's limit) and, with a user namespace, ids it does not map are
//!   refused; an unknown name is [`LaunchError::Invalid`] (the operator's to fix: exit 2).

use std::ffi::CStr;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use rustix::fs::{Mode, OFlags, ResolveFlags};

use crate::launch::error::LaunchError;

/// The largest uid or gid accepted (runc's: 2^31 - 1).
pub const MAX_ID: u32 = i32::MAX as u32;

/// The most bytes read of the image's `/etc/passwd` or `/etc/group` (8 MiB: far above any
/// real system's, small enough for the supervisor's memory).
pub const MAX_DB_BYTES: u64 = 8 << 20;

/// The kernel's limit on supplementary groups (`NGROUPS_MAX`).
const MAX_GROUPS: usize = 65536;

/// Who the command runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecUser {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups, the primary gid first, no duplicates.
    pub groups: Vec<u32>,
    /// `HOME` when the environment sets none: the passwd entry's, else `/`.
    pub home: String,
}

/// A user the container was asked to run as, and the option it came from (for messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRequest {
    /// `user[:group]`.
    pub spec: String,
    /// `--user`, or `the image's User`.
    pub option: String,
}

/// Checks the form of `user[:group]`: one or two non-empty parts of printable characters
/// without `:` or whitespace; numeric parts within [`MAX_ID`].
pub fn check_spec(spec: &str) -> Result<(), String> {
    let mut parts = spec.splitn(2, ':');
    let user = parts.next().unwrap_or_default();
    let group = parts.next();
    for part in std::iter::once(user).chain(group) {
        if part.is_empty() {
            return Err("use USER, USER:GROUP, UID or UID:GID (no empty part)".into());
        }
        if part.len() > 256 || part.contains(':') {
            return Err("use USER, USER:GROUP, UID or UID:GID".into());
        }
        if part.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err("a user or group name has no spaces or control characters".into());
        }
        numeric(part)?;
    }
    Ok(())
}

/// `Some(id)` for an all-digit part within range, `None` for a name.
fn numeric(part: &str) -> Result<Option<u32>, String> {
    if !part.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    match part.parse::<u32>() {
        Ok(id) if id <= MAX_ID => Ok(Some(id)),
        _ => Err(format!("ids go up to {MAX_ID}")),
    }
}

/// One `/etc/passwd` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Passwd {
    name: String,
    uid: u32,
    gid: u32,
    home: String,
}

/// One `/etc/group` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Group {
    name: String,
    gid: u32,
    members: Vec<String>,
}

fn entries(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split(':').collect())
}

fn id_field(field: Option<&&str>) -> Option<u32> {
    field?.trim().parse().ok().filter(|id| *id <= MAX_ID)
}

/// `name:password:uid:gid:gecos:home:shell`; lines without a name or valid ids are skipped.
fn parse_passwd(text: &str) -> Vec<Passwd> {
    entries(text)
        .filter_map(|f| {
            Some(Passwd {
                name: f.first().filter(|n| !n.is_empty())?.to_string(),
                uid: id_field(f.get(2))?,
                gid: id_field(f.get(3))?,
                home: f.get(5).map(|h| h.to_string()).unwrap_or_default(),
            })
        })
        .collect()
}

/// `name:password:gid:member,member`.
fn parse_group(text: &str) -> Vec<Group> {
    entries(text)
        .filter_map(|f| {
            Some(Group {
                name: f.first().filter(|n| !n.is_empty())?.to_string(),
                gid: id_field(f.get(2))?,
                members: f
                    .get(3)
                    .map(|m| {
                        m.split(',')
                            .map(str::trim)
                            .filter(|m| !m.is_empty())
                            .map(String::from)
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        })
        .collect()
}

/// Resolves `spec` (`None`: root) against the two files' text (`None`: the file is absent).
/// The error is the hint for the operator.
fn resolve_in(
    spec: Option<&str>,
    passwd: Option<&str>,
    group: Option<&str>,
) -> Result<ExecUser, String> {
    let spec = spec.unwrap_or("0");
    check_spec(spec)?;
    let (user_part, group_part) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let users = parse_passwd(passwd.unwrap_or_default());
    let wanted_uid = numeric(user_part)?;
    let entry = match wanted_uid {
        Some(uid) => users.iter().find(|u| u.uid == uid),
        None => users.iter().find(|u| u.name == user_part),
    };
    let (uid, mut gid, home, name) = match (wanted_uid, entry) {
        (_, Some(e)) => (e.uid, e.gid, e.home.clone(), Some(e.name.as_str())),
        (Some(uid), None) => (uid, 0, String::new(), None),
        (None, None) => {
            return Err(match passwd {
                Some(_) => format!("no user {user_part:?} in the image's /etc/passwd"),
                None => format!(
                    "the image has no /etc/passwd to find user {user_part:?} in: give a uid"
                ),
            });
        }
    };
    let groups_db = parse_group(group.unwrap_or_default());
    let mut groups = Vec::new();
    match group_part {
        Some(g) => {
            gid = match numeric(g)? {
                Some(id) => id,
                None => groups_db
                    .iter()
                    .find(|e| e.name == g)
                    .map(|e| e.gid)
                    .ok_or_else(|| match group {
                        Some(_) => format!("no group {g:?} in the image's /etc/group"),
                        None => format!(
                            "the image has no /etc/group to find group {g:?} in: give a gid"
                        ),
                    })?,
            };
            groups.push(gid);
        }
        None => {
            groups.push(gid);
            if let Some(name) = name {
                for entry in groups_db
                    .iter()
                    .filter(|e| e.members.iter().any(|m| m == name))
                {
                    if !groups.contains(&entry.gid) {
                        groups.push(entry.gid);
                    }
                }
            }
        }
    }
    if groups.len() > MAX_GROUPS {
        return Err(format!(
            "the image's /etc/group puts the user in {} groups; the kernel allows {MAX_GROUPS}",
            groups.len()
        ));
    }
    let home = if home.starts_with('/') && !home.contains('\0') {
        home
    } else {
        "/".into()
    };
    Ok(ExecUser {
        uid,
        gid,
        groups,
        home,
    })
}

/// Resolves `request` (`None`: root) against the image mounted at `rootfs`; with a user
/// namespace of `mapped` ids, every id must be below it.
pub fn resolve(
    rootfs: &Path,
    request: Option<&UserRequest>,
    mapped: Option<u32>,
) -> Result<ExecUser, LaunchError> {
    let (spec, option) = match request {
        Some(r) => (Some(r.spec.as_str()), r.option.as_str()),
        None => (None, "user"),
    };
    let invalid = |hint: String| LaunchError::invalid(option, spec.unwrap_or("root"), hint);
    let root = rustix::fs::open(
        rootfs,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| LaunchError::io("open", rootfs, e.into()))?;
    let passwd = read_db(rootfs, &root, c"etc/passwd")?;
    let group = read_db(rootfs, &root, c"etc/group")?;
    let user = resolve_in(spec, passwd.as_deref(), group.as_deref()).map_err(invalid)?;
    if let Some(count) = mapped {
        let outside = std::iter::once(user.uid)
            .chain(user.groups.iter().copied())
            .find(|id| *id >= count);
        if let Some(id) = outside {
            return Err(invalid(format!(
                "id {id} is outside the user namespace, which maps ids 0 to {}",
                count.saturating_sub(1)
            )));
        }
    }
    Ok(user)
}

/// The text of `name` beneath `root` (see the module contract); `None` when absent.
fn read_db(rootfs: &Path, root: &OwnedFd, name: &CStr) -> Result<Option<String>, LaunchError> {
    let shown = rootfs.join(name.to_string_lossy().as_ref());
    let opened = rustix::fs::openat2(
        root.as_fd(),
        name,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY,
        Mode::empty(),
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS | ResolveFlags::NO_XDEV,
    );
    let fd = match opened {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT | rustix::io::Errno::NOTDIR) => return Ok(None),
        Err(e) => return Err(LaunchError::io("open the image's", &shown, e.into())),
    };
    let mut file = std::fs::File::from(fd);
    let meta = file
        .metadata()
        .map_err(|e| LaunchError::io("stat the image's", &shown, e))?;
    let refuse = |why: &str| {
        LaunchError::io(
            "read the image's",
            &shown,
            std::io::Error::new(std::io::ErrorKind::InvalidData, why.to_string()),
        )
    };
    if !meta.is_file() {
        return Err(refuse("not a regular file"));
    }
    if meta.len() > MAX_DB_BYTES {
        return Err(refuse("larger than 8 MiB"));
    }
    let mut bytes = Vec::new();
    (&mut file)
        .take(MAX_DB_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| LaunchError::io("read the image's", &shown, e))?;
    if bytes.len() as u64 > MAX_DB_BYTES {
        return Err(refuse("larger than 8 MiB"));
    }
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

#[cfg(test)]
mod tests;
