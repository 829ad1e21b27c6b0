//! The translation layer. Every string a person reads goes through here:
//! Simplified Chinese by default, English complete. Catalogs are the YAML files in
//! `locales/` (one per area, merged at compile time); a test checks that every key
//! has both languages.

pub mod format;

use std::{borrow::Cow, fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// A language the product speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Locale {
    #[default]
    #[serde(rename = "zh-CN")]
    ZhCn,
    #[serde(rename = "en")]
    En,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::ZhCn, Locale::En];

    /// The tag used in catalogs, cookies, `lang` attributes and the database.
    pub fn tag(self) -> &'static str {
        match self {
            Self::ZhCn => "zh-CN",
            Self::En => "en",
        }
    }

    /// The translation of `key`; a missing key shows the key itself, which the
    /// catalog test prevents from ever shipping.
    pub fn t(self, key: &str) -> Cow<'_, str> {
        rust_i18n::t!(key, locale = self.tag())
    }

    /// The translation of `key` with `%{name}` placeholders filled in.
    pub fn t_with(self, key: &str, args: &[(&str, &str)]) -> String {
        args.iter()
            .fold(self.t(key).into_owned(), |text, (name, value)| {
                text.replace(&format!("%{{{name}}}"), value)
            })
    }

    /// Picks the best supported language from an `Accept-Language` header: the
    /// first listed (by q-value) that we speak; Chinese otherwise.
    pub fn from_accept_language(header: &str) -> Self {
        let mut ranges: Vec<(f32, &str)> = header
            .split(',')
            .filter_map(|part| {
                let mut pieces = part.trim().split(';');
                let tag = pieces.next()?.trim();
                let q = pieces
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.parse().ok())
                    .unwrap_or(1.0);
                (!tag.is_empty()).then_some((q, tag))
            })
            .collect();
        ranges.sort_by(|a, b| b.0.total_cmp(&a.0));
        ranges
            .iter()
            .find_map(|(_, tag)| {
                let primary = tag.split('-').next().unwrap_or(tag).to_ascii_lowercase();
                match primary.as_str() {
                    "zh" => Some(Self::ZhCn),
                    "en" => Some(Self::En),
                    _ => None,
                }
            })
            .unwrap_or_default()
    }
}

impl FromStr for Locale {
    type Err = UnknownLocale;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "zh-CN" | "zh" => Ok(Self::ZhCn),
            "en" => Ok(Self::En),
            _ => Err(UnknownLocale),
        }
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unsupported language")]
pub struct UnknownLocale;

#[cfg(test)]
mod tests {
    use super::*;

    /// Catalogs are flat (`key:` at the start of a line, then one line per
    /// language), so their keys can be listed without a YAML parser.
    fn catalog_keys() -> Vec<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("locales");
        std::fs::read_dir(dir)
            .unwrap()
            .flat_map(|file| {
                std::fs::read_to_string(file.unwrap().path())
                    .unwrap()
                    .lines()
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .filter(|line| !line.starts_with([' ', '#', '_']) && line.ends_with(':'))
            .map(|line| line.trim_end_matches(':').trim_matches('"').to_owned())
            .collect()
    }

    #[test]
    fn every_key_has_every_language() {
        let keys = catalog_keys();
        assert!(keys.len() > 1, "no catalog keys found");
        let missing: Vec<String> = keys
            .iter()
            .flat_map(|key| {
                Locale::ALL
                    .into_iter()
                    .filter(move |locale| {
                        crate::_rust_i18n_try_translate(locale.tag(), key).is_none()
                    })
                    .map(move |locale| format!("{key} [{locale}]"))
            })
            .collect();
        assert!(missing.is_empty(), "untranslated: {missing:?}");
    }

    #[test]
    fn accept_language_picks_the_first_supported_language() {
        assert_eq!(Locale::from_accept_language("en-US,en;q=0.9"), Locale::En);
        assert_eq!(
            Locale::from_accept_language("zh-CN,zh;q=0.9,en;q=0.8"),
            Locale::ZhCn
        );
        assert_eq!(Locale::from_accept_language("fr-FR,en;q=0.5"), Locale::En);
        assert_eq!(
            Locale::from_accept_language("de;q=0.9, zh-TW;q=0.95"),
            Locale::ZhCn
        );
        assert_eq!(Locale::from_accept_language("fr"), Locale::ZhCn);
        assert_eq!(Locale::from_accept_language(""), Locale::ZhCn);
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(Locale::En.t("app.name"), "Alliance");
        assert_eq!(Locale::ZhCn.t("app.name"), "积分联盟");
    }
}
