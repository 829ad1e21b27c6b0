//! What the platform's and the merchant console's report pages share: running
//! a report from the query string (filters parsed and checked, then the table
//! built) and turning the result into what a template shows — the filter form
//! with its choices and errors, and the table with its figures formatted.
//! A merchant sees the same reports narrowed to itself: its id replaces any
//! merchant in the query, and the choices offer only its program and stores.

use actix_web::{HttpResponse, http::StatusCode, web};
use askama::Template;
use chrono::Utc;
use diesel::PgConnection;

use super::merchant::form::respond;
use crate::{
    domain::{actor::Actor, district::District, id::MerchantId, shanghai},
    export::{ExportSpec, Requester},
    i18n::Locale,
    i18n::format,
    report::{
        self, Cell, FilterField, FilterQuery, Filters, ReportError, ReportKind, Table, filter,
        region,
    },
    web::{error::WebError, flash, page::Chrome, state::AppState},
};

impl From<ReportError> for WebError {
    fn from(e: ReportError) -> Self {
        flash::system(e)
    }
}

/// Whose reports: the whole alliance, or one merchant's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Platform,
    Merchant(MerchantId),
}

/// An option of a filter's select.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// The filter form: the period, and the selects the report offers (`None`
/// when it does not), with what was wrong.
pub struct FilterForm {
    pub period: bool,
    pub from: String,
    pub to: String,
    pub merchants: Option<Vec<Choice>>,
    pub programs: Option<Vec<Choice>>,
    pub districts: Option<Vec<Choice>>,
    pub stores: Option<Vec<Choice>>,
    pub errors: Vec<(&'static str, String)>,
}

impl FilterForm {
    /// The message for `field`, for the template.
    pub fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, message)| message.as_str())
    }
}

pub struct CellView {
    pub text: String,
    pub numeric: bool,
}

pub struct TableView {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<CellView>>,
    pub totals: Option<Vec<CellView>>,
    pub note: Option<String>,
}

/// A report run: the form always; the filters and the table when the filters
/// were good.
pub struct Run {
    pub form: FilterForm,
    pub built: Option<(Filters, Table)>,
}

impl Run {
    /// The table as the page shows it.
    pub fn view(&self) -> Option<TableView> {
        self.built.as_ref().map(|(_, table)| view(table))
    }

    /// The query string that asks for the same report, for the CSV link.
    pub fn query_string(&self) -> String {
        self.built
            .as_ref()
            .and_then(|(filters, _)| serde_urlencoded::to_string(filters.to_query()).ok())
            .unwrap_or_default()
    }
}

pub struct KindView {
    pub slug: &'static str,
    pub title: String,
    pub description: String,
}

/// The list of reports under `base`, each with a one-line description.
#[derive(Template)]
#[template(path = "platform/reports/index.html")]
pub struct IndexPage {
    chrome: Chrome,
    base: String,
    kinds: Vec<KindView>,
}

impl IndexPage {
    pub fn new(chrome: Chrome, base: &str, kinds: &[ReportKind]) -> Self {
        let locale = chrome.locale;
        Self {
            kinds: kinds
                .iter()
                .map(|kind| KindView {
                    slug: kind.slug(),
                    title: locale.t(&kind.title_key()).into_owned(),
                    description: locale.t(&kind.description_key()).into_owned(),
                })
                .collect(),
            base: base.to_owned(),
            chrome,
        }
    }
}

/// A report's page: the filter form, and the table when the filters were good.
#[derive(Template)]
#[template(path = "platform/reports/report.html")]
pub struct ReportPage {
    chrome: Chrome,
    /// Where the filter form goes and the reset link points.
    action: String,
    index_href: String,
    title: String,
    description: String,
    form: FilterForm,
    table: Option<TableView>,
    export_href: String,
}

impl ReportPage {
    /// The page of `kind` under `base` (`/platform/reports`, `/merchant/reports`).
    pub fn new(chrome: Chrome, base: &str, kind: ReportKind, run: Run) -> Self {
        let locale = chrome.locale;
        let action = format!("{base}/{}", kind.slug());
        Self {
            title: locale.t(&kind.title_key()).into_owned(),
            description: locale.t(&kind.description_key()).into_owned(),
            export_href: format!("{action}/export?{}", run.query_string()),
            table: run.view(),
            form: run.form,
            index_href: base.to_owned(),
            action,
            chrome,
        }
    }

    /// Filters that were wrong answer 400, with what was wrong and no table.
    pub fn status(&self) -> StatusCode {
        if self.form.errors.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::BAD_REQUEST
        }
    }
}

/// The report's page under `base` for the query.
pub async fn page(
    state: &web::Data<AppState>,
    chrome: Chrome,
    base: &str,
    kind: ReportKind,
    query: FilterQuery,
    scope: Scope,
) -> Result<HttpResponse, WebError> {
    let run = run_blocking(state, kind, query, scope, chrome.locale).await?;
    let page = ReportPage::new(chrome, base, kind, run);
    respond(page.status(), &page)
}

/// Who asks for a report's CSV, and where their exports are shown
/// (`/platform/exports`, `/merchant/exports`).
pub struct Exporter {
    pub requester: Requester,
    pub actor: Actor,
    pub exports_base: &'static str,
}

/// Starts the report's CSV as a background export (`crate::export`) and sends
/// the person to its page, which shows the build's progress; filters that are
/// wrong get the report's page with what was wrong instead. The filters are
/// checked here, so the build only runs what the page would have shown.
pub async fn export(
    state: &web::Data<AppState>,
    chrome: Chrome,
    base: &str,
    kind: ReportKind,
    query: FilterQuery,
    scope: Scope,
    exporter: Exporter,
) -> Result<HttpResponse, WebError> {
    let locale = chrome.locale;
    let checked = {
        let query = query.clone();
        state
            .db(move |conn| checked_filters(conn, kind, &query, scope))
            .await?
    };
    let Some(filters) = checked else {
        return page(state, chrome, base, kind, query, scope).await;
    };
    let spec = ExportSpec {
        requester: exporter.requester,
        kind: format!("{}{}", crate::export::REPORT_KIND_PREFIX, kind.slug()),
        title: format!(
            "{} · {} – {}",
            locale.t(&kind.title_key()),
            filters.from,
            filters.to
        ),
        filename: format!("{}-{}-{}.csv", kind.slug(), filters.from, filters.to),
        content_type: "text/csv; charset=utf-8".to_owned(),
        params: serde_json::to_value(&query).map_err(|e| WebError::Internal(e.into()))?,
    };
    let runner = state.exports.clone();
    let actor = exporter.actor;
    let id = state
        .db(move |conn| {
            runner
                .start(conn, &actor, spec, move |conn, progress| {
                    let table = report::build(conn, kind, &filters, locale, &mut |done, total| {
                        progress.set(done, total);
                    })?;
                    Ok(report::csv::to_csv(&table))
                })
                .map_err(flash::system)
        })
        .await?;
    Ok(super::see_other(format!("{}/{id}", exporter.exports_base)))
}

/// The filters of the query when they are good and name what exists (in the
/// scope); None when the page would show errors.
fn checked_filters(
    conn: &mut PgConnection,
    kind: ReportKind,
    query: &FilterQuery,
    scope: Scope,
) -> Result<Option<Filters>, ReportError> {
    let (_, filters, errors) = parse_checked(conn, kind, query, scope)?;
    Ok(errors.is_empty().then_some(filters))
}

async fn run_blocking(
    state: &web::Data<AppState>,
    kind: ReportKind,
    query: FilterQuery,
    scope: Scope,
    locale: Locale,
) -> Result<Run, WebError> {
    state
        .db(move |conn| run(conn, kind, &query, scope, locale))
        .await
}

/// Parses the filters (checking that what they name exists, and is the
/// merchant's own in a merchant's scope) and builds the report when they are
/// good.
pub fn run(
    conn: &mut PgConnection,
    kind: ReportKind,
    query: &FilterQuery,
    scope: Scope,
    locale: Locale,
) -> Result<Run, ReportError> {
    let (query, filters, errors) = parse_checked(conn, kind, query, scope)?;
    let mut form = choices(conn, kind.filters(), &query, scope, locale)?;
    // A refused period is shown as typed, so it can be corrected.
    let shown = |typed: &Option<String>, parsed: chrono::NaiveDate| {
        if errors.is_empty() {
            parsed.to_string()
        } else {
            typed.clone().unwrap_or_default()
        }
    };
    form.from = shown(&query.from, filters.from);
    form.to = shown(&query.to, filters.to);
    form.errors = errors
        .iter()
        .map(|e| (e.field, locale.t(e.key).into_owned()))
        .collect();
    let built = if errors.is_empty() {
        let table = report::build(conn, kind, &filters, locale, &mut |_, _| {})?;
        Some((filters, table))
    } else {
        None
    };
    Ok(Run { form, built })
}

/// The query as the scope narrows it, its filters (the month to date when they
/// do not parse) and what was wrong with them.
fn parse_checked(
    conn: &mut PgConnection,
    kind: ReportKind,
    query: &FilterQuery,
    scope: Scope,
) -> Result<(FilterQuery, Filters, Vec<filter::FieldError>), ReportError> {
    let mut query = query.clone();
    if let Scope::Merchant(id) = scope {
        query.merchant = Some(id.to_string());
    }
    let today = shanghai::date_of(Utc::now());
    let (filters, errors) = match filter::parse(&query, kind.filters(), today) {
        Ok(filters) => {
            let errors = filter::check_known(conn, &filters)?;
            (filters, errors)
        }
        Err(errors) => (Filters::month_to_date(today), errors),
    };
    Ok((query, filters, errors))
}

/// The selects the report offers, with the query's choices selected.
fn choices(
    conn: &mut PgConnection,
    offered: &[FilterField],
    query: &FilterQuery,
    scope: Scope,
    locale: Locale,
) -> Result<FilterForm, ReportError> {
    let offers = |field| offered.contains(&field);
    let is = |given: &Option<String>, value: &str| given.as_deref().map(str::trim) == Some(value);
    let own = match scope {
        Scope::Platform => None,
        Scope::Merchant(id) => Some(id),
    };
    let merchants = report::merchants(conn)?;
    let merchant_choices = (offers(FilterField::Merchant) && own.is_none()).then(|| {
        merchants
            .iter()
            .map(|m| Choice {
                value: m.id.to_string(),
                label: m.name(locale).to_owned(),
                selected: is(&query.merchant, &m.id.to_string()),
            })
            .collect()
    });
    let programs = if offers(FilterField::Program) && own.is_none() {
        Some(
            report::program_codes(conn)?
                .into_iter()
                .map(|code| Choice {
                    selected: is(&query.program, &code),
                    label: code.clone(),
                    value: code,
                })
                .collect(),
        )
    } else {
        None
    };
    let districts = offers(FilterField::District).then(|| {
        District::ALL
            .iter()
            .map(|d| Choice {
                value: d.code.to_owned(),
                label: locale.t(&d.label_key()).into_owned(),
                selected: is(&query.district, d.code),
            })
            .collect()
    });
    let stores = if offers(FilterField::Store) {
        let name_of = |id: MerchantId| {
            merchants
                .iter()
                .find(|m| m.id == id)
                .map(|m| m.name(locale).to_owned())
                .unwrap_or_default()
        };
        Some(
            region::located_stores(conn)?
                .into_iter()
                .filter(|s| own.is_none_or(|id| id == s.store.merchant_id))
                .map(|s| Choice {
                    value: s.store.id.to_string(),
                    label: if own.is_some() {
                        s.store.name.clone()
                    } else {
                        format!("{} · {}", name_of(s.store.merchant_id), s.store.name)
                    },
                    selected: is(&query.store, &s.store.id.to_string()),
                })
                .collect(),
        )
    } else {
        None
    };
    Ok(FilterForm {
        period: offers(FilterField::Period),
        from: String::new(),
        to: String::new(),
        merchants: merchant_choices,
        programs,
        districts,
        stores,
        errors: Vec::new(),
    })
}

fn cell(cell: &Cell) -> CellView {
    CellView {
        numeric: cell.is_numeric(),
        text: match cell {
            Cell::Text(text) => text.clone(),
            Cell::Money(money) => format::money(*money),
            Cell::Points(n) | Cell::Count(n) => format::count(*n),
            Cell::Percent(p) => format!("{p:.2}%"),
            Cell::Empty => String::new(),
        },
    }
}

fn view(table: &Table) -> TableView {
    TableView {
        headers: table.columns.iter().map(|c| c.header.clone()).collect(),
        rows: table
            .rows
            .iter()
            .map(|row| row.iter().map(cell).collect())
            .collect(),
        totals: table
            .totals
            .as_ref()
            .map(|row| row.iter().map(cell).collect()),
        note: table.note.clone(),
    }
}
