//! China Standard Time (UTC+8, no daylight saving): the day that daily limits
//! and daily reports count in.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

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
    date.and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_local_timezone(offset())
        .single()
        .expect("a fixed offset has no gaps")
        .with_timezone(&Utc)
}
