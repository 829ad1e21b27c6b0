//! Who is signed in. `Signed<P>` extracts the signed-in person of one portal; a
//! session of another portal, or none, sends the visitor to that portal's sign-in
//! page, and a deactivated account is signed out on its next request.

use std::ops::Deref;

use actix_session::{Session, SessionExt};
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use diesel::PgConnection;
use futures_util::future::LocalBoxFuture;

use crate::{
    crypto::Keys,
    domain::{
        actor::{Actor, ActorKind},
        id::MemberId,
        phone::Phone,
        portal::Portal,
    },
    merchant::{self, Merchant, standing::Status},
    people::{
        member::{self, Member},
        merchant_user::{self, MerchantRole, MerchantUser},
        operator::{self, Operator, OperatorRole},
    },
};

use super::{context::client_ip, error::WebError, session, state::AppState};

/// A kind of signed-in person, loaded fresh on every request.
pub trait Principal: Sized + Send + 'static {
    const PORTAL: Portal;

    /// None when the account is gone or may no longer sign in.
    fn load(
        conn: &mut PgConnection,
        keys: &Keys,
        id: i64,
        ip: String,
    ) -> Result<Option<Self>, WebError>;

    fn actor(&self) -> &Actor;
}

/// The signed-in person of portal `P::PORTAL`.
#[derive(Debug)]
pub struct Signed<P>(pub P);

impl<P> Deref for Signed<P> {
    type Target = P;

    fn deref(&self) -> &P {
        &self.0
    }
}

/// The id a session holds for a portal, if it holds one for that portal.
pub fn principal_id(session: &Session, portal: Portal) -> Option<i64> {
    let stored = session.get::<String>(session::PRINCIPAL).ok().flatten()?;
    let (slug, id) = stored.split_once(':')?;
    (slug == portal.slug()).then(|| id.parse().ok()).flatten()
}

impl<P: Principal> FromRequest for Signed<P> {
    type Error = WebError;
    type Future = LocalBoxFuture<'static, Result<Self, WebError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let session = req.get_session();
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let next = req
            .uri()
            .path_and_query()
            .map_or("/", |pq| pq.as_str())
            .to_owned();
        let ip = client_ip(req);
        Box::pin(async move {
            let sign_in = || WebError::SignInRequired {
                portal: P::PORTAL,
                next: next.clone(),
            };
            let id = principal_id(&session, P::PORTAL).ok_or_else(sign_in)?;
            let state = state
                .ok_or_else(|| WebError::Internal(anyhow::anyhow!("AppState is not registered")))?;
            let keys = state.keys.clone();
            let Some(principal) = state.db(move |conn| P::load(conn, &keys, id, ip)).await? else {
                session.purge();
                return Err(sign_in());
            };
            Ok(Signed(principal))
        })
    }
}

#[derive(Debug)]
pub struct OperatorPrincipal {
    pub operator: Operator,
    pub actor: Actor,
}

impl OperatorPrincipal {
    pub fn require(&self, roles: &[OperatorRole]) -> Result<(), WebError> {
        if roles.contains(&self.operator.role) {
            Ok(())
        } else {
            Err(WebError::Forbidden)
        }
    }
}

impl Principal for OperatorPrincipal {
    const PORTAL: Portal = Portal::Platform;

    fn load(
        conn: &mut PgConnection,
        _: &Keys,
        id: i64,
        ip: String,
    ) -> Result<Option<Self>, WebError> {
        Ok(operator::find(conn, id)?
            .filter(|o| o.active)
            .map(|operator| {
                let actor = operator.actor(Some(ip));
                Self { operator, actor }
            }))
    }

    fn actor(&self) -> &Actor {
        &self.actor
    }
}

#[derive(Debug)]
pub struct MerchantPrincipal {
    pub user: MerchantUser,
    pub merchant: Merchant,
    pub actor: Actor,
}

impl MerchantPrincipal {
    pub fn require(&self, roles: &[MerchantRole]) -> Result<(), WebError> {
        if roles.contains(&self.user.role) {
            Ok(())
        } else {
            Err(WebError::Forbidden)
        }
    }
}

impl Principal for MerchantPrincipal {
    const PORTAL: Portal = Portal::Merchant;

    fn load(
        conn: &mut PgConnection,
        _: &Keys,
        id: i64,
        ip: String,
    ) -> Result<Option<Self>, WebError> {
        let Some(user) = merchant_user::find(conn, id)?.filter(|u| u.active) else {
            return Ok(None);
        };
        let Some(merchant) =
            merchant::find(conn, user.merchant_id)?.filter(|m| m.status != Status::Exited)
        else {
            return Ok(None);
        };
        let actor = Actor {
            kind: ActorKind::MerchantUser,
            id: Some(user.id),
            label: user.email.clone(),
            role: user.role.as_str().to_owned(),
            merchant_id: Some(merchant.id),
            ip: Some(ip),
        };
        Ok(Some(Self {
            user,
            merchant,
            actor,
        }))
    }

    fn actor(&self) -> &Actor {
        &self.actor
    }
}

#[derive(Debug)]
pub struct MemberPrincipal {
    pub member: Member,
    pub phone: Phone,
    pub actor: Actor,
}

impl Principal for MemberPrincipal {
    const PORTAL: Portal = Portal::Consumer;

    fn load(
        conn: &mut PgConnection,
        keys: &Keys,
        id: i64,
        ip: String,
    ) -> Result<Option<Self>, WebError> {
        let Some(member) = member::find(conn, MemberId(id))? else {
            return Ok(None);
        };
        let phone = member
            .phone(keys)
            .map_err(|e| WebError::Internal(e.into()))?;
        let actor = member::actor(&member, &phone, Some(&ip));
        Ok(Some(Self {
            member,
            phone,
            actor,
        }))
    }

    fn actor(&self) -> &Actor {
        &self.actor
    }
}
