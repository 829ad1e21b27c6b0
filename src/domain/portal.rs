//! The three signed-in sites. A session belongs to exactly one of them, and each
//! refuses the others' sessions.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Portal {
    Platform,
    Merchant,
    Consumer,
}

impl Portal {
    /// Also the URL prefix (`/platform`, ...) and the stored name.
    pub fn slug(self) -> &'static str {
        match self {
            Self::Platform => "platform",
            Self::Merchant => "merchant",
            Self::Consumer => "consumer",
        }
    }
}

impl fmt::Display for Portal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.slug())
    }
}
