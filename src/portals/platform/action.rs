//! The shape every operator action shares, written once: only some roles may
//! take it; it runs one service as the operator on a pooled connection; the
//! outcome is a flash (success, or the refusal in its own words through
//! `web::flash`, while a failure of the system is the logged error page); and
//! the operator is sent back to a page (post/redirect/get).

use actix_web::HttpResponse;
use diesel::PgConnection;

use crate::{
    domain::actor::Actor,
    error::Classify,
    people::operator::OperatorRole,
    web::{
        auth::OperatorPrincipal,
        context::{PageContext, set_flash},
        error::WebError,
        flash,
        page::FlashKind,
        state::AppState,
    },
};

use super::super::see_other;

/// One operator's action, allowed: whoever else asks is forbidden before any
/// form is read.
pub(super) struct Action<'a> {
    ctx: &'a PageContext,
    state: &'a AppState,
    actor: Actor,
    /// The action names its subject by an id in the URL: a refusal of what is
    /// not there is the 404 page, as for a page that does not exist.
    addressed: bool,
}

impl<'a> Action<'a> {
    /// The action `who` takes, when their role is one of `roles`.
    pub(super) fn of(
        ctx: &'a PageContext,
        who: &OperatorPrincipal,
        state: &'a AppState,
        roles: &[OperatorRole],
    ) -> Result<Self, WebError> {
        who.require(roles)?;
        Ok(Self {
            ctx,
            state,
            actor: who.actor.clone(),
            addressed: false,
        })
    }

    /// The subject is an id in the URL: naming nothing is a 404, not a flash.
    pub(super) fn addressed(self) -> Self {
        Self {
            addressed: true,
            ..self
        }
    }

    /// Runs `service` as the operator on a pooled connection: its value or
    /// its refusal; a failure of the system is the error page.
    pub(super) async fn run<T, E>(
        &self,
        service: impl FnOnce(&mut PgConnection, &Actor) -> Result<T, E> + Send + 'static,
    ) -> Result<Result<T, E>, WebError>
    where
        T: Send + 'static,
        E: Classify + Send + Sync + 'static,
    {
        let addressed = self.addressed;
        self.steps(move |conn, actor| {
            let result = service(conn, actor);
            if addressed {
                flash::found(result)
            } else {
                flash::refusal(result)
            }
        })
        .await
    }

    /// Like [`Self::run`], for an action that is more than one service call:
    /// `work` itself separates the refusal it shows from a failure.
    pub(super) async fn steps<T, E>(
        &self,
        work: impl FnOnce(&mut PgConnection, &Actor) -> Result<Result<T, E>, WebError> + Send + 'static,
    ) -> Result<Result<T, E>, WebError>
    where
        T: Send + 'static,
        E: Send + 'static,
    {
        let actor = self.actor.clone();
        self.state.db(move |conn| work(conn, &actor)).await
    }

    /// Flashes the success `key(value)` names, or the refusal; the value when
    /// there is one.
    pub(super) fn flash<T, E, K>(
        &self,
        result: Result<T, E>,
        key: impl FnOnce(&T) -> K,
    ) -> Result<Option<T>, WebError>
    where
        E: Classify + Send + Sync + 'static,
        K: AsRef<str>,
    {
        match result {
            Ok(value) => {
                set_flash(&self.ctx.session, FlashKind::Success, key(&value).as_ref());
                Ok(Some(value))
            }
            Err(error) => {
                flash::refused_flash(&self.ctx.session, self.ctx.locale, error)?;
                Ok(None)
            }
        }
    }

    /// The whole action: runs `service`, flashes `success` or the refusal,
    /// and sends the operator to `to` either way.
    pub(super) async fn done<T, E, K>(
        self,
        service: impl FnOnce(&mut PgConnection, &Actor) -> Result<T, E> + Send + 'static,
        success: impl FnOnce(&T) -> K,
        to: impl Into<String>,
    ) -> Result<HttpResponse, WebError>
    where
        T: Send + 'static,
        E: Classify + Send + Sync + 'static,
        K: AsRef<str>,
    {
        let result = self.run(service).await?;
        self.finish(result, success, to)
    }

    /// Flashes `success` or the refusal in `result`, and sends the operator
    /// to `to` either way.
    pub(super) fn finish<T, E, K>(
        &self,
        result: Result<T, E>,
        success: impl FnOnce(&T) -> K,
        to: impl Into<String>,
    ) -> Result<HttpResponse, WebError>
    where
        E: Classify + Send + Sync + 'static,
        K: AsRef<str>,
    {
        self.flash(result, success)?;
        Ok(see_other(to))
    }

    /// A form the action cannot take: its error `key` flashed, back to `to`.
    pub(super) fn invalid(&self, key: &str, to: impl Into<String>) -> HttpResponse {
        set_flash(&self.ctx.session, FlashKind::Error, key);
        see_other(to)
    }
}
