//! A team page: the people of one organisation — the platform's operators or a
//! merchant's staff — with their roles and state, the forms that change a role
//! or (de)activate someone, and the invitation. The platform and the merchant
//! console each mount it behind their own sign-in and roles, and choose the
//! words and which roles may be given; the rows, the page and its template are
//! this one.

use actix_web::HttpResponse;
use askama::Template;
use askama_web::WebTemplate;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::{
    i18n::{Locale, format},
    web::{error::WebError, page::Chrome},
};

/// One portal's team page: where it lives and its words.
pub(super) struct Team {
    /// The page's path; its forms post below it.
    pub base: &'static str,
    /// The table's element id.
    pub table_id: &'static str,
    /// Catalog keys of the navigation label, title, subtitle and the
    /// invitation card's title.
    pub nav: &'static str,
    pub title: &'static str,
    pub subtitle: &'static str,
    pub invite_title: &'static str,
    /// Catalog keys of what the invitation card and its role field say
    /// besides, where the portal has something to say.
    pub invite_hint: Option<&'static str>,
    pub role_hint: Option<&'static str>,
}

/// A person as the team table shows them.
pub(super) struct Person {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub role: &'static str,
    pub role_label: String,
    pub active: bool,
    pub last_sign_in: String,
    /// The signed-in person's own row: never changed here.
    pub is_me: bool,
    /// The signed-in person may change this row's role and state.
    pub editable: bool,
}

/// What a person row is made of, whatever the portal's table.
pub(super) struct PersonFacts {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub role: &'static str,
    pub active: bool,
    pub last_sign_in_at: Option<DateTime<Utc>>,
}

impl Person {
    pub fn new(facts: PersonFacts, is_me: bool, editable: bool, locale: Locale) -> Self {
        Self {
            id: facts.id,
            role_label: role_label(facts.role, locale),
            last_sign_in: facts
                .last_sign_in_at
                .map_or_else(|| "—".to_owned(), |at| format::datetime(at, locale)),
            name: facts.name,
            email: facts.email,
            role: facts.role,
            active: facts.active,
            is_me,
            editable: editable && !is_me,
        }
    }
}

fn role_label(role: &str, locale: Locale) -> String {
    locale.t(&format!("role.{role}")).into_owned()
}

/// Roles as a select's options: (value, label in `locale`).
pub(super) fn role_options(
    roles: impl IntoIterator<Item = &'static str>,
    locale: Locale,
) -> Vec<(&'static str, String)> {
    roles
        .into_iter()
        .map(|role| (role, role_label(role, locale)))
        .collect()
}

#[derive(Default, Deserialize)]
pub(super) struct InviteForm {
    pub email: String,
    pub display_name: String,
    pub role: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "team.html")]
pub(super) struct TeamPage {
    pub chrome: Chrome,
    pub team: Team,
    pub people: Vec<Person>,
    /// The signed-in person manages the team: the actions and the invitation.
    pub can_manage: bool,
    /// Roles a person's role may be changed to here.
    pub assignable: Vec<(&'static str, String)>,
    /// Roles an invitation may give.
    pub invitable: Vec<(&'static str, String)>,
    pub form: InviteForm,
    pub error: Option<String>,
}

impl TeamPage {
    /// The page again with what was wrong with the invitation: nothing changed.
    pub fn refused(mut self, error: String) -> Result<HttpResponse, WebError> {
        self.error = Some(error);
        Ok(HttpResponse::UnprocessableEntity()
            .content_type("text/html; charset=utf-8")
            .body(self.render()?))
    }
}
