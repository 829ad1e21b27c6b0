//! The chart of accounts (see shared/design/LEDGER.md, "Who owns what"): the one
//! place that knows account codes, their owners, floors and shard counts. Domain
//! services (earn, exchange, redemption, settlement) ask here for an account
//! instead of spelling its code, so a code is written once and every account of a
//! kind is opened with the same attributes — which matters because
//! `ledger::open_account` refuses a code it already knows with other attributes.
//!
//! Codes:
//! - `house:{bank,clearing,alp,fees,campaigns,payouts}` in CNY, owned by the house;
//! - `program:P:issuance` and `program:P:breakage` in P's points, for every program
//!   P including the house's hub program `ALP`;
//! - `member:c:P`, member c's wallet of P points;
//! - `merchant:m:deposit` and `merchant:m:settlement` in CNY.
//!
//! Shards follow "Hot accounts" in `ledger`: an account with no floor that many
//! concurrent transactions touch gets several balance rows; an account with a
//! floor keeps one, so the database's overdraft CHECK sees its whole balance.

use diesel::PgConnection;

use crate::{
    domain::{
        id::{AccountId, MemberId, MerchantId},
        points::ProgramCode,
    },
    ledger::{self, AccountSpec, LedgerError},
};

/// The currency every merchant and house account counts in.
pub const CNY: &str = "CNY";
const CNY_SCALE: i16 = 2;
const CNY_NAME: &str = "人民币";
const ALP_NAME: &str = "联盟积分";
/// Points are whole numbers.
const POINTS_SCALE: i16 = 0;

/// Every exchange or earn may touch these; 16 rows keep concurrent commits from
/// queueing behind one row lock.
const HOT_SHARDS: i16 = 16;
/// Touched by every settlement and payout movement of one merchant, which a busy
/// merchant's exchanges and redemptions generate concurrently.
const SETTLEMENT_SHARDS: i16 = 8;
/// Touched now and then (bank receipts, payouts, expiry runs): a little spread is
/// enough.
const WARM_SHARDS: i16 = 4;
/// Accounts with a floor: the overdraft CHECK must see the whole balance in one row.
const SINGLE_ROW: i16 = 1;

/// The house's own CNY accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HouseAccount {
    /// Money the house actually holds at its bank.
    Bank,
    /// Where exchange cash legs meet; nets to zero in every exchange entry.
    Clearing,
    /// CNY held against outstanding ALP.
    Alp,
    /// Fee revenue.
    Fees,
    /// Campaign costs the house funds.
    Campaigns,
    /// Payouts on their way to merchants' banks.
    Payouts,
}

impl HouseAccount {
    pub const ALL: [HouseAccount; 6] = [
        Self::Bank,
        Self::Clearing,
        Self::Alp,
        Self::Fees,
        Self::Campaigns,
        Self::Payouts,
    ];

    /// Also the last part of the account code.
    pub fn purpose(self) -> &'static str {
        match self {
            Self::Bank => "bank",
            Self::Clearing => "clearing",
            Self::Alp => "alp",
            Self::Fees => "fees",
            Self::Campaigns => "campaigns",
            Self::Payouts => "payouts",
        }
    }

    pub fn code(self) -> String {
        format!("house:{}", self.purpose())
    }

    fn shards(self) -> i16 {
        match self {
            Self::Clearing | Self::Fees | Self::Alp | Self::Campaigns => HOT_SHARDS,
            Self::Bank | Self::Payouts => WARM_SHARDS,
        }
    }

    /// House accounts have no floor: the house's position may go either way.
    pub fn spec(self) -> AccountSpec {
        AccountSpec {
            code: self.code(),
            asset: CNY.to_owned(),
            owner_kind: "house".to_owned(),
            owner_id: None,
            purpose: self.purpose().to_owned(),
            no_overdraft: false,
            shards: self.shards(),
        }
    }
}

/// Where P's points come from when they are issued (and go back when they are
/// retired); its balance is minus the P points outstanding. Every earn of a busy
/// merchant touches it, hence hot.
pub fn program_issuance(program: &ProgramCode) -> AccountSpec {
    program_spec(program, "issuance", HOT_SHARDS)
}

/// Where expired P points go.
pub fn program_breakage(program: &ProgramCode) -> AccountSpec {
    program_spec(program, "breakage", WARM_SHARDS)
}

/// The program itself owns these; the asset names it, and whose program it is (a
/// merchant's, or the house's for ALP) is recorded with the program, not here.
fn program_spec(program: &ProgramCode, purpose: &str, shards: i16) -> AccountSpec {
    AccountSpec {
        code: format!("program:{program}:{purpose}"),
        asset: program.as_str().to_owned(),
        owner_kind: "program".to_owned(),
        owner_id: None,
        purpose: purpose.to_owned(),
        no_overdraft: false,
        shards,
    }
}

/// A member's P points: never below zero.
pub fn member_wallet(member_id: MemberId, program: &ProgramCode) -> AccountSpec {
    AccountSpec {
        code: format!("member:{member_id}:{program}"),
        asset: program.as_str().to_owned(),
        owner_kind: "member".to_owned(),
        owner_id: Some(member_id.0),
        purpose: "wallet".to_owned(),
        no_overdraft: true,
        shards: SINGLE_ROW,
    }
}

/// The settlement deposit the house holds for a merchant: never below zero.
pub fn merchant_deposit(merchant_id: MerchantId) -> AccountSpec {
    merchant_spec(merchant_id, "deposit", true, SINGLE_ROW)
}

/// A merchant's running position with the house since its last settlement; no
/// floor, since it swings between the house owing the merchant and the reverse.
pub fn merchant_settlement(merchant_id: MerchantId) -> AccountSpec {
    merchant_spec(merchant_id, "settlement", false, SETTLEMENT_SHARDS)
}

fn merchant_spec(
    merchant_id: MerchantId,
    purpose: &str,
    no_overdraft: bool,
    shards: i16,
) -> AccountSpec {
    AccountSpec {
        code: format!("merchant:{merchant_id}:{purpose}"),
        asset: CNY.to_owned(),
        owner_kind: "merchant".to_owned(),
        owner_id: Some(merchant_id.0),
        purpose: purpose.to_owned(),
        no_overdraft,
        shards,
    }
}

/// Opens the account (idempotent by code) and returns its id.
pub fn open(conn: &mut PgConnection, spec: &AccountSpec) -> Result<AccountId, LedgerError> {
    ledger::open_account(conn, spec).map(|account| account.id)
}

/// Registers CNY and the hub points ALP (idempotent).
pub fn ensure_currency_assets(conn: &mut PgConnection) -> Result<(), LedgerError> {
    ledger::ensure_asset(conn, CNY, CNY_SCALE, CNY_NAME)?;
    ledger::ensure_asset(conn, ProgramCode::alp().as_str(), POINTS_SCALE, ALP_NAME)?;
    Ok(())
}

/// A program's own accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgramAccounts {
    pub issuance: AccountId,
    pub breakage: AccountId,
}

/// Registers a merchant program's points as an asset and opens its accounts
/// (idempotent). The asset's name is kept from the first call.
pub fn ensure_program(
    conn: &mut PgConnection,
    program: &ProgramCode,
    name: &str,
) -> Result<ProgramAccounts, LedgerError> {
    ledger::ensure_asset(conn, program.as_str(), POINTS_SCALE, name)?;
    open_program_accounts(conn, program)
}

fn open_program_accounts(
    conn: &mut PgConnection,
    program: &ProgramCode,
) -> Result<ProgramAccounts, LedgerError> {
    Ok(ProgramAccounts {
        issuance: open(conn, &program_issuance(program))?,
        breakage: open(conn, &program_breakage(program))?,
    })
}

/// Everything the house owns in the books: its CNY accounts and the hub program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HouseAccounts {
    /// In the order of `HouseAccount::ALL`.
    cny: [AccountId; 6],
    pub alp: ProgramAccounts,
}

impl HouseAccounts {
    pub fn id(&self, account: HouseAccount) -> AccountId {
        let index = HouseAccount::ALL
            .iter()
            .position(|a| *a == account)
            .expect("ALL lists every house account");
        self.cny[index]
    }
}

/// Registers the currency assets and opens the house's accounts, ALP's included
/// (idempotent): what every other part of the books builds on.
pub fn ensure_house_accounts(conn: &mut PgConnection) -> Result<HouseAccounts, LedgerError> {
    ensure_currency_assets(conn)?;
    let cny: Vec<AccountId> = HouseAccount::ALL
        .iter()
        .map(|account| open(conn, &account.spec()))
        .collect::<Result<_, _>>()?;
    Ok(HouseAccounts {
        cny: cny.try_into().expect("one id per house account"),
        alp: open_program_accounts(conn, &ProgramCode::alp())?,
    })
}
