//! Emailing each statement to the merchant's finance contact once it is made:
//! the figures in the body, the statement as CSV attached.
//!
//! Who: the terms' `finance_email`, else the merchant's contact email; with
//! neither (or one that is not an address) the statement is marked notified and
//! the gap logged, so it is not looked at again on every pass. Language: that of
//! the merchant user with the address, else Chinese (merchants have no language
//! of their own).
//!
//! Once: an advisory lock lets one process run a pass at a time, and a statement
//! is marked (`notified_at`) right after its email goes. A crash between the two
//! sends it again on the next pass — at least once, not exactly once. An email
//! the mail server refused stays unmarked and is tried again next pass.

use diesel::prelude::*;

use crate::{
    db::{self, PgPool},
    domain::money::Money,
    email::{Attachment, Mailbox, Mailer, StatementEmail},
    i18n::Locale,
    merchant::{self, standing},
    people::merchant_user,
    settlement::{
        collection, payout, recipients,
        statement::{self, Statement},
        statement_file, terms,
    },
};

/// "stmtmail" in ASCII: the advisory lock of a pass.
const PASS_LOCK: i64 = 0x7374_6d74_6d61_696c;
/// Statements emailed per pass; the rest wait for the next (every 5 minutes).
const BATCH: i64 = 100;

/// One pass: emails the statements not yet notified; returns how many went out.
/// Skips the pass when another process is running one. Blocks between the
/// awaits, so run it on a blocking thread, as the job does.
#[tracing::instrument(skip_all)]
pub async fn email_statements(pool: &PgPool, mailer: &Mailer) -> anyhow::Result<usize> {
    let mut conn = pool.get()?;
    if !db::try_advisory_lock(&mut conn, PASS_LOCK)? {
        return Ok(0);
    }
    let pass = send_due(&mut conn, mailer).await;
    db::advisory_unlock(&mut conn, PASS_LOCK)?;
    pass
}

async fn send_due(conn: &mut PgConnection, mailer: &Mailer) -> anyhow::Result<usize> {
    let mut sent = 0;
    for statement in statement::unnotified(conn, BATCH)? {
        if let Some((to, email, locale, csv)) = letter(conn, &statement)? {
            // The mailer logs a failure; the statement stays due for the next pass.
            if mailer
                .send_with_attachments(&to, &email, locale, vec![csv])
                .await
                .is_err()
            {
                continue;
            }
            sent += 1;
        } else {
            tracing::warn!(
                merchant = %statement.merchant_id,
                statement = %statement.id,
                "no finance or contact email: the statement was not emailed"
            );
        }
        statement::mark_notified(conn, statement.id)?;
    }
    Ok(sent)
}

/// The email for a statement, its recipient, language and attachment; None when
/// there is nobody to send it to.
fn letter(
    conn: &mut PgConnection,
    statement: &Statement,
) -> anyhow::Result<Option<(Mailbox, StatementEmail, Locale, Attachment)>> {
    let Some(merchant) = merchant::find(conn, statement.merchant_id)? else {
        return Ok(None);
    };
    let contact = standing::contact(conn, merchant.id)?;
    let Some(address) = terms::of(conn, merchant.id)?
        .finance_email
        .or_else(|| contact.as_ref().and_then(|c| c.contact_email.clone()))
    else {
        return Ok(None);
    };
    let Ok(to) = address.parse::<Mailbox>() else {
        return Ok(None);
    };
    let locale = merchant_user::list(conn, merchant.id)?
        .iter()
        .find(|u| u.email.eq_ignore_ascii_case(&address))
        .map(merchant_user::MerchantUser::locale)
        .unwrap_or_default();
    let lines = statement::lines(conn, statement.id)?;
    let mut payouts = Vec::new();
    for p in payout::of_statement(conn, statement.id)? {
        let recipient = recipients::find(conn, p.recipient_id)?
            .ok_or_else(|| anyhow::anyhow!("payout {} has no recipient", p.id))?;
        payouts.push((p, recipient));
    }
    let owed = collection::of_statement(conn, statement.id)?.map(|c| (c.amount, c.due_on));
    let (first_day, last_day) = statement.days();
    let email = StatementEmail {
        display_name: contact
            .and_then(|c| c.contact_name)
            .unwrap_or_else(|| merchant.name(locale).to_owned()),
        merchant_name: merchant.name(locale).to_owned(),
        first_day,
        last_day,
        opening: statement.opening,
        closing: statement.closing,
        payout: Money::from_fen(payouts.iter().map(|(p, _)| p.amount.fen()).sum()),
        owed,
    };
    let csv = Attachment::csv(
        format!(
            "statement-{}-{first_day}-{last_day}.csv",
            merchant.code.as_str()
        ),
        statement_file::to_csv(locale, statement, &lines, &payouts),
    );
    Ok(Some((to, email, locale, csv)))
}
