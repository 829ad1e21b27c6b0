//! Integration tests against a real PostgreSQL (and, where marked, a real server).
//! One binary, so the suite links once; every test has its own database.

mod harness;
mod ledger_support;
mod people_support;

mod browser;
mod cli;
mod demo;
mod deposits;
mod earning;
mod ledger_concurrency;
mod ledger_database_guards;
mod ledger_entries;
mod ledger_invariants;
mod merchant_admin;
mod migrations;
mod onboarding;
mod portal_authorization;
mod portal_flows;
mod portal_sign_in;
mod program_settings;
mod risk_earning;
mod server;
