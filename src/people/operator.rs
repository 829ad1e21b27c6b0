//! Platform operators: who runs the alliance, in which role. An admin manages
//! operators; making someone an admin needs a second admin's approval.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::{
    approval::{ActionFailed, Approval},
    audit::{self, Change},
    db::schema::operators,
    domain::{
        actor::{Actor, ActorKind},
        email_address::EmailAddress,
        password::NewPassword,
        portal::Portal,
        text_enum::text_enum,
    },
    i18n::Locale,
};

use super::{
    PeopleError,
    password_reset::{self, INVITATION_VALIDITY, Ticket},
};

text_enum! {
    pub enum OperatorRole {
        /// Manages operators and everything else.
        Admin => "admin",
        /// Runs the alliance day to day: merchants, rates, campaigns.
        Operator => "operator",
        /// Deposits, settlement, payouts.
        Finance => "finance",
        /// Risk alerts and member verification.
        Risk => "risk",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = operators, check_for_backend(diesel::pg::Pg))]
pub struct Operator {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub role: OperatorRole,
    pub active: bool,
    pub locale: String,
    pub created_at: DateTime<Utc>,
    pub last_sign_in_at: Option<DateTime<Utc>>,
}

impl Operator {
    pub fn is_admin(&self) -> bool {
        self.role == OperatorRole::Admin
    }

    pub fn locale(&self) -> Locale {
        self.locale.parse().unwrap_or_default()
    }

    /// This operator as the author of a change, from `ip` if known.
    pub fn actor(&self, ip: Option<String>) -> Actor {
        Actor {
            kind: ActorKind::Operator,
            id: Some(self.id),
            label: self.email.clone(),
            role: self.role.as_str().to_owned(),
            merchant_id: None,
            ip,
        }
    }
}

#[derive(Debug)]
pub struct NewOperator {
    pub email: EmailAddress,
    pub display_name: String,
    pub role: OperatorRole,
    /// None: invited, chooses a password through the emailed link.
    pub password: Option<NewPassword>,
}

pub fn find(conn: &mut PgConnection, id: i64) -> QueryResult<Option<Operator>> {
    operators::table
        .find(id)
        .select(Operator::as_select())
        .first(conn)
        .optional()
}

pub fn list(conn: &mut PgConnection) -> QueryResult<Vec<Operator>> {
    operators::table
        .order(operators::id)
        .select(Operator::as_select())
        .load(conn)
}

#[tracing::instrument(skip_all)]
pub fn create(
    conn: &mut PgConnection,
    actor: &Actor,
    new: &NewOperator,
) -> Result<Operator, PeopleError> {
    let display_name = super::display_name(&new.display_name)?;
    let hash = super::initial_password_hash(new.password.as_ref());
    conn.transaction(|conn| {
        let operator = diesel::insert_into(operators::table)
            .values((
                operators::email.eq(new.email.as_str()),
                operators::display_name.eq(display_name),
                operators::password_hash.eq(hash),
                operators::role.eq(new.role),
            ))
            .returning(Operator::as_returning())
            .get_result(conn)
            .map_err(super::email_taken_or_database)?;
        audit::record(
            conn,
            actor,
            Change::new("operator.create", "operator", operator.id).after(&operator),
        )?;
        Ok(operator)
    })
}

/// Creates an operator without a password and issues their invitation link.
#[tracing::instrument(skip_all)]
pub fn invite(
    conn: &mut PgConnection,
    actor: &Actor,
    new: &NewOperator,
) -> Result<Option<Ticket>, PeopleError> {
    conn.transaction(|conn| {
        let operator = create(conn, actor, new)?;
        Ok(password_reset::issue(
            conn,
            Portal::Platform,
            operator.id,
            INVITATION_VALIDITY,
        )?)
    })
}

/// Changes a role other than to admin (that is `grant_admin`, after approval).
#[tracing::instrument(skip_all, fields(id = id))]
pub fn change_role(
    conn: &mut PgConnection,
    actor: &Actor,
    id: i64,
    role: OperatorRole,
) -> Result<Operator, PeopleError> {
    if role == OperatorRole::Admin {
        return Err(PeopleError::NeedsApproval);
    }
    update(conn, actor, id, "operator.role_change", |conn, before| {
        if before.is_admin() {
            ensure_another_admin(conn, id)?;
        }
        Ok(diesel::update(operators::table.find(id))
            .set(operators::role.eq(role))
            .returning(Operator::as_returning())
            .get_result(conn)?)
    })
}

#[tracing::instrument(skip_all, fields(id = id))]
pub fn set_active(
    conn: &mut PgConnection,
    actor: &Actor,
    id: i64,
    active: bool,
) -> Result<Operator, PeopleError> {
    if actor.id == Some(id) {
        return Err(PeopleError::OwnAccount);
    }
    update(
        conn,
        actor,
        id,
        if active {
            "operator.activate"
        } else {
            "operator.deactivate"
        },
        |conn, before| {
            if !active && before.is_admin() {
                ensure_another_admin(conn, id)?;
            }
            Ok(diesel::update(operators::table.find(id))
                .set(operators::active.eq(active))
                .returning(Operator::as_returning())
                .get_result(conn)?)
        },
    )
}

/// The approval action `operator.grant_admin`: payload `{"operator_id": n}`.
#[tracing::instrument(skip_all)]
pub fn grant_admin(
    conn: &mut PgConnection,
    approval: &Approval,
    checker: &Actor,
) -> Result<String, ActionFailed> {
    let id = approval.payload["operator_id"]
        .as_i64()
        .ok_or_else(|| ActionFailed("operator_id missing".to_owned()))?;
    let operator = update(conn, checker, id, "operator.grant_admin", |conn, _| {
        Ok(diesel::update(operators::table.find(id))
            .set(operators::role.eq(OperatorRole::Admin))
            .returning(Operator::as_returning())
            .get_result(conn)?)
    })
    .map_err(|e| ActionFailed(e.to_string()))?;
    Ok(format!("{} is now an admin", operator.email))
}

/// Loads, changes and audits one operator in a transaction.
fn update(
    conn: &mut PgConnection,
    actor: &Actor,
    id: i64,
    action: &'static str,
    change: impl FnOnce(&mut PgConnection, &Operator) -> Result<Operator, PeopleError>,
) -> Result<Operator, PeopleError> {
    conn.transaction(|conn| {
        let before = operators::table
            .find(id)
            .select(Operator::as_select())
            .for_update()
            .first(conn)
            .optional()?
            .ok_or(PeopleError::NotFound)?;
        let after = change(conn, &before)?;
        audit::record(
            conn,
            actor,
            Change::new(action, "operator", id)
                .before(&before)
                .after(&after),
        )?;
        Ok(after)
    })
}

/// The alliance must always keep one active admin.
fn ensure_another_admin(conn: &mut PgConnection, except: i64) -> Result<(), PeopleError> {
    let others: i64 = operators::table
        .filter(operators::role.eq(OperatorRole::Admin))
        .filter(operators::active)
        .filter(operators::id.ne(except))
        .count()
        .get_result(conn)?;
    if others == 0 {
        Err(PeopleError::LastAdmin)
    } else {
        Ok(())
    }
}
