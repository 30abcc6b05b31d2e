//! `isotop record`: the flight recorder. The sampler (with the options the dashboard's config
//! gives, the network map off) ticks every `--interval` seconds and each frame is appended to
//! the store in `-o DIR` ([`crate::record::Recorder`]), until SIGINT or SIGTERM close the
//! segment (its index written) and end it. One line on stderr at start, then only errors.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::CliError;
use crate::host::HostRoot;
use crate::record::{RecordError, RecordOptions, Recorder};

#[derive(Debug, clap::Args)]
pub(crate) struct RecordArgs {
    /// The store directory (made 0700 if missing; one recorder at a time). Default: the state
    /// directory's `record/` (`/var/lib/isotop/record` for root), where `replay` and `--from`
    /// look.
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Seconds between frames (0.1 to 3600).
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    pub interval: f64,
    /// What to keep: an age (`24h`, `7d`, `90m`, `3600s`) and/or a size (`2GiB`, `500M`,
    /// `1.5G`; upper-case units); give both, once each, to keep within both. Default `24h`.
    #[arg(long, value_name = "AGE|SIZE")]
    pub retain: Vec<String>,
}

/// `isotop record`.
pub(crate) fn run(
    root: HostRoot,
    args: &RecordArgs,
    config: Option<&Path>,
) -> Result<(), CliError> {
    if !(args.interval.is_finite() && (0.1..=3600.0).contains(&args.interval)) {
        return Err(CliError::Usage(format!(
            "--interval {}: give seconds between 0.1 and 3600",
            args.interval
        )));
    }
    let interval = Duration::from_secs_f64(args.interval);
    let options = retain_options(&args.retain)?;
    let config = crate::ui::config::Config::load(config).map_err(|e| {
        if e.is_usage() {
            CliError::Usage(e.to_string())
        } else {
            CliError::Unavailable(e.to_string())
        }
    })?;
    for note in &config.notes {
        super::warn(note);
    }
    let is_root = rustix::process::geteuid().is_root();
    let dir = super::recorded::store_dir(&root, args.dir.as_deref());
    let recorder = Recorder::create(&dir, options.clone()).map_err(|e| match e {
        RecordError::Write { .. } if !is_root => CliError::Unavailable(format!(
            "{e} (not root: record into a directory of your own with -o DIR)"
        )),
        e => CliError::Unavailable(e.to_string()),
    })?;
    super::warn(&format!(
        "recording to {} every {} s, keeping {}",
        crate::host::text::clean_str(&dir.display().to_string()),
        args.interval,
        describe(&options)
    ));
    if !is_root {
        super::warn(
            "not root: the recording holds what this user can read — its own processes' \
             namespaces, no container of a runtime whose state only root reads, no OOM kill \
             from the kernel log; run as root (isotop-record.service does) to record everything",
        );
    }
    let sampler = crate::sample::Sampler::with_options(root, config.sampler_options());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Unavailable(format!("cannot start the recorder's loop: {e}")))?;
    runtime.block_on(record(recorder, sampler, interval))
}

/// Appends every frame until a signal; then closes the store.
async fn record(
    mut recorder: Recorder,
    sampler: crate::sample::Sampler,
    interval: Duration,
) -> Result<(), CliError> {
    use tokio::signal::unix::{SignalKind, signal};
    let signal_err =
        |e: std::io::Error| CliError::Unavailable(format!("cannot watch signals: {e}"));
    let mut terminate = signal(SignalKind::terminate()).map_err(signal_err)?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(signal_err)?;
    let handle = crate::sample::spawn_sampler(sampler, interval);
    let mut frames = handle.frames;
    let mut hidden_said = false;
    // The last append error said, so a full disk is one line until it changes.
    let mut last_error: Option<String> = None;
    let ended = loop {
        tokio::select! {
            frame = frames.recv() => match frame {
                Some(frame) => {
                    if !hidden_said && let Some(hidden) = &frame.host.hidden {
                        super::warn(hidden);
                        hidden_said = true;
                    }
                    match recorder.append(&frame) {
                        Ok(()) => last_error = None,
                        Err(e) => {
                            let said = e.to_string();
                            if last_error.as_ref() != Some(&said) {
                                super::warn(&format!("a frame was not recorded: {said}"));
                            }
                            last_error = Some(said);
                        }
                    }
                }
                None => break Err(CliError::Unavailable(format!(
                    "sampling stopped: {}",
                    frames.closed_reason().unwrap_or_default()
                ))),
            },
            _ = terminate.recv() => break Ok(()),
            _ = interrupt.recv() => break Ok(()),
        }
    };
    handle.control.stop();
    recorder
        .finish()
        .map_err(|e| CliError::Unavailable(e.to_string()))?;
    ended
}

/// The options `--retain` values give (none: 24 hours).
fn retain_options(values: &[String]) -> Result<RecordOptions, CliError> {
    let mut options = RecordOptions {
        retain_age: None,
        retain_bytes: None,
        ..RecordOptions::default()
    };
    for value in values {
        match parse_retain(value)? {
            Retain::Age(age) if options.retain_age.is_none() => options.retain_age = Some(age),
            Retain::Bytes(bytes) if options.retain_bytes.is_none() => {
                options.retain_bytes = Some(bytes);
            }
            _ => {
                return Err(CliError::Usage(format!(
                    "--retain {}: give at most one age and one size",
                    crate::host::text::clean_str(value)
                )));
            }
        }
    }
    if values.is_empty() {
        options.retain_age = RecordOptions::default().retain_age;
    }
    Ok(options)
}

/// One `--retain` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retain {
    Age(Duration),
    Bytes(u64),
}

/// `24h`, `7d`, `90m`, `3600s` (lower-case units: ages); `2GiB`, `500M`, `1.5G`, `800MB`
/// (upper-case K, M, G, T, binary: sizes).
fn parse_retain(text: &str) -> Result<Retain, CliError> {
    let t = text.trim();
    let usage = || {
        CliError::Usage(format!(
            "--retain {}: give an age (`24h`, `7d`, `90m`, `3600s`) or a size with an upper-case \
             unit (`2GiB`, `500M`, `1.5G`)",
            crate::host::text::clean_str(text)
        ))
    };
    let number_end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(usage)?;
    let (number, unit) = t.split_at(number_end);
    let number: f64 = number.parse().map_err(|_| usage())?;
    let seconds = match unit {
        "s" => Some(1.0),
        "m" => Some(60.0),
        "h" => Some(3600.0),
        "d" => Some(86_400.0),
        _ => None,
    };
    if let Some(unit_seconds) = seconds {
        let seconds = number * unit_seconds;
        if !(1.0..=3660.0 * 86_400.0).contains(&seconds) {
            return Err(usage());
        }
        return Ok(Retain::Age(Duration::from_secs_f64(seconds)));
    }
    let upper = unit.starts_with(['K', 'M', 'G', 'T']);
    match crate::control::limits::value::parse_size("--retain", t) {
        Ok(crate::host::cgroup::Limit::Value(bytes)) if upper => Ok(Retain::Bytes(bytes)),
        _ => Err(usage()),
    }
}

/// What the options keep, in words (`24h`, `2 GiB`, `24h and at most 2 GiB`).
fn describe(options: &RecordOptions) -> String {
    // Whole hours as `24h` (the default reads as it is written), else `1d12h`, `1m30s`.
    let age = options.retain_age.map(|a| match a.as_secs() {
        s if s % 3600 == 0 && a.subsec_nanos() == 0 => format!("{}h", s / 3600),
        _ => crate::units::format::duration(a.as_secs_f64()),
    });
    let bytes = options
        .retain_bytes
        .map(|b| format!("at most {}", crate::units::format::bytes(b)));
    match (age, bytes) {
        (Some(age), Some(bytes)) => format!("{age} and {bytes}"),
        (Some(age), None) => age,
        (None, Some(bytes)) => bytes,
        (None, None) => "everything".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retain_values() {
        let age = |s| match parse_retain(s) {
            Ok(Retain::Age(a)) => Some(a.as_secs()),
            _ => None,
        };
        let size = |s| match parse_retain(s) {
            Ok(Retain::Bytes(b)) => Some(b),
            _ => None,
        };
        assert_eq!(age("24h"), Some(86_400));
        assert_eq!(age("7d"), Some(7 * 86_400));
        assert_eq!(age("90m"), Some(5_400));
        assert_eq!(age("3600s"), Some(3_600));
        assert_eq!(size("2GiB"), Some(2 << 30));
        assert_eq!(size("500M"), Some(500 << 20));
        assert_eq!(size("800MB"), Some(800 << 20));
        assert_eq!(size("1.5G"), Some(3 << 29));
        for bad in [
            "", "24", "h", "2gib", "0s", "-1h", "2 weeks", "1.2.3h", "max",
        ] {
            assert!(parse_retain(bad).is_err(), "{bad:?}");
        }
        let both = retain_options(&["2GiB".to_string(), "24h".to_string()]).expect("both");
        assert_eq!(both.retain_age, Some(Duration::from_secs(86_400)));
        assert_eq!(both.retain_bytes, Some(2 << 30));
        let default = retain_options(&[]).expect("none");
        assert_eq!(default.retain_age, Some(Duration::from_secs(86_400)));
        assert_eq!(default.retain_bytes, None);
        let size_only = retain_options(&["1G".to_string()]).expect("size");
        assert_eq!(size_only.retain_age, None);
        assert!(retain_options(&["1h".to_string(), "2h".to_string()]).is_err());
    }
}
