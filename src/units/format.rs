//! Human formatting of figures for tables and the dashboard: binary byte units (full and
//! compact), byte rates, compact durations, percentages. JSON output never uses these (it carries raw
//! numbers with units in the key names).

/// `n` bytes scaled to binary units: the value and the unit's index (0 = KiB … 5 = EiB), or
/// `None` below 1 KiB. Shared by the tables and the dashboard's compact form.
pub fn binary_scale(n: u64) -> Option<(f64, usize)> {
    if n < 1024 {
        return None;
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < 5 {
        value /= 1024.0;
        unit += 1;
    }
    Some((value, unit))
}

/// Bytes in binary units with one decimal: `512B`, `1.5KiB`, `256.0MiB`, `2.0GiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    match binary_scale(n) {
        Some((value, unit)) => format!("{value:.1}{}", UNITS[unit]),
        None => format!("{n}B"),
    }
}

/// Bytes in at most 5 characters, binary units: `512B`, `1.5K`, `256M`, `12G` (the
/// dashboard's narrow columns).
pub fn short_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["K", "M", "G", "T", "P", "E"];
    let Some((value, unit)) = binary_scale(n) else {
        return format!("{n}B");
    };
    if value < 10.0 {
        format!("{value:.1}{}", UNITS[unit])
    } else {
        format!("{value:.0}{}", UNITS[unit])
    }
}

/// Bytes per second as [`short_bytes`] writes them, with `/s`: `0B/s`, `512B/s`, `1.2M/s`,
/// `12G/s` (at most 7 characters); `-` when unknown (or negative, or not finite).
pub fn bytes_per_second(value: Option<f64>) -> String {
    match value {
        Some(v) if v.is_finite() && v >= 0.0 => format!("{}/s", short_bytes(v.round() as u64)),
        _ => "-".to_string(),
    }
}

/// A percentage with one decimal below 100, none above; `-` when unknown (or not finite).
pub fn percent(value: Option<f64>) -> String {
    match value {
        Some(v) if v.is_finite() && v < 99.95 => format!("{v:.1}%"),
        Some(v) if v.is_finite() => format!("{v:.0}%"),
        _ => "-".to_string(),
    }
}

/// A duration in seconds, compact: `45s`, `3m12s`, `5h04m`, `2d03h`.
pub fn duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "-".into();
    }
    if seconds < 60.0 {
        return if seconds < 10.0 {
            format!("{seconds:.1}s")
        } else {
            format!("{}s", seconds as u64)
        };
    }
    let s = seconds as u64;
    let (d, h, m, sec) = (s / 86_400, s / 3_600 % 24, s / 60 % 60, s % 60);
    if d > 0 {
        format!("{d}d{h:02}h")
    } else if h > 0 {
        format!("{h}h{m:02}m")
    } else {
        format!("{m}m{sec:02}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_units() {
        assert_eq!(bytes(0), "0B");
        assert_eq!(bytes(1023), "1023B");
        assert_eq!(bytes(1536), "1.5KiB");
        assert_eq!(bytes(256 * 1024 * 1024), "256.0MiB");
        assert_eq!(bytes(u64::MAX), "16.0EiB");
    }

    #[test]
    fn short_byte_units_fit_5_characters() {
        assert_eq!(short_bytes(0), "0B");
        assert_eq!(short_bytes(1023), "1023B");
        assert_eq!(short_bytes(1536), "1.5K");
        assert_eq!(short_bytes(10 * 1024), "10K");
        assert_eq!(short_bytes(256 * 1024 * 1024), "256M");
        assert_eq!(short_bytes(12 << 30), "12G");
        assert_eq!(short_bytes(u64::MAX), "16E");
    }

    #[test]
    fn rates_fit_7_characters() {
        assert_eq!(bytes_per_second(Some(0.0)), "0B/s");
        assert_eq!(bytes_per_second(Some(1023.4)), "1023B/s");
        assert_eq!(bytes_per_second(Some(1.25 * 1024.0 * 1024.0)), "1.2M/s");
        assert_eq!(bytes_per_second(Some(12.0 * (1u64 << 30) as f64)), "12G/s");
        assert_eq!(bytes_per_second(None), "-");
        assert_eq!(bytes_per_second(Some(-1.0)), "-");
        assert_eq!(bytes_per_second(Some(f64::NAN)), "-");
    }

    #[test]
    fn percentages() {
        assert_eq!(percent(Some(0.0)), "0.0%");
        assert_eq!(percent(Some(42.04)), "42.0%");
        assert_eq!(percent(Some(99.94)), "99.9%");
        // What would round to 100.0 loses its decimal, and so does everything above.
        assert_eq!(percent(Some(99.95)), "100%");
        assert_eq!(percent(Some(250.4)), "250%");
        assert_eq!(percent(None), "-");
        assert_eq!(percent(Some(f64::NAN)), "-");
        assert_eq!(percent(Some(f64::INFINITY)), "-");
    }

    #[test]
    fn durations() {
        assert_eq!(duration(3.25), "3.2s");
        assert_eq!(duration(45.0), "45s");
        assert_eq!(duration(192.0), "3m12s");
        assert_eq!(duration(5.0 * 3600.0 + 240.0), "5h04m");
        assert_eq!(duration(2.0 * 86400.0 + 3.0 * 3600.0), "2d03h");
        assert_eq!(duration(f64::NAN), "-");
        assert_eq!(duration(-1.0), "-");
    }
}
