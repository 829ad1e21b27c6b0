//! Quotes (报价): the terms of one exchange, fixed when quoted — values, fee and
//! its parts, points out and in — until `quote_ttl_seconds` pass. Executing a
//! quote uses exactly these terms, whatever the rates did since; it can be
//! executed once (`exchanges.quote_id` is unique).

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{
    audit::{self, Change},
    chart, crypto,
    db::schema::{exchange_quotes, members},
    domain::{
        actor::Actor,
        id::{MemberId, MerchantId},
        money::Money,
        points::{PointCount, ProgramCode},
    },
    earn::tier,
    ledger,
};

use super::{
    ExchangeError,
    eligibility::{self, Candidate},
    policy::{self, ExchangePolicy},
    pricing::{self, Price, PriceInputs},
    rates::{self, Source},
};

/// A member asks what `from_points` of one program would buy of another.
#[derive(Debug, Clone)]
pub struct QuoteRequest {
    pub member_id: MemberId,
    pub from_program: ProgramCode,
    pub to_program: ProgramCode,
    pub from_points: PointCount,
    /// The partner whose API key asks; it must run one of the two programs.
    pub merchant_id: Option<MerchantId>,
}

/// Where the quoted values came from and what the fee is made of: shown to the
/// member, kept with the quote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Terms {
    pub inputs: PriceInputs,
    pub price: Price,
    /// The member's tier when quoted.
    pub member_tier: String,
    pub from_source: serde_json::Value,
    pub to_source: serde_json::Value,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = exchange_quotes, check_for_backend(diesel::pg::Pg))]
pub struct Quote {
    pub id: String,
    pub member_id: MemberId,
    pub from_program: String,
    pub to_program: String,
    pub from_points: i64,
    pub to_points: i64,
    pub sell_value: Decimal,
    pub buy_value: Decimal,
    pub value_out_fen: i64,
    pub fee_fen: i64,
    pub credit_fen: i64,
    pub terms: serde_json::Value,
    pub merchant_id: Option<MerchantId>,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

impl Quote {
    pub fn terms(&self) -> Result<Terms, serde_json::Error> {
        serde_json::from_value(self.terms.clone())
    }

    /// B points per A point.
    pub fn rate(&self) -> Decimal {
        (Decimal::from(self.to_points) / Decimal::from(self.from_points))
            .round_dp_with_strategy(6, rust_decimal::RoundingStrategy::ToZero)
    }

    pub fn fee(&self) -> Money {
        Money::from_fen(self.fee_fen)
    }

    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.expires_at
    }
}

/// An exchange priced at the rates in force, checked but not stored: what a
/// live quote shows while the member is still choosing.
#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    pub terms: Terms,
    pub expires_in_seconds: i32,
}

/// Prices and checks the exchange without storing a quote.
pub fn preview(conn: &mut PgConnection, request: &QuoteRequest) -> Result<Preview, ExchangeError> {
    conn.transaction(|conn| {
        let policy = policy::current(conn)?;
        Ok(Preview {
            terms: priced(conn, request, &policy, crate::clock::now())?,
            expires_in_seconds: policy.quote_ttl_seconds,
        })
    })
}

/// Prices an exchange at the rates in force and stores the quote.
#[tracing::instrument(skip_all, fields(member_id = ?request.member_id, merchant_id = ?request.merchant_id))]
pub fn quote(
    conn: &mut PgConnection,
    request: &QuoteRequest,
    actor: &Actor,
) -> Result<Quote, ExchangeError> {
    conn.transaction(|conn| {
        let policy = policy::current(conn)?;
        let now = crate::clock::now();
        let terms = priced(conn, request, &policy, now)?;
        let Terms { inputs, price, .. } = terms;
        let quote: Quote = diesel::insert_into(exchange_quotes::table)
            .values((
                exchange_quotes::id.eq(format!("q_{}", crypto::random_hex_id())),
                exchange_quotes::member_id.eq(request.member_id),
                exchange_quotes::from_program.eq(request.from_program.as_str()),
                exchange_quotes::to_program.eq(request.to_program.as_str()),
                exchange_quotes::from_points.eq(request.from_points.get()),
                exchange_quotes::to_points.eq(price.to_points),
                exchange_quotes::sell_value.eq(inputs.sell.as_decimal()),
                exchange_quotes::buy_value.eq(inputs.buy.as_decimal()),
                exchange_quotes::value_out_fen.eq(price.value_out.fen()),
                exchange_quotes::fee_fen.eq(price.fee.fen()),
                exchange_quotes::credit_fen.eq(price.credit.fen()),
                exchange_quotes::terms.eq(serde_json::to_value(&terms).expect("terms serialize")),
                exchange_quotes::merchant_id.eq(request.merchant_id),
                exchange_quotes::expires_at
                    .eq(now + Duration::seconds(i64::from(policy.quote_ttl_seconds))),
                exchange_quotes::created_at.eq(now),
            ))
            .returning(Quote::as_returning())
            .get_result(conn)?;
        audit::record(
            conn,
            actor,
            Change::new("exchange.quote", "exchange_quote", &quote.id).after(&quote),
        )?;
        Ok(quote)
    })
}

/// The price and terms of the request at the rates in force, once every check
/// passes.
fn priced(
    conn: &mut PgConnection,
    request: &QuoteRequest,
    policy: &ExchangePolicy,
    now: DateTime<Utc>,
) -> Result<Terms, ExchangeError> {
    let member_exists: Option<MemberId> = members::table
        .find(request.member_id)
        .select(members::id)
        .first(conn)
        .optional()?;
    member_exists.ok_or(ExchangeError::UnknownMember)?;
    let sides = eligibility::sides(
        conn,
        request.from_program.as_str(),
        request.to_program.as_str(),
    )?;
    if let Some(merchant) = request.merchant_id
        && sides.from.merchant_id != merchant
        && sides.to.merchant_id != merchant
    {
        return Err(ExchangeError::NotPartnerProgram);
    }
    let from_rate = rates::current(conn, &sides.from)?;
    let to_rate = rates::current(conn, &sides.to)?;
    let member_tier = tier::of_member(conn, request.member_id)?;
    let inputs = PriceInputs {
        from_points: request.from_points.get(),
        sell: from_rate.sell,
        buy: to_rate.buy,
        spread_bp: sides.spread_bp(),
        discount_bp: member_tier.exchange_fee_discount_bp,
    };
    let price = pricing::price(&inputs).ok_or(ExchangeError::Overflow)?;
    eligibility::check(
        conn,
        &Candidate {
            sides: &sides,
            member_id: request.member_id,
            from_points: request.from_points.get(),
            to_points: price.to_points,
            value_out: price.value_out,
        },
        policy,
        now,
    )?;
    let available = available(conn, request.member_id, request.from_program.as_str())?;
    if available < request.from_points.get() {
        return Err(ExchangeError::InsufficientPoints { available });
    }
    Ok(Terms {
        inputs,
        price,
        member_tier: member_tier.code,
        from_source: source_json(&from_rate.source),
        to_source: source_json(&to_rate.source),
    })
}

fn source_json(source: &Source) -> serde_json::Value {
    serde_json::to_value(source).expect("a source serializes")
}

/// The member's points of `program` they may spend now (posted less held).
pub fn available(
    conn: &mut PgConnection,
    member_id: MemberId,
    program: &str,
) -> Result<i64, ExchangeError> {
    let code = ProgramCode::parse(program).map_err(|_| ExchangeError::UnknownProgram)?;
    let wallet = chart::member_wallet(member_id, &code);
    Ok(match ledger::find_account(conn, &wallet.code)? {
        Some(account) => ledger::balance(conn, account.id)?.available(),
        None => 0,
    })
}

/// One quote, as its member (or the partner that asked) sees it.
pub fn find(conn: &mut PgConnection, id: &str) -> QueryResult<Option<Quote>> {
    exchange_quotes::table
        .find(id)
        .select(Quote::as_select())
        .first(conn)
        .optional()
}

/// One quote, locked until the transaction ends: executions of it queue.
pub(super) fn find_for_update(conn: &mut PgConnection, id: &str) -> QueryResult<Option<Quote>> {
    exchange_quotes::table
        .find(id)
        .select(Quote::as_select())
        .for_update()
        .first(conn)
        .optional()
}
