//! The members a merchant knows (`merchant_members`): those its keys enrolled
//! or found by mobile number, and those who earned there. A key may see only
//! these, so member ids are useless to a merchant that never met the member.

use diesel::prelude::*;

use crate::{
    audit::{self, Change},
    db::schema::merchant_members,
    domain::{
        actor::Actor,
        id::{MemberId, MerchantId},
    },
};

/// Notes that the merchant knows the member (audited when new). Idempotent;
/// true when the merchant did not know the member before.
pub fn link(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
    member_id: MemberId,
) -> QueryResult<bool> {
    let inserted = diesel::insert_into(merchant_members::table)
        .values((
            merchant_members::merchant_id.eq(merchant_id),
            merchant_members::member_id.eq(member_id),
        ))
        .on_conflict_do_nothing()
        .execute(conn)?;
    if inserted == 0 {
        return Ok(false);
    }
    audit::record(
        conn,
        actor,
        Change::new("merchant_member.link", "member", member_id)
            .after(serde_json::json!({ "merchant_id": merchant_id })),
    )?;
    Ok(true)
}

pub fn is_known(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    member_id: MemberId,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        merchant_members::table
            .filter(merchant_members::merchant_id.eq(merchant_id))
            .filter(merchant_members::member_id.eq(member_id)),
    ))
    .get_result(conn)
}
