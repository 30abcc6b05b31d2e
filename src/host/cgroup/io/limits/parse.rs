//! Pure parsers for the I/O limit files: strings in, per-device limits and a weight out.
//!
//! Formats, as the kernel prints them:
//! - v2 `io.max`: one line per limited device, `MAJ:MIN rbps=N wbps=N riops=N wiops=N`, each
//!   value a number or `max` (no limit); a device whose values are all `max` has no line.
//! - v1 `blkio.throttle.{read,write}_{bps,iops}_device`: one `MAJ:MIN N` line per limited
//!   device; `0` means no limit (what writing `MAJ:MIN 0` leaves where the kernel still lists it).
//! - The weight files: v2 `io.weight` and `io.bfq.weight` print `default N` and then a
//!   `MAJ:MIN N` line per device with a weight of its own; v1 `blkio.weight` (CFQ) and
//!   `blkio.bfq.weight` print the bare number.
//!
//! Lines that do not parse, a device listed twice and keys no kernel writes are skipped and
//! described in `problems` (the reader turns them into notes); nothing here panics on any
//! input. Per-device weights are valid kernel output that [`super::IoLimits`] has no place for:
//! skipped without a note.

use super::super::parse::{DevNum, parse_device_lines};
use crate::host::cgroup::Limit;
use crate::host::cgroup::parse::{excerpt, parse_limit_v2, parse_u64};

/// One device's rates as a file has them (`None`: no limit, or the file does not say).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeviceRates {
    pub read_bps: Option<u64>,
    pub write_bps: Option<u64>,
    pub read_iops: Option<u64>,
    pub write_iops: Option<u64>,
}

impl DeviceRates {
    /// True when no direction is limited.
    pub fn is_unlimited(&self) -> bool {
        *self == DeviceRates::default()
    }
}

/// A parsed per-device file: its devices in the file's order, and what was skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedRates {
    pub devices: Vec<(DevNum, DeviceRates)>,
    pub problems: Vec<String>,
}

/// Which rate a v1 `blkio.throttle.*_device` file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleFile {
    ReadBps,
    WriteBps,
    ReadIops,
    WriteIops,
}

impl ThrottleFile {
    pub const ALL: [ThrottleFile; 4] = [
        ThrottleFile::ReadBps,
        ThrottleFile::WriteBps,
        ThrottleFile::ReadIops,
        ThrottleFile::WriteIops,
    ];

    /// The file's name (`blkio.throttle.write_bps_device`).
    pub fn file(self) -> &'static str {
        match self {
            ThrottleFile::ReadBps => "blkio.throttle.read_bps_device",
            ThrottleFile::WriteBps => "blkio.throttle.write_bps_device",
            ThrottleFile::ReadIops => "blkio.throttle.read_iops_device",
            ThrottleFile::WriteIops => "blkio.throttle.write_iops_device",
        }
    }

    /// The field it fills.
    pub fn slot(self, rates: &mut DeviceRates) -> &mut Option<u64> {
        match self {
            ThrottleFile::ReadBps => &mut rates.read_bps,
            ThrottleFile::WriteBps => &mut rates.write_bps,
            ThrottleFile::ReadIops => &mut rates.read_iops,
            ThrottleFile::WriteIops => &mut rates.write_iops,
        }
    }
}

/// The value of `key=` in one `io.max` line (`wbps` of `8:0 rbps=max wbps=1048576 …`): `None`
/// when the line lacks the key, else the limit or why it is not one. The acts read old values
/// through it too (`control::limits::io`).
pub fn io_max_value(line: &str, key: &str) -> Option<Result<Limit<u64>, String>> {
    line.split_whitespace().skip(1).find_map(|pair| {
        let (k, value) = pair.split_once('=')?;
        (k == key).then(|| limit_value(value))
    })
}

/// One `io.max` value: `max` or a number.
fn limit_value(value: &str) -> Result<Limit<u64>, String> {
    if value.is_empty() {
        return Err("no value".into());
    }
    parse_limit_v2(value)
}

/// v2 `io.max`. A line whose device number or any value does not parse is skipped whole (half
/// a device's limits would misstate it); an unknown key is noted once per file; a key the line
/// lacks is no limit.
pub fn parse_io_max(text: &str) -> ParsedRates {
    let (mut devices, problems) =
        parse_device_lines(text, |rates: &mut DeviceRates, key, value| {
            let slot = match key {
                "rbps" => &mut rates.read_bps,
                "wbps" => &mut rates.write_bps,
                "riops" => &mut rates.read_iops,
                "wiops" => &mut rates.write_iops,
                _ => return Ok(false),
            };
            *slot = limit_value(value)?.value().copied();
            Ok(true)
        });
    devices.retain(|(_, rates)| !rates.is_unlimited());
    ParsedRates { devices, problems }
}

/// One v1 `blkio.throttle.*_device` file into `parsed` (devices merged by number: the four
/// files fill one list). `0` is no limit; a device listed twice in one file keeps its first
/// line.
pub fn parse_throttle_device(text: &str, file: ThrottleFile, parsed: &mut ParsedRates) {
    let mut seen: Vec<DevNum> = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let [dev, value] = words.as_slice() else {
            parsed
                .problems
                .push(format!("not \"MAJ:MIN N\": {:?}", excerpt(line)));
            continue;
        };
        let Some(dev) = DevNum::parse(dev) else {
            parsed
                .problems
                .push(format!("not \"MAJ:MIN N\": {:?}", excerpt(line)));
            continue;
        };
        let value = match parse_u64(value) {
            Ok(value) => value,
            Err(why) => {
                parsed.problems.push(format!("device {dev}: {why}"));
                continue;
            }
        };
        if seen.contains(&dev) {
            parsed
                .problems
                .push(format!("device {dev} listed twice: {:?}", excerpt(line)));
            continue;
        }
        seen.push(dev);
        if value == 0 {
            continue;
        }
        let at = match parsed.devices.iter().position(|(d, _)| *d == dev) {
            Some(at) => at,
            None => {
                parsed.devices.push((dev, DeviceRates::default()));
                parsed.devices.len() - 1
            }
        };
        *file.slot(&mut parsed.devices[at].1) = Some(value);
    }
}

/// A weight file: the `default N` line (v2), or the bare number (v1). Per-device lines are
/// skipped (see the module); anything else is a problem. `Ok(None)`: no default in the file.
pub fn parse_weight(text: &str) -> Result<Option<u64>, String> {
    let mut weight = None;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let value = match words.as_slice() {
            ["default", value] | [value] => value,
            [dev, _] if DevNum::parse(dev).is_some() => continue,
            _ => return Err(format!("not \"default N\" nor \"N\": {:?}", excerpt(line))),
        };
        if weight.is_some() {
            return Err(format!("a second default weight: {:?}", excerpt(line)));
        }
        weight = Some(parse_u64(value)?);
    }
    Ok(weight)
}

#[cfg(test)]
mod tests;
