//! Who is calling: the signature check every request under `/api/v1` passes
//! through (a middleware on the whole scope, so no handler can forget it), and
//! the `Caller` it hands to handlers — the key's merchant and the verified body.
//!
//! Order of checks: headers present and well-formed → timestamp within ±300 s
//! → key known, active, its merchant allowed the API → signature → rate limit
//! → nonce unused (recorded now) → no NUL in the path, query or body. Any
//! failure answers 401 (429 for the rate, 422 for a NUL) before the handler
//! runs, so nothing changes.

use std::future::{Ready, ready};

use actix_web::{
    Error, FromRequest, HttpMessage as _, HttpRequest, HttpResponse,
    body::{EitherBody, MessageBody},
    dev::{Payload, ServiceRequest, ServiceResponse},
    middleware::Next,
    web::{self, Bytes},
};
use chrono::Utc;
use diesel::PgConnection;
use secrecy::ExposeSecret as _;
use serde::de::DeserializeOwned;

use crate::{
    domain::{
        actor::{Actor, ActorKind},
        id::{MemberId, MerchantId},
    },
    i18n::Locale,
    merchant::api_key,
    web::{context::client_ip, nul, state::AppState},
};

use super::{
    idempotency::{self, IdempotencyKey, Reply},
    known_member, nonce,
    problem::{self, ApiError, SignatureFailure},
    signature::Credentials,
};

/// The largest body a partner may send.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// A request whose signature verified: handlers take it as an argument.
#[derive(Debug, Clone)]
pub struct Caller {
    pub merchant_id: MerchantId,
    pub key_id: String,
    pub locale: Locale,
    pub ip: String,
    method: String,
    path_with_query: String,
    /// The body the signature covers. The middleware consumed the stream, so
    /// handlers read the body from here.
    body: Bytes,
}

impl Caller {
    /// How the key appears in the audit log: acting for its merchant, under
    /// its key id (keys are not people, so there is no person id).
    pub fn actor(&self) -> Actor {
        Actor {
            kind: ActorKind::MerchantUser,
            id: None,
            label: format!("api:{}", self.key_id),
            role: "api_key".to_owned(),
            merchant_id: Some(self.merchant_id),
            ip: Some(self.ip.clone()),
        }
    }

    /// The body as `T`; anything else is a 400.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        serde_json::from_slice(&self.body).map_err(|_| ApiError::MalformedBody)
    }

    pub fn body_is_empty(&self) -> bool {
        self.body.is_empty()
    }

    /// Refuses (403) a member this merchant does not know: a key may touch
    /// only those.
    pub fn ensure_knows(
        &self,
        conn: &mut PgConnection,
        member_id: MemberId,
    ) -> Result<(), ApiError> {
        if known_member::is_known(conn, self.merchant_id, member_id)? {
            Ok(())
        } else {
            Err(ApiError::MemberNotKnown)
        }
    }

    /// Identifies this request for its `Idempotency-Key`.
    pub fn request_hash(&self) -> [u8; 32] {
        idempotency::request_hash(&self.method, &self.path_with_query, &self.body)
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    /// Present only behind the signature middleware; anywhere else the request
    /// is refused rather than served unauthenticated.
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.extensions()
                .get::<Caller>()
                .cloned()
                .ok_or(ApiError::Unauthorized(SignatureFailure::Missing)),
        )
    }
}

/// Runs database work for the API on the blocking pool.
pub async fn db<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce(&mut PgConnection) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let gate = state.gate.clone();
    web::block(move || gate.run(work).map_err(ApiError::Unavailable)?)
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
}

/// The shape every state-changing request shares: database work on the
/// blocking pool, done once per `Idempotency-Key` (a refusal stored as its
/// problem, see `idempotency::once`). `work` states only the service call and
/// the reply.
pub async fn once(
    state: &AppState,
    caller: Caller,
    key: IdempotencyKey,
    work: impl FnOnce(&mut PgConnection, &Caller, &Actor) -> Result<Reply, ApiError> + Send + 'static,
) -> Result<HttpResponse, ApiError> {
    let reply = db(state, move |conn| {
        let actor = caller.actor();
        idempotency::once(
            conn,
            caller.merchant_id,
            &key,
            &caller.request_hash(),
            caller.locale,
            |conn| work(conn, &caller, &actor),
        )
    })
    .await?;
    Ok(reply.into_response())
}

/// The middleware: verifies the signature and puts the `Caller` in the
/// request; also writes handlers' problems in the caller's language.
pub async fn require_signature(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody + 'static>>, Error> {
    let locale = problem::locale_of(req.request());
    match authenticate(&mut req, locale).await {
        Ok(caller) => {
            req.extensions_mut().insert(caller);
            let res = next.call(req).await?;
            Ok(localize(res, locale))
        }
        Err(error) => {
            let response = error.response(locale);
            Ok(req.into_response(response).map_into_right_body())
        }
    }
}

async fn authenticate(req: &mut ServiceRequest, locale: Locale) -> Result<Caller, ApiError> {
    let credentials = Credentials::from_headers(req.headers()).map_err(ApiError::Unauthorized)?;
    credentials
        .check_time(Utc::now().timestamp())
        .map_err(ApiError::Unauthorized)?;
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("AppState is not registered")))?;
    let body = read_body(req).await?;
    let method = req.method().as_str().to_owned();
    let path_with_query = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.path().to_owned(), |pq| pq.as_str().to_owned());

    let keys = state.keys.clone();
    let key_id = credentials.key_id.clone();
    let found = db(&state, move |conn| {
        Ok(api_key::authenticate(conn, &keys, &key_id)?)
    })
    .await?;
    let Some((merchant_id, secret)) = found else {
        return Err(ApiError::Unauthorized(SignatureFailure::Invalid));
    };
    if !credentials.verify(secret.expose_secret(), &method, &path_with_query, &body) {
        return Err(ApiError::Unauthorized(SignatureFailure::Invalid));
    }
    // Before the nonce is spent: a refused request can be re-signed and sent
    // again with a fresh nonce either way, but it should cost no write.
    state
        .api_limiter
        .check(&credentials.key_id)
        .map_err(|retry_after_seconds| ApiError::RateLimited {
            retry_after_seconds,
        })?;
    let Credentials { key_id, nonce, .. } = credentials;
    let key = key_id.clone();
    db(&state, move |conn| {
        if !nonce::record(conn, &key, &nonce)? {
            return Err(ApiError::Unauthorized(SignatureFailure::Replayed));
        }
        api_key::touch_last_used(conn, &key)?;
        Ok(())
    })
    .await?;
    if nul::in_path(req.path())
        || nul::in_urlencoded(req.query_string().as_bytes())
        || nul::in_json(&body)
    {
        return Err(ApiError::NulCharacter);
    }
    Ok(Caller {
        merchant_id,
        key_id,
        locale,
        ip: client_ip(req.request()),
        method,
        path_with_query,
        body,
    })
}

/// The whole body, up to `MAX_BODY_BYTES`.
async fn read_body(req: &mut ServiceRequest) -> Result<Bytes, ApiError> {
    let mut payload = req.take_payload();
    let mut body = web::BytesMut::new();
    while let Some(chunk) = futures_util::StreamExt::next(&mut payload).await {
        let chunk = chunk.map_err(|_| ApiError::MalformedBody)?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(ApiError::BodyTooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Handlers' errors are rendered in Chinese (see `ApiError`); this writes them
/// again in the caller's language.
fn localize<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
    locale: Locale,
) -> ServiceResponse<EitherBody<B>> {
    if locale == Locale::default() {
        return res.map_into_left_body();
    }
    let Some(response) = res
        .response()
        .error()
        .and_then(|e| e.as_error::<ApiError>())
        .map(|e| e.render(locale))
    else {
        return res.map_into_left_body();
    };
    let (req, _) = res.into_parts();
    ServiceResponse::new(req, response).map_into_right_body()
}
