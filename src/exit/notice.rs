//! Telling members that a programme they hold points of is leaving: what their
//! points page shows ([`for_member`]) and the one email each member with an
//! address gets once the exit has started ([`email_members`]). Both say how
//! many points, what they are worth, and from when what is left is converted
//! into ALP at the settlement value.

use chrono::{DateTime, Utc};
use diesel::{
    prelude::*,
    sql_types::{BigInt, Numeric, Text, Timestamptz},
};
use lettre::message::Mailbox;
use rust_decimal::Decimal;

use crate::{
    db::schema::merchant_exit_notices,
    domain::{
        id::{MemberId, MerchantId},
        money::{Money, Rounding},
        rate::Rate,
    },
    email::{ExitNoticeEmail, Mailer},
    i18n::Locale,
    people::member,
};

/// Members emailed per pass; more wait for the next pass.
const EMAIL_BATCH: i64 = 200;

/// A programme leaving the alliance, as one member holding its points sees it.
#[derive(Debug, Clone, QueryableByName)]
pub struct MemberNotice {
    #[diesel(sql_type = BigInt)]
    pub merchant_id: MerchantId,
    #[diesel(sql_type = BigInt)]
    pub member_id: MemberId,
    #[diesel(sql_type = Text)]
    pub program_code: String,
    #[diesel(sql_type = Text)]
    pub program_zh: String,
    #[diesel(sql_type = Text)]
    pub program_en: String,
    #[diesel(sql_type = Numeric)]
    pub settlement_value: Decimal,
    /// Points in the member's wallet, held ones included.
    #[diesel(sql_type = BigInt)]
    pub points: i64,
    /// From then on, what is left is converted.
    #[diesel(sql_type = Timestamptz)]
    pub notice_ends_at: DateTime<Utc>,
}

impl MemberNotice {
    pub fn program(&self, locale: Locale) -> &str {
        match locale {
            Locale::ZhCn => &self.program_zh,
            Locale::En => &self.program_en,
        }
    }

    /// The points at the settlement value, as the conversion values them.
    pub fn value(&self) -> Money {
        Rate::new(self.settlement_value)
            .and_then(|rate| rate.value_of(self.points, Rounding::Up))
            .unwrap_or(Money::ZERO)
    }
}

/// Exits not yet converted, with each member's points in their programme.
const HOLDERS: &str = "SELECT e.merchant_id, b.owner_id AS member_id, p.code AS program_code,
        p.name_zh AS program_zh, p.name_en AS program_en, p.settlement_value,
        sum(b.credits_posted - b.debits_posted)::int8 AS points, e.notice_ends_at
   FROM merchant_exits e
   JOIN programs p ON p.code = e.program_code
   JOIN ledger_balance_shards b ON b.asset = e.program_code AND b.owner_kind = 'member'
  WHERE e.converted_at IS NULL";
const HOLDERS_GROUP: &str = " GROUP BY e.merchant_id, b.owner_id, p.code, p.name_zh, p.name_en,
        p.settlement_value, e.notice_ends_at
 HAVING sum(b.credits_posted - b.debits_posted) > 0";

/// The exits that concern the member: programmes leaving in which they hold
/// points, soonest conversion first.
pub fn for_member(conn: &mut PgConnection, member_id: MemberId) -> QueryResult<Vec<MemberNotice>> {
    diesel::sql_query(format!(
        "{HOLDERS} AND b.owner_id = $1 {HOLDERS_GROUP} ORDER BY e.notice_ends_at, p.code"
    ))
    .bind::<BigInt, _>(member_id)
    .load(conn)
}

/// Emails the members holding points of a leaving programme who have not been
/// told yet; returns how many emails went out. Each is recorded before it is
/// sent: a member is told at most once, at worst missed once. Its database
/// work blocks between the awaits: run it on a blocking thread, as the job does.
#[tracing::instrument(skip_all)]
pub async fn email_members(
    conn: &mut PgConnection,
    mailer: &Mailer,
    public_url: &str,
    at: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let due: Vec<MemberNotice> = diesel::sql_query(format!(
        "{HOLDERS} AND NOT EXISTS (SELECT 1 FROM merchant_exit_notices n
                                    WHERE n.merchant_id = e.merchant_id AND n.member_id = b.owner_id)
         {HOLDERS_GROUP} ORDER BY e.notice_ends_at, b.owner_id LIMIT $1"
    ))
    .bind::<BigInt, _>(EMAIL_BATCH)
    .load(conn)?;
    let mut sent = 0;
    for notice in due {
        diesel::insert_into(merchant_exit_notices::table)
            .values((
                merchant_exit_notices::merchant_id.eq(notice.merchant_id),
                merchant_exit_notices::member_id.eq(notice.member_id),
                merchant_exit_notices::points.eq(notice.points),
                merchant_exit_notices::notified_at.eq(at),
            ))
            .on_conflict_do_nothing()
            .execute(conn)?;
        let Some(member) = member::find(conn, notice.member_id)? else {
            continue;
        };
        let Some(address) = member.mail_address() else {
            continue;
        };
        let locale = member.locale();
        let email = ExitNoticeEmail {
            display_name: member.display_name.clone(),
            program: notice.program(locale).to_owned(),
            points: notice.points,
            value: notice.value(),
            notice_ends_at: notice.notice_ends_at,
            points_url: format!("{public_url}/consumer/points"),
        };
        let to = Mailbox::new(Some(member.display_name.clone()), address);
        if mailer.send(&to, &email, locale).await.is_ok() {
            sent += 1;
        }
    }
    Ok(sent)
}
