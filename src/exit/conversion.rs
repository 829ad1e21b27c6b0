//! The conversion of an exiting merchant's outstanding points into ALP once its
//! notice has ended: one journal entry per member, kind `exit_conversion`,
//!
//! - `member:c:P → program:P:issuance`, the member's available P points (retired);
//! - `program:ALP:issuance → member:c:ALP`, the ALP they are worth;
//! - `merchant:m:deposit → house:alp`, the CNY the house holds against that ALP
//!   (LEDGER.md: `house:alp` holds CNY against outstanding ALP),
//!
//! with the member's P lots consumed and an ALP lot opened (expiring as the hub
//! programme's policy says from the conversion), in the entry's transaction.
//!
//! **Value.** The points are valued at the settlement value rounded up to the
//! fen; the member gets the ALP that value buys at the ALP issue price, rounded
//! up to a whole point; the deposit pays those ALP at the issue price, rounded
//! up to the fen. So the member's ALP are worth at least their points, and the
//! house holds at least what the ALP will pay out; the rounding (less than one
//! ALP per member) is the merchant's cost of leaving.
//!
//! **Holds** are not touched: only available points convert. A held point
//! either posts (spent; any cash leg lands in the merchant's settlement account,
//! which the deposit still covers) or is voided and converted by a later pass.
//! The exit completes when the programme has no point left in members' hands.
//!
//! **Idempotent and crash-safe.** Each member converts in its own transaction
//! (lots locked first, as every debit of a wallet does), which books the entry,
//! moves the lots and adds to the exit's totals together or not at all. The
//! key `exit:{m}:convert:{member}:{wallet debits}` names "the conversion of what
//! the wallet held after its last debit": a pass that crashed before commit is
//! simply run again; a repeated pass finds the wallet empty; a key replayed by
//! a racing process books nothing twice and is not counted twice. The job runs
//! under a lease besides (`jobs`), so passes do not overlap in the first place.
//!
//! **Shortfall.** A member whose conversion the deposit cannot pay is skipped
//! (their points stay P points, backed by nothing new); the pass records what
//! was left unfunded and raises a critical `deposit.exit_shortfall` alert for finance.
//! A top-up lets the next pass go on; the alert is resolved when the exit
//! completes or nothing is left unfunded.

use chrono::{DateTime, Utc};
use diesel::{
    prelude::*,
    sql_types::{BigInt, Text},
};

use crate::{
    chart::{self, CNY, HouseAccount, HouseAccounts},
    db::schema::merchant_exits,
    deposit,
    domain::{
        actor::Actor,
        id::{MemberId, MerchantId},
        money::{Money, Rounding},
        points::ProgramCode,
        rate::{Rate, RateError},
    },
    earn::{
        hub::{self, HubPolicy},
        lot,
    },
    i18n::Locale,
    ledger::{self, EntryError, EntryRequest, TransferRequest},
    merchant::{self, standing},
    program,
    risk::{self, NewAlert, Severity},
};

use super::{Exit, ExitError};

/// The risk alert raised when a deposit cannot pay for the conversion.
pub const SHORTFALL_KIND: &str = "deposit.exit_shortfall";
/// Wallets read per query while a pass walks a programme's members.
const WALLET_PAGE: i64 = 500;

/// What converting one member's points gives and costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terms {
    pub points: i64,
    /// The points at the settlement value, rounded up to the fen.
    pub value: Money,
    pub alp: i64,
    /// The ALP at the issue price, rounded up to the fen: what the deposit pays.
    pub cost: Money,
}

/// The conversion of `points` worth `settlement_value` each into ALP sold at
/// `issue_price` (see the module documentation for the rounding).
pub fn terms(points: i64, settlement_value: Rate, issue_price: Rate) -> Result<Terms, RateError> {
    let value = settlement_value.value_of(points, Rounding::Up)?;
    let mut alp = issue_price.points_for(value)?;
    if issue_price.value_of(alp, Rounding::Down)? < value {
        alp += 1;
    }
    Ok(Terms {
        points,
        value,
        alp,
        cost: issue_price.value_of(alp, Rounding::Up)?,
    })
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pass {
    /// Conversion entries booked.
    pub conversions: usize,
    /// Exits completed: the merchant has exited.
    pub completed: usize,
}

/// Converts the points of every exit whose notice ended by `at`, at most
/// `limit` members in all; the rest wait for the next pass.
#[tracing::instrument(skip_all)]
pub fn run_due(
    conn: &mut PgConnection,
    actor: &Actor,
    at: DateTime<Utc>,
    limit: usize,
) -> Result<Pass, ExitError> {
    let due: Vec<Exit> = merchant_exits::table
        .filter(merchant_exits::converted_at.is_null())
        .filter(merchant_exits::notice_ends_at.le(at))
        .order(merchant_exits::notice_ends_at)
        .select(Exit::as_select())
        .load(conn)?;
    let mut pass = Pass::default();
    for exit in due {
        let walked = match &exit.program_code {
            Some(code) => convert_program(conn, &exit, code, at, limit - pass.conversions)?,
            None => Walk::default(),
        };
        pass.conversions += walked.conversions;
        if walked.unfinished {
            break;
        }
        if conclude(conn, actor, &exit, &walked, at)? {
            pass.completed += 1;
        }
    }
    Ok(pass)
}

/// One programme's walk through its members' wallets.
#[derive(Debug, Clone, Copy, Default)]
struct Walk {
    conversions: usize,
    unfunded_points: i64,
    unfunded_fen: i64,
    /// The limit stopped it before the last wallet.
    unfinished: bool,
}

#[derive(QueryableByName)]
struct Holder {
    #[diesel(sql_type = BigInt)]
    member_id: MemberId,
}

/// Members after `after` with available points of the programme, by id.
fn holders(
    conn: &mut PgConnection,
    program: &ProgramCode,
    after: MemberId,
) -> QueryResult<Vec<MemberId>> {
    let rows: Vec<Holder> = diesel::sql_query(
        "SELECT b.owner_id AS member_id
           FROM ledger_balance_shards b
          WHERE b.asset = $1 AND b.owner_kind = 'member' AND b.owner_id > $2
          GROUP BY b.owner_id
         HAVING sum(b.credits_posted - b.debits_posted - b.debits_pending) > 0
          ORDER BY b.owner_id
          LIMIT $3",
    )
    .bind::<Text, _>(program.as_str())
    .bind::<BigInt, _>(after)
    .bind::<BigInt, _>(WALLET_PAGE)
    .load(conn)?;
    Ok(rows.into_iter().map(|h| h.member_id).collect())
}

/// What is fixed for every member of one programme's conversion.
struct Setting {
    merchant_id: MerchantId,
    program: ProgramCode,
    settlement_value: Rate,
    hub: HubPolicy,
    house: HouseAccounts,
    at: DateTime<Utc>,
}

fn convert_program(
    conn: &mut PgConnection,
    exit: &Exit,
    code: &str,
    at: DateTime<Utc>,
    limit: usize,
) -> Result<Walk, ExitError> {
    let program = program::by_code(conn, code)?.ok_or(ExitError::Valuation)?;
    let setting = Setting {
        merchant_id: exit.merchant_id,
        program: ProgramCode::parse(code).map_err(|_| ExitError::Valuation)?,
        settlement_value: Rate::new(program.settlement_value).map_err(|_| ExitError::Valuation)?,
        hub: hub::policy(conn)?,
        house: chart::ensure_house_accounts(conn)?,
        at,
    };
    let mut walk = Walk::default();
    let mut after = MemberId(0);
    loop {
        let members = holders(conn, &setting.program, after)?;
        let Some(&last) = members.last() else {
            return Ok(walk);
        };
        for member_id in members {
            if walk.conversions == limit {
                walk.unfinished = true;
                return Ok(walk);
            }
            match conn.transaction(|conn| convert_member(conn, &setting, member_id))? {
                Converted::Booked => walk.conversions += 1,
                Converted::Unfunded(terms) => {
                    walk.unfunded_points += terms.points;
                    walk.unfunded_fen += terms.cost.fen();
                }
                Converted::Nothing => {}
            }
        }
        after = last;
    }
}

enum Converted {
    Booked,
    /// The deposit cannot pay for it; nothing was booked.
    Unfunded(Terms),
    /// Nothing to convert now (or another process just did).
    Nothing,
}

fn convert_member(
    conn: &mut PgConnection,
    setting: &Setting,
    member_id: MemberId,
) -> Result<Converted, ExitError> {
    let program = setting.program.as_str();
    let alp = ProgramCode::alp();
    lot::lock(conn, member_id, program)?;
    let wallet = chart::open(conn, &chart::member_wallet(member_id, &setting.program))?;
    let balance = ledger::balance(conn, wallet)?;
    let points = balance.available();
    if points <= 0 {
        return Ok(Converted::Nothing);
    }
    let terms = terms(points, setting.settlement_value, setting.hub.issue_price)
        .map_err(|_| ExitError::Valuation)?;
    let deposit = chart::open(conn, &chart::merchant_deposit(setting.merchant_id))?;
    if ledger::balance(conn, deposit)?.available() < terms.cost.fen() {
        return Ok(Converted::Unfunded(terms));
    }
    let alp_wallet = chart::open(conn, &chart::member_wallet(member_id, &alp))?;
    let issuance = chart::open(conn, &chart::program_issuance(&setting.program))?;
    let entry = EntryRequest::new(
        format!(
            "exit:{}:convert:{member_id}:{}",
            setting.merchant_id, balance.debits_posted
        ),
        "exit_conversion",
    )
    .metadata(serde_json::json!({
        "merchant_id": setting.merchant_id,
        "member_id": member_id,
        "program": program,
        "points": points,
        "settlement_value": setting.settlement_value.to_string(),
        "value": terms.value,
        "alp": terms.alp,
        "issue_price": setting.hub.issue_price.to_string(),
    }))
    .transfer(TransferRequest::move_(wallet, issuance, program, points))
    .transfer(TransferRequest::move_(
        setting.house.alp.issuance,
        alp_wallet,
        alp.as_str(),
        terms.alp,
    ))
    .transfer(TransferRequest::move_(
        deposit,
        setting.house.id(HouseAccount::Alp),
        CNY,
        terms.cost.fen(),
    ));
    let committed = match ledger::submit_one(conn, &entry)? {
        Ok(committed) => committed,
        Err(EntryError::Overdraft { account }) if account == deposit => {
            return Ok(Converted::Unfunded(terms));
        }
        // The wallet moved since it was read (a hold, a racing pass): the next
        // pass looks again.
        Err(EntryError::Overdraft { .. } | EntryError::IdempotencyConflict { .. }) => {
            return Ok(Converted::Nothing);
        }
        Err(e) => return Err(e.into()),
    };
    if committed.replayed {
        return Ok(Converted::Nothing);
    }
    lot::consume(conn, member_id, program, points)?;
    lot::open(
        conn,
        member_id,
        alp.as_str(),
        terms.alp,
        lot::expiry(setting.at, setting.hub.expiry_months),
        committed.entry_id,
    )?;
    diesel::update(merchant_exits::table.find(setting.merchant_id))
        .set((
            merchant_exits::points_converted.eq(merchant_exits::points_converted + points),
            merchant_exits::alp_issued.eq(merchant_exits::alp_issued + terms.alp),
            merchant_exits::funded_fen.eq(merchant_exits::funded_fen + terms.cost.fen()),
            merchant_exits::conversions.eq(merchant_exits::conversions + 1),
        ))
        .execute(conn)?;
    Ok(Converted::Booked)
}

/// After a full walk: completes the exit when no point is left in members'
/// hands, else records what is unfunded and keeps finance's alert in step.
/// Returns whether the exit completed.
fn conclude(
    conn: &mut PgConnection,
    actor: &Actor,
    exit: &Exit,
    walk: &Walk,
    at: DateTime<Utc>,
) -> Result<bool, ExitError> {
    let outstanding = match &exit.program_code {
        Some(code) => deposit::outstanding_points(
            conn,
            &ProgramCode::parse(code).map_err(|_| ExitError::Valuation)?,
        )?,
        None => 0,
    };
    conn.transaction(|conn| {
        let done = outstanding == 0;
        diesel::update(merchant_exits::table.find(exit.merchant_id))
            .set((
                merchant_exits::unfunded_points.eq(walk.unfunded_points),
                merchant_exits::unfunded_fen.eq(walk.unfunded_fen),
                merchant_exits::converted_at.eq(done.then_some(at)),
            ))
            .execute(conn)?;
        if done {
            standing::finish_exit(conn, actor, exit.merchant_id)?;
        }
        if walk.unfunded_fen > 0 {
            let alert = shortfall_alert(conn, exit, walk)?;
            risk::raise(conn, actor, &alert)?;
        } else {
            risk::resolve_unresolved(conn, actor, SHORTFALL_KIND, exit.merchant_id)?;
        }
        Ok(done)
    })
}

fn shortfall_alert(
    conn: &mut PgConnection,
    exit: &Exit,
    walk: &Walk,
) -> Result<NewAlert, ExitError> {
    let code = merchant::find(conn, exit.merchant_id)?
        .map(|m| m.code)
        .unwrap_or_default();
    let unfunded = Money::from_fen(walk.unfunded_fen);
    Ok(NewAlert {
        kind: SHORTFALL_KIND,
        severity: Severity::Critical,
        merchant_id: exit.merchant_id,
        summary: format!(
            "{code} {}",
            Locale::default().t_with(
                "risk.summary.deposit.exit_shortfall",
                &[
                    ("points", &walk.unfunded_points.to_string()),
                    ("unfunded", &format!("¥{unfunded}")),
                ],
            )
        ),
        details: serde_json::json!({
            "points": walk.unfunded_points,
            "unfunded_fen": walk.unfunded_fen,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(text: &str) -> Rate {
        Rate::parse(text).unwrap()
    }

    #[test]
    fn a_conversion_gives_at_least_the_settlement_value_and_is_paid_in_full() {
        // 166,713 points at ¥0.018 = ¥3,000.834 → ¥3,000.84 → 300,084 ALP at ¥0.01.
        let t = terms(166_713, rate("0.018"), rate("0.01")).unwrap();
        assert_eq!(t.value, Money::from_fen(300_084));
        assert_eq!(t.alp, 300_084);
        assert_eq!(t.cost, Money::from_fen(300_084));
        // An issue price that does not divide the value: round the ALP up.
        let t = terms(1_000, rate("0.033333"), rate("0.03")).unwrap();
        assert_eq!(t.value, Money::from_fen(3_334));
        assert_eq!(t.alp, 1_112);
        assert_eq!(t.cost, Money::from_fen(3_336));
        assert!(t.cost >= t.value);
    }
}
