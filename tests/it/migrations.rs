//! Every migration's down.sql really reverses its up.sql.

use alliance::db::MIGRATIONS;
use diesel::{RunQueryDsl, sql_query, sql_types::BigInt};
use diesel_migrations::MigrationHarness;

use crate::harness::TestDb;

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn user_tables(conn: &mut diesel::PgConnection) -> i64 {
    sql_query("SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public' AND tablename <> '__diesel_schema_migrations'")
        .get_result::<Count>(conn)
        .unwrap()
        .n
}

#[test]
fn migrations_run_up_down_and_up_again() {
    let db = TestDb::empty();
    let conn = &mut db.conn();
    conn.run_pending_migrations(MIGRATIONS).unwrap();
    let tables = user_tables(conn);
    assert!(tables > 0);
    conn.revert_all_migrations(MIGRATIONS).unwrap();
    assert_eq!(user_tables(conn), 0, "down.sql left tables behind");
    conn.run_pending_migrations(MIGRATIONS).unwrap();
    assert_eq!(user_tables(conn), tables);
}
