//! Finding things in the log pane's lines: a search's matches (ASCII letters match either
//! case; byte ranges that always fall on character boundaries, so the view can cut a line at
//! them to highlight), and the time typed after `t` (`HH:MM` or `HH:MM:SS`, UTC as every time
//! the dashboard shows).

use std::ops::Range;

/// The non-overlapping places `needle` occurs in `text`, left to right; ASCII letters match
/// either case. Empty for an empty needle.
pub fn match_ranges(text: &str, needle: &str) -> Vec<Range<usize>> {
    let (hay, pin) = (text.as_bytes(), needle.as_bytes());
    let mut found = Vec::new();
    if pin.is_empty() || pin.len() > hay.len() {
        return found;
    }
    let mut at = 0;
    while at + pin.len() <= hay.len() {
        // Case folding only touches ASCII bytes: a match starts on the needle's first byte,
        // a character's first byte, and ends after its last, so both ends are boundaries.
        if hay[at..at + pin.len()].eq_ignore_ascii_case(pin) {
            found.push(at..at + pin.len());
            at += pin.len();
        } else {
            at += 1;
        }
    }
    found
}

/// True when `needle` occurs in `text` (as [`match_ranges`] finds it).
pub fn contains(text: &str, needle: &str) -> bool {
    let (hay, pin) = (text.as_bytes(), needle.as_bytes());
    !pin.is_empty() && hay.windows(pin.len()).any(|w| w.eq_ignore_ascii_case(pin))
}

/// Seconds into the day of `HH:MM` or `HH:MM:SS` (00:00 to 23:59:59); `None` otherwise.
pub fn parse_clock(text: &str) -> Option<u64> {
    let parts: Vec<&str> = text.trim().split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return None;
    }
    let number = |part: &str, max: u64| -> Option<u64> {
        if part.is_empty() || part.len() > 2 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        part.parse().ok().filter(|&n| n <= max)
    };
    let hours = number(parts[0], 23)?;
    let minutes = number(parts[1], 59)?;
    let seconds = match parts.get(2) {
        Some(part) => number(part, 59)?,
        None => 0,
    };
    Some(hours * 3600 + minutes * 60 + seconds)
}

/// The moment `seconds_of_day` (UTC) last was at or before `reference_ns` (ns since the
/// epoch): that day's, or the day before's when it is still to come.
pub fn last_clock_at_or_before(reference_ns: u64, seconds_of_day: u64) -> u64 {
    const DAY_NS: u64 = 86_400 * 1_000_000_000;
    let day_start = reference_ns / DAY_NS * DAY_NS;
    let at = day_start + seconds_of_day * 1_000_000_000;
    if at > reference_ns {
        at.saturating_sub(DAY_NS)
    } else {
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_ignore_ascii_case_and_fall_on_character_boundaries() {
        assert_eq!(
            match_ranges("Error: error ERROR", "error"),
            [0..5, 7..12, 13..18]
        );
        assert_eq!(match_ranges("aaaa", "aa"), [0..2, 2..4]);
        assert!(match_ranges("abc", "").is_empty());
        assert!(match_ranges("ab", "abc").is_empty());
        // Multi-byte text: ranges cut on boundaries, non-ASCII matched as is.
        let text = "größe Größe GRÖSSE ü";
        for r in match_ranges(text, "öß") {
            assert!(text.is_char_boundary(r.start) && text.is_char_boundary(r.end));
            assert_eq!(&text[r], "öß");
        }
        assert_eq!(match_ranges(text, "öß").len(), 2);
        let last = match_ranges(text, "ü");
        assert_eq!(last.len(), 1);
        assert_eq!(last[0], text.len() - 2..text.len());
        assert!(contains("Connection REFUSED", "refused"));
        assert!(!contains("ok", "refused"));
        assert!(!contains("ok", ""));
    }

    #[test]
    fn clock_times_parse_and_land_on_the_last_such_moment() {
        assert_eq!(parse_clock("03:04"), Some(3 * 3600 + 4 * 60));
        assert_eq!(parse_clock(" 23:59:59 "), Some(86_399));
        assert_eq!(parse_clock("3:4:5"), Some(3 * 3600 + 4 * 60 + 5));
        for bad in [
            "", "12", "24:00", "12:60", "12:00:60", "1:2:3:4", "aa:bb", "-1:00", "123:00",
        ] {
            assert_eq!(parse_clock(bad), None, "{bad}");
        }
        // 2026-01-02 03:04:05 UTC.
        let reference = 1_767_323_045 * 1_000_000_000;
        let day = 1_767_312_000 * 1_000_000_000;
        assert_eq!(
            last_clock_at_or_before(reference, 3600),
            day + 3600 * 1_000_000_000
        );
        // 12:00 is still to come that day: the day before's.
        assert_eq!(
            last_clock_at_or_before(reference, 12 * 3600),
            day - 12 * 3600 * 1_000_000_000
        );
    }
}
