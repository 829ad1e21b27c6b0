//! A report table as a CSV file for a spreadsheet: UTF-8 with a byte-order
//! mark (so Excel reads the Chinese), the translated headers, one line per row
//! and the totals last; figures plain (yuan with two decimals, no thousands
//! separators) and text that a spreadsheet would evaluate defused.

use crate::spreadsheet::defuse;

use super::{Cell, Table};

pub fn to_csv(table: &Table) -> Vec<u8> {
    let mut writer = ::csv::Writer::from_writer("\u{feff}".as_bytes().to_vec());
    let record = |cells: &[Cell]| -> Vec<String> {
        cells
            .iter()
            .map(|cell| match cell {
                // Figures are written by us and may be negative: they stay numbers.
                Cell::Text(text) => defuse(text).into_owned(),
                other => other.plain(),
            })
            .collect()
    };
    let headers: Vec<String> = table
        .columns
        .iter()
        .map(|c| defuse(&c.header).into_owned())
        .collect();
    let rows = std::iter::once(headers)
        .chain(table.rows.iter().map(|row| record(row)))
        .chain(table.totals.iter().map(|totals| record(totals)));
    for row in rows {
        writer
            .write_record(&row)
            .expect("writing CSV to memory cannot fail");
    }
    writer
        .into_inner()
        .expect("flushing CSV to memory cannot fail")
}

#[cfg(test)]
mod tests {
    use crate::domain::money::Money;

    use super::*;

    #[test]
    fn a_table_becomes_bom_headers_rows_and_totals() {
        let mut table = Table::new([("商户".to_owned(), false), ("金额".to_owned(), true)]);
        table.rows = vec![
            vec![
                Cell::Text("=cmd()".into()),
                Cell::Money(Money::from_fen(-1_234_500)),
            ],
            vec![
                Cell::Text("咖啡, 茶".into()),
                Cell::Money(Money::from_fen(50)),
            ],
        ];
        table.add_totals("合计".into());
        let bytes = to_csv(&table);
        let text = String::from_utf8(bytes).unwrap();
        assert_eq!(
            text,
            "\u{feff}商户,金额\n'=cmd(),-12345.00\n\"咖啡, 茶\",0.50\n合计,-12344.50\n"
        );
    }
}
