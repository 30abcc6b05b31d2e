//! The limit prompt's input line: what `isotop limit` takes, typed after the value.
//!
//! Grammar (words separated by spaces): `[VALUE] [for DURATION | --for DURATION]
//! [--period USEC] (CPU only) [--memory-high SIZE] (memory only) [--force] (memory only)`,
//! e.g. `0.5 for 10m`, `0.5 --period 50000`, `1G --memory-high 800M`, `256M --force`. The value
//! may be left out when an option changes something (`--memory-high 800M`). Every value is
//! parsed exactly as the CLI parses it (`control::limits::value`), so the dashboard and the
//! CLI accept and refuse the same text.

use std::time::Duration;

use super::LimitKind;
use crate::control::ControlError;
use crate::control::limits::{LimitInput, LimitRequest, value};

/// One limit prompt's line, split into the CLI's options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LimitLine {
    /// The prompt's own limit (`--cpus`, `--memory` or `--pids`).
    pub value: Option<String>,
    pub period: Option<String>,
    pub memory_high: Option<String>,
    /// `for 10m` / `--for 10m`.
    pub for_duration: Option<String>,
    pub force: bool,
}

impl LimitLine {
    /// Splits `text` (see the module's grammar); the error says what is wrong.
    pub fn split(kind: LimitKind, text: &str) -> Result<LimitLine, ControlError> {
        let mut line = LimitLine::default();
        let mut words = text.split_whitespace();
        let unknown = |word: &str, hint: &str| ControlError::InvalidValue {
            what: "option".into(),
            value: word.to_string(),
            hint: hint.to_string(),
        };
        while let Some(word) = words.next() {
            let mut operand = |name: &str| {
                words
                    .next()
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
                w if w.starts_with('-') && w.len() > 1 && !w[1..].starts_with(char::is_numeric) => {
                    return Err(unknown(w, &options_hint(kind)));
                }
                w if line.value.is_none() => line.value = Some(w.to_string()),
                w => return Err(unknown(w, &options_hint(kind))),
            }
        }
        Ok(line)
    }

    /// The request the CLI would build from the same options.
    pub fn request(&self, kind: LimitKind) -> Result<LimitRequest, ControlError> {
        let value = self.value.as_deref();
        let mut input = LimitInput {
            period: self.period.as_deref(),
            memory_high: self.memory_high.as_deref(),
            force: self.force,
            ..LimitInput::default()
        };
        match kind {
            LimitKind::Cpu => input.cpus = value,
            LimitKind::Memory => input.memory = value,
            LimitKind::Pids => input.pids = value,
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

/// What the prompt of `kind` takes besides its value.
fn options_hint(kind: LimitKind) -> String {
    let own = match kind {
        LimitKind::Cpu => " --period USEC",
        LimitKind::Memory => " --memory-high SIZE --force",
        LimitKind::Pids => "",
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
        ] {
            assert!(
                LimitLine::parse(kind, text).is_err(),
                "{kind:?} {text:?} was taken"
            );
        }
    }
}
