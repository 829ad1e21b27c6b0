//! The demo data set (`alliance seed-demo`): eight Shanghai merchants with their
//! stores, points programs and settlement deposits, 24 members and three months of
//! history — deposits, earns, exchanges, expiries and redemptions — booked through
//! the real `ledger::submit`, so the demo books look exactly like books the
//! services will write. The coffee chain and the supermarket carry the full
//! history; the other six have a few weeks of earns, generated after it from a
//! separate RNG so the first two's entries stay exactly as they were.
//!
//! Running it again adds nothing: every entry has a deterministic idempotency key
//! (`demo:...`) and the history comes from a fixed RNG seed, so a second run sends
//! the same requests and the ledger replays them. Should the generated history
//! ever change (new code here, or a `rand` upgrade that changes `StdRng`), a
//! database seeded before refuses the new requests as idempotency conflicts and
//! the seed stops with an error instead of booking a second history.
//!
//! The merchants and members are real rows, and their row ids own the accounts.
//! People are found before they are created — merchants by code, members by mobile
//! number, operators and merchant staff by email — so a second run creates no one.
//! A merchant's demo stores are found by name, so a second run opens none.
//! The sign-in accounts the summary lists all share [`DEMO_PASSWORD`].

mod catalog;
mod settlement;

use std::{collections::BTreeMap, ops::RangeInclusive};

use anyhow::{Context, anyhow, ensure};
use chrono::{Days, NaiveDate};
use diesel::{PgConnection, dsl::exists, prelude::*};
use rand::{
    Rng, SeedableRng,
    rngs::StdRng,
    seq::{IndexedRandom, SliceRandom},
};
use rust_decimal::Decimal;
use serde_json::json;

use crate::{
    chart::{self, CNY, HouseAccount, HouseAccounts, ProgramAccounts},
    clock::SimClock,
    crypto::Keys,
    db::schema::{merchant_users, operators},
    domain::{
        actor::Actor,
        email_address::EmailAddress,
        id::{AccountId, MemberId, MerchantId, TransferId},
        money::Money,
        password::NewPassword,
        phone::Phone,
        points::{PointCount, ProgramCode},
        portal::Portal,
        rate::Rate,
    },
    earn,
    error::Classify,
    exchange::{
        self,
        pricing::{self, PriceInputs},
    },
    i18n::Locale,
    ledger::{self, CommittedEntry, EntryError, EntryRequest, TransferRequest},
    merchant::{
        self, NewMerchant,
        store::{self, StoreDetails},
    },
    people::{
        member::{self, PRIVACY_POLICY_VERSION, SignUp},
        merchant_user::{self, MerchantRole, NewMerchantUser},
        operator::{self, NewOperator, OperatorRole},
    },
    program::{self, NewProgram},
};

/// The password of every demo sign-in account. DEMO ONLY: it is published here and
/// in the README, so anyone can sign in to a database seeded with it — never run
/// `seed-demo` against one that real people or real money use.
pub const DEMO_PASSWORD: &str = "Alliance2026!demo";

/// Any fixed value will do; changing it changes the whole history (see above).
const RNG_SEED: u64 = 20_261_122;
const EARNS: usize = 360;
/// Orders are dated from this day on, over `HISTORY_DAYS` days.
const FIRST_ORDER_DAY: NaiveDate = NaiveDate::from_ymd_opt(2026, 8, 1).expect("a valid date");
const HISTORY_DAYS: u64 = 92;
/// The seed of the newer merchants' earns: a separate RNG, so that adding them
/// changed none of BREW's and MART's draws.
const NEWER_RNG_SEED: u64 = 20_261_123;
/// Orders at each newer merchant, over the last `NEWER_HISTORY_DAYS` days.
const NEWER_EARNS: usize = 12;
const NEWER_HISTORY_DAYS: u64 = 30;
const EXCHANGES: usize = 40;
const EXPIRIES: usize = 10;
/// Entries per `ledger::submit` call: one transaction each.
const BATCH_SIZE: usize = 200;
/// How long a redemption voucher holds its points before the timeout job voids it.
const VOUCHER_VALIDITY_SECS: i64 = 30 * 24 * 60 * 60;

// The history's pricing: fixed sell and buy factors around each settlement value
// and a flat fee, priced by `exchange::pricing` like every exchange. The history
// is older than the rate model's window; today's exchanges go through the
// exchange service at the published rates (`exchange_today`).
/// CNY per BREW point agreed with 沪上咖啡.
const BREW_SETTLEMENT_VALUE: &str = "0.05";
/// CNY per MART point agreed with 申城超市.
const MART_SETTLEMENT_VALUE: &str = "0.01";
/// Sell value = settlement value × this: what the house credits for points given up.
const DEMO_SELL_FACTOR: &str = "0.95";
/// Buy value = settlement value × this. It is above the sell factor, so no cycle of
/// exchanges returns more than it started with.
const DEMO_BUY_FACTOR: &str = "1.05";
/// The house's fee on the history's exchanges, in basis points of the value out.
const DEMO_EXCHANGE_SPREAD_BP: i32 = 200;
/// How long demo points live before they expire.
const DEMO_EXPIRY_MONTHS: i16 = 24;
/// One point per CNY spent, with no tier bonus or campaign.
const DEMO_CNY_PER_POINT: &str = "1";

/// A demo merchant and its points program, whose code is the merchant's code.
struct DemoMerchant {
    row: NewMerchant<'static>,
    program_name: &'static str,
    /// The settlement deposit it has paid in, in CNY.
    deposit: &'static str,
    settlement_value: &'static str,
    basket: fn(&mut StdRng) -> Money,
    /// Members exchange these points in whole multiples of the step.
    exchange_step: i64,
    exchange_steps: RangeInclusive<i64>,
    stores: &'static [DemoStore],
}

/// A demo store (门店), found again by its name.
struct DemoStore {
    name: &'static str,
    address: &'static str,
    latitude: &'static str,
    longitude: &'static str,
}

const fn demo_store(
    name: &'static str,
    address: &'static str,
    latitude: &'static str,
    longitude: &'static str,
) -> DemoStore {
    DemoStore {
        name,
        address,
        latitude,
        longitude,
    }
}

const BREW: usize = 0;
const MART: usize = 1;
/// BREW and MART carry the full history; the merchants from here on, a few earns.
const FIRST_NEWER: usize = 2;
const MERCHANTS: [DemoMerchant; 8] = [
    DemoMerchant {
        row: NewMerchant {
            code: "BREW",
            name_zh: "沪上咖啡",
            name_en: "Shanghai Brew",
            category: "coffee",
            tier: "strategic",
        },
        program_name: "沪上咖啡积分",
        // Above the strategic tier's minimum, so issuing is not blocked.
        deposit: "250000.00",
        settlement_value: BREW_SETTLEMENT_VALUE,
        basket: coffee_order,
        exchange_step: 50,
        exchange_steps: 2..=8,
        stores: &[
            demo_store(
                "沪上咖啡 南京东路店",
                "上海市黄浦区南京东路300号",
                "31.238600",
                "121.481900",
            ),
            demo_store(
                "沪上咖啡 静安寺店",
                "上海市静安区南京西路1618号",
                "31.223500",
                "121.446500",
            ),
            demo_store(
                "沪上咖啡 陆家嘴店",
                "上海市浦东新区陆家嘴环路1000号",
                "31.237900",
                "121.503300",
            ),
        ],
    },
    DemoMerchant {
        row: NewMerchant {
            code: "MART",
            name_zh: "申城超市",
            name_en: "Shencheng Mart",
            category: "supermarket",
            tier: "standard",
        },
        program_name: "申城超市积分",
        deposit: "80000.00",
        settlement_value: MART_SETTLEMENT_VALUE,
        basket: grocery_basket,
        exchange_step: 100,
        exchange_steps: 5..=30,
        stores: &[
            demo_store(
                "申城超市 徐家汇店",
                "上海市徐汇区虹桥路1号",
                "31.194900",
                "121.437000",
            ),
            demo_store(
                "申城超市 五角场店",
                "上海市杨浦区淞沪路8号",
                "31.301300",
                "121.514400",
            ),
            demo_store(
                "申城超市 虹桥店",
                "上海市长宁区仙霞路99号",
                "31.207800",
                "121.396500",
            ),
        ],
    },
    DemoMerchant {
        row: NewMerchant {
            code: "CINEMA",
            name_zh: "外滩影城",
            name_en: "Bund Cinemas",
            category: "cinema",
            tier: "standard",
        },
        program_name: "外滩影城积分",
        deposit: "60000.00",
        settlement_value: "0.01",
        basket: cinema_ticket,
        exchange_step: 100,
        exchange_steps: 5..=20,
        stores: &[
            demo_store(
                "外滩影城 南京东路店",
                "上海市黄浦区南京东路800号",
                "31.235600",
                "121.476500",
            ),
            demo_store(
                "外滩影城 五角场店",
                "上海市杨浦区邯郸路600号",
                "31.300200",
                "121.513600",
            ),
            demo_store(
                "外滩影城 徐家汇店",
                "上海市徐汇区肇嘉浜路1111号",
                "31.194300",
                "121.437800",
            ),
        ],
    },
    DemoMerchant {
        row: NewMerchant {
            code: "BOOKS",
            name_zh: "静安书局",
            name_en: "Jing'an Books",
            category: "bookstore",
            tier: "standard",
        },
        program_name: "静安书局积分",
        deposit: "60000.00",
        settlement_value: "0.01",
        basket: book_purchase,
        exchange_step: 100,
        exchange_steps: 5..=20,
        stores: &[
            demo_store(
                "静安书局 静安寺店",
                "上海市静安区愚园路68号",
                "31.222800",
                "121.445400",
            ),
            demo_store(
                "静安书局 福州路店",
                "上海市黄浦区福州路465号",
                "31.234300",
                "121.478100",
            ),
            demo_store(
                "静安书局 徐家汇店",
                "上海市徐汇区漕溪北路28号",
                "31.192300",
                "121.436900",
            ),
        ],
    },
    DemoMerchant {
        row: NewMerchant {
            code: "FUEL",
            name_zh: "梧桐加油",
            name_en: "Wutong Fuel",
            category: "petrol",
            tier: "standard",
        },
        program_name: "梧桐加油积分",
        deposit: "90000.00",
        settlement_value: "0.01",
        basket: fuel_fill,
        exchange_step: 100,
        exchange_steps: 5..=30,
        stores: &[
            demo_store(
                "梧桐加油 中山北路站",
                "上海市普陀区中山北路2000号",
                "31.253400",
                "121.421500",
            ),
            demo_store(
                "梧桐加油 虹桥路站",
                "上海市长宁区虹桥路2500号",
                "31.195800",
                "121.372300",
            ),
            demo_store(
                "梧桐加油 杨高南路站",
                "上海市浦东新区杨高南路2000号",
                "31.199100",
                "121.526400",
            ),
        ],
    },
    DemoMerchant {
        row: NewMerchant {
            code: "HOTEL",
            name_zh: "锦程酒店集团",
            name_en: "Jincheng Hotels",
            category: "hotel",
            tier: "strategic",
        },
        program_name: "锦程酒店积分",
        // Strategic, so above ¥200,000.
        deposit: "300000.00",
        settlement_value: "0.01",
        basket: hotel_stay,
        exchange_step: 500,
        exchange_steps: 1..=10,
        stores: &[
            demo_store(
                "锦程酒店 外滩店",
                "上海市黄浦区中山东一路19号",
                "31.240700",
                "121.490500",
            ),
            demo_store(
                "锦程酒店 陆家嘴店",
                "上海市浦东新区世纪大道88号",
                "31.236500",
                "121.505700",
            ),
            demo_store(
                "锦程酒店 静安店",
                "上海市静安区南京西路1376号",
                "31.226800",
                "121.453400",
            ),
            demo_store(
                "锦程酒店 虹桥店",
                "上海市闵行区申长路688号",
                "31.197400",
                "121.323100",
            ),
        ],
    },
    DemoMerchant {
        row: NewMerchant {
            code: "MILES",
            name_zh: "浦江航空",
            name_en: "Pujiang Airlines",
            category: "airline",
            tier: "strategic",
        },
        program_name: "浦江航空里程",
        deposit: "500000.00",
        settlement_value: "0.018",
        basket: air_ticket,
        exchange_step: 1_000,
        exchange_steps: 1..=5,
        stores: &[
            demo_store(
                "浦江航空 虹桥机场T2服务柜台",
                "上海市闵行区申达一路 虹桥国际机场2号航站楼",
                "31.194500",
                "121.327100",
            ),
            demo_store(
                "浦江航空 南京西路售票处",
                "上海市静安区南京西路1515号",
                "31.225500",
                "121.449600",
            ),
            demo_store(
                "浦江航空 陆家嘴服务中心",
                "上海市浦东新区世纪大道100号",
                "31.234700",
                "121.507600",
            ),
        ],
    },
    DemoMerchant {
        row: NewMerchant {
            code: "BANKCARD",
            name_zh: "申银信用卡",
            name_en: "Shenyin Bank Card",
            category: "bank",
            tier: "strategic",
        },
        program_name: "申银信用卡积分",
        deposit: "400000.00",
        settlement_value: "0.0035",
        basket: card_spend,
        exchange_step: 1_000,
        exchange_steps: 2..=20,
        stores: &[
            demo_store(
                "申银银行 陆家嘴营业部",
                "上海市浦东新区银城中路200号",
                "31.238000",
                "121.500600",
            ),
            demo_store(
                "申银银行 南京东路支行",
                "上海市黄浦区南京东路99号",
                "31.240100",
                "121.486300",
            ),
            demo_store(
                "申银银行 五角场支行",
                "上海市杨浦区四平路2500号",
                "31.302600",
                "121.512300",
            ),
        ],
    },
];

/// Of every 20 orders, this many are at the coffee chain, the rest at the supermarket.
const COFFEE_ORDERS_PER_20: u32 = 11;

/// A coffee order: ¥28–¥65.
fn coffee_order(rng: &mut StdRng) -> Money {
    Money::from_fen(rng.random_range(2_800..=6_500))
}

/// A supermarket basket: ¥40–¥600, most of them under ¥200.
fn grocery_basket(rng: &mut StdRng) -> Money {
    let fen = if rng.random_ratio(3, 4) {
        rng.random_range(4_000..=20_000)
    } else {
        rng.random_range(20_000..=60_000)
    };
    Money::from_fen(fen)
}

/// Two cinema tickets and snacks: ¥45–¥180.
fn cinema_ticket(rng: &mut StdRng) -> Money {
    Money::from_fen(rng.random_range(4_500..=18_000))
}

/// A few books: ¥30–¥300.
fn book_purchase(rng: &mut StdRng) -> Money {
    Money::from_fen(rng.random_range(3_000..=30_000))
}

/// A tank of petrol: ¥200–¥600.
fn fuel_fill(rng: &mut StdRng) -> Money {
    Money::from_fen(rng.random_range(20_000..=60_000))
}

/// One to three nights: ¥500–¥2,500.
fn hotel_stay(rng: &mut StdRng) -> Money {
    Money::from_fen(rng.random_range(50_000..=250_000))
}

/// A domestic or regional ticket: ¥800–¥6,000.
fn air_ticket(rng: &mut StdRng) -> Money {
    Money::from_fen(rng.random_range(80_000..=600_000))
}

/// A month's card spending: ¥50–¥3,000.
fn card_spend(rng: &mut StdRng) -> Money {
    Money::from_fen(rng.random_range(5_000..=300_000))
}

/// A reward paid in its merchant's own points, which are simply retired.
struct DemoReward {
    program: usize,
    name: &'static str,
    points: i64,
    outcome: Outcome,
}

/// What became of a redemption: the books show one of each.
#[derive(Clone, Copy)]
enum Outcome {
    /// The store's staff redeemed the voucher (核销): the hold is posted.
    Redeemed,
    /// The member cancelled: the hold is voided.
    Cancelled,
    /// Not yet used: the hold stays pending.
    Pending,
}

const REWARDS: [DemoReward; 3] = [
    DemoReward {
        program: BREW,
        name: "美式咖啡兑换券 Americano voucher",
        points: 300,
        outcome: Outcome::Redeemed,
    },
    DemoReward {
        program: MART,
        name: "10元代金券 ¥10 voucher",
        points: 1_000,
        outcome: Outcome::Cancelled,
    },
    DemoReward {
        program: BREW,
        name: "拿铁兑换券 Latte voucher",
        points: 500,
        outcome: Outcome::Pending,
    },
];

/// A demo sign-in account of the platform portal.
struct DemoOperator {
    email: &'static str,
    name: &'static str,
    role: OperatorRole,
}

/// Two admins (granting the admin role needs a second admin to approve) and a
/// finance operator.
const OPERATORS: [DemoOperator; 3] = [
    DemoOperator {
        email: "admin@alliance.example.cn",
        name: "张立",
        role: OperatorRole::Admin,
    },
    DemoOperator {
        email: "admin2@alliance.example.cn",
        name: "周敏",
        role: OperatorRole::Admin,
    },
    DemoOperator {
        email: "finance@alliance.example.cn",
        name: "钱佳",
        role: OperatorRole::Finance,
    },
];

/// A demo sign-in account of the merchant portal.
struct DemoStaff {
    /// `BREW` or `MART`.
    merchant: usize,
    email: &'static str,
    name: &'static str,
    role: MerchantRole,
}

/// The owner manages the staff; the cashier sees what a till sees.
const STAFF: [DemoStaff; 2] = [
    DemoStaff {
        merchant: BREW,
        email: "owner@brew.example.cn",
        name: "陈志远",
        role: MerchantRole::Owner,
    },
    DemoStaff {
        merchant: BREW,
        email: "cashier@brew.example.cn",
        name: "刘小雨",
        role: MerchantRole::Cashier,
    },
];

/// The members by number from 1; member n's mobile number is `member_phone(n)`.
/// Each has a wallet in every demo program and in ALP, and `DEMO_PASSWORD`.
const MEMBER_NAMES: [&str; 24] = [
    "王芳", "李娜", "张伟", "刘洋", "陈静", "杨帆", "赵磊", "黄丽", "周明", "吴敏", "徐强", "孙悦",
    "马超", "朱婷", "胡军", "郭燕", "何勇", "高翔", "林晓", "罗佳", "郑凯", "梁雪", "谢鹏", "宋雨",
];

/// 13800000001, 13800000002, ...
fn member_phone(number: usize) -> String {
    format!("138{number:08}")
}

/// Loads the demo data set; safe to run again. `keys` must be the server's, since
/// members' mobile numbers are encrypted and indexed with them. Returns a summary
/// that ends with where to sign in.
pub fn seed(conn: &mut PgConnection, keys: &Keys) -> anyhow::Result<String> {
    let people = People::ensure(conn, keys)?;
    let stores = StoreTally::ensure(conn, &people)?;
    let books = Books::open(conn, &people)?;
    let mut history = History::new(&books)?;
    // The history is booked as of yesterday, so the settlement period that
    // holds it has ended by now and is settled below like any ended period.
    let booked_yesterday = SimClock::starting_at(settlement::history_booked_at()).install();
    history.deposits()?;
    history.earns()?;
    history.exchanges()?;
    history.expiries();
    history.flush(conn)?;
    // Posting or voiding a hold names its transfer, known only once it is booked.
    let holds = history.redemption_holds()?;
    let held = history.flush(conn)?;
    history.resolve_redemptions(&holds, &held)?;
    // Last, with its own RNG, so BREW's and MART's history is as it always was.
    history.newer_earns()?;
    history.flush(conn)?;
    drop(booked_yesterday);
    let lots = open_lots(conn, &books)?;
    let today = earn_today(conn, &books)?;
    let exchanged = exchange_today(conn, &books)?;
    let rewards = catalog::fill(conn, &people.merchant_ids)?;
    let redeemed = catalog::redeem(conn, &books.members)?;
    let alike = catalog::redeem_alike(conn, &books.members)?;
    // Settles the periods that have ended (yesterday's, with the history);
    // today's exchanges and redemptions are left for tomorrow's statements.
    let settled = settlement::settle(conn, keys, &people.merchant_ids)?;
    Ok(format!(
        "{}\n{lots} point lots opened; {today} purchases today earned through the earn service\n\
         exchange rates published; {exchanged} exchanges today through the exchange service\n\
         {rewards} rewards published; {redeemed} members redeemed through the redemption service, \
         {alike} of them also what the first member did\n{settled}\n{}\n{}\n{}",
        history.summary(),
        stores.summary(),
        people.summary(),
        sign_ins()
    ))
}

/// The history above goes straight into the ledger, so its wallets have no lots
/// yet: open them as oldest-first spending leaves them, each lapsing
/// `DEMO_EXPIRY_MONTHS` after its order day (ALP by the hub's policy). Wallets
/// with lots are left alone, so a second run opens none.
fn open_lots(conn: &mut PgConnection, books: &Books) -> anyhow::Result<usize> {
    let mut opened = 0;
    for program in &books.programs {
        for (&member, &wallet) in &program.wallets {
            opened += earn::lot::rebuild(conn, member, program.code.as_str(), wallet, |credit| {
                earn::lot::expiry(demo_day(credit), DEMO_EXPIRY_MONTHS)
            })?;
        }
    }
    let hub_months = earn::hub::policy(conn)?.expiry_months;
    let alp = ProgramCode::alp();
    for &member in &books.members {
        let wallet = chart::open(conn, &chart::member_wallet(member, &alp))?;
        opened += earn::lot::rebuild(conn, member, alp.as_str(), wallet, |credit| {
            earn::lot::expiry(demo_day(credit), hub_months)
        })?;
    }
    Ok(opened)
}

/// The day the demo says a credit happened (its order day), else when it was booked.
fn demo_day(credit: &earn::lot::Credit) -> chrono::DateTime<chrono::Utc> {
    credit
        .metadata
        .get("order_date")
        .and_then(|day| day.as_str())
        .and_then(|day| day.parse::<NaiveDate>().ok())
        .and_then(|day| day.and_hms_opt(4, 0, 0))
        .map_or(credit.booked_at, |noon_in_shanghai| {
            noon_in_shanghai.and_utc()
        })
}

/// Today's purchases, one per member at a newer merchant, booked through the
/// earn service itself (orders, breakdowns, lots, tiers), so the portals show
/// live earning. Order ids carry the date: a second run the same day replays.
fn earn_today(conn: &mut PgConnection, books: &Books) -> anyhow::Result<usize> {
    let today = chrono::Utc::now().date_naive();
    let till = Actor::system("seed-demo");
    let newer = &books.programs[FIRST_NEWER..];
    let mut rng = StdRng::seed_from_u64(NEWER_RNG_SEED ^ 0x5eed);
    for (index, &member) in books.members.iter().enumerate() {
        let program = &newer[index % newer.len()];
        let request = earn::EarnRequest {
            merchant_id: program.merchant_id,
            order_id: earn::OrderId::parse(&format!(
                "{}-{}-T{index:03}",
                program.code,
                today.format("%Y%m%d")
            ))?,
            member_id: member,
            amount: (program.merchant.basket)(&mut rng),
            occurred_at: None,
            store_id: None,
            program: None,
            source: earn::Source::Portal,
            device_id: None,
            ip: None,
        };
        earn::earn(conn, &request, &till)
            .with_context(|| format!("demo earn {}", request.order_id))?;
    }
    Ok(books.members.len())
}

/// How many members exchange today through the exchange service.
const EXCHANGES_TODAY: usize = 8;

/// Publishes the rate model's rates, then has a few members exchange part of
/// their points of one program into the next program through the exchange
/// service (quote, execute), so the platform's flows and fee revenue show
/// today. A member who has exchanged before is left alone, so a second run
/// exchanges nothing new.
fn exchange_today(conn: &mut PgConnection, books: &Books) -> anyhow::Result<usize> {
    let actor = Actor::system("seed-demo");
    exchange::rates::publish(conn, exchange::rates::Trigger::Schedule, &actor)?;
    let mut done = 0;
    for (index, &member) in books.members.iter().take(EXCHANGES_TODAY).enumerate() {
        if !exchange::execute::of_member(conn, member, 1)?.is_empty() {
            continue;
        }
        let from = &books.programs[index % books.programs.len()];
        let points =
            PointCount::new(from.merchant.exchange_step * from.merchant.exchange_steps.start())?;
        // The first program the member can reach from here: each side's limits
        // and the member's balance decide, as they would for a real member.
        for offset in 1..books.programs.len() {
            let to = &books.programs[(index + offset) % books.programs.len()];
            let request = exchange::QuoteRequest {
                member_id: member,
                from_program: from.code.clone(),
                to_program: to.code.clone(),
                from_points: points,
                merchant_id: None,
            };
            let quote = match exchange::quote(conn, &request, &actor) {
                Ok(quote) => quote,
                Err(e) if e.is_refusal() => continue,
                Err(e) => return Err(e).context("demo exchange quote"),
            };
            exchange::execute(conn, &quote.id, exchange::Executor::Member(member), &actor)
                .context("demo exchange")?;
            done += 1;
            break;
        }
    }
    Ok(done)
}

/// The demo's people as rows: their ids own the demo's accounts.
struct People {
    /// In `MERCHANTS` order, so indexed by `BREW`, `MART`, ...
    merchant_ids: Vec<MerchantId>,
    /// In `MEMBER_NAMES` order.
    member_ids: Vec<MemberId>,
    /// Sign-in accounts (members, operators, staff) this run created, and found.
    created: usize,
    present: usize,
}

impl People {
    fn ensure(conn: &mut PgConnection, keys: &Keys) -> anyhow::Result<People> {
        let merchant_ids = MERCHANTS
            .iter()
            .map(|demo| Ok(merchant::ensure(conn, &demo.row)?.id))
            .collect::<anyhow::Result<_>>()?;
        let mut people = People {
            merchant_ids,
            member_ids: Vec::with_capacity(MEMBER_NAMES.len()),
            created: 0,
            present: 0,
        };
        for number in 1..=MEMBER_NAMES.len() {
            let (id, created) = ensure_member(conn, keys, number)?;
            people.member_ids.push(id);
            people.count(created);
        }
        let actor = Actor::system("seed-demo");
        for demo in &OPERATORS {
            let created = ensure_operator(conn, &actor, demo)?;
            people.count(created);
        }
        for demo in &STAFF {
            let merchant_id = people.merchant_ids[demo.merchant];
            let created = ensure_staff(conn, &actor, merchant_id, demo)?;
            people.count(created);
        }
        Ok(people)
    }

    fn count(&mut self, created: bool) {
        if created {
            self.created += 1;
        } else {
            self.present += 1;
        }
    }

    fn summary(&self) -> String {
        format!(
            "{} sign-in accounts: {} created now, {} already present",
            self.created + self.present,
            self.created,
            self.present
        )
    }
}

/// The demo stores this run opened, and found.
struct StoreTally {
    created: usize,
    present: usize,
}

impl StoreTally {
    /// Opens each demo store its merchant does not have yet (by name).
    fn ensure(conn: &mut PgConnection, people: &People) -> anyhow::Result<StoreTally> {
        let actor = Actor::system("seed-demo");
        let mut tally = StoreTally {
            created: 0,
            present: 0,
        };
        for (demo, &merchant_id) in MERCHANTS.iter().zip(&people.merchant_ids) {
            let existing = store::list(conn, merchant_id)?;
            for demo_store in demo.stores {
                if existing.iter().any(|s| s.name == demo_store.name) {
                    tally.present += 1;
                    continue;
                }
                let details = StoreDetails::parse(
                    demo_store.name,
                    demo_store.address,
                    demo_store.latitude,
                    demo_store.longitude,
                )
                .with_context(|| format!("demo store {}", demo_store.name))?;
                store::add(conn, &actor, merchant_id, &details)?;
                tally.created += 1;
            }
        }
        Ok(tally)
    }

    fn summary(&self) -> String {
        format!(
            "{} stores: {} opened now, {} already present",
            self.created + self.present,
            self.created,
            self.present
        )
    }
}

/// Finds member `number` by mobile number, or signs them up (consenting to the
/// current privacy policy). Returns their id and whether they are new.
fn ensure_member(
    conn: &mut PgConnection,
    keys: &Keys,
    number: usize,
) -> anyhow::Result<(MemberId, bool)> {
    let phone = Phone::parse(&member_phone(number)).context("a demo mobile number")?;
    if let Some(found) = member::find_by_phone(conn, keys, &phone)? {
        return Ok((found.id, false));
    }
    let new = SignUp {
        phone,
        password: demo_password()?,
        display_name: MEMBER_NAMES[number - 1].to_owned(),
        email: None,
        locale: Locale::ZhCn,
        consent_version: PRIVACY_POLICY_VERSION.to_owned(),
    };
    Ok((member::sign_up(conn, keys, &new, None)?.id, true))
}

/// Creates the operator unless their email is taken; true if created. Checked
/// first, because creating hashes the password, which is slow on purpose.
fn ensure_operator(
    conn: &mut PgConnection,
    actor: &Actor,
    demo: &DemoOperator,
) -> anyhow::Result<bool> {
    let email = EmailAddress::parse(demo.email)?;
    let taken = operators::table.filter(operators::email.eq(email.as_str()));
    if diesel::select(exists(taken)).get_result(conn)? {
        return Ok(false);
    }
    let new = NewOperator {
        email,
        display_name: demo.name.to_owned(),
        role: demo.role,
        password: Some(demo_password()?),
    };
    operator::create(conn, actor, &new)?;
    Ok(true)
}

/// As `ensure_operator`, for a merchant's staff.
fn ensure_staff(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
    demo: &DemoStaff,
) -> anyhow::Result<bool> {
    let email = EmailAddress::parse(demo.email)?;
    let taken = merchant_users::table.filter(merchant_users::email.eq(email.as_str()));
    if diesel::select(exists(taken)).get_result(conn)? {
        return Ok(false);
    }
    let new = NewMerchantUser {
        email,
        display_name: demo.name.to_owned(),
        role: demo.role,
        password: Some(demo_password()?),
    };
    merchant_user::create(conn, actor, merchant_id, &new)?;
    Ok(true)
}

fn demo_password() -> anyhow::Result<NewPassword> {
    NewPassword::parse(DEMO_PASSWORD).context("the demo password breaks the password rules")
}

/// Where to try each portal, and as whom.
fn sign_ins() -> String {
    let operators: Vec<String> = OPERATORS
        .iter()
        .map(|o| format!("{} ({})", o.email, o.role.as_str()))
        .collect();
    let staff: Vec<String> = STAFF
        .iter()
        .map(|s| {
            let merchant = MERCHANTS[s.merchant].row.name_zh;
            format!("{} ({}, {merchant})", s.email, s.role.as_str())
        })
        .collect();
    let member = format!(
        "{} ({}; members {}–{} too)",
        member_phone(1),
        MEMBER_NAMES[0],
        member_phone(2),
        member_phone(MEMBER_NAMES.len())
    );
    let lines = [
        (Portal::Platform, operators.join(", ")),
        (Portal::Merchant, staff.join(", ")),
        (Portal::Consumer, member),
    ]
    .map(|(portal, accounts)| format!("  /{}/sign-in  {accounts}", portal.slug()));
    format!(
        "demo sign-ins, all with the password {DEMO_PASSWORD} (demo only: it is public):\n{}\n\
         admins and finance set up an authenticator app (TOTP) at their first sign-in",
        lines.join("\n")
    )
}

/// The demo's accounts, opened (or found) through the chart.
struct Books {
    house: HouseAccounts,
    /// In `MERCHANTS` order, so indexed by `BREW`, `MART`, ...
    programs: Vec<ProgramBooks>,
    /// The wallets' owners, in `MEMBER_NAMES` order.
    members: Vec<MemberId>,
}

/// One demo program, its merchant's accounts and its members' wallets.
struct ProgramBooks {
    merchant: &'static DemoMerchant,
    merchant_id: MerchantId,
    code: ProgramCode,
    accounts: ProgramAccounts,
    deposit: AccountId,
    settlement: AccountId,
    wallets: BTreeMap<MemberId, AccountId>,
    sell: Rate,
    buy: Rate,
}

impl Books {
    fn open(conn: &mut PgConnection, people: &People) -> anyhow::Result<Books> {
        let house = chart::ensure_house_accounts(conn)?;
        let members = &people.member_ids;
        open_wallets(conn, &ProgramCode::alp(), members)?;
        let programs = MERCHANTS
            .iter()
            .zip(&people.merchant_ids)
            .map(|(merchant, &id)| ProgramBooks::open(conn, merchant, id, members))
            .collect::<anyhow::Result<_>>()?;
        Ok(Books {
            house,
            programs,
            members: members.clone(),
        })
    }

    /// The house's six and ALP's two, then per program its two, the merchant's
    /// two and the wallets; plus the members' ALP wallets.
    fn account_count(&self) -> usize {
        let members = self.programs[BREW].wallets.len();
        HouseAccount::ALL.len() + 2 + members + self.programs.len() * (4 + members)
    }
}

impl ProgramBooks {
    fn open(
        conn: &mut PgConnection,
        merchant: &'static DemoMerchant,
        merchant_id: MerchantId,
        members: &[MemberId],
    ) -> anyhow::Result<Self> {
        let code = ProgramCode::parse(merchant.row.code)?;
        let settlement_value = Rate::parse(merchant.settlement_value)?;
        ensure_program_row(conn, merchant, merchant_id, &code, settlement_value)?;
        Ok(ProgramBooks {
            merchant,
            merchant_id,
            accounts: chart::ensure_program(conn, &code, merchant.program_name)?,
            deposit: chart::open(conn, &chart::merchant_deposit(merchant_id))?,
            settlement: chart::open(conn, &chart::merchant_settlement(merchant_id))?,
            wallets: open_wallets(conn, &code, members)?,
            sell: scaled(settlement_value, DEMO_SELL_FACTOR)?,
            buy: scaled(settlement_value, DEMO_BUY_FACTOR)?,
            code,
        })
    }
}

/// The program as onboarding would have created it (once).
fn ensure_program_row(
    conn: &mut PgConnection,
    merchant: &DemoMerchant,
    merchant_id: MerchantId,
    code: &ProgramCode,
    settlement_value: Rate,
) -> anyhow::Result<()> {
    if program::of_merchant(conn, merchant_id)?.is_some() {
        return Ok(());
    }
    let new = NewProgram {
        merchant_id,
        code,
        name_zh: merchant.program_name,
        name_en: &format!("{} Points", merchant.row.name_en),
        settlement_value,
        earn_points_per_cny: rust_decimal::Decimal::ONE,
        expiry_months: DEMO_EXPIRY_MONTHS,
        exchange_in: true,
        exchange_out: true,
        min_exchange_points: merchant.exchange_step,
        max_exchange_points: 100_000,
    };
    program::create(conn, &Actor::system("seed-demo"), &new)?;
    Ok(())
}

fn open_wallets(
    conn: &mut PgConnection,
    program: &ProgramCode,
    members: &[MemberId],
) -> anyhow::Result<BTreeMap<MemberId, AccountId>> {
    members
        .iter()
        .map(|&member| {
            Ok((
                member,
                chart::open(conn, &chart::member_wallet(member, program))?,
            ))
        })
        .collect()
}

fn decimal(text: &str) -> anyhow::Result<Decimal> {
    Decimal::from_str_exact(text).with_context(|| format!("demo constant {text:?}"))
}

fn scaled(rate: Rate, factor: &str) -> anyhow::Result<Rate> {
    Ok(Rate::new(rate.as_decimal() * decimal(factor)?)?)
}

/// A CNY leg, left out when rounding leaves nothing to move.
fn cash_leg(debit: AccountId, credit: AccountId, amount: Money) -> Option<TransferRequest> {
    amount
        .is_positive()
        .then(|| TransferRequest::move_(debit, credit, CNY, amount.fen()))
}

/// What the entries generated so far leave in one wallet.
#[derive(Default)]
struct Wallet {
    /// Available points: holds count against it.
    balance: i64,
    /// Everything that ever left the wallet, oldest points first (FIFO).
    spent: i64,
    first_lot: Option<Lot>,
}

/// The points one order earned.
struct Lot {
    order_id: String,
    earned_on: NaiveDate,
    points: i64,
}

impl Wallet {
    /// What is left of the oldest lot, since spending takes the oldest points first.
    fn first_lot_left(&self) -> i64 {
        self.first_lot
            .as_ref()
            .map_or(0, |lot| (lot.points - self.spent).max(0))
    }

    fn debit(&mut self, points: i64) {
        self.balance -= points;
        self.spent += points;
    }
}

/// A redemption whose points are held.
struct Held {
    number: usize,
    reward: &'static DemoReward,
    member: MemberId,
}

/// Entries by kind, and how many the ledger had already.
#[derive(Default)]
struct Tally {
    by_kind: BTreeMap<String, usize>,
    committed: usize,
    replayed: usize,
}

/// Generates the history and submits it. Wallets are simulated alongside, so every
/// entry is generated to succeed; a refusal is a bug and stops the seed.
struct History<'b> {
    books: &'b Books,
    rng: StdRng,
    earn_rate: Rate,
    /// Not yet submitted.
    entries: Vec<EntryRequest>,
    /// By (program, member); ordered, so that every run walks them alike.
    wallets: BTreeMap<(usize, MemberId), Wallet>,
    tally: Tally,
}

impl<'b> History<'b> {
    fn new(books: &'b Books) -> anyhow::Result<Self> {
        Ok(History {
            books,
            rng: StdRng::seed_from_u64(RNG_SEED),
            earn_rate: Rate::parse(DEMO_CNY_PER_POINT)?,
            entries: Vec::new(),
            wallets: BTreeMap::new(),
            tally: Tally::default(),
        })
    }

    fn random_member(&mut self) -> MemberId {
        *self
            .books
            .members
            .choose(&mut self.rng)
            .expect("the demo has members")
    }

    fn wallet(&mut self, program: usize, member: MemberId) -> &mut Wallet {
        self.wallets.entry((program, member)).or_default()
    }

    fn balance(&self, program: usize, member: MemberId) -> i64 {
        self.wallets
            .get(&(program, member))
            .map_or(0, |w| w.balance)
    }

    /// Confirmed bank receipts of the merchants' settlement deposits.
    fn deposits(&mut self) -> anyhow::Result<()> {
        let books = self.books;
        for program in &books.programs {
            let merchant_id = program.merchant_id;
            let amount = Money::parse(program.merchant.deposit)?;
            let bank = books.house.id(HouseAccount::Bank);
            self.entries.push(
                EntryRequest::new(format!("demo:deposit:{merchant_id}"), "deposit")
                    .metadata(json!({
                        "merchant_id": merchant_id,
                        "bank_receipt": format!("DEMO-RCPT-{merchant_id:04}"),
                        "amount": amount,
                    }))
                    .transfer(TransferRequest::move_(
                        bank,
                        program.deposit,
                        CNY,
                        amount.fen(),
                    )),
            );
        }
        Ok(())
    }

    /// Orders at either merchant over the history, in date order.
    fn earns(&mut self) -> anyhow::Result<()> {
        let mut orders: Vec<(NaiveDate, usize, MemberId, Money)> = (0..EARNS)
            .map(|_| {
                let program = if self.rng.random_ratio(COFFEE_ORDERS_PER_20, 20) {
                    BREW
                } else {
                    MART
                };
                let day = FIRST_ORDER_DAY + Days::new(self.rng.random_range(0..HISTORY_DAYS));
                let member = self.random_member();
                let amount = (self.books.programs[program].merchant.basket)(&mut self.rng);
                (day, program, member, amount)
            })
            .collect();
        orders.sort_by_key(|(day, ..)| *day);
        for (number, (day, program, member, amount)) in orders.into_iter().enumerate() {
            self.earn(number + 1, day, program, member, amount)?;
        }
        Ok(())
    }

    fn earn(
        &mut self,
        number: usize,
        day: NaiveDate,
        program: usize,
        member: MemberId,
        amount: Money,
    ) -> anyhow::Result<()> {
        let books = &self.books.programs[program];
        let points = self.earn_rate.points_for(amount)?;
        let order_id = format!("{}-{}-{number:04}", books.code, day.format("%Y%m%d"));
        self.entries.push(
            EntryRequest::new(format!("demo:earn:{order_id}"), "earn")
                .metadata(json!({
                    "merchant_id": books.merchant_id,
                    "member_id": member,
                    "order_id": order_id,
                    "order_date": day,
                    "amount": amount,
                }))
                .transfer(TransferRequest::move_(
                    books.accounts.issuance,
                    books.wallets[&member],
                    books.code.as_str(),
                    points,
                )),
        );
        let wallet = self.wallet(program, member);
        wallet.balance += points;
        wallet.first_lot.get_or_insert(Lot {
            order_id,
            earned_on: day,
            points,
        });
        Ok(())
    }

    /// A few weeks of orders at each newer merchant, drawn from their own RNG.
    /// Order numbers count per program, so keys never collide with BREW's or MART's.
    fn newer_earns(&mut self) -> anyhow::Result<()> {
        let mut rng = StdRng::seed_from_u64(NEWER_RNG_SEED);
        let first_day = FIRST_ORDER_DAY + Days::new(HISTORY_DAYS - NEWER_HISTORY_DAYS);
        for program in FIRST_NEWER..self.books.programs.len() {
            let basket = self.books.programs[program].merchant.basket;
            let mut orders: Vec<(NaiveDate, MemberId, Money)> = (0..NEWER_EARNS)
                .map(|_| {
                    let day = first_day + Days::new(rng.random_range(0..NEWER_HISTORY_DAYS));
                    let member = *self
                        .books
                        .members
                        .choose(&mut rng)
                        .expect("the demo has members");
                    (day, member, basket(&mut rng))
                })
                .collect();
            orders.sort_by_key(|(day, ..)| *day);
            for (number, (day, member, amount)) in orders.into_iter().enumerate() {
                self.earn(number + 1, day, program, member, amount)?;
            }
        }
        Ok(())
    }

    /// Members swapping points both ways between the two programs.
    fn exchanges(&mut self) -> anyhow::Result<()> {
        for number in 1..=EXCHANGES {
            let (from, to) = if self.rng.random_ratio(1, 2) {
                (BREW, MART)
            } else {
                (MART, BREW)
            };
            if let Some((member, points_out)) = self.pick_exchange(from) {
                self.exchange(number, member, from, to, points_out)?;
            }
        }
        Ok(())
    }

    /// A member who holds enough `from` points, and a round amount they can afford.
    fn pick_exchange(&mut self, from: usize) -> Option<(MemberId, i64)> {
        let merchant = self.books.programs[from].merchant;
        let step = merchant.exchange_step;
        let fewest = *merchant.exchange_steps.start();
        let able: Vec<MemberId> = self
            .books
            .members
            .iter()
            .copied()
            .filter(|&member| self.balance(from, member) >= fewest * step)
            .collect();
        let member = *able.choose(&mut self.rng)?;
        let most = (self.balance(from, member) / step).min(*merchant.exchange_steps.end());
        Some((member, self.rng.random_range(fewest..=most) * step))
    }

    /// One entry with both points legs and the cash legs; `house:clearing` takes in
    /// the value out and pays all of it on, so it nets to zero.
    fn exchange(
        &mut self,
        number: usize,
        member: MemberId,
        from: usize,
        to: usize,
        points_out: i64,
    ) -> anyhow::Result<()> {
        let books = self.books;
        let (a, b) = (&books.programs[from], &books.programs[to]);
        let quote = pricing::price(&PriceInputs {
            from_points: points_out,
            sell: a.sell,
            buy: b.buy,
            spread_bp: DEMO_EXCHANGE_SPREAD_BP,
            discount_bp: 0,
        })
        .context("a demo exchange overflowed")?;
        ensure!(quote.to_points > 0, "a demo exchange must buy some points");
        let clearing = books.house.id(HouseAccount::Clearing);
        let fees = books.house.id(HouseAccount::Fees);
        let legs = [
            Some(TransferRequest::move_(
                a.wallets[&member],
                a.accounts.issuance,
                a.code.as_str(),
                points_out,
            )),
            Some(TransferRequest::move_(
                b.accounts.issuance,
                b.wallets[&member],
                b.code.as_str(),
                quote.to_points,
            )),
            cash_leg(a.settlement, clearing, quote.value_out),
            cash_leg(clearing, b.settlement, quote.credit),
            cash_leg(clearing, fees, quote.house),
        ];
        let entry =
            EntryRequest::new(format!("demo:exchange:{number:03}"), "exchange").metadata(json!({
                "member_id": member,
                "from": a.code,
                "to": b.code,
                "points_out": points_out,
                "points_in": quote.to_points,
                "sell_value": a.sell,
                "buy_value": b.buy,
                "value_out": quote.value_out,
                "fee": quote.fee,
            }));
        self.entries.push(
            legs.into_iter()
                .flatten()
                .fold(entry, EntryRequest::transfer),
        );
        self.wallet(from, member).debit(points_out);
        self.wallet(to, member).balance += quote.to_points;
        Ok(())
    }

    /// Some members' oldest lots lapse: what is left of them goes to breakage.
    fn expiries(&mut self) {
        let lapsing: Vec<(usize, MemberId)> = self
            .wallets
            .iter()
            .filter(|(_, wallet)| wallet.first_lot_left() > 0)
            .map(|(key, _)| *key)
            .collect();
        let chosen: Vec<(usize, MemberId)> = lapsing
            .choose_multiple(&mut self.rng, EXPIRIES)
            .copied()
            .collect();
        for (program, member) in chosen {
            self.expire(program, member);
        }
    }

    fn expire(&mut self, program: usize, member: MemberId) {
        let books = &self.books.programs[program];
        let wallet = self.wallets.entry((program, member)).or_default();
        let points = wallet.first_lot_left();
        let lot = wallet
            .first_lot
            .as_ref()
            .expect("only wallets with a lot lapse");
        self.entries.push(
            EntryRequest::new(format!("demo:expire:{}", lot.order_id), "expire")
                .metadata(json!({
                    "member_id": member,
                    "lot_order_id": lot.order_id,
                    "lot_earned_on": lot.earned_on,
                    "lot_points": lot.points,
                }))
                .transfer(TransferRequest::move_(
                    books.wallets[&member],
                    books.accounts.breakage,
                    books.code.as_str(),
                    points,
                )),
        );
        wallet.debit(points);
    }

    /// Orders one voucher per demo reward, holding its points.
    fn redemption_holds(&mut self) -> anyhow::Result<Vec<Held>> {
        let mut held = Vec::with_capacity(REWARDS.len());
        for (index, reward) in REWARDS.iter().enumerate() {
            let mut members = self.books.members.clone();
            members.shuffle(&mut self.rng);
            let member = members
                .into_iter()
                .find(|&member| self.balance(reward.program, member) >= reward.points)
                .with_context(|| format!("no demo member can afford {}", reward.name))?;
            let number = index + 1;
            let books = &self.books.programs[reward.program];
            self.entries.push(
                EntryRequest::new(format!("demo:redeem:{number}:hold"), "redeem")
                    .metadata(json!({
                        "member_id": member,
                        "reward": reward.name,
                        "voucher": voucher(number),
                    }))
                    .transfer(TransferRequest::hold(
                        books.wallets[&member],
                        books.accounts.issuance,
                        books.code.as_str(),
                        reward.points,
                        VOUCHER_VALIDITY_SECS,
                    )),
            );
            self.wallet(reward.program, member).balance -= reward.points;
            held.push(Held {
                number,
                reward,
                member,
            });
        }
        Ok(held)
    }

    /// Posts or voids each hold as its reward's outcome says.
    fn resolve_redemptions(
        &mut self,
        holds: &[Held],
        committed: &[CommittedEntry],
    ) -> anyhow::Result<()> {
        for (held, entry) in holds.iter().zip(committed) {
            let pending: TransferId = *entry
                .transfer_ids
                .first()
                .context("a hold entry has its transfer")?;
            let metadata = json!({ "member_id": held.member, "voucher": voucher(held.number) });
            let wallet = self.wallet(held.reward.program, held.member);
            let (step, kind, transfer) = match held.reward.outcome {
                Outcome::Redeemed => {
                    wallet.spent += held.reward.points;
                    let post = TransferRequest::Post {
                        pending,
                        amount: None,
                    };
                    ("post", "redeem", post)
                }
                Outcome::Cancelled => {
                    wallet.balance += held.reward.points;
                    ("void", "redeem_cancel", TransferRequest::Void { pending })
                }
                Outcome::Pending => continue,
            };
            self.entries.push(
                EntryRequest::new(format!("demo:redeem:{}:{step}", held.number), kind)
                    .metadata(metadata)
                    .transfer(transfer),
            );
        }
        Ok(())
    }

    /// Submits what was generated since the last flush, in batches, and returns the
    /// committed entries in order.
    fn flush(&mut self, conn: &mut PgConnection) -> anyhow::Result<Vec<CommittedEntry>> {
        let entries = std::mem::take(&mut self.entries);
        let mut committed = Vec::with_capacity(entries.len());
        for batch in entries.chunks(BATCH_SIZE) {
            for (entry, result) in batch.iter().zip(ledger::submit(conn, batch)?) {
                let done = result.map_err(|error| refused(entry, &error))?;
                *self.tally.by_kind.entry(entry.kind.clone()).or_default() += 1;
                if done.replayed {
                    self.tally.replayed += 1;
                } else {
                    self.tally.committed += 1;
                }
                committed.push(done);
            }
        }
        Ok(committed)
    }

    fn summary(&self) -> String {
        let merchants: Vec<String> = self
            .books
            .programs
            .iter()
            .map(|p| format!("{} {}", p.merchant.row.name_zh, p.merchant.row.name_en))
            .collect();
        let kinds: Vec<String> = self
            .tally
            .by_kind
            .iter()
            .map(|(kind, count)| format!("{count} {kind}"))
            .collect();
        format!(
            "demo data: {} merchants ({}), {} members, {} accounts\n\
             {} journal entries ({}): {} committed now, {} already present",
            merchants.len(),
            merchants.join(", "),
            self.books.members.len(),
            self.books.account_count(),
            self.tally.committed + self.tally.replayed,
            kinds.join(", "),
            self.tally.committed,
            self.tally.replayed,
        )
    }
}

fn voucher(number: usize) -> String {
    format!("DEMO-V-{number:04}")
}

fn refused(entry: &EntryRequest, error: &EntryError) -> anyhow::Error {
    let hint = if matches!(error, EntryError::IdempotencyConflict { .. }) {
        " (this database holds a different demo history; seed a fresh database)"
    } else {
        ""
    };
    anyhow!(
        "demo entry {} was refused: {error}{hint}",
        entry.idempotency_key
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_people_have_valid_distinct_sign_ins() {
        assert!(demo_password().is_ok());
        let phones: std::collections::BTreeSet<String> = (1..=MEMBER_NAMES.len())
            .map(|number| {
                Phone::parse(&member_phone(number))
                    .unwrap()
                    .as_str()
                    .to_owned()
            })
            .collect();
        assert_eq!(phones.len(), MEMBER_NAMES.len());
        assert_eq!(member_phone(1), "13800000001");
        let emails = OPERATORS
            .iter()
            .map(|o| o.email)
            .chain(STAFF.iter().map(|s| s.email));
        for email in emails {
            assert_eq!(EmailAddress::parse(email).unwrap().as_str(), email);
        }
    }

    #[test]
    fn demo_merchants_have_valid_codes_and_stores_in_shanghai() {
        let codes: std::collections::BTreeSet<&str> =
            MERCHANTS.iter().map(|m| m.row.code).collect();
        assert_eq!(codes.len(), MERCHANTS.len());
        for merchant in &MERCHANTS {
            assert!(ProgramCode::parse(merchant.row.code).is_ok());
            assert!(merchant.stores.len() >= 2, "{}", merchant.row.code);
            assert!(Money::parse(merchant.deposit).is_ok());
            for s in merchant.stores {
                let details = StoreDetails::parse(s.name, s.address, s.latitude, s.longitude);
                assert!(details.is_ok(), "{}", s.name);
                let (lat, lon) = (decimal(s.latitude).unwrap(), decimal(s.longitude).unwrap());
                assert!(lat > decimal("31.1").unwrap() && lat < decimal("31.35").unwrap());
                assert!(lon > decimal("121.3").unwrap() && lon < decimal("121.6").unwrap());
            }
        }
    }

    #[test]
    fn demo_sell_and_buy_values_bracket_the_settlement_value() {
        for merchant in &MERCHANTS {
            let value = Rate::parse(merchant.settlement_value).unwrap();
            let (sell, buy) = (
                scaled(value, DEMO_SELL_FACTOR).unwrap(),
                scaled(value, DEMO_BUY_FACTOR).unwrap(),
            );
            assert!(sell < value && value < buy, "{}", merchant.row.code);
        }
    }
}
