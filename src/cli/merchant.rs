//! `alliance merchant api-key create`: issues a partner-API key from operators'
//! scripts (setting up a strategic merchant's integration), the same key the
//! owner could create in the merchant console.

use std::process::ExitCode;

use anyhow::anyhow;
use clap::{Args, Subcommand};
use secrecy::ExposeSecret as _;

use crate::{
    config::Config,
    crypto::Keys,
    domain::actor::Actor,
    merchant::{
        self,
        api_key::{self, ApiKeyError, KeyLabel},
    },
};

use super::connect;

#[derive(Debug, Subcommand)]
pub enum MerchantCommand {
    /// Partner-API keys.
    ApiKey {
        #[command(subcommand)]
        command: ApiKeyCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create a key for a strategic merchant; its secret is printed only this once.
    Create(CreateApiKeyArgs),
}

#[derive(Debug, Args)]
pub struct CreateApiKeyArgs {
    /// The merchant's code, e.g. BREW.
    #[arg(long, value_name = "CODE")]
    merchant: String,
    /// What the key is for, as the merchant console lists it (at most 60
    /// characters).
    #[arg(long, value_name = "TEXT", default_value = "alliance CLI")]
    label: String,
}

impl MerchantCommand {
    pub fn run(self, config: &Config) -> anyhow::Result<ExitCode> {
        match self {
            Self::ApiKey {
                command: ApiKeyCommand::Create(args),
            } => create_api_key(config, &args).map(|()| ExitCode::SUCCESS),
        }
    }
}

fn create_api_key(config: &Config, args: &CreateApiKeyArgs) -> anyhow::Result<()> {
    let label =
        KeyLabel::parse(&args.label).map_err(|e| anyhow!("--label {:?}: {e}", args.label))?;
    let conn = &mut connect(config)?;
    let merchant = merchant::find_by_code(conn, &args.merchant)?
        .ok_or_else(|| anyhow!("no merchant has the code {:?}", args.merchant))?;
    // The server decrypts the secret with keys derived the same way.
    let keys = Keys::derive(config.secret_key());
    // Filed under the merchant, so its audit trail shows the key.
    let actor = Actor {
        merchant_id: Some(merchant.id),
        ..Actor::system("cli")
    };
    let issued = api_key::create(conn, &keys, &actor, &merchant, &label).map_err(|e| match e {
        ApiKeyError::NoApiAccess => anyhow!(
            "merchant {} is on the {} tier: only strategic merchants may use the partner \
                 API; change its tier first",
            merchant.code,
            merchant.tier
        ),
        ApiKeyError::MerchantNotActive => anyhow!(
            "merchant {} is {}: API keys are only for active merchants",
            merchant.code,
            merchant.status
        ),
        other => anyhow!(other).context("cannot create the API key"),
    })?;
    println!(
        "API key created for {}, labelled {:?}",
        merchant.code, issued.key.label
    );
    println!("key id: {}", issued.key.key_id);
    println!("secret: {}", issued.secret.expose_secret());
    println!(
        "The secret is shown only this once and cannot be shown again: hand it to the \
         merchant's integration now. If it leaks, revoke the key in the merchant console."
    );
    Ok(())
}
