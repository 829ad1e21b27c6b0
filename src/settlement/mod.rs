//! Periodic settlement of merchants' positions; see LEDGER.md "Settle".

pub mod payout_file;
pub mod split;
