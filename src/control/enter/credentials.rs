//! The credentials an entered command gets: the container init's, as `docker exec` gives a
//! command the container's own. Read from `/proc/PID/status` — uid and gid (real, effective,
//! saved, file system), supplementary groups, the five capability sets and `NoNewPrivs` —
//! and, when the command joins the init's user namespace, translated through its `uid_map` and
//! `gid_map` into the ids seen inside it.
//!
//! Contract. Everything here runs in isotop before the fork and is pure: the parsers take the
//! text the kernel wrote and refuse anything odd (a missing field, a number out of range, a
//! uid of 4294967295, which `setresuid` would read as "unchanged") with the field and value,
//! never a panic. [`confine`] turns the init's credentials into what the child sets
//! ([`Confinement`]); [`exec_sets`] is the bit arithmetic the child does itself after
//! `capget` (no allocation), kept here so it is tested. The rule throughout: the command never
//! holds a capability the init lacks, also after its `execve` (see [`exec_sets`]).

use std::path::PathBuf;

use super::seccomp::SeccompProgram;

/// At most this many supplementary groups (the kernel's `NGROUPS_MAX`).
const MAX_GROUPS: usize = 65_536;

/// The five capability sets of a process, one bit per capability (`CapInh` … `CapAmb`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct CapSets {
    pub inheritable: u64,
    pub permitted: u64,
    pub effective: u64,
    pub bounding: u64,
    pub ambient: u64,
}

/// A process's credentials as its `status` file shows them (ids in the reader's user
/// namespace).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ProcessCredentials {
    /// Real, effective, saved and file-system uid (`Uid:`).
    pub uid: [u32; 4],
    /// Real, effective, saved and file-system gid (`Gid:`).
    pub gid: [u32; 4],
    /// Supplementary groups (`Groups:`), in the kernel's order.
    pub groups: Vec<u32>,
    pub caps: CapSets,
    /// `NoNewPrivs: 1`.
    pub no_new_privs: bool,
}

/// What is wrong with a kernel file's text (the caller adds the path).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum FieldFault {
    #[error("no `{field}` line")]
    Missing { field: &'static str },
    #[error("`{field}` reads {value:?}, expected {expected}")]
    Malformed {
        field: &'static str,
        value: String,
        expected: &'static str,
    },
}

/// Credentials that could not be read or used; each names the file.
#[derive(Debug, thiserror::Error)]
pub(super) enum CredentialsError {
    #[error(
        "cannot use {path}: {fault} (the kernel wrote something isotop does not understand; `--privileged` enters without copying the container's credentials)"
    )]
    Parse { path: PathBuf, fault: FieldFault },
    #[error(
        "{what} {id} of the container's init has no mapping in its user namespace ({path}): it cannot be given to the command there (`--privileged` enters as the namespace's root)"
    )]
    Unmapped {
        what: &'static str,
        id: u32,
        path: PathBuf,
    },
}

/// Parses a `/proc/PID/status` text into the credential fields.
pub(super) fn parse_status(text: &str) -> Result<ProcessCredentials, FieldFault> {
    let line = |field: &'static str| -> Result<&str, FieldFault> {
        let mut found = text.lines().filter_map(|l| {
            l.strip_prefix(field)
                .and_then(|rest| rest.strip_prefix(':'))
        });
        let first = found.next().ok_or(FieldFault::Missing { field })?;
        if found.next().is_some() {
            return Err(malformed(
                field,
                text_of_field(text, field),
                "one such line",
            ));
        }
        Ok(first.trim())
    };
    let ids = |field: &'static str| -> Result<[u32; 4], FieldFault> {
        let value = line(field)?;
        let bad = || malformed(field, value, "four ids (real, effective, saved, fs)");
        let parsed: Vec<u32> = value
            .split_whitespace()
            .map(parse_id)
            .collect::<Option<_>>()
            .ok_or_else(bad)?;
        <[u32; 4]>::try_from(parsed).map_err(|_| bad())
    };
    let cap = |field: &'static str| -> Result<u64, FieldFault> {
        let value = line(field)?;
        if value.is_empty() || value.len() > 16 || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(malformed(field, value, "at most 16 hex digits"));
        }
        u64::from_str_radix(value, 16).map_err(|_| malformed(field, value, "a hex mask"))
    };
    let groups_text = line("Groups")?;
    let groups: Vec<u32> = groups_text
        .split_whitespace()
        .map(parse_id)
        .collect::<Option<_>>()
        .ok_or_else(|| malformed("Groups", groups_text, "group ids"))?;
    if groups.len() > MAX_GROUPS {
        return Err(malformed(
            "Groups",
            &format!("{} groups", groups.len()),
            "at most 65536 groups",
        ));
    }
    let no_new_privs = match line("NoNewPrivs")? {
        "0" => false,
        "1" => true,
        other => return Err(malformed("NoNewPrivs", other, "0 or 1")),
    };
    Ok(ProcessCredentials {
        uid: ids("Uid")?,
        gid: ids("Gid")?,
        groups,
        caps: CapSets {
            inheritable: cap("CapInh")?,
            permitted: cap("CapPrm")?,
            effective: cap("CapEff")?,
            bounding: cap("CapBnd")?,
            ambient: cap("CapAmb")?,
        },
        no_new_privs,
    })
}

/// One range of a `uid_map` / `gid_map`: `count` ids from `inside` map to `outside`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct IdRange {
    inside: u32,
    outside: u32,
    count: u32,
}

/// A user namespace's `uid_map` or `gid_map` as read from isotop's (an ancestor) namespace:
/// the outside column is in isotop's ids, the ids `status` shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct IdMap {
    ranges: Vec<IdRange>,
}

impl IdMap {
    /// Parses `inside outside count` lines (at most 340, the kernel's limit).
    pub(super) fn parse(text: &str, field: &'static str) -> Result<IdMap, FieldFault> {
        let mut ranges = Vec::new();
        for l in text.lines().filter(|l| !l.trim().is_empty()) {
            let bad = || malformed(field, l.trim(), "lines of `inside outside count`");
            let numbers: Vec<u32> = l
                .split_whitespace()
                .map(|n| n.parse().ok())
                .collect::<Option<_>>()
                .ok_or_else(bad)?;
            let [inside, outside, count] = <[u32; 3]>::try_from(numbers).map_err(|_| bad())?;
            let fits = |start: u32| u64::from(start) + u64::from(count) <= 1 << 32;
            if count == 0 || !fits(inside) || !fits(outside) {
                return Err(bad());
            }
            ranges.push(IdRange {
                inside,
                outside,
                count,
            });
        }
        if ranges.len() > 340 {
            return Err(malformed(
                field,
                &format!("{} lines", ranges.len()),
                "at most 340 lines",
            ));
        }
        Ok(IdMap { ranges })
    }

    /// The id inside the namespace for `outside` (as `status` shows it), if mapped.
    pub(super) fn to_inside(&self, outside: u32) -> Option<u32> {
        self.ranges.iter().find_map(|r| {
            let offset = outside.checked_sub(r.outside)?;
            (offset < r.count).then(|| r.inside + offset)
        })
    }
}

/// Where the command runs relative to the init's user namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum UserNsView {
    /// isotop's own: `status` ids and capabilities apply as they are.
    Shared,
    /// The init's, which the command joins: ids translated through these maps (with the files
    /// they came from, for messages).
    Entered {
        uid_map: IdMap,
        gid_map: IdMap,
        uid_map_path: PathBuf,
        gid_map_path: PathBuf,
    },
    /// The init's differs but is not joined (`--ns` without `user`): the command stays in
    /// isotop's, where the init holds no capability at all (a namespace's capabilities end at
    /// its border), so it gets none; ids stay isotop's view of the init's.
    NotEntered,
}

/// What the entering child sets before exec, prepared in isotop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Confinement {
    /// Real, effective, saved, fs uid in the namespace the command runs in.
    pub uid: [u32; 4],
    /// Real, effective, saved, fs gid in the namespace the command runs in.
    pub gid: [u32; 4],
    /// Supplementary groups in isotop's ids: set before the user namespace is joined, where
    /// `setgroups` may be denied and some groups may have no mapping.
    pub groups: Vec<nix::libc::gid_t>,
    /// The init's sets as seen from where the command runs (all but the bounding set empty
    /// when that is outside the init's user namespace).
    pub caps: CapSets,
    pub no_new_privs: bool,
    /// isotop's own bounding set: what can be kept at all (the bounding set only shrinks).
    pub own_bounding: u64,
    /// A seccomp filter to install last (isotop's own containers).
    pub seccomp: Option<SeccompProgram>,
}

/// The confinement for a command entering beside an init with `init` credentials.
pub(super) fn confine(
    init: &ProcessCredentials,
    own_bounding: u64,
    view: &UserNsView,
    seccomp: Option<SeccompProgram>,
) -> Result<Confinement, CredentialsError> {
    let (uid, gid, caps) = match view {
        UserNsView::Shared => (init.uid, init.gid, init.caps),
        UserNsView::NotEntered => (
            init.uid,
            init.gid,
            CapSets {
                bounding: init.caps.bounding,
                ..CapSets::default()
            },
        ),
        UserNsView::Entered {
            uid_map,
            gid_map,
            uid_map_path,
            gid_map_path,
        } => {
            let translate = |ids: [u32; 4], map: &IdMap, what, path: &PathBuf| {
                let mut inside = [0u32; 4];
                for (slot, id) in inside.iter_mut().zip(ids) {
                    *slot = map
                        .to_inside(id)
                        .ok_or_else(|| CredentialsError::Unmapped {
                            what,
                            id,
                            path: path.clone(),
                        })?;
                }
                Ok::<_, CredentialsError>(inside)
            };
            (
                translate(init.uid, uid_map, "uid", uid_map_path)?,
                translate(init.gid, gid_map, "gid", gid_map_path)?,
                init.caps,
            )
        }
    };
    Ok(Confinement {
        uid,
        gid,
        groups: init.groups.clone(),
        caps,
        no_new_privs: init.no_new_privs,
        own_bounding,
        seccomp,
    })
}

/// The sets the child gives the command, from the init's `wanted` sets, the permitted set it
/// holds (`capget`, before dropping anything) and isotop's bounding set; and whether root's
/// exec fix-up must be switched off (`SECBIT_NOROOT`).
///
/// No set can grow: permitted within what the child holds, inheritable within the bounding
/// set (capset refuses more), effective and ambient within both. Then exec: a root command
/// (real or effective uid 0) gets `bounding | inheritable` as permitted, any other only its
/// ambient set. When that would exceed the init's permitted set — an init that dropped
/// capabilities after its own exec, or one whose capabilities end at a user namespace's
/// border — the fix-up is switched off and locked, so the command keeps its ambient set
/// only: fewer capabilities than the init rather than more. Must stay allocation-free (the
/// child calls it after fork).
pub(super) fn exec_sets(
    wanted: CapSets,
    uid: [u32; 4],
    held: u64,
    own_bounding: u64,
) -> (CapSets, bool) {
    let bounding = wanted.bounding & own_bounding;
    let inheritable = wanted.inheritable & own_bounding;
    let permitted = wanted.permitted & held;
    let sets = CapSets {
        inheritable,
        permitted,
        effective: wanted.effective & permitted,
        bounding,
        ambient: wanted.ambient & permitted & inheritable,
    };
    let root = uid[0] == 0 || uid[1] == 0;
    let after_exec = if root {
        bounding | inheritable | sets.ambient
    } else {
        sets.ambient
    };
    (sets, after_exec & !permitted != 0)
}

fn parse_id(text: &str) -> Option<u32> {
    // 4294967295 is (uid_t)-1: "leave unchanged" to setresuid, never a real id.
    text.parse::<u32>().ok().filter(|id| *id != u32::MAX)
}

fn malformed(field: &'static str, value: &str, expected: &'static str) -> FieldFault {
    let mut value = value.to_string();
    if value.len() > 80 {
        let mut end = 80;
        while !value.is_char_boundary(end) {
            end -= 1;
        }
        value.truncate(end);
        value.push('…');
    }
    FieldFault::Malformed {
        field,
        value,
        expected,
    }
}

/// The first `field:` line's value, for a message about a repeated field.
fn text_of_field<'t>(text: &'t str, field: &str) -> &'t str {
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .unwrap_or("")
        .trim()
}

#[cfg(test)]
mod tests;
