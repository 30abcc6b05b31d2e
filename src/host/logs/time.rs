//! Log times: RFC 3339 with nanoseconds, as Docker's `json-file` and the CRI format write them
//! (`2026-12-06T10:00:00.123456789Z`, an offset such as `+02:00` allowed) and as
//! `isotop logs --timestamps` prints them (always UTC, nine fraction digits).
//!
//! Contract: [`parse_rfc3339_ns`] takes the date and clock from the one RFC 3339 parser of the
//! read side (`runtime::oci::parse_rfc3339_ms`, which refuses anything outside 1970..=9999) and
//! adds the fraction's digits past the millisecond; `None` for anything else.

use crate::host::runtime::oci::parse_rfc3339_ms;

const NS_PER_MS: u64 = 1_000_000;
const NS_PER_S: u64 = 1_000_000_000;

/// Nanoseconds since the Unix epoch of an RFC 3339 time; `None` when it is not one.
pub fn parse_rfc3339_ns(text: &str) -> Option<u64> {
    let ms = u64::try_from(parse_rfc3339_ms(text)?).ok()?;
    // The fraction (digits after the only `.` an RFC 3339 time has) past its third digit:
    // the sub-millisecond part, padded to six digits.
    let fraction: Vec<u8> = text
        .trim()
        .split_once('.')
        .map(|(_, rest)| rest.bytes().take_while(u8::is_ascii_digit).collect())
        .unwrap_or_default();
    let below_ms = (3..9).fold(0u64, |acc, i| {
        acc * 10 + u64::from(fraction.get(i).map_or(0, |d| d - b'0'))
    });
    ms.checked_mul(NS_PER_MS)?.checked_add(below_ms)
}

/// `ns` since the Unix epoch as RFC 3339 UTC with nine fraction digits.
pub fn format_rfc3339_ns(ns: u64) -> String {
    let seconds = ns / NS_PER_S;
    let fraction = ns % NS_PER_S;
    let (year, month, day) = civil_from_days((seconds / 86_400) as i64);
    let of_day = seconds % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{fraction:09}Z",
        of_day / 3_600,
        of_day / 60 % 60,
        of_day % 60
    )
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nanoseconds_survive_a_round_trip() {
        let text = "2026-12-06T10:00:00.123456789Z";
        let ns = parse_rfc3339_ns(text).unwrap();
        assert_eq!(ns % NS_PER_S, 123_456_789);
        assert_eq!(format_rfc3339_ns(ns), text);
        assert_eq!(format_rfc3339_ns(0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(
            format_rfc3339_ns(951_782_400 * NS_PER_S + 5),
            "2000-02-29T00:00:00.000000005Z"
        );
    }

    #[test]
    fn offsets_short_fractions_and_garbage() {
        let utc = parse_rfc3339_ns("2026-12-06T10:00:00.5Z").unwrap();
        assert_eq!(utc % NS_PER_S, 500_000_000);
        assert_eq!(
            parse_rfc3339_ns("2026-12-06T12:00:00.5+02:00"),
            Some(utc),
            "an offset moves the time to UTC"
        );
        assert_eq!(
            parse_rfc3339_ns("2026-12-06T10:00:00Z").map(|n| n % NS_PER_S),
            Some(0)
        );
        // Go writes trailing zeros away: `.12Z` is 120 ms.
        assert_eq!(
            parse_rfc3339_ns("2026-12-06T10:00:00.12Z").map(|n| n % NS_PER_S),
            Some(120_000_000)
        );
        for bad in [
            "",
            "yesterday",
            "2026-13-01T00:00:00Z",
            "2026-12-06T10:00:00.1x",
        ] {
            assert_eq!(parse_rfc3339_ns(bad), None, "{bad}");
        }
    }
}
