//! The alliance's merchants (商户): the list with tier, status and deposit
//! coverage, and one merchant's page — profile, tier and tier request, program,
//! deposit (figures, ledger history, notices waiting, deduction and refund
//! forms), users, audit trail — with the controls operators change a merchant's
//! standing with: tier, suspension, reinstatement, and the start of an exit
//! (with its notice period, confirmed by the operator). An exiting or exited
//! merchant's page shows its exit: the stage, when the notice ends, what the
//! deposit still covers, and what the conversion into ALP did. The deposit's
//! own actions are in `deposits`.

use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use askama_web::WebTemplate;
use diesel::PgConnection;
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::{
    audit::{self, AuditEvent, AuditFilter},
    clock,
    deposit::{self, Covered, Position},
    domain::{actor::Actor, id::MerchantId},
    exit::{self, Exit, Stage},
    i18n::Locale,
    i18n::format,
    ledger::StatementLine,
    merchant::{
        self, Merchant,
        standing::{self, Contact, Standing, StandingError, Status},
        tier::Tier,
        tier_request::{self, RequestStatus, TierRequest},
    },
    people::{
        merchant_user::{self, MerchantUser},
        operator::OperatorRole,
    },
    program::{self, Program},
    web::{
        auth::{OperatorPrincipal, Signed},
        context::PageContext,
        csrf::CsrfForm,
        error::WebError,
        flash,
        page::Chrome,
        state::AppState,
    },
};

use super::{
    super::merchant::deposit::{DepositFigures, HistoryRow, TopupRow, decision, deposit_history},
    AUDIT_READERS,
    action::Action,
    deposits::DEPOSIT_HANDLERS,
};

/// Who changes a merchant's tier and status.
const MERCHANT_KEEPERS: &[OperatorRole] = &[OperatorRole::Admin, OperatorRole::Operator];
/// Audit events on a merchant's page; the audit log has the rest.
const TRAIL_SIZE: i64 = 20;
/// Notices listed on a merchant's page.
const OPEN_TOPUPS: i64 = 50;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list_merchants)
        .service(show_merchant)
        .service(change_tier)
        .service(decide_tier_request)
        .service(change_status)
        .service(start_exit);
}

pub struct MerchantRow {
    pub id: MerchantId,
    pub code: String,
    pub name: String,
    pub tier: Tier,
    pub tier_label: String,
    pub status: Status,
    pub status_label: String,
    pub balance: String,
    pub coverage: String,
    pub cover: &'static str,
    pub cover_label: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "platform/merchants.html")]
struct MerchantsPage {
    chrome: Chrome,
    rows: Vec<MerchantRow>,
    /// Top-up notices waiting for finance.
    open_topups: i64,
}

#[get("/merchants")]
async fn list_merchants(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
) -> Result<MerchantsPage, WebError> {
    let (merchants, open_topups) = state
        .db(|conn| {
            let merchants = standing::list(conn)?
                .into_iter()
                .map(|m| Ok((deposit::position(conn, &m).map_err(flash::system)?, m)))
                .collect::<Result<Vec<(Position, Merchant)>, WebError>>()?;
            Ok::<_, WebError>((merchants, deposit::count_open_topups(conn)?))
        })
        .await?;
    let locale = ctx.locale;
    Ok(MerchantsPage {
        chrome: super::chrome(&ctx, &who, "/platform/merchants"),
        rows: merchants
            .iter()
            .map(|(position, m)| MerchantRow {
                id: m.id,
                code: m.code.clone(),
                name: m.name(locale).to_owned(),
                tier: m.tier,
                tier_label: tier_label(m.tier, locale),
                status: m.status,
                status_label: status_label(m.status, locale),
                balance: format::money(position.balance),
                coverage: position.coverage().to_string(),
                cover: position.cover().as_str(),
                cover_label: locale
                    .t(&format!("deposit.cover.{}", position.cover().as_str()))
                    .into_owned(),
            })
            .collect(),
        open_topups,
    })
}

fn tier_label(tier: Tier, locale: Locale) -> String {
    locale.t(&format!("merchant.tier.{tier}")).into_owned()
}

fn status_label(status: Status, locale: Locale) -> String {
    locale.t(&format!("status.{status}")).into_owned()
}

/// Everything a merchant's page shows, read in one go.
struct Overview {
    merchant: Merchant,
    standing: Standing,
    contact: Contact,
    program: Option<Program>,
    position: Position,
    history: Vec<StatementLine>,
    topups: Vec<deposit::Topup>,
    tier_request: Option<TierRequest>,
    users: Vec<MerchantUser>,
    trail: Option<Vec<AuditEvent>>,
    /// The exit and what the deposit still covers, once one has started.
    exit: Option<(Exit, Covered)>,
}

fn overview(
    conn: &mut PgConnection,
    id: MerchantId,
    with_trail: bool,
) -> Result<Option<Overview>, WebError> {
    let Some(merchant) = merchant::find(conn, id)? else {
        return Ok(None);
    };
    let standing = standing::of(conn, id)?.ok_or(WebError::NotFound)?;
    let contact = standing::contact(conn, id)?.ok_or(WebError::NotFound)?;
    let exit = match exit::of(conn, id)? {
        Some(exit) => Some((exit, deposit::covered(conn, id).map_err(flash::system)?)),
        None => None,
    };
    Ok(Some(Overview {
        exit,
        program: program::of_merchant(conn, id)?,
        position: deposit::position(conn, &merchant).map_err(flash::system)?,
        history: deposit::history(conn, id).map_err(flash::system)?,
        topups: deposit::open_topups(conn, Some(id), OPEN_TOPUPS)?,
        tier_request: tier_request::latest(conn, id)?,
        users: merchant_user::list(conn, id)?,
        trail: if with_trail {
            Some(trail(conn, id)?)
        } else {
            None
        },
        merchant,
        standing,
        contact,
    }))
}

/// What was done to the merchant (events targeting it) and by its own users,
/// newest first.
fn trail(conn: &mut PgConnection, id: MerchantId) -> Result<Vec<AuditEvent>, WebError> {
    let about = AuditFilter {
        target_kind: Some("merchant".to_owned()),
        target_id: Some(id.to_string()),
        ..AuditFilter::default()
    };
    let by = AuditFilter {
        merchant_id: Some(id),
        ..AuditFilter::default()
    };
    let mut events = audit::search(conn, &about, TRAIL_SIZE)?;
    events.extend(audit::search(conn, &by, TRAIL_SIZE)?);
    events.sort_by_key(|e| std::cmp::Reverse(e.id));
    events.dedup_by_key(|e| e.id);
    events.truncate(usize::try_from(TRAIL_SIZE).unwrap_or(usize::MAX));
    Ok(events)
}

pub struct ProfileView {
    pub code: String,
    pub name: String,
    pub category: String,
    pub tier: Tier,
    pub tier_label: String,
    pub status: Status,
    pub status_label: String,
    pub status_reason: String,
    pub status_changed_at: String,
    pub joined: String,
    pub contact_name: String,
    pub contact_email: String,
    pub contact_phone: String,
    pub credit_code: String,
}

pub struct ProgramView {
    pub name: String,
    pub code: String,
    pub settlement_value: String,
    pub expiry: String,
}

pub struct TierRequestView {
    pub id: i64,
    pub requested_tier: String,
    pub reason: String,
    pub requested_by: String,
    pub created: String,
    pub pending: bool,
    pub status: RequestStatus,
    pub status_label: String,
    pub decision: String,
}

pub struct UserRow {
    pub name: String,
    pub email: String,
    pub role: String,
    pub active: bool,
}

/// An exit as its merchant's page shows it.
pub struct ExitView {
    /// The status style of the stage.
    pub stage_css: &'static str,
    pub stage_label: String,
    pub started_at: String,
    pub started_by: String,
    pub notice_ends_at: String,
    pub converted_at: String,
    /// What the deposit still covers.
    pub deposit: String,
    pub outstanding_points: String,
    pub liability: String,
    pub pending: String,
    pub owed: String,
    pub refundable: String,
    /// What the conversion did so far.
    pub points_converted: String,
    pub alp_issued: String,
    pub funded: String,
    pub conversions: i32,
    /// What the last pass could not fund; None when it funded everything.
    pub unfunded: Option<(String, String)>,
}

impl ExitView {
    fn of(exit: &Exit, covered: &Covered, locale: Locale) -> Self {
        let stage = exit.stage(clock::now());
        Self {
            stage_css: match stage {
                Stage::Notice => "pending",
                Stage::Converting => "processing",
                Stage::Converted => "exited",
            },
            stage_label: locale
                .t(&format!("exit.stage.{}", stage.as_str()))
                .into_owned(),
            started_at: format::datetime(exit.started_at, locale),
            started_by: exit.started_by.clone(),
            notice_ends_at: format::datetime(exit.notice_ends_at, locale),
            converted_at: exit
                .converted_at
                .map_or_else(|| "—".to_owned(), |at| format::datetime(at, locale)),
            deposit: format::money(covered.deposit),
            outstanding_points: format::count(covered.outstanding_points),
            liability: format::money(covered.liability),
            pending: format::money(covered.pending),
            owed: format::money(covered.owed),
            refundable: format::money(covered.refundable()),
            points_converted: format::count(exit.points_converted),
            alp_issued: format::count(exit.alp_issued),
            funded: format::money(exit.funded()),
            conversions: exit.conversions,
            unfunded: (exit.unfunded_fen > 0).then(|| {
                (
                    format::count(exit.unfunded_points),
                    format::money(exit.unfunded()),
                )
            }),
        }
    }
}

pub struct TrailRow {
    pub at: String,
    pub actor: String,
    pub action: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "platform/merchant.html")]
struct MerchantPage {
    chrome: Chrome,
    id: MerchantId,
    /// Notice decisions return here.
    back: Option<MerchantId>,
    profile: ProfileView,
    /// The tier's minimum deposit and coverage ratio.
    policy: (String, String),
    tiers: Vec<(Tier, String)>,
    program: Option<ProgramView>,
    figures: DepositFigures,
    history: Vec<HistoryRow>,
    topups: Vec<TopupRow>,
    tier_request: Option<TierRequestView>,
    users: Vec<UserRow>,
    trail: Option<Vec<TrailRow>>,
    /// May change tier and status.
    can_keep: bool,
    /// May confirm receipts, file deductions and refund.
    can_handle_money: bool,
    /// Exited with something left in the deposit.
    refundable: bool,
    exit: Option<ExitView>,
    /// The notice the exit form proposes, and the longest allowed.
    notice_days: (i64, i64),
}

#[get("/merchants/{id}")]
async fn show_merchant(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<MerchantId>,
) -> Result<MerchantPage, WebError> {
    let id = id.into_inner();
    let with_trail = AUDIT_READERS.contains(&who.operator.role);
    let o = state
        .db(move |conn| overview(conn, id, with_trail))
        .await?
        .ok_or(WebError::NotFound)?;
    let locale = ctx.locale;
    let dash = |value: Option<String>| value.unwrap_or_else(|| "—".to_owned());
    let policy = o.merchant.tier.policy();
    Ok(MerchantPage {
        chrome: super::chrome(&ctx, &who, "/platform/merchants"),
        id,
        back: Some(id),
        policy: (
            format::money(policy.minimum_deposit),
            format!(
                "{}%",
                (policy.coverage_ratio * Decimal::ONE_HUNDRED).normalize()
            ),
        ),
        tiers: Tier::ALL
            .into_iter()
            .map(|t| (t, tier_label(t, locale)))
            .collect(),
        program: o.program.as_ref().map(|p| ProgramView {
            name: p.name(locale).to_owned(),
            code: p.code.clone(),
            settlement_value: p.settlement_value.normalize().to_string(),
            expiry: p.expiry_months.to_string(),
        }),
        figures: DepositFigures::of(&o.position),
        history: deposit_history(&o.history, locale),
        topups: o.topups.iter().map(|t| TopupRow::of(t, locale)).collect(),
        tier_request: o
            .tier_request
            .as_ref()
            .map(|r| tier_request_view(r, locale)),
        users: o
            .users
            .iter()
            .map(|u| UserRow {
                name: u.display_name.clone(),
                email: u.email.clone(),
                role: locale.t(&format!("role.{}", u.role)).into_owned(),
                active: u.active,
            })
            .collect(),
        trail: o.trail.as_ref().map(|events| {
            events
                .iter()
                .map(|e| TrailRow {
                    at: format::datetime(e.at, locale),
                    actor: format!(
                        "{} · {}",
                        e.actor_label,
                        locale.t(&format!("role.{}", e.actor_role))
                    ),
                    action: e.action.clone(),
                })
                .collect()
        }),
        can_keep: MERCHANT_KEEPERS.contains(&who.operator.role),
        can_handle_money: DEPOSIT_HANDLERS.contains(&who.operator.role),
        refundable: o.standing.status == Status::Exited && o.position.balance.is_positive(),
        exit: o
            .exit
            .as_ref()
            .map(|(exit, covered)| ExitView::of(exit, covered, locale)),
        notice_days: (exit::DEFAULT_NOTICE_DAYS, exit::MAX_NOTICE_DAYS),
        profile: ProfileView {
            code: o.merchant.code.clone(),
            name: o.merchant.name(locale).to_owned(),
            category: o.merchant.category.clone(),
            tier: o.standing.tier,
            tier_label: tier_label(o.standing.tier, locale),
            status: o.standing.status,
            status_label: status_label(o.standing.status, locale),
            status_reason: o.standing.status_reason.clone().unwrap_or_default(),
            status_changed_at: dash(
                o.standing
                    .status_changed_at
                    .map(|at| format::datetime(at, locale)),
            ),
            joined: format::datetime(o.merchant.created_at, locale),
            contact_name: dash(o.contact.contact_name.clone()),
            contact_email: dash(o.contact.contact_email.clone()),
            contact_phone: dash(o.contact.phone(&state.keys)),
            credit_code: dash(o.contact.credit_code.clone()),
        },
    })
}

fn tier_request_view(r: &TierRequest, locale: Locale) -> TierRequestView {
    TierRequestView {
        id: r.id,
        requested_tier: tier_label(r.requested_tier, locale),
        reason: r.reason.clone(),
        requested_by: r.requested_by.clone(),
        created: format::datetime(r.created_at, locale),
        pending: r.is_pending(),
        status: r.status,
        status_label: locale
            .t(&format!("tier_request.status.{}", r.status))
            .into_owned(),
        decision: decision(r.decided_by.as_deref(), r.decision_note.as_deref()),
    }
}

/// Back to the merchant's page with what happened.
/// Where an action on a merchant sends the operator back to.
fn merchant_page(id: MerchantId) -> String {
    format!("/platform/merchants/{id}")
}

/// The required deposit follows the tier: look at the coverage again at once.
fn recheck(conn: &mut PgConnection, actor: &Actor, id: MerchantId) -> Result<(), WebError> {
    deposit::check_coverage(conn, actor, id)
        .map(drop)
        .map_err(flash::system)
}

#[derive(Deserialize)]
struct TierForm {
    tier: String,
}

#[post("/merchants/{id}/tier")]
async fn change_tier(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<MerchantId>,
    CsrfForm(form): CsrfForm<TierForm>,
) -> Result<HttpResponse, WebError> {
    let action = Action::of(&ctx, &who, &state, MERCHANT_KEEPERS)?;
    let id = id.into_inner();
    let tier = Tier::parse(&form.tier).ok_or(WebError::BadRequest)?;
    let result = action
        .steps(move |conn, actor| {
            match flash::found(standing::change_tier(conn, actor, id, tier))? {
                Ok(_) => recheck(conn, actor, id).map(|()| Ok("merchants.tier_changed")),
                Err(e) => Ok(Err(e)),
            }
        })
        .await?;
    action.finish(result, |key| *key, merchant_page(id))
}

#[derive(Deserialize)]
struct TierDecisionForm {
    request_id: i64,
    decision: String,
    #[serde(default)]
    note: String,
}

#[post("/merchants/{id}/tier-request")]
async fn decide_tier_request(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<MerchantId>,
    CsrfForm(form): CsrfForm<TierDecisionForm>,
) -> Result<HttpResponse, WebError> {
    let action = Action::of(&ctx, &who, &state, MERCHANT_KEEPERS)?;
    let id = id.into_inner();
    let approve = match form.decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return Err(WebError::BadRequest),
    };
    let result = action
        .steps(move |conn, actor| {
            let decided =
                tier_request::decide(conn, actor, id, form.request_id, approve, &form.note);
            match flash::found(decided)? {
                Ok(_) if approve => recheck(conn, actor, id).map(|()| Ok("tier_request.approved")),
                Ok(_) => Ok(Ok("tier_request.rejected_flash")),
                Err(e) => Ok(Err(e)),
            }
        })
        .await?;
    action.finish(result, |key| *key, merchant_page(id))
}

/// A change of status: (conn, operator, merchant, reason).
type StatusChange =
    fn(&mut PgConnection, &Actor, MerchantId, &str) -> Result<Standing, StandingError>;

#[derive(Deserialize)]
struct StatusForm {
    /// `suspend` or `reinstate`; an exit has its own form.
    change: String,
    #[serde(default)]
    reason: String,
}

#[post("/merchants/{id}/status")]
async fn change_status(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<MerchantId>,
    CsrfForm(form): CsrfForm<StatusForm>,
) -> Result<HttpResponse, WebError> {
    let action = Action::of(&ctx, &who, &state, MERCHANT_KEEPERS)?.addressed();
    let id = id.into_inner();
    let (change, key): (StatusChange, &str) = match form.change.as_str() {
        "suspend" => (standing::suspend, "merchants.suspended"),
        "reinstate" => (
            |conn, actor, id, _| standing::reinstate(conn, actor, id),
            "merchants.reinstated",
        ),
        _ => return Err(WebError::BadRequest),
    };
    action
        .done(
            move |conn, actor| change(conn, actor, id, &form.reason),
            |_| key,
            merchant_page(id),
        )
        .await
}

#[derive(Deserialize)]
struct ExitForm {
    #[serde(default)]
    reason: String,
    notice_days: String,
    /// The operator ticked "I understand this cannot be undone".
    #[serde(default)]
    confirm: Option<String>,
}

/// Starts the merchant's exit, once the operator has confirmed it.
#[post("/merchants/{id}/exit")]
async fn start_exit(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<MerchantId>,
    CsrfForm(form): CsrfForm<ExitForm>,
) -> Result<HttpResponse, WebError> {
    let action = Action::of(&ctx, &who, &state, MERCHANT_KEEPERS)?.addressed();
    let id = id.into_inner();
    let back = merchant_page(id);
    if form.confirm.as_deref() != Some("yes") {
        return Ok(action.invalid("exit.error.confirm", back));
    }
    let Ok(days) = form.notice_days.trim().parse::<i64>() else {
        return Ok(action.invalid("exit.error.notice", back));
    };
    action
        .done(
            move |conn, actor| exit::start(conn, actor, id, &form.reason, days),
            |_| "exit.started_flash",
            back,
        )
        .await
}
