//! The HTML portals: the public site, the platform (operators), the merchant
//! console and the member app. Handlers parse forms into domain types, call the
//! domain services, and render a page; they write no queries themselves.

mod apply;
mod approval_queue;
mod consumer;
mod exports;
mod media;
mod merchant;
mod platform;
mod prelude;
mod public;
mod report_view;
mod second_factor;
mod settlement_view;
mod sign_in;
mod team;

use actix_web::{
    HttpResponse,
    http::header,
    middleware::{DefaultHeaders, ErrorHandlers, from_fn},
    web,
};

use crate::{
    domain::{password::WeakPassword, portal::Portal},
    email::{InvitationEmail, Mailbox},
    people::password_reset::{INVITATION_VALIDITY, Ticket},
    web::{
        error::{WebError, render_error_page},
        nul,
        page::NavItem,
        state::AppState,
    },
};

/// Development-only pages (the style guide); see `public::development_routes`.
pub fn development_routes(cfg: &mut web::ServiceConfig) {
    cfg.configure(public::development_routes);
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        actix_files::Files::new("/static", concat!(env!("CARGO_MANIFEST_DIR"), "/static"))
            .prefer_utf8(true),
    );
    for portal in [Portal::Platform, Portal::Merchant, Portal::Consumer] {
        cfg.service(
            web::scope(&format!("/{}", portal.slug()))
                .app_data(web::Data::new(portal))
                .wrap(from_fn(nul::refuse_in_url))
                // Signed-in pages hold personal and financial data.
                .wrap(DefaultHeaders::new().add((header::CACHE_CONTROL, "no-store")))
                .wrap(ErrorHandlers::new().default_handler(render_error_page))
                // The portal's own routes first: the member app's password
                // reset by SMS code takes the place of the shared one.
                .configure(match portal {
                    Portal::Platform => |cfg: &mut web::ServiceConfig| {
                        cfg.configure(second_factor::routes)
                            .configure(platform::routes);
                    },
                    Portal::Merchant => merchant::routes,
                    Portal::Consumer => consumer::routes,
                })
                .configure(sign_in::routes),
        );
    }
    cfg.service(
        web::scope("")
            .wrap(from_fn(nul::refuse_in_url))
            .wrap(ErrorHandlers::new().default_handler(render_error_page))
            .configure(public::routes)
            .configure(apply::routes)
            .configure(media::routes),
    );
}

/// The catalog key that explains why a password was refused.
fn weak_password_key(weak: WeakPassword) -> &'static str {
    match weak {
        WeakPassword::TooShort => "password.too_short",
        WeakPassword::TooLong => "password.too_long",
        WeakPassword::TooSimple => "password.too_simple",
    }
}

/// After a successful POST: back to a page (post/redirect/get).
fn see_other(location: impl Into<String>) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.into()))
        .finish()
}

/// A navigation entry, marked active when it is the current section.
fn nav_item(locale: crate::i18n::Locale, href: &str, key: &str, current: &str) -> NavItem {
    NavItem {
        href: href.to_owned(),
        label: locale.t(key).into_owned(),
        active: href == current,
    }
}

/// Emails a new operator or merchant user the link to choose their password
/// (a person without an email address gets none).
async fn invite(state: &AppState, portal: Portal, ticket: Option<Ticket>) -> Result<(), WebError> {
    let Some(ticket) = ticket else {
        return Ok(());
    };
    let email = InvitationEmail {
        display_name: ticket.display_name.clone(),
        portal,
        set_password_url: format!(
            "{}/{}/password-reset/{}",
            state.public_url,
            portal.slug(),
            ticket.token
        ),
        expires_in_hours: u32::try_from(INVITATION_VALIDITY.num_hours()).unwrap_or(72),
    };
    let address = ticket
        .email
        .as_str()
        .parse()
        .map_err(|e: lettre::address::AddressError| WebError::Internal(e.into()))?;
    state
        .mailer
        .send(
            &Mailbox::new(Some(ticket.display_name), address),
            &email,
            ticket.locale,
        )
        .await
        .map_err(|e| WebError::Internal(e.into()))
}
