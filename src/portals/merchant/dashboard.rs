//! The merchant's home: its program's points outstanding and what they are
//! worth, the deposit's coverage, recent activity of the program's points
//! straight from the ledger, and — for a standard merchant's owner — the request
//! to become strategic. Its owner and managers also see how many members
//! earned and redeemed this month against the last, and what each store served
//! this month (`reach`).

use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use askama_web::WebTemplate;
use chrono::Utc;
use serde::Deserialize;

use crate::{
    approval::{self, Scope},
    chart, deposit,
    domain::points::ProgramCode,
    i18n::format,
    ledger::StatementLine,
    merchant::{
        standing::Status,
        tier::Tier,
        tier_request::{self, RequestStatus, TierRequest},
    },
    people::merchant_user::{self, MerchantRole},
    program::{self, Program},
    settlement::{self, estimate::Estimate},
    web::{
        auth::{MerchantPrincipal, Signed},
        context::PageContext,
        csrf::CsrfForm,
        error::WebError,
        flash,
        page::Chrome,
        state::AppState,
    },
};

use super::{
    super::see_other,
    deposit::{DEPOSIT_KEEPERS, DepositFigures, HistoryRow, kind_label, signed},
    reach::{self, REACH_READERS, ReachView},
    settlement::SETTLEMENT_READERS,
};

/// Lines of recent activity shown.
const ACTIVITY_LINES: u16 = 10;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(show_dashboard).service(request_upgrade);
}

pub struct ProgramView {
    pub name: String,
    pub code: String,
    pub settlement_value: String,
    pub outstanding_points: String,
    /// The outstanding points valued at the settlement value.
    pub liability: String,
}

/// The tier request as the owner sees it.
pub struct UpgradeView {
    /// The form is offered: an active standard merchant's owner, nothing open.
    pub can_request: bool,
    /// An open request: when it was filed.
    pub pending_since: Option<String>,
    /// The latest decided request, if rejected: the operator's note.
    pub rejected_note: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "merchant/dashboard.html")]
struct DashboardPage {
    chrome: Chrome,
    merchant_name: String,
    code: String,
    tier_label: String,
    status: Status,
    status_label: String,
    staff: usize,
    pending_approvals: i64,
    program: Option<ProgramView>,
    /// Shown to those who may see the deposit.
    figures: Option<DepositFigures>,
    activity: Vec<HistoryRow>,
    upgrade: UpgradeView,
    /// For those who may read settlements.
    settlement: Option<SettlementView>,
    /// Members reached and stores' redemptions, for those who run the program.
    reach: Option<ReachView>,
}

/// The next settlement as it stands now (`settlement::estimate`).
pub struct SettlementView {
    pub first_day: String,
    pub last_day: String,
    pub position: String,
    /// Translated: paid out ¥x / owed ¥y / nothing to settle.
    pub outcome: String,
}

impl SettlementView {
    fn of(estimate: &Estimate, locale: crate::i18n::Locale) -> Self {
        let outcome = match (estimate.payout(), estimate.owed()) {
            (Some(payout), _) => locale.t_with(
                "settlement.estimate.payout",
                &[
                    ("amount", &format::money(payout)),
                    ("fee", &format::money(estimate.platform_fee)),
                ],
            ),
            (None, Some(owed)) => locale.t_with(
                "settlement.estimate.owed",
                &[("amount", &format::money(owed))],
            ),
            (None, None) => locale.t("settlement.estimate.nil").into_owned(),
        };
        Self {
            first_day: estimate.period.start.to_string(),
            last_day: estimate.period.last_day().to_string(),
            position: format::money(estimate.position),
            outcome,
        }
    }
}

#[get("")]
async fn show_dashboard(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
) -> Result<DashboardPage, WebError> {
    let merchant = who.merchant.clone();
    let merchant_id = merchant.id;
    let reads_settlement = SETTLEMENT_READERS.contains(&who.user.role);
    let reads_reach = REACH_READERS.contains(&who.user.role);
    let (staff, pending, program, position, activity, request, estimate, reached) = state
        .db(move |conn| {
            let program = program::of_merchant(conn, merchant_id)?;
            let activity = match &program {
                Some(program) => issuance_activity(conn, program)?,
                None => Vec::new(),
            };
            let reached = if reads_reach {
                Some(reach::load(
                    conn,
                    merchant_id,
                    program.as_ref(),
                    Utc::now(),
                )?)
            } else {
                None
            };
            Ok::<_, WebError>((
                merchant_user::list(conn, merchant_id)?.len(),
                approval::count_pending(conn, Scope::Merchant(merchant_id))?,
                program,
                deposit::position(conn, &merchant).map_err(flash::system)?,
                activity,
                tier_request::latest(conn, merchant_id)?,
                if reads_settlement {
                    Some(
                        settlement::estimate::next(conn, merchant_id)
                            .map_err(|e| WebError::Internal(e.into()))?,
                    )
                } else {
                    None
                },
                reached,
            ))
        })
        .await?;
    let m = &who.merchant;
    let locale = ctx.locale;
    let role = who.user.role;
    Ok(DashboardPage {
        chrome: super::chrome(&ctx, &who, "/merchant"),
        merchant_name: m.name(locale).to_owned(),
        code: m.code.clone(),
        tier_label: locale.t(&format!("merchant.tier.{}", m.tier)).into_owned(),
        status: m.status,
        status_label: locale.t(&format!("status.{}", m.status)).into_owned(),
        staff,
        pending_approvals: pending,
        program: program.map(|p| ProgramView {
            name: p.name(locale).to_owned(),
            settlement_value: p.settlement_value.normalize().to_string(),
            outstanding_points: format::count(position.outstanding_points),
            liability: format::money(position.liability),
            code: p.code,
        }),
        figures: DEPOSIT_KEEPERS
            .contains(&role)
            .then(|| DepositFigures::of(&position)),
        activity: activity
            .iter()
            .map(|line| HistoryRow {
                at: format::datetime(line.at, locale),
                kind: kind_label(&line.kind, locale),
                // The issuance account is debited when points are issued: its
                // negated movement is the change in points outstanding.
                amount: signed(&format::count(line.amount.abs()), -line.amount),
                balance_after: format::count(-line.balance_after),
                incoming: line.amount < 0,
            })
            .collect(),
        settlement: estimate.map(|e| SettlementView::of(&e, locale)),
        reach: reached.map(|r| ReachView::of(&r, locale)),
        upgrade: upgrade_view(
            role == MerchantRole::Owner && m.tier == Tier::Standard && m.status == Status::Active,
            request.as_ref(),
            locale,
        ),
    })
}

/// The latest movements of the program's points.
fn issuance_activity(
    conn: &mut diesel::PgConnection,
    program: &Program,
) -> Result<Vec<StatementLine>, WebError> {
    let code =
        ProgramCode::parse(&program.code).map_err(|e| WebError::Internal(anyhow::anyhow!(e)))?;
    deposit::recent_lines(conn, &chart::program_issuance(&code), ACTIVITY_LINES)
        .map_err(flash::system)
}

fn upgrade_view(
    may_request: bool,
    latest: Option<&TierRequest>,
    locale: crate::i18n::Locale,
) -> UpgradeView {
    let pending = latest.filter(|r| r.is_pending());
    UpgradeView {
        can_request: may_request && pending.is_none(),
        pending_since: pending.map(|r| format::datetime(r.created_at, locale)),
        rejected_note: latest
            .filter(|r| r.status == RequestStatus::Rejected)
            .map(|r| r.decision_note.clone().unwrap_or_default()),
    }
}

#[derive(Deserialize)]
struct UpgradeForm {
    reason: String,
}

#[post("/tier-request")]
async fn request_upgrade(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<UpgradeForm>,
) -> Result<HttpResponse, WebError> {
    who.require(&[MerchantRole::Owner])?;
    let (actor, merchant_id) = (who.actor.clone(), who.merchant.id);
    let result = state
        .db(move |conn| {
            flash::refusal(tier_request::request_upgrade(
                conn,
                &actor,
                merchant_id,
                &form.reason,
            ))
        })
        .await?;
    flash::outcome(&ctx.session, ctx.locale, result, "tier_request.submitted")?;
    Ok(see_other("/merchant"))
}
