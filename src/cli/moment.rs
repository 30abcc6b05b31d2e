//! `TIME|DURATION` arguments (`isotop logs --since/--until`, `isotop events --since`): a moment
//! as an RFC 3339 time (`2026-12-06T10:00:00Z`, `…T11:00:00+01:00`, fractions of a second
//! allowed, `2026-12-06 10:00:00` without a zone read as UTC) or a duration ago (`90s`, `10m`,
//! `2h`: `control::limits::value::parse_duration`'s). `--at` of a recording also takes `-15m`
//! ([`past_moment_ns`]), as people write "15 minutes ago" of the past; `logs` and `events` keep
//! refusing a signed duration (`--since -5m` reads like a mistake there). One parser for every subcommand; the
//! read side's `host::logs::time::parse_rfc3339_ns` reads the times.

use super::CliError;
use crate::control::limits::value::parse_duration;
use crate::host::logs::time::parse_rfc3339_ns;

/// The moment `text` (given to `flag`) names, ns since the Unix epoch, `now_ns` being now.
pub(crate) fn moment_ns(flag: &str, text: &str, now_ns: u64) -> Result<u64, CliError> {
    let text = text.trim();
    if let Some(ns) = parse_rfc3339_ns(text).or_else(|| zoneless(text)) {
        return Ok(ns);
    }
    match parse_duration(text) {
        Ok(ago) => Ok(now_ns.saturating_sub(u64::try_from(ago.as_nanos()).unwrap_or(u64::MAX))),
        Err(_) => Err(CliError::Usage(format!(
            "{flag} {}: give an RFC 3339 time (`2026-12-06T10:00:00Z`, `…T12:00:00+02:00`) or a \
             duration ago (`90s`, `10m`, `2h`)",
            crate::host::text::clean_str(text)
        ))),
    }
}

/// Like [`moment_ns`], and a duration with a leading `-` (`-15m`) is the same time ago.
pub(crate) fn past_moment_ns(flag: &str, text: &str, now_ns: u64) -> Result<u64, CliError> {
    let trimmed = text.trim();
    match trimmed.strip_prefix('-') {
        Some(ago) if parse_duration(ago).is_ok() => moment_ns(flag, ago, now_ns),
        _ => moment_ns(flag, text, now_ns),
    }
}

/// `YYYY-MM-DD[T ]HH:MM:SS[.f]` with no zone, read as UTC.
fn zoneless(text: &str) -> Option<u64> {
    let has_zone = text.len() > 19 && text[19..].contains(['Z', 'z', '+', '-']);
    (!has_zone && text.len() >= 19).then(|| parse_rfc3339_ns(&format!("{text}Z")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn at(text: &str) -> Option<u64> {
        moment_ns("--since", text, 0).ok()
    }

    #[test]
    fn times_and_durations() {
        assert_eq!(at("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(at("2000-02-29T00:00:00Z"), Some(951_782_400_000 * MS));
        assert_eq!(at("2026-11-29T09:47:09.5Z"), Some(1_795_945_629_500 * MS));
        assert_eq!(
            at("2026-11-29 10:47:09+01:00"),
            Some(1_795_945_629_000 * MS)
        );
        assert_eq!(at("2026-11-29T09:47:09"), Some(1_795_945_629_000 * MS));
        // Every time `control::audit::rfc3339` writes reads back.
        for s in [0u64, 951_782_400, 1_795_945_629, 4_102_444_800] {
            let text = crate::control::audit::rfc3339(s);
            assert_eq!(at(&text), Some(s * 1000 * MS), "{text}");
        }
        for bad in [
            "2026-13-01T00:00:00Z",
            "2026-11-29T09:47",
            "2026-11-29T09:47:09+1",
            "yesterday",
        ] {
            assert!(at(bad).is_none(), "{bad}");
        }
        assert_eq!(
            moment_ns("--since", "10m", 1_000_000 * MS).unwrap(),
            400_000 * MS
        );
        assert_eq!(
            past_moment_ns("--at", "-15m", 1_000_000 * MS).unwrap(),
            100_000 * MS
        );
        assert_eq!(
            past_moment_ns("--at", "15m", 1_000_000 * MS).unwrap(),
            100_000 * MS
        );
        assert_eq!(
            past_moment_ns("--at", "1970-01-01T00:00:01Z", 0).unwrap(),
            1_000 * MS
        );
        for bad in ["--15m", "-", "-yesterday"] {
            let err = past_moment_ns("--at", bad, 0).unwrap_err().to_string();
            assert!(err.contains("--at"), "{err}");
        }
        assert!(
            at("-15m").is_none(),
            "--since keeps refusing a signed duration"
        );
        let err = moment_ns("--until", "soon", 0).unwrap_err().to_string();
        assert!(err.contains("--until"), "{err}");
    }
}
