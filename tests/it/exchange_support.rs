//! An alliance of two programs to exchange between, and members with points,
//! built through the real services (earning issues the points, so every wallet
//! has its lots).

use alliance::{
    crypto::Keys,
    domain::{
        actor::Actor,
        id::{MemberId, MerchantId},
        money::Money,
        points::{PointCount, ProgramCode},
    },
    earn::{self, EarnRequest, OrderId, Source},
    exchange::{self, Quote, QuoteRequest},
    ledger,
};
use diesel::PgConnection;

use crate::people_support::{funded_shop, member};

/// COFFEE (¥0.01 a point) and CINEMA (¥0.02 a point), both standard merchants
/// with their deposits paid, limits 100–100,000 points per exchange.
pub struct TwoPrograms {
    pub coffee: MerchantId,
    pub cinema: MerchantId,
}

pub fn two_programs(conn: &mut PgConnection) -> TwoPrograms {
    TwoPrograms {
        coffee: funded_shop(conn, "COFFEE", "0.01"),
        cinema: funded_shop(conn, "CINEMA", "0.02"),
    }
}

pub fn keys() -> Keys {
    Keys::derive("exchange test secret key, at least 32 characters")
}

/// A member (phone `phone`) with `points` COFFEE points earned at `coffee`
/// (1 point per CNY).
pub fn member_with_coffee(
    conn: &mut PgConnection,
    coffee: MerchantId,
    phone: &str,
    points: i64,
) -> MemberId {
    let id = member(conn, &keys(), phone, None);
    earn_points(conn, coffee, id, points);
    id
}

/// Earns `points` for the member at the merchant (1 point per CNY programs).
pub fn earn_points(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    member_id: MemberId,
    points: i64,
) {
    let request = EarnRequest {
        merchant_id,
        order_id: OrderId::parse(&format!("T-{member_id}-{}", rand::random::<u32>())).unwrap(),
        member_id,
        amount: Money::from_fen(points * 100),
        occurred_at: None,
        store_id: None,
        program: None,
        source: Source::Api,
        device_id: None,
        ip: None,
    };
    earn::earn(conn, &request, &Actor::system("test-till")).unwrap();
}

pub fn quote(
    conn: &mut PgConnection,
    member_id: MemberId,
    from: &str,
    to: &str,
    points: i64,
) -> Result<Quote, exchange::ExchangeError> {
    exchange::quote(
        conn,
        &QuoteRequest {
            member_id,
            from_program: ProgramCode::parse(from).expect("a program code"),
            to_program: ProgramCode::parse(to).expect("a program code"),
            from_points: PointCount::new(points).expect("a positive count of points"),
            merchant_id: None,
        },
        &Actor::system("test-member"),
    )
}

/// The member's available points of `program`.
pub fn points(conn: &mut PgConnection, member_id: MemberId, program: &str) -> i64 {
    let code = ProgramCode::parse(program).unwrap();
    let spec = alliance::chart::member_wallet(member_id, &code);
    match ledger::find_account(conn, &spec.code).unwrap() {
        Some(account) => ledger::balance(conn, account.id).unwrap().available(),
        None => 0,
    }
}
