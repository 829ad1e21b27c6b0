//! Merchant onboarding (入驻): a company applies on the public site, operators
//! review it in a thread with the applicant, and an approved application — once
//! a second operator has approved the program terms (maker-checker) — becomes an
//! active merchant with its stores, its points program in the ledger and an owner
//! invited to the merchant console.
//!
//! The applicant has no account: the secret link in their emails is what lets
//! them see and answer their application. Only the link token's hash is kept, so
//! the token cannot be put in a later email; instead every email carries a fresh
//! link whose hash replaces the previous one (`Notice`). The latest email's link
//! always works.

mod application;
mod bank_account;
mod email;
mod onboard;
mod review;
mod submission;
mod terms;

use chrono::Utc;
use diesel::prelude::*;

pub use application::{
    Application, Filter, Message, StoreSite, find, latest_approval, list, thread,
};
pub use bank_account::{BankAccountNumber, InvalidBankAccount};
pub use email::ApplicationEmail;
pub use onboard::{APPROVAL_KIND, approve, invite_owner, owner, request_approval, welcome};
pub use review::{ask_more_info, reject, start_review};
pub use submission::{
    ApplicationInput, CATEGORIES, MAX_STORES, NewApplication, StoreInput, find_by_token, reply,
    submit,
};
pub use terms::{ProgramInput, ProgramTerms};

use crate::{
    approval::ApprovalError,
    crypto::{self, Keys},
    db::schema::merchant_applications,
    domain::{
        actor::{Actor, ActorKind},
        id::MerchantId,
        text_enum::text_enum,
    },
    error::{self, Class, Classify, Kind, Refusal},
    ledger::LedgerError,
    people::PeopleError,
    program::ProgramError,
};

text_enum! {
    /// Where an application stands.
    pub enum Status {
        /// Waiting for an operator to pick it up.
        Submitted => "submitted",
        UnderReview => "under_review",
        /// An operator asked the applicant a question; their answer puts it back
        /// under review.
        MoreInfo => "more_info",
        Approved => "approved",
        Rejected => "rejected",
    }
}

impl Status {
    /// Not decided yet: it can still be reviewed, questioned or rejected.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Submitted | Self::UnderReview | Self::MoreInfo)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OnboardingError {
    #[error("application not found")]
    NotFound,
    #[error("the application's status does not allow this")]
    WrongStatus,
    #[error("an approval of this application is waiting for a decision")]
    ApprovalPending,
    #[error("a message is needed (at most 2000 characters)")]
    InvalidMessage,
    #[error("this company already has an application waiting for a decision")]
    AlreadyApplied,
    #[error("this company is already a merchant of the alliance")]
    AlreadyMember,
    #[error("the program code {0} is already in use")]
    CodeTaken(String),
    #[error("the contact's email address already signs in to a merchant console")]
    EmailTaken,
    #[error("the application's stores cannot be used: {0}")]
    StoresUnreadable(String),
    #[error("cannot file the approval request")]
    Approval(#[source] ApprovalError),
    #[error("cannot create the owner's account")]
    Owner(#[source] PeopleError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl Classify for OnboardingError {
    /// The application moved on, or its company or code is taken: refusals
    /// the applicant or the reviewer reads. Stores that cannot be read back,
    /// an approval or an owner that cannot be filed are the system's.
    fn class(&self) -> Class {
        use Kind::{Conflict, NotFound, Unprocessable};
        let (kind, key) = match self {
            Self::NotFound => (NotFound, "error.not_found.text"),
            Self::WrongStatus => (Conflict, "onboarding.error.wrong_status"),
            Self::ApprovalPending => (Conflict, "onboarding.error.approval_pending"),
            Self::InvalidMessage => (Unprocessable, "onboarding.error.message"),
            Self::AlreadyApplied => (Conflict, "onboarding.error.already_applied"),
            Self::AlreadyMember => (Conflict, "onboarding.error.already_member"),
            Self::CodeTaken(_) => (Conflict, "onboarding.error.code_taken"),
            Self::EmailTaken => (Conflict, "onboarding.error.email_taken"),
            Self::StoresUnreadable(_)
            | Self::Approval(_)
            | Self::Owner(_)
            | Self::Ledger(_)
            | Self::Database(_) => return Class::System,
        };
        Class::Refusal(Refusal::new(
            kind,
            "onboarding_refused",
            error::Message::new(key),
        ))
    }
}

impl From<ProgramError> for OnboardingError {
    fn from(e: ProgramError) -> Self {
        match e {
            ProgramError::CodeTaken(code) => Self::CodeTaken(code.to_string()),
            ProgramError::Ledger(e) => Self::Ledger(e),
        }
    }
}

/// A form field that was refused, and the catalog key that says why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub key: &'static str,
}

impl FieldError {
    fn new(field: impl Into<String>, key: &'static str) -> Self {
        Self {
            field: field.into(),
            key,
        }
    }
}

/// What to email the applicant after a change.
#[derive(Debug)]
pub struct Notice {
    pub to: String,
    pub contact_name: String,
    pub company_name: String,
    pub status: Status,
    /// The reviewer's question (more information) or reason (rejection).
    pub note: Option<String>,
    /// For the emailed status link only; its hash replaced the previous one.
    pub status_token: String,
}

/// Longest message in the review thread, question, answer or reason.
const MAX_MESSAGE_CHARS: usize = 2000;

/// A thread message or reason as typed: trimmed, not empty, not too long.
fn message_text(input: &str) -> Result<&str, OnboardingError> {
    let text = input.trim();
    if text.is_empty() || text.chars().count() > MAX_MESSAGE_CHARS {
        Err(OnboardingError::InvalidMessage)
    } else {
        Ok(text)
    }
}

/// Applicants have no account; the audit log names them by their application
/// (not by the email they gave, which is kept encrypted).
fn applicant(application_id: i64, ip: Option<&str>) -> Actor {
    Actor {
        kind: ActorKind::System,
        id: None,
        label: format!("applicant:application/{application_id}"),
        role: "applicant".to_owned(),
        merchant_id: None,
        ip: ip.map(str::to_owned),
    }
}

/// Gives the application a new status link and returns the notice carrying it.
fn notice(
    conn: &mut PgConnection,
    keys: &Keys,
    application: &Application,
    note: Option<&str>,
) -> QueryResult<Notice> {
    let token = crypto::random_token();
    diesel::update(merchant_applications::table.find(application.id))
        .set(merchant_applications::status_token_hash.eq(&crypto::sha256(token.as_bytes())[..]))
        .execute(conn)?;
    Ok(Notice {
        to: application.contact_email(keys),
        contact_name: application.contact_name.clone(),
        company_name: application.company_name.clone(),
        status: application.status,
        note: note.map(str::to_owned),
        status_token: token,
    })
}

/// Loads an application for a change, holding its row until the transaction
/// ends so concurrent changes (an operator and the applicant) go one at a time.
fn lock(conn: &mut PgConnection, id: i64) -> Result<Application, OnboardingError> {
    merchant_applications::table
        .find(id)
        .select(Application::as_select())
        .for_update()
        .first(conn)
        .optional()?
        .ok_or(OnboardingError::NotFound)
}

/// Sets the status (and what goes with it), stamping the change time.
fn set_status(
    conn: &mut PgConnection,
    id: i64,
    status: Status,
    decision_reason: Option<&str>,
    merchant_id: Option<MerchantId>,
) -> QueryResult<Application> {
    diesel::update(merchant_applications::table.find(id))
        .set((
            merchant_applications::status.eq(status),
            merchant_applications::decision_reason.eq(decision_reason),
            merchant_applications::merchant_id.eq(merchant_id),
            merchant_applications::updated_at.eq(Utc::now()),
        ))
        .returning(Application::as_returning())
        .get_result(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_and_only_undecided_ones_are_open() {
        for status in Status::ALL {
            assert_eq!(Status::parse(status.as_str()), Some(status));
        }
        assert_eq!(Status::parse("pending"), None);
        let open: Vec<_> = Status::ALL.into_iter().filter(|s| s.is_open()).collect();
        assert_eq!(
            open,
            [Status::Submitted, Status::UnderReview, Status::MoreInfo]
        );
    }

    #[test]
    fn messages_are_trimmed_and_must_say_something() {
        assert_eq!(message_text("  营业执照副本？ ").unwrap(), "营业执照副本？");
        assert!(matches!(
            message_text(" \n "),
            Err(OnboardingError::InvalidMessage)
        ));
        assert!(message_text(&"问".repeat(MAX_MESSAGE_CHARS)).is_ok());
        assert!(message_text(&"问".repeat(MAX_MESSAGE_CHARS + 1)).is_err());
    }
}
