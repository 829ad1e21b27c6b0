//! Periodic settlement of each merchant's position with the house (LEDGER.md,
//! "Settle"; PRODUCT.md, merchant portal 5–6): cycles, statements that reconcile
//! to the ledger, payouts split among recipients (分账) and sent to the bank as
//! CSV and pain.001 files, collections of what merchants owe.

pub mod collection;
pub mod cycle;
pub mod estimate;
pub mod notify;
pub mod payout;
pub mod payout_file;
pub mod recipients;
pub mod run;
pub mod split;
pub mod statement;
pub mod statement_file;
pub mod terms;
