//! The I/O limit parsers on file contents captured from real kernels — this host's v1
//! `blkio.throttle.*_device` files (kernel 6.18, a loop device limited to 1 MiB/s written and
//! 100 reads/s), the v2 `io.max` and `io.weight` formats of the kernel's documentation
//! (Documentation/admin-guide/cgroup-v2.rst) — and on garbage.

use super::*;

const LOOP0: DevNum = DevNum { major: 7, minor: 0 };
const SDA: DevNum = DevNum { major: 8, minor: 0 };
const SDB: DevNum = DevNum {
    major: 8,
    minor: 16,
};

/// `io.max` as cgroup-v2.rst shows it after `echo "8:16 rbps=2097152 wiops=120" > io.max`.
const V2_IO_MAX: &str = "8:16 rbps=2097152 wbps=max riops=max wiops=120\n";

#[test]
fn io_max_as_the_kernel_prints_it() {
    let parsed = parse_io_max(V2_IO_MAX);
    assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
    assert_eq!(
        parsed.devices,
        [(
            SDB,
            DeviceRates {
                read_bps: Some(2_097_152),
                write_iops: Some(120),
                ..DeviceRates::default()
            }
        )]
    );
    assert_eq!(parse_io_max(""), ParsedRates::default());
}

#[test]
fn io_max_all_max_is_no_device_and_a_missing_key_is_no_limit() {
    let parsed =
        parse_io_max("8:0 rbps=max wbps=max riops=max wiops=max\n8:16 wbps=1048576\n7:0 riops=0\n");
    assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
    assert_eq!(
        parsed.devices,
        [
            (
                SDB,
                DeviceRates {
                    write_bps: Some(1 << 20),
                    ..DeviceRates::default()
                }
            ),
            // v2 takes 0 as a value (nothing passes): a limit, unlike v1's 0.
            (
                LOOP0,
                DeviceRates {
                    read_iops: Some(0),
                    ..DeviceRates::default()
                }
            ),
        ]
    );
}

#[test]
fn io_max_odd_lines_are_skipped_with_a_problem_each() {
    let text = "garbage\n\
                8:0 wbps=-5 rbps=10\n\
                8:16 wbps=100 future=7 other=1\n\
                8:16 wbps=200\n\
                7:0 wbps\n\
                7:1 wbps=\n\
                \u{1b}[2J 1\n";
    let parsed = parse_io_max(text);
    assert_eq!(
        parsed.devices,
        [(
            SDB,
            DeviceRates {
                write_bps: Some(100),
                ..DeviceRates::default()
            }
        )]
    );
    let problems = parsed.problems.join("\n");
    for needle in [
        "\"garbage\"",
        "device 8:0: wbps: negative value",
        "device 8:16 listed twice",
        "device 7:0: \"wbps\" is not key=value",
        "device 7:1: wbps: no value",
        "unknown keys skipped: future, other",
    ] {
        assert!(problems.contains(needle), "no {needle:?} in:\n{problems}");
    }
    // The escape line is one more "not MAJ:MIN" problem, cleaned.
    assert_eq!(parsed.problems.len(), 7, "{problems}");
    assert!(!problems.contains('\u{1b}'), "cleaned: {problems}");
}

#[test]
fn io_max_value_reads_one_key_of_a_line() {
    let line = "8:16 rbps=2097152 wbps=max riops=max wiops=120";
    assert_eq!(
        io_max_value(line, "rbps"),
        Some(Ok(Limit::Value(2_097_152)))
    );
    assert_eq!(io_max_value(line, "wbps"), Some(Ok(Limit::Max)));
    assert_eq!(io_max_value("8:16 wbps=1", "rbps"), None);
    // The device number is never a key.
    assert_eq!(io_max_value("rbps=1 wbps=2", "rbps"), None);
    assert!(matches!(io_max_value("8:0 rbps=x", "rbps"), Some(Err(_))));
}

#[test]
fn v1_throttle_files_from_this_host_merge_into_one_list() {
    let mut parsed = ParsedRates::default();
    // This host's files, as read after the two limits were written.
    parse_throttle_device("", ThrottleFile::ReadBps, &mut parsed);
    parse_throttle_device("7:0 100\n", ThrottleFile::ReadIops, &mut parsed);
    parse_throttle_device("7:0 1048576\n", ThrottleFile::WriteBps, &mut parsed);
    parse_throttle_device("8:0 0\n8:16 5\n", ThrottleFile::WriteIops, &mut parsed);
    assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
    assert_eq!(
        parsed.devices,
        [
            (
                LOOP0,
                DeviceRates {
                    read_iops: Some(100),
                    write_bps: Some(1 << 20),
                    ..DeviceRates::default()
                }
            ),
            // 8:0's 0 is no limit: not listed.
            (
                SDB,
                DeviceRates {
                    write_iops: Some(5),
                    ..DeviceRates::default()
                }
            ),
        ]
    );
}

#[test]
fn v1_throttle_odd_lines_are_skipped_with_a_problem_each() {
    let mut parsed = ParsedRates::default();
    parse_throttle_device(
        "8:0 10\n8:0 20\nnonsense\n8:16 -1\n8:32\n7:0 1 2\n9:0 99999999999999999999\n",
        ThrottleFile::ReadBps,
        &mut parsed,
    );
    assert_eq!(
        parsed.devices,
        [(
            SDA,
            DeviceRates {
                read_bps: Some(10),
                ..DeviceRates::default()
            }
        )]
    );
    let problems = parsed.problems.join("\n");
    for needle in [
        "device 8:0 listed twice",
        "\"nonsense\"",
        "device 8:16: negative value",
        "\"8:32\"",
        "\"7:0 1 2\"",
        "device 9:0: number too large",
    ] {
        assert!(problems.contains(needle), "no {needle:?} in:\n{problems}");
    }
    assert_eq!(parsed.problems.len(), 6, "{problems}");
}

#[test]
fn weights_v2_default_line_v1_bare_number_per_device_lines_skipped() {
    // cgroup-v2.rst's io.weight example.
    assert_eq!(
        parse_weight("default 100\n8:16 200\n8:0 50\n"),
        Ok(Some(100))
    );
    // v1 blkio.weight / blkio.bfq.weight.
    assert_eq!(parse_weight("500\n"), Ok(Some(500)));
    assert_eq!(parse_weight(""), Ok(None));
    assert_eq!(parse_weight("8:16 200\n"), Ok(None));
    for bad in [
        "default\n",
        "default x\n",
        "weight 100\n",
        "default 100\ndefault 200\n",
        "-1\n",
        "1 2 3\n",
    ] {
        assert!(parse_weight(bad).is_err(), "{bad:?}");
    }
}
