//! Applications and their review threads as stored, and the look-ups the review
//! pages need.

use chrono::{DateTime, Utc};
use diesel::{dsl::exists, prelude::*, sql_types::Text};
use serde::{Deserialize, Serialize};

use crate::{
    approval::{Approval, ApprovalStatus},
    crypto::Keys,
    db::schema::{application_messages, approvals, merchant_applications},
    domain::id::MerchantId,
    merchant::{contact, tier::Tier},
};

use super::{APPROVAL_KIND, OnboardingError, Status};

/// Longest queue page.
const LIST_LIMIT: i64 = 200;

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = merchant_applications, check_for_backend(diesel::pg::Pg))]
pub struct Application {
    pub id: i64,
    pub company_name: String,
    pub credit_code: String,
    pub contact_name: String,
    /// Plaintext of a row written before contacts were encrypted, until the
    /// start-up step seals it; read through `contact_phone()`.
    #[serde(skip)]
    contact_phone: Option<String>,
    #[serde(skip)]
    contact_email: Option<String>,
    pub category: String,
    pub requested_tier: Tier,
    pub bank_account_name: String,
    pub bank_name: String,
    /// Kept out of the audit log: it is only readable with the keys anyway.
    #[serde(skip)]
    pub bank_account_ciphertext: Vec<u8>,
    pub stores: serde_json::Value,
    pub status: Status,
    pub decision_reason: Option<String>,
    pub merchant_id: Option<MerchantId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(skip)]
    pub contact_phone_ciphertext: Option<Vec<u8>>,
    #[serde(skip)]
    contact_email_ciphertext: Option<Vec<u8>>,
}

impl Application {
    /// The contact's mobile number (empty if it cannot be read with `keys`).
    pub fn contact_phone(&self, keys: &Keys) -> String {
        contact::open_phone(
            keys,
            self.contact_phone_ciphertext.as_deref(),
            self.contact_phone.as_deref(),
        )
        .unwrap_or_default()
    }

    /// The contact's email address (empty if it cannot be read with `keys`).
    pub fn contact_email(&self, keys: &Keys) -> String {
        contact::open_email(
            keys,
            self.contact_email_ciphertext.as_deref(),
            self.contact_email.as_deref(),
        )
        .unwrap_or_default()
    }

    /// The stores as the applicant listed them (written by `submit`).
    pub fn store_sites(&self) -> Result<Vec<StoreSite>, OnboardingError> {
        serde_json::from_value(self.stores.clone())
            .map_err(|e| OnboardingError::StoresUnreadable(e.to_string()))
    }
}

/// A store as applied for, in the words the applicant typed (trimmed) and
/// checked by `store::StoreDetails`, which makes it a store on approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreSite {
    pub name: String,
    pub address: String,
    /// Decimal degrees.
    pub latitude: String,
    pub longitude: String,
}

/// One message of the review thread.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = application_messages, check_for_backend(diesel::pg::Pg))]
pub struct Message {
    pub id: i64,
    /// `operator` or `applicant`.
    pub author_kind: String,
    pub author_label: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

impl Message {
    pub fn from_applicant(&self) -> bool {
        self.author_kind == "applicant"
    }
}

/// What the review queue shows; every field narrows it.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub status: Option<Status>,
    pub tier: Option<Tier>,
    pub category: Option<String>,
    /// Part of the company name or of the credit code.
    pub text: Option<String>,
}

define_sql_function! {
    /// Where `needle` starts in `haystack` (from 1), or 0: a literal substring
    /// search, with none of LIKE's wildcards to escape.
    fn strpos(haystack: Text, needle: Text) -> Integer;
}

define_sql_function! {
    fn lower(text: Text) -> Text;
}

/// Newest first.
pub fn list(conn: &mut PgConnection, filter: &Filter) -> QueryResult<Vec<Application>> {
    let mut query = merchant_applications::table
        .select(Application::as_select())
        .into_boxed();
    if let Some(status) = filter.status {
        query = query.filter(merchant_applications::status.eq(status));
    }
    if let Some(tier) = filter.tier {
        query = query.filter(merchant_applications::requested_tier.eq(tier));
    }
    if let Some(category) = &filter.category {
        query = query.filter(merchant_applications::category.eq(category.clone()));
    }
    if let Some(text) = &filter.text {
        query = query.filter(
            strpos(
                lower(merchant_applications::company_name),
                text.to_lowercase(),
            )
            .gt(0)
            .or(strpos(merchant_applications::credit_code, text.to_uppercase()).gt(0)),
        );
    }
    query
        .order((
            merchant_applications::created_at.desc(),
            merchant_applications::id.desc(),
        ))
        .limit(LIST_LIMIT)
        .load(conn)
}

pub fn find(conn: &mut PgConnection, id: i64) -> QueryResult<Option<Application>> {
    merchant_applications::table
        .find(id)
        .select(Application::as_select())
        .first(conn)
        .optional()
}

/// The review thread, oldest first.
pub fn thread(conn: &mut PgConnection, application_id: i64) -> QueryResult<Vec<Message>> {
    application_messages::table
        .filter(application_messages::application_id.eq(application_id))
        .order(application_messages::id)
        .select(Message::as_select())
        .load(conn)
}

/// The newest approval request filed for the application. A new one is filed
/// only when none is pending, so if any is pending it is this one.
pub fn latest_approval(
    conn: &mut PgConnection,
    application_id: i64,
) -> QueryResult<Option<Approval>> {
    approvals::table
        .filter(approvals::kind.eq(APPROVAL_KIND))
        .filter(
            approvals::payload.contains(serde_json::json!({ "application_id": application_id })),
        )
        .order(approvals::id.desc())
        .select(Approval::as_select())
        .first(conn)
        .optional()
}

pub(super) fn approval_pending(conn: &mut PgConnection, application_id: i64) -> QueryResult<bool> {
    Ok(latest_approval(conn, application_id)?.is_some_and(|a| a.status == ApprovalStatus::Pending))
}

/// Another application for the same company still waiting for a decision.
pub(super) fn open_for_credit_code(
    conn: &mut PgConnection,
    credit_code: &str,
) -> QueryResult<bool> {
    let open: Vec<Status> = Status::ALL.into_iter().filter(|s| s.is_open()).collect();
    diesel::select(exists(
        merchant_applications::table
            .filter(merchant_applications::credit_code.eq(credit_code))
            .filter(merchant_applications::status.eq_any(open)),
    ))
    .get_result(conn)
}

pub(super) fn add_message(
    conn: &mut PgConnection,
    application_id: i64,
    author_kind: &str,
    author_label: &str,
    body: &str,
) -> QueryResult<Message> {
    diesel::insert_into(application_messages::table)
        .values((
            application_messages::application_id.eq(application_id),
            application_messages::author_kind.eq(author_kind),
            application_messages::author_label.eq(author_label),
            application_messages::body.eq(body),
        ))
        .returning(Message::as_returning())
        .get_result(conn)
}
