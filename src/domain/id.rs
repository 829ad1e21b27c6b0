//! Typed ids: an `AccountId` can never be passed where a `TransferId` is expected,
//! nor a `MemberId` where a `MerchantId` is. Each is the row's `BIGINT` id, read and
//! written through diesel and serialized as the bare number.

use std::{fmt, num::ParseIntError, str::FromStr};

use diesel_derive_newtype::DieselNewType;
use serde::{Deserialize, Serialize};

macro_rules! typed_id {
    ($($(#[$doc:meta])* $name:ident),+ $(,)?) => {$(
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash,
            Serialize, Deserialize, DieselNewType,
        )]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        /// As typed in a query string, a form field or a command line.
        impl FromStr for $name {
            type Err = ParseIntError;

            fn from_str(text: &str) -> Result<Self, ParseIntError> {
                text.parse().map(Self)
            }
        }
    )+};
}

typed_id!(
    /// A ledger account.
    AccountId,
    /// A journal entry: the atomic unit of the ledger.
    JournalEntryId,
    /// One transfer inside a journal entry.
    TransferId,
    /// A member (consumer).
    MemberId,
    /// A partner merchant.
    MerchantId,
    /// A merchant's points programme.
    ProgramId,
    /// One of a merchant's stores.
    StoreId,
    /// A reward in the catalogue.
    RewardId,
    /// A merchant's settlement statement for one cycle.
    StatementId,
);
