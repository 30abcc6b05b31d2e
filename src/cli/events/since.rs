//! `--since TIME|DURATION` of `isotop events`: a moment as an RFC 3339 time (`2026-12-06T10:00:00Z`,
//! `2026-12-06T11:00:00+01:00`, fractions of a second allowed; `2026-12-06 10:00:00` is UTC) or
//! as a duration ago (`90s`, `10m`, `2h`, `control::limits::value::parse_duration`'s).

use super::super::CliError;
use crate::control::limits::value::parse_duration;

/// The moment `text` names, ms since the Unix epoch, given the time now (`now_ms`).
pub(super) fn since_ms(text: &str, now_ms: u64) -> Result<u64, CliError> {
    let text = text.trim();
    if let Some(at) = parse_time(text) {
        return Ok(at);
    }
    match parse_duration(text) {
        Ok(ago) => Ok(now_ms.saturating_sub(u64::try_from(ago.as_millis()).unwrap_or(u64::MAX))),
        Err(_) => Err(CliError::Usage(format!(
            "--since {text:?}: give a time (`2026-12-06T10:00:00Z`) or a duration ago (`90s`, \
             `10m`, `2h`)"
        ))),
    }
}

/// `YYYY-MM-DD[T ]HH:MM:SS[.fff][Z|±HH:MM]` as ms since the epoch (no zone: UTC).
fn parse_time(text: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    if bytes.len() < 19
        || bytes[4] != b'-'
        || bytes[7] != b'-'
        || !matches!(bytes[10], b'T' | b't' | b' ')
    {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    if text.get(13..14)? != ":" || text.get(16..17)? != ":" {
        return None;
    }
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &text[19..];
    let mut millis = 0i64;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(fraction.len());
        if digits == 0 {
            return None;
        }
        let first3: String = fraction[..digits]
            .chars()
            .chain("000".chars())
            .take(3)
            .collect();
        millis = first3.parse().ok()?;
        rest = &fraction[digits..];
    }
    let offset_minutes = match rest {
        "" | "Z" | "z" => 0,
        zone => {
            let sign = match zone.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (h, m) = zone[1..].split_once(':')?;
            if h.len() != 2 || m.len() != 2 {
                return None;
            }
            sign * (h.parse::<i64>().ok()? * 60 + m.parse::<i64>().ok()?)
        }
    };
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second
        - offset_minutes * 60;
    u64::try_from(seconds * 1000 + millis).ok()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_durations() {
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_time("2000-02-29T00:00:00Z"), Some(951_782_400_000));
        assert_eq!(
            parse_time("2026-11-29T09:47:09.5Z"),
            Some(1_795_945_629_500)
        );
        assert_eq!(
            parse_time("2026-11-29 10:47:09+01:00"),
            Some(1_795_945_629_000)
        );
        assert_eq!(parse_time("2026-11-29T09:47:09"), Some(1_795_945_629_000));
        // Every time `control::audit::rfc3339` writes reads back.
        for s in [0u64, 951_782_400, 1_795_945_629, 4_102_444_800] {
            let text = crate::control::audit::rfc3339(s);
            assert_eq!(parse_time(&text), Some(s * 1000), "{text}");
        }
        for bad in [
            "2026-13-01T00:00:00Z",
            "2026-11-29T09:47",
            "yesterday",
            "2026-11-29T09:47:09+1",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
        assert_eq!(since_ms("10m", 1_000_000).unwrap(), 400_000);
        assert_eq!(since_ms("1970-01-01T00:00:01Z", 5).unwrap(), 1000);
        assert!(since_ms("soon", 0).is_err());
    }
}
