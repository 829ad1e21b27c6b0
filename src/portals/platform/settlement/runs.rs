//! Settlement runs: the list, running one now, and one run's statements and
//! exceptions.

use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use askama_web::WebTemplate;

use crate::{
    domain::{id::MerchantId, shanghai},
    i18n::Locale,
    i18n::format,
    settlement::{
        run::{self, RunRequest, Summary, Trigger},
        statement,
    },
    web::{
        auth::{OperatorPrincipal, Signed},
        context::PageContext,
        csrf::{CsrfForm, NoFields},
        error::WebError,
        page::Chrome,
        state::AppState,
    },
};

use super::{
    super::{super::settlement_view::StatementRow, action::Action},
    LIST_SIZE, SETTLEMENT_HANDLERS, SETTLEMENT_READERS, can_act, merchant_names,
};

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(show_runs).service(run_now).service(show_run);
}
struct RunRow {
    id: i64,
    started_at: String,
    trigger: String,
    started_by: String,
    settled: i32,
    payout: String,
    owed: String,
    exceptions: usize,
    /// `running`, `finished` or `interrupted`: the status pill's class.
    state: &'static str,
    state_label: String,
}

impl RunRow {
    fn of(r: &run::Run, locale: Locale) -> Self {
        Self {
            id: r.id,
            started_at: format::datetime(r.started_at, locale),
            trigger: locale
                .t(&format!("settlement_portals.trigger.{}", r.trigger))
                .into_owned(),
            started_by: r.started_by.clone(),
            settled: r.settled,
            payout: format::money(r.payout()),
            owed: format::money(r.owed()),
            exceptions: r.exceptions().len(),
            state: r.state().as_str(),
            state_label: locale
                .t(&format!(
                    "settlement_portals.run_state.{}",
                    r.state().as_str()
                ))
                .into_owned(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "platform/settlement/runs.html")]
struct RunsPage {
    chrome: Chrome,
    runs: Vec<RunRow>,
    can_act: bool,
}

#[get("/settlement")]
async fn show_runs(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
) -> Result<RunsPage, WebError> {
    who.require(SETTLEMENT_READERS)?;
    let runs = state
        .db(|conn| Ok::<_, WebError>(run::recent(conn, LIST_SIZE)?))
        .await?;
    Ok(RunsPage {
        chrome: super::super::chrome(&ctx, &who, "/platform/settlement"),
        runs: runs.iter().map(|r| RunRow::of(r, ctx.locale)).collect(),
        can_act: can_act(&who),
    })
}

#[post("/settlement/run")]
async fn run_now(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<HttpResponse, WebError> {
    const SETTLEMENT: &str = "/platform/settlement";
    let action = Action::of(&ctx, &who, &state, SETTLEMENT_HANDLERS)?;
    let keys = state.keys.clone();
    // Through today, which has always begun; were it refused, the operator
    // reads why.
    let request = RunRequest {
        trigger: Trigger::Operator,
        merchant_id: None,
        through: shanghai::date_of(crate::clock::now()),
    };
    let summary = action
        .run(move |conn, actor| run::run(conn, &keys, actor, request))
        .await?;
    let (key, to) = match &summary {
        Ok(Summary { run: None, .. }) | Err(_) => (
            "settlement_portals.flash.nothing_due",
            SETTLEMENT.to_owned(),
        ),
        Ok(Summary {
            run: Some(id),
            exceptions,
            ..
        }) => (
            if exceptions.is_empty() {
                "settlement_portals.flash.run"
            } else {
                "settlement_portals.flash.run_exceptions"
            },
            format!("{SETTLEMENT}/runs/{id}"),
        ),
    };
    action.finish(summary, |_| key, to)
}

struct ExceptionRow {
    merchant: String,
    error: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "platform/settlement/run.html")]
struct RunPage {
    chrome: Chrome,
    run: RunRow,
    statements: Vec<StatementRow>,
    exceptions: Vec<ExceptionRow>,
}

#[get("/settlement/runs/{id}")]
async fn show_run(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<RunPage, WebError> {
    who.require(SETTLEMENT_READERS)?;
    let (id, locale) = (id.into_inner(), ctx.locale);
    let (found, statements, names) = state
        .db(move |conn| {
            Ok::<_, WebError>((
                run::find(conn, id)?,
                statement::of_run(conn, id)?,
                merchant_names(conn, locale)?,
            ))
        })
        .await?;
    let found = found.ok_or(WebError::NotFound)?;
    let name = |id: MerchantId| names.get(&id).cloned().unwrap_or_else(|| id.to_string());
    Ok(RunPage {
        chrome: super::super::chrome(&ctx, &who, "/platform/settlement"),
        run: RunRow::of(&found, locale),
        statements: statements
            .iter()
            .map(|s| StatementRow::of(s, name(s.merchant_id), locale))
            .collect(),
        exceptions: found
            .exceptions()
            .into_iter()
            .map(|e| ExceptionRow {
                merchant: name(e.merchant_id),
                error: e.error,
            })
            .collect(),
    })
}
