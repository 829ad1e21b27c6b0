//! Who did something: recorded with every audited change and every approval.

use serde::{Deserialize, Serialize};

use super::id::MerchantId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    Operator,
    MerchantUser,
    Member,
    System,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Operator => "operator",
            Self::MerchantUser => "merchant_user",
            Self::Member => "member",
            Self::System => "system",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub kind: ActorKind,
    /// None for the system.
    pub id: Option<i64>,
    /// How people recognise them: an email, a masked phone number, "system".
    pub label: String,
    /// `admin`, `owner`, `cashier`, ... as stored.
    pub role: String,
    /// For merchant users: whose data they act on.
    pub merchant_id: Option<MerchantId>,
    pub ip: Option<String>,
}

impl Actor {
    /// Periodic jobs and commands run by the platform itself.
    pub fn system(what: &str) -> Self {
        Self {
            kind: ActorKind::System,
            id: None,
            label: format!("system:{what}"),
            role: "system".to_owned(),
            merchant_id: None,
            ip: None,
        }
    }
}
