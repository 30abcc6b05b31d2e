//! Limits as people read them, the one way every table, detail pane and message shows them:
//! `max` when unlimited, the value otherwise, `-` when the cgroup has no such limit (no
//! controller, no file). The type itself ([`Limit`]) is the read side's (`host::cgroup`); this
//! is only its showing side, so the reader depends on nothing that draws.

use std::fmt;

use crate::host::cgroup::Limit;

/// `max` or the bare value: what cgroup v2 files hold, and what `isotop limit` says it wrote.
impl<T: fmt::Display> fmt::Display for Limit<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::Max => f.write_str("max"),
            Limit::Value(v) => v.fmt(f),
        }
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
}
