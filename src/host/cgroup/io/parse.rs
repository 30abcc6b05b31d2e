//! Pure parsers for the block I/O statistics files: strings in, per-device counters out.
//!
//! Two formats: v2 `io.stat` (one line per device, `MAJ:MIN rbytes=N wbytes=N rios=N wios=N
//! dbytes=N dios=N`, keys of other I/O policies after them) and the v1 "rwstat" files
//! (`blkio.throttle.io_service_bytes`, `blkio.throttle.io_serviced`, their `_recursive`
//! variants and the CFQ/BFQ `blkio[.bfq].io_service_bytes`/`io_serviced`: five lines per
//! device, `MAJ:MIN Read|Write|Sync|Async|Discard|Total N`, and a last `Total N`). Lines that do
//! not parse, a device listed twice and keys no kernel policy writes are skipped and described
//! in `problems` (the reader turns them into notes); nothing here panics on any input.

use super::super::parse::excerpt;

/// A block device number (`MAJ:MIN`, as the kernel prints it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DevNum {
    pub major: u32,
    pub minor: u32,
}

impl DevNum {
    /// `MAJ:MIN` (e.g. `7:3`); `None` for anything else (signs, spaces, overflow).
    pub fn parse(text: &str) -> Option<DevNum> {
        let (major, minor) = text.split_once(':')?;
        let number = |t: &str| {
            (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
                .then(|| t.parse::<u32>().ok())
                .flatten()
        };
        Some(DevNum {
            major: number(major)?,
            minor: number(minor)?,
        })
    }
}

impl std::fmt::Display for DevNum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.major, self.minor)
    }
}

/// One device's counters as a file has them (`None`: the file has no such figure).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeviceCounts {
    pub read: Option<u64>,
    pub write: Option<u64>,
    pub discard: Option<u64>,
    /// v2 only: operations (`rios`, `wios`, `dios`); a v1 rwstat file counts one thing.
    pub read_ios: Option<u64>,
    pub write_ios: Option<u64>,
    pub discard_ios: Option<u64>,
}

/// A parsed statistics file: its devices in the file's order, and what was skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    pub devices: Vec<(DevNum, DeviceCounts)>,
    pub problems: Vec<String>,
}

impl Parsed {
    /// The entry of `dev`, added (in file order) when absent.
    fn entry(&mut self, dev: DevNum) -> &mut DeviceCounts {
        let at = match self.devices.iter().position(|(d, _)| *d == dev) {
            Some(at) => at,
            None => {
                self.devices.push((dev, DeviceCounts::default()));
                self.devices.len() - 1
            }
        };
        &mut self.devices[at].1
    }
}

/// Keys of `io.stat` written by I/O policies other than the statistics themselves: iocost
/// (`cost.*`) and iolatency (`depth`, `avg_lat`, `win`, `missed`, `total`, and with
/// `blkcg_debug_stats` `use_delay`, `delay_nsec`). Known, not counted: skipped without a note.
fn other_policy_key(key: &str) -> bool {
    key.starts_with("cost.")
        || matches!(
            key,
            "depth" | "avg_lat" | "win" | "missed" | "total" | "use_delay" | "delay_nsec"
        )
}

/// A counter value: digits only (the kernel prints unsigned decimals).
fn counter(value: &str) -> Option<u64> {
    (!value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()))
        .then(|| value.parse::<u64>().ok())
        .flatten()
}

/// v2 `io.stat`. A line whose device number or any counter does not parse is skipped whole
/// (a partial device would make totals wrong); an unknown key is noted once per file.
pub fn parse_io_stat(text: &str) -> Parsed {
    let (devices, problems) = parse_device_lines(text, |counts: &mut DeviceCounts, key, value| {
        let slot = match key {
            "rbytes" => &mut counts.read,
            "wbytes" => &mut counts.write,
            "dbytes" => &mut counts.discard,
            "rios" => &mut counts.read_ios,
            "wios" => &mut counts.write_ios,
            "dios" => &mut counts.discard_ios,
            other => return Ok(other_policy_key(other)),
        };
        *slot = Some(counter(value).ok_or_else(|| format!("not a counter: {:?}", excerpt(value)))?);
        Ok(true)
    });
    Parsed { devices, problems }
}

/// The files of one `MAJ:MIN key=value ...` line per device (v2 `io.stat`, `io.max`): each
/// device's values handed to `take` key by key, which answers `Ok(true)` for a key it knows
/// (kept or deliberately passed over), `Ok(false)` for one it does not (noted once per file,
/// the line kept) and `Err(why)` for a value that does not parse (the whole line skipped: half
/// a device would misstate it). A line without a device number, a device already kept from an
/// earlier line and a word that is not `key=value` are skipped too; each skip is described in
/// the problems.
pub fn parse_device_lines<T: Default>(
    text: &str,
    mut take: impl FnMut(&mut T, &str, &str) -> Result<bool, String>,
) -> (Vec<(DevNum, T)>, Vec<String>) {
    let mut devices: Vec<(DevNum, T)> = Vec::new();
    let mut problems = Vec::new();
    let mut unknown: Vec<String> = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let mut words = line.split_whitespace();
        let Some(dev) = words.next().and_then(DevNum::parse) else {
            problems.push(format!(
                "not \"MAJ:MIN key=value ...\": {:?}",
                excerpt(line)
            ));
            continue;
        };
        if devices.iter().any(|(d, _)| *d == dev) {
            problems.push(format!("device {dev} listed twice: {:?}", excerpt(line)));
            continue;
        }
        let mut values = T::default();
        let mut bad = None;
        for pair in words {
            let Some((key, value)) = pair.split_once('=') else {
                bad = Some(format!("{:?} is not key=value", excerpt(pair)));
                break;
            };
            match take(&mut values, key, value) {
                Ok(true) => {}
                Ok(false) => {
                    let key = excerpt(key);
                    if !unknown.contains(&key) {
                        unknown.push(key);
                    }
                }
                Err(why) => {
                    bad = Some(format!("{key}: {why}"));
                    break;
                }
            }
        }
        match bad {
            Some(why) => problems.push(format!("device {dev}: {why}")),
            None => devices.push((dev, values)),
        }
    }
    if !unknown.is_empty() {
        problems.push(format!("unknown keys skipped: {}", unknown.join(", ")));
    }
    (devices, problems)
}

/// What a v1 rwstat file counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RwstatUnit {
    /// `*io_service_bytes*`: bytes (into `read`/`write`/`discard`).
    Bytes,
    /// `*io_serviced*`: operations (into `read_ios`/`write_ios`/`discard_ios`).
    Ios,
}

/// A v1 rwstat file. `Sync`, `Async` and the per-device and final `Total` lines are sums of
/// the others and are not kept; a line that does not parse is skipped and described.
pub fn parse_rwstat(text: &str, unit: RwstatUnit) -> Parsed {
    let mut parsed = Parsed::default();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            // The file's grand total (also the whole file when nothing is counted).
            ["Total", value] if counter(value).is_some() => {}
            [dev, op, value] => {
                let Some(dev) = DevNum::parse(dev) else {
                    parsed
                        .problems
                        .push(format!("not \"MAJ:MIN Op N\": {:?}", excerpt(line)));
                    continue;
                };
                let Some(value) = counter(value) else {
                    parsed.problems.push(format!(
                        "device {dev} {op}: not a counter: {:?}",
                        excerpt(value)
                    ));
                    continue;
                };
                type Field = fn(&mut DeviceCounts) -> &mut Option<u64>;
                let field: Field = match (*op, unit) {
                    ("Read", RwstatUnit::Bytes) => |c| &mut c.read,
                    ("Write", RwstatUnit::Bytes) => |c| &mut c.write,
                    ("Discard", RwstatUnit::Bytes) => |c| &mut c.discard,
                    ("Read", RwstatUnit::Ios) => |c| &mut c.read_ios,
                    ("Write", RwstatUnit::Ios) => |c| &mut c.write_ios,
                    ("Discard", RwstatUnit::Ios) => |c| &mut c.discard_ios,
                    ("Sync" | "Async" | "Total", _) => continue,
                    (other, _) => {
                        parsed
                            .problems
                            .push(format!("device {dev}: unknown line {:?}", excerpt(other)));
                        continue;
                    }
                };
                let slot = field(parsed.entry(dev));
                if slot.is_some() {
                    parsed.problems.push(format!(
                        "device {dev} {op} listed twice: {:?}",
                        excerpt(line)
                    ));
                    continue;
                }
                *slot = Some(value);
            }
            _ => parsed
                .problems
                .push(format!("not \"MAJ:MIN Op N\": {:?}", excerpt(line))),
        }
    }
    parsed
}

#[cfg(test)]
mod tests;
