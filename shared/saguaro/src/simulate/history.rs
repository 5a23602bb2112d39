//! Reading a history file: events in the `POST /events` format (docs/design.md §8.1), one
//! per line, in any order. Lines are parsed with the very parser of `POST /events`
//! ([`saguaro_app::incoming::parse_event`]); blank lines are skipped. The events are then
//! sorted by `occurred_at`, ties by event id, stably (the same id twice keeps file order).

use std::io::BufRead;
use std::path::{Path, PathBuf};

use saguaro_domain::Event;

/// At most this many bad lines are described in the error (all are counted).
const BAD_LINES_SHOWN: usize = 10;

/// One event and the line of the file it came from (1-based).
#[derive(Debug, Clone)]
pub struct HistoryEvent {
    pub line: usize,
    pub event: Event,
}

/// A line that is not an acceptable event: its number and what is wrong (never its content).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    pub line: usize,
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Lines that are not events; the first [`BAD_LINES_SHOWN`] are described.
    #[error("{}: {total} line(s) are not events in the POST /events format: {}", path.display(), describe(shown))]
    BadLines {
        path: PathBuf,
        total: usize,
        shown: Vec<BadLine>,
    },
}

fn describe(shown: &[BadLine]) -> String {
    shown
        .iter()
        .map(|b| format!("line {}: {}", b.line, b.reason))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Reads and sorts the history in `path`; `progress` is told the bytes read.
pub fn read(path: &Path, progress: &dyn Fn(u64)) -> Result<Vec<HistoryEvent>, HistoryError> {
    let file = std::fs::File::open(path).map_err(|source| HistoryError::Read {
        path: path.to_owned(),
        source,
    })?;
    let reader = std::io::BufReader::with_capacity(1 << 20, file);
    parse(reader, progress).map_err(|e| match e {
        ParseError::Io(source) => HistoryError::Read {
            path: path.to_owned(),
            source,
        },
        ParseError::Bad { total, shown } => HistoryError::BadLines {
            path: path.to_owned(),
            total,
            shown,
        },
    })
}

#[derive(Debug)]
pub enum ParseError {
    Io(std::io::Error),
    Bad { total: usize, shown: Vec<BadLine> },
}

/// Parses every line of `reader`, then sorts. Every line is read even after a bad one, so
/// the error counts them all.
pub fn parse(
    mut reader: impl BufRead,
    progress: &dyn Fn(u64),
) -> Result<Vec<HistoryEvent>, ParseError> {
    let mut events = Vec::new();
    let mut bad = Vec::new();
    let mut total_bad = 0usize;
    let mut buf = Vec::with_capacity(1024);
    let mut line = 0usize;
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf).map_err(ParseError::Io)?;
        if n == 0 {
            break;
        }
        line += 1;
        progress(n as u64);
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match saguaro_app::incoming::parse_event(&buf) {
            Ok(event) => events.push(HistoryEvent { line, event }),
            Err(e) => {
                total_bad += 1;
                if bad.len() < BAD_LINES_SHOWN {
                    bad.push(BadLine {
                        line,
                        reason: e.to_string(),
                    });
                }
            }
        }
    }
    if total_bad > 0 {
        return Err(ParseError::Bad {
            total: total_bad,
            shown: bad,
        });
    }
    sort(&mut events);
    Ok(events)
}

/// By `occurred_at`, ties by id; stable.
pub fn sort(events: &mut [HistoryEvent]) {
    events.sort_by(|a, b| {
        a.event
            .occurred_at
            .cmp(&b.event.occurred_at)
            .then_with(|| a.event.id.as_str().cmp(b.event.id.as_str()))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAY: &str = r#"{"id":"e2","type":"payment.succeeded","customer":{"provider":"custom","id":"c"},"occurred_at":"2026-01-02T00:00:00Z","amount":{"minor":100,"currency":"usd"}}"#;
    const EARLIER: &str = r#"{"id":"e9","type":"payment.succeeded","customer":{"provider":"custom","id":"c"},"occurred_at":"2026-01-01T00:00:00Z","amount":{"minor":100,"currency":"usd"}}"#;

    #[test]
    fn when_lines_are_out_of_order_then_they_are_sorted_by_time_then_id() {
        let text = format!("{PAY}\n\n{EARLIER}\n{}\n", PAY.replace("e2", "e1"));
        let events = parse(text.as_bytes(), &|_| {}).unwrap_or_else(|e| panic!("{e:?}"));
        let got: Vec<_> = events
            .iter()
            .map(|e| (e.line, e.event.id.as_str()))
            .collect();
        assert_eq!(got, [(3, "e9"), (4, "e1"), (1, "e2")]);
    }

    #[test]
    fn when_lines_are_bad_then_the_error_names_each_line_and_counts_them() {
        let text = format!("{PAY}\nnot json\n{}\n", PAY.replace("\"usd\"", "\"abc\""));
        match parse(text.as_bytes(), &|_| {}) {
            Err(ParseError::Bad { total, shown }) => {
                assert_eq!(total, 2);
                assert_eq!(shown[0].line, 2);
                assert_eq!(shown[1].line, 3);
                assert!(shown[1].reason.contains("currency"), "{}", shown[1].reason);
            }
            other => panic!("expected bad lines, got {other:?}"),
        }
    }
}
