//! The table every report returns: translated column headers, rows of typed
//! cells and, where adding up makes sense, a totals row. Cells stay typed so
//! each reader formats them its own way: the page shows `¥1,234.50` and
//! `12,345`, the CSV writes `1234.50` and `12345`.

use rust_decimal::Decimal;

use crate::{domain::money::Money, i18n::Locale};

/// One cell of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Text(String),
    Money(Money),
    /// Points of one program; never added across programs.
    Points(i64),
    Count(i64),
    /// A percentage with two decimals, e.g. `12.50` for 12.5%.
    Percent(Decimal),
    /// Nothing to show (a rate of nothing, a store that is not there).
    Empty,
}

impl Cell {
    /// The cell as plain text for a file: yuan with two decimals and no
    /// thousands separators, whole numbers, percentages without the sign.
    pub fn plain(&self) -> String {
        match self {
            Self::Text(text) => text.clone(),
            Self::Money(money) => money.to_string(),
            Self::Points(n) | Self::Count(n) => n.to_string(),
            Self::Percent(p) => format!("{p:.2}"),
            Self::Empty => String::new(),
        }
    }

    pub fn is_numeric(&self) -> bool {
        !matches!(self, Self::Text(_) | Self::Empty)
    }

    /// The percentage `part / whole`, two decimals, rounded half to even;
    /// empty when the whole is zero.
    pub fn percent(part: i64, whole: i64) -> Self {
        if whole == 0 {
            return Self::Empty;
        }
        let ratio = Decimal::from(part) * Decimal::ONE_HUNDRED / Decimal::from(whole);
        Self::Percent(ratio.round_dp(2))
    }
}

/// A column: its header in the reader's language, and whether the totals row
/// adds it up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub header: String,
    pub summed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
    /// The sums of the summed columns, the label in the first column; `None`
    /// when nothing in the report adds up.
    pub totals: Option<Vec<Cell>>,
    /// How the figures are meant (a valuation basis, a point in time).
    pub note: Option<String>,
}

impl Table {
    /// A table with these columns (`(header, summed)`) and no rows yet.
    pub fn new(columns: impl IntoIterator<Item = (String, bool)>) -> Self {
        Self {
            columns: columns
                .into_iter()
                .map(|(header, summed)| Column { header, summed })
                .collect(),
            ..Self::default()
        }
    }

    /// A table whose headers are these catalog keys in `locale`, each with
    /// whether its column is summed.
    pub fn translated(locale: Locale, columns: &[(&str, bool)]) -> Self {
        Self::new(
            columns
                .iter()
                .map(|(key, summed)| (locale.t(key).into_owned(), *summed)),
        )
    }

    /// Adds the totals row: each summed column added up over the rows (money
    /// stays money, counts stay counts), `label` in the first column, the other
    /// cells empty. Sums that would overflow leave their cell empty rather than
    /// show a wrong figure.
    pub fn add_totals(&mut self, label: String) {
        let mut totals: Vec<Cell> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, column)| {
                if !column.summed {
                    return Cell::Empty;
                }
                let cells = self.rows.iter().filter_map(|row| row.get(i));
                sum(cells).unwrap_or(Cell::Empty)
            })
            .collect();
        if let Some(first) = totals.first_mut() {
            *first = Cell::Text(label);
        }
        self.totals = Some(totals);
    }

    /// The totals cell of the column `index`, to set a figure that is not a
    /// plain sum (a rate over the totals).
    pub fn set_total(&mut self, index: usize, cell: Cell) {
        if let Some(slot) = self.totals.as_mut().and_then(|t| t.get_mut(index)) {
            *slot = cell;
        }
    }
}

/// The sum of a column's cells, in the kind of its first numeric cell; an
/// empty column sums to nothing.
fn sum<'a>(cells: impl Iterator<Item = &'a Cell>) -> Option<Cell> {
    let mut total: Option<Cell> = None;
    for cell in cells {
        total = Some(match (total, cell) {
            (None, Cell::Money(m)) => Cell::Money(*m),
            (None, Cell::Count(n)) => Cell::Count(*n),
            (None, Cell::Points(n)) => Cell::Points(*n),
            (Some(Cell::Money(a)), Cell::Money(b)) => Cell::Money(a.checked_add(*b).ok()?),
            (Some(Cell::Count(a)), Cell::Count(b)) => Cell::Count(a.checked_add(*b)?),
            (Some(Cell::Points(a)), Cell::Points(b)) => Cell::Points(a.checked_add(*b)?),
            (current, _) => current?,
        });
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_add_the_summed_columns_only() {
        let mut table = Table::new([
            ("name".to_owned(), false),
            ("value".to_owned(), true),
            ("count".to_owned(), true),
            ("points".to_owned(), false),
        ]);
        table.rows = vec![
            vec![
                Cell::Text("a".into()),
                Cell::Money(Money::from_fen(150)),
                Cell::Count(2),
                Cell::Points(10),
            ],
            vec![
                Cell::Text("b".into()),
                Cell::Money(Money::from_fen(-50)),
                Cell::Count(3),
                Cell::Points(20),
            ],
        ];
        table.add_totals("total".into());
        assert_eq!(
            table.totals,
            Some(vec![
                Cell::Text("total".into()),
                Cell::Money(Money::from_fen(100)),
                Cell::Count(5),
                Cell::Empty,
            ])
        );
    }

    #[test]
    fn plain_cells_have_no_separators_or_signs() {
        assert_eq!(
            Cell::Money(Money::from_fen(12_345_678)).plain(),
            "123456.78"
        );
        assert_eq!(Cell::Points(1_234_567).plain(), "1234567");
        assert_eq!(Cell::percent(1, 3).plain(), "33.33");
        assert_eq!(Cell::percent(1, 0), Cell::Empty);
    }
}
