//! The merchant's settlement (PRODUCT.md, merchant portal 5–6): its statements
//! with their lines, payout split and collection, each as a CSV download; its
//! payout history; and its settlement terms and recipients, read-only (finance
//! at the platform sets them). A merchant sees only its own statements.

use actix_web::{HttpResponse, get, http::header, web};
use askama::Template;
use askama_web::WebTemplate;

use crate::{
    domain::id::{MerchantId, StatementId},
    i18n::format,
    people::merchant_user::MerchantRole,
    settlement::{
        collection, payout,
        recipients::{self, Recipient},
        statement::{self, Statement},
        statement_file, terms,
    },
    web::{
        auth::{MerchantPrincipal, Signed},
        context::PageContext,
        error::WebError,
        page::Chrome,
        state::AppState,
    },
};

use super::super::settlement_view::{
    CollectionRow, PayoutRow, RecipientRow, StatementRow, TermsView, recipients_of,
};

/// Who sees the merchant's settlement: the people who see its money.
pub(super) const SETTLEMENT_READERS: &[MerchantRole] =
    &[MerchantRole::Owner, MerchantRole::Manager];
const LIST_SIZE: i64 = 100;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(show_settlement)
        .service(statement_csv)
        .service(show_statement);
}

#[derive(Template, WebTemplate)]
#[template(path = "merchant/settlement.html")]
struct SettlementPage {
    chrome: Chrome,
    statements: Vec<StatementRow>,
    payouts: Vec<PayoutRow>,
    terms: TermsView,
    recipients: Vec<RecipientRow>,
    /// Read-only here: the shared recipients table shows no removal.
    can_act: bool,
    merchant_id: MerchantId,
}

#[get("/settlement")]
async fn show_settlement(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
) -> Result<SettlementPage, WebError> {
    who.require(SETTLEMENT_READERS)?;
    let (merchant_id, locale) = (who.merchant.id, ctx.locale);
    let (statements, payouts, payees, terms, recipients) = state
        .db(move |conn| {
            let payouts = payout::of_merchant(conn, merchant_id, LIST_SIZE)?;
            let payees = recipients_of(conn, &payouts)?;
            Ok::<_, WebError>((
                statement::of_merchant(conn, merchant_id, None, None, LIST_SIZE)?,
                payouts,
                payees,
                terms::of(conn, merchant_id)?,
                recipients::active(conn, merchant_id)?,
            ))
        })
        .await?;
    Ok(SettlementPage {
        chrome: super::chrome(&ctx, &who, "/merchant/settlement"),
        statements: statements
            .iter()
            .map(|s| StatementRow::of(s, String::new(), locale))
            .collect(),
        payouts: payouts
            .iter()
            .map(|p| PayoutRow::of(p, payees.get(&p.recipient_id), String::new(), locale))
            .collect(),
        terms: TermsView::of(&terms, locale),
        recipients: recipients
            .iter()
            .map(|r| RecipientRow::of(r, locale))
            .collect(),
        can_act: false,
        merchant_id,
    })
}

struct LineRow {
    label: String,
    correction: bool,
    transfers: i32,
    amount: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "merchant/settlement_statement.html")]
struct StatementPage {
    chrome: Chrome,
    statement: StatementRow,
    platform_fee: String,
    carried: String,
    lines: Vec<LineRow>,
    payouts: Vec<PayoutRow>,
    collection: Option<CollectionRow>,
}

/// The statement, its lines and its payouts with their recipients — when it is
/// the merchant's own; anyone else's is not found.
type Loaded = (
    Statement,
    Vec<statement::Line>,
    Vec<(payout::Payout, Recipient)>,
    Option<collection::Collection>,
);

async fn load(
    state: &AppState,
    merchant_id: MerchantId,
    id: StatementId,
) -> Result<Loaded, WebError> {
    state
        .db(move |conn| {
            let found = statement::find(conn, id)?
                .filter(|s| s.merchant_id == merchant_id)
                .ok_or(WebError::NotFound)?;
            let lines = statement::lines(conn, id)?;
            let payouts = payout::of_statement(conn, id)?;
            let payees = recipients_of(conn, &payouts)?;
            let paired = payouts
                .into_iter()
                .rev()
                .filter_map(|p| payees.get(&p.recipient_id).cloned().map(|r| (p, r)))
                .collect();
            Ok::<_, WebError>((found, lines, paired, collection::of_statement(conn, id)?))
        })
        .await
}

#[get("/settlement/statements/{id:\\d+}")]
async fn show_statement(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<StatementId>,
) -> Result<StatementPage, WebError> {
    who.require(SETTLEMENT_READERS)?;
    let locale = ctx.locale;
    let (found, lines, payouts, owed) = load(&state, who.merchant.id, id.into_inner()).await?;
    Ok(StatementPage {
        chrome: super::chrome(&ctx, &who, "/merchant/settlement"),
        statement: StatementRow::of(&found, String::new(), locale),
        platform_fee: format::money(found.platform_fee),
        carried: format::money(found.carried),
        lines: lines
            .iter()
            .map(|l| LineRow {
                label: statement_file::kind_label(locale, &l.kind, l.direction),
                correction: l.correction,
                transfers: l.transfers,
                amount: format::money(l.signed()),
            })
            .collect(),
        payouts: payouts
            .iter()
            .map(|(p, r)| PayoutRow::of(p, Some(r), String::new(), locale))
            .collect(),
        collection: owed.map(|c| CollectionRow::of(&c, String::new(), locale)),
    })
}

#[get("/settlement/statements/{id:\\d+}.csv")]
async fn statement_csv(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<StatementId>,
) -> Result<HttpResponse, WebError> {
    who.require(SETTLEMENT_READERS)?;
    let (found, lines, payouts, _) = load(&state, who.merchant.id, id.into_inner()).await?;
    let (first, last) = found.days();
    let body = statement_file::to_csv(ctx.locale, &found, &lines, &payouts);
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"statement-{}-{first}-{last}.csv\"",
                who.merchant.code
            ),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}
