//! The demo's eight Shanghai merchants: their points programmes, stores and
//! settlement deposits, set up through the services that onboard a merchant —
//! the programme as onboarding creates it, stores as the merchant portal adds
//! them, and the deposit as a bank receipt that finance confirms. Each is
//! found before it is made (a merchant's programme, its stores by name, its
//! deposit by the receipt's reference), so a second run changes nothing.

use std::ops::RangeInclusive;

use anyhow::Context;
use diesel::PgConnection;
use rand::{Rng, rngs::StdRng};
use rust_decimal::Decimal;

use crate::{
    deposit::{self, DepositError, NewTopup, TopupStatus},
    domain::{actor::Actor, id::MerchantId, money::Money, points::ProgramCode, rate::Rate},
    merchant::{
        NewMerchant,
        store::{self, StoreDetails},
    },
    program::{self, NewProgram},
};

/// A demo merchant and its points program, whose code is the merchant's code.
pub struct DemoMerchant {
    pub row: NewMerchant<'static>,
    pub program_name: &'static str,
    /// The settlement deposit it has paid in, in CNY.
    pub deposit: &'static str,
    pub settlement_value: &'static str,
    pub basket: fn(&mut StdRng) -> Money,
    /// Members exchange these points in whole multiples of the step.
    pub exchange_step: i64,
    pub exchange_steps: RangeInclusive<i64>,
    /// How long its points live, in months: short at the cinema and the petrol
    /// station, so that the history has lots that lapse.
    pub expiry_months: i16,
    /// Its share of the history's purchases, against the other merchants'.
    pub weight: u32,
    pub stores: &'static [DemoStore],
}

/// A demo store (门店), found again by its name.
pub struct DemoStore {
    pub name: &'static str,
    pub address: &'static str,
    pub latitude: &'static str,
    pub longitude: &'static str,
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

pub const MERCHANTS: [DemoMerchant; 8] = [
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
        settlement_value: "0.05",
        basket: coffee_order,
        exchange_step: 50,
        exchange_steps: 2..=8,
        expiry_months: 24,
        weight: 6,
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
        settlement_value: "0.01",
        basket: grocery_basket,
        exchange_step: 100,
        exchange_steps: 5..=30,
        expiry_months: 24,
        weight: 5,
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
        expiry_months: 1,
        weight: 2,
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
        expiry_months: 24,
        weight: 2,
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
        expiry_months: 2,
        weight: 2,
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
        expiry_months: 24,
        weight: 1,
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
        expiry_months: 24,
        weight: 1,
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
        expiry_months: 24,
        weight: 2,
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

/// What setting the merchants up did.
#[derive(Debug, Default)]
pub struct Setup {
    pub stores_opened: usize,
    pub stores_present: usize,
    pub deposits_confirmed: usize,
}

impl Setup {
    pub fn summary(&self) -> String {
        format!(
            "{} stores: {} opened now, {} already present; {} deposits confirmed now",
            self.stores_opened + self.stores_present,
            self.stores_opened,
            self.stores_present,
            self.deposits_confirmed
        )
    }
}

/// Gives each merchant (`merchant_ids` in `MERCHANTS` order) its programme,
/// its stores and its paid-in deposit, whichever it lacks.
pub fn set_up(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_ids: &[MerchantId],
) -> anyhow::Result<Setup> {
    let mut setup = Setup::default();
    for (demo, &merchant_id) in MERCHANTS.iter().zip(merchant_ids) {
        ensure_program(conn, actor, demo, merchant_id)?;
        ensure_stores(conn, actor, demo, merchant_id, &mut setup)?;
        if ensure_deposit(conn, actor, demo, merchant_id)? {
            setup.deposits_confirmed += 1;
        }
    }
    Ok(setup)
}

/// The programme as onboarding would have created it (once).
fn ensure_program(
    conn: &mut PgConnection,
    actor: &Actor,
    demo: &DemoMerchant,
    merchant_id: MerchantId,
) -> anyhow::Result<()> {
    if program::of_merchant(conn, merchant_id)?.is_some() {
        return Ok(());
    }
    let new = NewProgram {
        merchant_id,
        code: &ProgramCode::parse(demo.row.code)?,
        name_zh: demo.program_name,
        name_en: &format!("{} Points", demo.row.name_en),
        settlement_value: Rate::parse(demo.settlement_value)?,
        earn_points_per_cny: Decimal::ONE,
        expiry_months: demo.expiry_months,
        exchange_in: true,
        exchange_out: true,
        min_exchange_points: demo.exchange_step,
        max_exchange_points: 100_000,
    };
    program::create(conn, actor, &new)?;
    Ok(())
}

/// Opens each demo store the merchant does not have yet (by name).
fn ensure_stores(
    conn: &mut PgConnection,
    actor: &Actor,
    demo: &DemoMerchant,
    merchant_id: MerchantId,
    setup: &mut Setup,
) -> anyhow::Result<()> {
    let existing = store::list(conn, merchant_id)?;
    for demo_store in demo.stores {
        if existing.iter().any(|s| s.name == demo_store.name) {
            setup.stores_present += 1;
            continue;
        }
        let details = StoreDetails::parse(
            demo_store.name,
            demo_store.address,
            demo_store.latitude,
            demo_store.longitude,
        )
        .with_context(|| format!("demo store {}", demo_store.name))?;
        store::add(conn, actor, merchant_id, &details)?;
        setup.stores_opened += 1;
    }
    Ok(())
}

/// The merchant's deposit, paid in as a bank receipt and confirmed; true if
/// confirmed now. A receipt submitted before is found by its reference and
/// confirmed if it is still waiting (confirming is once only).
fn ensure_deposit(
    conn: &mut PgConnection,
    actor: &Actor,
    demo: &DemoMerchant,
    merchant_id: MerchantId,
) -> anyhow::Result<bool> {
    let receipt = NewTopup {
        amount: Money::parse(demo.deposit)?,
        bank_reference: format!("DEMO-RCPT-{}", demo.row.code),
    };
    let topup = match deposit::submit_topup(conn, actor, merchant_id, &receipt) {
        Ok(topup) => topup,
        Err(DepositError::DuplicateReference) => deposit::list_topups(conn, merchant_id)?
            .into_iter()
            .find(|t| t.bank_reference == receipt.bank_reference)
            .context("a demo deposit receipt is taken but not found")?,
        Err(e) => return Err(e).context("demo deposit"),
    };
    if topup.status != TopupStatus::Submitted {
        return Ok(false);
    }
    Ok(!deposit::confirm_topup(conn, actor, topup.id)?.already)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decimal(text: &str) -> Decimal {
        Decimal::from_str_exact(text).unwrap()
    }

    #[test]
    fn demo_merchants_have_valid_codes_and_stores_in_shanghai() {
        let codes: std::collections::BTreeSet<&str> =
            MERCHANTS.iter().map(|m| m.row.code).collect();
        assert_eq!(codes.len(), MERCHANTS.len());
        for merchant in &MERCHANTS {
            assert!(ProgramCode::parse(merchant.row.code).is_ok());
            assert!(Rate::parse(merchant.settlement_value).is_ok());
            assert!(merchant.stores.len() >= 2, "{}", merchant.row.code);
            assert!(Money::parse(merchant.deposit).is_ok());
            for s in merchant.stores {
                let details = StoreDetails::parse(s.name, s.address, s.latitude, s.longitude);
                assert!(details.is_ok(), "{}", s.name);
                let (lat, lon) = (decimal(s.latitude), decimal(s.longitude));
                assert!(lat > decimal("31.1") && lat < decimal("31.35"));
                assert!(lon > decimal("121.3") && lon < decimal("121.6"));
            }
        }
    }
}
