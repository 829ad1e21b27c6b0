//! A merchant's own users: the owner, managers and cashiers. The owner manages the
//! staff. Every query here is scoped by merchant, so one merchant's users can
//! never be read or changed through another's.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::{
    audit::{self, Change},
    db::schema::merchant_users,
    domain::{
        actor::Actor, email_address::EmailAddress, id::MerchantId, password::NewPassword,
        portal::Portal, text_enum::text_enum,
    },
    i18n::Locale,
};

use super::{
    PeopleError,
    password_reset::{self, INVITATION_VALIDITY, Ticket},
};

text_enum! {
    pub enum MerchantRole {
        /// Signs the contract; manages staff, settings and keys.
        Owner => "owner",
        /// Runs the program: issuing, catalog, reports.
        Manager => "manager",
        /// Serves members at the till: issues points, redeems vouchers.
        Cashier => "cashier",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = merchant_users, check_for_backend(diesel::pg::Pg))]
pub struct MerchantUser {
    pub id: i64,
    pub merchant_id: MerchantId,
    pub email: String,
    pub display_name: String,
    pub role: MerchantRole,
    pub active: bool,
    pub locale: String,
    pub created_at: DateTime<Utc>,
    pub last_sign_in_at: Option<DateTime<Utc>>,
}

impl MerchantUser {
    pub fn locale(&self) -> Locale {
        self.locale.parse().unwrap_or_default()
    }
}

#[derive(Debug)]
pub struct NewMerchantUser {
    pub email: EmailAddress,
    pub display_name: String,
    pub role: MerchantRole,
    /// None: invited, chooses a password through the emailed link.
    pub password: Option<NewPassword>,
}

pub fn find(conn: &mut PgConnection, id: i64) -> QueryResult<Option<MerchantUser>> {
    merchant_users::table
        .find(id)
        .select(MerchantUser::as_select())
        .first(conn)
        .optional()
}

pub fn list(conn: &mut PgConnection, merchant_id: MerchantId) -> QueryResult<Vec<MerchantUser>> {
    merchant_users::table
        .filter(merchant_users::merchant_id.eq(merchant_id))
        .order(merchant_users::id)
        .select(MerchantUser::as_select())
        .load(conn)
}

#[tracing::instrument(skip_all, fields(merchant_id = %merchant_id))]
pub fn create(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
    new: &NewMerchantUser,
) -> Result<MerchantUser, PeopleError> {
    let display_name = super::display_name(&new.display_name)?;
    let hash = super::initial_password_hash(new.password.as_ref());
    conn.transaction(|conn| {
        let user = diesel::insert_into(merchant_users::table)
            .values((
                merchant_users::merchant_id.eq(merchant_id),
                merchant_users::email.eq(new.email.as_str()),
                merchant_users::display_name.eq(display_name),
                merchant_users::password_hash.eq(hash),
                merchant_users::role.eq(new.role),
            ))
            .returning(MerchantUser::as_returning())
            .get_result(conn)
            .map_err(super::email_taken_or_database)?;
        audit::record(
            conn,
            actor,
            Change::new("staff.create", "merchant_user", user.id).after(&user),
        )?;
        Ok(user)
    })
}

/// Creates a staff member without a password and issues their invitation link.
#[tracing::instrument(skip_all, fields(merchant_id = %merchant_id))]
pub fn invite(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
    new: &NewMerchantUser,
) -> Result<Option<Ticket>, PeopleError> {
    conn.transaction(|conn| {
        let user = create(conn, actor, merchant_id, new)?;
        Ok(password_reset::issue(
            conn,
            Portal::Merchant,
            user.id,
            INVITATION_VALIDITY,
        )?)
    })
}

/// The owner gives a staff member another staff role; ownership is not handed
/// over this way.
#[tracing::instrument(skip_all, fields(merchant_id = %merchant_id, id = id))]
pub fn change_role(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
    id: i64,
    role: MerchantRole,
) -> Result<MerchantUser, PeopleError> {
    if role == MerchantRole::Owner {
        return Err(PeopleError::RoleNotAssignable);
    }
    update(
        conn,
        actor,
        merchant_id,
        id,
        "staff.role_change",
        |conn, before| {
            if before.role == MerchantRole::Owner {
                return Err(PeopleError::RoleNotAssignable);
            }
            Ok(diesel::update(merchant_users::table.find(id))
                .set(merchant_users::role.eq(role))
                .returning(MerchantUser::as_returning())
                .get_result(conn)?)
        },
    )
}

#[tracing::instrument(skip_all, fields(merchant_id = %merchant_id, id = id))]
pub fn set_active(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
    id: i64,
    active: bool,
) -> Result<MerchantUser, PeopleError> {
    if actor.id == Some(id) {
        return Err(PeopleError::OwnAccount);
    }
    update(
        conn,
        actor,
        merchant_id,
        id,
        if active {
            "staff.activate"
        } else {
            "staff.deactivate"
        },
        |conn, before| {
            if before.role == MerchantRole::Owner {
                return Err(PeopleError::RoleNotAssignable);
            }
            Ok(diesel::update(merchant_users::table.find(id))
                .set(merchant_users::active.eq(active))
                .returning(MerchantUser::as_returning())
                .get_result(conn)?)
        },
    )
}

/// Loads (only within the merchant), changes and audits one user.
fn update(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
    id: i64,
    action: &'static str,
    change: impl FnOnce(&mut PgConnection, &MerchantUser) -> Result<MerchantUser, PeopleError>,
) -> Result<MerchantUser, PeopleError> {
    conn.transaction(|conn| {
        let before = merchant_users::table
            .find(id)
            .filter(merchant_users::merchant_id.eq(merchant_id))
            .select(MerchantUser::as_select())
            .for_update()
            .first(conn)
            .optional()?
            .ok_or(PeopleError::NotFound)?;
        let after = change(conn, &before)?;
        audit::record(
            conn,
            actor,
            Change::new(action, "merchant_user", id)
                .before(&before)
                .after(&after),
        )?;
        Ok(after)
    })
}
