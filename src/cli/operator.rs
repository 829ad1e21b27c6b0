//! `alliance operator create`: how the first admin comes to exist. Later operators
//! can be invited from the platform portal, but someone has to sign in to it first.
//! `alliance operator reset-second-factor`: the way back in for an operator who
//! lost both their authenticator and their recovery codes.

use std::env::{self, VarError};

use anyhow::{Context, anyhow, bail};
use clap::Args;
use diesel::PgConnection;

use crate::{
    crypto,
    domain::{actor::Actor, email_address::EmailAddress, password::NewPassword},
    people::{
        PeopleError,
        operator::{self, NewOperator, Operator, OperatorRole},
        second_factor,
    },
};

/// The password is read from here rather than from an argument, which would show
/// in the shell history and the process list.
const PASSWORD_VAR: &str = "ALLIANCE_OPERATOR_PASSWORD";

#[derive(Debug, Args)]
#[command(
    after_help = "The password is ALLIANCE_OPERATOR_PASSWORD if that is set; otherwise a \
    random one is generated and printed, only this once."
)]
pub struct CreateArgs {
    /// The address they sign in with.
    #[arg(long)]
    email: String,
    /// admin, operator, finance or risk.
    #[arg(long, value_parser = parse_role)]
    role: OperatorRole,
    /// The name the portal and the audit log show [default: the part of the email
    /// before the @].
    #[arg(long)]
    name: Option<String>,
}

fn parse_role(input: &str) -> Result<OperatorRole, String> {
    OperatorRole::parse(input).ok_or_else(|| {
        let roles: Vec<&str> = OperatorRole::ALL.iter().map(|r| r.as_str()).collect();
        format!("expected one of {}", roles.join(", "))
    })
}

/// Creates the operator, audited as `system:cli`, and prints it; a generated
/// password is printed too, this once, since nothing stores it in the clear.
pub fn create(conn: &mut PgConnection, args: &CreateArgs) -> anyhow::Result<()> {
    let email =
        EmailAddress::parse(&args.email).with_context(|| format!("--email {:?}", args.email))?;
    let (password, generated) = match given_password()? {
        Some(password) => (password, false),
        None => (generated_password(), true),
    };
    // Shown only once the operator exists: a refused create must not print it.
    let to_show = generated.then(|| password.expose().to_owned());
    let new = NewOperator {
        display_name: args.name.clone().unwrap_or_else(|| local_part(&email)),
        email,
        role: args.role,
        password: Some(password),
    };
    let created = operator::create(conn, &Actor::system("cli"), &new).map_err(|e| match e {
        PeopleError::EmailTaken => {
            anyhow!("an operator with the email {} already exists", new.email)
        }
        other => anyhow!(other).context("cannot create the operator"),
    })?;
    println!(
        "operator #{} created: {} ({})",
        created.id,
        created.email,
        args.role.as_str()
    );
    match to_show {
        Some(password) => print_generated(&password),
        None => println!("password: as given in {PASSWORD_VAR}"),
    }
    Ok(())
}

/// `ALLIANCE_OPERATOR_PASSWORD`, which must meet the password rules; None if unset.
fn given_password() -> anyhow::Result<Option<NewPassword>> {
    let text = match env::var(PASSWORD_VAR) {
        Ok(text) => text,
        Err(VarError::NotPresent) => return Ok(None),
        Err(VarError::NotUnicode(_)) => bail!("{PASSWORD_VAR} is not valid UTF-8"),
    };
    NewPassword::parse(&text)
        .map(Some)
        .map_err(|weak| anyhow!("{PASSWORD_VAR} is too weak: {weak}"))
}

/// 256 random bits. About one token in 1,500 has no digit, which the password
/// rules require; such a token is simply drawn again.
fn generated_password() -> NewPassword {
    std::iter::repeat_with(crypto::random_token)
        .find_map(|token| NewPassword::parse(&token).ok())
        .expect("repeat_with never ends")
}

fn print_generated(password: &str) {
    println!("password: {password}");
    println!(
        "This password is shown only this once. Sign in at /platform/sign-in, then change it \
         through /platform/password-reset (the link is emailed, or written to the outbox \
         directory when no SMTP server is configured)."
    );
}

fn local_part(email: &EmailAddress) -> String {
    let address = email.as_str();
    address
        .split_once('@')
        .map_or(address, |(local, _)| local)
        .to_owned()
}

#[derive(Debug, Args)]
pub struct ResetSecondFactorArgs {
    /// The operator who is locked out.
    #[arg(long)]
    email: String,
    /// The admin on whose authority this is done (recorded in the audit log);
    /// not the same person.
    #[arg(long)]
    by: String,
}

/// Removes the operator's second factor, audited as the admin named by `--by`.
pub fn reset_second_factor(
    conn: &mut PgConnection,
    args: &ResetSecondFactorArgs,
) -> anyhow::Result<()> {
    let target = by_email(conn, &args.email)?;
    let admin = by_email(conn, &args.by)?;
    if !(admin.active && admin.is_admin()) {
        bail!("{} is not an active admin", admin.email);
    }
    if admin.id == target.id {
        bail!("an admin cannot reset their own second factor; ask another admin");
    }
    let removed = second_factor::reset(conn, &admin.actor(None), target.id)?;
    if removed {
        println!(
            "second factor of {} removed; they set a new one up at their next sign-in",
            target.email
        );
    } else {
        println!("{} had no second factor; nothing to remove", target.email);
    }
    Ok(())
}

fn by_email(conn: &mut PgConnection, input: &str) -> anyhow::Result<Operator> {
    let email = EmailAddress::parse(input).with_context(|| format!("{input:?}"))?;
    operator::list(conn)?
        .into_iter()
        .find(|o| o.email == email.as_str())
        .ok_or_else(|| anyhow!("no operator has the email {email}"))
}
