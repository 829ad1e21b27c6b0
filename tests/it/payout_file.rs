//! Payout files: the pain.001 XML validated against the ISO 20022 schema with
//! xmllint (no database), and the CSV read back with the csv crate.

use std::{
    io::Write,
    path::PathBuf,
    process::{Command, Stdio},
};

use alliance::{
    domain::money::Money,
    settlement::payout_file::{CSV_COLUMNS, Instruction, Party, PayoutFile, to_csv, to_pain001},
};
use chrono::{NaiveDate, TimeZone, Utc};

const LONG_ID: &str = "ST-BREW-2026-04-000000000000000000000000042";

fn sample() -> PayoutFile {
    PayoutFile {
        message_id: "PAYOUT-2026-05-01-001".into(),
        created_at: Utc.with_ymd_and_hms(2026, 5, 1, 2, 30, 0).unwrap(),
        execution_date: NaiveDate::from_ymd_opt(2026, 5, 2).unwrap(),
        debtor: Party {
            name: "积分联盟（上海）清算有限公司".into(),
            account: "31001234567890123456".into(),
            bank_name: "中国建设银行上海分行".into(),
            bank_code: Some("PCBCCNBJSHX".into()),
        },
        instructions: vec![
            Instruction {
                end_to_end_id: "ST-BREW-2026-04-1".into(),
                amount: Money::parse("1234.50").unwrap(),
                creditor: Party {
                    name: "沪上咖啡 Shanghai Brew".into(),
                    account: "6222020200112233445".into(),
                    bank_name: "中国工商银行".into(),
                    bank_code: Some("ICBKCNBJ".into()),
                },
                remittance: "2026年4月结算 BREW".into(),
            },
            Instruction {
                end_to_end_id: "ST-BREW-2026-04-2".into(),
                amount: Money::from_fen(1),
                creditor: Party {
                    name: "Tom & Jerry <代理商>".into(),
                    account: "6228480000000000001".into(),
                    bank_name: "中国农业银行 A&B".into(),
                    // A CNAPS bank number (联行号), not a BIC.
                    bank_code: Some("103100000026".into()),
                },
                remittance: String::new(),
            },
            Instruction {
                end_to_end_id: LONG_ID.into(),
                amount: Money::parse("99999.99").unwrap(),
                creditor: Party {
                    name: "长".repeat(200),
                    account: "12345678".into(),
                    bank_name: String::new(),
                    bank_code: None,
                },
                remittance: "=HYPERLINK(\"http://evil.example\")\nline two".into(),
            },
        ],
    }
}

/// Runs xmllint against the vendored schema: Ok, or xmllint's complaint.
fn validate(xml: &str) -> Result<(), String> {
    let schema =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pain.001.001.03.xsd");
    let mut child = Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(&schema)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("xmllint runs (apt-get install libxml2-utils; scripts/test.sh does it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(xml.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// The text of every `<tag …>…</tag>` in document order (the tests' XML has
/// no nested elements of the same name).
fn texts<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut found = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        // `<Nm` must not match `<NmX`: the next character ends the name.
        if !after.starts_with(['>', ' ']) {
            rest = after;
            continue;
        }
        let body = &after[after.find('>').unwrap() + 1..];
        let end = body.find(&close).unwrap();
        found.push(&body[..end]);
        rest = &body[end..];
    }
    found
}

fn fen(amount: &str) -> i64 {
    Money::parse(amount).unwrap().fen()
}

#[test]
fn the_payout_file_is_valid_pain_001_001_03() {
    let xml = to_pain001(&sample());
    validate(&xml).unwrap_or_else(|why| panic!("invalid pain.001:\n{why}\n{xml}"));
    assert!(xml.starts_with(r#"<?xml version="1.0" encoding="UTF-8"?>"#));
    assert!(xml.contains(r#"<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03">"#));
}

#[test]
fn a_document_the_schema_forbids_is_refused_so_the_validator_really_runs() {
    let xml = to_pain001(&sample());
    for (valid, broken) in [
        ("<PmtMtd>TRF</PmtMtd>", "<PmtMtd>WIRE</PmtMtd>"),
        ("<ChrgBr>SLEV</ChrgBr>", "<ChrgBr>FREE</ChrgBr>"),
        ("<MsgId>PAYOUT-2026-05-01-001</MsgId>", ""),
        (&"长".repeat(140), &"长".repeat(141)),
        ("<Ccy>CNY</Ccy>", "<Ccy>yuan</Ccy>"),
    ] {
        assert!(xml.contains(valid), "{valid}");
        let broken = xml.replacen(valid, broken, 1);
        assert!(validate(&broken).is_err(), "accepted: {broken}");
    }
    assert!(
        validate("<Document>").is_err(),
        "accepted XML that is not well formed"
    );
}

#[test]
fn the_control_sum_and_number_of_transactions_match_the_instructions() {
    let file = sample();
    let xml = to_pain001(&file);
    let amounts = texts(&xml, "InstdAmt");
    assert_eq!(amounts, ["1234.50", "0.01", "99999.99"]);
    let total: i64 = amounts.iter().map(|amount| fen(amount)).sum();
    let expected: i64 = file.instructions.iter().map(|i| i.amount.fen()).sum();
    assert_eq!(total, expected);
    // Once in the group header, once in the payment information.
    assert_eq!(texts(&xml, "CtrlSum"), ["101234.50", "101234.50"]);
    assert_eq!(fen(texts(&xml, "CtrlSum")[0]), expected);
    assert_eq!(texts(&xml, "NbOfTxs"), ["3", "3"]);
    assert_eq!(texts(&xml, "CdtTrfTxInf").len(), 3);
    assert_eq!(texts(&xml, "ReqdExctnDt"), ["2026-05-02"]);
    assert_eq!(texts(&xml, "CreDtTm"), ["2026-05-01T02:30:00Z"]);
}

#[test]
fn names_are_escaped_not_concatenated() {
    let xml = to_pain001(&sample());
    assert!(
        xml.contains("<Nm>Tom &amp; Jerry &lt;代理商&gt;</Nm>"),
        "{xml}"
    );
    assert!(xml.contains("<Nm>中国农业银行 A&amp;B</Nm>"), "{xml}");
    assert!(!xml.contains("<代理商>"));
}

#[test]
fn accounts_agents_and_limits_follow_the_schema() {
    let xml = to_pain001(&sample());
    // Accounts are domestic numbers in Othr/Id, never IBAN, and whole.
    assert!(!xml.contains("<IBAN>"));
    let compact = xml.replace([' ', '\n'], "");
    for account in ["31001234567890123456", "6222020200112233445", "12345678"] {
        let other = format!("<Id><Othr><Id>{account}</Id></Othr></Id><Ccy>CNY</Ccy>");
        assert!(compact.contains(&other), "{account}");
    }
    // A BIC is a BIC; a CNAPS number is the bank's other id.
    assert_eq!(texts(&xml, "BIC"), ["PCBCCNBJSHX", "ICBKCNBJ"]);
    assert!(compact.contains("<Othr><Id>103100000026</Id></Othr></FinInstnId>"));
    // Ids are cut to 35 characters, names to 140, by character.
    let ids = texts(&xml, "EndToEndId");
    assert_eq!(ids[2], &LONG_ID[..35]);
    assert!(texts(&xml, "Nm").contains(&"长".repeat(140).as_str()));
    // A line break in the remittance is a space; no remittance, no RmtInf.
    assert_eq!(
        texts(&xml, "Ustrd"),
        [
            "2026年4月结算 BREW",
            "=HYPERLINK(&quot;http://evil.example&quot;) line two"
        ]
    );
}

#[test]
fn the_csv_has_a_bom_a_header_and_one_row_per_instruction() {
    let file = sample();
    let csv = to_csv(&file);
    assert!(
        csv.starts_with("\u{feff}".as_bytes()),
        "Excel needs the BOM"
    );
    let text = std::str::from_utf8(&csv).unwrap();
    assert!(text["\u{feff}".len()..].starts_with("end_to_end_id,creditor_name,"));

    let mut reader = csv::Reader::from_reader(&csv["\u{feff}".len()..]);
    assert_eq!(reader.headers().unwrap(), CSV_COLUMNS.as_slice());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), file.instructions.len(), "no totals row");
    assert_eq!(
        rows[0].iter().collect::<Vec<_>>(),
        [
            "ST-BREW-2026-04-1",
            "沪上咖啡 Shanghai Brew",
            "6222020200112233445",
            "中国工商银行",
            "ICBKCNBJ",
            "1234.50",
            "CNY",
            "2026年4月结算 BREW",
            "2026-05-02",
        ]
    );
    // The csv crate quotes what needs it, so names round-trip unchanged.
    assert_eq!(&rows[1][1], "Tom & Jerry <代理商>");
    assert_eq!(&rows[1][4], "103100000026");
    assert_eq!(&rows[1][5], "0.01");
    assert_eq!(&rows[1][7], "");
    assert_eq!(
        &rows[2][0], LONG_ID,
        "the CSV has no length limits to cut to"
    );
    assert_eq!(&rows[2][4], "");
    // A formula from a merchant's text is shown as text, not run.
    assert_eq!(
        &rows[2][7],
        "'=HYPERLINK(\"http://evil.example\")\nline two"
    );
    let amounts: i64 = rows.iter().map(|row| fen(&row[5])).sum();
    assert_eq!(
        amounts,
        file.instructions
            .iter()
            .map(|i| i.amount.fen())
            .sum::<i64>()
    );
}

#[test]
fn every_formula_lead_character_is_defused_in_every_text_column() {
    let mut file = sample();
    let instruction = &mut file.instructions[0];
    instruction.end_to_end_id = "=1".into();
    instruction.creditor.name = "+86 Brew".into();
    instruction.creditor.account = "-1".into();
    instruction.creditor.bank_name = "@bank".into();
    instruction.creditor.bank_code = Some("=cmd|' /C calc'!A0".into());
    instruction.remittance = "\t=1".into();
    let csv = to_csv(&file);
    let mut reader = csv::Reader::from_reader(&csv["\u{feff}".len()..]);
    let row = reader.records().next().unwrap().unwrap();
    assert_eq!(
        row.iter().collect::<Vec<_>>(),
        [
            "'=1",
            "'+86 Brew",
            "'-1",
            "'@bank",
            "'=cmd|' /C calc'!A0",
            "1234.50",
            "CNY",
            "'\t=1",
            "2026-05-02",
        ]
    );
}
