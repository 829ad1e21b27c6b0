//! The merchant's settlement deposit (保证金): balance, required amount and
//! coverage — with a clear warning when short — its history straight from the
//! ledger, and top-up notices: the owner or a manager reports a payment, finance
//! confirms it on the platform.
//!
//! The deposit's figures, history and notices look the same on the platform's
//! merchant page, which builds them with the view pieces here.

use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::{
    deposit::{self, NewTopup, Position, Topup, TopupStatus},
    domain::{id::MerchantId, money::Money},
    i18n::Locale,
    i18n::format,
    ledger::StatementLine,
    people::merchant_user::MerchantRole,
    web::{
        auth::{MerchantPrincipal, Signed},
        context::{PageContext, set_flash},
        csrf::CsrfForm,
        error::WebError,
        flash,
        page::{Chrome, FlashKind},
        state::AppState,
    },
};

use super::super::see_other;

/// Who sees the deposit and reports top-ups.
pub(super) const DEPOSIT_KEEPERS: &[MerchantRole] = &[MerchantRole::Owner, MerchantRole::Manager];

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(show_deposit).service(submit_topup);
}

/// A deposit's figures, formatted.
pub(in crate::portals) struct DepositFigures {
    pub balance: String,
    pub required: String,
    /// The tier's minimum and the coverage ratio × liability it is the larger of.
    pub minimum: String,
    pub exposure: String,
    pub hard_minimum: String,
    pub shortfall: String,
    pub coverage: String,
    /// 0–100, for the progress bar.
    pub coverage_bar: i64,
    /// `covered`, `short` or `blocked`.
    pub cover: &'static str,
    pub outstanding_points: String,
    pub liability: String,
}

impl DepositFigures {
    pub(in crate::portals) fn of(position: &Position) -> Self {
        let requirement = &position.requirement;
        Self {
            balance: format::money(position.balance),
            required: format::money(requirement.required),
            minimum: format::money(requirement.minimum),
            exposure: format::money(requirement.exposure),
            hard_minimum: format::money(requirement.hard_minimum),
            shortfall: format::money(position.shortfall()),
            coverage: position.coverage().to_string(),
            coverage_bar: position.coverage().percent_capped(),
            cover: position.cover().as_str(),
            outstanding_points: format::count(position.outstanding_points),
            liability: format::money(position.liability),
        }
    }
}

/// One line of an account's statement.
pub(in crate::portals) struct HistoryRow {
    pub at: String,
    pub kind: String,
    /// Signed: `+¥500.00`, `-¥20.00`; or points.
    pub amount: String,
    pub balance_after: String,
    pub incoming: bool,
}

/// The deposit's statement lines (CNY, credits are money in).
pub(in crate::portals) fn deposit_history(
    lines: &[StatementLine],
    locale: Locale,
) -> Vec<HistoryRow> {
    lines
        .iter()
        .map(|line| HistoryRow {
            at: format::datetime(line.at, locale),
            kind: kind_label(&line.kind, locale),
            amount: signed(
                &format::money(Money::from_fen(line.amount.abs())),
                line.amount,
            ),
            balance_after: format::money(Money::from_fen(line.balance_after)),
            incoming: line.amount > 0,
        })
        .collect()
}

/// What a journal entry of this kind is, in the reader's language.
pub(in crate::portals) fn kind_label(kind: &str, locale: Locale) -> String {
    locale.t(&format!("deposit.kind.{kind}")).into_owned()
}

/// `+` for an increase, `-` for a decrease.
pub(in crate::portals) fn signed(magnitude: &str, amount: i64) -> String {
    format!("{}{magnitude}", if amount < 0 { '-' } else { '+' })
}

/// A top-up notice as the pages list it.
pub(in crate::portals) struct TopupRow {
    pub id: i64,
    pub merchant_id: MerchantId,
    pub amount: String,
    pub reference: String,
    pub submitted_by: String,
    pub submitted_at: String,
    /// The style of its status badge.
    pub status_css: &'static str,
    pub status_label: String,
    /// Who decided, and for a rejection why.
    pub decision: String,
}

impl TopupRow {
    pub(in crate::portals) fn of(topup: &Topup, locale: Locale) -> Self {
        Self {
            id: topup.id,
            merchant_id: topup.merchant_id,
            amount: format::money(topup.amount()),
            reference: topup.bank_reference.clone(),
            submitted_by: topup.submitted_by.clone(),
            submitted_at: format::datetime(topup.submitted_at, locale),
            status_css: match topup.status {
                TopupStatus::Confirmed => "approved",
                TopupStatus::Rejected => "rejected",
                TopupStatus::Submitted => "pending",
            },
            status_label: locale
                .t(&format!("deposit.topup.status.{}", topup.status))
                .into_owned(),
            decision: decision(topup.decided_by.as_deref(), topup.reason.as_deref()),
        }
    }
}

/// Who decided something, and their note: `finance@… · 金额不符`.
pub(in crate::portals) fn decision(by: Option<&str>, note: Option<&str>) -> String {
    match (by, note) {
        (Some(by), Some(note)) => format!("{by} · {note}"),
        (Some(by), None) => by.to_owned(),
        (None, _) => String::new(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "merchant/deposit.html")]
struct DepositPage {
    chrome: Chrome,
    figures: DepositFigures,
    history: Vec<HistoryRow>,
    topups: Vec<TopupRow>,
    form: TopupForm,
    error: Option<String>,
}

#[derive(Default, Deserialize)]
struct TopupForm {
    amount: String,
    bank_reference: String,
}

async fn render(
    ctx: &PageContext,
    who: &MerchantPrincipal,
    state: &AppState,
    form: TopupForm,
    error: Option<String>,
) -> Result<DepositPage, WebError> {
    let merchant = who.merchant.clone();
    let merchant_id = merchant.id;
    let (position, history, topups) = state
        .db(move |conn| {
            Ok::<_, WebError>((
                deposit::position(conn, &merchant).map_err(flash::system)?,
                deposit::history(conn, merchant_id).map_err(flash::system)?,
                deposit::list_topups(conn, merchant_id)?,
            ))
        })
        .await?;
    let locale = ctx.locale;
    Ok(DepositPage {
        chrome: super::chrome(ctx, who, "/merchant/deposit"),
        figures: DepositFigures::of(&position),
        history: deposit_history(&history, locale),
        topups: topups.iter().map(|t| TopupRow::of(t, locale)).collect(),
        form,
        error,
    })
}

#[get("/deposit")]
async fn show_deposit(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
) -> Result<DepositPage, WebError> {
    who.require(DEPOSIT_KEEPERS)?;
    render(&ctx, &who, &state, TopupForm::default(), None).await
}

#[post("/deposit/topups")]
async fn submit_topup(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<TopupForm>,
) -> Result<HttpResponse, WebError> {
    who.require(DEPOSIT_KEEPERS)?;
    let refuse = |error: String, form: TopupForm| {
        let error = Some(error);
        let (ctx, who, state) = (&ctx, &who, &state);
        async move {
            Ok(HttpResponse::UnprocessableEntity()
                .content_type("text/html; charset=utf-8")
                .body(render(ctx, who, state, form, error).await?.render()?))
        }
    };
    let Ok(amount) = Money::parse(form.amount.trim()) else {
        return refuse(ctx.locale.t("deposit.error.amount").into_owned(), form).await;
    };
    let new = NewTopup {
        amount,
        bank_reference: form.bank_reference.clone(),
    };
    let (actor, merchant_id) = (who.actor.clone(), who.merchant.id);
    let locale = ctx.locale;
    let submitted = state
        .db(move |conn| {
            flash::refused(
                deposit::submit_topup(conn, &actor, merchant_id, &new),
                locale,
            )
        })
        .await?;
    match submitted {
        Ok(_) => {
            set_flash(&ctx.session, FlashKind::Success, "deposit.topup.submitted");
            Ok(see_other("/merchant/deposit"))
        }
        Err(message) => refuse(message, form).await,
    }
}
