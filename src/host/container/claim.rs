//! Whether a runc/crun state file may be believed about the processes it names.
//!
//! Contract: a state file only root (or the user isotop runs as) could have written is trusted
//! as before. A rootless one (`/run/user/<uid>/{runc,crun}`, [`Writers::User`]) is a claim by
//! that user — the uid owning the directories it sits in, never a uid the file states — and is
//! believed only when the init pid it names is that user's process (real, effective, saved and
//! file-system uids all the user or one of the user's subordinate uids from `/etc/subuid`, i.e.
//! mapped in the user's user namespace) and started when the file says (runc's
//! `init_process_start` / crun's `process-start-time` in clock ticks, exactly; else its
//! `created` time within [`CREATED_TOLERANCE_MS`]). Even then its cgroup paths count only where
//! the init is and the user owns the cgroup directory in every hierarchy that has it (a
//! delegated subtree), so a user cannot pull `/system.slice` into their container; and a
//! descendant of its init joins it only when its uids pass the same check as the init's
//! ([`Checker::admits`]). A state anyone could have written
//! ([`Writers::Anyone`]) is never believed. What does not check out is [`Trust::unverified`]
//! with the reason: shown, never acted on (`control::guard` refuses it).

use foldhash::HashMap;
use std::os::unix::fs::MetadataExt;

use serde::{Deserialize, Serialize};

use super::assign::is_at_or_below;
use crate::host::HostRoot;
use crate::host::cgroup::{CgroupLayout, detect_layout};
use crate::host::process::{Process, clock_ticks_per_second};
use crate::host::runtime::file::{Cap, Writers, read_capped};
use crate::host::runtime::oci::OciState;

/// How far a state's `created` time may be from its init's start, in milliseconds (10 s):
/// runc and crun stamp `created` after the init has forked and run its setup and hooks
/// (seconds on a loaded host), and the boot time the start is measured from (`/proc/stat`
/// `btime`) is whole seconds. Only pid reuse has to be told apart, and a pid is reused only
/// after the kernel has handed out every other pid up to `pid_max` — far longer than 10 s on
/// any host this runs on. Used only when the file has no start ticks (runc and crun write
/// them).
pub const CREATED_TOLERANCE_MS: i64 = 10_000;

/// Marks the name of an unverified container in tables (`ls`, the dashboard).
pub const UNVERIFIED_MARK: &str = "!";

/// What isotop believes about the files that named a container (`ls --json`, `inspect`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trust {
    /// False when a file another user can write names this container and the claim did not
    /// check out: shown, never acted on.
    pub verified: bool,
    /// Why it is not verified; null when it is.
    pub unverified_reason: Option<String>,
    /// The user whose own files name this container (rootless runtimes); null for root's.
    pub claimed_by_uid: Option<u32>,
}

impl Trust {
    /// Named by root's files (or by the cgroup path, which the kernel gives).
    pub fn root() -> Trust {
        Trust {
            verified: true,
            unverified_reason: None,
            claimed_by_uid: None,
        }
    }

    /// A rootless claim that checked out.
    pub fn verified_for(uid: u32) -> Trust {
        Trust {
            verified: true,
            unverified_reason: None,
            claimed_by_uid: Some(uid),
        }
    }

    pub fn unverified(reason: String, uid: Option<u32>) -> Trust {
        Trust {
            verified: false,
            unverified_reason: Some(reason),
            claimed_by_uid: uid,
        }
    }

    /// The reason acts refuse this container, if any.
    pub fn refusal(&self) -> Option<&str> {
        if self.verified {
            None
        } else {
            Some(
                self.unverified_reason
                    .as_deref()
                    .unwrap_or("its claim is unverified"),
            )
        }
    }
}

/// The trust of a state whose init is not running: a stranger's file cannot be checked
/// against anything, so its cgroup paths are not believed either.
pub fn stopped_trust(state: &OciState) -> Trust {
    record_trust(&state.writers, &state.source)
}

/// The trust of a process-less record at `source` (a runc state, a Podman index) that
/// `writers` could have written: root's is believed, a stranger's cannot be checked.
pub fn record_trust(writers: &Writers, source: &std::path::Path) -> Trust {
    match writers {
        Writers::Trusted => Trust::root(),
        Writers::User(uid) => Trust::unverified(
            format!(
                "{} belongs to uid {uid} and no running process of that user checks it out",
                source.display()
            ),
            Some(*uid),
        ),
        Writers::Anyone(why) => Trust::unverified(format!("{}: {why}", source.display()), None),
    }
}

/// Checks claims against the host, reading `/etc/subuid`, the users, the boot time and the
/// cgroup layout only once, and only when a rootless claim needs them.
pub struct Checker<'r> {
    root: &'r HostRoot,
    subuids: Option<SubIds>,
    boot_ms: Option<Option<i64>>,
    layout: Option<Option<CgroupLayout>>,
}

impl<'r> Checker<'r> {
    pub fn new(root: &'r HostRoot) -> Checker<'r> {
        Checker {
            root,
            subuids: None,
            boot_ms: None,
            layout: None,
        }
    }

    /// The trust of `state`, whose init (if running, with a matching start when the file
    /// records one) is `init`.
    pub fn check(&mut self, state: &OciState, init: Option<&Process>) -> Trust {
        let uid = match &state.writers {
            Writers::Trusted => return Trust::root(),
            Writers::Anyone(why) => {
                return Trust::unverified(format!("{}: {why}", state.source.display()), None);
            }
            Writers::User(uid) => *uid,
        };
        let source = state.source.display();
        let Some(pid) = state.init_pid else {
            return Trust::unverified(format!("{source} (uid {uid}) names no init pid"), Some(uid));
        };
        let Some(init) = init else {
            return stopped_trust(state);
        };
        let uids = match read_uids(self.root, pid) {
            Some(uids) => uids,
            None => {
                return Trust::unverified(
                    format!("{source} (uid {uid}) names pid {pid}, whose owner cannot be read"),
                    Some(uid),
                );
            }
        };
        if let Some(stranger) = uids.iter().find(|u| !self.allowed(uid, **u)) {
            return Trust::unverified(
                format!(
                    "{source} belongs to uid {uid} but names pid {pid}, run by uid {stranger} \
                     (uids {}): not that user's nor one of its subordinate uids",
                    uids.map(|u| u.to_string()).join("/")
                ),
                Some(uid),
            );
        }
        if let Some(mismatch) = self.start_mismatch(state, init) {
            return Trust::unverified(
                format!("{source} (uid {uid}) names pid {pid}: {mismatch}"),
                Some(uid),
            );
        }
        Trust::verified_for(uid)
    }

    /// The cgroup paths of a verified rootless `state` that it may claim: those holding its
    /// init (in some hierarchy) whose directory the user owns in every hierarchy that has it
    /// (a path the user was given in one hierarchy says nothing about the same path, root's,
    /// in another).
    pub fn owned_cgroup_paths(
        &mut self,
        state: &OciState,
        uid: u32,
        init: &Process,
    ) -> Vec<String> {
        if self.layout.is_none() {
            self.layout = Some(detect_layout(self.root).ok());
        }
        let Some(Some(layout)) = &self.layout else {
            return Vec::new();
        };
        let owner_of = |dir: Option<std::path::PathBuf>| {
            dir.and_then(|d| std::fs::symlink_metadata(d).ok())
                .filter(|meta| meta.is_dir())
                .map(|meta| meta.uid())
        };
        let mut owned = Vec::new();
        for path in &state.cgroup_paths {
            let holds_init_in_own_dir = init.cgroups.iter().any(|m| {
                is_at_or_below(&m.path, path)
                    && owner_of(layout.hierarchy_for(m).and_then(|h| h.cgroup_dir(path)))
                        == Some(uid)
            });
            let someone_elses = layout
                .hierarchies
                .iter()
                .any(|h| owner_of(h.cgroup_dir(path)).is_some_and(|owner| owner != uid));
            if holds_init_in_own_dir && !someone_elses {
                owned.push(path.clone());
            }
        }
        owned
    }

    /// True when process `pid` may belong to the container `state` names: always for a
    /// root-written state; for a user's, when every uid of the process passes the same check
    /// as the init (the user or one of its subordinate uids). A setuid child of a rootless
    /// init, now another user's, is not the user's to claim.
    pub fn admits(&mut self, state: &OciState, pid: i32) -> bool {
        let Writers::User(owner) = state.writers else {
            return matches!(state.writers, Writers::Trusted);
        };
        read_uids(self.root, pid).is_some_and(|uids| uids.iter().all(|u| self.allowed(owner, *u)))
    }

    /// True when host uid `seen` may run the containers of user `owner`.
    fn allowed(&mut self, owner: u32, seen: u32) -> bool {
        if seen == owner {
            return true;
        }
        let root = self.root;
        self.subuids
            .get_or_insert_with(|| SubIds::read(root))
            .contains(owner, seen)
    }

    /// Why the init's start does not match the state's, or `None` when it does.
    fn start_mismatch(&mut self, state: &OciState, init: &Process) -> Option<String> {
        if let Some(ticks) = state.init_start_ticks {
            return (ticks != init.start_ticks).then(|| {
                format!(
                    "the file says it started at tick {ticks}, the process at tick {} (its pid \
                     was reused)",
                    init.start_ticks
                )
            });
        }
        let Some(created) = state.created_ms else {
            return Some("the file records no start time to check the process against".into());
        };
        let root = self.root;
        let Some(boot) = *self.boot_ms.get_or_insert_with(|| boot_ms(root)) else {
            return Some("the boot time (/proc/stat btime) is unreadable".into());
        };
        let ticks = clock_ticks_per_second().max(1);
        let started = boot + (init.start_ticks.saturating_mul(1000) / ticks) as i64;
        let off = (started - created).abs();
        (off > CREATED_TOLERANCE_MS).then(|| {
            format!(
                "the process started {:.1} s away from the file's `created` time (more than {} s)",
                off as f64 / 1000.0,
                CREATED_TOLERANCE_MS / 1000
            )
        })
    }
}

/// Real, effective, saved and file-system uids of `pid` (`/proc/<pid>/status` `Uid:`).
fn read_uids(root: &HostRoot, pid: i32) -> Option<[u32; 4]> {
    let bytes = read_capped(&root.pid_dir(pid).join("status"), Cap::LINE).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let line = text.lines().find_map(|l| l.strip_prefix("Uid:"))?;
    let values: Vec<u32> = line
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    values.try_into().ok()
}

/// Boot time in milliseconds since the Unix epoch (`/proc/stat` `btime`, whole seconds).
fn boot_ms(root: &HostRoot) -> Option<i64> {
    let bytes = read_capped(&root.proc.join("stat"), Cap::STATE).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let seconds: i64 = text
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    seconds.checked_mul(1000)
}

/// Subordinate uid ranges (`/etc/subuid`: `user:first:count`, user by name or uid).
#[derive(Debug, Clone, Default)]
pub struct SubIds {
    ranges: HashMap<u32, Vec<(u64, u64)>>,
}

impl SubIds {
    /// Reads `/etc/subuid` and the user names it may use; missing files give no ranges.
    pub fn read(root: &HostRoot) -> SubIds {
        let text = read_capped(&root.etc.join("subuid"), Cap::STATE)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let passwd = read_capped(&root.etc.join("passwd"), Cap::INDEX)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        SubIds::parse(&text, &passwd)
    }

    /// Parses `subuid` lines, resolving names through `passwd`.
    pub fn parse(subuid: &str, passwd: &str) -> SubIds {
        let by_name: HashMap<&str, u32> = passwd
            .lines()
            .filter_map(|line| {
                let mut fields = line.split(':');
                let name = fields.next()?;
                let uid = fields.nth(1)?.parse().ok()?;
                Some((name, uid))
            })
            .collect();
        let uid_of =
            |who: &str| -> Option<u32> { who.parse().ok().or_else(|| by_name.get(who).copied()) };
        let mut ranges: HashMap<u32, Vec<(u64, u64)>> = HashMap::default();
        for line in subuid.lines() {
            let mut fields = line.trim().split(':');
            let (Some(who), Some(first), Some(count)) =
                (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            let (Some(uid), Ok(first), Ok(count)) = (uid_of(who), first.parse(), count.parse())
            else {
                continue;
            };
            ranges.entry(uid).or_default().push((first, count));
        }
        SubIds { ranges }
    }

    /// True when host uid `seen` is one of `owner`'s subordinate uids.
    pub fn contains(&self, owner: u32, seen: u32) -> bool {
        let seen = u64::from(seen);
        self.ranges.get(&owner).is_some_and(|ranges| {
            ranges
                .iter()
                .any(|(first, count)| seen >= *first && seen < first.saturating_add(*count))
        })
    }
}

#[cfg(test)]
mod tests;
