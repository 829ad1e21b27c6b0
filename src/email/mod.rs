//! Email: what the system sends and how it leaves.
//!
//! Each email is a type implementing [`Email`]: subject, plain text and HTML in
//! the recipient's language, rendered from askama templates in `templates/email/`
//! (every one extends `layout.html` / `layout.txt`) with strings from
//! `locales/email.yml`. [`Mailer`] turns it into a `multipart/alternative`
//! message and hands that to a transport: SMTP when `ALLIANCE_SMTP_URL` is set,
//! otherwise `.eml` files in the outbox folder, or an in-memory outbox that tests
//! read.
//!
//! Adding an email: a file here with its struct, two template structs and the
//! `Email` impl (copy `password_reset.rs`), its two templates, and its strings.

mod deposit_shortfall;
mod exit_notice;
mod expiry_reminder;
mod invitation;
mod password_reset;
pub mod quota;
mod statement;

use std::sync::{Arc, Mutex, PoisonError};

use anyhow::Context as _;
use lettre::{
    AsyncFileTransport, AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor,
    message::{MultiPart, SinglePart, header::ContentType},
};
use secrecy::ExposeSecret as _;

pub use deposit_shortfall::DepositShortfallEmail;
pub use exit_notice::ExitNoticeEmail;
pub use expiry_reminder::{ExpiringPoints, ExpiryReminderEmail};
pub use invitation::InvitationEmail;
pub use lettre::{Address, message::Mailbox};
pub use password_reset::PasswordResetEmail;
pub use statement::StatementEmail;

use crate::{config::Config, i18n::Locale};

/// An email's content, in any language we speak.
pub trait Email {
    fn subject(&self, locale: Locale) -> String;
    fn text(&self, locale: Locale) -> String;
    fn html(&self, locale: Locale) -> String;
}

/// Renders an email template. They only display strings and numbers, whose
/// formatting cannot fail, so a failure is a bug in the template.
pub fn render(template: &impl askama::Template) -> String {
    template.render().expect("email templates render")
}

#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    #[error("cannot build the email message")]
    Build(#[from] lettre::error::Error),
    #[error("the SMTP server did not take the email")]
    Smtp(#[from] lettre::transport::smtp::Error),
    #[error("cannot write the email to the outbox folder")]
    File(#[from] lettre::transport::file::Error),
}

/// Sends emails from the configured sender. Cheap to clone: the SMTP connection
/// pool and the memory outbox are shared.
#[derive(Debug, Clone)]
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
}

#[derive(Debug, Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File(AsyncFileTransport<Tokio1Executor>),
    Memory(MemoryOutbox),
}

impl Mailer {
    /// SMTP when `config.smtp_url` is set (lettre's URL form: `smtp://host:port`
    /// is plain, `?tls=required` adds STARTTLS, `smtps://` is TLS from the start);
    /// otherwise one `.eml` file per email in `config.outbox_dir`, created here.
    ///
    /// Call it inside the Tokio runtime (as `startup` does): lettre's SMTP
    /// connection pool spawns its idle-connection reaper when built, and panics
    /// without a runtime.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let from = config.mail_from.parse().with_context(|| {
            format!("ALLIANCE_MAIL_FROM '{}' is not a mailbox", config.mail_from)
        })?;
        let transport = if let Some(url) = &config.smtp_url {
            let smtp = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                .context("ALLIANCE_SMTP_URL is not a valid SMTP URL")?
                .build();
            Transport::Smtp(smtp)
        } else {
            let dir = &config.outbox_dir;
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the outbox folder {}", dir.display()))?;
            tracing::info!(outbox = %dir.display(), "no SMTP server configured: emails are written to the outbox folder");
            Transport::File(AsyncFileTransport::new(dir))
        };
        Ok(Self { transport, from })
    }

    /// A mailer that keeps what it sends, and the handle to read it back.
    pub fn memory() -> (Self, MemoryOutbox) {
        let outbox = MemoryOutbox::default();
        let mailer = Self {
            transport: Transport::Memory(outbox.clone()),
            from: "积分联盟 Alliance <noreply@alliance.test>"
                .parse()
                .expect("a valid mailbox"),
        };
        (mailer, outbox)
    }

    /// Sends `email` to `to` in `locale`, as plain text with an HTML alternative.
    pub async fn send(
        &self,
        to: &Mailbox,
        email: &impl Email,
        locale: Locale,
    ) -> Result<(), EmailError> {
        self.send_with_attachments(to, email, locale, Vec::new())
            .await
    }

    /// Like `send`, with files attached after the text (`multipart/mixed`).
    pub async fn send_with_attachments(
        &self,
        to: &Mailbox,
        email: &impl Email,
        locale: Locale,
        attachments: Vec<Attachment>,
    ) -> Result<(), EmailError> {
        let subject = email.subject(locale);
        let text = email.text(locale);
        let html = email.html(locale);
        let alternative = MultiPart::alternative_plain_html(text.clone(), html.clone());
        let body = if attachments.is_empty() {
            alternative
        } else {
            let mut mixed = MultiPart::mixed().multipart(alternative);
            for file in &attachments {
                mixed = mixed.singlepart(attachment_part(file));
            }
            mixed
        };
        let message = Message::builder()
            .from(self.from.clone())
            .to(to.clone())
            .subject(&subject)
            // lettre adds a Message-ID only when asked (`None` = generate one), and
            // mail without one scores as spam; it adds `Date` itself.
            .message_id(None)
            .multipart(body)?;
        let result = match &self.transport {
            Transport::Smtp(smtp) => smtp.send(message).await.map(drop).map_err(EmailError::from),
            Transport::File(file) => file.send(message).await.map(drop).map_err(EmailError::from),
            Transport::Memory(outbox) => {
                outbox.push(SentEmail {
                    to: to.email.to_string(),
                    subject,
                    text,
                    html,
                    attachments,
                });
                Ok(())
            }
        };
        // Addresses are personal data and bodies carry links that act as
        // passwords: log neither.
        let to = masked(&to.email);
        match &result {
            Ok(()) => tracing::info!(%to, %locale, transport = self.transport.name(), "email sent"),
            Err(error) => {
                // lettre's error (our variant's source) says what actually failed.
                let cause = std::error::Error::source(error).map(ToString::to_string);
                tracing::warn!(%to, transport = self.transport.name(), %error, ?cause, "email not sent");
            }
        }
        result
    }
}

/// A file sent with an email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub filename: String,
    /// e.g. `text/csv; charset=utf-8`.
    pub content_type: String,
    pub content: Vec<u8>,
}

impl Attachment {
    /// A CSV file (UTF-8, as `settlement::statement_file` writes it).
    pub fn csv(filename: String, content: Vec<u8>) -> Self {
        Self {
            filename,
            content_type: "text/csv; charset=utf-8".to_owned(),
            content,
        }
    }
}

fn attachment_part(file: &Attachment) -> SinglePart {
    // Content types come from the constructors above: a bad one is a bug.
    let content_type = ContentType::parse(&file.content_type).expect("a valid content type");
    lettre::message::Attachment::new(file.filename.clone()).body(file.content.clone(), content_type)
}

impl Transport {
    fn name(&self) -> &'static str {
        match self {
            Self::Smtp(_) => "smtp",
            Self::File(_) => "file",
            Self::Memory(_) => "memory",
        }
    }
}

/// `alice@example.com` → `a***@example.com`: enough to tell recipients apart in
/// a log, not enough to read their address.
fn masked(address: &Address) -> String {
    let first = address.user().chars().next().unwrap_or('*');
    format!("{first}***@{}", address.domain())
}

/// What the memory transport captured, in readable form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentEmail {
    /// The recipient's address, without display name.
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub attachments: Vec<Attachment>,
}

/// The emails a [`Mailer::memory`] has sent; clones share one list.
#[derive(Debug, Clone, Default)]
pub struct MemoryOutbox(Arc<Mutex<Vec<SentEmail>>>);

impl MemoryOutbox {
    /// Everything sent so far, oldest first.
    pub fn sent(&self) -> Vec<SentEmail> {
        self.lock().clone()
    }

    /// The most recent email to `address`.
    pub fn last_to(&self, address: &str) -> Option<SentEmail> {
        self.lock()
            .iter()
            .rev()
            .find(|email| email.to.eq_ignore_ascii_case(address))
            .cloned()
    }

    fn push(&self, email: SentEmail) {
        self.lock().push(email);
    }

    /// A test that panicked while holding the lock left the list intact (a push
    /// is all-or-nothing), so poisoning is not a reason to fail other readers.
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<SentEmail>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests;
