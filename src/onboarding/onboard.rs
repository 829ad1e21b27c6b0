//! Approving an application (maker-checker). One operator proposes the terms of
//! the merchant's points program and files an approval request; when another
//! approves it, `approve` runs inside the approval's transaction and creates the
//! merchant, its stores, its program in the ledger and its owner, all or
//! nothing. The emails go after the commit (`welcome`), because a link sent for
//! a transaction that then rolls back would point at nothing.

use diesel::{dsl::exists, prelude::*};
use serde::{Deserialize, Serialize};

use crate::{
    approval::{
        self, ActionFailed, Approval, ApprovalError, ApprovalStatus, NewApproval, Policy, Registry,
        Scope,
    },
    audit::{self, Change},
    chart,
    crypto::Keys,
    db::schema::{merchant_users, merchants},
    domain::{actor::Actor, email_address::EmailAddress, points::ProgramCode, portal::Portal},
    i18n::Locale,
    merchant::{
        Merchant,
        store::{self, StoreDetails},
    },
    people::{
        PeopleError,
        merchant_user::{self, MerchantRole, MerchantUser, NewMerchantUser},
        password_reset::{self, INVITATION_VALIDITY, Ticket},
    },
    program::{self, NewProgram},
};

use super::{
    Application, Notice, OnboardingError, ProgramTerms, Status, application::approval_pending,
    lock, notice, set_status,
};

/// The approval kind, registered with the action `approve`.
pub const APPROVAL_KIND: &str = "merchant.onboard";
const APPROVER_ROLES: &[&str] = &["admin", "operator"];

/// What the approval carries: everything `approve` needs, as the checker saw it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Payload {
    application_id: i64,
    program: ProgramTerms,
}

/// The maker's step: files the approval request for an application under
/// review. Refused while another request for it is pending, and when the code,
/// the company or the contact's email is already taken (checked again on
/// approval, since time passes in between).
#[tracing::instrument(skip_all, fields(application_id = application_id))]
pub fn request_approval(
    conn: &mut PgConnection,
    keys: &Keys,
    maker: &Actor,
    application_id: i64,
    terms: &ProgramTerms,
    policy: Policy,
    registry: &Registry,
) -> Result<Approval, OnboardingError> {
    conn.transaction(|conn| {
        let application = lock(conn, application_id)?;
        if application.status != Status::UnderReview {
            return Err(OnboardingError::WrongStatus);
        }
        if approval_pending(conn, application_id)? {
            return Err(OnboardingError::ApprovalPending);
        }
        ensure_available(
            conn,
            &application,
            &application.contact_email(keys),
            &terms.code,
        )?;
        let payload = Payload {
            application_id,
            program: terms.clone(),
        };
        let request = NewApproval {
            kind: APPROVAL_KIND,
            scope: Scope::Platform,
            payload: serde_json::to_value(&payload).expect("the payload serializes"),
            summary: format!("{} · {}", application.company_name, terms.code),
            amount: None,
            approver_roles: APPROVER_ROLES,
        };
        approval::request(conn, maker, &request, policy, registry).map_err(|e| match e {
            ApprovalError::Database(e) => e.into(),
            e => OnboardingError::Approval(e),
        })
    })
}

/// The approval action `merchant.onboard`, run as the checker who approved.
#[tracing::instrument(skip_all)]
pub fn approve(
    keys: &Keys,
    conn: &mut PgConnection,
    approval: &Approval,
    checker: &Actor,
) -> Result<String, ActionFailed> {
    let payload: Payload = serde_json::from_value(approval.payload.clone())
        .map_err(|e| ActionFailed(format!("the request cannot be read: {e}")))?;
    let merchant = onboard(conn, keys, checker, &payload).map_err(|e| {
        // The checker reads a refusal's reason, or only that the system failed.
        ActionFailed::of(&e, Locale::default(), "the system failed".to_owned())
    })?;
    Ok(format!(
        "merchant {} created (id {})",
        merchant.code, merchant.id
    ))
}

fn onboard(
    conn: &mut PgConnection,
    keys: &Keys,
    checker: &Actor,
    payload: &Payload,
) -> Result<Merchant, OnboardingError> {
    let application = lock(conn, payload.application_id)?;
    if application.status != Status::UnderReview {
        return Err(OnboardingError::WrongStatus);
    }
    let terms = &payload.program;
    let contact_email = application.contact_email(keys);
    ensure_available(conn, &application, &contact_email, &terms.code)?;
    let merchant = create_merchant(conn, checker, &application, &contact_email, terms)?;
    for site in application.store_sites()? {
        let details =
            StoreDetails::parse(&site.name, &site.address, &site.latitude, &site.longitude)
                .map_err(|e| OnboardingError::StoresUnreadable(e.to_string()))?;
        store::add(conn, checker, merchant.id, &details)?;
    }
    program::create(
        conn,
        checker,
        &NewProgram {
            merchant_id: merchant.id,
            code: &terms.code,
            name_zh: &terms.name_zh,
            name_en: &terms.name_en,
            settlement_value: terms.settlement_value,
            earn_points_per_cny: terms.earn_points_per_cny,
            expiry_months: terms.expiry_months,
            exchange_in: terms.exchange_in,
            exchange_out: terms.exchange_out,
            min_exchange_points: terms.min_exchange_points,
            max_exchange_points: terms.max_exchange_points,
        },
    )?;
    // A new deployment's first merchant may come before anything else in CNY.
    chart::ensure_currency_assets(conn)?;
    chart::open(conn, &chart::merchant_deposit(merchant.id))?;
    chart::open(conn, &chart::merchant_settlement(merchant.id))?;
    let owner = NewMerchantUser {
        email: EmailAddress::parse(&contact_email)
            .map_err(|_| OnboardingError::Owner(PeopleError::NotFound))?,
        display_name: application.contact_name.clone(),
        role: MerchantRole::Owner,
        password: None,
    };
    merchant_user::create(conn, checker, merchant.id, &owner).map_err(|e| match e {
        PeopleError::EmailTaken => OnboardingError::EmailTaken,
        PeopleError::Database(e) => e.into(),
        e => OnboardingError::Owner(e),
    })?;
    let approved = set_status(
        conn,
        application.id,
        Status::Approved,
        None,
        Some(merchant.id),
    )?;
    audit::record(
        conn,
        checker,
        Change::new(
            "application.approve",
            "merchant_application",
            application.id,
        )
        .before(&application)
        .after(&approved),
    )?;
    Ok(merchant)
}

/// The merchant as the application describes it, named after the company (in
/// English after its program, which is what members will see).
fn create_merchant(
    conn: &mut PgConnection,
    checker: &Actor,
    application: &Application,
    contact_email: &str,
    terms: &ProgramTerms,
) -> Result<Merchant, OnboardingError> {
    let merchant: Merchant = diesel::insert_into(merchants::table)
        .values((
            merchants::code.eq(terms.code.as_str()),
            merchants::name_zh.eq(&application.company_name),
            merchants::name_en.eq(&terms.name_en),
            merchants::category.eq(&application.category),
            merchants::tier.eq(application.requested_tier),
            merchants::credit_code.eq(&application.credit_code),
            merchants::contact_name.eq(&application.contact_name),
            // Sealed under the same name in both tables, so it moves as it is.
            merchants::contact_phone_ciphertext.eq(&application.contact_phone_ciphertext),
            merchants::contact_email.eq(contact_email),
            merchants::bank_account_name.eq(&application.bank_account_name),
            merchants::bank_name.eq(&application.bank_name),
            // Sealed under the same name in both tables, so it moves as it is.
            merchants::bank_account_ciphertext.eq(&application.bank_account_ciphertext),
        ))
        .returning(Merchant::as_returning())
        .get_result(conn)?;
    audit::record(
        conn,
        checker,
        Change::new("merchant.create", "merchant", merchant.id).after(&merchant),
    )?;
    Ok(merchant)
}

/// The code, the company and the contact's sign-in email are each one
/// merchant's only.
fn ensure_available(
    conn: &mut PgConnection,
    application: &Application,
    contact_email: &str,
    code: &ProgramCode,
) -> Result<(), OnboardingError> {
    if program::code_taken(conn, code)? {
        return Err(OnboardingError::CodeTaken(code.to_string()));
    }
    let member = merchants::table.filter(merchants::credit_code.eq(&application.credit_code));
    if diesel::select(exists(member)).get_result(conn)? {
        return Err(OnboardingError::AlreadyMember);
    }
    let user = merchant_users::table.filter(merchant_users::email.eq(contact_email));
    if diesel::select(exists(user)).get_result(conn)? {
        return Err(OnboardingError::EmailTaken);
    }
    Ok(())
}

/// After an approved onboarding has committed: the "approved" notice (with a
/// fresh status link) and the owner's invitation. None for other approvals.
#[tracing::instrument(skip_all)]
pub fn welcome(
    conn: &mut PgConnection,
    keys: &Keys,
    approval: &Approval,
) -> Result<Option<(Notice, Option<Ticket>)>, OnboardingError> {
    if approval.kind != APPROVAL_KIND || approval.status != ApprovalStatus::Approved {
        return Ok(None);
    }
    let id = approval.payload["application_id"]
        .as_i64()
        .ok_or(OnboardingError::NotFound)?;
    conn.transaction(|conn| {
        let application = lock(conn, id)?;
        let ticket = owner_ticket(conn, &application)?;
        Ok(Some((notice(conn, keys, &application, None)?, ticket)))
    })
}

/// A new invitation for the owner of an approved application's merchant, for
/// when the first one was lost or has expired.
#[tracing::instrument(skip_all, fields(id = id))]
pub fn invite_owner(
    conn: &mut PgConnection,
    actor: &Actor,
    id: i64,
) -> Result<Option<Ticket>, OnboardingError> {
    conn.transaction(|conn| {
        let application = lock(conn, id)?;
        let ticket = owner_ticket(conn, &application)?;
        audit::record(
            conn,
            actor,
            Change::new("application.invite_owner", "merchant_application", id),
        )?;
        Ok(ticket)
    })
}

fn owner_ticket(
    conn: &mut PgConnection,
    application: &Application,
) -> Result<Option<Ticket>, OnboardingError> {
    let owner = owner(conn, application)?.ok_or(OnboardingError::WrongStatus)?;
    Ok(password_reset::issue(
        conn,
        Portal::Merchant,
        owner.id,
        INVITATION_VALIDITY,
    )?)
}

/// The owner of the merchant an approved application became.
pub fn owner(
    conn: &mut PgConnection,
    application: &Application,
) -> QueryResult<Option<MerchantUser>> {
    let Some(merchant_id) = application.merchant_id else {
        return Ok(None);
    };
    Ok(merchant_user::list(conn, merchant_id)?
        .into_iter()
        .find(|user| user.role == MerchantRole::Owner))
}
