//! `<input type="datetime-local">` fields: the browser sends a wall-clock time
//! without a zone, which the portals read as Shanghai's.

use chrono::{DateTime, NaiveDateTime, Utc};

use crate::domain::shanghai;

/// The input's value format (minutes; the browser omits seconds).
const FORMAT: &str = "%Y-%m-%dT%H:%M";

/// The instant a submitted field names, or None when it is not a time.
pub fn parse(text: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(text.trim(), FORMAT)
        .ok()
        .map(shanghai::at_local)
}

/// The field's value that shows `at`.
pub fn value(at: DateTime<Utc>) -> String {
    at.with_timezone(&shanghai::offset())
        .format(FORMAT)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_reads_back_as_the_same_minute_in_shanghai() {
        let at = parse("2027-01-01T00:30").expect("a valid field");
        assert_eq!(at.to_rfc3339(), "2026-12-31T16:30:00+00:00");
        assert_eq!(value(at), "2027-01-01T00:30");
        assert_eq!(parse("tomorrow"), None);
    }
}
