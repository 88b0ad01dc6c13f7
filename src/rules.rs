//! Rules: a literal, and when its matching lines trip the probe.
//!
//! - **Count** (the default): `threshold` matching lines, all within `window`
//!   of each other by their times (one line, when the threshold is 1).
//! - **Persist**: matching lines keep coming for at least `persist`, with no
//!   gap between two of them longer than `gap` (default [`DEFAULT_GAP`]): a
//!   retry loop that goes on trips; a burst that stops does not.
//!
//! In a patterns file each rule is one line, its options first in brackets:
//!
//! ```text
//! # a comment
//! a literal that trips on its first line
//! [threshold=3 window=5m] a literal that trips on 3 lines within 5 minutes
//! [persist=10m gap=2m] a literal whose lines must keep coming for 10 minutes
//! \[a literal that starts with a bracket
//! ```
//!
//! A line starting with `[` is a rule with options when its bracket holds
//! `name=value` words; write `\[` for a literal that starts with `[` anyway.

use crate::timefmt::{format_duration, parse_duration};

/// The gap bound of a persistence rule that names none.
pub const DEFAULT_GAP_NS: i64 = 120 * 1_000_000_000;

/// [`DEFAULT_GAP_NS`] in words, for the help texts.
pub const DEFAULT_GAP: &str = "2m";

/// The most matching lines a threshold may ask for.
pub const MAX_THRESHOLD: u32 = 100_000;

/// When a rule's lines trip the probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// `threshold` lines within `window_ns` (unbounded when `None`).
    Count {
        /// Lines needed.
        threshold: u32,
        /// The span they must fall within, ns.
        window_ns: Option<i64>,
    },
    /// Lines keep coming for `for_ns`, no two more than `gap_ns` apart.
    Persist {
        /// How long, ns.
        for_ns: i64,
        /// The longest gap between two lines of one run, ns.
        gap_ns: i64,
    },
}

/// A literal and when it trips.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The literal; never empty, never holds a newline.
    pub literal: String,
    /// When its lines trip.
    pub when: When,
    /// Whether the options were given with the rule (else `-t`/`-w` apply).
    pub own_options: bool,
}

impl Rule {
    /// A rule that trips on `threshold` lines within `window_ns`.
    pub fn count(literal: &str, threshold: u32, window_ns: Option<i64>) -> Rule {
        Rule {
            literal: literal.to_string(),
            when: When::Count {
                threshold,
                window_ns,
            },
            own_options: false,
        }
    }

    /// The same literal, tripping `when` (options not its own).
    pub fn with(self, when: When) -> Rule {
        Rule { when, ..self }
    }

    /// The rule as a patterns-file line.
    pub fn to_line(&self) -> String {
        let literal = if self.literal.starts_with('[') {
            format!("\\{}", self.literal)
        } else {
            self.literal.clone()
        };
        let options = match self.when {
            When::Count {
                threshold: 1,
                window_ns: None,
            } if !self.own_options => String::new(),
            When::Count {
                threshold,
                window_ns,
            } => {
                let window = window_ns.map(|w| format!(" window={}", format_duration(w)));
                format!("[threshold={threshold}{}] ", window.unwrap_or_default())
            }
            When::Persist { for_ns, gap_ns } => format!(
                "[persist={} gap={}] ",
                format_duration(for_ns),
                format_duration(gap_ns)
            ),
        };
        format!("{options}{literal}")
    }
}

/// Parses one patterns-file line that is not blank and not a comment.
/// Without options of its own, the rule takes `default`.
///
/// # Errors
/// What is wrong, naming the option, for the caller to prefix with the file and line.
pub fn parse_line(line: &str, default: When) -> Result<Rule, String> {
    if let Some(rest) = line.strip_prefix('\\')
        && rest.starts_with('[')
    {
        return literal_rule(rest, default, false);
    }
    let Some((options, literal)) = options_of(line) else {
        return literal_rule(line, default, false);
    };
    let when = parse_options(options)?;
    let literal = literal.strip_prefix(' ').unwrap_or(literal);
    literal_rule(literal, when, true)
}

fn literal_rule(literal: &str, when: When, own: bool) -> Result<Rule, String> {
    if literal.is_empty() {
        return Err("no literal after the options (it would match every line)".into());
    }
    Ok(Rule {
        literal: literal.to_string(),
        when,
        own_options: own,
    })
}

/// `[a=b c=d] rest` → (`a=b c=d`, `rest`), when the bracket holds `name=value` words.
fn options_of(line: &str) -> Option<(&str, &str)> {
    let inner = line.strip_prefix('[')?;
    let (options, rest) = inner.split_once(']')?;
    let words: Vec<&str> = options.split_whitespace().collect();
    let all_options = !words.is_empty()
        && words.iter().all(|w| {
            w.split_once('=')
                .is_some_and(|(k, _)| !k.is_empty() && k.bytes().all(|b| b.is_ascii_lowercase()))
        });
    all_options.then_some((options, rest))
}

fn parse_options(options: &str) -> Result<When, String> {
    let (mut threshold, mut window, mut persist, mut gap) = (None, None, None, None);
    for word in options.split_whitespace() {
        let (name, value) = word.split_once('=').unwrap_or((word, ""));
        let slot = match name {
            "threshold" => {
                threshold = Some(parse_threshold(value)?);
                continue;
            }
            "window" => &mut window,
            "persist" => &mut persist,
            "gap" => &mut gap,
            _ => {
                return Err(format!(
                    "unknown option {name:?} (options: threshold, window, persist, gap)"
                ));
            }
        };
        *slot = Some(match parse_duration(value) {
            Ok(0) => return Err(format!("{name}: must be longer than 0")),
            Ok(ns) => ns,
            Err(e) => return Err(format!("{name}: {e}")),
        });
    }
    match (persist, threshold, window, gap) {
        (Some(_), Some(_), _, _) | (Some(_), _, Some(_), _) => {
            Err("persist cannot go with threshold or window".into())
        }
        (Some(for_ns), None, None, gap) => Ok(When::Persist {
            for_ns,
            gap_ns: gap.unwrap_or(DEFAULT_GAP_NS),
        }),
        (None, _, _, Some(_)) => Err("gap goes with persist".into()),
        (None, threshold, window_ns, None) => Ok(When::Count {
            threshold: threshold.unwrap_or(1),
            window_ns,
        }),
    }
}

/// A threshold's value: a whole number from 1 to [`MAX_THRESHOLD`].
///
/// # Errors
/// When it is not one.
pub fn parse_threshold(t: &str) -> Result<u32, String> {
    match t.trim().parse::<u32>() {
        Ok(n) if (1..=MAX_THRESHOLD).contains(&n) => Ok(n),
        _ => Err(format!(
            "threshold {t:?} is not a whole number from 1 to {MAX_THRESHOLD}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: When = When::Count {
        threshold: 1,
        window_ns: None,
    };
    const MIN: i64 = 60 * 1_000_000_000;

    #[test]
    fn lines_and_their_options() {
        let r = parse_line("plain literal", ONE).unwrap();
        assert_eq!(
            (r.literal.as_str(), r.when, r.own_options),
            ("plain literal", ONE, false)
        );
        let r = parse_line("[threshold=3 window=5m] Failed x", ONE).unwrap();
        assert_eq!(r.literal, "Failed x");
        assert_eq!(
            r.when,
            When::Count {
                threshold: 3,
                window_ns: Some(5 * MIN)
            }
        );
        let r = parse_line("[persist=10m] stuck", ONE).unwrap();
        assert_eq!(
            r.when,
            When::Persist {
                for_ns: 10 * MIN,
                gap_ns: DEFAULT_GAP_NS
            }
        );
        let r = parse_line("[persist=10m gap=30s]  two spaces", ONE).unwrap();
        assert_eq!(r.literal, " two spaces");
        // A bracket that holds no options is part of the literal.
        assert_eq!(
            parse_line("[autodiscover] x", ONE).unwrap().literal,
            "[autodiscover] x"
        );
        assert_eq!(parse_line("[] x", ONE).unwrap().literal, "[] x");
        assert_eq!(
            parse_line("\\[threshold=3] x", ONE).unwrap().literal,
            "[threshold=3] x"
        );
    }

    #[test]
    fn bad_options_are_named() {
        for (line, want) in [
            ("[treshold=3] x", "unknown option \"treshold\""),
            ("[threshold=0] x", "threshold \"0\""),
            ("[window=5] x", "window:"),
            ("[persist=0s] x", "persist: must be longer than 0"),
            ("[persist=10m threshold=2] x", "persist cannot go with"),
            ("[gap=1m] x", "gap goes with persist"),
            ("[persist=10m]", "no literal"),
        ] {
            let e = parse_line(line, ONE).unwrap_err();
            assert!(e.contains(want), "{line}: {e}");
        }
    }

    #[test]
    fn lines_round_trip() {
        for line in [
            "plain",
            "[threshold=3 window=5m0s] x",
            "[threshold=1] x",
            "[persist=10m0s gap=2m0s] x",
            "\\[autodiscover] x",
        ] {
            let r = parse_line(line, ONE).unwrap();
            assert_eq!(parse_line(&r.to_line(), ONE).unwrap(), r, "{line}");
        }
    }
}
