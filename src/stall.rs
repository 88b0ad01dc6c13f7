//! Filebeat's periodic metrics report, read for a silent stall.
//!
//! Filebeat logs `Non-zero metrics in the last 30s` (logger `monitoring`, INFO,
//! every `logging.metrics.period`) with its metrics as JSON: in 7.x after a tab
//! at the end of a text line, in 8.x as the `monitoring.metrics` object of the
//! ndjson line. Gauges are printed every time; any other value is a counter
//! printed only when it changed in the period, so an absent counter is zero
//! (`libbeat/monitoring/report/log/log.go` in elastic/beats).
//!
//! A report is *stalled* when events wait in the pipeline (the gauge
//! `libbeat.pipeline.events.active` > 0) and the output neither acked, failed
//! nor dropped anything, nothing was retried, and no output read or write
//! failed. A report that cannot be read, or lacks the gauge, is never stalled.

use serde::Deserialize;
use serde_json::Value;

/// The text every report carries, up to its period.
pub const REPORT: &str = "Non-zero metrics in the last ";

/// Lines an output that is down writes (`libbeat/publisher/pipeline/client_worker.go`,
/// the Logstash and Elasticsearch outputs): it fails loudly, so it is not a
/// silent stall, and a restart would not bring it back.
pub const OUTPUT_ERRORS: &[&str] = &[
    "Failed to connect to ",
    "Attempting to reconnect to ",
    "Failed to publish events",
    "failed to publish events",
];

/// What one report says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// Events wait, and the output did nothing about them: this many.
    Stalled(u64),
    /// Nothing waits, or the output moved or failed.
    Moving,
    /// Not a report that can be read, or without the gauge.
    Unreadable,
}

/// The shortest report text that reads as `r`: what `logprobe replay`
/// keeps of each report instead of its whole line.
pub fn canonical(r: Reading) -> Vec<u8> {
    let active = match r {
        Reading::Stalled(n) => n,
        Reading::Moving => 0,
        Reading::Unreadable => return Vec::new(),
    };
    format!(r#"{{"monitoring":{{"metrics":{{"libbeat":{{"pipeline":{{"events":{{"active":{active}}}}}}}}}}}}}"#)
        .into_bytes()
}

/// Reads a report line (its text, without a CRI prefix).
pub fn read(text: &[u8]) -> Reading {
    let Some(m) = metrics(text) else {
        return Reading::Unreadable;
    };
    let (nested, flat) = (m.libbeat.unwrap_or_default(), m.flat);
    let output = nested.output.unwrap_or_default();
    let pipeline = nested
        .pipeline
        .unwrap_or_default()
        .events
        .unwrap_or_default();
    let events = output.events.unwrap_or_default();
    let active = pipeline.active.as_ref().or(flat.active.as_ref());
    let Some(active) = active.and_then(Value::as_f64) else {
        return Reading::Unreadable;
    };
    if active <= 0.0 {
        return Reading::Moving;
    }
    let error = |e: Option<Errors>| e.unwrap_or_default().errors;
    let moving = [
        events.acked.or(flat.acked),
        events.failed.or(flat.failed),
        events.dropped.or(flat.dropped),
        pipeline.retry.or(flat.retry),
        error(output.read).or(flat.read_errors),
        error(output.write).or(flat.write_errors),
    ];
    let nonzero = |v: &Option<Value>| v.as_ref().and_then(Value::as_f64).is_some_and(|n| n != 0.0);
    if moving.iter().any(nonzero) {
        return Reading::Moving;
    }
    Reading::Stalled(active as u64)
}

/// The `monitoring.metrics` object: of the whole line (8.x ndjson), or of the
/// JSON that follows the message (7.x text). Only the values read here are
/// kept; the rest is skipped without being built.
fn metrics(text: &[u8]) -> Option<Metrics> {
    let at = text.iter().position(|&b| b == b'{')?;
    let mut docs = serde_json::Deserializer::from_slice(&text[at..]).into_iter::<Doc>();
    docs.next()?.ok()?.monitoring?.metrics
}

// The report's shape, as far as it is read. Leaves are kept as JSON values, so
// a counter that is not a number counts as absent, as before any cleverness.

#[derive(Deserialize)]
struct Doc {
    monitoring: Option<Monitoring>,
}

#[derive(Deserialize)]
struct Monitoring {
    metrics: Option<Metrics>,
}

#[derive(Default)]
struct Metrics {
    libbeat: Option<Libbeat>,
    flat: Flat,
}

/// The same values under flat dotted names.
#[derive(Default)]
struct Flat {
    active: Option<Value>,
    acked: Option<Value>,
    failed: Option<Value>,
    dropped: Option<Value>,
    retry: Option<Value>,
    read_errors: Option<Value>,
    write_errors: Option<Value>,
}

impl<'de> Deserialize<'de> for Metrics {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Metrics, D::Error> {
        d.deserialize_map(MetricsVisitor)
    }
}

/// Reads `libbeat` nested and the flat names; skips every other key unbuilt.
struct MetricsVisitor;

impl<'de> serde::de::Visitor<'de> for MetricsVisitor {
    type Value = Metrics;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("the metrics object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Metrics, A::Error> {
        let mut m = Metrics::default();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let f = &mut m.flat;
            let slot = match key.as_ref() {
                "libbeat" => {
                    m.libbeat = Some(map.next_value()?);
                    continue;
                }
                "libbeat.pipeline.events.active" => &mut f.active,
                "libbeat.output.events.acked" => &mut f.acked,
                "libbeat.output.events.failed" => &mut f.failed,
                "libbeat.output.events.dropped" => &mut f.dropped,
                "libbeat.pipeline.events.retry" => &mut f.retry,
                "libbeat.output.read.errors" => &mut f.read_errors,
                "libbeat.output.write.errors" => &mut f.write_errors,
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                    continue;
                }
            };
            *slot = Some(map.next_value()?);
        }
        Ok(m)
    }
}

#[derive(Deserialize, Default)]
struct Libbeat {
    output: Option<Output>,
    pipeline: Option<Pipeline>,
}

#[derive(Deserialize, Default)]
struct Output {
    events: Option<OutputEvents>,
    read: Option<Errors>,
    write: Option<Errors>,
}

#[derive(Deserialize, Default)]
struct OutputEvents {
    acked: Option<Value>,
    failed: Option<Value>,
    dropped: Option<Value>,
}

#[derive(Deserialize, Default)]
struct Errors {
    errors: Option<Value>,
}

#[derive(Deserialize, Default)]
struct Pipeline {
    events: Option<PipelineEvents>,
}

#[derive(Deserialize, Default)]
struct PipelineEvents {
    active: Option<Value>,
    retry: Option<Value>,
}

#[cfg(test)]
mod tests {
    #[test]
    fn canonical_reports_read_back_the_same() {
        for r in [
            Reading::Stalled(1),
            Reading::Stalled(u64::MAX),
            Reading::Moving,
            Reading::Unreadable,
        ] {
            assert_eq!(read(&canonical(r)), r);
        }
    }

    use super::*;

    fn report_7x(metrics: &str) -> Vec<u8> {
        format!("2026-11-26T10:00:30.000Z\tINFO\t[monitoring]\tlog/log.go:144\tNon-zero metrics in the last 30s\t{{\"monitoring\": {{\"metrics\": {metrics}}}}}").into_bytes()
    }

    fn report_8x(metrics: &str) -> Vec<u8> {
        format!("{{\"log.level\":\"info\",\"@timestamp\":\"2026-11-26T10:00:30.000Z\",\"log.logger\":\"monitoring\",\"message\":\"Non-zero metrics in the last 30s\",\"service.name\":\"filebeat\",\"monitoring\":{{\"metrics\":{metrics},\"ecs.version\":\"1.6.0\"}}}}").into_bytes()
    }

    #[test]
    fn both_layouts() {
        let stalled = r#"{"libbeat":{"output":{"events":{"active":0}},"pipeline":{"clients":1,"events":{"active":4117}}}}"#;
        let acked =
            r#"{"libbeat":{"output":{"events":{"acked":50}},"pipeline":{"events":{"active":12}}}}"#;
        let idle = r#"{"libbeat":{"pipeline":{"events":{"active":0}}}}"#;
        for make in [report_7x, report_8x] {
            assert_eq!(read(&make(stalled)), Reading::Stalled(4117));
            assert_eq!(read(&make(acked)), Reading::Moving);
            assert_eq!(read(&make(idle)), Reading::Moving);
        }
    }

    #[test]
    fn failures_and_retries_are_not_silent() {
        let output_counters = [
            r#""events":{"failed":3}"#,
            r#""events":{"dropped":1}"#,
            r#""write":{"errors":1}"#,
            r#""read":{"errors":2}"#,
        ];
        for c in output_counters {
            let m = format!(
                r#"{{"libbeat":{{"output":{{{c}}},"pipeline":{{"events":{{"active":7}}}}}}}}"#
            );
            assert_eq!(read(&report_8x(&m)), Reading::Moving, "{m}");
        }
        let retry = r#"{"libbeat":{"pipeline":{"events":{"active":7,"retry":2048}}}}"#;
        assert_eq!(read(&report_8x(retry)), Reading::Moving);
        let zeros =
            r#"{"libbeat":{"output":{"events":{"acked":0}},"pipeline":{"events":{"active":7}}}}"#;
        assert_eq!(read(&report_8x(zeros)), Reading::Stalled(7));
    }

    #[test]
    fn unreadable_reports_are_never_stalled() {
        for bad in [
            &b"2026-11-26T10:00:30.000Z\tINFO\t[monitoring]\tlog/log.go:144\tNon-zero metrics in the last 30s"[..],
            &report_7x(r#"{"libbeat":{"pipeline":{"clients":1}}}"#),
            &report_7x(r#"{"libbeat":{"pipeline":{"events":{"active":"many"}}}}"#),
            &report_8x("[1,2]"),
            b"{\"monitoring\":{\"metrics\":{\"libbeat\":",
            b"",
        ] {
            assert_eq!(read(bad), Reading::Unreadable, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn flat_names_are_read_too() {
        let m = r#"{"libbeat.pipeline.events.active":9,"libbeat.output.events.acked":0}"#;
        assert_eq!(read(&report_8x(m)), Reading::Stalled(9));
    }

    #[test]
    fn the_shared_samples_layouts() {
        // A 7.x report as posted (beats #10745 style): events acked, nothing waits.
        let line = br#"2019-01-29T05:38:45.928Z	INFO	[monitoring]	log/log.go:144	Non-zero metrics in the last 30s	{"monitoring": {"metrics": {"filebeat":{"events":{"added":3343,"done":3343}},"libbeat":{"output":{"events":{"acked":3342,"batches":5,"total":3342}},"pipeline":{"clients":1,"events":{"active":0,"published":3342,"retry":2048,"total":3343}}}}}}"#;
        assert_eq!(read(line), Reading::Moving);
    }
}
