//! How figures and times look on a page: money as ¥1,234.50, times in
//! Asia/Shanghai.

use chrono::{DateTime, Utc};

use crate::{
    domain::{money::Money, shanghai},
    i18n::Locale,
};

/// `2026-11-22 16:05` (Chinese) or `22 Nov 2026, 16:05` (English), Shanghai time.
pub fn datetime(at: DateTime<Utc>, locale: Locale) -> String {
    let local = at.with_timezone(&shanghai::offset());
    match locale {
        Locale::ZhCn => local.format("%Y-%m-%d %H:%M").to_string(),
        Locale::En => local.format("%-d %b %Y, %H:%M").to_string(),
    }
}

/// `¥1,234.50`, `-¥12.00`.
pub fn money(amount: Money) -> String {
    let fen = amount.fen();
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}¥{}.{:02}", group_thousands(abs / 100), abs % 100)
}

/// `12,345` for points and counts.
pub fn count(n: i64) -> String {
    let sign = if n < 0 { "-" } else { "" };
    format!("{sign}{}", group_thousands(n.unsigned_abs()))
}

fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn money_has_a_yuan_sign_thousands_and_two_decimals() {
        assert_eq!(money(Money::from_fen(123_450)), "¥1,234.50");
        assert_eq!(money(Money::from_fen(5)), "¥0.05");
        assert_eq!(money(Money::from_fen(-1_200)), "-¥12.00");
        assert_eq!(money(Money::from_fen(100_000_000_000)), "¥1,000,000,000.00");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(-999), "-999");
    }

    #[test]
    fn times_are_shown_in_shanghai() {
        let at = Utc.with_ymd_and_hms(2026, 11, 22, 16, 5, 0).unwrap();
        assert_eq!(datetime(at, Locale::ZhCn), "2026-11-23 00:05");
        assert_eq!(datetime(at, Locale::En), "23 Nov 2026, 00:05");
    }
}
