//! China Standard Time (UTC+8, no daylight saving): the day that daily limits
//! and daily reports count in.

use chrono::{DateTime, Datelike, FixedOffset, Months, NaiveDate, NaiveDateTime, Utc};

pub fn offset() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("+08:00 is a valid offset")
}

/// The start of the day `at` falls on in Shanghai.
pub fn start_of_day(at: DateTime<Utc>) -> DateTime<Utc> {
    midnight(date_of(at))
}

/// The Shanghai calendar date `at` falls on.
pub fn date_of(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&offset()).date_naive()
}

/// 00:00 in Shanghai on `date`.
pub fn midnight(date: NaiveDate) -> DateTime<Utc> {
    at_local(date.and_hms_opt(0, 0, 0).expect("midnight exists"))
}

/// The instant a Shanghai wall-clock time names (a fixed offset has no gaps
/// and no repeats, so there is exactly one).
pub fn at_local(local: NaiveDateTime) -> DateTime<Utc> {
    local
        .and_local_timezone(offset())
        .single()
        .expect("a fixed offset has no gaps")
        .with_timezone(&Utc)
}

/// 00:00 in Shanghai on the first day of the month `at` falls in there: where
/// monthly caps and "this month" figures start counting.
pub fn start_of_month(at: DateTime<Utc>) -> DateTime<Utc> {
    midnight(first_of_month(date_of(at)))
}

/// 00:00 in Shanghai on the first day of the month before the one `at` falls in.
pub fn start_of_previous_month(at: DateTime<Utc>) -> DateTime<Utc> {
    midnight(first_of_month(date_of(at)) - Months::new(1))
}

/// 00:00 in Shanghai on the first day of the month after the one `at` falls in:
/// where "this month" ends, whatever the clocks of the database and the
/// server say about the present.
pub fn start_of_next_month(at: DateTime<Utc>) -> DateTime<Utc> {
    midnight(first_of_month(date_of(at)) + Months::new(1))
}

fn first_of_month(date: NaiveDate) -> NaiveDate {
    date.with_day(1).expect("every month has a first day")
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn months_start_at_shanghai_midnight_on_the_first() {
        // 1 Jan 2027 00:30 in Shanghai is still 31 Dec 2026 in UTC.
        let at = Utc.with_ymd_and_hms(2026, 12, 31, 16, 30, 0).unwrap();
        assert_eq!(
            start_of_month(at),
            Utc.with_ymd_and_hms(2026, 12, 31, 16, 0, 0).unwrap()
        );
        assert_eq!(
            start_of_previous_month(at),
            Utc.with_ymd_and_hms(2026, 11, 30, 16, 0, 0).unwrap()
        );
        assert_eq!(
            start_of_next_month(at),
            Utc.with_ymd_and_hms(2027, 1, 31, 16, 0, 0).unwrap()
        );
    }
}
