//! `alliance seed-demo --scale large` at a tiny scale: the merchants joined a
//! year ago, their stores, rewards, members and a year of backdated history
//! come in through the import, a second build books nothing, and the books
//! verify.

use alliance::{
    crypto::Keys,
    dataset::{self, Scale},
    db::schema::{
        journal_entries, members, merchant_members, merchants, rewards, stores, transfers,
    },
    import::Progress,
    ledger,
};
use chrono::{DateTime, Days, Utc};
use diesel::{PgConnection, prelude::*};

use crate::harness::TestDb;

const TINY: Scale = Scale {
    merchants: 3,
    stores_per_merchant: 2,
    rewards_per_merchant: 3,
    members: 40,
    most_merchants_per_member: 2,
    most_lots: 3,
    most_orders: 4,
};

struct Silent;

impl Progress for Silent {
    fn start(&self, _: u64, _: u64) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}

fn build(conn: &mut PgConnection) {
    let keys = Keys::derive("dataset test secret key, longer than 32 characters");
    let silent = |_| -> Box<dyn Progress> { Box::new(Silent) };
    dataset::build(conn, &keys, &TINY, &silent).unwrap();
}

fn count_of(conn: &mut PgConnection, kind: &str) -> i64 {
    journal_entries::table
        .filter(journal_entries::kind.eq(kind))
        .count()
        .get_result(conn)
        .unwrap()
}

/// Rows in the tables the build writes to.
fn sizes(conn: &mut PgConnection) -> [i64; 6] {
    [
        merchants::table.count().get_result(conn).unwrap(),
        stores::table.count().get_result(conn).unwrap(),
        rewards::table.count().get_result(conn).unwrap(),
        members::table.count().get_result(conn).unwrap(),
        journal_entries::table.count().get_result(conn).unwrap(),
        transfers::table.count().get_result(conn).unwrap(),
    ]
}

#[test]
fn the_large_data_set_builds_through_the_import_once_and_verifies() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let before = sizes(conn);
    build(conn);
    let built = sizes(conn);
    assert_eq!(built[0] - before[0], 3, "merchants");
    assert_eq!(built[1] - before[1], 6, "stores");
    assert_eq!(built[2] - before[2], 9, "rewards");
    assert_eq!(built[3] - before[3], 40, "members");

    let memberships: i64 = merchant_members::table.count().get_result(conn).unwrap();
    assert_eq!(count_of(conn, "import_opening"), memberships);
    let awards = count_of(conn, "import_award");
    assert!(awards > 40, "{awards} awarded orders");

    // The merchants joined a year ago and the awards spread over the year since.
    let joined: Vec<DateTime<Utc>> = merchants::table
        .filter(merchants::code.like("LG%"))
        .select(merchants::created_at)
        .load(conn)
        .unwrap();
    let year_ago = Utc::now() - Days::new(364);
    assert!(joined.iter().all(|at| *at < year_ago), "{joined:?}");
    let (first, last): (Option<DateTime<Utc>>, Option<DateTime<Utc>>) = journal_entries::table
        .filter(journal_entries::kind.eq("import_award"))
        .select((
            diesel::dsl::min(journal_entries::effective_at),
            diesel::dsl::max(journal_entries::effective_at),
        ))
        .get_result(conn)
        .unwrap();
    let (first, last) = (first.unwrap(), last.unwrap());
    assert!(first >= joined.iter().copied().min().unwrap());
    assert!(
        last - first > chrono::Duration::days(300),
        "{first} – {last}"
    );

    build(conn);
    assert_eq!(sizes(conn), built, "a second build adds nothing");
    assert!(ledger::verify(conn).unwrap().is_clean());
}
