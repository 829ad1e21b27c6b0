//! The real-name verification queue (实名认证): members' requests waiting for
//! review, oldest first, with the name they gave decrypted for the reviewer and
//! only the ID number's last four characters; approve, or reject with a reason.
//! Recent decisions below. Risk operators and admins decide; everyone may look.

use std::collections::HashMap;

use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::{
    crypto::Keys,
    domain::id::MemberId,
    i18n::Locale,
    i18n::format,
    people::{
        member::{self, Member},
        operator::OperatorRole,
        verification::{self, Verification, VerificationStatus},
    },
    web::{
        auth::{OperatorPrincipal, Signed},
        context::PageContext,
        csrf::CsrfForm,
        error::WebError,
        page::Chrome,
        state::AppState,
    },
};

use super::action::Action;

/// Who decides (`verification::VERIFIERS`); everyone may look.
const VERIFIERS: &[OperatorRole] = &[OperatorRole::Admin, OperatorRole::Risk];
const PAGE: &str = "/platform/verifications";
const QUEUE_SIZE: i64 = 200;
const RECENT_SIZE: i64 = 50;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(queue).service(decide);
}

struct RequestRow {
    id: i64,
    member_id: MemberId,
    member: String,
    phone: String,
    real_name: String,
    id_hint: String,
    submitted: String,
    status: VerificationStatus,
    status_label: String,
    decided: String,
    reason: String,
}

impl RequestRow {
    fn of(
        v: &Verification,
        members: &HashMap<MemberId, &Member>,
        keys: &Keys,
        locale: Locale,
    ) -> Self {
        let member = members.get(&v.member_id);
        Self {
            id: v.id,
            member_id: v.member_id,
            member: member.map(|m| m.display_name.clone()).unwrap_or_default(),
            phone: member
                .and_then(|m| m.phone(keys).ok())
                .map(|p| p.masked())
                .unwrap_or_default(),
            real_name: v.real_name(keys).unwrap_or_else(|| {
                tracing::error!(verification_id = v.id, "a real name does not decrypt");
                locale
                    .t("platform_exchange.verification.undecryptable")
                    .into_owned()
            }),
            id_hint: format!("****{}", v.id_number_hint),
            submitted: format::datetime(v.created_at, locale),
            status: v.status,
            status_label: locale
                .t(&format!(
                    "platform_exchange.verification.status.{}",
                    v.status
                ))
                .into_owned(),
            decided: match (&v.decided_by, v.decided_at) {
                (Some(by), Some(at)) => format!("{by} · {}", format::datetime(at, locale)),
                _ => String::new(),
            },
            reason: v.reason.clone().unwrap_or_default(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "platform/verifications.html")]
struct QueuePage {
    chrome: Chrome,
    can_decide: bool,
    pending: Vec<RequestRow>,
    recent: Vec<RequestRow>,
}

#[get("/verifications")]
async fn queue(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
) -> Result<QueuePage, WebError> {
    let (pending, recent, members) = state
        .db(|conn| {
            let pending = verification::queue(conn, true, QUEUE_SIZE)?;
            let recent: Vec<Verification> = verification::queue(conn, false, RECENT_SIZE)?
                .into_iter()
                .filter(|v| v.status != VerificationStatus::Pending)
                .collect();
            let ids: Vec<MemberId> = pending.iter().chain(&recent).map(|v| v.member_id).collect();
            Ok::<_, WebError>((pending, recent, member::find_many(conn, &ids)?))
        })
        .await?;
    let members: HashMap<MemberId, &Member> = members.iter().map(|m| (m.id, m)).collect();
    let row = |v: &Verification| RequestRow::of(v, &members, &state.keys, ctx.locale);
    Ok(QueuePage {
        chrome: super::chrome(&ctx, &who, PAGE),
        can_decide: VERIFIERS.contains(&who.operator.role),
        pending: pending.iter().map(row).collect(),
        recent: recent.iter().map(row).collect(),
    })
}

#[derive(Deserialize)]
struct DecisionForm {
    /// `approve` or `reject`.
    decision: String,
    #[serde(default)]
    reason: String,
}

#[post("/verifications/{id}")]
async fn decide(
    ctx: PageContext,
    who: Signed<OperatorPrincipal>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    CsrfForm(form): CsrfForm<DecisionForm>,
) -> Result<HttpResponse, WebError> {
    let action = Action::of(&ctx, &who, &state, VERIFIERS)?.addressed();
    let approve = match form.decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return Err(WebError::BadRequest),
    };
    let id = id.into_inner();
    action
        .done(
            move |conn, actor| verification::decide(conn, actor, id, approve, Some(&form.reason)),
            |_| {
                if approve {
                    "platform_exchange.verification.flash.approved"
                } else {
                    "platform_exchange.verification.flash.rejected"
                }
            },
            PAGE,
        )
        .await
}
