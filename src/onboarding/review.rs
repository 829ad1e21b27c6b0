//! The operators' side of a review: picking an application up, asking the
//! applicant for more information, and rejecting it with a reason. Approving is
//! a maker-checker request (see `onboard`).

use diesel::prelude::*;

use crate::{
    audit::{self, Change},
    crypto::Keys,
    domain::actor::Actor,
};

use super::{
    Application, Notice, OnboardingError, Status,
    application::{add_message, approval_pending},
    lock, message_text, notice, set_status,
};

/// Submitted → under review.
#[tracing::instrument(skip_all, fields(id = id))]
pub fn start_review(
    conn: &mut PgConnection,
    keys: &Keys,
    actor: &Actor,
    id: i64,
) -> Result<Notice, OnboardingError> {
    transition(
        conn,
        keys,
        actor,
        id,
        Step {
            action: "application.start_review",
            from: &[Status::Submitted],
            note: None,
        },
        |conn| set_status(conn, id, Status::UnderReview, None, None),
    )
}

/// Puts a question in the thread; the applicant answers through the status link.
#[tracing::instrument(skip_all, fields(id = id))]
pub fn ask_more_info(
    conn: &mut PgConnection,
    keys: &Keys,
    actor: &Actor,
    id: i64,
    question: &str,
) -> Result<Notice, OnboardingError> {
    let question = message_text(question)?;
    transition(
        conn,
        keys,
        actor,
        id,
        Step {
            action: "application.ask_more_info",
            from: &[Status::Submitted, Status::UnderReview, Status::MoreInfo],
            note: Some(question),
        },
        |conn| {
            add_message(conn, id, "operator", &actor.label, question)?;
            set_status(conn, id, Status::MoreInfo, None, None)
        },
    )
}

#[tracing::instrument(skip_all, fields(id = id))]
pub fn reject(
    conn: &mut PgConnection,
    keys: &Keys,
    actor: &Actor,
    id: i64,
    reason: &str,
) -> Result<Notice, OnboardingError> {
    let reason = message_text(reason)?;
    transition(
        conn,
        keys,
        actor,
        id,
        Step {
            action: "application.reject",
            from: &[Status::Submitted, Status::UnderReview, Status::MoreInfo],
            note: Some(reason),
        },
        |conn| set_status(conn, id, Status::Rejected, Some(reason), None),
    )
}

/// A review step: what the audit log calls it, the statuses it may start
/// from, and the note the applicant's email carries.
#[derive(Clone, Copy)]
struct Step<'a> {
    action: &'static str,
    from: &'a [Status],
    note: Option<&'a str>,
}

/// Locks the application, checks it may move from where it is, changes it,
/// audits the change and returns the notice (with `note`) for the applicant.
/// While a second operator is deciding an approval, the application stays as it
/// was when the approval was filed.
fn transition(
    conn: &mut PgConnection,
    keys: &Keys,
    actor: &Actor,
    id: i64,
    step: Step<'_>,
    change: impl FnOnce(&mut PgConnection) -> QueryResult<Application>,
) -> Result<Notice, OnboardingError> {
    let Step { action, from, note } = step;
    conn.transaction(|conn| {
        let before = lock(conn, id)?;
        if !from.contains(&before.status) {
            return Err(OnboardingError::WrongStatus);
        }
        if approval_pending(conn, id)? {
            return Err(OnboardingError::ApprovalPending);
        }
        let after = change(conn)?;
        audit::record(
            conn,
            actor,
            Change::new(action, "merchant_application", id)
                .before(&before)
                .after(&after),
        )?;
        Ok(notice(conn, keys, &after, note)?)
    })
}
