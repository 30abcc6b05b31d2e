//! A cgroup path as the target of an act, the way the kernel allows it: `isotop limit /cpudemo
//! --cpus 0.1` writes that cgroup's files, whatever runs in it — the operator named the cgroup,
//! so every process in it is the target (no container, no ownership rule).
//!
//! Contract: [`parse`] takes `/x` or `cgroup:/x` and gives the normalised path (`/a/b`: no
//! empty, `.` or `..` component); a target is labelled `cgroup:/a/b` in the undo journal, the
//! pending reverts and the audit log ([`label`]), so it never collides with a container id.
//! [`CgroupTarget::resolve`] refuses, with the reason, the root cgroup, isotop's own cgroups
//! and their ancestors (an act there would reach isotop itself), and the cgroups of the host's
//! PID 1 and their ancestors; then it finds the cgroup in every mounted hierarchy that has it
//! (v1: each controller's; v2: the one tree; hybrid: both). Right before each write an act
//! re-reads the cgroup's processes (with its descendants'): PID 1 or isotop in it refuses
//! ([`check_site`]). A cgroup of a systemd unit (`.service`, `.scope`, `.slice` on a host run
//! by systemd) gets a note: systemd may rewrite it, `systemctl set-property` makes it last.
//! [`Subject`] is who an undo or timed revert acts for: a container (`control::owned`) or a
//! cgroup target.

pub mod acts;

use super::error::ControlError;
use super::guard;
use super::kill::cgroup_pids;
use super::owned::{self, Owner, Site};
use crate::host::HostRoot;
use crate::host::cgroup::CgroupLayout;
use crate::host::process::read_memberships;

/// The prefix that forces a target to be a cgroup path (and labels one in records).
pub const PREFIX: &str = "cgroup:";

/// The normalised cgroup path `target` names (`/x` or `cgroup:/x`); `None` when it names no
/// cgroup (an id, a name, a pid); an error for a path that is not one.
pub fn parse(target: &str) -> Option<Result<String, ControlError>> {
    let target = target.trim();
    let forced = target.strip_prefix(PREFIX);
    let path = forced.unwrap_or(target);
    if forced.is_none() && !path.starts_with('/') {
        return None;
    }
    Some(normalise(path))
}

fn normalise(path: &str) -> Result<String, ControlError> {
    let invalid = |hint: &str| ControlError::InvalidValue {
        what: "cgroup path".into(),
        value: path.to_string(),
        hint: hint.into(),
    };
    if !path.starts_with('/') {
        return Err(invalid(
            "a cgroup path starts with `/`, as `/proc/PID/cgroup` and `isotop cgroups` show it",
        ));
    }
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" => {}
            "." | ".." => return Err(invalid("`.` and `..` are not allowed in a cgroup path")),
            p if p.chars().any(char::is_control) => {
                return Err(invalid("a cgroup path has no control characters"));
            }
            p => parts.push(p),
        }
    }
    Ok(format!("/{}", parts.join("/")))
}

/// How a cgroup target is named in the journal, the pending reverts and the audit log.
pub fn label(path: &str) -> String {
    format!("{PREFIX}{path}")
}

/// True when `path` is `base` or below it.
fn at_or_below(path: &str, base: &str) -> bool {
    base == "/" || path == base || path.starts_with(&format!("{base}/"))
}

/// Why cgroup `path` may never be acted on, or `None`: the root, isotop's own cgroups and
/// their ancestors, PID 1's cgroups and their ancestors.
pub fn refusal(root: &HostRoot, path: &str) -> Option<String> {
    if path == "/" {
        return Some(
            "it is the root cgroup: an act there would reach every process of the host".into(),
        );
    }
    if let Some(own) = guard::own_cgroup_paths(root)
        .into_iter()
        .find(|own| at_or_below(own, path))
    {
        return Some(if own == path {
            "it is isotop's own cgroup: isotop never acts on itself".to_string()
        } else {
            format!("isotop itself runs below it (in {own}): the act would reach isotop too")
        });
    }
    // `/proc/1/cgroup` is readable where `/proc/1/ns` is not (this project's hosts); read as
    // every process's is, so inside a cgroup namespace its paths are the host's too.
    let init = read_memberships(root, 1).unwrap_or_default();
    if let Some(p1) = init
        .iter()
        .map(|m| m.path.trim_end_matches('/'))
        .find(|p1| !p1.is_empty() && at_or_below(p1, path))
    {
        return Some(format!(
            "the host's PID 1 (the machine's init) is in it (in {p1}): isotop never acts on it"
        ));
    }
    None
}

/// A cgroup path that may be acted on, and its directory in every hierarchy that has it.
#[derive(Debug, Clone)]
pub struct CgroupTarget {
    /// `/a/b`.
    pub path: String,
    /// One per mounted hierarchy where the cgroup exists, named by the hierarchy
    /// (`cpu,cpuacct`, `unified`).
    pub sites: Vec<Site>,
    /// The systemd unit the cgroup is, when systemd manages it (see [`systemd_unit`]).
    pub unit: Option<String>,
}

impl CgroupTarget {
    /// Refusals first (see [`refusal`]), then the cgroup's directories; refused when no
    /// mounted hierarchy has it.
    pub fn resolve(
        root: &HostRoot,
        layout: &CgroupLayout,
        path: &str,
    ) -> Result<CgroupTarget, ControlError> {
        let path = normalise(path)?;
        if let Some(reason) = refusal(root, &path) {
            return Err(refused(&path, reason));
        }
        let sites: Vec<Site> = layout
            .hierarchies
            .iter()
            .filter_map(|h| {
                let dir = h.cgroup_dir(&path)?;
                dir.join("cgroup.procs").exists().then(|| Site {
                    controller: h.label(),
                    path: path.clone(),
                    dir,
                })
            })
            .collect();
        if sites.is_empty() {
            return Err(ControlError::InvalidValue {
                what: "cgroup".into(),
                value: path,
                hint: "no mounted hierarchy has it (see `isotop cgroups` for the tree)".into(),
            });
        }
        let unit = systemd_unit(root, layout, &path);
        Ok(CgroupTarget { path, sites, unit })
    }

    /// `cgroup:/a/b`.
    pub fn label(&self) -> String {
        label(&self.path)
    }
}

fn refused(path: &str, reason: String) -> ControlError {
    ControlError::Refused {
        target: label(path),
        reason,
    }
}

/// Refuses unless `site` of cgroup target `path` may be written right now: the static
/// refusals again, and no PID 1 or isotop among the processes it (and its descendants) holds.
pub fn check_site(root: &HostRoot, path: &str, site: &Site) -> Result<(), ControlError> {
    if site.path != path {
        return Err(refused(
            path,
            format!("{} is not in this cgroup", site.dir.display()),
        ));
    }
    if let Some(reason) = refusal(root, path) {
        return Err(refused(path, reason));
    }
    check_listed(path, site, &cgroup_pids(&site.dir)?)
}

/// Refuses when `pids` (a listing of `site`) hold the host's PID 1 or isotop itself.
pub fn check_listed(path: &str, site: &Site, pids: &[i32]) -> Result<(), ControlError> {
    let me = std::process::id() as i32;
    let reason = if pids.contains(&1) {
        "the host's PID 1 (the machine's init)"
    } else if pids.contains(&me) {
        "isotop itself"
    } else {
        return Ok(());
    };
    Err(refused(
        path,
        format!(
            "{} cgroup {} now holds {reason}: stopped there",
            site.controller, site.path
        ),
    ))
}

/// The systemd unit cgroup `path` is (its deepest `.service`, `.scope` or `.slice` component),
/// when the host runs systemd (`/run/systemd/system`, as `sd_booted` checks) or mounts its
/// `name=systemd` hierarchy.
pub fn systemd_unit(root: &HostRoot, layout: &CgroupLayout, path: &str) -> Option<String> {
    let managed = root.run.join("systemd/system").is_dir()
        || layout.hierarchies.iter().any(|h| h.carries("name=systemd"));
    if !managed {
        return None;
    }
    path.rsplit('/')
        .find(|p| {
            [".service", ".scope", ".slice"]
                .iter()
                .any(|s| p.ends_with(s))
        })
        .map(str::to_string)
}

/// The note a change to a systemd unit's cgroup gets: `settings` are the unit properties that
/// would make it last (`CPUQuota=10%`).
pub fn systemd_note(unit: &str, settings: &[String]) -> String {
    let how = if settings.is_empty() {
        format!("`systemctl set-property {unit} …`")
    } else {
        format!("`systemctl set-property {unit} {}`", settings.join(" "))
    };
    format!(
        "this cgroup is systemd's unit {unit}: systemd may rewrite its files (on daemon-reload, \
         restart or its own set-property); to make the change last, use {how}"
    )
}

/// Who an undo or a timed revert acts for: the container its record names, or a cgroup target
/// (`cgroup:/x`).
#[derive(Debug, Clone)]
pub enum Subject {
    Container(Owner),
    Cgroup(String),
}

impl Subject {
    /// The subject of a record's `target`: a cgroup label, else the running container with
    /// that id (looked up by a fresh scan; a gone one owns nothing).
    pub fn resolve(root: &HostRoot, target: &str) -> Result<Subject, ControlError> {
        match target.strip_prefix(PREFIX) {
            Some(path) => Ok(Subject::Cgroup(normalise(path)?)),
            None => Ok(Subject::Container(Owner::resolve(root, target)?)),
        }
    }

    /// `name (id)` or `cgroup:/x`, as refusals name it.
    pub fn label(&self) -> String {
        match self {
            Subject::Container(owner) => owner.label.clone(),
            Subject::Cgroup(path) => label(path),
        }
    }

    /// Refuses unless every site may be written for this subject right now (for a container,
    /// `control::owned`'s rule; for a cgroup, [`check_site`] on each).
    pub fn check_all(&self, root: &HostRoot, sites: &[Site]) -> Result<(), ControlError> {
        match self {
            Subject::Container(owner) => owned::check_all(root, owner, sites),
            Subject::Cgroup(path) => sites
                .iter()
                .try_for_each(|site| check_site(root, path, site)),
        }
    }
}

#[cfg(test)]
mod tests;
