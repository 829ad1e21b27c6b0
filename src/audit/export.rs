//! The audit log as a CSV file, for an export (see `export`): every event a
//! filter matches, not just a page of them, read in batches inside one
//! read-only snapshot so the count and the rows agree.

use std::{borrow::Cow, collections::HashMap};

use diesel::prelude::*;

use crate::{
    db::schema::merchants, domain::shanghai, export::Progress, i18n::Locale,
    settlement::payout_file::defuse,
};

use super::{AuditEvent, AuditFilter, count, search};

/// The export's `kind`.
pub const KIND: &str = "audit";

/// Events read per query.
const BATCH: i64 = 1_000;

/// The header row's catalog keys, in column order.
const COLUMNS: [&str; 12] = [
    "exports.audit_csv.id",
    "exports.audit_csv.at",
    "exports.audit_csv.actor",
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
/// row in `locale`, times in Shanghai, the merchant's name beside its id, and
/// before/after as compact JSON. Text a person typed is defused so that a
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
                let names = merchant_names(conn, &events, locale)?;
                for event in &events {
                    writer.write_record(row(event, &names, locale).iter().map(|c| c.as_bytes()))?;
                }
                done += events.len() as u64;
                progress.set(done, total);
            }
            Ok(writer.into_inner().map_err(|e| e.into_error())?)
        })
}

fn row<'a>(
    event: &'a AuditEvent,
    names: &'a HashMap<i64, String>,
    locale: Locale,
) -> [Cow<'a, str>; 12] {
    let json = |value: Option<&serde_json::Value>| {
        value.map_or(Cow::Borrowed(""), |v| {
            defuse(&v.to_string()).into_owned().into()
        })
    };
    let merchant = event
        .merchant_id
        .and_then(|id| names.get(&id))
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

/// The names, in `locale`, of the merchants a batch of events mentions.
fn merchant_names(
    conn: &mut PgConnection,
    events: &[AuditEvent],
    locale: Locale,
) -> QueryResult<HashMap<i64, String>> {
    let mut ids: Vec<i64> = events.iter().filter_map(|e| e.merchant_id).collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, String, String)> = merchants::table
        .filter(merchants::id.eq_any(ids))
        .select((merchants::id, merchants::name_zh, merchants::name_en))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, zh, en)| {
            let name = match locale {
                Locale::ZhCn => zh,
                Locale::En => en,
            };
            (id, name)
        })
        .collect())
}
