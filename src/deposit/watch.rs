//! Compares a merchant's deposit with what it must be, after every movement and
//! on the periodic check: below the required amount there is one unresolved
//! `deposit.shortfall` risk alert for the merchant (raised once, however many
//! checks find it short); once covered again, that alert is resolved. Raising
//! marks the alert's email as due (`notify` sends it), so the merchant hears of
//! a shortfall once per alert, not once per check. Merchants leaving or gone
//! are not watched: their tier's requirement no longer applies, and what their
//! deposit must cover is the exit's business (`exit`).

use diesel::PgConnection;

use crate::{
    domain::{actor::Actor, id::MerchantId, money::Money},
    i18n::Locale,
    merchant::{self, Merchant, standing},
    risk::{self, NewAlert, Severity},
};

use super::{
    DepositError,
    notify::{EMAIL_DUE, EMAIL_FIELD},
    position::{Position, position},
    requirement::Cover,
};

pub const SHORTFALL_KIND: &str = "deposit.shortfall";

/// What a check did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Watched {
    /// Covered, and no alert was open.
    Covered,
    /// Short, and this check raised the alert.
    Raised,
    /// Short, and the alert was already open.
    StillShort,
    /// Covered again: this check resolved the alert.
    Restored,
    /// Exiting and exited merchants are not held to a coverage.
    NotWatched,
}

impl Watched {
    /// Whether the check changed anything.
    pub fn changed(&self) -> bool {
        matches!(self, Self::Raised | Self::Restored)
    }
}

#[tracing::instrument(skip_all, fields(merchant_id = %merchant_id))]
pub fn check_coverage(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
) -> Result<Watched, DepositError> {
    let merchant = merchant::find(conn, merchant_id)?.ok_or(DepositError::MerchantNotFound)?;
    check(conn, actor, &merchant)
}

/// Checks every merchant that has not exited; returns how many alerts it raised
/// or resolved.
pub(super) fn check_all(conn: &mut PgConnection, actor: &Actor) -> Result<usize, DepositError> {
    let mut changed = 0;
    for merchant in standing::list(conn)? {
        if check(conn, actor, &merchant)?.changed() {
            changed += 1;
        }
    }
    Ok(changed)
}

fn check(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant: &Merchant,
) -> Result<Watched, DepositError> {
    if matches!(
        merchant.status,
        standing::Status::Exiting | standing::Status::Exited
    ) {
        return Ok(Watched::NotWatched);
    }
    let position = position(conn, merchant)?;
    let severity = match position.cover() {
        Cover::Covered => {
            let resolved = risk::resolve_unresolved(conn, actor, SHORTFALL_KIND, merchant.id)?;
            return Ok(if resolved.is_some() {
                Watched::Restored
            } else {
                Watched::Covered
            });
        }
        Cover::Short => Severity::Warning,
        Cover::Blocked => Severity::Critical,
    };
    Ok(
        match risk::raise(conn, actor, &shortfall_alert(merchant, &position, severity))? {
            Some(_) => Watched::Raised,
            None => Watched::StillShort,
        },
    )
}

fn shortfall_alert(merchant: &Merchant, position: &Position, severity: Severity) -> NewAlert {
    let requirement = &position.requirement;
    let coverage = position.coverage().to_string();
    let yuan = |amount: Money| format!("¥{amount}");
    NewAlert {
        kind: SHORTFALL_KIND,
        severity,
        merchant_id: merchant.id,
        summary: format!(
            "{} {}",
            merchant.code,
            Locale::default().t_with(
                "risk.summary.deposit.shortfall",
                &[
                    ("balance", &yuan(position.balance)),
                    ("required", &yuan(requirement.required)),
                    ("coverage", &coverage),
                ],
            )
        ),
        details: serde_json::json!({
            "balance_fen": position.balance.fen(),
            "required_fen": requirement.required.fen(),
            "hard_minimum_fen": requirement.hard_minimum.fen(),
            "coverage": coverage,
            EMAIL_FIELD: EMAIL_DUE,
        }),
    }
}
