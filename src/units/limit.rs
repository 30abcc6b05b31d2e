//! Limits as people read them, the one way every table, detail pane and message shows them:
//! `max` when unlimited, the value otherwise, `-` when the cgroup has no such limit (no
//! controller, no file); a limit a container only inherits from a cgroup it shares with
//! others is marked so: `max (host)` for the host's root cgroup, `1.0GiB (shared)` for any
//! other shared cgroup — never shown as the container's own. The type itself ([`Limit`]) is the read side's (`host::cgroup`); this
//! is only its showing side, so the reader depends on nothing that draws.

use std::fmt;

use crate::host::cgroup::{InheritedLimit, Limit};

/// `max` or the bare value: what cgroup v2 files hold, and what `isotop limit` says it wrote.
impl<T: fmt::Display> fmt::Display for Limit<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::Max => f.write_str("max"),
            Limit::Value(v) => v.fmt(f),
        }
    }
}

/// `max (host)`, `512.0MiB (shared)`: the limit as [`limit_text`] shows it, and whose it is.
impl<T: fmt::Display> fmt::Display for InheritedLimit<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.limit, inherited_mark(&self.cgroup))
    }
}

/// `(host)` for the root cgroup, `(shared)` for any other cgroup shared with others.
fn inherited_mark(cgroup: &str) -> &'static str {
    if cgroup.trim_end_matches('/').is_empty() {
        "(host)"
    } else {
        "(shared)"
    }
}

/// A container's limit in a table cell: its own (`max`, `show(value)`), else the one it
/// inherits from a cgroup it shares, marked (`max (host)`, `show(value) (shared)`), else `-`.
pub fn bound_text<T>(
    own: Option<Limit<T>>,
    inherited: Option<&InheritedLimit<T>>,
    show: impl FnOnce(T) -> String,
) -> String
where
    T: Clone,
{
    match (own, inherited) {
        (Some(limit), _) => limit.map(show).to_string(),
        (None, Some(i)) => format!(
            "{} {}",
            i.limit.clone().map(show),
            inherited_mark(&i.cgroup)
        ),
        (None, None) => "-".into(),
    }
}

/// A limit in a table cell: `max`, `show(value)`, or `-` when unknown.
pub fn limit_text<T>(limit: Option<Limit<T>>, show: impl FnOnce(T) -> String) -> String {
    match limit {
        Some(limit) => limit.map(show).to_string(),
        None => "-".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_shows_as_max_or_its_value() {
        assert_eq!(Limit::<u64>::Max.to_string(), "max");
        assert_eq!(Limit::Value(104_857_600u64).to_string(), "104857600");
        assert_eq!(Limit::Value(0u64).to_string(), "0");
        // The value's own formatting flags pass through.
        assert_eq!(format!("{:.2}", Limit::Value(0.5f64)), "0.50");
    }

    #[test]
    fn a_cell_is_max_the_shown_value_or_a_dash() {
        let cpus = |c: f64| format!("{c:.2} CPU");
        assert_eq!(limit_text(Some(Limit::Value(1.5)), cpus), "1.50 CPU");
        assert_eq!(limit_text(Some(Limit::Max), cpus), "max");
        assert_eq!(limit_text(None, cpus), "-");
        assert_eq!(
            limit_text(Some(Limit::Value(2048u64)), crate::units::format::bytes),
            "2.0KiB"
        );
        assert_eq!(limit_text::<u64>(None, |v| v.to_string()), "-");
    }

    #[test]
    fn an_inherited_limit_is_marked_never_shown_as_own() {
        let host = InheritedLimit {
            limit: Limit::<u64>::Max,
            cgroup: "/".into(),
        };
        let shared = InheritedLimit {
            limit: Limit::Value(2048u64),
            cgroup: "/process_api/x".into(),
        };
        assert_eq!(host.to_string(), "max (host)");
        assert_eq!(shared.to_string(), "2048 (shared)");
        let bytes = crate::units::format::bytes;
        assert_eq!(bound_text(None, Some(&host), bytes), "max (host)");
        assert_eq!(bound_text(None, Some(&shared), bytes), "2.0KiB (shared)");
        // Its own limit wins; nothing is `-`.
        assert_eq!(
            bound_text(Some(Limit::Value(1024u64)), Some(&host), bytes),
            "1.0KiB"
        );
        assert_eq!(bound_text::<u64>(None, None, bytes), "-");
    }
}
