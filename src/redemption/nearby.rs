//! Nearby (附近, LBS): the active stores within `RADIUS_M` of a place, nearest
//! first, and the rewards on offer that can be collected at one of them.
//!
//! PostgreSQL finds them through the `GiST` index `stores_earth_point` (migration
//! `nearby`): a store's position is an earth-centred `cube` point, the search
//! is the box of the radius around the place (`cube_enlarge … @>`; a chord is
//! never longer than its arc, so the box holds every store in reach), and the
//! exact great-circle distance (`earth_arc` of the chord) filters and orders
//! what the box found.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::{
    pg::Pg,
    prelude::*,
    query_builder::{BoxedSqlQuery, SqlQuery},
    sql_query,
    sql_types::{BigInt, Double, Text},
};

use crate::{
    domain::{
        geo::GeoPoint,
        id::{MerchantId, RewardId},
    },
    i18n::Locale,
    merchant::standing,
};

use super::browse::{self, Filter, Offered};

/// How far "nearby" reaches, metres.
pub const RADIUS_M: f64 = 3_000.0;

/// The active stores of active merchants within `$3` metres of ($1, $2), with
/// their distance `distance_m`; binds $1–$4 (latitude, longitude, radius,
/// merchant status). Only the box condition can use the index, so it is
/// written exactly as the index's expression.
const STORES_IN_REACH: &str = "
    SELECT s.id, s.merchant_id, s.name, s.address, m.name_zh, m.name_en,
           earth_arc(cube_distance(earth_point(s.latitude::float8, s.longitude::float8),
                                   earth_point($1, $2))) AS distance_m
      FROM stores s
      JOIN merchants m ON m.id = s.merchant_id
     WHERE s.active
       AND m.status = $4
       AND cube_enlarge(earth_point($1, $2), $3, 3)
           @> earth_point(s.latitude::float8, s.longitude::float8)
       AND earth_arc(cube_distance(earth_point(s.latitude::float8, s.longitude::float8),
                                   earth_point($1, $2))) <= $3";

const NEAREST_FIRST: &str = "ORDER BY distance_m, s.id";

/// A store in reach.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct NearStore {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = BigInt)]
    pub merchant_id: MerchantId,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Text)]
    pub address: String,
    #[diesel(sql_type = Text)]
    pub name_zh: String,
    #[diesel(sql_type = Text)]
    pub name_en: String,
    /// Great-circle distance from the place, metres.
    #[diesel(sql_type = Double)]
    pub distance_m: f64,
}

impl NearStore {
    pub fn merchant_name(&self, locale: Locale) -> &str {
        match locale {
            Locale::ZhCn => &self.name_zh,
            Locale::En => &self.name_en,
        }
    }
}

/// A reward on offer and how far its nearest store (where it is collected) is.
#[derive(Debug, Clone, PartialEq)]
pub struct NearReward {
    pub offered: Offered,
    pub distance_m: f64,
}

/// `sql` (built on `STORES_IN_REACH`) with its binds for `here`.
fn in_reach(sql: String, here: GeoPoint) -> BoxedSqlQuery<'static, Pg, SqlQuery> {
    sql_query(sql)
        .into_boxed()
        .bind::<Double, _>(here.latitude())
        .bind::<Double, _>(here.longitude())
        .bind::<Double, _>(RADIUS_M)
        .bind::<Text, _>(standing::Status::Active)
}

/// The stores within `RADIUS_M` of `here`, nearest first.
pub fn stores(conn: &mut PgConnection, here: GeoPoint) -> QueryResult<Vec<NearStore>> {
    in_reach(format!("{STORES_IN_REACH} {NEAREST_FIRST}"), here).load(conn)
}

#[derive(QueryableByName)]
struct PlanLine {
    #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
    line: String,
}

/// PostgreSQL's plan for `stores` at `here` (EXPLAIN), one line a node: shows
/// whether the index serves it, for the tests and for an operator with a real
/// number of stores.
pub fn stores_plan(conn: &mut PgConnection, here: GeoPoint) -> QueryResult<String> {
    let sql = format!("EXPLAIN {STORES_IN_REACH} {NEAREST_FIRST}");
    let lines: Vec<PlanLine> = in_reach(sql, here).load(conn)?;
    Ok(lines
        .into_iter()
        .map(|l| l.line)
        .collect::<Vec<_>>()
        .join("\n"))
}

#[derive(QueryableByName)]
struct RewardDistance {
    #[diesel(sql_type = BigInt)]
    reward_id: RewardId,
    #[diesel(sql_type = Double)]
    distance_m: f64,
}

/// Every reward (whatever its status) collectable at a store within reach, with
/// the distance to the nearest such store. A reward without `reward_stores`
/// rows is collected at every store of its merchant.
pub fn reward_distances(
    conn: &mut PgConnection,
    here: GeoPoint,
) -> QueryResult<HashMap<RewardId, f64>> {
    let sql = format!(
        "WITH near AS ({STORES_IN_REACH})
         SELECT r.id AS reward_id, min(near.distance_m) AS distance_m
           FROM rewards r
           JOIN near ON near.merchant_id = r.merchant_id
          WHERE NOT EXISTS (SELECT 1 FROM reward_stores rs WHERE rs.reward_id = r.id)
             OR EXISTS (SELECT 1 FROM reward_stores rs
                         WHERE rs.reward_id = r.id AND rs.store_id = near.id)
          GROUP BY r.id"
    );
    let rows: Vec<RewardDistance> = in_reach(sql, here).load(conn)?;
    Ok(rows
        .into_iter()
        .map(|row| (row.reward_id, row.distance_m))
        .collect())
}

/// The rewards on offer at `now` collectable within reach of `here`, nearest
/// first (then the newest).
pub fn rewards(
    conn: &mut PgConnection,
    here: GeoPoint,
    now: DateTime<Utc>,
) -> QueryResult<Vec<NearReward>> {
    let distances = reward_distances(conn, here)?;
    if distances.is_empty() {
        return Ok(Vec::new());
    }
    let mut near: Vec<NearReward> = browse::on_offer(conn, &Filter::default(), now)?
        .into_iter()
        .filter_map(|offered| {
            let distance_m = *distances.get(&offered.listing.reward.id)?;
            Some(NearReward {
                offered,
                distance_m,
            })
        })
        .collect();
    // Stable: equally near rewards keep the catalog's newest-first order.
    near.sort_by(|a, b| a.distance_m.total_cmp(&b.distance_m));
    Ok(near)
}
