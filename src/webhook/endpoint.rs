//! Where a merchant wants its webhooks (settlement ready, payout sent, deposit
//! low): one URL per merchant, set or cleared by its owner. Notices carry
//! settlement figures, so they go over TLS, and only to public addresses;
//! plain http only to allow-listed hosts, outside production (see
//! `webhook::target`).

use diesel::prelude::*;
use serde_json::json;
use url::Url;

use super::{Policy, target::Refusal};
use crate::{
    audit::{self, Change},
    crypto::{self, Keys},
    db::schema::merchants,
    domain::{actor::Actor, id::MerchantId},
};

/// Binds a sealed webhook secret to its column: a ciphertext copied elsewhere
/// does not open.
const SECRET_AAD: &[u8] = b"merchant.webhook_secret";

const MAX_URL_CHARS: usize = 2000;

/// A URL webhooks may be sent to, normalised (`HTTPS://Example.cn` →
/// `https://example.cn/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidWebhookUrl {
    #[error("not a complete http(s) URL")]
    NotAUrl,
    #[error("webhooks need https")]
    NotHttps,
    /// The host is, or resolves to, an address inside a network (loopback,
    /// private, link-local, metadata services…).
    #[error("the host is not a public address")]
    NotPublic,
    /// Requests are signed, so a user name or password in the URL adds nothing
    /// but a credential shown on every page that lists the URL.
    #[error("the URL carries a user name or password")]
    Credentials,
    #[error("the URL is longer than 2000 characters")]
    TooLong,
}

impl WebhookUrl {
    /// Checks the form of the URL: an http(s) URL without credentials. Whether
    /// it may be used here is `vet`'s question.
    pub fn parse(input: &str) -> Result<Self, InvalidWebhookUrl> {
        let text = input.trim();
        if text.chars().count() > MAX_URL_CHARS {
            return Err(InvalidWebhookUrl::TooLong);
        }
        let url = Url::parse(text).map_err(|_| InvalidWebhookUrl::NotAUrl)?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(InvalidWebhookUrl::NotAUrl);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(InvalidWebhookUrl::Credentials);
        }
        Ok(Self(url.into()))
    }

    /// Parses the URL and checks it against the deployment's policy, resolving
    /// its host now. A name that does not resolve yet is accepted (the merchant
    /// may set up its DNS after saving): every delivery checks again anyway.
    pub async fn vet(input: &str, policy: &Policy) -> Result<Self, InvalidWebhookUrl> {
        let url = Self::parse(input)?;
        let parsed = Url::parse(&url.0).map_err(|_| InvalidWebhookUrl::NotAUrl)?;
        match policy.pin(&parsed).await {
            Ok(_) | Err(Refusal::Unresolved(_)) => Ok(url),
            Err(Refusal::NotHttps) => Err(InvalidWebhookUrl::NotHttps),
            Err(Refusal::NotPublic(_)) => Err(InvalidWebhookUrl::NotPublic),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The merchant's webhook URL, if it set one.
pub fn of_merchant(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
) -> QueryResult<Option<String>> {
    Ok(merchants::table
        .find(merchant_id)
        .select(merchants::webhook_url)
        .first::<Option<String>>(conn)
        .optional()?
        .flatten())
}

/// Sets the URL, or clears it with None (no webhooks are sent). Audited when it
/// changes.
#[tracing::instrument(skip_all, fields(merchant_id = %merchant_id))]
pub fn set(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
    url: Option<&WebhookUrl>,
) -> QueryResult<()> {
    let after = url.map(WebhookUrl::as_str);
    conn.transaction(|conn| {
        let before: Option<String> = merchants::table
            .find(merchant_id)
            .select(merchants::webhook_url)
            .for_update()
            .first(conn)?;
        if before.as_deref() == after {
            return Ok(());
        }
        diesel::update(merchants::table.find(merchant_id))
            .set(merchants::webhook_url.eq(after))
            .execute(conn)?;
        let action = if after.is_some() {
            "webhook.set"
        } else {
            "webhook.clear"
        };
        audit::record(
            conn,
            actor,
            Change::new(action, "merchant", merchant_id)
                .before(json!({ "webhook_url": before }))
                .after(json!({ "webhook_url": after })),
        )
    })
}

/// Whether the merchant has a webhook secret (it is never shown again).
pub fn has_secret(conn: &mut PgConnection, merchant_id: MerchantId) -> QueryResult<bool> {
    Ok(merchants::table
        .find(merchant_id)
        .select(merchants::webhook_secret_ciphertext.is_not_null())
        .first(conn)
        .optional()?
        .unwrap_or(false))
}

/// Opens a sealed secret; None when it does not open (the key changed), which
/// leaves the merchant to rotate it.
pub fn open_secret(keys: &Keys, sealed: &[u8]) -> Option<String> {
    String::from_utf8(keys.decrypt(sealed, SECRET_AAD).ok()?).ok()
}

/// Generates a new secret, replacing any other at once (webhooks signed with
/// the old one stop), and returns it to be shown once. Audited, without the
/// secret.
#[tracing::instrument(skip_all, fields(merchant_id = %merchant_id))]
pub fn rotate_secret(
    conn: &mut PgConnection,
    keys: &Keys,
    actor: &Actor,
    merchant_id: MerchantId,
) -> QueryResult<String> {
    let secret = format!("whsec_{}", crypto::random_token());
    conn.transaction(|conn| {
        let had = has_secret(conn, merchant_id)?;
        diesel::update(merchants::table.find(merchant_id))
            .set(
                merchants::webhook_secret_ciphertext
                    .eq(keys.encrypt(secret.as_bytes(), SECRET_AAD)),
            )
            .execute(conn)?;
        audit::record(
            conn,
            actor,
            Change::new("webhook.secret_rotated", "merchant", merchant_id)
                .before(json!({ "had_secret": had })),
        )
    })?;
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_urls_are_accepted_and_normalised() {
        assert_eq!(
            WebhookUrl::parse(" HTTPS://Hooks.Example.cn/alliance?x=1 ")
                .unwrap()
                .as_str(),
            "https://hooks.example.cn/alliance?x=1"
        );
        assert_eq!(
            WebhookUrl::parse("https://example.cn").unwrap().as_str(),
            "https://example.cn/"
        );
    }

    #[tokio::test]
    async fn plain_http_and_internal_hosts_are_vetted() {
        let policy = Policy {
            production: false,
            allow_hosts: vec!["127.0.0.1".to_owned()],
        };
        let vet = |url: &'static str| {
            let policy = policy.clone();
            async move { WebhookUrl::vet(url, &policy).await }
        };
        assert!(vet("http://127.0.0.1:9000/hook").await.is_ok());
        for url in ["http://example.cn/hook", "http://10.0.0.1/hook"] {
            assert_eq!(vet(url).await, Err(InvalidWebhookUrl::NotHttps), "{url}");
        }
        for url in [
            "https://127.0.0.2/hook",
            "https://10.0.0.1/hook",
            "https://0x7f000002/",
        ] {
            assert_eq!(vet(url).await, Err(InvalidWebhookUrl::NotPublic), "{url}");
        }
    }

    #[test]
    fn other_things_are_refused_with_the_reason() {
        for url in [
            "",
            "example.cn/hook",
            "https://",
            "ftp://example.cn/hook",
            "javascript:alert(1)",
            "mailto:ops@example.cn",
        ] {
            assert_eq!(
                WebhookUrl::parse(url),
                Err(InvalidWebhookUrl::NotAUrl),
                "{url}"
            );
        }
        assert_eq!(
            WebhookUrl::parse("https://user:pass@example.cn/hook"),
            Err(InvalidWebhookUrl::Credentials)
        );
        let long = format!("https://example.cn/{}", "a".repeat(MAX_URL_CHARS));
        assert_eq!(WebhookUrl::parse(&long), Err(InvalidWebhookUrl::TooLong));
    }
}
