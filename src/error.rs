//! The one error rule (after crates.io): every service error says, through
//! [`Classify`], whether it is a **refusal** of the request — with the message
//! that explains it, the partner API's problem slug and an HTTP-agnostic
//! [`Kind`] — or a failure of the **system** (database, ledger, a bug), which
//! is logged and never shown. Implementations match every variant, no `_ =>`,
//! so a new variant is a decision, not a silent 500.
//!
//! Plain Rust: the API (`api::problem`) and the portals (`web::flash`) each
//! turn a [`Class`] into their own answer.

use std::borrow::Cow;

use crate::i18n::Locale;

/// Whether an error refuses the request or is a failure of the system.
pub trait Classify: std::error::Error {
    fn class(&self) -> Class;

    fn is_refusal(&self) -> bool {
        matches!(self.class(), Class::Refusal(_))
    }

    /// The refusal's message in `locale`; None for a failure of the system.
    fn message(&self, locale: Locale) -> Option<String> {
        match self.class() {
            Class::Refusal(refusal) => Some(refusal.message.render(locale)),
            Class::System => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Class {
    Refusal(Refusal),
    /// The request may have been fine; the system failed it (a logged 500, or
    /// a 503 when the database is out).
    System,
}

/// A well-formed request refused: nothing changed, and the person is told why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub kind: Kind,
    /// The problem type's tail, `urn:alliance:problem:<slug>`: stable for
    /// partners to branch on.
    pub slug: &'static str,
    pub message: Message,
}

impl Refusal {
    pub fn new(kind: Kind, slug: &'static str, message: Message) -> Self {
        Self {
            kind,
            slug,
            message,
        }
    }
}

/// What kind of refusal, for the API to choose a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// What the caller may not touch (403).
    Forbidden,
    /// What is not there (404).
    NotFound,
    /// What the state of things refuses now, and might allow later (409).
    Conflict,
    /// What the rules do not allow, however often it is asked (422).
    Unprocessable,
}

/// A translatable message: a catalog key and its `%{name}` arguments, some of
/// which are messages themselves (a status or a window named in the reader's
/// language).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    key: Cow<'static, str>,
    args: Vec<(&'static str, Arg)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Arg {
    Text(String),
    Message(Message),
}

impl Message {
    pub fn new(key: impl Into<Cow<'static, str>>) -> Self {
        Self {
            key: key.into(),
            args: Vec::new(),
        }
    }

    /// Fills `%{name}` with `value` as it prints. Figures are taken by value so
    /// that a refusal reads `.arg("owed", owed)` at every call site.
    #[must_use]
    #[allow(clippy::needless_pass_by_value)]
    pub fn arg(mut self, name: &'static str, value: impl ToString) -> Self {
        self.args.push((name, Arg::Text(value.to_string())));
        self
    }

    /// Fills `%{name}` with `message`, translated too.
    #[must_use]
    pub fn nested(mut self, name: &'static str, message: Message) -> Self {
        self.args.push((name, Arg::Message(message)));
        self
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    /// The arguments as text in `locale`.
    pub fn args(&self, locale: Locale) -> Vec<(&'static str, String)> {
        self.args
            .iter()
            .map(|(name, arg)| {
                let value = match arg {
                    Arg::Text(text) => text.clone(),
                    Arg::Message(message) => message.render(locale),
                };
                (*name, value)
            })
            .collect()
    }

    pub fn render(&self, locale: Locale) -> String {
        let args = self.args(locale);
        let args: Vec<(&str, &str)> = args.iter().map(|(n, v)| (*n, v.as_str())).collect();
        locale.t_with(&self.key, &args)
    }
}

/// A database error is the system's, whatever the query was.
impl Classify for diesel::result::Error {
    fn class(&self) -> Class {
        Class::System
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_fills_its_arguments_nested_ones_translated() {
        let message = Message::new("redemption.error.already_resolved")
            .nested("status", Message::new("redemption.status.fulfilled"));
        let text = message.render(Locale::En);
        assert!(!text.contains("%{"), "{text}");
        assert!(!text.contains("redemption.status"), "{text}");
    }
}
