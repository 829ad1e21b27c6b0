//! A statement as a CSV file, for the merchant's finance team: downloaded from
//! the merchant portal and attached to the statement email. One table with a
//! `section` column (summary, activity, payout) so a spreadsheet can filter it,
//! headings and labels in the reader's language, amounts in yuan with two
//! decimals, signed (positive: the house owes the merchant).

use std::borrow::Cow;

use crate::{domain::money::Money, i18n::Locale, spreadsheet::defuse};

use super::{
    payout::Payout,
    recipients::Recipient,
    statement::{Direction, Line, Statement},
};

/// The label of an entry kind on a statement; the kind itself when it has none.
pub fn kind_label(locale: Locale, kind: &str, direction: Direction) -> String {
    let key = format!("settlement.kind.{kind}.{}", direction.as_str());
    let label = locale.t(&key);
    if label == key {
        kind.to_owned()
    } else {
        label.into_owned()
    }
}

/// The statement, its lines and its payouts (with their recipients).
pub fn to_csv(
    locale: Locale,
    statement: &Statement,
    lines: &[Line],
    payouts: &[(Payout, Recipient)],
) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer("\u{feff}".as_bytes().to_vec());
    let t = |key: &str| locale.t(key).into_owned();
    let (first, last) = statement.days();
    let summary = t("settlement.csv.summary");
    let mut rows: Vec<[Cow<'_, str>; 4]> = vec![
        [
            Cow::Owned(t("settlement.csv.section")),
            Cow::Owned(t("settlement.csv.item")),
            Cow::Owned(t("settlement.csv.transfers")),
            Cow::Owned(t("settlement.csv.amount")),
        ],
        [
            Cow::Owned(summary.clone()),
            Cow::Owned(format!("{} {first} – {last}", t("settlement.csv.period"))),
            Cow::Borrowed(""),
            Cow::Borrowed(""),
        ],
        money_row(&summary, t("settlement.csv.opening"), statement.opening),
    ];
    let activity = t("settlement.csv.activity");
    for line in lines {
        let mut label = kind_label(locale, &line.kind, line.direction);
        if line.correction {
            label = format!("{label} ({})", t("settlement.csv.correction"));
        }
        rows.push([
            Cow::Owned(activity.clone()),
            Cow::Owned(label),
            Cow::Owned(line.transfers.to_string()),
            Cow::Owned(line.signed().to_string()),
        ]);
    }
    rows.push(money_row(
        &summary,
        t("settlement.csv.closing"),
        statement.closing,
    ));
    if statement.platform_fee.is_positive() {
        rows.push(money_row(
            &summary,
            t("settlement.csv.platform_fee"),
            Money::from_fen(-statement.platform_fee.fen()),
        ));
    }
    let payout = t("settlement.csv.payout");
    for (p, recipient) in payouts {
        rows.push([
            Cow::Owned(payout.clone()),
            Cow::Owned(format!(
                "{} ****{} ({})",
                defuse(&recipient.name),
                recipient.account_last4,
                p.reference
            )),
            Cow::Borrowed(""),
            Cow::Owned(Money::from_fen(-p.amount.fen()).to_string()),
        ]);
    }
    rows.push(money_row(
        &summary,
        t("settlement.csv.carried"),
        statement.carried,
    ));
    for row in rows {
        writer
            .write_record(row.iter().map(|cell| cell.as_bytes()))
            .expect("writing CSV to memory cannot fail");
    }
    writer
        .into_inner()
        .expect("flushing CSV to memory cannot fail")
}

fn money_row<'a>(section: &str, item: String, amount: Money) -> [Cow<'a, str>; 4] {
    [
        Cow::Owned(section.to_owned()),
        Cow::Owned(item),
        Cow::Borrowed(""),
        Cow::Owned(amount.to_string()),
    ]
}
