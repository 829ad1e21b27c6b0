//! The books (账簿): the trial balance per asset, the last `ledger verify` and a
//! button to run it now, and a ledger explorer (an account's statement, a journal
//! entry and its transfers).

use std::collections::BTreeMap;

use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::{
    domain::{
        id::{JournalEntryId, TransferId},
        money::Money,
    },
    i18n::Locale,
    i18n::format,
    ledger::{self, Finding, TrialRow},
    people::operator::OperatorRole,
    web::{
        auth::{OperatorPrincipal, Signed},
        context::{PageContext, set_flash},
        csrf::{CsrfForm, NoFields},
        error::WebError,
        page::{Chrome, FlashKind},
        state::AppState,
    },
};

use super::super::see_other;

/// Who may read the books.
pub(super) const BOOK_READERS: &[OperatorRole] = &[
    OperatorRole::Admin,
    OperatorRole::Finance,
    OperatorRole::Risk,
];
/// Who may run `ledger verify` from the page.
const VERIFIERS: &[OperatorRole] = &[OperatorRole::Admin, OperatorRole::Finance];
/// Statement lines per page.
const PAGE_SIZE: u16 = 50;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(show_books)
        .service(verify_now)
        .service(show_account)
        .service(show_entry);
}

/// An amount of an asset as it reads: yuan for CNY (scale 2), whole points else.
fn amount(scale: i16, minor: i64) -> String {
    if scale == 2 {
        format::money(Money::from_fen(minor))
    } else {
        format::count(minor)
    }
}

/// What a group of accounts is called.
fn group_label(locale: Locale, row: &TrialRow) -> String {
    if let Some(code) = &row.code {
        return code.clone();
    }
    let key = match (row.owner_kind.as_str(), row.purpose.as_str()) {
        ("merchant", "deposit") => "books.group.merchant_deposit",
        ("merchant", "settlement") => "books.group.merchant_settlement",
        ("program", "issuance") => "books.group.program_issuance",
        ("program", "breakage") => "books.group.program_breakage",
        ("member", "wallet") => "books.group.member_wallet",
        _ => "",
    };
    let name = if key.is_empty() {
        format!("{}:{}", row.owner_kind, row.purpose)
    } else {
        locale.t(key).into_owned()
    };
    if row.owner_kind == "program" && row.accounts == 1 {
        name
    } else {
        format!("{name} ({})", format::count(row.accounts))
    }
}

pub struct RowView {
    pub label: String,
    /// Set for a house account: links to the explorer.
    pub code: Option<String>,
    pub debits: String,
    pub credits: String,
    pub balance: String,
}

pub struct AssetView {
    pub asset: String,
    pub name: String,
    pub rows: Vec<RowView>,
    pub debits: String,
    pub credits: String,
    pub balance: String,
    pub balanced: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "platform/books.html")]
struct BooksPage {
    chrome: Chrome,
    assets: Vec<AssetView>,
    /// When the books were last proven, and whether they were clean.
    last_verify: Option<(String, bool)>,
    /// What the last verification found, at most `FINDINGS_SHOWN`.
    findings: Vec<FindingRow>,
    /// Findings beyond those shown.
    findings_more: usize,
    can_verify: bool,
}

/// Enough to start an investigation; the full list is in the database row.
const FINDINGS_SHOWN: usize = 50;

/// One finding of `ledger verify`, in words.
pub struct FindingRow {
    pub what: String,
    /// The account's code (or id) or the asset.
    pub subject: String,
    pub detail: String,
}

impl FindingRow {
    fn of(finding: &Finding, locale: Locale) -> Self {
        let what = |kind: &str| locale.t(&format!("books.finding.{kind}")).into_owned();
        let account =
            |code: Option<&str>, id: i64| code.map_or_else(|| format!("#{id}"), str::to_owned);
        match finding {
            Finding::BalanceMismatch {
                account_id,
                code,
                shard,
                stored,
                from_transfers,
            } => Self {
                what: what("balance_mismatch"),
                subject: format!("{} / {shard}", account(code.as_deref(), *account_id)),
                detail: locale.t_with(
                    "books.finding.balance_mismatch_detail",
                    &[
                        ("stored", &counters(stored)),
                        ("transfers", &counters(from_transfers)),
                    ],
                ),
            },
            Finding::AssetUnbalanced {
                asset,
                debits_posted,
                credits_posted,
                debits_pending,
                credits_pending,
            } => Self {
                what: what("asset_unbalanced"),
                subject: asset.clone(),
                detail: counters(&[
                    *debits_posted,
                    *credits_posted,
                    *debits_pending,
                    *credits_pending,
                ]),
            },
            Finding::Overdrawn {
                account_id,
                code,
                available,
            } => Self {
                what: what("overdrawn"),
                subject: account(Some(code), *account_id),
                detail: locale.t_with(
                    "books.finding.overdrawn_detail",
                    &[("available", &available.to_string())],
                ),
            },
            Finding::BadResolution {
                transfer_id,
                pending_id,
                reason,
            } => Self {
                what: what("bad_resolution"),
                subject: format!("#{transfer_id} → #{pending_id}"),
                detail: reason.clone(),
            },
        }
    }
}

/// Debits and credits, posted then pending, in minor units: `D 10 / C 12 · D 0 / C 0`.
fn counters(values: &[i64; 4]) -> String {
    let [dp, cp, dq, cq] = values;
    format!("D {dp} / C {cp} · D {dq} / C {cq}")
}

#[get("/books")]
async fn show_books(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
) -> Result<BooksPage, WebError> {
    who.require(BOOK_READERS)?;
    let (rows, names, last) = state
        .db(|conn| {
            Ok::<_, WebError>((
                ledger::trial_balance(conn)?,
                ledger::asset_names(conn)?,
                ledger::last_verification(conn)?,
            ))
        })
        .await?;
    let locale = ctx.locale;
    let mut assets: Vec<AssetView> = Vec::new();
    let mut totals: BTreeMap<String, (i16, i64, i64)> = BTreeMap::new();
    for row in &rows {
        if assets.last().is_none_or(|a| a.asset != row.asset) {
            assets.push(AssetView {
                asset: row.asset.clone(),
                name: names.get(&row.asset).cloned().unwrap_or_default(),
                rows: Vec::new(),
                debits: String::new(),
                credits: String::new(),
                balance: String::new(),
                balanced: true,
            });
        }
        let total = totals.entry(row.asset.clone()).or_insert((row.scale, 0, 0));
        total.1 += row.debits_posted;
        total.2 += row.credits_posted;
        if let Some(view) = assets.last_mut() {
            view.rows.push(RowView {
                label: group_label(locale, row),
                code: row.code.clone(),
                debits: amount(row.scale, row.debits_posted),
                credits: amount(row.scale, row.credits_posted),
                balance: amount(row.scale, row.balance()),
            });
        }
    }
    for view in &mut assets {
        if let Some(&(scale, debits, credits)) = totals.get(&view.asset) {
            view.debits = amount(scale, debits);
            view.credits = amount(scale, credits);
            view.balance = amount(scale, credits - debits);
            view.balanced = credits == debits;
        }
    }
    Ok(BooksPage {
        chrome: super::chrome(&ctx, &who, "/platform/books"),
        assets,
        findings: last
            .iter()
            .flat_map(|v| &v.findings)
            .take(FINDINGS_SHOWN)
            .map(|f| FindingRow::of(f, locale))
            .collect(),
        findings_more: last
            .as_ref()
            .map_or(0, |v| v.findings.len().saturating_sub(FINDINGS_SHOWN)),
        last_verify: last.map(|v| (format::datetime(v.finished_at, locale), v.clean)),
        can_verify: VERIFIERS.contains(&who.operator.role),
    })
}

/// Runs `ledger verify` now (on the blocking pool) and flashes the result.
#[post("/books/verify")]
async fn verify_now(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<HttpResponse, WebError> {
    who.require(VERIFIERS)?;
    let report = state.db(ledger::verify).await?;
    if report.is_clean() {
        set_flash(&ctx.session, FlashKind::Success, "books.flash.clean");
    } else {
        tracing::warn!(
            findings = report.findings.len(),
            "ledger verify found problems"
        );
        set_flash(&ctx.session, FlashKind::Error, "books.flash.findings");
    }
    Ok(see_other("/platform/books"))
}

#[derive(Deserialize)]
struct AccountQuery {
    code: Option<String>,
    before: Option<i64>,
}

pub struct LineView {
    pub at: String,
    pub kind: String,
    pub entry_id: i64,
    pub counterparty: String,
    pub amount: String,
    pub balance_after: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "platform/books_account.html")]
struct AccountPage {
    chrome: Chrome,
    code: String,
    /// The code was given but no account has it.
    unknown: bool,
    /// The account's asset and current balance, when found.
    found: Option<(String, String)>,
    lines: Vec<LineView>,
    older: Option<String>,
}

#[get("/books/accounts")]
async fn show_account(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    query: web::Query<AccountQuery>,
) -> Result<AccountPage, WebError> {
    who.require(BOOK_READERS)?;
    let AccountQuery { code, before } = query.into_inner();
    let code = code.unwrap_or_default().trim().to_owned();
    let mut page = AccountPage {
        chrome: super::chrome(&ctx, &who, "/platform/books"),
        code: code.clone(),
        unknown: false,
        found: None,
        lines: Vec::new(),
        older: None,
    };
    if code.is_empty() {
        return Ok(page);
    }
    let looked_up = state
        .db(move |conn| {
            let Some(account) = ledger::find_account(conn, &code)? else {
                return Ok::<_, WebError>(None);
            };
            let scale = ledger::asset_scale(conn, &account.asset)?;
            let balance = ledger::balance(conn, account.id)?;
            let statement = ledger::statement(conn, account.id, before.map(TransferId), PAGE_SIZE)?;
            let others: Vec<_> = statement.lines.iter().map(|l| l.counterparty).collect();
            let codes = ledger::account_codes(conn, &others)?;
            Ok(Some((account, scale, balance, statement, codes)))
        })
        .await?;
    let Some((account, scale, balance, statement, codes)) = looked_up else {
        page.unknown = true;
        return Ok(page);
    };
    let locale = ctx.locale;
    page.found = Some((account.asset.clone(), amount(scale, balance.posted())));
    page.lines = statement
        .lines
        .iter()
        .map(|l| LineView {
            at: format::datetime(l.at, locale),
            kind: l.kind.clone(),
            entry_id: l.entry_id.0,
            counterparty: codes.get(&l.counterparty).cloned().unwrap_or_default(),
            amount: amount(scale, l.amount),
            balance_after: amount(scale, l.balance_after),
        })
        .collect();
    page.older = statement.next_before.map(|b| {
        format!(
            "/platform/books/accounts?code={}&before={}",
            urlencoding(&account.code),
            b.0
        )
    });
    Ok(page)
}

/// Percent-encodes a query value (account codes hold `:` and word characters).
fn urlencoding(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub struct TransferRowView {
    pub debit: String,
    pub credit: String,
    pub asset: String,
    pub amount: String,
    pub phase: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "platform/books_entry.html")]
struct EntryPage {
    chrome: Chrome,
    id: i64,
    key: String,
    kind: String,
    at: String,
    /// Set when the entry was booked later than it happened (imported history).
    booked_at: Option<String>,
    metadata: String,
    transfers: Vec<TransferRowView>,
}

#[get("/books/entries/{id}")]
async fn show_entry(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<EntryPage, WebError> {
    who.require(BOOK_READERS)?;
    let id = JournalEntryId(id.into_inner());
    let (entry, transfers) = state
        .db(move |conn| ledger::entry_with_transfers(conn, id))
        .await?
        .ok_or(WebError::NotFound)?;
    Ok(EntryPage {
        chrome: super::chrome(&ctx, &who, "/platform/books"),
        id: entry.id,
        key: entry.idempotency_key,
        kind: entry.kind,
        at: format::datetime(entry.effective_at, ctx.locale),
        booked_at: (entry.created_at != entry.effective_at)
            .then(|| format::datetime(entry.created_at, ctx.locale)),
        metadata: serde_json::to_string_pretty(&entry.metadata).unwrap_or_default(),
        transfers: transfers
            .into_iter()
            .map(|t| TransferRowView {
                amount: amount(t.scale, t.amount),
                debit: t.debit_code,
                credit: t.credit_code,
                asset: t.asset,
                phase: t.phase,
            })
            .collect(),
    })
}
