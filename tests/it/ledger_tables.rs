//! The ledger owns its tables (issue #18): outside `src/ledger/` no code names
//! `transfers`, `journal_entries` or `account_balances` in SQL or diesel's query
//! builder; it reads the books through the ledger's functions and views.

use std::{fs, path::Path};

const TABLES: [&str; 3] = ["transfers", "journal_entries", "account_balances"];

pub(crate) fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// A use of `table` as a table: after FROM or JOIN in SQL, as a diesel path
/// (`transfers::table`), or imported from the schema.
fn names_table(code: &str, table: &str) -> bool {
    let lower = code.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|w| !w.is_empty())
        .collect();
    let in_sql = words
        .windows(2)
        .any(|pair| matches!(pair[0], "from" | "join" | "update" | "into") && pair[1] == table);
    let path = format!("{table}::");
    let in_dsl = words.iter().any(|w| w.starts_with(&path));
    let imported = lower.contains("schema::")
        && lower
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .any(|w| w == table);
    in_sql || in_dsl || imported
}

#[test]
fn nothing_outside_the_ledger_names_its_tables() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let mut offenders = Vec::new();
    for file in files {
        let relative = file.strip_prefix(&root).unwrap();
        if relative.starts_with("ledger") || relative == Path::new("db/schema.rs") {
            continue;
        }
        let text = fs::read_to_string(&file).unwrap();
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for table in TABLES {
                if names_table(code, table) {
                    offenders.push(format!(
                        "{}:{}: {}",
                        relative.display(),
                        number + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "read the ledger through ledger::views:\n{}",
        offenders.join("\n")
    );
}
