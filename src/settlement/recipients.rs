//! Who a merchant's payouts go to (分账): its own bank accounts and its agents or
//! referrers (代理商), each with a percentage, a fixed amount, or — exactly one of
//! them — the rest. Every change is checked as a whole against `split`'s rules
//! before it is stored, so the stored set is always one a payout can be split by.
//!
//! A merchant that never set recipients is paid whole to the bank account it
//! registered when it joined: the first settlement that pays it records that
//! account as its `rest` recipient.

use diesel::prelude::*;
use serde::Deserialize;

use crate::{
    audit::{self, Change},
    crypto::Keys,
    db::schema::{merchants, payout_recipients},
    domain::{actor::Actor, id::MerchantId, money::Money, text_enum::text_enum},
    error::{Class, Classify, Kind, Message, Refusal},
    onboarding::BankAccountNumber,
};

use super::{
    split::{Rule, Share, SplitError, SplitRules},
    terms::percent_to_bp,
};

const MAX_NAME_CHARS: usize = 70;
const MAX_BANK_CODE_CHARS: usize = 11;

text_enum! {
    pub enum RecipientKind {
        OwnAccount => "own_account",
        Agent => "agent",
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub id: i64,
    pub merchant_id: MerchantId,
    pub kind: RecipientKind,
    pub name: String,
    pub bank_name: String,
    pub bank_code: Option<String>,
    pub account_last4: String,
    pub share: Share,
}

impl Recipient {
    /// The whole account number, for the bank file.
    pub fn account(
        &self,
        conn: &mut PgConnection,
        keys: &Keys,
    ) -> Result<BankAccountNumber, RecipientError> {
        let sealed: Vec<u8> = payout_recipients::table
            .find(self.id)
            .select(payout_recipients::account_ciphertext)
            .first(conn)?;
        BankAccountNumber::open(keys, &sealed).map_err(|_| RecipientError::Unreadable)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RecipientError {
    #[error("unknown recipient kind")]
    Kind,
    #[error("the name must be 1 to 70 characters")]
    Name,
    #[error("the bank name must be 1 to 70 characters")]
    BankName,
    #[error("the bank code must be up to 11 letters and digits")]
    BankCode,
    #[error("not a bank account number")]
    Account,
    #[error("the share must be a percentage (e.g. 5.5%), a CNY amount or the rest")]
    Share,
    #[error(transparent)]
    Rules(#[from] SplitError),
    #[error("the recipient does not exist")]
    NotFound,
    #[error("the merchant registered no bank account to pay out to")]
    NoRegisteredAccount,
    #[error("a stored bank account number cannot be read")]
    Unreadable,
    #[error("database error")]
    Database(#[from] diesel::result::Error),
}

impl Classify for RecipientError {
    fn class(&self) -> Class {
        use Kind::{Conflict, NotFound, Unprocessable};
        let (kind, key) = match self {
            Self::Kind => (Unprocessable, "settlement.recipient.error.kind"),
            Self::Name => (Unprocessable, "settlement.recipient.error.name"),
            Self::BankName => (Unprocessable, "settlement.recipient.error.bank_name"),
            Self::BankCode => (Unprocessable, "settlement.recipient.error.bank_code"),
            Self::Account => (Unprocessable, "settlement.recipient.error.account"),
            Self::Share => (Unprocessable, "settlement.recipient.error.share"),
            Self::Rules(e) => return e.class(),
            Self::NotFound => (NotFound, "settlement.recipient.error.not_found"),
            Self::NoRegisteredAccount => {
                (Conflict, "settlement.recipient.error.no_registered_account")
            }
            Self::Unreadable | Self::Database(_) => return Class::System,
        };
        Class::Refusal(Refusal::new(kind, "recipient_refused", Message::new(key)))
    }
}

/// A recipient as typed into a form.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RecipientInput {
    pub kind: String,
    pub name: String,
    pub bank_name: String,
    #[serde(default)]
    pub bank_code: String,
    pub account: String,
    /// `rest`, `percent` or `fixed`.
    pub share_kind: String,
    /// A percentage (`5.5`) or a CNY amount (`100.00`), by `share_kind`.
    #[serde(default)]
    pub share_value: String,
}

struct Parsed {
    kind: RecipientKind,
    name: String,
    bank_name: String,
    bank_code: Option<String>,
    account: BankAccountNumber,
    share: Share,
}

fn text_field(text: &str, error: RecipientError) -> Result<String, RecipientError> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_NAME_CHARS {
        Err(error)
    } else {
        Ok(text.to_owned())
    }
}

fn parse(input: &RecipientInput) -> Result<Parsed, RecipientError> {
    let kind = RecipientKind::parse(input.kind.trim()).ok_or(RecipientError::Kind)?;
    let name = text_field(&input.name, RecipientError::Name)?;
    let bank_name = text_field(&input.bank_name, RecipientError::BankName)?;
    let bank_code = match input.bank_code.trim() {
        "" => None,
        code if code.len() <= MAX_BANK_CODE_CHARS
            && code.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            Some(code.to_ascii_uppercase())
        }
        _ => return Err(RecipientError::BankCode),
    };
    let account = BankAccountNumber::parse(&input.account).map_err(|_| RecipientError::Account)?;
    let value = input.share_value.trim();
    let share = match input.share_kind.trim() {
        "rest" => Share::Rest,
        "percent" => Share::Percent(percent_to_bp(value).ok_or(RecipientError::Share)?),
        "fixed" => Share::Fixed(
            Money::parse(value)
                .ok()
                .filter(|m| m.is_positive())
                .ok_or(RecipientError::Share)?,
        ),
        _ => return Err(RecipientError::Share),
    };
    Ok(Parsed {
        kind,
        name,
        bank_name,
        bank_code,
        account,
        share,
    })
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = payout_recipients, check_for_backend(diesel::pg::Pg))]
struct Row {
    id: i64,
    merchant_id: MerchantId,
    kind: RecipientKind,
    name: String,
    bank_name: String,
    bank_code: Option<String>,
    account_last4: String,
    share_kind: String,
    share_bp: Option<i32>,
    share_fen: Option<i64>,
}

impl From<Row> for Recipient {
    fn from(r: Row) -> Self {
        let share = match (r.share_kind.as_str(), r.share_bp, r.share_fen) {
            ("percent", Some(bp), None) => {
                Share::Percent(u32::try_from(bp).expect("CHECK: 1 to 10000"))
            }
            ("fixed", None, Some(fen)) => Share::Fixed(Money::from_fen(fen)),
            _ => Share::Rest,
        };
        Self {
            id: r.id,
            merchant_id: r.merchant_id,
            kind: r.kind,
            name: r.name,
            bank_name: r.bank_name,
            bank_code: r.bank_code,
            account_last4: r.account_last4,
            share,
        }
    }
}

/// The merchant's active recipients, in the order their shares are taken.
pub fn active(conn: &mut PgConnection, merchant_id: MerchantId) -> QueryResult<Vec<Recipient>> {
    Ok(payout_recipients::table
        .filter(payout_recipients::merchant_id.eq(merchant_id))
        .filter(payout_recipients::active)
        .order((payout_recipients::position, payout_recipients::id))
        .select(Row::as_select())
        .load(conn)?
        .into_iter()
        .map(Recipient::from)
        .collect())
}

/// Any of the merchant's recipients, active or not (payouts name them for good).
pub fn find(conn: &mut PgConnection, id: i64) -> QueryResult<Option<Recipient>> {
    payout_recipients::table
        .find(id)
        .select(Row::as_select())
        .first(conn)
        .optional()
        .map(|row| row.map(Recipient::from))
}

/// The rules a payout of this merchant is split by.
pub fn rules(recipients: &[Recipient], platform_fee_bp: u32) -> Result<SplitRules, SplitError> {
    SplitRules::new(
        platform_fee_bp,
        recipients
            .iter()
            .map(|r| Rule {
                recipient_id: r.id,
                share: r.share,
            })
            .collect(),
    )
}

/// Serialises changes to a merchant's recipients with each other and with its
/// settlement. `NO KEY UPDATE` leaves rows that merely refer to the merchant
/// (orders, redemptions) free to be written meanwhile.
pub(super) fn lock_merchant(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
) -> Result<(), RecipientError> {
    merchants::table
        .find(merchant_id)
        .select(merchants::id)
        .for_no_key_update()
        .first::<MerchantId>(conn)
        .optional()?
        .map(|_| ())
        .ok_or(RecipientError::NotFound)
}

/// Adds a recipient, refused unless the merchant's recipients still split a
/// payout by the rules afterwards (at most 50, exactly one takes the rest, shares
/// within the whole).
#[tracing::instrument(skip_all, fields(merchant_id = %merchant_id))]
pub fn add(
    conn: &mut PgConnection,
    actor: &Actor,
    keys: &Keys,
    merchant_id: MerchantId,
    input: &RecipientInput,
) -> Result<Recipient, RecipientError> {
    let parsed = parse(input)?;
    conn.transaction(|conn| {
        // One change at a time per merchant, so two additions cannot together
        // break the rules each one kept.
        lock_merchant(conn, merchant_id)?;
        let current = active(conn, merchant_id)?;
        let position = i16::try_from(current.len()).unwrap_or(i16::MAX);
        // Stored ids are positive, so 0 stands for the one being added.
        let mut proposed: Vec<Rule> = current
            .iter()
            .map(|r| Rule {
                recipient_id: r.id,
                share: r.share,
            })
            .collect();
        proposed.push(Rule {
            recipient_id: 0,
            share: parsed.share,
        });
        SplitRules::new(0, proposed)?;
        let id = insert(conn, actor, merchant_id, &parsed, position, keys)?;
        let recipient = find(conn, id)?.expect("just inserted");
        audit::record(
            conn,
            actor,
            Change::new("settlement.recipient.add", "merchant", merchant_id).after(
                serde_json::json!({
                    "recipient_id": id,
                    "kind": parsed.kind.as_str(),
                    "name": parsed.name,
                    "account": parsed.account.masked(),
                    "share": share_label(&parsed.share),
                }),
            ),
        )?;
        Ok(recipient)
    })
}

fn share_label(share: &Share) -> String {
    match share {
        Share::Rest => "rest".into(),
        Share::Percent(bp) => format!("{}.{:02}%", bp / 100, bp % 100),
        Share::Fixed(amount) => format!("¥{amount}"),
    }
}

fn insert(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
    parsed: &Parsed,
    position: i16,
    keys: &Keys,
) -> QueryResult<i64> {
    let (share_kind, share_bp, share_fen) = match &parsed.share {
        Share::Rest => ("rest", None, None),
        Share::Percent(bp) => ("percent", Some(bp.cast_signed()), None),
        Share::Fixed(amount) => ("fixed", None, Some(amount.fen())),
    };
    diesel::insert_into(payout_recipients::table)
        .values((
            payout_recipients::merchant_id.eq(merchant_id),
            payout_recipients::kind.eq(parsed.kind),
            payout_recipients::name.eq(&parsed.name),
            payout_recipients::bank_name.eq(&parsed.bank_name),
            payout_recipients::bank_code.eq(parsed.bank_code.as_deref()),
            payout_recipients::account_ciphertext.eq(parsed.account.seal(keys)),
            payout_recipients::account_last4.eq(parsed.account.last4()),
            payout_recipients::share_kind.eq(share_kind),
            payout_recipients::share_bp.eq(share_bp),
            payout_recipients::share_fen.eq(share_fen),
            payout_recipients::position.eq(position),
            payout_recipients::created_by.eq(&actor.label),
        ))
        .returning(payout_recipients::id)
        .get_result(conn)
}

/// Stops paying a recipient; refused if what is left could not split a payout
/// (e.g. the one taking the rest, while others remain).
#[tracing::instrument(skip_all, fields(merchant_id = %merchant_id, recipient_id = recipient_id))]
pub fn remove(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
    recipient_id: i64,
) -> Result<(), RecipientError> {
    conn.transaction(|conn| {
        lock_merchant(conn, merchant_id)?;
        let current = active(conn, merchant_id)?;
        let removed = current
            .iter()
            .find(|r| r.id == recipient_id)
            .cloned()
            .ok_or(RecipientError::NotFound)?;
        let remaining: Vec<Recipient> = current
            .into_iter()
            .filter(|r| r.id != recipient_id)
            .collect();
        // No recipients at all is allowed: payouts then go to the registered account.
        if !remaining.is_empty() {
            rules(&remaining, 0)?;
        }
        diesel::update(payout_recipients::table.find(recipient_id))
            .set(payout_recipients::active.eq(false))
            .execute(conn)?;
        audit::record(
            conn,
            actor,
            Change::new("settlement.recipient.remove", "merchant", merchant_id).before(
                serde_json::json!({
                    "recipient_id": removed.id,
                    "name": removed.name,
                    "share": share_label(&removed.share),
                }),
            ),
        )?;
        Ok(())
    })
}

/// Account name, bank name and sealed number as the merchant registered them.
type RegisteredAccount = (Option<String>, Option<String>, Option<Vec<u8>>);

/// The merchant's recipients, first recording the account it registered when it
/// joined as the one taking the rest if it has none.
pub fn ensure_any(
    conn: &mut PgConnection,
    keys: &Keys,
    merchant_id: MerchantId,
) -> Result<Vec<Recipient>, RecipientError> {
    let current = active(conn, merchant_id)?;
    if !current.is_empty() {
        return Ok(current);
    }
    let registered: Option<RegisteredAccount> = merchants::table
        .find(merchant_id)
        .select((
            merchants::bank_account_name,
            merchants::bank_name,
            merchants::bank_account_ciphertext,
        ))
        .first(conn)
        .optional()?;
    let Some((Some(account_name), Some(bank_name), Some(sealed))) = registered else {
        return Err(RecipientError::NoRegisteredAccount);
    };
    let account = BankAccountNumber::open(keys, &sealed).map_err(|_| RecipientError::Unreadable)?;
    diesel::insert_into(payout_recipients::table)
        .values((
            payout_recipients::merchant_id.eq(merchant_id),
            payout_recipients::kind.eq(RecipientKind::OwnAccount),
            payout_recipients::name.eq(&account_name),
            payout_recipients::bank_name.eq(&bank_name),
            // Same value, same encryption name (`BankAccountNumber`): copied as it is.
            payout_recipients::account_ciphertext.eq(&sealed),
            payout_recipients::account_last4.eq(account.last4()),
            payout_recipients::share_kind.eq("rest"),
            payout_recipients::position.eq(0i16),
            payout_recipients::created_by.eq("settlement"),
        ))
        .execute(conn)?;
    Ok(active(conn, merchant_id)?)
}
