//! Which events are trouble worth a dump, and the dump directory's name made of one.
//!
//! Contract: a trigger is one of a frame's events (`sample::events` made it): an OOM kill, a
//! container's exit with a non-zero code nobody asked for, throttling or pressure starting at or above a
//! threshold (the detector's events start at `[events]`' thresholds; [`Triggers`] can ask for
//! more). [`dump_name`] is `<UTC time>-<kind>-<subject>` with the subject — a container's name
//! or a cgroup's path, written by strangers — reduced to `[A-Za-z0-9._-]`, never `.`/`..` or
//! hidden, at most [`SUBJECT_CHARS`] characters: a single path component, whatever the name.

use crate::host::events::{Event, EventKind, PressureResource};

/// The longest subject kept in a dump's name, characters.
pub const SUBJECT_CHARS: usize = 48;

/// The events that start a dump.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Triggers {
    /// The kernel's OOM killer ended a process.
    pub oom_kill: bool,
    /// A container exited with a code other than 0 (where its runtime records one) and no
    /// stop asked for it (`EventKind::is_trouble`).
    pub exit_nonzero: bool,
    /// A `throttled` event (its start) at or above this share of CFS periods, percent; `None`:
    /// throttling never dumps. 0: every one the detector makes (its threshold, `[events]`).
    pub throttled_percent: Option<f64>,
    /// A `pressure` event (its start) at or above this PSI `some avg10`, percent; `None`:
    /// pressure never dumps. 0: every one the detector makes.
    pub pressure_percent: Option<f64>,
}

impl Default for Triggers {
    fn default() -> Self {
        Triggers {
            oom_kill: true,
            exit_nonzero: true,
            throttled_percent: Some(0.0),
            pressure_percent: Some(0.0),
        }
    }
}

impl Triggers {
    /// Whether `event` starts a dump.
    pub fn fires(&self, event: &Event) -> bool {
        let at_least = |threshold: Option<f64>, percent: f64| {
            threshold.is_some_and(|t| percent.is_finite() && percent >= t)
        };
        match &event.kind {
            EventKind::OomKill { .. } => self.oom_kill,
            EventKind::Exited { .. } => self.exit_nonzero && event.kind.is_trouble(),
            EventKind::Throttled { percent, ended } => {
                !ended && at_least(self.throttled_percent, *percent)
            }
            EventKind::Pressure { percent, ended, .. } => {
                !ended && at_least(self.pressure_percent, *percent)
            }
            _ => false,
        }
    }
}

/// What the trouble was, for a person: `OOM kill`, `exit code 3`, `throttling at 87%`,
/// `memory pressure at 41%`.
pub(super) fn what(event: &Event) -> String {
    match &event.kind {
        EventKind::OomKill { .. } => "OOM kill".to_string(),
        EventKind::Exited { exit_code, .. } => match exit_code {
            Some(code) => format!("exit code {code}"),
            None => "exit".to_string(),
        },
        EventKind::Throttled { percent, .. } => format!("throttling at {percent:.0}%"),
        EventKind::Pressure {
            resource, percent, ..
        } => {
            let resource = match resource {
                PressureResource::Cpu => "CPU",
                PressureResource::Memory => "memory",
                PressureResource::Io => "I/O",
            };
            format!("{resource} pressure at {percent:.0}%")
        }
        other => other.name().replace('_', " "),
    }
}

/// The dump directory's name for `event`: `20260102T030405Z-oom_kill-web` (see the module).
pub fn dump_name(event: &Event) -> String {
    let stamp: String = crate::control::audit::rfc3339(event.at_ms / 1000)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    format!(
        "{stamp}-{}-{}",
        event.kind.name(),
        sanitised(&event.subject.name)
    )
}

/// `name` as one safe path component (see the module); `host` when nothing is left.
pub fn sanitised(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        let keep = c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        let c = if keep { c } else { '_' };
        // One `_` for a run of replaced characters: `/system.slice/x` → `system.slice_x`.
        if c == '_' && (out.is_empty() || out.ends_with('_')) {
            continue;
        }
        out.push(c);
        if out.chars().count() >= SUBJECT_CHARS {
            break;
        }
    }
    // No hidden name, no `.` or `..`, no dash an option parser would take.
    let out = out
        .trim_start_matches(['.', '-', '_'])
        .trim_end_matches('_');
    if out.is_empty() {
        "host".to_string()
    } else {
        out.to_string()
    }
}

/// Whether `name` is one [`dump_name`] made (possibly with a `-N` suffix): the only entries the
/// pruning removes.
pub(super) fn is_dump_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    bytes.len() > 17
        && bytes[..8].iter().all(u8::is_ascii_digit)
        && bytes[8] == b'T'
        && bytes[9..15].iter().all(u8::is_ascii_digit)
        && bytes[15] == b'Z'
        && bytes[16] == b'-'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strangers_names_become_one_safe_component() {
        for (name, want) in [
            ("web", "web"),
            (
                "/system.slice/docker-1.scope",
                "system.slice_docker-1.scope",
            ),
            ("../../etc/passwd", "etc_passwd"),
            ("..", "host"),
            ("", "host"),
            ("a\nb\x1b[31m", "a_b_31m"),
            ("-rf", "rf"),
        ] {
            let got = sanitised(name);
            assert_eq!(got, want, "{name:?}");
        }
        let long = sanitised(&"x".repeat(500));
        assert_eq!(long.len(), SUBJECT_CHARS);
        assert!(is_dump_name("20260102T030405Z-oom_kill-web"));
        assert!(!is_dump_name("lock"));
    }
}
