//! The periods a trend is counted in: days, ISO weeks (Monday first) or calendar
//! months, in Shanghai dates, the same days PostgreSQL's `date_trunc` cuts when
//! given Shanghai local time.

use chrono::{Datelike, Days, Months, NaiveDate};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Grain {
    Day,
    #[default]
    Week,
    Month,
}

impl Grain {
    pub const ALL: [Grain; 3] = [Self::Day, Self::Week, Self::Month];

    /// Also the unit `date_trunc` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == text)
    }

    /// How many periods a trend shows: a month of days, a quarter of weeks
    /// (thirteen: the demo's history fills each), a year of months.
    pub fn periods(self) -> usize {
        match self {
            Self::Day => 30,
            Self::Week => 13,
            Self::Month => 12,
        }
    }

    /// The first day of the period `date` falls in.
    pub fn start_of(self, date: NaiveDate) -> NaiveDate {
        match self {
            Self::Day => date,
            Self::Week => date - Days::new(u64::from(date.weekday().num_days_from_monday())),
            Self::Month => date.with_day(1).expect("every month has a first day"),
        }
    }

    /// The first day of the period after the one starting on `start`.
    pub fn next(self, start: NaiveDate) -> NaiveDate {
        match self {
            Self::Day => start + Days::new(1),
            Self::Week => start + Days::new(7),
            Self::Month => start + Months::new(1),
        }
    }

    fn previous(self, start: NaiveDate) -> NaiveDate {
        match self {
            Self::Day => start - Days::new(1),
            Self::Week => start - Days::new(7),
            Self::Month => start - Months::new(1),
        }
    }

    /// The first days of the last `periods()` periods, oldest first; the last one
    /// is the period `today` falls in, which is still running.
    pub fn starts(self, today: NaiveDate) -> Vec<NaiveDate> {
        let mut start = self.start_of(today);
        let mut starts = vec![start];
        while starts.len() < self.periods() {
            start = self.previous(start);
            starts.push(start);
        }
        starts.reverse();
        starts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first() {
        // 2026-11-22 is a Sunday.
        assert_eq!(Grain::Week.start_of(date(2026, 11, 22)), date(2026, 11, 16));
        assert_eq!(Grain::Week.start_of(date(2026, 11, 16)), date(2026, 11, 16));
        assert_eq!(Grain::Month.start_of(date(2026, 11, 22)), date(2026, 11, 1));
        assert_eq!(Grain::Day.start_of(date(2026, 11, 22)), date(2026, 11, 22));
    }

    #[test]
    fn starts_are_consecutive_and_end_with_the_running_period() {
        for grain in Grain::ALL {
            let starts = grain.starts(date(2026, 3, 31));
            assert_eq!(starts.len(), grain.periods());
            assert_eq!(*starts.last().unwrap(), grain.start_of(date(2026, 3, 31)));
            for pair in starts.windows(2) {
                assert_eq!(grain.next(pair[0]), pair[1], "{grain:?}");
            }
        }
        // Months step back over short months without drifting off the first.
        assert_eq!(Grain::Month.starts(date(2026, 3, 31))[0], date(2025, 4, 1));
    }

    #[test]
    fn parse_round_trips_and_refuses_the_unknown() {
        for grain in Grain::ALL {
            assert_eq!(Grain::parse(grain.as_str()), Some(grain));
        }
        assert_eq!(Grain::parse("year"), None);
    }
}
