//! The SMS provider's HTTP API: one `POST` of `{"to": "+8613800000000",
//! "text": "…"}` to `ALLIANCE_SMS_URL` per message, with
//! `Authorization: Bearer ALLIANCE_SMS_TOKEN` when a token is set. Any 2xx
//! answer means the provider took the message. Mainland gateways (Aliyun,
//! Tencent Cloud) sit behind a small relay that speaks this form, so the
//! server carries no vendor SDK.

use std::time::Duration;

use secrecy::{ExposeSecret as _, SecretString};
use serde::Serialize;

/// A provider that has not answered by then is treated as down: the member
/// asks for a new code rather than waiting.
const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("the SMS provider could not be reached")]
    Unreachable(#[from] reqwest::Error),
    #[error("the SMS provider answered {0}")]
    Refused(reqwest::StatusCode),
}

#[derive(Clone)]
pub(super) struct Provider {
    client: reqwest::Client,
    url: reqwest::Url,
    token: Option<SecretString>,
}

#[derive(Serialize)]
struct Message<'a> {
    to: &'a str,
    text: &'a str,
}

impl Provider {
    pub(super) fn new(url: &SecretString, token: Option<SecretString>) -> anyhow::Result<Self> {
        let url = reqwest::Url::parse(url.expose_secret())
            .map_err(|e| anyhow::anyhow!("ALLIANCE_SMS_URL is not a valid URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            anyhow::bail!("ALLIANCE_SMS_URL must start with http:// or https://");
        }
        Ok(Self {
            client: crate::outbound::http_client(TIMEOUT),
            url,
            token,
        })
    }

    pub(super) async fn send(&self, to: &str, text: &str) -> Result<(), ProviderError> {
        let mut request = self
            .client
            .post(self.url.clone())
            .json(&Message { to, text });
        if let Some(token) = &self.token {
            request = request.bearer_auth(token.expose_secret());
        }
        let response = request.send().await?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(ProviderError::Refused(response.status()))
        }
    }
}

/// The URL may carry credentials (a key in the query): never print it.
impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider").finish_non_exhaustive()
    }
}
