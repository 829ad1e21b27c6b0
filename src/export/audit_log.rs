//! The audit log as a CSV file, for an export (see `export`): every event a
//! filter matches, not just a page of them, read in batches inside one
//! read-only snapshot so the count and the rows agree. The file names people
//! and merchants, which the page leaves as emails and ids.

use std::{borrow::Cow, collections::HashMap};

use diesel::prelude::*;

use crate::{
    audit::{AuditEvent, AuditFilter, count, search},
    db::schema::{merchant_users, merchants, operators},
    domain::{id::MerchantId, shanghai},
    i18n::Locale,
    spreadsheet::defuse,
};

use super::Progress;

/// The export's `kind`.
pub const KIND: &str = "audit";

/// Events read per query.
const BATCH: i64 = 1_000;

/// The header row's catalog keys, in column order.
const COLUMNS: [&str; 13] = [
    "exports.audit_csv.id",
    "exports.audit_csv.at",
    "exports.audit_csv.actor",
    "exports.audit_csv.actor_name",
    "exports.audit_csv.role",
    "exports.audit_csv.merchant_id",
    "exports.audit_csv.merchant",
    "exports.audit_csv.action",
    "exports.audit_csv.target_kind",
    "exports.audit_csv.target_id",
    "exports.audit_csv.before",
    "exports.audit_csv.after",
    "exports.audit_csv.ip",
];

/// Every event `filter` matches (its paging position ignored), newest first:
/// UTF-8 with a byte order mark (Excel in China reads GBK otherwise), a header
/// row in `locale`, times in Shanghai, the actor's name beside their email and
/// the merchant's beside its id, and before/after as compact JSON. Text a person typed is defused so that a
/// spreadsheet cannot run it as a formula.
pub fn to_csv(
    conn: &mut PgConnection,
    filter: &AuditFilter,
    locale: Locale,
    progress: &Progress,
) -> anyhow::Result<Vec<u8>> {
    conn.build_transaction()
        .read_only()
        .repeatable_read()
        .run(|conn| {
            let mut filter = AuditFilter {
                before_id: None,
                ..filter.clone()
            };
            let total = u64::try_from(count(conn, &filter)?).unwrap_or_default();
            progress.set(0, total);
            let mut writer = csv::Writer::from_writer("\u{feff}".as_bytes().to_vec());
            writer.write_record(COLUMNS.map(|key| locale.t(key).into_owned()))?;
            let mut done = 0;
            loop {
                let events = search(conn, &filter, BATCH)?;
                let Some(last) = events.last() else { break };
                filter.before_id = Some(last.id);
                let names = Names::of(conn, &events, locale)?;
                for event in &events {
                    writer.write_record(row(event, &names, locale).iter().map(|c| c.as_bytes()))?;
                }
                done += events.len() as u64;
                progress.set(done, total);
            }
            Ok(writer
                .into_inner()
                .map_err(csv::IntoInnerError::into_error)?)
        })
}

fn row<'a>(event: &'a AuditEvent, names: &'a Names, locale: Locale) -> [Cow<'a, str>; 13] {
    let json = |value: Option<&serde_json::Value>| {
        value.map_or(Cow::Borrowed(""), |v| {
            defuse(&v.to_string()).into_owned().into()
        })
    };
    let merchant = event
        .merchant_id
        .and_then(|id| names.merchants.get(&id))
        .map_or(Cow::Borrowed(""), |name| defuse(name));
    let people = match event.actor_kind.as_str() {
        "operator" => Some(&names.operators),
        "merchant_user" => Some(&names.merchant_users),
        _ => None,
    };
    let actor_name = people
        .zip(event.actor_id)
        .and_then(|(people, id)| people.get(&id))
        .map_or(Cow::Borrowed(""), |name| defuse(name));
    [
        Cow::Owned(event.id.to_string()),
        Cow::Owned(
            event
                .at
                .with_timezone(&shanghai::offset())
                .format("%Y-%m-%d %H:%M:%S")
                .to_string(),
        ),
        defuse(&event.actor_label),
        actor_name,
        Cow::Owned(locale.t(&format!("role.{}", event.actor_role)).into_owned()),
        event
            .merchant_id
            .map_or(Cow::Borrowed(""), |id| Cow::Owned(id.to_string())),
        merchant,
        Cow::Borrowed(event.action.as_str()),
        defuse(&event.target_kind),
        defuse(event.target_id.as_deref().unwrap_or_default()),
        json(event.before.as_ref()),
        json(event.after.as_ref()),
        defuse(event.ip.as_deref().unwrap_or_default()),
    ]
}

/// The names of the people and merchants a batch of events mentions.
struct Names {
    operators: HashMap<i64, String>,
    merchant_users: HashMap<i64, String>,
    /// In the file's language.
    merchants: HashMap<MerchantId, String>,
}

impl Names {
    fn of(conn: &mut PgConnection, events: &[AuditEvent], locale: Locale) -> QueryResult<Self> {
        let ids = |pick: &dyn Fn(&AuditEvent) -> Option<i64>| {
            let mut ids: Vec<i64> = events.iter().filter_map(pick).collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        };
        let actors =
            |kind: &str| ids(&|e: &AuditEvent| e.actor_id.filter(|_| e.actor_kind == kind));
        let merchants: Vec<(MerchantId, String, String)> = merchants::table
            .filter(merchants::id.eq_any(ids(&|e: &AuditEvent| e.merchant_id.map(|id| id.0))))
            .select((merchants::id, merchants::name_zh, merchants::name_en))
            .load(conn)?;
        Ok(Self {
            operators: operators::table
                .filter(operators::id.eq_any(actors("operator")))
                .select((operators::id, operators::display_name))
                .load(conn)?
                .into_iter()
                .collect(),
            merchant_users: merchant_users::table
                .filter(merchant_users::id.eq_any(actors("merchant_user")))
                .select((merchant_users::id, merchant_users::display_name))
                .load(conn)?
                .into_iter()
                .collect(),
            merchants: merchants
                .into_iter()
                .map(|(id, zh, en)| match locale {
                    Locale::ZhCn => (id, zh),
                    Locale::En => (id, en),
                })
                .collect(),
        })
    }
}
