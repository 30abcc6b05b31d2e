//! Parsing what the operator types into the values the kernel files take, before anything is
//! written: CPUs (`0.5`, `50%`, `500m`, `max`), CFS periods (µs, 1000–1000000), weights
//! (1–10000, with the v1 `cpu.shares` conversion), sizes (`256M`, `1.5G`, bytes, `max`), task
//! counts, durations (`90s`, `10m`, `2h`), and the I/O settings: `DEV=RATE` (bytes per second
//! with the sizes' units), `DEV=N` (operations per second), `max` or `0` clearing either.
//! Every error is a `ControlError::InvalidValue` naming the input and what would be accepted.

use std::time::Duration;

use crate::control::ControlError;
use crate::host::cgroup::Limit;
use crate::units::kernel::page_size;

/// The kernel's bounds on a CFS period (`cpu.cfs_period_us`, `cpu.max`), in µs.
pub const PERIOD_MIN_USEC: u64 = 1_000;
pub const PERIOD_MAX_USEC: u64 = 1_000_000;
/// The kernel's smallest CFS quota, in µs (smaller writes fail with EINVAL).
pub const QUOTA_MIN_USEC: u64 = 1_000;
/// The default CFS period when none is set yet, in µs.
pub const DEFAULT_PERIOD_USEC: u64 = 100_000;

fn invalid(what: &str, value: &str, hint: &str) -> ControlError {
    ControlError::InvalidValue {
        what: what.to_string(),
        value: value.to_string(),
        hint: hint.to_string(),
    }
}

/// A CPU quota as a number of CPUs (`Max` = unlimited). Kept in millicores so `0.2` is exact.
pub fn parse_cpus(text: &str) -> Result<Limit<u64>, ControlError> {
    const HINT: &str =
        "give CPUs (`0.5`), percent of one CPU (`50%`), millicores (`500m`) or `max`";
    let t = text.trim();
    if t.eq_ignore_ascii_case("max") {
        return Ok(Limit::Max);
    }
    // (number, millicores per unit)
    let (number, per_unit) = if let Some(n) = t.strip_suffix('%') {
        (n, 10.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 1.0)
    } else {
        (t, 1000.0)
    };
    let value = parse_decimal(number).ok_or_else(|| invalid("--cpus", text, HINT))?;
    let millicores = (value * per_unit).round();
    // parse_decimal rules out NaN, so a plain range check is enough.
    if !(1.0..=1.0e9).contains(&millicores) {
        return Err(invalid(
            "--cpus",
            text,
            "must be more than 0 (at least 1 millicore) and finite; `max` removes the limit",
        ));
    }
    Ok(Limit::Value(millicores as u64))
}

/// The CFS quota in µs for `millicores` over `period_usec`; refuses quotas under the kernel's
/// 1 ms minimum.
pub fn quota_usec(millicores: u64, period_usec: u64, input: &str) -> Result<u64, ControlError> {
    let quota = (u128::from(millicores) * u128::from(period_usec) / 1000) as u64;
    if quota < QUOTA_MIN_USEC {
        return Err(invalid(
            "--cpus",
            input,
            &format!(
                "gives a quota of {quota} µs per {period_usec} µs period; the kernel's minimum \
                 is {QUOTA_MIN_USEC} µs: give more CPU or a longer --period"
            ),
        ));
    }
    Ok(quota)
}

/// A CFS period in µs, within the kernel's 1000–1000000.
pub fn parse_period(text: &str) -> Result<u64, ControlError> {
    let hint = format!("give microseconds from {PERIOD_MIN_USEC} to {PERIOD_MAX_USEC}");
    let period: u64 = text
        .trim()
        .parse()
        .map_err(|_| invalid("--period", text, &hint))?;
    if !(PERIOD_MIN_USEC..=PERIOD_MAX_USEC).contains(&period) {
        return Err(invalid("--period", text, &hint));
    }
    Ok(period)
}

/// A v2 `cpu.weight`, 1–10000 (100 is the default).
pub fn parse_weight(text: &str) -> Result<u64, ControlError> {
    weight_of("--cpu-weight", text)
}

/// A weight on the v2 scale, 1–10000, given with `flag`.
fn weight_of(flag: &str, text: &str) -> Result<u64, ControlError> {
    const HINT: &str = "give a whole number from 1 to 10000 (the default weight is 100)";
    let weight: u64 = text.trim().parse().map_err(|_| invalid(flag, text, HINT))?;
    if !(1..=10_000).contains(&weight) {
        return Err(invalid(flag, text, HINT));
    }
    Ok(weight)
}

/// v2 weight → v1 `cpu.shares`, the mapping runc and systemd use (weight 1 → 2 shares,
/// 10000 → 262144; the default 100 → 2597, not 1024: the scales are not proportional).
pub fn weight_to_shares(weight: u64) -> u64 {
    2 + (weight.saturating_sub(1) * 262_142) / 9_999
}

/// A size in bytes (`256M`, `1.5G`, `512k`, `1073741824`; binary units, an optional `i`/`B`)
/// or `max`.
pub fn parse_size(what: &str, text: &str) -> Result<Limit<u64>, ControlError> {
    const HINT: &str =
        "give bytes or a size with K, M, G or T (binary: 1.5G = 1.5 × 2^30), or `max`";
    let t = text.trim();
    if t.eq_ignore_ascii_case("max") {
        return Ok(Limit::Max);
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let unit = unit.trim().to_ascii_lowercase();
    let unit = unit.strip_suffix('b').unwrap_or(&unit);
    let unit = unit.strip_suffix('i').unwrap_or(unit);
    let shift = match unit {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        _ => return Err(invalid(what, text, HINT)),
    };
    let value = parse_decimal(number).ok_or_else(|| invalid(what, text, HINT))?;
    let bytes = (value * (1u64 << shift) as f64).round();
    if !(1.0..9.0e18).contains(&bytes) {
        return Err(invalid(
            what,
            text,
            "must be more than 0 bytes and below 8 EiB; `max` removes the limit",
        ));
    }
    Ok(Limit::Value(bytes as u64))
}

/// A task count or `max`.
pub fn parse_pids(text: &str) -> Result<Limit<u64>, ControlError> {
    const HINT: &str = "give a whole number of tasks (at least 1) or `max`";
    let t = text.trim();
    if t.eq_ignore_ascii_case("max") {
        return Ok(Limit::Max);
    }
    match t.parse::<u64>() {
        Ok(n) if (1..=i32::MAX as u64).contains(&n) => Ok(Limit::Value(n)),
        _ => Err(invalid("--pids", text, HINT)),
    }
}

/// A duration: seconds (`90`, `90s`), minutes (`10m`), hours (`2h`), at least 1 s.
pub fn parse_duration(text: &str) -> Result<Duration, ControlError> {
    const HINT: &str = "give a duration like `90s`, `10m` or `2h` (at least 1s)";
    let t = text.trim();
    let (number, seconds_per_unit) = if let Some(n) = t.strip_suffix('h') {
        (n, 3600.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else {
        (t, 1.0)
    };
    let value = parse_decimal(number).ok_or_else(|| invalid("--for", text, HINT))?;
    let seconds = value * seconds_per_unit;
    if !(1.0..=366.0 * 86_400.0).contains(&seconds) {
        return Err(invalid("--for", text, HINT));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// The kernel's largest I/O operations rate (an `unsigned int`; its maximum itself means
/// "no limit").
pub const IOPS_MAX: u64 = u32::MAX as u64 - 1;

/// A `DEV=VALUE` setting of `flag` split at its last `=`: the device as typed and the value.
pub fn split_device_setting<'t>(
    flag: &str,
    text: &'t str,
) -> Result<(&'t str, &'t str), ControlError> {
    match text.rsplit_once('=') {
        Some((device, value)) if !device.trim().is_empty() && !value.trim().is_empty() => {
            Ok((device.trim(), value.trim()))
        }
        _ => Err(invalid(
            flag,
            text,
            "give DEV=VALUE: a block device path (`/dev/sda`, `/dev/loop3`) or its MAJ:MIN \
             (`8:0`), `=`, then the value",
        )),
    }
}

/// An I/O rate in bytes per second: a size (`10M`, `1MiB`, `1.5G`, bytes, as `--memory`
/// takes them); `max` or `0` clears the limit (`Max`).
pub fn parse_io_rate(flag: &str, text: &str) -> Result<Limit<u64>, ControlError> {
    if text.trim() == "0" {
        return Ok(Limit::Max);
    }
    parse_size(flag, text).map_err(|_| {
        invalid(
            flag,
            text,
            "give bytes per second, with K, M, G or T (binary: 10M = 10 × 2^20 bytes/s), or \
             `max`/`0` to remove the limit",
        )
    })
}

/// An I/O rate in operations per second (1 to 4294967294); `max` or `0` clears it.
pub fn parse_iops(flag: &str, text: &str) -> Result<Limit<u64>, ControlError> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("max") || t == "0" {
        return Ok(Limit::Max);
    }
    match t.parse::<u64>() {
        Ok(n) if (1..=IOPS_MAX).contains(&n) => Ok(Limit::Value(n)),
        _ => Err(invalid(
            flag,
            text,
            &format!(
                "give a whole number of operations per second from 1 to {IOPS_MAX}, or \
                 `max`/`0` to remove the limit"
            ),
        )),
    }
}

/// An I/O weight on the v2 `io.weight` scale, 1–10000 (100 is the default); files with a
/// narrower range (BFQ's, CFQ's) are checked when the file is known.
pub fn parse_io_weight(text: &str) -> Result<u64, ControlError> {
    weight_of("--io-weight", text)
}

/// True when a kernel limit file holding `current` is what a write of `written` reads back as:
/// the same text, or for byte counts the value rounded down to whole pages (v1 and v2 memory
/// files), or `-1` (v1 "no limit") read back as the kernel's largest page-aligned count.
pub fn reads_back_as(written: &str, current: &str) -> bool {
    let (written, current) = (written.trim(), current.trim());
    if written == current {
        return true;
    }
    let Ok(now) = current.parse::<u64>() else {
        return false;
    };
    if written == "-1" {
        // v1 memory.limit_in_bytes shows "no limit" as PAGE_COUNTER_MAX pages in bytes.
        return now >= 1 << 62;
    }
    let Ok(asked) = written.parse::<u64>() else {
        return false;
    };
    let page = page_size();
    now == asked - asked % page
}

/// A plain non-negative decimal (`0.5`, `12`, `.5`): no sign, exponent, `inf` or `nan`.
fn parse_decimal(text: &str) -> Option<f64> {
    let t = text.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    t.parse::<f64>().ok().filter(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpus_forms() {
        assert_eq!(parse_cpus("0.5").unwrap(), Limit::Value(500));
        assert_eq!(parse_cpus("50%").unwrap(), Limit::Value(500));
        assert_eq!(parse_cpus("500m").unwrap(), Limit::Value(500));
        assert_eq!(parse_cpus("2").unwrap(), Limit::Value(2000));
        assert_eq!(parse_cpus("max").unwrap(), Limit::Max);
        for bad in ["-1", "abc", "", "0", "1e3", "inf", "0.0001", "5%%"] {
            assert!(parse_cpus(bad).is_err(), "{bad} should be refused");
        }
        assert_eq!(quota_usec(200, 100_000, "0.2").unwrap(), 20_000);
        assert!(quota_usec(5, 100_000, "5m").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(
            parse_size("--memory", "256M").unwrap(),
            Limit::Value(256 << 20)
        );
        assert_eq!(
            parse_size("--memory", "1.5G").unwrap(),
            Limit::Value(3 << 29)
        );
        assert_eq!(parse_size("--memory", "4096").unwrap(), Limit::Value(4096));
        assert_eq!(
            parse_size("--memory", "64MiB").unwrap(),
            Limit::Value(64 << 20)
        );
        assert_eq!(parse_size("--memory", "MAX").unwrap(), Limit::Max);
        for bad in ["1Q", "-5M", "", "M", "0", "1.2.3G", "99999999T"] {
            assert!(
                parse_size("--memory", bad).is_err(),
                "{bad} should be refused"
            );
        }
    }

    #[test]
    fn periods_weights_pids_durations() {
        assert_eq!(parse_period("100000").unwrap(), 100_000);
        assert!(parse_period("999").is_err());
        assert!(parse_period("1000001").is_err());
        assert!(parse_period("-5").is_err());
        assert_eq!(parse_weight("100").unwrap(), 100);
        assert!(parse_weight("0").is_err());
        assert!(parse_weight("10001").is_err());
        assert_eq!(weight_to_shares(1), 2);
        assert_eq!(weight_to_shares(10_000), 262_144);
        assert_eq!(parse_pids("64").unwrap(), Limit::Value(64));
        assert_eq!(parse_pids("max").unwrap(), Limit::Max);
        assert!(parse_pids("0").is_err());
        assert!(parse_pids("-1").is_err());
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("3s").unwrap(), Duration::from_secs(3));
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn read_backs() {
        assert!(reads_back_as("50000", "50000"));
        assert!(reads_back_as("max 100000", "max 100000"));
        assert!(reads_back_as("-1", "9223372036854771712"));
        assert!(reads_back_as("-1", "-1"));
        let page = page_size();
        assert!(reads_back_as(
            &(page * 3 + 5).to_string(),
            &(page * 3).to_string()
        ));
        assert!(!reads_back_as("50000", "-1"));
        assert!(!reads_back_as("42", "50"));
        assert!(!reads_back_as("max", "100"));
    }

    #[test]
    fn io_settings() {
        let flag = "--device-write-bps";
        assert_eq!(
            split_device_setting(flag, "/dev/loop3=2M").unwrap(),
            ("/dev/loop3", "2M")
        );
        assert_eq!(split_device_setting(flag, "8:0=0").unwrap(), ("8:0", "0"));
        for bad in ["", "/dev/sda", "=2M", "/dev/sda=", " = "] {
            assert!(split_device_setting(flag, bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_io_rate(flag, "2M").unwrap(), Limit::Value(2 << 20));
        assert_eq!(parse_io_rate(flag, "1MiB").unwrap(), Limit::Value(1 << 20));
        assert_eq!(parse_io_rate(flag, "10m").unwrap(), Limit::Value(10 << 20));
        assert_eq!(parse_io_rate(flag, "4096").unwrap(), Limit::Value(4096));
        assert_eq!(parse_io_rate(flag, "max").unwrap(), Limit::Max);
        assert_eq!(parse_io_rate(flag, "0").unwrap(), Limit::Max);
        for bad in ["-1", "1Q", "", "fast", "0.0"] {
            let err = parse_io_rate(flag, bad).unwrap_err().to_string();
            assert!(err.contains(flag), "{bad:?}: {err}");
        }
        let flag = "--device-read-iops";
        assert_eq!(parse_iops(flag, "100").unwrap(), Limit::Value(100));
        assert_eq!(parse_iops(flag, "0").unwrap(), Limit::Max);
        assert_eq!(parse_iops(flag, "MAX").unwrap(), Limit::Max);
        assert_eq!(
            parse_iops(flag, "4294967294").unwrap(),
            Limit::Value(IOPS_MAX)
        );
        for bad in ["4294967295", "-3", "1k", "", "1.5"] {
            assert!(parse_iops(flag, bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_io_weight("100").unwrap(), 100);
        assert!(parse_io_weight("0").is_err());
        assert!(parse_io_weight("10001").is_err());
        assert!(parse_io_weight("heavy").is_err());
    }
}
