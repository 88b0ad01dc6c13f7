//! NUL bytes and invalid UTF-8 are scanned like any other byte: they never
//! trip the probe by themselves, a stuck line holding them trips at its
//! offset, and the report shows them escaped and stays short.

use crate::util::{Env, STUCK, at_ns, now_ns};

/// Pass: after a line of binary junk, the stuck line holding control bytes
/// and invalid UTF-8 trips at its offset, and the text line shows them
/// escaped (`\u{1}`, `\xff`, `\u{0}`, `\u{1b}`).
#[test]
fn nul_bytes_and_invalid_utf8_are_scanned_and_escaped() {
    let e = Env::new();
    e.logs.append("filebeat", b"\x00\x00\xff\xfe binary junk\n");
    let at = e.logs.size("filebeat");
    let mut line = b"\x01\xff\x00 ".to_vec();
    line.extend_from_slice(STUCK.as_bytes());
    line.extend_from_slice(b"\x1b[0m\n");
    e.logs.append("filebeat", &line);
    let r = e.check(&[]);
    r.expect(1)
        .stdout_has(&format!("at byte {at}"))
        .stdout_has(&format!("\\u{{1}}\\xff\\u{{0}} {STUCK}"))
        .stdout_has("\\u{1b}[0m");
}

/// Pass: lines of NULs and invalid UTF-8 never trip; the stuck line holding
/// them trips at its offset; the report is valid UTF-8 JSON whose line shows
/// the bytes escaped (`\u{0}`, `\xff`); the text line stays under 1 KiB.
#[test]
fn nul_bytes_and_invalid_utf8_never_trip_and_keep_the_report_short() {
    let e = Env::new();
    let since = at_ns(now_ns() - 60_000_000_000);
    let json = ["--since", since.as_str(), "--format", "json"];
    let noise: Vec<u8> = [
        &b"\0\0\xff\xfe\xc3("[..],
        &[0u8; 300],
        b"\n",
        &[0xff; 2000],
        b"\n",
    ]
    .concat();
    e.logs.append("filebeat", &noise);
    e.check(&json).expect(0);
    let offset = e.logs.size("filebeat");
    let line = [
        &b"\0\xff\t"[..],
        STUCK.as_bytes(),
        b"\0\xc3\x28",
        &[0xff; 3000],
        b"\n",
    ]
    .concat();
    e.logs.append("filebeat", &line);
    let r = e.check(&json);
    r.expect(1);
    let j = r.json();
    assert_eq!(j["match"]["offset"], offset);
    let shown = j["match"]["line"].as_str().unwrap();
    assert!(shown.starts_with("\\u{0}\\xff\\t"), "{shown}");
    let text = e.check(&["--since", since.as_str(), "--format", "text"]);
    text.expect(1);
    let first = text.stdout.lines().next().unwrap();
    assert!(first.len() < 1024, "{} bytes: {first}", first.len());
}
