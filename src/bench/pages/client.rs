//! A person's browser, as the bench drives it: signs in through the real forms
//! (the operator's second factor included) and times GETs.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use reqwest::{StatusCode, header::LOCATION, redirect::Policy};

use crate::people::second_factor::NextCode;

/// Where an operator asked for a second factor is sent.
const ENROL: &str = "/platform/second-factor/enrol";
const CHALLENGE: &str = "/platform/second-factor";

/// One person's cookies on one server.
pub struct Browser {
    client: reqwest::Client,
    base: String,
}

/// A timed GET.
pub struct Fetched {
    pub status: StatusCode,
    pub body: String,
    /// From sending the request to the last byte of the body.
    pub elapsed: Duration,
}

impl Browser {
    pub fn new(base: &str) -> anyhow::Result<Self> {
        Ok(Self {
            client: reqwest::Client::builder()
                .cookie_store(true)
                // A redirect is an answer to report, not to follow.
                .redirect(Policy::none())
                .build()?,
            base: base.trim_end_matches('/').to_owned(),
        })
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Fetched> {
        let start = Instant::now();
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .with_context(|| format!("GET {path}"))?;
        let status = response.status();
        let body = response.text().await?;
        Ok(Fetched {
            status,
            body,
            elapsed: start.elapsed(),
        })
    }

    /// Signs in at `portal`'s form. An operator asked for a second factor
    /// types the code `code` gives, as their authenticator would show it
    /// (setting the factor up first when the server asks for that). Whether
    /// the factor was set up here, so that it can be removed again.
    pub async fn sign_in(
        &self,
        portal: &str,
        identifier: &str,
        password: &str,
        code: impl FnOnce() -> anyhow::Result<NextCode>,
    ) -> anyhow::Result<SignedIn> {
        let path = format!("/{portal}/sign-in");
        let token = self.form(&path).await?;
        let (_, answer) = self
            .post(
                &path,
                &[
                    ("csrf_token", &token),
                    ("identifier", identifier),
                    ("password", password),
                ],
            )
            .await?;
        let (step, done) = match answer.as_deref() {
            Some(ENROL) => (ENROL, SignedIn::Enrolled),
            Some(CHALLENGE) => (CHALLENGE, SignedIn::WithCode),
            Some(_) => return Ok(SignedIn::WithPassword),
            None => bail!("{identifier} could not sign in at {path} (wrong password?)"),
        };
        // The enrolment page creates the secret the code is made from.
        let token = self.form(step).await?;
        let code = code()?;
        wait_until(code.usable_from).await;
        let (status, next) = self
            .post(step, &[("csrf_token", &token), ("code", &code.code)])
            .await?;
        // A code is taken with a redirect onwards; setting up ends on the
        // page of recovery codes, signed in.
        let accepted = match done {
            SignedIn::Enrolled => status == StatusCode::OK,
            _ => next.is_some_and(|to| to != CHALLENGE),
        };
        if !accepted {
            bail!("{identifier}'s second-factor code was refused ({status})");
        }
        Ok(done)
    }

    /// The CSRF token of the form at `path`.
    async fn form(&self, path: &str) -> anyhow::Result<String> {
        let form = self.get(path).await?;
        if !form.status.is_success() {
            bail!("GET {path} answered {}", form.status);
        }
        csrf_token(&form.body).with_context(|| format!("no form at {path}"))
    }

    /// Posts `fields`: the status, and where it redirects to, if it does.
    async fn post(
        &self,
        path: &str,
        fields: &[(&str, &str)],
    ) -> anyhow::Result<(StatusCode, Option<String>)> {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .form(fields)
            .send()
            .await
            .with_context(|| format!("POST {path}"))?;
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|to| to.to_str().ok())
            .map(str::to_owned);
        Ok((response.status(), location))
    }
}

/// How a sign-in went through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignedIn {
    WithPassword,
    WithCode,
    /// The operator had no second factor: the bench set one up.
    Enrolled,
}

fn csrf_token(body: &str) -> Option<String> {
    let marker = "name=\"csrf_token\" value=\"";
    let start = body.find(marker)? + marker.len();
    Some(body[start..].split('"').next()?.to_owned())
}

/// Sleeps until the Unix second `at`, when a code of a later step is taken.
async fn wait_until(at: u64) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    if at > now {
        tokio::time::sleep(Duration::from_secs(at - now)).await;
    }
}
