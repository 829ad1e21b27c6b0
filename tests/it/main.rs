//! Integration tests against a real PostgreSQL (and, where marked, a real server).
//! One binary, so the suite links once; every test has its own database.

mod api_support;
mod exchange_support;
mod harness;
mod ledger_support;
mod people_support;
mod settlement_support;

mod api_end_to_end;
mod api_exchange;
mod api_idempotency;
mod api_members;
mod api_openapi;
mod api_redemption;
mod api_signatures;
mod browser;
mod catalog_merchant;
mod cli;
mod demo;
mod deposits;
mod earning;
mod earning_portals;
mod exchange;
mod exchange_consumer;
mod exchange_platform;
mod ledger_concurrency;
mod ledger_database_guards;
mod ledger_entries;
mod ledger_invariants;
mod merchant_admin;
mod migrations;
mod onboarding;
mod payout_file;
mod portal_authorization;
mod portal_flows;
mod portal_sign_in;
mod program_settings;
mod redemption;
mod redemption_cashier;
mod reward_caps;
mod rewards_consumer;
mod risk_earning;
mod server;
mod settlement;
mod settlement_portals;
