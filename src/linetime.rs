//! A line's own time, where it has one in a form Filebeat writes.
//!
//! In order: the CRI record's time (pod logs, given by the caller); the
//! leading RFC 3339 time of 7.x text lines (`2026-11-26T10:02:11.386Z<TAB>…`,
//! or with a `+0100` offset); `@timestamp` of 8.x ndjson lines; `timestamp`
//! of the 7.x JSON layout. A line without one, or with one that does not
//! parse, has none: the caller takes the time it first saw the line.
//! Only lines that matter (hits and metrics reports) are looked at, so this
//! costs nothing on the lines that do not.

use crate::timefmt::parse_rfc3339_bytes;

/// How far into a line a JSON timestamp field is looked for.
const JSON_HEAD: usize = 512;

/// The time of a line of text (a plain log line, or a CRI record's text).
pub fn of_text(text: &[u8]) -> Option<i64> {
    if text.first().is_some_and(u8::is_ascii_digit) {
        let end = text
            .iter()
            .position(|&b| b == b'\t' || b == b' ')
            .unwrap_or(text.len());
        return parse_rfc3339_bytes(&text[..end]);
    }
    if text.first() == Some(&b'{') {
        let head = &text[..text.len().min(JSON_HEAD)];
        return json_field(head, b"\"@timestamp\":\"")
            .or_else(|| json_field(head, b"\"timestamp\":\""))
            .and_then(parse_rfc3339_bytes);
    }
    None
}

/// The time of a CRI record's prefix (`<RFC 3339 time> <stream> <P|F> `).
pub fn of_cri_prefix(record: &[u8]) -> Option<i64> {
    let end = record.iter().position(|&b| b == b' ')?;
    parse_rfc3339_bytes(&record[..end])
}

/// The string value after `key` (which ends with the opening quote).
fn json_field<'a>(head: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let at = head.windows(key.len()).position(|w| w == key)? + key.len();
    let len = head[at..].iter().position(|&b| b == b'"')?;
    Some(&head[at..at + len])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timefmt::parse_time;

    fn t(s: &str) -> Option<i64> {
        Some(parse_time(s).unwrap())
    }

    #[test]
    fn forms_filebeat_writes() {
        let z = t("2026-11-26T10:02:11.386Z");
        assert_eq!(
            of_text(b"2026-11-26T10:02:11.386Z\tERROR\t[autodiscover]\tx"),
            z
        );
        // Go's ISO 8601 offset, without and with the colon.
        assert_eq!(of_text(b"2026-11-26T11:02:11.386+0100\tINFO\tx"), z);
        assert_eq!(of_text(b"2026-11-26T05:02:11.386-05:00 INFO x"), z);
        assert_eq!(
            of_text(
                br#"{"log.level":"error","@timestamp":"2026-11-26T10:02:11.386Z","message":"m"}"#
            ),
            z
        );
        assert_eq!(
            of_text(br#"{"level":"error","timestamp":"2026-11-26T10:02:11.386Z","message":"m"}"#),
            z
        );
        assert_eq!(
            of_cri_prefix(b"2026-11-26T10:02:11.386000000Z stderr F text"),
            z
        );
    }

    #[test]
    fn bad_or_missing_times_are_none() {
        for line in [
            &b"no time here"[..],
            b"2026-13-26T10:02:11Z\tERROR",
            b"2026-11-26\tERROR",
            b"12345 something",
            br#"{"message":"no time"}"#,
            br#"{"@timestamp":"yesterday"}"#,
            br#"{"@timestamp":"2026-11-26T10:02:11.386Z"#,
            b"",
        ] {
            assert_eq!(of_text(line), None, "{:?}", String::from_utf8_lossy(line));
        }
        assert_eq!(of_cri_prefix(b"garbage"), None);
    }
}
