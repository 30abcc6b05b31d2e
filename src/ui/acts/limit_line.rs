//! The limit prompt's input line: what `isotop limit` takes, typed after the value.
//!
//! Grammar (words separated by spaces): `[VALUE] [for DURATION | --for DURATION]
//! [--period USEC] (CPU only) [--memory-high SIZE] (memory only) [--force] (memory only)`,
//! e.g. `0.5 for 10m`, `0.5 --period 50000`, `1G --memory-high 800M`, `256M --force`. The value
//! may be left out when an option changes something (`--memory-high 800M`). The I/O prompt
//! (`i`) has no value of its own, only options, each as many times as there are devices:
//! `--device-read-bps DEV=RATE --device-write-bps DEV=RATE --device-read-iops DEV=N
//! --device-write-iops DEV=N --io-weight N [for DURATION]`, e.g. `--device-write-bps
//! /dev/loop3=10M for 10m` (`max` or `0` clears a device's limit). An option may also be
//! written `--option=VALUE`. Every value is parsed exactly as the CLI parses it
//! (`control::limits::value`, `LimitRequest::parse`), so the dashboard and the CLI accept and
//! refuse the same text; the devices themselves are checked when the act is planned.

use std::time::Duration;

use super::LimitKind;
use crate::control::ControlError;
use crate::control::limits::io::IoKnob;
use crate::control::limits::{LimitInput, LimitRequest, value};
use crate::host::cgroup::io::IoLimits;

/// One limit prompt's line, split into the CLI's options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LimitLine {
    /// The prompt's own limit (`--cpus`, `--memory` or `--pids`; the I/O prompt has none).
    pub value: Option<String>,
    pub period: Option<String>,
    pub memory_high: Option<String>,
    /// `DEV=RATE` each, in the order typed (`--device-read-bps` …).
    pub device_read_bps: Vec<String>,
    pub device_write_bps: Vec<String>,
    pub device_read_iops: Vec<String>,
    pub device_write_iops: Vec<String>,
    pub io_weight: Option<String>,
    /// `for 10m` / `--for 10m`.
    pub for_duration: Option<String>,
    pub force: bool,
}

impl LimitLine {
    /// Splits `text` (see the module's grammar); the error says what is wrong.
    pub fn split(kind: LimitKind, text: &str) -> Result<LimitLine, ControlError> {
        let mut line = LimitLine::default();
        // `--option=VALUE` is `--option VALUE` (the CLI takes both).
        let mut words = text.split_whitespace().flat_map(|word| {
            match word
                .split_once('=')
                .filter(|(option, _)| option.starts_with("--"))
            {
                Some((option, rest)) => vec![option, rest],
                None => vec![word],
            }
        });
        let unknown = |word: &str, hint: &str| ControlError::InvalidValue {
            what: "option".into(),
            value: word.to_string(),
            hint: hint.to_string(),
        };
        let io = kind == LimitKind::Io;
        while let Some(word) = words.next() {
            let mut operand = |name: &str| {
                words
                    .next()
                    .filter(|w| !w.is_empty())
                    .map(str::to_string)
                    .ok_or_else(|| unknown(word, &format!("{name} needs a value after it")))
            };
            match word {
                "for" | "--for" => line.for_duration = Some(operand("--for")?),
                "--period" if kind == LimitKind::Cpu => line.period = Some(operand("--period")?),
                "--memory-high" if kind == LimitKind::Memory => {
                    line.memory_high = Some(operand("--memory-high")?)
                }
                "--force" if kind == LimitKind::Memory => line.force = true,
                "--io-weight" if io => line.io_weight = Some(operand("--io-weight")?),
                w if io && IoKnob::ALL.iter().any(|k| k.flag() == w) => {
                    let setting = operand(w)?;
                    line.devices_mut(w).push(setting);
                }
                w if w.starts_with('-') && w.len() > 1 && !w[1..].starts_with(char::is_numeric) => {
                    return Err(unknown(w, &options_hint(kind)));
                }
                w if io => return Err(unknown(w, &options_hint(kind))),
                w if line.value.is_none() => line.value = Some(w.to_string()),
                w => return Err(unknown(w, &options_hint(kind))),
            }
        }
        Ok(line)
    }

    /// The list a per-device option (`--device-write-bps`) adds to.
    fn devices_mut(&mut self, flag: &str) -> &mut Vec<String> {
        match flag {
            "--device-read-bps" => &mut self.device_read_bps,
            "--device-write-bps" => &mut self.device_write_bps,
            "--device-read-iops" => &mut self.device_read_iops,
            _ => &mut self.device_write_iops,
        }
    }

    /// The request the CLI would build from the same options.
    pub fn request(&self, kind: LimitKind) -> Result<LimitRequest, ControlError> {
        let value = self.value.as_deref();
        let mut input = LimitInput {
            period: self.period.as_deref(),
            memory_high: self.memory_high.as_deref(),
            device_read_bps: strs(&self.device_read_bps),
            device_write_bps: strs(&self.device_write_bps),
            device_read_iops: strs(&self.device_read_iops),
            device_write_iops: strs(&self.device_write_iops),
            io_weight: self.io_weight.as_deref(),
            force: self.force,
            ..LimitInput::default()
        };
        match kind {
            LimitKind::Cpu => input.cpus = value,
            LimitKind::Memory => input.memory = value,
            LimitKind::Pids => input.pids = value,
            LimitKind::Io => {}
        }
        LimitRequest::parse(&input)
    }

    /// How long until the change reverts by itself (`--for`), parsed as the CLI does.
    pub fn duration(&self) -> Result<Option<Duration>, ControlError> {
        self.for_duration
            .as_deref()
            .map(value::parse_duration)
            .transpose()
    }

    /// Splits and checks every part; the parsed request and duration.
    pub fn parse(
        kind: LimitKind,
        text: &str,
    ) -> Result<(LimitLine, LimitRequest, Option<Duration>), ControlError> {
        let line = LimitLine::split(kind, text)?;
        let request = line.request(kind)?;
        let duration = line.duration()?;
        Ok((line, request, duration))
    }
}

fn strs(words: &[String]) -> Vec<&str> {
    words.iter().map(String::as_str).collect()
}

/// The I/O prompt's text for `limits` as the kernel holds them: one option per device and
/// direction limited (the device as `MAJ:MIN`, which names it whatever `/dev` holds; rates in
/// the largest binary unit that divides them), the weight left out (a weight is not a limit,
/// and the read side's file may not be the one an act writes). Empty without limits.
pub fn io_text(limits: Option<&IoLimits>) -> String {
    let Some(limits) = limits else {
        return String::new();
    };
    let mut words = Vec::new();
    for knob in IoKnob::ALL {
        for device in &limits.devices {
            let (value, rate) = match knob {
                IoKnob::ReadBps => (device.read_bps, true),
                IoKnob::WriteBps => (device.write_bps, true),
                IoKnob::ReadIops => (device.read_iops, false),
                IoKnob::WriteIops => (device.write_iops, false),
            };
            if let Some(v) = value {
                let v = if rate { binary_size(v) } else { v.to_string() };
                words.push(format!("{} {}={v}", knob.flag(), device.device));
            }
        }
    }
    words.join(" ")
}

/// `n` bytes in the largest binary unit that divides it: `10M`, `1536K`, `1000`.
pub fn binary_size(n: u64) -> String {
    for (unit, size) in [("G", 1u64 << 30), ("M", 1 << 20), ("K", 1 << 10)] {
        if n >= size && n.is_multiple_of(size) {
            return format!("{}{unit}", n / size);
        }
    }
    n.to_string()
}

/// What the prompt of `kind` takes besides its value.
fn options_hint(kind: LimitKind) -> String {
    let own = match kind {
        LimitKind::Cpu => " --period USEC",
        LimitKind::Memory => " --memory-high SIZE --force",
        LimitKind::Pids => "",
        LimitKind::Io => {
            return "the I/O prompt takes options only: --device-read-bps DEV=RATE,                     --device-write-bps DEV=RATE, --device-read-iops DEV=N,                     --device-write-iops DEV=N (DEV a whole disk: /dev/sda or 8:0; RATE like                     10M; max or 0 clears), --io-weight N, for DURATION"
                .to_string();
        }
    };
    format!("after the value this prompt takes: for DURATION (or --for){own}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::cgroup::Limit;

    #[test]
    fn the_cli_options_are_taken_after_the_value() {
        let (line, request, duration) = LimitLine::parse(LimitKind::Cpu, "0.5 for 10m").unwrap();
        assert_eq!(line.value.as_deref(), Some("0.5"));
        assert_eq!(request.cpus.map(|c| c.0), Some(Limit::Value(500)));
        assert_eq!(duration, Some(Duration::from_secs(600)));

        let (_, request, duration) =
            LimitLine::parse(LimitKind::Cpu, "0.5 --period 50000 --for 90s").unwrap();
        assert_eq!(request.period_usec, Some(50_000));
        assert_eq!(duration, Some(Duration::from_secs(90)));

        let (line, request, _) =
            LimitLine::parse(LimitKind::Memory, "1G --memory-high 800M --force").unwrap();
        assert!(line.force && request.force);
        assert_eq!(request.memory, Some(Limit::Value(1 << 30)));
        assert_eq!(request.memory_high, Some(Limit::Value(800 << 20)));

        // Only an option: the value stays as it is.
        let (_, request, _) = LimitLine::parse(LimitKind::Memory, "--memory-high 1G").unwrap();
        assert_eq!(request.memory, None);
        assert_eq!(request.memory_high, Some(Limit::Value(1 << 30)));

        let (_, request, _) = LimitLine::parse(LimitKind::Pids, "max").unwrap();
        assert_eq!(request.pids, Some(Limit::Max));
    }

    #[test]
    fn what_the_cli_refuses_the_prompt_refuses() {
        for (kind, text) in [
            (LimitKind::Cpu, "0.5 for"),
            (LimitKind::Cpu, "0.5 for soon"),
            (LimitKind::Cpu, "0.5 --memory-high 1G"),
            (LimitKind::Pids, "100 --period 50000"),
            (LimitKind::Pids, "100 --force"),
            (LimitKind::Memory, "1G 2G"),
            (LimitKind::Memory, "1G --frobnicate"),
            (LimitKind::Cpu, "lots"),
            (LimitKind::Cpu, ""),
            (LimitKind::Cpu, "for 10m"),
            // Other prompts' options in the I/O prompt, its options in others, nothing asked.
            (LimitKind::Io, "--period 50000 --io-weight 100"),
            (LimitKind::Io, "--force --io-weight 100"),
            (LimitKind::Cpu, "0.5 --device-write-bps 7:3=1M"),
            (LimitKind::Memory, "1G --io-weight 100"),
            (LimitKind::Io, "for 10m"),
            (LimitKind::Io, ""),
        ] {
            assert!(
                LimitLine::parse(kind, text).is_err(),
                "{kind:?} {text:?} was taken"
            );
        }
    }

    /// Each device limit asked for: (device as typed, rate, value).
    fn asked(request: &LimitRequest) -> Vec<(&str, IoKnob, Limit<u64>)> {
        request
            .io
            .iter()
            .map(|d| (d.device.as_str(), d.knob, d.limit))
            .collect()
    }

    #[test]
    fn the_io_prompt_takes_the_cli_device_options() {
        let (line, request, duration) = LimitLine::parse(
            LimitKind::Io,
            "--device-write-bps /dev/loop3=10M --device-read-bps 7:3=1.5M \
             --device-read-iops=8:0=100 --device-write-iops 8:0=max --io-weight 200 for 10m",
        )
        .unwrap();
        assert_eq!(line.value, None);
        assert_eq!(line.device_write_bps, ["/dev/loop3=10M"]);
        assert_eq!(
            asked(&request),
            [
                ("7:3", IoKnob::ReadBps, Limit::Value(3 << 19)),
                ("/dev/loop3", IoKnob::WriteBps, Limit::Value(10 << 20)),
                ("8:0", IoKnob::ReadIops, Limit::Value(100)),
                ("8:0", IoKnob::WriteIops, Limit::Max),
            ]
        );
        assert_eq!(request.io_weight, Some(200));
        assert_eq!(request.cpus, None);
        assert_eq!(duration, Some(Duration::from_secs(600)));

        // A device given for two directions, and `0` clearing one as the CLI's does.
        let (_, request, _) = LimitLine::parse(
            LimitKind::Io,
            "--device-write-bps 7:3=0 --device-write-bps 7:4=1G",
        )
        .unwrap();
        assert_eq!(request.io[0].limit, Limit::Max);
        assert_eq!(request.io[1].limit, Limit::Value(1 << 30));

        // The weight alone.
        let (_, request, _) = LimitLine::parse(LimitKind::Io, "--io-weight=50").unwrap();
        assert!(request.io.is_empty());
        assert_eq!(request.io_weight, Some(50));
    }

    #[test]
    fn the_io_prompt_refuses_what_the_cli_refuses_and_says_what_it_takes() {
        let message = |kind, text| match LimitLine::parse(kind, text) {
            Ok(_) => panic!("{kind:?} {text:?} was taken"),
            Err(e) => e.to_string(),
        };
        // A bare value: the prompt has none of its own.
        let e = message(LimitKind::Io, "10M");
        assert!(
            e.contains("takes options only") && e.contains("--device-write-bps"),
            "{e}"
        );
        // No `=`.
        let e = message(LimitKind::Io, "--device-write-bps /dev/loop3");
        assert!(e.contains("DEV=VALUE"), "{e}");
        // A rate that is no size, iops that are no count, a weight out of range.
        let e = message(LimitKind::Io, "--device-write-bps 7:3=fast");
        assert!(e.contains("bytes per second"), "{e}");
        let e = message(LimitKind::Io, "--device-read-iops 7:3=1.5");
        assert!(e.contains("operations per second"), "{e}");
        let e = message(LimitKind::Io, "--io-weight 0");
        assert!(e.contains("--io-weight"), "{e}");
        // An option with nothing after it.
        let e = message(LimitKind::Io, "--device-read-bps");
        assert!(e.contains("needs a value"), "{e}");
        let e = message(LimitKind::Io, "--device-read-bps=");
        assert!(e.contains("needs a value"), "{e}");
    }

    #[test]
    fn the_io_prompt_starts_from_the_limits_in_force_and_reads_them_back() {
        use crate::host::cgroup::io::{IoDeviceLimit, IoLimits};
        assert_eq!(io_text(None), "");
        assert_eq!(io_text(Some(&IoLimits::default())), "");
        let limits = IoLimits {
            devices: vec![
                IoDeviceLimit {
                    device: "7:3".into(),
                    name: Some("loop3".into()),
                    write_bps: Some(10 << 20),
                    read_iops: Some(250),
                    ..IoDeviceLimit::default()
                },
                IoDeviceLimit {
                    device: "8:0".into(),
                    name: None,
                    read_bps: Some(1536 << 10),
                    write_bps: Some(1000),
                    ..IoDeviceLimit::default()
                },
            ],
            weight: Some(100),
        };
        let text = io_text(Some(&limits));
        assert_eq!(
            text,
            "--device-read-bps 8:0=1536K --device-write-bps 7:3=10M \
             --device-write-bps 8:0=1000 --device-read-iops 7:3=250"
        );
        // Enter on the prefilled line asks for exactly what is in force.
        let (_, request, _) = LimitLine::parse(LimitKind::Io, &text).unwrap();
        assert_eq!(
            asked(&request),
            [
                ("8:0", IoKnob::ReadBps, Limit::Value(1536 << 10)),
                ("7:3", IoKnob::WriteBps, Limit::Value(10 << 20)),
                ("8:0", IoKnob::WriteBps, Limit::Value(1000)),
                ("7:3", IoKnob::ReadIops, Limit::Value(250)),
            ]
        );
        assert_eq!(request.io_weight, None, "the weight is not prefilled");
    }
}
