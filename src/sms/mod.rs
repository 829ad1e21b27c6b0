//! Text messages (SMS): what the system sends to mobile numbers and how it
//! leaves.
//!
//! Each message is a type implementing [`Sms`]: its text in the recipient's
//! language, with strings from `locales/sms.yml`. [`SmsSender`] hands it to a
//! transport: the provider's HTTP API when `ALLIANCE_SMS_URL` is set (see
//! `provider`), otherwise one `.txt` file per message in the outbox folder, or
//! an in-memory outbox that tests read. Mirrors `crate::email`.

mod provider;

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex, PoisonError},
};

use anyhow::Context as _;

use crate::{config::Config, domain::phone::Phone, i18n::Locale};

/// A text message's content, in any language we speak.
pub trait Sms {
    fn text(&self, locale: Locale) -> String;
}

#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    #[error("the SMS provider did not take the message")]
    Provider(#[from] provider::ProviderError),
    #[error("cannot write the message to the SMS outbox folder")]
    File(#[from] std::io::Error),
}

/// Sends text messages. Cheap to clone: the HTTP client and the memory outbox
/// are shared.
#[derive(Debug, Clone)]
pub struct SmsSender {
    transport: Transport,
}

#[derive(Debug, Clone)]
enum Transport {
    Provider(provider::Provider),
    File(Arc<Path>),
    Memory(MemorySmsOutbox),
}

impl SmsSender {
    /// The provider when `config.sms_url` is set; otherwise one file per
    /// message in `config.sms_outbox_dir`, created here.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let transport = if let Some(url) = &config.sms_url {
            Transport::Provider(provider::Provider::new(url, config.sms_token.clone())?)
        } else {
            let dir = &config.sms_outbox_dir;
            std::fs::create_dir_all(dir).with_context(|| {
                format!("cannot create the SMS outbox folder {}", dir.display())
            })?;
            tracing::info!(outbox = %dir.display(), "no SMS provider configured: text messages are written to the outbox folder");
            Transport::File(dir.as_path().into())
        };
        Ok(Self { transport })
    }

    /// A sender that keeps what it sends, and the handle to read it back.
    pub fn memory() -> (Self, MemorySmsOutbox) {
        let outbox = MemorySmsOutbox::default();
        let sender = Self {
            transport: Transport::Memory(outbox.clone()),
        };
        (sender, outbox)
    }

    /// Sends `sms` to `to` in `locale`.
    pub async fn send(&self, to: &Phone, sms: &impl Sms, locale: Locale) -> Result<(), SmsError> {
        let text = sms.text(locale);
        let result = match &self.transport {
            Transport::Provider(provider) => provider
                .send(&to.e164(), &text)
                .await
                .map_err(SmsError::from),
            Transport::File(dir) => write_file(dir, to, &text).await,
            Transport::Memory(outbox) => {
                outbox.push(SentSms {
                    to: to.as_str().to_owned(),
                    text,
                });
                Ok(())
            }
        };
        // The number is personal data and the text may carry a code that acts
        // as a password: log neither.
        let to = to.masked();
        match &result {
            Ok(()) => tracing::info!(%to, %locale, transport = self.transport.name(), "sms sent"),
            Err(error) => {
                let cause = std::error::Error::source(error).map(ToString::to_string);
                tracing::warn!(%to, transport = self.transport.name(), %error, ?cause, "sms not sent");
            }
        }
        result
    }
}

/// One file per message, named so they sort by time and never collide.
async fn write_file(dir: &Path, to: &Phone, text: &str) -> Result<(), SmsError> {
    let name: PathBuf = dir.join(format!(
        "{}-{}.txt",
        crate::clock::now().format("%Y%m%dT%H%M%S%.6f"),
        crate::crypto::random_hex_id()
    ));
    let content = format!("To: {}\n\n{text}\n", to.e164());
    tokio::fs::write(name, content).await?;
    Ok(())
}

impl Transport {
    fn name(&self) -> &'static str {
        match self {
            Self::Provider(_) => "provider",
            Self::File(_) => "file",
            Self::Memory(_) => "memory",
        }
    }
}

/// What the memory transport captured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentSms {
    /// The recipient's 11 digits.
    pub to: String,
    pub text: String,
}

impl SentSms {
    /// The first run of six digits in the text: the one-time code, if any.
    pub fn code(&self) -> Option<String> {
        let chars: Vec<char> = self.text.chars().collect();
        chars
            .windows(6)
            .enumerate()
            .find(|(i, w)| {
                w.iter().all(char::is_ascii_digit)
                    && !chars.get(i + 6).is_some_and(char::is_ascii_digit)
                    && !(*i > 0 && chars[i - 1].is_ascii_digit())
            })
            .map(|(_, w)| w.iter().collect())
    }
}

/// The messages a [`SmsSender::memory`] has sent; clones share one list.
#[derive(Debug, Clone, Default)]
pub struct MemorySmsOutbox(Arc<Mutex<Vec<SentSms>>>);

impl MemorySmsOutbox {
    /// Everything sent so far, oldest first.
    pub fn sent(&self) -> Vec<SentSms> {
        self.lock().clone()
    }

    /// The most recent message to `phone` (any spelling `Phone::parse` takes).
    pub fn last_to(&self, phone: &str) -> Option<SentSms> {
        let phone = Phone::parse(phone).ok()?;
        self.lock()
            .iter()
            .rev()
            .find(|sms| sms.to == phone.as_str())
            .cloned()
    }

    fn push(&self, sms: SentSms) {
        self.lock().push(sms);
    }

    /// A push is all-or-nothing, so a poisoned lock still guards a whole list.
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<SentSms>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests;
