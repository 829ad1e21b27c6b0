//! `PageContext`: what a handler needs to render any page — language, CSRF token,
//! the current path, a pending one-time message and the client's address.

use std::future::{Ready, ready};

use actix_session::{Session, SessionExt};
use actix_web::{FromRequest, HttpRequest, dev::Payload};
use serde::{Deserialize, Serialize};

use crate::{crypto, domain::portal::Portal, error::Message, i18n::Locale};

use super::{
    error::WebError,
    locale,
    page::{Chrome, Flash, FlashKind, NavItem, UserBadge},
    session,
};

#[allow(missing_debug_implementations)] // actix's Session is not Debug
pub struct PageContext {
    pub locale: Locale,
    pub csrf_token: String,
    pub path: String,
    pub flash: Option<Flash>,
    pub ip: String,
    pub session: Session,
}

/// A one-time message as stored: a catalog key, translated when shown, and
/// the `%{name}` arguments it is shown with.
#[derive(Serialize, Deserialize)]
struct StoredFlash {
    kind: String,
    key: String,
    #[serde(default)]
    args: Vec<(String, String)>,
}

impl PageContext {
    pub fn chrome(
        &self,
        portal: Option<Portal>,
        user: Option<UserBadge>,
        nav: Vec<NavItem>,
    ) -> Chrome {
        Chrome {
            locale: self.locale,
            portal,
            csrf_token: self.csrf_token.clone(),
            path: self.path.clone(),
            user,
            nav,
            flash: self.flash.clone(),
        }
    }

    /// A page with no signed-in user (sign-in, sign-up, password reset).
    pub fn public_chrome(&self, portal: Option<Portal>) -> Chrome {
        self.chrome(portal, None, Vec::new())
    }
}

/// Queues a message for the next page this session sees.
pub fn set_flash(session: &Session, kind: FlashKind, key: &str) {
    store_flash(session, kind, key, Vec::new());
}

/// Queues `message` for the next page, its arguments written in `locale`.
pub fn set_flash_message(session: &Session, kind: FlashKind, message: &Message, locale: Locale) {
    let args = message
        .args(locale)
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
    store_flash(session, kind, message.key(), args);
}

fn store_flash(session: &Session, kind: FlashKind, key: &str, args: Vec<(String, String)>) {
    let stored = StoredFlash {
        kind: kind.css().to_owned(),
        key: key.to_owned(),
        args,
    };
    if let Err(e) = session.insert(session::FLASH, stored) {
        tracing::warn!(error = %e, "could not store a flash message");
    }
}

/// The client's address as seen by this server (proxies are not trusted).
pub fn client_ip(req: &HttpRequest) -> String {
    req.peer_addr()
        .map_or_else(|| "unknown".to_owned(), |addr| addr.ip().to_string())
}

/// The session's CSRF token, created on first use.
pub fn csrf_token(session: &Session) -> Result<String, WebError> {
    if let Some(token) = session
        .get::<String>(session::CSRF)
        .map_err(|e| WebError::Internal(anyhow::anyhow!(e.to_string())))?
    {
        return Ok(token);
    }
    let token = crypto::random_token();
    session
        .insert(session::CSRF, &token)
        .map_err(|e| WebError::Internal(anyhow::anyhow!(e.to_string())))?;
    Ok(token)
}

impl FromRequest for PageContext {
    type Error = WebError;
    type Future = Ready<Result<Self, WebError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready((|| {
            let session = req.get_session();
            let locale = locale::from_request(req);
            let flash = session
                .remove_as::<StoredFlash>(session::FLASH)
                .and_then(Result::ok)
                .map(|stored| Flash {
                    kind: match stored.kind.as_str() {
                        "success" => FlashKind::Success,
                        "error" => FlashKind::Error,
                        _ => FlashKind::Info,
                    },
                    message: {
                        let args: Vec<(&str, &str)> = stored
                            .args
                            .iter()
                            .map(|(name, value)| (name.as_str(), value.as_str()))
                            .collect();
                        locale.t_with(&stored.key, &args)
                    },
                });
            let path = req
                .uri()
                .path_and_query()
                .map_or("/", |pq| pq.as_str())
                .to_owned();
            Ok(Self {
                locale,
                csrf_token: csrf_token(&session)?,
                path,
                flash,
                ip: client_ip(req),
                session,
            })
        })())
    }
}
