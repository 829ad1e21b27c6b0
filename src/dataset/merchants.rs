//! The data set's merchants: each with its points programme, a confirmed
//! deposit and its stores, made by the services onboarding and the portals use,
//! and joined a year before the day of the first build so the history fits
//! after the join (the import never books before it).

use anyhow::Context as _;
use chrono::{DateTime, Days, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;

use crate::{
    db::schema::merchants,
    deposit::{self, NewTopup, TopupStatus},
    domain::{
        actor::Actor,
        id::{MerchantId, StoreId},
        money::Money,
        points::ProgramCode,
        rate::Rate,
        shanghai,
    },
    merchant::{
        self, NewMerchant,
        store::{self, StoreDetails},
    },
    program::{self, NewProgram},
};

/// Districts and trades: merchant `i` is district `i / TRADES.len()`'s trade
/// `i % TRADES.len()`, so 50 merchants are ten districts' five trades.
const DISTRICTS: [(&str, &str); 10] = [
    ("黄浦", "Huangpu"),
    ("静安", "Jing'an"),
    ("徐汇", "Xuhui"),
    ("长宁", "Changning"),
    ("虹口", "Hongkou"),
    ("杨浦", "Yangpu"),
    ("浦东", "Pudong"),
    ("闵行", "Minhang"),
    ("宝山", "Baoshan"),
    ("嘉定", "Jiading"),
];

/// A trade: names, merchant category, reward category.
pub(super) struct Trade {
    pub zh: &'static str,
    pub en: &'static str,
    category: &'static str,
    pub reward_category: &'static str,
}

pub(super) const TRADES: [Trade; 5] = [
    Trade {
        zh: "咖啡",
        en: "Coffee",
        category: "coffee",
        reward_category: "drinks",
    },
    Trade {
        zh: "超市",
        en: "Mart",
        category: "supermarket",
        reward_category: "groceries",
    },
    Trade {
        zh: "影城",
        en: "Cinemas",
        category: "cinema",
        reward_category: "entertainment",
    },
    Trade {
        zh: "书店",
        en: "Books",
        category: "books",
        reward_category: "books",
    },
    Trade {
        zh: "加油站",
        en: "Fuel",
        category: "fuel",
        reward_category: "fuel",
    },
];

/// How long before the first build the merchants joined: the history spans
/// the year since.
const HISTORY_DAYS: u64 = 365;
/// CNY per point for every programme, so one point is earned per CNY spent.
const SETTLEMENT_VALUE: &str = "0.01";
const EXPIRY_MONTHS: i16 = 24;
/// Well above any tier's minimum and the coverage the history's points need.
const DEPOSIT_FEN: i64 = 50_000_000;
const DEPOSIT_REFERENCE: &str = "DATASET-OPENING-DEPOSIT";

/// A merchant of the data set, ready for its history.
pub(super) struct Built {
    pub id: MerchantId,
    pub code: String,
    pub index: usize,
    /// When it joined: the history starts here.
    pub joined_at: DateTime<Utc>,
    pub stores: Vec<StoreId>,
}

/// Merchant `index`'s code: `LG01`, `LG02`, …
fn code(index: usize) -> String {
    format!("LG{:02}", index + 1)
}

pub(super) fn trade(index: usize) -> &'static Trade {
    &TRADES[index % TRADES.len()]
}

fn district(index: usize) -> (&'static str, &'static str) {
    DISTRICTS[(index / TRADES.len()) % DISTRICTS.len()]
}

/// Every merchant of `scale`, made once; a later run finds them.
pub(super) fn ensure(
    conn: &mut PgConnection,
    actor: &Actor,
    scale: &super::Scale,
) -> anyhow::Result<Vec<Built>> {
    let today = crate::clock::now()
        .with_timezone(&shanghai::offset())
        .date_naive();
    let joined = shanghai::midnight(today - Days::new(HISTORY_DAYS));
    (0..scale.merchants)
        .map(|index| {
            let built = ensure_one(conn, actor, index, joined, scale.stores_per_merchant);
            built.with_context(|| format!("data set merchant {}", code(index)))
        })
        .collect()
}

fn ensure_one(
    conn: &mut PgConnection,
    actor: &Actor,
    index: usize,
    joined: DateTime<Utc>,
    stores: usize,
) -> anyhow::Result<Built> {
    let code = code(index);
    let (district_zh, district_en) = district(index);
    let trade = trade(index);
    let name_zh = format!("{district_zh}{}{}", trade.zh, index / DISTRICTS.len() + 1);
    let name_en = format!("{district_en} {} {}", trade.en, index / DISTRICTS.len() + 1);
    let merchant = conn.transaction(|conn| {
        let merchant = merchant::ensure(
            conn,
            &NewMerchant {
                code: &code,
                name_zh: &name_zh,
                name_en: &name_en,
                category: trade.category,
                tier: if index < 5 { "strategic" } else { "standard" },
            },
        )?;
        // A merchant joins when its row is made and no service backdates that;
        // the data set's merchants joined a year ago, so that the import's
        // floor (the join) lets their year of history stand. Only a merchant
        // made by this run is moved: a later run finds it with its year, and
        // the history is anchored on that day, so the files are the same bytes.
        diesel::update(merchants::table.find(merchant.id))
            .filter(merchants::created_at.gt(joined))
            .set(merchants::created_at.eq(joined))
            .execute(conn)?;
        merchant::find(conn, merchant.id)?.ok_or(diesel::result::Error::NotFound)
    })?;
    ensure_program(conn, actor, merchant.id, &code, &name_zh, &name_en)?;
    ensure_deposit(conn, actor, merchant.id)?;
    let stores = ensure_stores(conn, actor, merchant.id, &name_zh, index, stores)?;
    Ok(Built {
        id: merchant.id,
        code,
        index,
        joined_at: merchant.created_at,
        stores,
    })
}

fn ensure_program(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
    code: &str,
    name_zh: &str,
    name_en: &str,
) -> anyhow::Result<()> {
    if program::of_merchant(conn, merchant_id)?.is_some() {
        return Ok(());
    }
    program::create(
        conn,
        actor,
        &NewProgram {
            merchant_id,
            code: &ProgramCode::parse(code)?,
            name_zh: &format!("{name_zh}积分"),
            name_en: &format!("{name_en} Points"),
            settlement_value: Rate::parse(SETTLEMENT_VALUE)?,
            earn_points_per_cny: Decimal::ONE,
            expiry_months: EXPIRY_MONTHS,
            exchange_in: true,
            exchange_out: true,
            min_exchange_points: 100,
            max_exchange_points: 100_000,
        },
    )?;
    Ok(())
}

/// The deposit paid in, as a merchant's top-up notice the platform confirms.
fn ensure_deposit(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
) -> anyhow::Result<()> {
    let filed = deposit::list_topups(conn, merchant_id)?
        .into_iter()
        .find(|t| t.bank_reference == DEPOSIT_REFERENCE);
    let topup = match filed {
        Some(topup) if topup.status == TopupStatus::Confirmed => return Ok(()),
        Some(topup) => topup,
        None => deposit::submit_topup(
            conn,
            actor,
            merchant_id,
            &NewTopup {
                amount: Money::from_fen(DEPOSIT_FEN),
                bank_reference: DEPOSIT_REFERENCE.to_owned(),
            },
        )?,
    };
    deposit::confirm_topup(conn, actor, topup.id)?;
    Ok(())
}

/// Opens the stores the merchant lacks (by name); returns all of them.
fn ensure_stores(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
    name_zh: &str,
    index: usize,
    count: usize,
) -> anyhow::Result<Vec<StoreId>> {
    let existing = store::list(conn, merchant_id)?;
    for number in 1..=count {
        let name = format!("{name_zh} {number}号店");
        if existing.iter().any(|s| s.name == name) {
            continue;
        }
        // Spread over central Shanghai, about 400 m apart.
        let spot = index * count + number;
        let details = StoreDetails::parse(
            &name,
            &format!("上海市{}路{}号", district(index).0, number * 10),
            &format!("31.{:06}", 150_000 + (spot % 50) * 4_000),
            &format!("121.{:06}", 350_000 + (spot / 50 % 50) * 4_000),
        )
        .map_err(|invalid| anyhow::anyhow!("store {name}: {invalid}"))?;
        store::add(conn, actor, merchant_id, &details)?;
    }
    Ok(store::list(conn, merchant_id)?
        .into_iter()
        .map(|s| s.id)
        .collect())
}
