//! What must hold after every step, whatever the members, merchants and
//! operators did. Each invariant but the ledger's is one query that returns a
//! line per violation, so a new one is a name and a `SELECT`.

use diesel::{PgConnection, prelude::*, sql_query, sql_types::Text};

use crate::{
    clock,
    db::schema::{merchants, settlement_statements},
    deposit,
    domain::{id::MerchantId, shanghai},
    exchange, exit, ledger,
    merchant::standing::Status,
    risk,
};

/// A broken invariant: which, and the rows that break it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub invariant: &'static str,
    pub details: Vec<String>,
}

struct Invariant {
    name: &'static str,
    /// Selects one `violation` text per offending row.
    sql: &'static str,
}

/// Prefixes a query with `value_of(code, value)`: settlement values per
/// programme, ALP at the hub's issue price — what a point is worth when nobody
/// gains or loses by an exchange.
macro_rules! valued {
    ($sql:literal) => {
        concat!(
            "WITH value_of AS (SELECT code, settlement_value AS value FROM programs
                               UNION ALL SELECT 'ALP', issue_price FROM hub_program)",
            $sql
        )
    };
}

const INVARIANTS: &[Invariant] = &[
    Invariant {
        name: "an exchange gives no more settlement value than it takes",
        sql: valued!(
            " SELECT format('exchange %s: %s %s -> %s %s (%s > %s CNY)', e.id, e.from_points,
                   e.from_program, e.to_points, e.to_program,
                   e.to_points * t.value, e.from_points * f.value) AS violation
              FROM exchanges e
              JOIN value_of f ON f.code = e.from_program
              JOIN value_of t ON t.code = e.to_program
             WHERE e.to_points * t.value > e.from_points * f.value"
        ),
    },
    Invariant {
        name: "no member's exchanges add up to a gain",
        sql: valued!(
            " SELECT format('member %s gained %s CNY over %s exchanges', e.member_id,
                   sum(e.to_points * t.value - e.from_points * f.value), count(*)) AS violation
              FROM exchanges e
              JOIN value_of f ON f.code = e.from_program
              JOIN value_of t ON t.code = e.to_program
             GROUP BY e.member_id
            HAVING sum(e.to_points * t.value - e.from_points * f.value) > 0"
        ),
    },
    Invariant {
        name: "points reported unrecovered by refunds were really spent",
        // Spent: left the wallet for good, after the first order that reports
        // points unrecovered, by anything but a refund's reversal.
        sql: "WITH unrecovered AS (
                SELECT member_id, program_code, sum(points_unrecovered) AS points,
                       min(journal_entry_id) AS since
                  FROM earn_orders WHERE points_unrecovered > 0
                 GROUP BY member_id, program_code),
              spent AS (
                SELECT u.member_id, u.program_code, sum(m.amount) AS points
                  FROM unrecovered u
                  JOIN accounts a ON a.owner_kind = 'member' AND a.owner_id = u.member_id
                                 AND a.asset = u.program_code AND a.purpose = 'wallet'
                  JOIN ledger_movements m ON m.debit_account_id = a.id AND m.entry_id > u.since
                 WHERE m.kind <> 'reverse'
                 GROUP BY u.member_id, u.program_code)
              SELECT format('member %s: %s %s reported unrecovered, %s spent since', u.member_id,
                     u.points, u.program_code, coalesce(s.points, 0)) AS violation
                FROM unrecovered u LEFT JOIN spent s USING (member_id, program_code)
               WHERE u.points > coalesce(s.points, 0)",
    },
    Invariant {
        name: "a wallet's lots add up to its posted balance",
        sql: "WITH wallets AS (
                SELECT b.owner_id AS member_id, b.asset AS program_code,
                       sum(b.credits_posted - b.debits_posted) AS posted
                  FROM ledger_balance_shards b
                 WHERE b.purpose = 'wallet' AND b.owner_kind = 'member'
                 GROUP BY b.owner_id, b.asset),
              lots AS (
                SELECT member_id, program_code, sum(remaining) AS remaining
                  FROM point_lots GROUP BY member_id, program_code)
              SELECT format('member %s %s: wallet %s, lots %s', w.member_id, w.program_code,
                     w.posted, coalesce(l.remaining, 0)) AS violation
                FROM wallets w LEFT JOIN lots l USING (member_id, program_code)
               WHERE w.posted <> coalesce(l.remaining, 0)",
    },
    Invariant {
        name: "a wallet's reserved lots equal its held points",
        sql: "SELECT format('%s: held %s, lots reserve %s', b.code, b.held, coalesce(l.reserved, 0)) AS violation
                FROM (SELECT code, owner_id, asset, sum(debits_pending) AS held
                        FROM ledger_balance_shards
                       WHERE purpose = 'wallet' AND owner_kind = 'member'
                       GROUP BY account_id, code, owner_id, asset) b
                LEFT JOIN (SELECT member_id, program_code, sum(reserved) AS reserved
                             FROM point_lots GROUP BY member_id, program_code) l
                       ON l.member_id = b.owner_id AND l.program_code = b.asset
               WHERE b.held <> coalesce(l.reserved, 0)",
    },
    Invariant {
        name: "an open hold reserves exactly its amount of lots, a resolved one none",
        sql: "SELECT format('hold %s: %s points, reservations %s', h.hold_id, h.amount, coalesce(r.points, 0)) AS violation
                FROM ledger_holds h
                JOIN accounts a ON a.id = h.debit_account_id
                LEFT JOIN (SELECT hold_id, sum(points) AS points
                             FROM lot_reservations GROUP BY hold_id) r ON r.hold_id = h.hold_id
               WHERE a.purpose = 'wallet' AND a.owner_kind = 'member'
                 AND coalesce(r.points, 0) <> CASE WHEN h.outcome IS NULL THEN h.amount ELSE 0 END",
    },
    Invariant {
        name: "a lot's reserved points are its reservations",
        sql: "SELECT format('lot %s: reserved %s, reservations %s', l.id, l.reserved, coalesce(r.points, 0)) AS violation
                FROM point_lots l
                LEFT JOIN (SELECT lot_id, sum(points) AS points
                             FROM lot_reservations GROUP BY lot_id) r ON r.lot_id = l.id
               WHERE l.reserved <> coalesce(r.points, 0)",
    },
    Invariant {
        name: "a refund's open claims sit on open holds and within them",
        sql: "SELECT format('hold %s: claims %s of %s', c.hold_id, sum(c.points), h.amount) AS violation
                FROM refund_claims c JOIN ledger_holds h ON h.hold_id = c.hold_id
               WHERE c.outcome IS NULL
               GROUP BY c.hold_id, h.amount
              HAVING sum(c.points) > h.amount OR bool_or(h.outcome IS NOT NULL)",
    },
    Invariant {
        name: "an order's claimed points are its open claims",
        sql: "SELECT format('order %s: claimed %s, open claims %s', o.id, o.points_claimed, coalesce(c.points, 0)) AS violation
                FROM earn_orders o
                LEFT JOIN (SELECT f.earn_order_id, sum(c.points) AS points
                             FROM refund_claims c JOIN earn_refunds f ON f.id = c.earn_refund_id
                            WHERE c.outcome IS NULL GROUP BY f.earn_order_id) c ON c.earn_order_id = o.id
               WHERE o.points_claimed <> coalesce(c.points, 0)",
    },
    Invariant {
        name: "a claim counts as spent exactly when its hold was served",
        sql: "SELECT format('claim %s on hold %s: %s, hold %s', c.id, c.hold_id, c.outcome, h.outcome) AS violation
                FROM refund_claims c JOIN ledger_holds h ON h.hold_id = c.hold_id
               WHERE (c.outcome = 'spent') <> (h.outcome = 'posted')",
    },
    Invariant {
        name: "a fully refunded order with nothing claimed keeps no points",
        sql: "SELECT format('order %s: %s points, %s reversed, %s unrecovered', id, points,
                     points_reversed, points_unrecovered) AS violation
                FROM earn_orders
               WHERE refunded_fen = amount_fen AND points_claimed = 0
                 AND points <> points_reversed + points_unrecovered",
    },
    Invariant {
        name: "an exit's conversion funded what its ledger entries moved",
        sql: "SELECT format('exit of merchant %s: funded %s, booked %s', e.merchant_id, e.funded_fen,
                     coalesce(sum(m.amount), 0)) AS violation
                FROM merchant_exits e
                LEFT JOIN ledger_movements m ON m.kind = 'exit_conversion'
                     AND (m.metadata->>'merchant_id')::bigint = e.merchant_id AND m.asset = 'CNY'
               GROUP BY e.merchant_id, e.funded_fen
              HAVING e.funded_fen <> coalesce(sum(m.amount), 0)",
    },
    Invariant {
        name: "a converted exit leaves no points of its programme with members",
        sql: "SELECT format('merchant %s converted, %s %s points still held', e.merchant_id,
                     sum(b.credits_posted - b.debits_posted), p.code) AS violation
                FROM merchant_exits e
                JOIN programs p ON p.merchant_id = e.merchant_id
                JOIN ledger_balance_shards b ON b.asset = p.code AND b.purpose = 'wallet'
                                            AND b.owner_kind = 'member'
               WHERE e.converted_at IS NOT NULL
               GROUP BY e.merchant_id, p.code
              HAVING sum(b.credits_posted - b.debits_posted) <> 0",
    },
    Invariant {
        name: "a statement's closing is its opening plus its lines",
        sql: "SELECT format('statement %s: opening %s + activity %s <> closing %s, lines %s',
                     s.id, s.opening_fen, s.activity_fen, s.closing_fen,
                     coalesce(l.total, 0)) AS violation
                FROM settlement_statements s
                LEFT JOIN (SELECT statement_id,
                                  sum(CASE direction WHEN 'in' THEN amount_fen ELSE -amount_fen END) AS total
                             FROM settlement_lines GROUP BY statement_id) l ON l.statement_id = s.id
               WHERE s.opening_fen + s.activity_fen <> s.closing_fen
                  OR s.activity_fen <> coalesce(l.total, 0)",
    },
    Invariant {
        name: "a statement carries its closing less the platform's share and its payouts",
        sql: "SELECT format('statement %s: closing %s - fee %s - payouts %s <> carried %s', s.id,
                     s.closing_fen, s.platform_fee_fen, coalesce(p.paid, 0), s.carried_fen) AS violation
                FROM settlement_statements s
                LEFT JOIN (SELECT statement_id, sum(amount_fen) AS paid FROM payouts GROUP BY statement_id) p
                       ON p.statement_id = s.id
               WHERE s.closing_fen - s.platform_fee_fen - coalesce(p.paid, 0) <> s.carried_fen",
    },
    Invariant {
        name: "the house holds the CNY behind every outstanding ALP",
        sql: "WITH alp AS (
                SELECT -sum(credits_posted - debits_posted) AS outstanding
                  FROM ledger_balance_shards
                 WHERE asset = 'ALP' AND owner_kind = 'member'),
              held AS (
                SELECT sum(credits_posted - debits_posted) AS fen
                  FROM ledger_balance_shards
                 WHERE code = 'house:alp')
              SELECT format('house:alp holds %s fen for %s ALP at %s', held.fen, -alp.outstanding,
                     h.issue_price) AS violation
                FROM alp, held, hub_program h
               WHERE held.fen < floor(-alp.outstanding * h.issue_price * 100)",
    },
    Invariant {
        name: "a merchant's position is its last carried amount plus what no statement claimed",
        sql: "WITH positions AS (
                SELECT owner_id AS merchant_id, account_id,
                       sum(credits_posted - debits_posted) AS balance
                  FROM ledger_balance_shards
                 WHERE purpose = 'settlement' AND owner_kind = 'merchant'
                 GROUP BY owner_id, account_id),
              carried AS (
                SELECT DISTINCT ON (merchant_id) merchant_id, carried_fen
                  FROM settlement_statements ORDER BY merchant_id, period_start DESC),
              unclaimed AS (
                SELECT p.merchant_id,
                       sum(CASE WHEN m.credit_account_id = p.account_id THEN m.amount ELSE -m.amount END) AS amount
                  FROM positions p
                  JOIN ledger_movements m ON (m.credit_account_id = p.account_id OR m.debit_account_id = p.account_id)
                 WHERE NOT EXISTS (SELECT 1 FROM settlement_claims c WHERE c.transfer_id = m.transfer_id)
                 GROUP BY p.merchant_id)
              SELECT format('merchant %s: position %s, carried %s + unclaimed %s', p.merchant_id,
                     p.balance, coalesce(c.carried_fen, 0), coalesce(u.amount, 0)) AS violation
                FROM positions p
                LEFT JOIN carried c USING (merchant_id)
                LEFT JOIN unclaimed u USING (merchant_id)
               WHERE p.balance <> coalesce(c.carried_fen, 0) + coalesce(u.amount, 0)",
    },
];

#[derive(diesel::QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    violation: String,
}

/// A check that reads the books through the services; one line per violation.
type Check = fn(&mut PgConnection) -> anyhow::Result<Vec<String>>;

/// Checks that need the services' own reading of the books rather than one query.
const CHECKS: &[(&str, Check)] = &[
    (
        "the values in force bracket every settlement value (sell <= s <= buy)",
        rates_bracket_settlement_values,
    ),
    (
        "a leaving merchant's deposit covers its points, pending debits and debts",
        leaving_merchants_are_covered,
    ),
    (
        "no period is settled before it has ended",
        no_statement_ends_in_the_future,
    ),
];

fn rates_bracket_settlement_values(conn: &mut PgConnection) -> anyhow::Result<Vec<String>> {
    Ok(exchange::rates::current_all(conn)?
        .into_iter()
        .filter(|r| !(r.sell <= r.settlement && r.settlement <= r.buy))
        .map(|r| {
            format!(
                "{}: sell {} s {} buy {}",
                r.program_code, r.sell, r.settlement, r.buy
            )
        })
        .collect())
}

/// Exiting and exited merchants: the deposit covers everything until the last
/// point is converted, unless finance has an open shortfall alert for it (a
/// deposit too small converts what it funds and leaves the rest as points).
fn leaving_merchants_are_covered(conn: &mut PgConnection) -> anyhow::Result<Vec<String>> {
    let leaving: Vec<MerchantId> = merchants::table
        .filter(merchants::status.eq_any([Status::Exiting, Status::Exited]))
        .select(merchants::id)
        .load(conn)?;
    let mut uncovered = Vec::new();
    for merchant_id in leaving {
        let c = deposit::covered(conn, merchant_id)?;
        let needed = c.liability.fen() + c.pending.fen() + c.owed.fen();
        if c.deposit.fen() < needed
            && risk::unresolved(conn, exit::conversion::SHORTFALL_KIND, merchant_id)?.is_none()
        {
            uncovered.push(format!(
                "merchant {merchant_id}: deposit {} < liability {} + pending {} + owed {}",
                c.deposit, c.liability, c.pending, c.owed
            ));
        }
    }
    Ok(uncovered)
}

fn no_statement_ends_in_the_future(conn: &mut PgConnection) -> anyhow::Result<Vec<String>> {
    let today = shanghai::midnight(shanghai::date_of(clock::now()));
    Ok(settlement_statements::table
        .filter(settlement_statements::period_end.gt(today))
        .select((settlement_statements::id, settlement_statements::period_end))
        .load::<(i64, chrono::DateTime<chrono::Utc>)>(conn)?
        .into_iter()
        .map(|(id, end)| format!("statement {id} ends {end}, after today {today}"))
        .collect())
}

/// Every invariant that does not hold now; empty when all do.
pub fn check(conn: &mut PgConnection) -> anyhow::Result<Vec<Violation>> {
    let mut violations = Vec::new();
    for (name, check) in CHECKS {
        let details = check(conn)?;
        if !details.is_empty() {
            violations.push(Violation {
                invariant: name,
                details,
            });
        }
    }
    let report = ledger::verify(conn)?;
    if !report.is_clean() {
        violations.push(Violation {
            invariant: "the ledger verifies (balances equal transfers, debits equal credits, no overdraft)",
            details: vec![format!("{report:?}")],
        });
    }
    for invariant in INVARIANTS {
        let rows: Vec<Row> = sql_query(invariant.sql).load(conn)?;
        if !rows.is_empty() {
            violations.push(Violation {
                invariant: invariant.name,
                details: rows.into_iter().map(|r| r.violation).collect(),
            });
        }
    }
    Ok(violations)
}
