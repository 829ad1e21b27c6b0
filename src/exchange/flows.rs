//! What exchange did over a period, for the platform: the flow matrix (program
//! × program), and the house's fee revenue by day.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::{
    dsl::{count_star, sum},
    prelude::*,
    sql_types::{BigInt, Date, Timestamptz},
};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::db::schema::exchanges;

use super::rates::sum_i64;

/// Exchanges from one program into another over the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlowCell {
    pub from_program: String,
    pub to_program: String,
    pub count: i64,
    pub from_points: i64,
    pub to_points: i64,
    pub value_out_fen: i64,
    pub house_fen: i64,
}

type CellRow = (
    String,
    String,
    i64,
    Option<Decimal>,
    Option<Decimal>,
    Option<Decimal>,
    Option<Decimal>,
);

/// Every pair of programs with exchanges in `[from, until)`.
pub fn matrix(
    conn: &mut PgConnection,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> QueryResult<Vec<FlowCell>> {
    let rows: Vec<CellRow> = exchanges::table
        .filter(exchanges::created_at.ge(from))
        .filter(exchanges::created_at.lt(until))
        .group_by((exchanges::from_program, exchanges::to_program))
        .order((exchanges::from_program, exchanges::to_program))
        .select((
            exchanges::from_program,
            exchanges::to_program,
            count_star(),
            sum(exchanges::from_points),
            sum(exchanges::to_points),
            sum(exchanges::value_out_fen),
            sum(exchanges::house_fen),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(from_program, to_program, count, from_points, to_points, value_out, house)| {
                FlowCell {
                    from_program,
                    to_program,
                    count,
                    from_points: sum_i64(from_points),
                    to_points: sum_i64(to_points),
                    value_out_fen: sum_i64(value_out),
                    house_fen: sum_i64(house),
                }
            },
        )
        .collect())
}

/// The house's take from exchange on one day (Asia/Shanghai).
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName, Serialize)]
pub struct DailyRevenue {
    #[diesel(sql_type = Date)]
    pub day: NaiveDate,
    #[diesel(sql_type = BigInt)]
    pub exchanges: i64,
    #[diesel(sql_type = BigInt)]
    pub value_out_fen: i64,
    #[diesel(sql_type = BigInt)]
    pub house_fen: i64,
}

/// Fee revenue per day in `[from, until)`, oldest first; days without exchanges
/// are left out.
pub fn revenue_by_day(
    conn: &mut PgConnection,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> QueryResult<Vec<DailyRevenue>> {
    diesel::sql_query(
        "SELECT (created_at AT TIME ZONE 'Asia/Shanghai')::date AS day, \
                count(*) AS exchanges, \
                sum(value_out_fen)::int8 AS value_out_fen, \
                sum(house_fen)::int8 AS house_fen \
         FROM exchanges WHERE created_at >= $1 AND created_at < $2 \
         GROUP BY 1 ORDER BY 1",
    )
    .bind::<Timestamptz, _>(from)
    .bind::<Timestamptz, _>(until)
    .load(conn)
}
