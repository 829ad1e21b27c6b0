//! Telling a merchant its deposit is short, once per shortfall alert, and the
//! periodic check that drives it.
//!
//! `watch` raises a `deposit.shortfall` alert with its email marked due; this
//! module sends the due emails — to the merchant's contact address, or its
//! owner's — and marks each alert's email sent. The mark lives on the alert, so
//! an email that could not be sent is tried again on the next pass, and a
//! shortfall that lasts is not announced again until a new alert is raised
//! (after the old one was resolved).
//!
//! The periodic check runs in every server process; an advisory lock lets one
//! pass at a time run, so two processes never send the same email twice.

use diesel::prelude::*;

use crate::{
    db::{self, PgPool},
    domain::actor::Actor,
    email::{DepositShortfallEmail, Mailbox, Mailer},
    i18n::Locale,
    merchant::{self, standing},
    people::merchant_user::{self, MerchantRole},
    risk::{self, RiskAlert},
};

use super::{DepositError, position::position, requirement::Cover, watch};

/// The detail of a shortfall alert that says whether the merchant was told.
pub(super) const EMAIL_FIELD: &str = "email";
pub(super) const EMAIL_DUE: &str = "due";
const EMAIL_SENT: &str = "sent";
/// Neither a contact address nor an active owner: nobody to tell.
const NO_RECIPIENT: &str = "no_recipient";

/// "deposits" in ASCII: the advisory lock of the periodic pass.
const PASS_LOCK: i64 = 0x6465_706f_7369_7473;

/// One pass of the periodic check: every watched merchant's coverage, then the
/// emails due. Returns how many alerts changed and emails went out. Skips the
/// pass when another process is running one. Its database work blocks between
/// the awaits, so run it on a blocking thread, as the job does.
#[tracing::instrument(skip_all)]
pub async fn periodic_check(
    pool: &PgPool,
    mailer: &Mailer,
    public_url: &str,
) -> anyhow::Result<usize> {
    let mut conn = pool.get()?;
    if !db::try_advisory_lock(&mut conn, PASS_LOCK)? {
        return Ok(0);
    }
    let actor = Actor::system("deposit-check");
    let pass = async {
        let changed = watch::check_all(&mut conn, &actor)?;
        let sent = send_due_emails(&mut conn, mailer, public_url, &actor).await?;
        Ok::<_, DepositError>(changed + sent)
    }
    .await;
    db::advisory_unlock(&mut conn, PASS_LOCK)?;
    Ok(pass?)
}

/// Sends every due shortfall email; returns how many went out.
async fn send_due_emails(
    conn: &mut PgConnection,
    mailer: &Mailer,
    public_url: &str,
    actor: &Actor,
) -> Result<usize, DepositError> {
    let mut sent = 0;
    for alert in risk::unresolved_of_kind(conn, watch::SHORTFALL_KIND)? {
        if alert.detail(EMAIL_FIELD) != Some(EMAIL_DUE) {
            continue;
        }
        let outcome = match letter(conn, &alert, public_url)? {
            Some((to, email, locale)) => {
                // The mailer logs a failure; the email stays due for the next pass.
                if mailer.send(&to, &email, locale).await.is_err() {
                    continue;
                }
                sent += 1;
                EMAIL_SENT
            }
            None => NO_RECIPIENT,
        };
        risk::annotate(
            conn,
            actor,
            alert.id,
            &serde_json::json!({ EMAIL_FIELD: outcome }),
        )?;
    }
    Ok(sent)
}

/// The email for an alert with today's figures, its recipient and language;
/// None when there is nobody to tell.
fn letter(
    conn: &mut PgConnection,
    alert: &RiskAlert,
    public_url: &str,
) -> Result<Option<(Mailbox, DepositShortfallEmail, Locale)>, DepositError> {
    let Some(merchant) = alert
        .merchant_id
        .map(|id| merchant::find(conn, id))
        .transpose()?
        .flatten()
    else {
        return Ok(None);
    };
    let contact = standing::contact(conn, merchant.id)?;
    let users = merchant_user::list(conn, merchant.id)?;
    let owner = users
        .iter()
        .find(|u| u.active && u.role == MerchantRole::Owner);
    let Some(address) = contact
        .as_ref()
        .and_then(|c| c.contact_email.clone())
        .or_else(|| owner.map(|o| o.email.clone()))
    else {
        return Ok(None);
    };
    // The language of the user with that address, else the owner's.
    let locale = users
        .iter()
        .find(|u| u.email == address)
        .or(owner)
        .map(merchant_user::MerchantUser::locale)
        .unwrap_or_default();
    let display_name = contact
        .and_then(|c| c.contact_name)
        .or_else(|| owner.map(|o| o.display_name.clone()))
        .unwrap_or_else(|| merchant.name(locale).to_owned());
    let Ok(address) = address.parse() else {
        tracing::warn!(
            merchant = %merchant.id,
            "the merchant's contact email is not an address"
        );
        return Ok(None);
    };
    let position = position(conn, &merchant)?;
    let email = DepositShortfallEmail {
        display_name: display_name.clone(),
        merchant_name: merchant.name(locale).to_owned(),
        balance: position.balance,
        required: position.requirement.required,
        coverage: position.coverage().to_string(),
        hard_minimum: position.requirement.hard_minimum,
        blocked: position.cover() == Cover::Blocked,
        deposit_url: format!("{public_url}/merchant/deposit"),
    };
    Ok(Some((
        Mailbox::new(Some(display_name), address),
        email,
        locale,
    )))
}
