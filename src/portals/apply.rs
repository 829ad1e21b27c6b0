//! The public side of onboarding: the application form at `/apply`, and the
//! status page the applicant reaches through the link in each email, where they
//! follow the review and answer the operators' questions. Also what the
//! platform's review pages share with it: how a status looks, the thread and
//! the emails to the applicant. Refusals read as `OnboardingError` classifies
//! them (`web::flash`).

use actix_web::{
    HttpResponse, get,
    http::{StatusCode, header},
    post, web,
};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::{
    email::{Mailbox, quota},
    error::Classify,
    i18n::Locale,
    i18n::format,
    merchant::tier::Tier,
    onboarding::{
        self, ApplicationEmail, ApplicationInput, CATEGORIES, FieldError, MAX_STORES, Message,
        NewApplication, Notice, Status, StoreInput,
    },
    web::{
        context::{PageContext, set_flash},
        csrf::CsrfForm,
        error::WebError,
        flash,
        page::{Chrome, FlashKind},
        state::AppState,
    },
};

use super::see_other;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(show_form)
        .service(submit_application)
        .service(show_status)
        .service(reply_to_reviewers);
}

#[derive(Template, WebTemplate)]
#[template(path = "apply/form.html")]
struct ApplyPage {
    chrome: Chrome,
    form: ApplicationInput,
    errors: Vec<(String, String)>,
    categories: Vec<(&'static str, String)>,
    tiers: Vec<(&'static str, String)>,
}

impl ApplyPage {
    fn new(ctx: &PageContext, mut form: ApplicationInput, errors: Vec<(String, String)>) -> Self {
        // The form always offers every store row; the blank ones are ignored.
        form.stores.resize_with(MAX_STORES, StoreInput::default);
        let locale = ctx.locale;
        Self {
            chrome: ctx.public_chrome(None),
            form,
            errors,
            categories: CATEGORIES
                .into_iter()
                .map(|c| (c, category_label(locale, c)))
                .collect(),
            tiers: Tier::ALL
                .into_iter()
                .map(|t| (t.as_str(), tier_label(locale, t)))
                .collect(),
        }
    }

    fn error(&self, field: &str) -> Option<&str> {
        field_error(&self.errors, field)
    }

    fn store_error(&self, field: &str, row: impl std::fmt::Display) -> Option<&str> {
        self.error(&format!("store_{field}_{row}"))
    }
}

#[get("/apply")]
async fn show_form(ctx: PageContext) -> ApplyPage {
    let form = ApplicationInput {
        requested_tier: Tier::Standard.as_str().to_owned(),
        ..ApplicationInput::default()
    };
    ApplyPage::new(&ctx, form, Vec::new())
}

#[post("/apply")]
async fn submit_application(
    ctx: PageContext,
    state: web::Data<AppState>,
    CsrfForm(fields): CsrfForm<Vec<(String, String)>>,
) -> Result<HttpResponse, WebError> {
    let input = application_input(fields);
    let new = match NewApplication::parse(&input) {
        Ok(new) => new,
        Err(errors) => return refuse(&ctx, input, translate(ctx.locale, errors)),
    };
    let (keys, ip) = (state.keys.clone(), ctx.ip.clone());
    let submitted = state
        .db(move |conn| {
            let notice = match flash::found(onboarding::submit(conn, &keys, &new, Some(&ip)))? {
                Ok(notice) => notice,
                Err(e) => return Ok(Err(e)),
            };
            // Within quota the applicant gets an email; the page is the same either way.
            let mail = quota::admit(conn, &keys, &notice.to, &ip)?;
            Ok::<_, WebError>(Ok((notice, mail)))
        })
        .await?;
    match submitted {
        Ok((notice, mail)) => {
            let status_path = format!("/apply/status/{}", notice.status_token);
            if mail {
                // The applicant is reading this language right now.
                notify_applicant(&state, notice, ctx.locale).await?;
            }
            set_flash(&ctx.session, FlashKind::Success, "apply.flash.submitted");
            Ok(see_other(status_path))
        }
        Err(e) => {
            let error = (
                "credit_code".to_owned(),
                e.message(ctx.locale).unwrap_or_default(),
            );
            refuse(&ctx, input, vec![error])
        }
    }
}

fn refuse(
    ctx: &PageContext,
    input: ApplicationInput,
    errors: Vec<(String, String)>,
) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::UnprocessableEntity()
        .content_type("text/html; charset=utf-8")
        .body(ApplyPage::new(ctx, input, errors).render()?))
}

/// The store rows' fields, in `StoreInput`'s order.
const STORE_FIELDS: [&str; 4] = [
    "store_name",
    "store_address",
    "store_latitude",
    "store_longitude",
];

/// The form's fields; the store rows repeat their four names once per row, in
/// order, so the n-th of each name belongs to row n.
fn application_input(fields: Vec<(String, String)>) -> ApplicationInput {
    let mut input = ApplicationInput::default();
    let mut rows: [Vec<String>; 4] = Default::default();
    for (name, value) in fields {
        if let Some(column) = STORE_FIELDS.iter().position(|f| *f == name) {
            rows[column].push(value);
            continue;
        }
        let slot = match name.as_str() {
            "company_name" => &mut input.company_name,
            "credit_code" => &mut input.credit_code,
            "contact_name" => &mut input.contact_name,
            "contact_phone" => &mut input.contact_phone,
            "contact_email" => &mut input.contact_email,
            "category" => &mut input.category,
            "requested_tier" => &mut input.requested_tier,
            "bank_account_name" => &mut input.bank_account_name,
            "bank_name" => &mut input.bank_name,
            "bank_account_number" => &mut input.bank_account_number,
            _ => continue,
        };
        *slot = value;
    }
    let count = rows.iter().map(Vec::len).max().unwrap_or(0);
    let [names, addresses, latitudes, longitudes] = rows.map(|mut column| {
        column.resize(count, String::new());
        column
    });
    input.stores = names
        .into_iter()
        .zip(addresses)
        .zip(latitudes.into_iter().zip(longitudes))
        .map(|((name, address), (latitude, longitude))| StoreInput {
            name,
            address,
            latitude,
            longitude,
        })
        .collect();
    input
}

pub struct StatusView {
    pub company_name: String,
    pub credit_code: String,
    pub submitted: String,
    pub status: StatusBadge,
    /// What the status means for the applicant and what happens next.
    pub explanation: String,
    pub decision_reason: Option<String>,
    pub thread: Vec<ThreadEntry>,
    /// The operators asked something: the reply form is shown.
    pub can_reply: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "apply/status.html")]
struct StatusPage {
    chrome: Chrome,
    token: String,
    /// None: the link is unknown, or a newer one has been emailed since.
    view: Option<StatusView>,
    draft: String,
    error: Option<String>,
}

#[get("/apply/status/{token}")]
async fn show_status(
    ctx: PageContext,
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    render_status(&ctx, &state, token.into_inner(), String::new(), None).await
}

async fn render_status(
    ctx: &PageContext,
    state: &AppState,
    token: String,
    draft: String,
    error: Option<String>,
) -> Result<HttpResponse, WebError> {
    let lookup = token.clone();
    let found = state
        .db(move |conn| {
            let Some(application) = onboarding::find_by_token(conn, &lookup)? else {
                return Ok::<_, WebError>(None);
            };
            let messages = onboarding::thread(conn, application.id)?;
            Ok(Some((application, messages)))
        })
        .await?;
    let locale = ctx.locale;
    let status = match (&found, &error) {
        (None, _) => StatusCode::NOT_FOUND,
        (Some(_), Some(_)) => StatusCode::UNPROCESSABLE_ENTITY,
        (Some(_), None) => StatusCode::OK,
    };
    let view = found.map(|(application, messages)| StatusView {
        status: status_badge(locale, application.status),
        explanation: locale
            .t(&format!(
                "apply.status.{}.text",
                application.status.as_str()
            ))
            .into_owned(),
        can_reply: application.status == Status::MoreInfo,
        submitted: format::datetime(application.created_at, locale),
        thread: thread_entries(messages, locale, false),
        decision_reason: application.decision_reason,
        company_name: application.company_name,
        credit_code: application.credit_code,
    });
    let page = StatusPage {
        chrome: ctx.public_chrome(None),
        token,
        view,
        draft,
        error,
    };
    Ok(HttpResponse::build(status)
        // The page is reached by a secret link and shows the application.
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .content_type("text/html; charset=utf-8")
        .body(page.render()?))
}

#[derive(Deserialize)]
struct ReplyForm {
    message: String,
}

#[post("/apply/status/{token}/reply")]
async fn reply_to_reviewers(
    ctx: PageContext,
    state: web::Data<AppState>,
    token: web::Path<String>,
    CsrfForm(form): CsrfForm<ReplyForm>,
) -> Result<HttpResponse, WebError> {
    let token = token.into_inner();
    let (lookup, body, ip) = (token.clone(), form.message.clone(), ctx.ip.clone());
    let replied = state
        .db(move |conn| flash::found(onboarding::reply(conn, &lookup, &body, Some(&ip))))
        .await?;
    match replied {
        Ok(_) => {
            set_flash(&ctx.session, FlashKind::Success, "apply.flash.replied");
            Ok(see_other(format!("/apply/status/{token}")))
        }
        Err(e) => {
            let error = e.message(ctx.locale);
            render_status(&ctx, &state, token, form.message, error).await
        }
    }
}

/// A status as a badge: the design system's colour and the translated name.
pub struct StatusBadge {
    pub css: &'static str,
    pub label: String,
}

pub(super) fn status_badge(locale: Locale, status: Status) -> StatusBadge {
    StatusBadge {
        css: match status {
            Status::Submitted | Status::MoreInfo => "pending",
            Status::UnderReview => "processing",
            Status::Approved => "approved",
            Status::Rejected => "rejected",
        },
        label: locale
            .t(&format!("application.status.{}", status.as_str()))
            .into_owned(),
    }
}

pub(super) fn category_label(locale: Locale, category: &str) -> String {
    locale
        .t(&format!("merchant.category.{category}"))
        .into_owned()
}

pub(super) fn tier_label(locale: Locale, tier: Tier) -> String {
    locale
        .t(&format!("merchant.tier.{}", tier.as_str()))
        .into_owned()
}

pub struct ThreadEntry {
    pub author: String,
    pub from_applicant: bool,
    /// The message's lines, so line breaks survive without inline styles.
    pub paragraphs: Vec<String>,
    pub at: String,
}

/// The review thread; the applicant sees "the review team" rather than which
/// operator wrote.
pub(super) fn thread_entries(
    messages: Vec<Message>,
    locale: Locale,
    name_reviewers: bool,
) -> Vec<ThreadEntry> {
    messages
        .into_iter()
        .map(|m| ThreadEntry {
            from_applicant: m.from_applicant(),
            author: if m.from_applicant() || name_reviewers {
                m.author_label
            } else {
                locale.t("apply.thread.reviewers").into_owned()
            },
            at: format::datetime(m.created_at, locale),
            paragraphs: m
                .body
                .lines()
                .filter(|line| !line.trim().is_empty())
                .map(str::to_owned)
                .collect(),
        })
        .collect()
}

/// Emails the applicant about their application, with its new status link.
pub(super) async fn notify_applicant(
    state: &AppState,
    notice: Notice,
    locale: Locale,
) -> Result<(), WebError> {
    let address = notice
        .to
        .parse()
        .map_err(|e: lettre::address::AddressError| WebError::Internal(e.into()))?;
    let email = ApplicationEmail {
        contact_name: notice.contact_name.clone(),
        company_name: notice.company_name,
        status: notice.status,
        note: notice.note,
        status_url: format!("{}/apply/status/{}", state.public_url, notice.status_token),
    };
    state
        .mailer
        .send(
            &Mailbox::new(Some(notice.contact_name), address),
            &email,
            locale,
        )
        .await
        .map_err(|e| WebError::Internal(e.into()))
}

/// (field, message) pairs in the page's language.
pub(super) fn translate(locale: Locale, errors: Vec<FieldError>) -> Vec<(String, String)> {
    errors
        .into_iter()
        .map(|e| (e.field, locale.t(e.key).into_owned()))
        .collect()
}

pub(super) fn field_error<'a>(errors: &'a [(String, String)], field: &str) -> Option<&'a str> {
    errors
        .iter()
        .find(|(f, _)| f == field)
        .map(|(_, message)| message.as_str())
}
