//! Times and durations as users type them and as the probe prints them.
//!
//! Times are kept as nanoseconds since the Unix epoch in an `i64` (enough until
//! the year 2262). Parsing accepts RFC 3339 (`2026-11-26T10:02:11Z`,
//! `2026-11-26T10:02:11.5+01:00`) and `@<unix seconds>`; printing is always UTC
//! RFC 3339 with whole seconds, the form an operator reads in `kubectl describe`.

use std::time::{SystemTime, UNIX_EPOCH};

/// Nanoseconds in one second.
pub const NANOS_PER_SEC: i64 = 1_000_000_000;

/// The current wall-clock time in nanoseconds since the epoch.
pub fn now_ns() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_nanos()).unwrap_or(i64::MAX),
    }
}

/// Parses a duration such as `500ms`, `10s`, `5m`, `1h30m` or `2d` into nanoseconds.
///
/// # Errors
/// A message saying what is wrong, for the caller to prefix with the flag's name.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty duration (expected e.g. 30s, 5m, 1h)".into());
    }
    let bytes = t.as_bytes();
    let mut i = 0;
    let mut total: i64 = 0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if start == i {
            return Err(format!(
                "invalid duration {text:?} (expected e.g. 30s, 5m, 1h)"
            ));
        }
        let n: i64 = t[start..i]
            .parse()
            .map_err(|_| format!("duration {text:?} is too large"))?;
        let ustart = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit: i64 = match &t[ustart..i] {
            "ns" => 1,
            "us" => 1_000,
            "ms" => 1_000_000,
            "s" => NANOS_PER_SEC,
            "m" => 60 * NANOS_PER_SEC,
            "h" => 3600 * NANOS_PER_SEC,
            "d" => 86400 * NANOS_PER_SEC,
            "" => {
                return Err(format!("duration {text:?} needs a unit (ms, s, m, h or d)"));
            }
            u => return Err(format!("unknown unit {u:?} in duration {text:?}")),
        };
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("duration {text:?} is too large"))?;
    }
    Ok(total)
}

/// Formats a duration in nanoseconds for people: `4m10s`, `250ms`, `2h0m`.
pub fn format_duration(ns: i64) -> String {
    let ns = ns.max(0);
    if ns < NANOS_PER_SEC {
        return format!("{}ms", ns / 1_000_000);
    }
    let s = ns / NANOS_PER_SEC;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{}s", s / 60, s % 60),
        _ => format!("{}h{}m", s / 3600, (s % 3600) / 60),
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date `(year, month, day)` of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Formats nanoseconds since the epoch as UTC RFC 3339 with whole seconds.
pub fn format_rfc3339(ns: i64) -> String {
    let secs = ns.div_euclid(NANOS_PER_SEC);
    let (y, mo, d) = civil_from_days(secs.div_euclid(86400));
    let sod = secs.rem_euclid(86400);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}Z",
        sod / 3600,
        (sod % 3600) / 60,
        sod % 60
    )
}

/// Parses `@<unix seconds>` (fractions allowed) or an RFC 3339 timestamp.
///
/// # Errors
/// A message saying what is wrong, for the caller to prefix with the flag's name.
pub fn parse_time(text: &str) -> Result<i64, String> {
    let t = text.trim();
    if let Some(rest) = t.strip_prefix('@') {
        let (whole, frac) = rest.split_once('.').unwrap_or((rest, ""));
        let (neg, digits) = match whole.strip_prefix('-') {
            Some(d) => (true, d),
            None => (false, whole),
        };
        if digits.is_empty()
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(format!("invalid time {text:?} (expected @<unix seconds>)"));
        }
        let secs: i64 = digits
            .parse()
            .map_err(|_| format!("time {text:?} is out of range"))?;
        let ns = secs
            .checked_mul(NANOS_PER_SEC)
            .and_then(|v| v.checked_add(frac_to_nanos(frac)))
            .ok_or_else(|| format!("time {text:?} is out of range"))?;
        return Ok(if neg { -ns } else { ns });
    }
    parse_rfc3339(t).ok_or_else(|| {
        format!("invalid time {text:?} (expected RFC 3339 like 2026-11-26T10:00:00Z, or @<unix seconds>)")
    })
}

fn frac_to_nanos(frac: &str) -> i64 {
    let mut ns = 0i64;
    for (i, b) in frac.bytes().take(9).enumerate() {
        ns += i64::from(b - b'0') * 10i64.pow(8 - i as u32);
    }
    ns
}

fn num(s: &[u8]) -> Option<i64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

fn parse_rfc3339(t: &str) -> Option<i64> {
    parse_rfc3339_bytes(t.as_bytes())
}

/// Parses an RFC 3339 timestamp in bytes, also with the offset written
/// `+hhmm` (Go's ISO 8601 layout, as Filebeat 7.x prints local times).
pub fn parse_rfc3339_bytes(b: &[u8]) -> Option<i64> {
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let (y, mo, d) = (num(&b[0..4])?, num(&b[5..7])?, num(&b[8..10])?);
    let (h, mi, s) = (num(&b[11..13])?, num(&b[14..16])?, num(&b[17..19])?);
    let days_in_month = match mo {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => return None,
    };
    if d < 1 || d > days_in_month || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut i = 19;
    let mut frac = 0;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
        frac = frac_to_nanos(std::str::from_utf8(&b[start..i]).ok()?);
    }
    let offset = match b.get(i..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] | [sign @ (b'+' | b'-'), h1, h2, m1, m2] => {
            let oh = num(&[*h1, *h2])?;
            let om = num(&[*m1, *m2])?;
            if oh > 23 || om > 59 {
                return None;
            }
            let o = (oh * 60 + om) * 60;
            if *sign == b'-' { -o } else { o }
        }
        _ => return None,
    };
    let secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s.min(59) - offset;
    secs.checked_mul(NANOS_PER_SEC)?.checked_add(frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5m"), Ok(300 * NANOS_PER_SEC));
        assert_eq!(parse_duration("1h30m"), Ok(5400 * NANOS_PER_SEC));
        assert_eq!(parse_duration("250ms"), Ok(250_000_000));
        assert!(parse_duration("5").unwrap_err().contains("unit"));
        assert!(parse_duration("5x").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("-5s").is_err());
        assert!(parse_duration("99999999999999d").is_err());
        assert_eq!(format_duration(250 * NANOS_PER_SEC), "4m10s");
    }

    #[test]
    fn times_round_trip() {
        let t = parse_time("2026-11-26T10:02:11Z").unwrap();
        assert_eq!(format_rfc3339(t), "2026-11-26T10:02:11Z");
        assert_eq!(parse_time("@0"), Ok(0));
        assert_eq!(parse_time("@1.5"), Ok(1_500_000_000));
        assert_eq!(
            parse_time("2026-11-26T11:02:11.25+01:00").unwrap(),
            t + 250_000_000
        );
        assert_eq!(
            format_rfc3339(951_782_400 * NANOS_PER_SEC),
            "2000-02-29T00:00:00Z"
        );
        for bad in [
            "2026-02-30T00:00:00Z",
            "2026-11-26",
            "@",
            "@x",
            "2026-11-26T10:02:11",
        ] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
    }
}
