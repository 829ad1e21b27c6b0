//! Payment instructions for the bank: one batch of CNY credit transfers from
//! the house's account to merchants' recipients, as an ISO 20022
//! pain.001.001.03 message (what a bank's host-to-host channel accepts) and as
//! a CSV (what finance staff open in Excel, or upload to an online bank).
//!
//! Both are written from the same [`PayoutFile`], so they always describe the
//! same payments. The settlement service builds it from validated data; what
//! it must hold to make a file the bank accepts:
//! - at least one instruction, each with an amount above zero (the split
//!   leaves zero parts out);
//! - ids of 1 to 35 characters, unique per file (end-to-end ids are how the
//!   bank's returns are matched to payouts);
//! - account numbers as [`BankAccountNumber`](crate::onboarding::BankAccountNumber)
//!   keeps them: 8 to 30 digits.

use std::{borrow::Cow, fmt, io};

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use quick_xml::{
    Writer,
    events::{BytesDecl, BytesText, Event},
};

use crate::{domain::money::Money, spreadsheet::defuse};

/// Every payout is in yuan.
pub const CURRENCY: &str = "CNY";

/// The CSV's header row. The names are stable: spreadsheets and bank upload
/// templates are mapped onto them by name.
pub const CSV_COLUMNS: [&str; 9] = [
    "end_to_end_id",
    "creditor_name",
    "creditor_account",
    "creditor_bank",
    "creditor_bank_code",
    "amount_cny",
    "currency",
    "remittance",
    "execution_date",
];

const PAIN_001_NAMESPACE: &str = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03";
/// The schema's `Max35Text`: message, payment and end-to-end ids, other codes.
const MAX_ID_CHARS: usize = 35;
/// The schema's `Max140Text`: names and remittance information.
const MAX_TEXT_CHARS: usize = 140;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutFile {
    /// Unique per file: banks refuse a message id they have seen before, which
    /// is what stops a file sent twice from paying twice.
    pub message_id: String,
    pub created_at: DateTime<Utc>,
    /// The day the bank is asked to pay.
    pub execution_date: NaiveDate,
    /// The house's account the payouts are paid from.
    pub debtor: Party,
    pub instructions: Vec<Instruction>,
}

/// An account holder and the account.
#[derive(Clone, PartialEq, Eq)]
pub struct Party {
    pub name: String,
    /// A domestic account number, not an IBAN (China has none).
    pub account: String,
    pub bank_name: String,
    /// The bank's BIC (SWIFT code) when known; another code, such as a CNAPS
    /// bank number (联行号), is passed on as the bank's other id.
    pub bank_code: Option<String>,
}

/// Like `BankAccountNumber`, never print a whole account number by accident
/// (logs, panics): only its last four characters.
impl fmt::Debug for Party {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let last_four: String = {
            let mut tail: Vec<char> = self.account.chars().rev().take(4).collect();
            tail.reverse();
            tail.into_iter().collect()
        };
        f.debug_struct("Party")
            .field("name", &self.name)
            .field("account", &format_args!("****{last_four}"))
            .field("bank_name", &self.bank_name)
            .field("bank_code", &self.bank_code)
            .finish()
    }
}

/// One credit transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// Travels with the payment to the recipient's bank and back in returns.
    pub end_to_end_id: String,
    pub amount: Money,
    pub creditor: Party,
    /// What the recipient's statement shows (附言).
    pub remittance: String,
}

/// The payouts as CSV: UTF-8 with a byte order mark, because Excel in China
/// otherwise reads the file as GBK and garbles every Chinese name; a header row
/// of [`CSV_COLUMNS`], then one row per instruction. Amounts are yuan with two
/// decimals ("12.50"). There is no totals row: a spreadsheet sums a column
/// itself, and a total is a row some importer would take for a payment (the
/// XML carries it as its control sum instead).
///
/// Cells starting with `=`, `+`, `-`, `@`, a tab or a carriage return get a
/// leading `'`. Names and remittance text come from merchants; without that a
/// name like `=HYPERLINK(…)` would run as a formula on the finance team's
/// machine when they open the file (CSV formula injection). The apostrophe is
/// how Excel itself marks "this is text".
pub fn to_csv(file: &PayoutFile) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer("\u{feff}".as_bytes().to_vec());
    let execution_date = file.execution_date.format("%Y-%m-%d").to_string();
    writer
        .write_record(CSV_COLUMNS)
        .and_then(|()| {
            for instruction in &file.instructions {
                let creditor = &instruction.creditor;
                let cells = [
                    defuse(&instruction.end_to_end_id),
                    defuse(&creditor.name),
                    defuse(&creditor.account),
                    defuse(&creditor.bank_name),
                    defuse(creditor.bank_code.as_deref().unwrap_or_default()),
                    // Our own formatting of a positive amount: nothing to defuse.
                    Cow::Owned(instruction.amount.to_string()),
                    Cow::Borrowed(CURRENCY),
                    defuse(&instruction.remittance),
                    Cow::Borrowed(execution_date.as_str()),
                ];
                writer.write_record(cells.iter().map(|cell| cell.as_bytes()))?;
            }
            Ok(())
        })
        .expect("writing CSV to memory cannot fail");
    writer
        .into_inner()
        .expect("flushing CSV to memory cannot fail")
}

/// The payouts as an ISO 20022 `pain.001.001.03` customer credit transfer
/// initiation: one payment information block (the house's account, batch
/// booked, charges shared — SLEV) with one credit transfer per instruction.
///
/// The schema limits text: ids are cut to 35 characters and names and
/// remittance to 140 (characters, not bytes — the schema counts characters,
/// and cutting bytes could split a Chinese character). Control characters
/// become spaces, because XML 1.0 cannot carry most of them even escaped and
/// bank systems read these fields as single lines. Account numbers are never
/// cut: a shortened number pays a stranger, whereas one too long makes a file
/// the bank refuses. Amounts and the control sum have exactly two decimals.
pub fn to_pain001(file: &PayoutFile) -> String {
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
    write_document(&mut writer, file).expect("writing XML to memory cannot fail");
    String::from_utf8(writer.into_inner()).expect("every piece written is UTF-8")
}

type Xml = Writer<Vec<u8>>;

fn write_document(xml: &mut Xml, file: &PayoutFile) -> io::Result<()> {
    debug_assert!(!file.instructions.is_empty(), "a payout file pays someone");
    debug_assert!(
        file.instructions.iter().all(|i| i.amount.is_positive()),
        "every payout is above zero"
    );
    let count = file.instructions.len().to_string();
    let control_sum = control_sum(&file.instructions);
    xml.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    xml.create_element("Document")
        .with_attribute(("xmlns", PAIN_001_NAMESPACE))
        .write_inner_content(|xml| {
            xml.create_element("CstmrCdtTrfInitn")
                .write_inner_content(|xml| {
                    xml.create_element("GrpHdr").write_inner_content(|xml| {
                        text(xml, "MsgId", &clean(&file.message_id, MAX_ID_CHARS))?;
                        let created_at = file.created_at.to_rfc3339_opts(SecondsFormat::Secs, true);
                        text(xml, "CreDtTm", &created_at)?;
                        text(xml, "NbOfTxs", &count)?;
                        text(xml, "CtrlSum", &control_sum)?;
                        xml.create_element("InitgPty")
                            .write_inner_content(|xml| name(xml, &file.debtor.name))?;
                        Ok(())
                    })?;
                    xml.create_element("PmtInf").write_inner_content(|xml| {
                        text(xml, "PmtInfId", &clean(&file.message_id, MAX_ID_CHARS))?;
                        text(xml, "PmtMtd", "TRF")?;
                        // One debit for the whole batch on the house's statement.
                        text(xml, "BtchBookg", "true")?;
                        text(xml, "NbOfTxs", &count)?;
                        text(xml, "CtrlSum", &control_sum)?;
                        let execution_date = file.execution_date.format("%Y-%m-%d").to_string();
                        text(xml, "ReqdExctnDt", &execution_date)?;
                        xml.create_element("Dbtr")
                            .write_inner_content(|xml| name(xml, &file.debtor.name))?;
                        account(xml, "DbtrAcct", &file.debtor)?;
                        agent(xml, "DbtrAgt", &file.debtor)?;
                        // Each side pays its own bank's charges: the recipient
                        // receives the amount split for them.
                        text(xml, "ChrgBr", "SLEV")?;
                        for instruction in &file.instructions {
                            credit_transfer(xml, instruction)?;
                        }
                        Ok(())
                    })?;
                    Ok(())
                })?;
            Ok(())
        })?;
    Ok(())
}

fn credit_transfer(xml: &mut Xml, instruction: &Instruction) -> io::Result<()> {
    xml.create_element("CdtTrfTxInf")
        .write_inner_content(|xml| {
            xml.create_element("PmtId").write_inner_content(|xml| {
                text(
                    xml,
                    "EndToEndId",
                    &clean(&instruction.end_to_end_id, MAX_ID_CHARS),
                )
            })?;
            xml.create_element("Amt").write_inner_content(|xml| {
                xml.create_element("InstdAmt")
                    .with_attribute(("Ccy", CURRENCY))
                    .write_text_content(BytesText::new(&instruction.amount.to_string()))?;
                Ok(())
            })?;
            agent(xml, "CdtrAgt", &instruction.creditor)?;
            xml.create_element("Cdtr")
                .write_inner_content(|xml| name(xml, &instruction.creditor.name))?;
            account(xml, "CdtrAcct", &instruction.creditor)?;
            // The schema wants at least one character in Ustrd, so no
            // remittance means no RmtInf at all.
            if !instruction.remittance.trim().is_empty() {
                xml.create_element("RmtInf").write_inner_content(|xml| {
                    text(
                        xml,
                        "Ustrd",
                        &clean(&instruction.remittance, MAX_TEXT_CHARS),
                    )
                })?;
            }
            Ok(())
        })?;
    Ok(())
}

/// `<Nm>` of a party.
fn name(xml: &mut Xml, name: &str) -> io::Result<()> {
    text(xml, "Nm", &clean(name, MAX_TEXT_CHARS))
}

/// A domestic account: Chinese account numbers are not IBANs, so they go in
/// `Othr/Id` rather than `IBAN`.
fn account(xml: &mut Xml, element: &str, party: &Party) -> io::Result<()> {
    xml.create_element(element).write_inner_content(|xml| {
        xml.create_element("Id").write_inner_content(|xml| {
            xml.create_element("Othr")
                .write_inner_content(|xml| text(xml, "Id", &party.account))?;
            Ok(())
        })?;
        text(xml, "Ccy", CURRENCY)
    })?;
    Ok(())
}

/// The party's bank: its BIC when the code is one, its name, and any other
/// code (such as a CNAPS number) as `Othr/Id` — in the order the schema's
/// `FinancialInstitutionIdentification7` sequence requires.
fn agent(xml: &mut Xml, element: &str, party: &Party) -> io::Result<()> {
    let code = party
        .bank_code
        .as_deref()
        .map(str::trim)
        .filter(|code| !code.is_empty());
    let (bic, other) = match code {
        Some(code) if is_bic(code) => (Some(code), None),
        other => (None, other),
    };
    xml.create_element(element).write_inner_content(|xml| {
        xml.create_element("FinInstnId")
            .write_inner_content(|xml| {
                if let Some(bic) = bic {
                    text(xml, "BIC", bic)?;
                }
                if !party.bank_name.trim().is_empty() {
                    name(xml, &party.bank_name)?;
                }
                if let Some(other) = other {
                    xml.create_element("Othr")
                        .write_inner_content(|xml| text(xml, "Id", &clean(other, MAX_ID_CHARS)))?;
                }
                Ok(())
            })?;
        Ok(())
    })?;
    Ok(())
}

/// The schema's `BICIdentifier`: `[A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})?`.
fn is_bic(code: &str) -> bool {
    let bytes = code.as_bytes();
    (bytes.len() == 8 || bytes.len() == 11)
        && bytes[..6].iter().all(u8::is_ascii_uppercase)
        && matches!(bytes[6], b'A'..=b'Z' | b'2'..=b'9')
        && matches!(bytes[7], b'A'..=b'N' | b'P'..=b'Z' | b'0'..=b'9')
        && bytes[8..]
            .iter()
            .all(|byte| byte.is_ascii_uppercase() || byte.is_ascii_digit())
}

/// An element holding text; quick-xml escapes `&`, `<`, `>` and quotes.
fn text(xml: &mut Xml, element: &str, value: &str) -> io::Result<()> {
    xml.create_element(element)
        .write_text_content(BytesText::new(value))?;
    Ok(())
}

/// Control characters (and the two non-characters XML 1.0 forbids) become
/// spaces; then at most `max_chars` characters are kept.
fn clean(text: &str, max_chars: usize) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\u{fffe}' | '\u{ffff}') {
                ' '
            } else {
                c
            }
        })
        .take(max_chars)
        .collect()
}

/// The sum of the amounts, "1234.50". In i128, because the sum of many i64
/// amounts may not fit an i64 (a file that large is refused by the schema's
/// 18 digits, which is the right outcome, rather than a panic here).
fn control_sum(instructions: &[Instruction]) -> String {
    let fen: i128 = instructions
        .iter()
        .map(|instruction| i128::from(instruction.amount.fen()))
        .sum();
    format!("{}.{:02}", fen / 100, fen % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bics_are_recognised_by_the_schema_pattern() {
        for bic in ["ICBKCNBJ", "ICBKCNBJSHI", "BKCHCNBJ300", "DEUTDEFF500"] {
            assert!(is_bic(bic), "{bic}");
        }
        for code in [
            "102100099996",
            "icbkcnbj",
            "ICBKCNB",
            "ICBKCNBJSH",
            "ICBKCN1J",
            "ICBKCNBO",
            "中国工商银行",
        ] {
            assert!(!is_bic(code), "{code}");
        }
    }

    #[test]
    fn cleaning_cuts_characters_not_bytes_and_blanks_control_characters() {
        assert_eq!(clean("沪上咖啡有限公司", 4), "沪上咖啡");
        assert_eq!(clean("a\nb\u{0}c\u{fffe}", 35), "a b c ");
        assert_eq!(clean("short", 35), "short");
    }

    #[test]
    fn the_control_sum_has_two_decimals() {
        let instruction = |fen| Instruction {
            end_to_end_id: "E".into(),
            amount: Money::from_fen(fen),
            creditor: Party {
                name: "N".into(),
                account: "12345678".into(),
                bank_name: String::new(),
                bank_code: None,
            },
            remittance: String::new(),
        };
        assert_eq!(control_sum(&[instruction(5), instruction(1200)]), "12.05");
        assert_eq!(
            control_sum(&[instruction(i64::MAX), instruction(1)]),
            "92233720368547758.08"
        );
    }

    #[test]
    fn debug_output_masks_the_account_number() {
        let party = Party {
            name: "王芳".into(),
            account: "6222020200112233445".into(),
            bank_name: "中国工商银行".into(),
            bank_code: None,
        };
        let debug = format!("{party:?}");
        assert!(debug.contains("****3445"), "{debug}");
        assert!(!debug.contains("6222020200112233445"), "{debug}");
    }
}
