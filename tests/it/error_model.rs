//! The one error rule (issue #18) holds in the source: every service error
//! says whether it is a refusal or the system's through `error::Classify`,
//! matching each variant by name, and no handler keeps a private list of
//! refusal messages beside it. A new variant is then a decision, never a
//! refusal that silently becomes a 500.

use std::{fs, path::Path};

use crate::ledger_tables::rust_files;

/// Errors that reach no handler: each is wrapped in a service error that
/// classifies it (`EntryError` in `ExchangeError::Refused`, ...), or belongs
/// to an edge (`ApiError`, `WebError`, `AppError` are the answers themselves).
const UNCLASSIFIED: [&str; 19] = [
    "ApiError",
    "AppError",
    "ConfigError",
    "CryptoError",
    "EmailError",
    "EntryError",
    "ExpiryError",
    "HeldError",
    "LedgerError",
    "LotError",
    "MoneyError",
    "PointsError",
    "ProgramError",
    "ProviderError",
    "RateError",
    "ResidentIdError",
    "SettleError",
    "SmsError",
    "WebError",
];

/// Every `src/` file, relative path and text without line comments.
fn sources() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    files
        .into_iter()
        .map(|file| {
            let relative = file.strip_prefix(&root).unwrap().display().to_string();
            let text = fs::read_to_string(&file).unwrap();
            let code: Vec<&str> = text
                .lines()
                .map(|line| line.split("//").next().unwrap_or(""))
                .collect();
            (relative, code.join("\n"))
        })
        .collect()
}

/// The `impl Classify for` blocks in `code`: each from its header to the
/// brace that closes it.
fn classify_impls(code: &str) -> Vec<&str> {
    let mut impls = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("impl Classify for ") {
        let block = &rest[at..];
        let mut depth = 0;
        let mut end = block.len();
        for (i, c) in block.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        impls.push(&block[..end]);
        rest = &block[end..];
    }
    impls
}

/// The names of the `pub enum …Error` types `code` declares.
fn error_enums(code: &str) -> Vec<&str> {
    code.split("pub enum ")
        .skip(1)
        .filter_map(|tail| tail.split(|c: char| !c.is_alphanumeric()).next())
        .filter(|name| name.ends_with("Error"))
        .collect()
}

#[test]
fn every_classification_names_each_variant() {
    let offenders: Vec<String> = sources()
        .iter()
        .flat_map(|(file, code)| {
            classify_impls(code)
                .into_iter()
                .filter(|block| block.contains("_ =>"))
                .map(move |block| format!("{file}: {}", block.lines().next().unwrap_or("")))
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "a catch-all decides refusal or failure without naming the variant:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn every_service_error_classifies_itself() {
    let sources = sources();
    let classified: String = sources
        .iter()
        .flat_map(|(_, code)| classify_impls(code))
        .map(|block| block.lines().next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let unclassified: Vec<&str> = sources
        .iter()
        .flat_map(|(_, code)| error_enums(code))
        .filter(|name| !UNCLASSIFIED.contains(name))
        .filter(|name| !classified.contains(&format!("impl Classify for {name} ")))
        .collect();
    assert!(
        unclassified.is_empty(),
        "implement error::Classify for {unclassified:?} (or, if no handler \
         can meet it, list it as unclassified here)"
    );
}

#[test]
fn handlers_keep_no_refusal_messages_of_their_own() {
    let offenders: Vec<String> = sources()
        .into_iter()
        .filter(|(file, _)| file.starts_with("portals") || file.starts_with("api"))
        .filter(|(_, code)| {
            code.contains("\"error.internal.text\"")
                || code.contains("fn refusal_key")
                || code.contains("fn people_error_key")
        })
        .map(|(file, _)| file)
        .collect();
    assert!(
        offenders.is_empty(),
        "route refusals through web::flash or api::problem instead: {offenders:?}"
    );
}

#[test]
fn the_reader_finds_blocks_and_their_catch_alls() {
    let code = "impl Classify for A {\n fn class(&self) -> Class { match self { _ => x } }\n}\n\
                pub enum BError { X }\nimpl Classify for BError { fn class(&self) -> Class { y } }";
    let blocks = classify_impls(code);
    assert_eq!(blocks.len(), 2);
    assert!(blocks[0].contains("_ =>") && blocks[0].ends_with('}'));
    assert!(!blocks[1].contains("_ =>"));
    assert_eq!(error_enums(code), ["BError"]);
}
