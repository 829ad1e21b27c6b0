//! What a company that applied to join hears at each step of its application:
//! received, under review, a question, the decision — every time with the link
//! to its status page, where it can read the thread and answer.

use askama::Template;

use super::Status;
use crate::{
    email::{Email, render},
    i18n::Locale,
};

#[derive(Debug, Clone)]
pub struct ApplicationEmail {
    pub contact_name: String,
    pub company_name: String,
    /// The status the application has just reached; picks the wording.
    pub status: Status,
    /// The reviewer's question or reason, quoted as written.
    pub note: Option<String>,
    pub status_url: String,
}

impl ApplicationEmail {
    /// `email.application.<status>.<part>`.
    fn key(&self, part: &str) -> String {
        format!("email.application.{}.{part}", self.status.as_str())
    }
}

#[derive(Template)]
#[template(path = "email/application.html")]
struct Html<'a> {
    email: &'a ApplicationEmail,
    locale: Locale,
}

#[derive(Template)]
#[template(path = "email/application.txt")]
struct Text<'a> {
    email: &'a ApplicationEmail,
    locale: Locale,
}

impl Email for ApplicationEmail {
    fn subject(&self, locale: Locale) -> String {
        locale.t_with(&self.key("subject"), &[("company", &self.company_name)])
    }

    fn text(&self, locale: Locale) -> String {
        render(&Text {
            email: self,
            locale,
        })
    }

    fn html(&self, locale: Locale) -> String {
        render(&Html {
            email: self,
            locale,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn question() -> ApplicationEmail {
        ApplicationEmail {
            contact_name: "李雯".to_owned(),
            company_name: "梧桐加油站连锁有限公司".to_owned(),
            status: Status::MoreInfo,
            note: Some("请补充<许可证>编号。".to_owned()),
            status_url: "https://alliance.example.cn/apply/status/AbC-123".to_owned(),
        }
    }

    #[test]
    fn a_question_is_quoted_with_the_status_link_in_both_languages() {
        let email = question();
        assert_eq!(
            email.subject(Locale::ZhCn),
            "梧桐加油站连锁有限公司的入驻申请需要补充信息"
        );
        assert_eq!(
            email.subject(Locale::En),
            "梧桐加油站连锁有限公司's application needs more information"
        );
        for locale in Locale::ALL {
            let (text, html) = (email.text(locale), email.html(locale));
            assert!(text.contains("请补充<许可证>编号。"), "{text}");
            assert!(html.contains("请补充&#60;许可证&#62;编号。"), "{html}");
            for body in [&text, &html] {
                assert!(body.contains(&email.status_url), "{body}");
                assert!(body.contains("李雯"), "{body}");
            }
        }
    }

    #[test]
    fn a_receipt_has_no_quoted_note() {
        let receipt = ApplicationEmail {
            status: Status::Submitted,
            note: None,
            ..question()
        };
        assert!(receipt.subject(Locale::ZhCn).starts_with("已收到"));
        assert!(!receipt.html(Locale::ZhCn).contains("<blockquote"));
    }
}
