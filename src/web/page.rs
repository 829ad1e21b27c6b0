//! What every HTML page shares: the language, the portal, who is signed in, the
//! navigation, a one-time message, and the CSRF token that every form carries.
//! Page structs hold a `Chrome` as `chrome`; `templates/base.html` renders it.

use crate::{domain::portal::Portal, i18n::Locale};

#[derive(Debug, Clone)]
pub struct UserBadge {
    pub name: String,
    /// Already translated, e.g. "管理员".
    pub role: String,
}

#[derive(Debug, Clone)]
pub struct NavItem {
    pub href: String,
    /// Already translated.
    pub label: String,
    pub active: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlashKind {
    Success,
    Error,
    Info,
}

impl FlashKind {
    pub fn css(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Error => "error",
            Self::Info => "info",
        }
    }
}

/// A message shown once at the top of the next page.
#[derive(Debug, Clone)]
pub struct Flash {
    pub kind: FlashKind,
    /// Already translated.
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct Chrome {
    pub locale: Locale,
    /// None on public pages (the home page, the language switch).
    pub portal: Option<Portal>,
    pub csrf_token: String,
    /// The current path and query, so the language switch returns here.
    pub path: String,
    pub user: Option<UserBadge>,
    pub nav: Vec<NavItem>,
    pub flash: Option<Flash>,
}

impl Chrome {
    /// Translates a catalog key into the page's language.
    pub fn t(&self, key: &str) -> String {
        self.locale.t(key).into_owned()
    }

    /// Translates a key with `%{name}` placeholders.
    pub fn t_with(&self, key: &str, args: &[(&str, &str)]) -> String {
        self.locale.t_with(key, args)
    }

    pub fn lang(&self) -> &'static str {
        self.locale.tag()
    }

    /// The language the switch offers.
    pub fn other_locale(&self) -> &'static str {
        match self.locale {
            Locale::ZhCn => Locale::En.tag(),
            Locale::En => Locale::ZhCn.tag(),
        }
    }

    /// The switch's label, in the language it switches to.
    pub fn other_locale_label(&self) -> &'static str {
        match self.locale {
            Locale::ZhCn => "English",
            Locale::En => "中文",
        }
    }

    /// `platform`, `merchant`, `consumer` or `public`: picks the layout.
    pub fn portal_slug(&self) -> &'static str {
        self.portal.map_or("public", Portal::slug)
    }
}
