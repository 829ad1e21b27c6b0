//! Settlement cycles (多种周期结算): daily, weekly on a chosen weekday, or monthly
//! on a chosen day, each period cut off at 00:00 Asia/Shanghai.
//!
//! A merchant's periods follow on from each other: the first starts on the day it
//! joined, each next one where the last ended, and each ends at the first cut-off
//! of its cycle after its start. Changing the cycle therefore gives one shorter
//! period up to the new cycle's first cut-off, and never a gap or an overlap.

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc, Weekday};

use crate::domain::shanghai;

/// Monthly periods start on a day every month has.
pub const LAST_MONTH_DAY: u32 = 28;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cycle {
    Daily,
    /// Starts on this weekday.
    Weekly(Weekday),
    /// Starts on this day of the month, 1 to [`LAST_MONTH_DAY`].
    Monthly(u32),
}

/// `[start, end)` in Shanghai dates: from 00:00 on `start` to 00:00 on `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl Period {
    pub fn starts_at(&self) -> DateTime<Utc> {
        shanghai::midnight(self.start)
    }

    pub fn ends_at(&self) -> DateTime<Utc> {
        shanghai::midnight(self.end)
    }

    /// The last day inside the period, for display (`2026-11-01 – 2026-11-30`).
    pub fn last_day(&self) -> NaiveDate {
        self.end.pred_opt().expect("a period ends after it starts")
    }
}

impl Cycle {
    /// From the stored columns (`settlement_terms`); None for a combination the
    /// table's CHECKs do not allow.
    pub fn from_columns(kind: &str, weekday: Option<i16>, month_day: Option<i16>) -> Option<Self> {
        match (kind, weekday, month_day) {
            ("daily", None, None) => Some(Self::Daily),
            ("weekly", Some(day), None) => u8::try_from(day)
                .ok()
                .filter(|d| (1..=7).contains(d))
                .and_then(|d| Weekday::try_from(d - 1).ok())
                .map(Self::Weekly),
            ("monthly", None, Some(day)) => u32::try_from(day)
                .ok()
                .filter(|d| (1..=LAST_MONTH_DAY).contains(d))
                .map(Self::Monthly),
            _ => None,
        }
    }

    pub fn kind(self) -> &'static str {
        match self {
            Self::Daily => "daily",
            Self::Weekly(_) => "weekly",
            Self::Monthly(_) => "monthly",
        }
    }

    /// ISO weekday number (1 = Monday) of a weekly cycle.
    pub fn weekday_column(self) -> Option<i16> {
        match self {
            Self::Weekly(day) => i16::try_from(day.number_from_monday()).ok(),
            _ => None,
        }
    }

    pub fn month_day_column(self) -> Option<i16> {
        match self {
            Self::Monthly(day) => i16::try_from(day).ok(),
            _ => None,
        }
    }

    /// The first cut-off of this cycle strictly after `date`.
    pub fn next_cutoff(self, date: NaiveDate) -> NaiveDate {
        let next = date + Days::new(1);
        match self {
            Self::Daily => next,
            Self::Weekly(weekday) => {
                let ahead = (7 + weekday.num_days_from_monday()
                    - next.weekday().num_days_from_monday())
                    % 7;
                next + Days::new(u64::from(ahead))
            }
            Self::Monthly(day) => {
                let this_month = next
                    .with_day(day)
                    .expect("days 1 to 28 exist in every month");
                if this_month >= next {
                    this_month
                } else {
                    let first = next.with_day(1).expect("every month has a first day");
                    first
                        .checked_add_months(chrono::Months::new(1))
                        .and_then(|m| m.with_day(day))
                        .expect("days 1 to 28 exist in every month")
                }
            }
        }
    }

    /// The period that starts on `start`.
    pub fn period_from(self, start: NaiveDate) -> Period {
        Period {
            start,
            end: self.next_cutoff(start),
        }
    }
}

/// The periods from `start` on that have ended by `today` (Shanghai date), in
/// order: a merchant whose settlement was missed for a while catches up one
/// period at a time.
pub fn ended_periods(cycle: Cycle, start: NaiveDate, today: NaiveDate) -> Vec<Period> {
    let mut periods = Vec::new();
    let mut period = cycle.period_from(start);
    while period.end <= today {
        periods.push(period);
        period = cycle.period_from(period.end);
    }
    periods
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn daily_periods_are_one_day() {
        assert_eq!(
            Cycle::Daily.period_from(date(2026, 11, 22)),
            Period {
                start: date(2026, 11, 22),
                end: date(2026, 11, 23)
            }
        );
    }

    #[test]
    fn weekly_periods_end_on_the_chosen_weekday() {
        // 2026-11-22 is a Sunday.
        let monday = Cycle::Weekly(Weekday::Mon);
        assert_eq!(monday.next_cutoff(date(2026, 11, 22)), date(2026, 11, 23));
        assert_eq!(monday.next_cutoff(date(2026, 11, 23)), date(2026, 11, 30));
        let sunday = Cycle::Weekly(Weekday::Sun);
        assert_eq!(sunday.next_cutoff(date(2026, 11, 22)), date(2026, 11, 29));
    }

    #[test]
    fn monthly_periods_end_on_the_chosen_day() {
        let fifteenth = Cycle::Monthly(15);
        assert_eq!(
            fifteenth.next_cutoff(date(2026, 11, 14)),
            date(2026, 11, 15)
        );
        assert_eq!(
            fifteenth.next_cutoff(date(2026, 11, 15)),
            date(2026, 12, 15)
        );
        assert_eq!(fifteenth.next_cutoff(date(2026, 12, 20)), date(2027, 1, 15));
        let first = Cycle::Monthly(1);
        assert_eq!(first.next_cutoff(date(2027, 1, 31)), date(2027, 2, 1));
    }

    #[test]
    fn a_period_is_cut_at_shanghai_midnight() {
        let period = Cycle::Daily.period_from(date(2026, 11, 22));
        assert_eq!(period.starts_at().to_rfc3339(), "2026-11-21T16:00:00+00:00");
        assert_eq!(period.ends_at().to_rfc3339(), "2026-11-22T16:00:00+00:00");
    }

    #[test]
    fn catching_up_settles_every_ended_period_and_not_the_current_one() {
        let periods = ended_periods(Cycle::Daily, date(2026, 11, 19), date(2026, 11, 22));
        assert_eq!(periods.len(), 3);
        assert_eq!(periods[2].end, date(2026, 11, 22));
        assert!(ended_periods(Cycle::Daily, date(2026, 11, 22), date(2026, 11, 22)).is_empty());
    }

    #[test]
    fn columns_round_trip() {
        for cycle in [
            Cycle::Daily,
            Cycle::Weekly(Weekday::Wed),
            Cycle::Monthly(28),
        ] {
            assert_eq!(
                Cycle::from_columns(
                    cycle.kind(),
                    cycle.weekday_column(),
                    cycle.month_day_column()
                ),
                Some(cycle)
            );
        }
        assert_eq!(Cycle::from_columns("monthly", None, Some(29)), None);
        assert_eq!(Cycle::from_columns("weekly", Some(8), None), None);
    }

    proptest! {
        /// Periods tile time: each starts where the last ended, ends on a cut-off
        /// of its cycle, and is at most one cycle long.
        #[test]
        fn periods_tile_without_gaps(
            start in 0u64..3_000, len in 0u64..400,
            kind in 0u8..3, weekday in 0u8..7, month_day in 1u32..=28,
        ) {
            let cycle = match kind {
                0 => Cycle::Daily,
                1 => Cycle::Weekly(Weekday::try_from(weekday).unwrap()),
                _ => Cycle::Monthly(month_day),
            };
            let start = date(2024, 1, 1) + Days::new(start);
            let periods = ended_periods(cycle, start, start + Days::new(len));
            let mut at = start;
            for period in periods {
                prop_assert_eq!(period.start, at);
                prop_assert!(period.end > period.start);
                prop_assert!((period.end - period.start).num_days() <= 31);
                match cycle {
                    Cycle::Daily => {}
                    Cycle::Weekly(day) => prop_assert_eq!(period.end.weekday(), day),
                    Cycle::Monthly(day) => prop_assert_eq!(period.end.day(), day),
                }
                at = period.end;
            }
        }
    }
}
