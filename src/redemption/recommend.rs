//! Recommendations (为你推荐): the rewards on offer ranked for one member.
//!
//! Three signals, each worth at most 1:
//! - **afford** — 1 when the member's points alone pay for it now (the mix
//!   `propose_from` finds needs no cash), else 0. Badge "积分够用".
//! - **near** — when a place is given and a store collecting it is `d` ≤ 3 km
//!   away: `1 − d / (2 · 3 km)`, so 1 at the door and ½ at the edge; else 0.
//!   Badge "附近".
//! - **similar** — item-to-item co-occurrence over redemptions that were not
//!   cancelled: for each reward `i` the member redeemed and a reward `j` they
//!   did not, `co(i, j)` is the number of other members who redeemed both and
//!   `n(·)` the members who redeemed each; the cosine `co / √(n(i) · n(j))`,
//!   the largest over the member's `i`. Badge "相似会员喜欢".
//!
//! `score = afford + near + similar`, highest first; ties go to the cheaper
//! reward, then the newer. Rewards with no signal at all are left out, unless
//! none has any: then the whole catalog is offered in that order rather than
//! nothing.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::{
    prelude::*,
    sql_query,
    sql_types::{BigInt, Double},
};

use crate::domain::{
    geo::GeoPoint,
    id::{MemberId, RewardId},
};

use super::{
    Holdings, RedeemError,
    browse::{self, Filter, Offered},
    nearby::{self, RADIUS_M},
    propose_from,
};

/// How many recommendations a member is shown.
pub const LIMIT: usize = 12;

/// Why a reward is recommended, as the page's badges say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Nearby,
    EnoughPoints,
    SimilarMembers,
}

impl Reason {
    /// The key of the badge's text in the locales.
    pub fn label_key(self) -> &'static str {
        match self {
            Self::Nearby => "consumer_for_you.reason.nearby",
            Self::EnoughPoints => "consumer_for_you.reason.enough_points",
            Self::SimilarMembers => "consumer_for_you.reason.similar_members",
        }
    }
}

/// What is known about one reward for the member.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Signals {
    /// Their points alone pay for it now.
    pub affordable: bool,
    /// Metres to the nearest store collecting it, when within reach of the
    /// member's place.
    pub distance_m: Option<f64>,
    /// The co-occurrence cosine, 0 when no similar member redeemed it.
    pub similarity: f64,
}

/// A reward's score and the reasons behind it, in badge order.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    pub score: f64,
    pub reasons: Vec<Reason>,
}

/// The formula of the module doc.
pub fn score(signals: Signals) -> Scored {
    let near = signals
        .distance_m
        .filter(|d| *d <= RADIUS_M)
        .map(|d| 1.0 - d.max(0.0) / (2.0 * RADIUS_M));
    let afford = if signals.affordable { 1.0 } else { 0.0 };
    let similar = signals.similarity.clamp(0.0, 1.0);
    let mut reasons = Vec::new();
    if near.is_some() {
        reasons.push(Reason::Nearby);
    }
    if signals.affordable {
        reasons.push(Reason::EnoughPoints);
    }
    if similar > 0.0 {
        reasons.push(Reason::SimilarMembers);
    }
    Scored {
        score: afford + near.unwrap_or(0.0) + similar,
        reasons,
    }
}

#[derive(QueryableByName)]
struct Similarity {
    #[diesel(sql_type = BigInt)]
    reward_id: RewardId,
    #[diesel(sql_type = Double)]
    similarity: f64,
}

/// The co-occurrence cosine of the module doc for every reward the member has
/// not redeemed but a member who shares one of theirs has.
pub fn similarities(
    conn: &mut PgConnection,
    member_id: MemberId,
) -> QueryResult<HashMap<RewardId, f64>> {
    let rows: Vec<Similarity> = sql_query(
        "WITH redeemed AS (
             SELECT DISTINCT member_id, reward_id FROM redemptions WHERE status <> 'cancelled'
         ),
         mine AS (SELECT reward_id FROM redeemed WHERE member_id = $1),
         members_of AS (SELECT reward_id, count(*) AS n FROM redeemed GROUP BY reward_id),
         co AS (
             SELECT i.reward_id AS i, j.reward_id AS j, count(*) AS co
               FROM redeemed i
               JOIN redeemed j ON j.member_id = i.member_id
              WHERE i.member_id <> $1
                AND i.reward_id IN (SELECT reward_id FROM mine)
                AND j.reward_id NOT IN (SELECT reward_id FROM mine)
              GROUP BY i.reward_id, j.reward_id
         )
         SELECT co.j AS reward_id, max(co.co / sqrt(ni.n * nj.n))::float8 AS similarity
           FROM co
           JOIN members_of ni ON ni.reward_id = co.i
           JOIN members_of nj ON nj.reward_id = co.j
          GROUP BY co.j",
    )
    .bind::<BigInt, _>(member_id)
    .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|row| (row.reward_id, row.similarity))
        .collect())
}

/// A recommended reward: its listing, why, and how near (when it is).
#[derive(Debug, Clone, PartialEq)]
pub struct Recommendation {
    pub offered: Offered,
    pub scored: Scored,
    pub distance_m: Option<f64>,
}

/// The member's recommendations at `now`, best first, at most `LIMIT`; `here`
/// is where they are, if they said.
pub fn for_member(
    conn: &mut PgConnection,
    member_id: MemberId,
    here: Option<GeoPoint>,
    now: DateTime<Utc>,
) -> Result<Vec<Recommendation>, RedeemError> {
    let distances = match here {
        Some(here) => nearby::reward_distances(conn, here)?,
        None => HashMap::new(),
    };
    let similar = similarities(conn, member_id)?;
    let holdings = Holdings::of(conn, member_id)?;
    let mut ranked = Vec::new();
    for offered in browse::on_offer(conn, &Filter::default(), now)? {
        let id = offered.listing.reward.id;
        let affordable =
            propose_from(conn, &holdings, id)?.is_some_and(|proposal| proposal.cash.fen() == 0);
        let distance_m = distances.get(&id).copied();
        let scored = score(Signals {
            affordable,
            distance_m,
            similarity: similar.get(&id).copied().unwrap_or(0.0),
        });
        ranked.push(Recommendation {
            offered,
            scored,
            distance_m,
        });
    }
    if ranked.iter().any(|r| !r.scored.reasons.is_empty()) {
        ranked.retain(|r| !r.scored.reasons.is_empty());
    }
    // `on_offer` lists the newest first and the sort is stable.
    ranked.sort_by(|a, b| {
        b.scored.score.total_cmp(&a.scored.score).then(
            a.offered
                .listing
                .reward
                .value_fen
                .cmp(&b.offered.listing.reward.value_fen),
        )
    });
    ranked.truncate(LIMIT);
    Ok(ranked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_signal_scores_nothing_and_gives_no_reason() {
        assert_eq!(
            score(Signals::default()),
            Scored {
                score: 0.0,
                reasons: vec![]
            }
        );
    }

    #[test]
    fn each_signal_adds_its_weight_and_its_reason() {
        let all = score(Signals {
            affordable: true,
            distance_m: Some(0.0),
            similarity: 0.5,
        });
        assert_eq!(
            all.reasons,
            [Reason::Nearby, Reason::EnoughPoints, Reason::SimilarMembers]
        );
        assert!((all.score - 2.5).abs() < 1e-9);
        let afford = score(Signals {
            affordable: true,
            ..Signals::default()
        });
        assert_eq!(
            (afford.score, afford.reasons),
            (1.0, vec![Reason::EnoughPoints])
        );
    }

    #[test]
    fn nearer_is_better_and_beyond_reach_is_not_nearby() {
        let at = |d: f64| {
            score(Signals {
                distance_m: Some(d),
                ..Signals::default()
            })
        };
        assert!((at(0.0).score - 1.0).abs() < 1e-9);
        assert!((at(RADIUS_M).score - 0.5).abs() < 1e-9);
        assert!(at(500.0).score > at(2_500.0).score);
        assert_eq!(at(RADIUS_M + 1.0), score(Signals::default()));
    }

    #[test]
    fn similarity_counts_up_to_one() {
        let liked = score(Signals {
            similarity: 3.0,
            ..Signals::default()
        });
        assert_eq!(
            (liked.score, liked.reasons),
            (1.0, vec![Reason::SimilarMembers])
        );
    }
}
