//! The merchant's points program, for the owner and managers: what was agreed
//! with the platform (read-only) and what the merchant's tier lets it change.
//! Every tier switches exchange and sets its limits; strategic merchants also
//! set the earn rate and the expiry.

use std::str::FromStr;

use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use askama_web::WebTemplate;
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::{
    i18n::Locale,
    merchant::tier::Tier,
    people::merchant_user::MerchantRole,
    program::{self, Program, ProgramSettings, SettingsError, SettingsField},
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

use super::{
    super::see_other,
    form::{FieldErrors, unprocessable},
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(show_program).service(save_program);
}

/// Who sees and changes the program.
pub const PROGRAM_KEEPERS: &[MerchantRole] = &[MerchantRole::Owner, MerchantRole::Manager];
pub const PAGE: &str = "/merchant/program";

/// The form as posted. The earn rate and the expiry are absent from a
/// standard merchant's form: absent, they stay as they are.
#[derive(Debug, Default, Deserialize)]
struct ProgramForm {
    earn_points_per_cny: Option<String>,
    expiry_months: Option<String>,
    exchange_in: Option<String>,
    exchange_out: Option<String>,
    #[serde(default)]
    min_exchange_points: String,
    #[serde(default)]
    max_exchange_points: String,
}

/// What the form's fields show.
#[derive(Debug, Default)]
struct Shown {
    earn_points_per_cny: String,
    expiry_months: String,
    exchange_in: bool,
    exchange_out: bool,
    min_exchange_points: String,
    max_exchange_points: String,
}

impl Shown {
    fn of(program: &Program) -> Self {
        Self {
            earn_points_per_cny: program.earn_points_per_cny.normalize().to_string(),
            expiry_months: program.expiry_months.to_string(),
            exchange_in: program.exchange_in,
            exchange_out: program.exchange_out,
            min_exchange_points: program.min_exchange_points.to_string(),
            max_exchange_points: program.max_exchange_points.to_string(),
        }
    }

    fn posted(form: &ProgramForm, program: &Program) -> Self {
        let current = Self::of(program);
        Self {
            earn_points_per_cny: form
                .earn_points_per_cny
                .clone()
                .unwrap_or(current.earn_points_per_cny),
            expiry_months: form.expiry_months.clone().unwrap_or(current.expiry_months),
            exchange_in: form.exchange_in.is_some(),
            exchange_out: form.exchange_out.is_some(),
            min_exchange_points: form.min_exchange_points.clone(),
            max_exchange_points: form.max_exchange_points.clone(),
        }
    }
}

fn field_errors(fields: &[SettingsField], locale: Locale) -> FieldErrors {
    let mut errors = FieldErrors::default();
    for field in fields {
        errors.push(field.as_str(), field.why().render(locale));
    }
    errors
}

/// The settings the form asks for. Text that does not parse becomes a value
/// out of range, so one check names every refused field.
fn parse(form: &ProgramForm, current: &Program) -> Result<ProgramSettings, Vec<SettingsField>> {
    let earn_points_per_cny = match &form.earn_points_per_cny {
        None => current.earn_points_per_cny,
        Some(text) => Decimal::from_str(text.trim()).unwrap_or(Decimal::NEGATIVE_ONE),
    };
    let expiry_months = match &form.expiry_months {
        None => current.expiry_months,
        Some(text) => text.trim().parse().unwrap_or(-1),
    };
    let settings = ProgramSettings {
        earn_points_per_cny,
        expiry_months,
        exchange_in: form.exchange_in.is_some(),
        exchange_out: form.exchange_out.is_some(),
        min_exchange_points: form.min_exchange_points.trim().parse().unwrap_or(0),
        max_exchange_points: form.max_exchange_points.trim().parse().unwrap_or(-1),
    };
    let invalid = settings.invalid_fields();
    if invalid.is_empty() {
        Ok(settings)
    } else {
        Err(invalid)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "merchant/program.html")]
struct ProgramPage {
    chrome: Chrome,
    program: Option<Program>,
    /// The program's name in the page's language.
    name: String,
    /// May change the earn rate and the expiry.
    custom_earn_rules: bool,
    form: Shown,
    errors: FieldErrors,
}

fn tier_of(who: &MerchantPrincipal) -> Tier {
    who.merchant.tier
}

fn program_page(
    ctx: &PageContext,
    who: &MerchantPrincipal,
    program: Option<Program>,
    form: Option<Shown>,
    errors: FieldErrors,
) -> ProgramPage {
    let form = form
        .or_else(|| program.as_ref().map(Shown::of))
        .unwrap_or_default();
    ProgramPage {
        chrome: super::chrome(ctx, who, PAGE),
        name: program
            .as_ref()
            .map(|p| p.name(ctx.locale).to_owned())
            .unwrap_or_default(),
        program,
        custom_earn_rules: tier_of(who).policy().custom_earn_rules,
        form,
        errors,
    }
}

async fn own_program(
    state: &AppState,
    who: &MerchantPrincipal,
) -> Result<Option<Program>, WebError> {
    let merchant_id = who.merchant.id;
    state
        .db(move |conn| program::of_merchant(conn, merchant_id))
        .await
}

#[get("/program")]
async fn show_program(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
) -> Result<ProgramPage, WebError> {
    who.require(PROGRAM_KEEPERS)?;
    let program = own_program(&state, &who).await?;
    Ok(program_page(
        &ctx,
        &who,
        program,
        None,
        FieldErrors::default(),
    ))
}

#[post("/program")]
async fn save_program(
    ctx: PageContext,
    who: Signed<MerchantPrincipal>,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<ProgramForm>,
) -> Result<HttpResponse, WebError> {
    who.require(PROGRAM_KEEPERS)?;
    let Some(current) = own_program(&state, &who).await? else {
        return Err(WebError::NotFound);
    };
    let refused = |fields: &[SettingsField], current: Program| {
        let shown = Shown::posted(&form, &current);
        let errors = field_errors(fields, ctx.locale);
        unprocessable(&program_page(
            &ctx,
            &who,
            Some(current),
            Some(shown),
            errors,
        ))
    };
    let settings = match parse(&form, &current) {
        Ok(settings) => settings,
        Err(fields) => return refused(&fields, current),
    };
    let (actor, merchant_id, tier) = (who.actor.clone(), who.merchant.id, tier_of(&who));
    let saved = state
        .db(move |conn| {
            Ok::<_, diesel::result::Error>(program::update_settings(
                conn,
                &actor,
                merchant_id,
                tier,
                &settings,
            ))
        })
        .await?;
    match saved {
        Ok(_) => {
            set_flash(&ctx.session, FlashKind::Success, "program.saved");
            Ok(see_other(PAGE))
        }
        Err(SettingsError::TierForbids(_)) => Err(WebError::Forbidden),
        Err(SettingsError::NotFound) => Err(WebError::NotFound),
        Err(SettingsError::Invalid(fields)) => refused(&fields, current),
        Err(e @ SettingsError::Database(_)) => Err(flash::system(e)),
    }
}
