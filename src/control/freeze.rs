//! Freezing and thawing a container's cgroup: v1 `freezer.state` (`FROZEN`/`THAWED`, passing
//! through `FREEZING`), v2 `cgroup.freeze` (`1`/`0`) confirmed by `cgroup.events` `frozen`.
//!
//! Contract: [`Freezer`] names one cgroup directory and its version; [`Freezer::freeze`] and
//! [`Freezer::thaw`] return only once the kernel reports the new state, or fail after a bounded
//! wait (a task stuck in uninterruptible sleep can hold a v1 freeze in `FREEZING`; such a
//! half-done freeze is undone before the error is returned). [`set_frozen`] is the act on a
//! container: refusals first (`guard`), then the choice of a freezer that is the container's
//! own ([`owned_freezer`]: checked live by `control::owned`, again right before the write),
//! then the write, then one audit-log line.
//!
//! Which freezer: the container's cgroup in the v1 `freezer` hierarchy when there is one and it
//! is the container's own; else its v2 cgroup (`cgroup.freeze`) — on a hybrid host the unified
//! hierarchy's, used only when it holds every process of the container and nothing else, and
//! the outcome says so. A freezer cgroup that is a root or shared with other processes is
//! never written: the act is refused with each candidate's reason.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::audit::{self, AuditEntry};
use super::error::ControlError;
use super::guard;
use super::owned::{self, Owner};
use crate::host::HostRoot;
use crate::host::cgroup::{CgroupLayout, FreezerState, detect_layout};
use crate::host::container::Container;
use crate::host::scan::ContainerView;

mod choice;
pub use choice::{OwnedFreezer, owned_freezer};

/// How long a freeze or thaw may take before it is reported as stuck (seconds). The kernel
/// usually needs milliseconds; an emulated VM under load needs more.
pub const SETTLE_TIMEOUT: Duration = Duration::from_secs(10);

/// Time between two reads of the state file while waiting (milliseconds).
const POLL: Duration = Duration::from_millis(10);

/// One cgroup's freezer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "version", content = "dir")]
pub enum Freezer {
    /// A directory of the v1 `freezer` hierarchy.
    #[serde(rename = "v1")]
    V1(PathBuf),
    /// A cgroup v2 directory.
    #[serde(rename = "v2")]
    V2(PathBuf),
}

impl Freezer {
    /// The freezer of `container`'s own cgroup: the v1 freezer hierarchy when the host has
    /// one, else the v2 hierarchy. `None` when it has no cgroup there other than the root.
    pub fn of(layout: &CgroupLayout, container: &Container) -> Option<Freezer> {
        let v1 = layout.v1_carrying("freezer");
        for membership in container.cgroups.iter() {
            let Some(hierarchy) = layout.hierarchy_for(membership) else {
                continue;
            };
            let wanted = match v1 {
                Some(freezer) => hierarchy == freezer,
                None => hierarchy.version == 2,
            };
            if !wanted || membership.path.trim_matches('/').is_empty() {
                continue;
            }
            let dir = hierarchy.cgroup_dir(&membership.path)?;
            return Some(if hierarchy.version == 2 {
                Freezer::V2(dir)
            } else {
                Freezer::V1(dir)
            });
        }
        None
    }

    /// The cgroup directory.
    pub fn dir(&self) -> &Path {
        match self {
            Freezer::V1(dir) | Freezer::V2(dir) => dir,
        }
    }

    /// The file written to freeze (`freezer.state` or `cgroup.freeze`).
    pub fn control_file(&self) -> PathBuf {
        match self {
            Freezer::V1(dir) => dir.join("freezer.state"),
            Freezer::V2(dir) => dir.join("cgroup.freeze"),
        }
    }

    /// What the kernel reports now. `Vanished` when the cgroup is gone.
    pub fn state(&self) -> Result<FreezerState, ControlError> {
        match self {
            Freezer::V1(dir) => {
                let path = dir.join("freezer.state");
                let text = read(&path)?;
                crate::host::cgroup::parse::parse_freezer_v1(&text)
                    .map_err(|what| crate::host::HostError::parse(&path, what).into())
            }
            Freezer::V2(dir) => {
                let asked = read(&dir.join("cgroup.freeze"))?.trim() == "1";
                let events_path = dir.join("cgroup.events");
                let events = read(&events_path)?;
                let frozen = events
                    .lines()
                    .find_map(|l| l.strip_prefix("frozen "))
                    .map(|v| v.trim() == "1")
                    .ok_or_else(|| {
                        ControlError::from(crate::host::HostError::parse(
                            &events_path,
                            "no `frozen` line (kernel older than 5.2?)",
                        ))
                    })?;
                Ok(match (asked, frozen) {
                    (_, true) => FreezerState::Frozen,
                    (true, false) => FreezerState::Freezing,
                    (false, false) => FreezerState::Thawed,
                })
            }
        }
    }

    /// Freezes every process of the cgroup and its descendants; returns once all are frozen.
    /// A freeze that does not complete within `timeout` is undone (thawed) and reported.
    pub fn freeze(&self, timeout: Duration) -> Result<(), ControlError> {
        self.request(true)?;
        if self.settle(FreezerState::Frozen, timeout)? {
            return Ok(());
        }
        // Leave no cgroup half frozen: that would stop some processes of a service at random.
        let _ = self.request(false);
        let _ = self.settle(FreezerState::Thawed, timeout);
        Err(ControlError::Other(format!(
            "{}: the freeze did not complete within {:.0} s (a process is probably in \
             uninterruptible sleep, state D in `isotop ps`); the cgroup was thawed again",
            self.dir().display(),
            timeout.as_secs_f64()
        )))
    }

    /// Thaws the cgroup; returns once the kernel reports it thawed.
    pub fn thaw(&self, timeout: Duration) -> Result<(), ControlError> {
        self.request(false)?;
        if self.settle(FreezerState::Thawed, timeout)? {
            Ok(())
        } else {
            Err(ControlError::Other(format!(
                "{}: still not thawed after {:.0} s (is a parent cgroup frozen?)",
                self.dir().display(),
                timeout.as_secs_f64()
            )))
        }
    }

    fn request(&self, frozen: bool) -> Result<(), ControlError> {
        let value = match (self, frozen) {
            (Freezer::V1(_), true) => "FROZEN",
            (Freezer::V1(_), false) => "THAWED",
            (Freezer::V2(_), true) => "1",
            (Freezer::V2(_), false) => "0",
        };
        let path = self.control_file();
        std::fs::write(&path, value).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                ControlError::Vanished {
                    target: self.dir().display().to_string(),
                }
            } else {
                ControlError::Write { path, source }
            }
        })
    }

    /// Polls until the state is `wanted`; false on timeout.
    fn settle(&self, wanted: FreezerState, timeout: Duration) -> Result<bool, ControlError> {
        let start = Instant::now();
        let mut rewrites = Instant::now();
        loop {
            if self.state()? == wanted {
                return Ok(true);
            }
            if start.elapsed() >= timeout {
                return Ok(false);
            }
            // v1: re-asking FROZEN makes the kernel retry tasks that could not be frozen yet.
            if matches!(self, Freezer::V1(_))
                && wanted == FreezerState::Frozen
                && rewrites.elapsed() >= Duration::from_millis(100)
            {
                self.request(true)?;
                rewrites = Instant::now();
            }
            std::thread::sleep(POLL);
        }
    }
}

fn read(path: &Path) -> Result<String, ControlError> {
    std::fs::read_to_string(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            ControlError::Vanished {
                target: path.parent().unwrap_or(path).to_string_lossy().into_owned(),
            }
        } else {
            ControlError::Read {
                path: path.to_path_buf(),
                source,
            }
        }
    })
}

/// The kernel's word for a freezer state.
pub fn state_name(state: FreezerState) -> &'static str {
    match state {
        FreezerState::Thawed => "THAWED",
        FreezerState::Freezing => "FREEZING",
        FreezerState::Frozen => "FROZEN",
    }
}

/// What a freeze or thaw did.
#[derive(Debug, Clone, Serialize)]
pub struct FreezeOutcome {
    /// The container id.
    pub target: String,
    pub name: String,
    /// `freeze` or `thaw`.
    pub act: &'static str,
    pub freezer: Freezer,
    /// The file written.
    pub file: PathBuf,
    /// The state before (`THAWED`, `FREEZING`, `FROZEN`).
    pub before: &'static str,
    /// The state the kernel reports after.
    pub after: &'static str,
    /// Set when the audit log could not be written (the act itself happened).
    pub audit_error: Option<String>,
    /// What the operator should know, e.g. that the unified hierarchy's freezer was used.
    pub notes: Vec<String>,
}

impl FreezeOutcome {
    /// The outcome of a write through `freezer` ([`freeze_audited`]'s `after` and audit error
    /// in `written`), for `target` (its id or `cgroup:/path`) named `name`.
    pub(crate) fn written(
        target: String,
        name: String,
        freezer: Freezer,
        frozen: bool,
        before: FreezerState,
        written: (Option<FreezerState>, Option<String>),
        notes: Vec<String>,
    ) -> FreezeOutcome {
        let (after, audit_error) = written;
        FreezeOutcome {
            target,
            name,
            act: if frozen { "freeze" } else { "thaw" },
            file: freezer.control_file(),
            freezer,
            before: state_name(before),
            after: after.map(state_name).unwrap_or("unknown"),
            audit_error,
            notes,
        }
    }
}

/// Refuses acts that would stop isotop itself: its own cgroup is refused by `guard`, and a
/// cgroup that contains isotop's cgroup below it would freeze isotop too (it could then never
/// thaw it).
pub(crate) fn refuse_if_holds_isotop(
    root: &HostRoot,
    view: &ContainerView,
    act: &str,
) -> Result<(), ControlError> {
    let container = &view.container;
    let paths = container
        .cgroup_path
        .iter()
        .chain(guard::own_paths(view).filter(|p| Some(*p) != container.cgroup_path.as_ref()));
    let isotop = guard::own_cgroup_paths(root);
    for path in paths {
        let prefix = format!("{}/", path.trim_end_matches('/'));
        if let Some(own) = isotop.iter().find(|own| own.starts_with(&prefix)) {
            return Err(ControlError::Refused {
                target: format!("{} ({})", container.name, container.id),
                reason: format!(
                    "isotop itself runs below its cgroup (in {own}): {act} would stop it"
                ),
            });
        }
    }
    Ok(())
}

/// Freezes (`frozen`) or thaws the container: refusals, the write, a bounded wait for the
/// kernel to confirm, and one audit-log line whatever the result.
pub fn set_frozen(
    root: &HostRoot,
    view: &ContainerView,
    frozen: bool,
) -> Result<FreezeOutcome, ControlError> {
    let act = if frozen { "freeze" } else { "thaw" };
    let container = &view.container;
    guard::check(root, view, act, true)?;
    refuse_if_holds_isotop(root, view, act)?;
    if !container.running {
        return Err(ControlError::Vanished {
            target: format!("{} ({})", container.name, container.id),
        });
    }
    let layout = detect_layout(root)?;
    let owner = Owner::of(view);
    let chosen = owned_freezer(root, &layout, container, &owner, !frozen)?;
    let freezer = chosen.freezer.clone();
    let before = freezer
        .state()
        .map_err(|e| vanished_as_target(e, container))?;
    // Right before the write: the cgroup still holds the container alone.
    owned::check(root, &owner, &chosen.site)?;
    let (result, after, audit_error) = freeze_audited(&freezer, frozen, &container.id, before);
    result.map_err(|e| vanished_as_target(e, container))?;
    Ok(FreezeOutcome::written(
        container.id.clone(),
        container.name.clone(),
        freezer,
        frozen,
        before,
        (after, audit_error),
        chosen.note.into_iter().collect(),
    ))
}

/// Freezes (`frozen`) or thaws through `freezer`, waiting for the kernel, then appends the
/// audit line for `target` whatever the result. Returns the result, the state after and the
/// audit log's error, if any.
pub(crate) fn freeze_audited(
    freezer: &Freezer,
    frozen: bool,
    target: &str,
    before: FreezerState,
) -> (
    Result<(), ControlError>,
    Option<FreezerState>,
    Option<String>,
) {
    let result = if frozen {
        freezer.freeze(SETTLE_TIMEOUT)
    } else {
        freezer.thaw(SETTLE_TIMEOUT)
    };
    let after = freezer.state().ok();
    let mut entry = AuditEntry::now(
        target,
        if frozen { "freeze" } else { "thaw" },
        Some(state_name(before).into()),
        after.map(|s| state_name(s).to_string()),
    );
    if let Err(e) = &result {
        entry.result = e.to_string();
    }
    let audit_error = audit::append(&entry).err().map(|e| e.to_string());
    (result, after, audit_error)
}

/// A cgroup that vanished is reported under the container's name, not its directory.
fn vanished_as_target(e: ControlError, container: &Container) -> ControlError {
    match e {
        ControlError::Vanished { .. } => ControlError::Vanished {
            target: format!("{} ({})", container.name, container.id),
        },
        other => other,
    }
}
