//! Pure parsers for the cgroup file formats (v1 and v2): strings in, typed values out.
//!
//! Every parser takes the whole file text (trailing newline allowed) and returns either the
//! value or a short description of what is wrong with the text (shown as a warning; the field
//! stays `None`). None of them panics on any input. Units are the kernel's unless a function's
//! name says otherwise.

use std::collections::BTreeMap;

use super::limit::Limit;
use super::stats::{FreezerState, PressureFile, PressureLine};

/// v1 prints "unlimited" memory limits as `PAGE_COUNTER_MAX * PAGE_SIZE`, i.e. `i64::MAX`
/// rounded down to a page (9223372036854771712 with 4 KiB pages). Page sizes go up to 256 KiB,
/// so anything within 1 MiB of `i64::MAX` or above is "no limit" (no real limit is near 8 EiB).
pub const V1_UNLIMITED_FLOOR: u64 = i64::MAX as u64 - 0xF_FFFF;

/// The text of a file with surrounding whitespace (the kernel's trailing newline) removed.
fn body(text: &str) -> &str {
    text.trim()
}

/// Shortened, printable excerpt of bad input for a warning.
pub fn excerpt(text: &str) -> String {
    let cleaned = crate::host::text::clean_str(body(text));
    if cleaned.chars().count() > 40 {
        let short: String = cleaned.chars().take(40).collect();
        format!("{short}…")
    } else {
        cleaned
    }
}

/// An unsigned counter or size: `"123\n"`. Empty, negative, overflowing or other text is an error.
pub fn parse_u64(text: &str) -> Result<u64, String> {
    let t = body(text);
    if t.is_empty() {
        return Err("empty file".into());
    }
    if t.starts_with('-') {
        return Err(format!("negative value {:?}", excerpt(t)));
    }
    if !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("not a number: {:?}", excerpt(t)));
    }
    t.parse::<u64>()
        .map_err(|_| format!("number too large for 64 bits: {:?}", excerpt(t)))
}

/// A v2 limit: `max` or a number (`memory.max`, `memory.high`, `pids.max`, ...).
pub fn parse_limit_v2(text: &str) -> Result<Limit<u64>, String> {
    if body(text) == "max" {
        return Ok(Limit::Max);
    }
    parse_u64(text).map(Limit::Value)
}

/// A v1 limit: `-1` (`cpu.cfs_quota_us`), the page-counter maximum (`memory.limit_in_bytes`,
/// `memory.soft_limit_in_bytes`) or `max` (`pids.max`) mean unlimited; else a number.
pub fn parse_limit_v1(text: &str) -> Result<Limit<u64>, String> {
    match body(text) {
        "-1" | "max" => Ok(Limit::Max),
        _ => parse_u64(text).map(|v| {
            if v >= V1_UNLIMITED_FLOOR {
                Limit::Max
            } else {
                Limit::Value(v)
            }
        }),
    }
}

/// v2 `cpu.max`: `"$QUOTA $PERIOD"` or `"max $PERIOD"`, both in microseconds.
pub fn parse_cpu_max(text: &str) -> Result<(Limit<u64>, u64), String> {
    let mut words = body(text).split_whitespace();
    let (Some(quota), Some(period), None) = (words.next(), words.next(), words.next()) else {
        return Err(format!(
            "expected \"QUOTA PERIOD\", got {:?}",
            excerpt(text)
        ));
    };
    let quota = parse_limit_v2(quota)?;
    let period = parse_u64(period)?;
    Ok((quota, period))
}

/// A flat keyed file (`cpu.stat`, `memory.stat`, `memory.events`, `memory.oom_control`,
/// `cgroup.events`, `pids.events`): one `key value` per line.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Keyed {
    pub values: BTreeMap<String, u64>,
    /// Lines that did not parse (their key is absent from `values`).
    pub problems: Vec<String>,
}

impl Keyed {
    pub fn get(&self, key: &str) -> Option<u64> {
        self.values.get(key).copied()
    }
}

/// Parses a flat keyed file. Bad lines are skipped and described in `problems`, so one odd
/// line does not hide the other figures.
pub fn parse_keyed(text: &str) -> Keyed {
    let mut keyed = Keyed::default();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let mut words = line.split_whitespace();
        match (words.next(), words.next(), words.next()) {
            (Some(key), Some(value), None) => match parse_u64(value) {
                Ok(v) => {
                    keyed.values.insert(key.to_string(), v);
                }
                Err(why) => keyed
                    .problems
                    .push(format!("{}: {why}", crate::host::text::clean_str(key))),
            },
            _ => keyed
                .problems
                .push(format!("not \"key value\": {:?}", excerpt(line))),
        }
    }
    keyed
}

/// A PSI file (`cpu.pressure`, `memory.pressure`, `io.pressure`):
/// `some avg10=0.00 avg60=0.00 avg300=0.00 total=0` and optionally the same for `full`
/// (percentages; `total` in microseconds). Older kernels have no `full` line for CPU.
pub fn parse_pressure(text: &str) -> Result<PressureFile, String> {
    let mut file = PressureFile {
        some: None,
        full: None,
    };
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (kind, rest) = line.split_once(' ').unwrap_or((line, ""));
        let parsed =
            parse_pressure_line(rest).map_err(|why| format!("{:?}: {why}", excerpt(line)))?;
        match kind {
            "some" => file.some = Some(parsed),
            "full" => file.full = Some(parsed),
            _ => return Err(format!("unknown pressure line {:?}", excerpt(line))),
        }
    }
    if file.some.is_none() {
        return Err("no \"some\" line".into());
    }
    Ok(file)
}

fn parse_pressure_line(rest: &str) -> Result<PressureLine, String> {
    let mut fields: BTreeMap<&str, &str> = BTreeMap::new();
    for pair in rest.split_whitespace() {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| format!("{:?} is not key=value", excerpt(pair)))?;
        fields.insert(k, v);
    }
    let avg = |key: &str| -> Result<f64, String> {
        let v = fields.get(key).ok_or_else(|| format!("missing {key}"))?;
        match v.parse::<f64>() {
            Ok(x) if x.is_finite() && x >= 0.0 => Ok(x),
            _ => Err(format!("bad {key} {:?}", excerpt(v))),
        }
    };
    let total = fields.get("total").ok_or("missing total")?;
    Ok(PressureLine {
        avg10: avg("avg10")?,
        avg60: avg("avg60")?,
        avg300: avg("avg300")?,
        total_usec: parse_u64(total).map_err(|why| format!("total: {why}"))?,
    })
}

/// v1 `freezer.state`: `THAWED`, `FREEZING` or `FROZEN`.
pub fn parse_freezer_v1(text: &str) -> Result<FreezerState, String> {
    match body(text) {
        "THAWED" => Ok(FreezerState::Thawed),
        "FREEZING" => Ok(FreezerState::Freezing),
        "FROZEN" => Ok(FreezerState::Frozen),
        other => Err(format!("unknown freezer state {:?}", excerpt(other))),
    }
}

/// A v2 boolean file such as `cgroup.freeze`: `0` or `1`.
pub fn parse_bool01(text: &str) -> Result<bool, String> {
    match body(text) {
        "0" => Ok(false),
        "1" => Ok(true),
        other => Err(format!("expected 0 or 1, got {:?}", excerpt(other))),
    }
}

/// v2 freezer: what was asked (`cgroup.freeze`) and what the kernel reports (`cgroup.events`
/// `frozen`). Frozen once the kernel says so (also when an ancestor is frozen); asked but not
/// yet frozen is Freezing.
pub fn freezer_v2(requested: Option<bool>, frozen: Option<bool>) -> Option<FreezerState> {
    match (requested, frozen) {
        (_, Some(true)) => Some(FreezerState::Frozen),
        (Some(true), _) => Some(FreezerState::Freezing),
        (Some(false), _) | (None, Some(false)) => Some(FreezerState::Thawed),
        (None, None) => None,
    }
}

/// A CPU or memory-node list (`cpuset.cpus`): `0-3,8,10-11`, possibly empty (no CPUs assigned
/// yet in a new v1 cpuset, or "inherit" on v2). Returned as the kernel wrote it, trimmed.
pub fn parse_cpu_list(text: &str) -> Result<String, String> {
    let t = body(text);
    let valid_range = |part: &str| {
        let mut ends = part.splitn(2, '-');
        ends.all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    if t.is_empty() || t.split(',').all(valid_range) {
        Ok(t.to_string())
    } else {
        Err(format!("not a CPU list: {:?}", excerpt(t)))
    }
}

/// v1 `cpuacct.usage_all`: a `cpu user system` header, then one line per CPU; the user and
/// system times summed over the CPUs, ns (what `cpuacct.usage_user` and `cpuacct.usage_sys`
/// print, from the same per-CPU counters, in one file instead of two).
pub fn parse_usage_all(text: &str) -> Result<(u64, u64), String> {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let header = lines.next().unwrap_or("");
    if !header.split_whitespace().eq(["cpu", "user", "system"]) {
        return Err(format!("unknown header {:?}", excerpt(header)));
    }
    let (mut user, mut system) = (0u64, 0u64);
    for line in lines {
        let mut fields = line.split_whitespace();
        let (Some(_), Some(u), Some(s), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(format!("not `cpu user system`: {:?}", excerpt(line)));
        };
        let (Ok(u), Ok(s)) = (u.parse::<u64>(), s.parse::<u64>()) else {
            return Err(format!("not a number: {:?}", excerpt(line)));
        };
        user = user.checked_add(u).ok_or("user time overflows")?;
        system = system.checked_add(s).ok_or("system time overflows")?;
    }
    Ok((user, system))
}

/// Counts the pids in `cgroup.procs` (one per line). Lines that are not pids are reported.
pub fn parse_procs(text: &str) -> Result<usize, String> {
    let mut count = 0;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line.parse::<u32>().is_err() {
            return Err(format!("not a pid: {:?}", excerpt(line)));
        }
        count += 1;
    }
    Ok(count)
}

/// CPU limit in CPUs: quota / period (0.5 = half a CPU). `None` when the period is 0.
pub fn cpu_limit_cpus(quota_usec: Limit<u64>, period_usec: u64) -> Option<Limit<f64>> {
    if period_usec == 0 {
        return None;
    }
    Some(quota_usec.map(|q| q as f64 / period_usec as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_all_sums_each_cpu_and_refuses_other_text() {
        let text = "cpu user system\n0 100 20\n1 5 7\n";
        assert_eq!(parse_usage_all(text), Ok((105, 27)));
        assert!(parse_usage_all("").unwrap_err().contains("header"));
        assert!(
            parse_usage_all("cpu user\n0 1\n")
                .unwrap_err()
                .contains("header")
        );
        assert!(parse_usage_all("cpu user system\n0 1\n").is_err());
        assert!(
            parse_usage_all("cpu user system\n0 1 x\n")
                .unwrap_err()
                .contains("number")
        );
        let over = format!("cpu user system\n0 {} 0\n1 1 0\n", u64::MAX);
        assert!(parse_usage_all(&over).unwrap_err().contains("overflow"));
    }

    #[test]
    fn u64_accepts_numbers_with_trailing_newline() {
        assert_eq!(parse_u64("123\n"), Ok(123));
        assert_eq!(parse_u64("0"), Ok(0));
        assert_eq!(parse_u64("18446744073709551615\n"), Ok(u64::MAX));
    }

    #[test]
    fn u64_rejects_empty_negative_garbage_and_overflow() {
        assert!(parse_u64("").unwrap_err().contains("empty"));
        assert!(parse_u64("\n").unwrap_err().contains("empty"));
        assert!(parse_u64("-1\n").unwrap_err().contains("negative"));
        assert!(parse_u64("12abc").unwrap_err().contains("not a number"));
        assert!(parse_u64("max").is_err());
        assert!(parse_u64("+5").is_err());
        assert!(
            parse_u64("18446744073709551616")
                .unwrap_err()
                .contains("too large")
        );
    }

    #[test]
    fn v2_limits() {
        assert_eq!(parse_limit_v2("max\n"), Ok(Limit::Max));
        assert_eq!(parse_limit_v2("67108864\n"), Ok(Limit::Value(67_108_864)));
        assert!(parse_limit_v2("").is_err());
        assert!(parse_limit_v2("-1").is_err());
        assert!(parse_limit_v2("Max").is_err());
    }

    #[test]
    fn v1_limits_map_minus_one_and_page_counter_max_to_max() {
        assert_eq!(parse_limit_v1("-1\n"), Ok(Limit::Max));
        assert_eq!(parse_limit_v1("9223372036854771712\n"), Ok(Limit::Max));
        // 64 KiB pages round LONG_MAX further down.
        assert_eq!(parse_limit_v1("9223372036854710272"), Ok(Limit::Max));
        assert_eq!(parse_limit_v1("9223372036854775807"), Ok(Limit::Max));
        assert_eq!(parse_limit_v1("max"), Ok(Limit::Max));
        assert_eq!(parse_limit_v1("20000\n"), Ok(Limit::Value(20_000)));
        assert_eq!(parse_limit_v1("104857600"), Ok(Limit::Value(104_857_600)));
        assert!(parse_limit_v1("-2").is_err());
        assert!(parse_limit_v1("").is_err());
        assert!(parse_limit_v1("99999999999999999999").is_err());
    }

    #[test]
    fn cpu_max_forms() {
        assert_eq!(
            parse_cpu_max("20000 100000\n"),
            Ok((Limit::Value(20_000), 100_000))
        );
        assert_eq!(parse_cpu_max("max 100000"), Ok((Limit::Max, 100_000)));
        assert!(parse_cpu_max("max").is_err());
        assert!(parse_cpu_max("").is_err());
        assert!(parse_cpu_max("1 2 3").is_err());
        assert!(parse_cpu_max("max max").is_err());
        assert!(parse_cpu_max("-1 100000").is_err());
    }

    #[test]
    fn keyed_files_keep_good_lines_and_report_bad_ones() {
        let k = parse_keyed(
            "usage_usec 630000\nnr_throttled 30\nbogus\nthrottled_usec -5\nhuge 18446744073709551616\n\n",
        );
        assert_eq!(k.get("usage_usec"), Some(630_000));
        assert_eq!(k.get("nr_throttled"), Some(30));
        assert_eq!(k.get("throttled_usec"), None);
        assert_eq!(k.get("huge"), None);
        assert_eq!(k.get("missing"), None);
        assert_eq!(k.problems.len(), 3, "{:?}", k.problems);
        assert_eq!(parse_keyed(""), Keyed::default());
    }

    #[test]
    fn event_files_max_empty_and_garbage() {
        // pids.events: the refused forks are the `max` line (v1 and v2).
        assert_eq!(parse_keyed("max 7\n").get("max"), Some(7));
        assert_eq!(parse_keyed("max 0\n").get("max"), Some(0));
        // Newer kernels add `max.imposed`; it is not the refusals.
        let k = parse_keyed("max 2\nmax.imposed 5\n");
        assert_eq!((k.get("max"), k.get("max.imposed")), (Some(2), Some(5)));
        // v2 memory.events and v1 memory.oom_control: oom_kill among other keys.
        let events = parse_keyed("low 0\nhigh 5\nmax 9\noom 1\noom_kill 1\noom_group_kill 0\n");
        assert_eq!(events.get("oom_kill"), Some(1));
        let control = parse_keyed("oom_kill_disable 0\nunder_oom 1\noom_kill 3\n");
        assert_eq!(control.get("oom_kill"), Some(3));
        // Before kernel 4.13, oom_control has no oom_kill line: absent, not 0.
        assert_eq!(
            parse_keyed("oom_kill_disable 0\nunder_oom 0\n").get("oom_kill"),
            None
        );
        // Empty: nothing, no problem.
        assert_eq!(parse_keyed("").get("max"), None);
        assert!(parse_keyed("\n").problems.is_empty());
        // Garbage: the key is absent and the line is reported.
        for text in [
            "max\n",
            "max -1\n",
            "max lots\n",
            "max 1 2\n",
            "max 99999999999999999999\n",
        ] {
            let k = parse_keyed(text);
            assert_eq!(k.get("max"), None, "{text:?}");
            assert_eq!(k.problems.len(), 1, "{text:?}");
        }
    }

    #[test]
    fn pressure_with_and_without_full() {
        let p = parse_pressure(
            "some avg10=1.50 avg60=0.12 avg300=0.00 total=681245\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
        )
        .unwrap();
        let some = p.some.unwrap();
        assert_eq!(some.avg10, 1.5);
        assert_eq!(some.avg60, 0.12);
        assert_eq!(some.total_usec, 681_245);
        assert_eq!(p.full.unwrap().total_usec, 0);
        let cpu_old = parse_pressure("some avg10=0.00 avg60=0.00 avg300=0.00 total=7\n").unwrap();
        assert!(cpu_old.full.is_none());
    }

    #[test]
    fn pressure_garbage_is_an_error_not_a_panic() {
        assert!(parse_pressure("").is_err());
        assert!(parse_pressure("some").is_err());
        assert!(parse_pressure("some avg10=x avg60=0 avg300=0 total=1").is_err());
        assert!(parse_pressure("some avg10=0 avg60=0 avg300=0").is_err());
        assert!(parse_pressure("some avg10=0 avg60=0 avg300=0 total=-1").is_err());
        assert!(parse_pressure("sometimes avg10=0 avg60=0 avg300=0 total=1").is_err());
        assert!(parse_pressure("full avg10=0 avg60=0 avg300=0 total=1").is_err());
        assert!(parse_pressure("some avg10=NaN avg60=0 avg300=0 total=1").is_err());
    }

    #[test]
    fn freezer_states() {
        assert_eq!(parse_freezer_v1("THAWED\n"), Ok(FreezerState::Thawed));
        assert_eq!(parse_freezer_v1("FREEZING\n"), Ok(FreezerState::Freezing));
        assert_eq!(parse_freezer_v1("FROZEN"), Ok(FreezerState::Frozen));
        assert!(parse_freezer_v1("frozen").is_err());
        assert!(parse_freezer_v1("").is_err());
        assert_eq!(parse_bool01("1\n"), Ok(true));
        assert_eq!(parse_bool01("0"), Ok(false));
        assert!(parse_bool01("2").is_err());
        assert_eq!(
            freezer_v2(Some(true), Some(true)),
            Some(FreezerState::Frozen)
        );
        assert_eq!(
            freezer_v2(Some(true), Some(false)),
            Some(FreezerState::Freezing)
        );
        assert_eq!(
            freezer_v2(Some(false), Some(false)),
            Some(FreezerState::Thawed)
        );
        assert_eq!(
            freezer_v2(Some(false), Some(true)),
            Some(FreezerState::Frozen)
        );
        assert_eq!(freezer_v2(None, None), None);
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-1\n"), Ok("0-1".to_string()));
        assert_eq!(parse_cpu_list("0,2-3,8\n"), Ok("0,2-3,8".to_string()));
        assert_eq!(parse_cpu_list("\n"), Ok(String::new()));
        assert!(parse_cpu_list("0-").is_err());
        assert!(parse_cpu_list("a,b").is_err());
        assert!(parse_cpu_list("0,,1").is_err());
    }

    #[test]
    fn procs_are_counted() {
        assert_eq!(parse_procs(""), Ok(0));
        assert_eq!(parse_procs("1\n22\n333\n"), Ok(3));
        assert!(parse_procs("1\nabc\n").is_err());
    }

    #[test]
    fn cpu_limit_in_cpus() {
        assert_eq!(
            cpu_limit_cpus(Limit::Value(50_000), 100_000),
            Some(Limit::Value(0.5))
        );
        assert_eq!(cpu_limit_cpus(Limit::Max, 100_000), Some(Limit::Max));
        assert_eq!(cpu_limit_cpus(Limit::Value(1), 0), None);
    }

    #[test]
    fn excerpts_are_short_and_clean() {
        assert_eq!(excerpt("a\x1bb\n"), "a?b");
        assert_eq!(excerpt(&"x".repeat(100)).chars().count(), 41);
    }
}
