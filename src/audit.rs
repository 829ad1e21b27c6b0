//! The audit log: every change an operator or merchant user makes, with who, in
//! which role, what changed (before and after), when and from where. Append-only
//! (a trigger refuses UPDATE and DELETE). Record it in the same transaction as the
//! change itself, so the log can never miss or invent one.

use chrono::{DateTime, Utc};
use diesel::{pg::Pg, prelude::*};
use serde::Serialize;

use crate::{
    db::schema::audit_events,
    domain::{actor::Actor, id::MerchantId},
};

/// One change to record.
#[derive(Debug, Clone)]
pub struct Change {
    /// `area.verb`, e.g. `operator.create`, `staff.role_change`.
    pub action: &'static str,
    pub target_kind: &'static str,
    pub target_id: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

impl Change {
    pub fn new(
        action: &'static str,
        target_kind: &'static str,
        target_id: impl std::fmt::Display,
    ) -> Self {
        Self {
            action,
            target_kind,
            target_id: Some(target_id.to_string()),
            before: None,
            after: None,
        }
    }

    #[must_use]
    pub fn before(mut self, value: impl Serialize) -> Self {
        self.before = Some(serde_json::to_value(value).expect("audit values serialize"));
        self
    }

    #[must_use]
    pub fn after(mut self, value: impl Serialize) -> Self {
        self.after = Some(serde_json::to_value(value).expect("audit values serialize"));
        self
    }
}

pub fn record(conn: &mut PgConnection, actor: &Actor, change: Change) -> QueryResult<()> {
    diesel::insert_into(audit_events::table)
        .values((
            audit_events::actor_kind.eq(actor.kind.as_str()),
            audit_events::actor_id.eq(actor.id),
            audit_events::actor_label.eq(&actor.label),
            audit_events::actor_role.eq(&actor.role),
            audit_events::merchant_id.eq(actor.merchant_id),
            audit_events::action.eq(change.action),
            audit_events::target_kind.eq(change.target_kind),
            audit_events::target_id.eq(change.target_id),
            audit_events::before.eq(change.before),
            audit_events::after.eq(change.after),
            audit_events::ip.eq(&actor.ip),
        ))
        .execute(conn)
        .map(drop)
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = audit_events, check_for_backend(diesel::pg::Pg))]
pub struct AuditEvent {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_kind: String,
    pub actor_id: Option<i64>,
    pub actor_label: String,
    pub actor_role: String,
    pub merchant_id: Option<MerchantId>,
    pub action: String,
    pub target_kind: String,
    pub target_id: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub ip: Option<String>,
}

/// What to look for; every field narrows the search.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// A part of the actor's label (email).
    pub actor: Option<String>,
    /// An action or an area prefix: `operator` matches `operator.create`.
    pub action: Option<String>,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    pub merchant_id: Option<MerchantId>,
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Keyset paging: only events older than this id.
    pub before_id: Option<i64>,
}

/// The events the filter matches, in no order yet.
fn matching(filter: &AuditFilter) -> audit_events::BoxedQuery<'static, Pg> {
    let mut query = audit_events::table.into_boxed();
    if let Some(actor) = &filter.actor {
        query = query.filter(audit_events::actor_label.ilike(format!("%{}%", escape_like(actor))));
    }
    if let Some(action) = &filter.action {
        let area = format!("{}.%", escape_like(action));
        query = query.filter(
            audit_events::action
                .eq(action.clone())
                .or(audit_events::action.like(area)),
        );
    }
    if let Some(kind) = &filter.target_kind {
        query = query.filter(audit_events::target_kind.eq(kind.clone()));
    }
    if let Some(id) = &filter.target_id {
        query = query.filter(audit_events::target_id.eq(id.clone()));
    }
    if let Some(merchant) = filter.merchant_id {
        query = query.filter(audit_events::merchant_id.eq(merchant));
    }
    if let Some(from) = filter.from {
        query = query.filter(audit_events::at.ge(from));
    }
    if let Some(until) = filter.until {
        query = query.filter(audit_events::at.lt(until));
    }
    if let Some(before) = filter.before_id {
        query = query.filter(audit_events::id.lt(before));
    }
    query
}

/// Newest first, at most `limit`.
pub fn search(
    conn: &mut PgConnection,
    filter: &AuditFilter,
    limit: i64,
) -> QueryResult<Vec<AuditEvent>> {
    matching(filter)
        .select(AuditEvent::as_select())
        .order(audit_events::id.desc())
        .limit(limit)
        .load(conn)
}

/// How many events the filter matches.
pub fn count(conn: &mut PgConnection, filter: &AuditFilter) -> QueryResult<i64> {
    matching(filter).count().get_result(conn)
}

/// The filter's text is matched literally, not as a LIKE pattern.
fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
