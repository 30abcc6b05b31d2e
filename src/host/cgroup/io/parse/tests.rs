//! The block I/O parsers on file contents captured from real kernels — this host's v1
//! blk-throttle files (kernel 6.18, a cgroup that wrote 8 MiB and read 1 MiB with `O_DIRECT`
//! on a loop device) and the test VM's v2 `io.stat` (Debian 6.1) — and on garbage.

use super::*;

/// `blkio.throttle.io_service_bytes_recursive` of the cgroup, as read on this host.
const V1_BYTES: &str = "7:0 Read 1048576\n7:0 Write 8388608\n7:0 Sync 9437184\n7:0 Async 0\n\
                        7:0 Discard 0\n7:0 Total 9437184\nTotal 9437184\n";
/// `blkio.throttle.io_serviced_recursive` of the same cgroup.
const V1_IOS: &str = "7:0 Read 16\n7:0 Write 16\n7:0 Sync 32\n7:0 Async 0\n7:0 Discard 0\n\
                      7:0 Total 32\nTotal 32\n";
/// The same file of a cgroup on a host where blk-throttle counts no device yet.
const V1_NOTHING_COUNTED: &str = "Total 0\n";
/// `io.stat` of a cgroup in the v2 VM (Debian 6.1) that wrote 8 MiB and read 1 MiB with
/// `O_DIRECT` on a loop device (its backing file on tmpfs), as read there.
const V2_IO_STAT: &str = "7:0 rbytes=1048576 wbytes=8388608 rios=16 wios=8 dbytes=0 dios=0\n";

const LOOP0: DevNum = DevNum { major: 7, minor: 0 };

fn counts(read: u64, write: u64, discard: u64) -> DeviceCounts {
    DeviceCounts {
        read: Some(read),
        write: Some(write),
        discard: Some(discard),
        ..DeviceCounts::default()
    }
}

#[test]
fn device_numbers() {
    assert_eq!(DevNum::parse("7:3"), Some(DevNum { major: 7, minor: 3 }));
    assert_eq!(
        DevNum::parse("259:12").map(|d| d.to_string()).as_deref(),
        Some("259:12")
    );
    for bad in [
        "",
        ":",
        "7:",
        ":3",
        "7",
        "-7:3",
        "7:+3",
        "a:b",
        "7:3:1",
        "99999999999:0",
    ] {
        assert_eq!(DevNum::parse(bad), None, "{bad:?}");
    }
}

#[test]
fn v1_rwstat_bytes_and_operations_from_this_host() {
    let bytes = parse_rwstat(V1_BYTES, RwstatUnit::Bytes);
    assert!(bytes.problems.is_empty(), "{:?}", bytes.problems);
    assert_eq!(bytes.devices, [(LOOP0, counts(1_048_576, 8_388_608, 0))]);
    let ios = parse_rwstat(V1_IOS, RwstatUnit::Ios);
    assert!(ios.problems.is_empty(), "{:?}", ios.problems);
    let (_, c) = ios.devices[0];
    assert_eq!(
        (c.read_ios, c.write_ios, c.discard_ios, c.read),
        (Some(16), Some(16), Some(0), None)
    );
    // Nothing counted: the grand total alone, no device, no problem.
    let nothing = parse_rwstat(V1_NOTHING_COUNTED, RwstatUnit::Bytes);
    assert_eq!(nothing, Parsed::default());
    assert_eq!(parse_rwstat("", RwstatUnit::Bytes), Parsed::default());
}

#[test]
fn v1_rwstat_before_discard_existed_has_no_discard() {
    // Kernels before 4.19 print no Discard line: no figure, not 0.
    let old =
        "8:0 Read 4096\n8:0 Write 0\n8:0 Sync 0\n8:0 Async 4096\n8:0 Total 4096\nTotal 4096\n";
    let parsed = parse_rwstat(old, RwstatUnit::Bytes);
    assert!(parsed.problems.is_empty());
    assert_eq!(parsed.devices[0].1.discard, None);
    assert_eq!(parsed.devices[0].1.read, Some(4096));
}

#[test]
fn v1_rwstat_garbage_is_skipped_and_described() {
    let text = "7:0 Read 10\n\
                7:0 Write -5\n\
                7:0 Frobnicate 3\n\
                x:y Read 1\n\
                7:0 Read 11\n\
                just garbage here please\n\
                Total lots\n\
                8:0 Write 18446744073709551616\n\
                8:16 Write 7\n";
    let parsed = parse_rwstat(text, RwstatUnit::Bytes);
    // 7:0 keeps its first Read; its bad Write is absent, not 0.
    assert_eq!(
        parsed.devices,
        [
            (
                LOOP0,
                DeviceCounts {
                    read: Some(10),
                    ..DeviceCounts::default()
                }
            ),
            (
                DevNum {
                    major: 8,
                    minor: 16
                },
                DeviceCounts {
                    write: Some(7),
                    ..DeviceCounts::default()
                }
            ),
        ]
    );
    assert_eq!(parsed.problems.len(), 7, "{:?}", parsed.problems);
    assert!(parsed.problems.iter().any(|p| p.contains("Frobnicate")));
    assert!(parsed.problems.iter().any(|p| p.contains("listed twice")));
}

#[test]
fn v2_io_stat_from_the_vm() {
    let parsed = parse_io_stat(V2_IO_STAT);
    assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
    assert_eq!(parsed.devices.len(), 1);
    let (dev, c) = parsed.devices[0];
    assert_eq!(dev, LOOP0);
    assert_eq!(
        c,
        DeviceCounts {
            read: Some(1_048_576),
            write: Some(8_388_608),
            discard: Some(0),
            read_ios: Some(16),
            write_ios: Some(8),
            discard_ios: Some(0),
        }
    );
    assert_eq!(parse_io_stat(""), Parsed::default());
}

#[test]
fn v2_io_stat_other_policies_keys_old_kernels_and_unknown_keys() {
    // iocost and iolatency add their keys: known, skipped silently.
    let text = "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=5 dios=6 cost.vrate=100.00 \
                cost.usage=7 cost.wait=0 cost.indebt=0 cost.indelay=0 depth=max avg_lat=3 win=1\n";
    let parsed = parse_io_stat(text);
    assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
    assert_eq!(parsed.devices[0].1.discard_ios, Some(6));
    // Before 5.1 there is no dbytes/dios: absent, not 0.
    let old = parse_io_stat("8:0 rbytes=1 wbytes=2 rios=3 wios=4\n");
    assert_eq!(old.devices[0].1.discard, None);
    // A key no kernel writes: the counters stay, the key is noted once for the file.
    let odd = parse_io_stat("8:0 rbytes=1 frob=2\n8:16 rbytes=3 frob=4 zap=5\n");
    assert_eq!(odd.devices.len(), 2);
    assert_eq!(odd.problems, ["unknown keys skipped: frob, zap"]);
}

#[test]
fn v2_io_stat_garbage_skips_the_line_whole() {
    let text = "8:0 rbytes=1 wbytes=x\n\
                8:0 rbytes=2 wbytes=3\n\
                8:0 rbytes=9\n\
                not a device line\n\
                8:16 rbytes=1 wbytes\n\
                8:32 rbytes=-1\n\
                8:48 rbytes=99999999999999999999\n\
                \x1b[2J 1\n";
    let parsed = parse_io_stat(text);
    // Only the well-formed first line of 8:0 counts; the others are described.
    assert_eq!(parsed.devices.len(), 1);
    assert_eq!(parsed.devices[0].1.read, Some(2));
    assert_eq!(parsed.problems.len(), 7, "{:?}", parsed.problems);
    // Problems quote cleaned text only.
    assert!(parsed.problems.iter().all(|p| !p.contains('\x1b')));
}
