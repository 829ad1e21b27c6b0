//! The actions an approval can run, by kind. Each domain registers its own at
//! start-up; a request for an unknown kind is refused when it is made, not when it
//! is approved.

use std::{collections::HashMap, fmt, sync::Arc};

use diesel::PgConnection;

use crate::{domain::actor::Actor, error::Classify, i18n::Locale};

use super::Approval;

/// Why an approved action could not run; shown to the people who decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionFailed(pub String);

impl ActionFailed {
    /// A service's error as the record shows it: a refusal in its own words,
    /// a failure of the system as `failed`, its cause logged here.
    pub fn of<E: Classify>(error: &E, locale: Locale, failed: String) -> Self {
        if let Some(refusal) = error.message(locale) {
            Self(refusal)
        } else {
            tracing::error!(error = %error, "approved action failed");
            Self(failed)
        }
    }
}

impl From<diesel::result::Error> for ActionFailed {
    fn from(e: diesel::result::Error) -> Self {
        tracing::error!(error = %e, "approved action failed in the database");
        Self("database error".to_owned())
    }
}

/// Runs the approved action as the checker who completed the approval; returns a
/// short outcome for the record. A closure, so an action can carry what the
/// server holds besides the connection (onboarding opens sealed contacts).
pub type Action =
    Arc<dyn Fn(&mut PgConnection, &Approval, &Actor) -> Result<String, ActionFailed> + Send + Sync>;

#[derive(Default, Clone)]
pub struct Registry {
    actions: HashMap<&'static str, Action>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.actions.keys()).finish()
    }
}

impl Registry {
    #[must_use]
    pub fn with(
        mut self,
        kind: &'static str,
        action: impl Fn(&mut PgConnection, &Approval, &Actor) -> Result<String, ActionFailed>
        + Send
        + Sync
        + 'static,
    ) -> Self {
        self.actions.insert(kind, Arc::new(action));
        self
    }

    pub fn knows(&self, kind: &str) -> bool {
        self.actions.contains_key(kind)
    }

    pub(super) fn run(
        &self,
        conn: &mut PgConnection,
        approval: &Approval,
        checker: &Actor,
    ) -> Result<String, ActionFailed> {
        let action = self.actions.get(approval.kind.as_str()).ok_or_else(|| {
            ActionFailed(format!("no action is registered for {}", approval.kind))
        })?;
        action(conn, approval, checker)
    }
}
