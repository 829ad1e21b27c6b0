//! Alliance — a points-alliance clearing house (积分联盟清算中心).
//!
//! Dependencies point one way: `cli`/`startup` (HTTP, jobs) → domain services →
//! `ledger`/`db` → `domain`.

pub mod api;
pub mod approval;
pub mod audit;
pub mod bench;
pub mod campaign;
pub mod catalog;
pub mod chart;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod dataset;
pub mod db;
pub mod demo;
pub mod deposit;
pub mod domain;
pub mod earn;
pub mod email;
pub mod error;
pub mod exchange;
pub mod exit;
pub mod export;
pub mod i18n;
pub mod import;
pub mod jobs;
pub mod ledger;
pub mod merchant;
pub mod onboarding;
pub mod outbound;
pub mod overview;
pub mod people;
pub mod portals;
pub mod program;
pub mod redemption;
pub mod report;
pub mod risk;
pub mod settlement;
pub mod sim;
pub mod sms;
pub mod spreadsheet;
pub mod startup;
pub mod telemetry;
pub mod wallet;
pub mod web;
pub mod webhook;

rust_i18n::i18n!("locales", fallback = "zh-CN");
