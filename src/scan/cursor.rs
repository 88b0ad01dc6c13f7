//! Where scanning of one file stands, as kept in the state between runs.

use serde::{Deserialize, Serialize};

/// Where scanning of one file stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Every byte before this has been scanned.
    pub offset: u64,
    /// Set when `offset` lies inside a line longer than `max_line`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub long_line: Option<LongLine>,
}

impl Cursor {
    /// A cursor at `offset`, outside any long line.
    pub fn at(offset: u64) -> Cursor {
        Cursor {
            offset,
            long_line: None,
        }
    }
}

/// A line longer than `max_line`, being scanned in pieces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LongLine {
    /// Offset of the line's first byte.
    pub start: u64,
    /// The line has counted, or met an exception: the rest of it is skipped.
    pub settled: bool,
    /// In a CRI file: `offset` lies inside one physical record longer than
    /// `max_line` (kubelet never writes one), scanned as plain text.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub split_record: bool,
}
