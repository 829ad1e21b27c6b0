//! Reading an import file: text in UTF-8 (with or without the byte-order mark
//! Excel writes) or in GBK, as Excel saves "CSV" on a Chinese Windows; then CSV
//! records (the `csv` crate: quoting, embedded commas and newlines) with the
//! line each starts on, and the columns the header names.

use std::borrow::Cow;

use crate::error::{Class, Classify, Kind, Message, Refusal};

/// A row of the file: its fields in the order of [`Table::columns`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// 1-based line of the file the record starts on (the header is line 1).
    pub line: u64,
    pub fields: Vec<String>,
}

/// The file, read: each record's fields in the order of the columns the
/// importer asked for.
#[derive(Debug)]
pub struct Table {
    pub records: Vec<Record>,
    /// Records with more or fewer fields than the header: (line, fields).
    pub misshapen: Vec<(u64, usize)>,
}

/// Why a file cannot be read at all (as opposed to one bad row).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is neither UTF-8 nor GBK text")]
    NotText,
    #[error("the header has no column {0:?} (columns: {1})")]
    MissingColumn(&'static str, String),
    #[error("the header has a column {0:?} this import does not know (expected: {1})")]
    UnknownColumn(String, String),
    #[error("line {line}: not CSV: {reason}")]
    Malformed { line: u64, reason: String },
}

/// A file that cannot be read is the sender's to fix.
impl Classify for FileError {
    fn class(&self) -> Class {
        let message = match self {
            Self::Empty => Message::new("import.error.empty"),
            Self::NotText => Message::new("import.error.not_text"),
            Self::MissingColumn(column, expected) => Message::new("import.error.missing_column")
                .arg("column", column)
                .arg("expected", expected),
            Self::UnknownColumn(column, expected) => Message::new("import.error.unknown_column")
                .arg("column", column)
                .arg("expected", expected),
            Self::Malformed { line, reason } => Message::new("import.error.malformed")
                .arg("line", line)
                .arg("reason", reason),
        };
        Class::Refusal(Refusal::new(
            Kind::Unprocessable,
            "unreadable-file",
            message,
        ))
    }
}

/// The file's text. UTF-8 is tried first, so a GBK file is recognised by not
/// being UTF-8 — which Chinese text in GBK practically never is.
pub fn decode(bytes: &[u8]) -> Result<Cow<'_, str>, FileError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(Cow::Borrowed(text));
    }
    encoding_rs::GBK
        .decode_without_bom_handling_and_without_replacement(bytes)
        .ok_or(FileError::NotText)
}

/// Reads `bytes` as CSV whose header names exactly `columns`, in any order and
/// case. Blank lines are skipped; a record with more or fewer fields than the
/// header is set aside in [`Table::misshapen`] for the row report.
pub fn read(bytes: &[u8], columns: &'static [&'static str]) -> Result<Table, FileError> {
    let text = decode(bytes)?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| malformed(1, &e))?
        .iter()
        .map(str::to_lowercase)
        .collect();
    if header.iter().all(String::is_empty) {
        return Err(FileError::Empty);
    }
    let expected = columns.join(",");
    if let Some(unknown) = header.iter().find(|h| !columns.contains(&h.as_str())) {
        return Err(FileError::UnknownColumn(unknown.clone(), expected));
    }
    let positions: Vec<usize> = columns
        .iter()
        .map(|column| {
            header
                .iter()
                .position(|h| h == column)
                .ok_or_else(|| FileError::MissingColumn(column, expected.clone()))
        })
        .collect::<Result<_, _>>()?;
    let mut records = Vec::new();
    let mut misshapen = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, csv::Position::line);
            malformed(line, &e)
        })?;
        let line = record.position().map_or(0, csv::Position::line);
        if record.iter().all(str::is_empty) {
            continue;
        }
        if record.len() != header.len() {
            misshapen.push((line, record.len()));
            continue;
        }
        records.push(Record {
            line,
            fields: positions.iter().map(|&at| record[at].to_owned()).collect(),
        });
    }
    Ok(Table { records, misshapen })
}

fn malformed(line: u64, error: &csv::Error) -> FileError {
    FileError::Malformed {
        line,
        reason: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLUMNS: &[&str] = &["phone", "name"];

    #[test]
    fn utf8_with_a_bom_and_columns_in_any_order_and_case() {
        let table = read(
            b"\xEF\xBB\xBFName,Phone\n\xE7\x8E\x8B\xE8\x8A\xB3,13800000001\n\n",
            COLUMNS,
        )
        .unwrap();
        assert_eq!(table.records.len(), 1);
        assert_eq!(table.records[0].line, 2);
        assert_eq!(table.records[0].fields, ["13800000001", "王芳"]);
    }

    #[test]
    fn gbk_from_excel_is_read_as_chinese() {
        let (gbk, _, _) = encoding_rs::GBK.encode("phone,name\n13800000001,王芳\n");
        let table = read(&gbk, COLUMNS).unwrap();
        assert_eq!(table.records[0].fields[1], "王芳");
    }

    #[test]
    fn a_header_that_misses_or_adds_a_column_is_refused() {
        assert!(matches!(
            read(b"phone\n1\n", COLUMNS),
            Err(FileError::MissingColumn("name", _))
        ));
        assert!(matches!(
            read(b"phone,name,age\n1,2,3\n", COLUMNS),
            Err(FileError::UnknownColumn(c, _)) if c == "age"
        ));
    }

    #[test]
    fn a_record_with_the_wrong_number_of_fields_is_set_aside_with_its_line() {
        let table = read(b"phone,name\n1,a\n2\n", COLUMNS).unwrap();
        assert_eq!(table.records.len(), 1);
        assert_eq!(table.misshapen, [(3, 1)]);
    }
}
