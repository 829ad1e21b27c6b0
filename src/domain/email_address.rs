//! Email addresses as people type them, normalised for storage and look-up.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a valid email address")]
pub struct InvalidEmail;

impl EmailAddress {
    /// Trims and lower-cases; the full grammar is lettre's (the address must be
    /// one we can actually send to).
    pub fn parse(input: &str) -> Result<Self, InvalidEmail> {
        let normalised = input.trim().to_lowercase();
        if normalised.len() > 254 || normalised.parse::<lettre::Address>().is_err() {
            return Err(InvalidEmail);
        }
        // lettre accepts dotless domains (`a@localhost`); people never mean those.
        let (_, domain) = normalised.split_once('@').ok_or(InvalidEmail)?;
        if !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') {
            return Err(InvalidEmail);
        }
        Ok(Self(normalised))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_trimmed_and_lower_cased() {
        assert_eq!(
            EmailAddress::parse("  Li.Lei@Example.CN ")
                .unwrap()
                .as_str(),
            "li.lei@example.cn"
        );
    }

    #[test]
    fn malformed_addresses_are_refused() {
        for input in [
            "",
            "li",
            "li@",
            "@example.cn",
            "li@localhost",
            "li lei@example.cn",
            "li@example.",
        ] {
            assert_eq!(EmailAddress::parse(input), Err(InvalidEmail), "{input}");
        }
    }
}
