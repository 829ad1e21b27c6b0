//! The fields of import rows, parsed once into domain types, and what is wrong
//! with a row that cannot be: each problem with the line and column it is in.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::Serialize;

use crate::domain::shanghai;

use super::source::Record;

/// A problem with one field (or one row) of the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    pub line: u64,
    /// The column the problem is in; `*` for the row as a whole.
    pub column: &'static str,
    pub problem: Problem,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}, {}: {}", self.line, self.column, self.problem)
    }
}

/// What is wrong, in words an operator fixing the file can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Problem {
    #[error("{found} fields where the header has {expected}")]
    FieldCount { found: usize, expected: usize },
    #[error("is empty")]
    Missing,
    #[error("is not a mainland China mobile number")]
    Phone,
    #[error("is not a name of 1 to 40 characters")]
    Name,
    #[error("is not a tier (tiers: {known})")]
    Tier { known: String },
    #[error("is not a whole number of points from 1 to {max}")]
    Points { max: i64 },
    #[error(
        "is not a time: write YYYY-MM-DD or YYYY-MM-DD HH:MM[:SS] (Asia/Shanghai), or RFC 3339"
    )]
    Time,
    #[error("is in the future")]
    Future,
    #[error("has passed: the points would lapse at once")]
    Lapsed,
    #[error("is not after earned_at")]
    ExpiresBeforeEarned,
    #[error("is not an order id (1 to 64 printable ASCII characters without spaces)")]
    OrderId,
    #[error("is not an amount of yuan, at most two decimals (e.g. 38.50)")]
    Amount,
    #[error("must be greater than zero")]
    NotPositive,
    #[error("is more than amount_cny")]
    RefundExceedsAmount,
    #[error("is not a store of this merchant (write its number or its exact name)")]
    Store,
    #[error("repeats the phone of line {first}")]
    DuplicatePhone { first: u64 },
    #[error("repeats the order id of line {first}")]
    DuplicateOrder { first: u64 },
    #[error("is no member of this merchant: import the members first")]
    UnknownMember,
    #[error("this member's opening balance was imported before, from a file with other lots")]
    OpeningBalanceImported,
    #[error("order id is in the books already with another member, amount or time")]
    OrderDiffers,
}

/// The rows of a file, parsed: those that are good and the problems of the
/// others, by line.
#[derive(Debug)]
pub struct Parsed<R> {
    pub rows: Vec<R>,
    pub rejections: Vec<Rejection>,
}

/// Reads a record's fields by column, collecting a rejection per bad field so
/// that one pass reports every problem of the row.
#[derive(Debug)]
pub struct Fields<'a> {
    record: &'a Record,
    columns: &'static [&'static str],
    pub rejections: Vec<Rejection>,
}

impl<'a> Fields<'a> {
    pub fn new(record: &'a Record, columns: &'static [&'static str]) -> Self {
        Self {
            record,
            columns,
            rejections: Vec::new(),
        }
    }

    pub fn line(&self) -> u64 {
        self.record.line
    }

    fn text(&self, column: &'static str) -> &'a str {
        let at = self
            .columns
            .iter()
            .position(|c| *c == column)
            .expect("a column of this import");
        &self.record.fields[at]
    }

    /// The field parsed by `parse`, or `None` with a rejection. An empty field
    /// is [`Problem::Missing`].
    pub fn required<T>(
        &mut self,
        column: &'static str,
        parse: impl FnOnce(&str) -> Result<T, Problem>,
    ) -> Option<T> {
        match self.text(column) {
            "" => self.reject(column, Problem::Missing),
            text => match parse(text) {
                Ok(value) => Some(value),
                Err(problem) => self.reject(column, problem),
            },
        }
    }

    /// Like [`Self::required`], with `Some(None)` for an empty field.
    pub fn optional<T>(
        &mut self,
        column: &'static str,
        parse: impl FnOnce(&str) -> Result<T, Problem>,
    ) -> Option<Option<T>> {
        match self.text(column) {
            "" => Some(None),
            _ => self.required(column, parse).map(Some),
        }
    }

    /// Records a problem of `column`; returns `None` for the caller's `?`.
    pub fn reject<T>(&mut self, column: &'static str, problem: Problem) -> Option<T> {
        self.rejections.push(Rejection {
            line: self.record.line,
            column,
            problem,
        });
        None
    }
}

/// Parses every record with `parse_row`, which returns `None` when it rejected
/// a field; records the header did not fit are rejected as a whole.
pub fn parse_all<R>(
    table: super::source::Table,
    columns: &'static [&'static str],
    mut parse_row: impl FnMut(&mut Fields) -> Option<R>,
) -> Parsed<R> {
    let mut parsed = Parsed {
        rows: Vec::with_capacity(table.records.len()),
        rejections: table
            .misshapen
            .iter()
            .map(|&(line, found)| Rejection {
                line,
                column: "*",
                problem: Problem::FieldCount {
                    found,
                    expected: columns.len(),
                },
            })
            .collect(),
    };
    for record in table.records {
        let mut fields = Fields::new(&record, columns);
        let row = parse_row(&mut fields);
        match (row, fields.rejections.is_empty()) {
            (Some(row), true) => parsed.rows.push(row),
            _ => parsed.rejections.append(&mut fields.rejections),
        }
    }
    parsed
}

/// A time in the file: `YYYY-MM-DD` (midnight), `YYYY-MM-DD HH:MM[:SS]` — in
/// Asia/Shanghai, with `/` accepted for `-` as Excel writes dates — or RFC 3339
/// with its own offset. Never later than `now`.
pub fn past_time(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, Problem> {
    let at = time(text).ok_or(Problem::Time)?;
    if at > now {
        return Err(Problem::Future);
    }
    Ok(at)
}

/// A time in the file, as [`past_time`] reads it, without the check.
pub fn time(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.to_utc());
    }
    let text = text.replace('/', "-");
    ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(&text, format).ok())
        .map(shanghai::at_local)
        .or_else(|| {
            NaiveDate::parse_from_str(&text, "%Y-%m-%d")
                .ok()
                .map(shanghai::midnight)
        })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn times_are_read_in_shanghai_unless_they_carry_an_offset() {
        let expect = Utc.with_ymd_and_hms(2025, 3, 1, 2, 30, 0).unwrap();
        assert_eq!(time("2025-03-01 10:30"), Some(expect));
        assert_eq!(time("2025/03/01 10:30:00"), Some(expect));
        assert_eq!(time("2025-03-01T02:30:00Z"), Some(expect));
        assert_eq!(
            time("2025-03-01"),
            Some(Utc.with_ymd_and_hms(2025, 2, 28, 16, 0, 0).unwrap())
        );
        assert_eq!(time("01/03/2025"), None);
        let now = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(past_time("2025-03-01", now), Err(Problem::Future));
    }
}
