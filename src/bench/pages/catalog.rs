//! Every portal page `bench pages` times, and who it signs in as to see it.
//!
//! A row names the route as the handler declares it (`tests/it/bench_pages.rs`
//! checks that every GET route of the signed-in portals is here, so a new page
//! is timed from the day it is written) and the path to fetch. A route with a
//! parameter (`{id}`) is fetched at the first link to such a page found on the
//! pages the same person fetched before it: lists come before their rows.

use std::fmt;

/// Whom the bench signs in as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// An operator on the platform portal (an admin, who sees every page).
    Operator,
    Owner,
    Cashier,
    Member,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Operator, Role::Owner, Role::Cashier, Role::Member];

    pub fn portal(self) -> &'static str {
        match self {
            Self::Operator => "platform",
            Self::Owner | Self::Cashier => "merchant",
            Self::Member => "consumer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Operator => "operator",
            Self::Owner => "owner",
            Self::Cashier => "cashier",
            Self::Member => "member",
        })
    }
}

/// One page to time.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub role: Role,
    /// The route as declared, with its portal's prefix.
    pub route: &'static str,
    /// What to fetch: the route itself, with a query, or a concrete path.
    pub path: &'static str,
}

const fn page(role: Role, route: &'static str) -> Page {
    Page {
        role,
        route,
        path: route,
    }
}

const fn at(role: Role, route: &'static str, path: &'static str) -> Page {
    Page { role, route, path }
}

use Role::{Cashier, Member, Operator, Owner};

const REPORT: &str = "/platform/reports/{kind}";
const MERCHANT_REPORT: &str = "/merchant/reports/{kind}";

/// In the order they are fetched (see the module's note on parameters).
pub const PAGES: &[Page] = &[
    // The platform, as an admin.
    page(Operator, "/platform"),
    page(Operator, "/platform/applications"),
    at(
        Operator,
        "/platform/applications",
        "/platform/applications?q=BREW",
    ),
    page(Operator, "/platform/applications/{id}"),
    page(Operator, "/platform/applications/{id}/approve"),
    page(Operator, "/platform/approvals"),
    at(
        Operator,
        "/platform/approvals",
        "/platform/approvals?all=true",
    ),
    page(Operator, "/platform/approvals/{id}"),
    page(Operator, "/platform/audit"),
    at(
        Operator,
        "/platform/audit",
        "/platform/audit?action=merchant",
    ),
    page(Operator, "/platform/books"),
    page(Operator, "/platform/books/accounts"),
    // Every exchange passes through the clearing account: its lines link
    // to entries.
    at(
        Operator,
        "/platform/books/accounts",
        "/platform/books/accounts?code=house:clearing",
    ),
    page(Operator, "/platform/books/entries/{id}"),
    page(Operator, "/platform/campaigns"),
    page(Operator, "/platform/deposits"),
    page(Operator, "/platform/exchange"),
    page(Operator, "/platform/exchange/programs/{code}"),
    page(Operator, "/platform/merchants"),
    page(Operator, "/platform/merchants/{id}"),
    page(Operator, "/platform/merchants/{id}/settlement"),
    page(Operator, "/platform/operators"),
    page(Operator, "/platform/reports"),
    at(Operator, REPORT, "/platform/reports/liability"),
    at(Operator, REPORT, "/platform/reports/breakage"),
    at(Operator, REPORT, "/platform/reports/exchange-flows"),
    at(Operator, REPORT, "/platform/reports/redemptions"),
    at(Operator, REPORT, "/platform/reports/campaigns"),
    at(Operator, REPORT, "/platform/reports/deposit-coverage"),
    at(Operator, REPORT, "/platform/reports/settlement-status"),
    page(Operator, "/platform/rewards"),
    page(Operator, "/platform/risk"),
    page(Operator, "/platform/settlement"),
    page(Operator, "/platform/settlement/runs/{id}"),
    page(Operator, "/platform/settlement/collections"),
    page(Operator, "/platform/settlement/payouts"),
    page(Operator, "/platform/settlement/payouts/batches/{id:\\d+}"),
    page(
        Operator,
        "/platform/settlement/payouts/batches/{id:\\d+}.csv",
    ),
    page(
        Operator,
        "/platform/settlement/payouts/batches/{id:\\d+}.xml",
    ),
    page(Operator, "/platform/verifications"),
    page(Operator, "/platform/exports"),
    page(Operator, "/platform/exports/{id:\\d+}"),
    page(Operator, "/platform/exports/{id:\\d+}/download"),
    // A merchant's owner sees every page of the console.
    page(Owner, "/merchant"),
    page(Owner, "/merchant/staff"),
    page(Owner, "/merchant/issue"),
    page(Owner, "/merchant/redeem"),
    page(Owner, "/merchant/adjustments"),
    page(Owner, "/merchant/approvals"),
    at(Owner, "/merchant/approvals", "/merchant/approvals?all=true"),
    page(Owner, "/merchant/approvals/{id}"),
    page(Owner, "/merchant/deposit"),
    page(Owner, "/merchant/settlement"),
    page(Owner, "/merchant/settlement/statements/{id:\\d+}"),
    page(Owner, "/merchant/settlement/statements/{id:\\d+}.csv"),
    page(Owner, "/merchant/reports"),
    at(Owner, MERCHANT_REPORT, "/merchant/reports/liability"),
    at(Owner, MERCHANT_REPORT, "/merchant/reports/redemptions"),
    at(Owner, MERCHANT_REPORT, "/merchant/reports/campaigns"),
    at(Owner, MERCHANT_REPORT, "/merchant/reports/deposit-coverage"),
    at(
        Owner,
        MERCHANT_REPORT,
        "/merchant/reports/settlement-status",
    ),
    page(Owner, "/merchant/stores"),
    page(Owner, "/merchant/stores/{id}"),
    page(Owner, "/merchant/catalog"),
    page(Owner, "/merchant/catalog/new"),
    page(Owner, "/merchant/catalog/{id}"),
    page(Owner, "/merchant/program"),
    page(Owner, "/merchant/api-keys"),
    page(Owner, "/merchant/settings"),
    page(Owner, "/merchant/exports"),
    page(Owner, "/merchant/exports/{id:\\d+}"),
    page(Owner, "/merchant/exports/{id:\\d+}/download"),
    // A cashier: the till's pages.
    page(Cashier, "/merchant"),
    page(Cashier, "/merchant/issue"),
    page(Cashier, "/merchant/redeem"),
    page(Cashier, "/merchant/catalog"),
    page(Cashier, "/merchant/catalog/{id}"),
    page(Cashier, "/merchant/exports"),
    // A member.
    page(Member, "/consumer"),
    page(Member, "/consumer/points"),
    page(Member, "/consumer/for-you"),
    page(Member, "/consumer/nearby"),
    page(Member, "/consumer/rewards"),
    at(
        Member,
        "/consumer/rewards",
        // 咖啡, coffee: a word a member would type.
        "/consumer/rewards?q=%E5%92%96%E5%95%A1",
    ),
    page(Member, "/consumer/rewards/{id}"),
    page(Member, "/consumer/vouchers"),
    page(Member, "/consumer/vouchers/{id}"),
    page(Member, "/consumer/exchange"),
    // Priced: 100 BREW points into MART's, as the demo's member can.
    at(
        Member,
        "/consumer/exchange",
        "/consumer/exchange?from=BREW&to=MART&points=100",
    ),
    at(
        Member,
        "/consumer/exchange/preview",
        "/consumer/exchange/preview?from=BREW&to=MART&points=100",
    ),
    page(Member, "/consumer/exchange/quote/{id}"),
    page(Member, "/consumer/exchange/done/{quote_id}"),
    page(Member, "/consumer/profile"),
    page(Member, "/consumer/profile/verification"),
];

/// The parameter of `route` (`{…}`): the text before it, its name, and the
/// text after it.
pub fn split_parameter(route: &str) -> Option<(&str, &str, &str)> {
    let open = route.find('{')?;
    let close = route[open..].find('}')? + open;
    let name = route[open + 1..close].split(':').next().unwrap_or_default();
    Some((&route[..open], name, &route[close + 1..]))
}

/// The first link in `body` to a page of `route`, as a path.
pub fn find_link(body: &str, route: &str) -> Option<String> {
    let (before, name, after) = split_parameter(route)?;
    // An id is a number (`/catalog/new` is not a reward); a code is a word.
    let numeric = name == "id" || name.ends_with("_id");
    let in_value = |c: char| {
        if numeric {
            c.is_ascii_digit()
        } else {
            c.is_ascii_alphanumeric() || c == '-' || c == '_'
        }
    };
    let mut rest = body;
    while let Some(at) = rest.find(before) {
        let candidate = &rest[at + before.len()..];
        let value_len = candidate
            .find(|c: char| !in_value(c))
            .unwrap_or(candidate.len());
        let tail = &candidate[value_len..];
        if value_len > 0
            && tail.starts_with(after)
            && tail[after.len()..].starts_with(['"', '?', '#', '\''])
        {
            return Some(format!("{before}{}{after}", &candidate[..value_len]));
        }
        rest = &rest[at + before.len()..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_link_of_a_kind_and_not_a_longer_route() {
        let body = r#"<a href="/platform/merchants/7/settlement">s</a>
                      <a href="/platform/merchants/7">m</a>"#;
        assert_eq!(
            find_link(body, "/platform/merchants/{id}").as_deref(),
            Some("/platform/merchants/7")
        );
        assert_eq!(
            find_link(body, "/platform/merchants/{id}/settlement").as_deref(),
            Some("/platform/merchants/7/settlement")
        );
        assert_eq!(
            find_link(r#"href="/x/batches/3.csv""#, "/x/batches/{id:\\d+}.csv").as_deref(),
            Some("/x/batches/3.csv")
        );
        assert_eq!(find_link(body, "/platform/risk/{id}"), None);
        assert_eq!(
            find_link(
                r#"href="/m/catalog/new" href="/m/catalog/2""#,
                "/m/catalog/{id}"
            )
            .as_deref(),
            Some("/m/catalog/2")
        );
    }

    #[test]
    fn each_row_fetches_a_page_of_its_route() {
        for page in PAGES {
            let route_prefix =
                split_parameter(page.route).map_or(page.route, |(before, _, _)| before);
            assert!(page.path.starts_with(route_prefix), "{page:?}");
            assert!(page.route.starts_with(&format!("/{}", page.role.portal())));
        }
    }
}
