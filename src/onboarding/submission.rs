//! The applicant's side: the application form parsed into domain types, sending
//! it, and answering an operator's question through the status link.

use diesel::{dsl::exists, prelude::*};

use crate::{
    audit::{self, Change},
    crypto::{self, Keys},
    db::schema::{merchant_applications, merchants},
    domain::{
        credit_code::{CreditCode, InvalidCreditCode},
        email_address::EmailAddress,
        phone::Phone,
    },
    merchant::{
        contact,
        store::{InvalidStore, StoreDetails, StoreField},
        tier::Tier,
    },
};

use super::{
    Application, BankAccountNumber, FieldError, Notice, OnboardingError, Status, StoreSite,
    applicant,
    application::{add_message, open_for_credit_code},
    message_text, set_status,
};

/// The form offers this many store rows; at least one must be filled in.
pub const MAX_STORES: usize = 5;

/// What a merchant can say it is; each has a `merchant.category.*` label.
pub const CATEGORIES: [&str; 9] = [
    "coffee",
    "supermarket",
    "cinema",
    "bookstore",
    "petrol",
    "hotel",
    "airline",
    "bank",
    "other",
];

const MAX_NAME_CHARS: usize = 100;
/// Merchant users' display names have this limit; the contact becomes the owner.
const MAX_PERSON_CHARS: usize = 60;

/// The application form as typed.
#[derive(Debug, Clone, Default)]
pub struct ApplicationInput {
    pub company_name: String,
    pub credit_code: String,
    pub contact_name: String,
    pub contact_phone: String,
    pub contact_email: String,
    pub category: String,
    pub requested_tier: String,
    pub stores: Vec<StoreInput>,
    pub bank_account_name: String,
    pub bank_name: String,
    pub bank_account_number: String,
}

/// One store row as typed; a row left wholly empty is not a store.
#[derive(Debug, Clone, Default)]
pub struct StoreInput {
    pub name: String,
    pub address: String,
    pub latitude: String,
    pub longitude: String,
}

impl StoreInput {
    fn is_blank(&self) -> bool {
        [&self.name, &self.address, &self.latitude, &self.longitude]
            .iter()
            .all(|field| field.trim().is_empty())
    }
}

/// A valid application, ready to store.
#[derive(Debug, Clone)]
pub struct NewApplication {
    pub company_name: String,
    pub credit_code: CreditCode,
    pub contact_name: String,
    pub contact_phone: Phone,
    pub contact_email: EmailAddress,
    pub category: &'static str,
    pub tier: Tier,
    pub stores: Vec<StoreSite>,
    pub bank_account_name: String,
    pub bank_name: String,
    pub bank_account: BankAccountNumber,
}

/// `Ok(Self { field, … })` when every field parsed (each is `Some`), else the
/// refusals gathered: one list of names where a `let`-`else` would need three.
macro_rules! every_field {
    ($errors:ident; $($field:ident),+ $(,)?) => {
        match ($($field,)+) {
            ($(Some($field),)+) => Ok(Self { $($field,)+ }),
            _ => Err($errors),
        }
    };
}

impl NewApplication {
    /// Every problem at once, so the form can mark them all.
    pub fn parse(input: &ApplicationInput) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let e = &mut errors;
        let company_name = check(
            e,
            "company_name",
            text(&input.company_name, MAX_NAME_CHARS).ok_or("apply.error.company_name"),
        );
        let credit_code = check(
            e,
            "credit_code",
            CreditCode::parse(&input.credit_code).map_err(credit_code_key),
        );
        let contact_name = check(
            e,
            "contact_name",
            text(&input.contact_name, MAX_PERSON_CHARS).ok_or("apply.error.contact_name"),
        );
        let contact_phone = check(
            e,
            "contact_phone",
            Phone::parse(&input.contact_phone).map_err(|_| "form.error.phone"),
        );
        let contact_email = check(
            e,
            "contact_email",
            EmailAddress::parse(&input.contact_email).map_err(|_| "form.error.email"),
        );
        let category = check(
            e,
            "category",
            CATEGORIES
                .into_iter()
                .find(|c| *c == input.category)
                .ok_or("apply.error.category"),
        );
        let tier = check(
            e,
            "requested_tier",
            Tier::parse(&input.requested_tier).ok_or("apply.error.tier"),
        );
        let stores = stores(&input.stores)
            .map_err(|mut refused| e.append(&mut refused))
            .ok();
        let bank_account_name = check(
            e,
            "bank_account_name",
            text(&input.bank_account_name, MAX_NAME_CHARS).ok_or("apply.error.bank_account_name"),
        );
        let bank_name = check(
            e,
            "bank_name",
            text(&input.bank_name, MAX_NAME_CHARS).ok_or("apply.error.bank_name"),
        );
        let bank_account = check(
            e,
            "bank_account_number",
            BankAccountNumber::parse(&input.bank_account_number)
                .map_err(|_| "apply.error.bank_account_number"),
        );
        every_field!(
            errors;
            company_name,
            credit_code,
            contact_name,
            contact_phone,
            contact_email,
            category,
            tier,
            stores,
            bank_account_name,
            bank_name,
            bank_account,
        )
    }
}

/// The value, or None with the field's refusal recorded.
fn check<T>(
    errors: &mut Vec<FieldError>,
    field: &str,
    value: Result<T, &'static str>,
) -> Option<T> {
    value
        .map_err(|key| errors.push(FieldError::new(field, key)))
        .ok()
}

fn credit_code_key(e: InvalidCreditCode) -> &'static str {
    match e {
        InvalidCreditCode::Length => "apply.error.credit_code.length",
        InvalidCreditCode::Character => "apply.error.credit_code.character",
        InvalidCreditCode::CheckCharacter => "apply.error.credit_code.check",
    }
}

/// Trimmed, not empty, at most `max` characters.
fn text(input: &str, max: usize) -> Option<String> {
    let text = input.trim();
    (!text.is_empty() && text.chars().count() <= max).then(|| text.to_owned())
}

/// The filled-in store rows, checked as the merchant console checks a store;
/// errors name the row's fields (`store_name_0`, ...).
fn stores(rows: &[StoreInput]) -> Result<Vec<StoreSite>, Vec<FieldError>> {
    if rows.len() > MAX_STORES {
        return Err(vec![FieldError::new(
            "stores",
            "apply.error.stores.too_many",
        )]);
    }
    let mut errors = Vec::new();
    let mut sites = Vec::new();
    for (i, row) in rows.iter().enumerate().filter(|(_, row)| !row.is_blank()) {
        match StoreDetails::parse(&row.name, &row.address, &row.latitude, &row.longitude) {
            Ok(_) => sites.push(StoreSite {
                name: row.name.trim().to_owned(),
                address: row.address.trim().to_owned(),
                latitude: row.latitude.trim().to_owned(),
                longitude: row.longitude.trim().to_owned(),
            }),
            Err(InvalidStore(fields)) => errors.extend(fields.into_iter().map(|field| {
                FieldError::new(format!("store_{}_{i}", field.as_str()), store_key(field))
            })),
        }
    }
    if sites.is_empty() && errors.is_empty() {
        errors.push(FieldError::new("stores", "apply.error.stores.none"));
    }
    if errors.is_empty() {
        Ok(sites)
    } else {
        Err(errors)
    }
}

fn store_key(field: StoreField) -> &'static str {
    match field {
        StoreField::Name => "apply.error.store.name",
        StoreField::Address => "apply.error.store.address",
        StoreField::Latitude => "apply.error.store.latitude",
        StoreField::Longitude => "apply.error.store.longitude",
    }
}

/// Stores a new application and returns the receipt to email, whose status link
/// is the application's first.
#[tracing::instrument(skip_all)]
pub fn submit(
    conn: &mut PgConnection,
    keys: &Keys,
    new: &NewApplication,
    ip: Option<&str>,
) -> Result<Notice, OnboardingError> {
    let token = crypto::random_token();
    let stores = serde_json::to_value(&new.stores).expect("stores serialize");
    conn.transaction(|conn| {
        let code = new.credit_code.as_str();
        if diesel::select(exists(
            merchants::table.filter(merchants::credit_code.eq(code)),
        ))
        .get_result(conn)?
        {
            return Err(OnboardingError::AlreadyMember);
        }
        if open_for_credit_code(conn, code)? {
            return Err(OnboardingError::AlreadyApplied);
        }
        let application: Application = diesel::insert_into(merchant_applications::table)
            .values((
                merchant_applications::status_token_hash.eq(&crypto::sha256(token.as_bytes())[..]),
                merchant_applications::company_name.eq(&new.company_name),
                merchant_applications::credit_code.eq(code),
                merchant_applications::contact_name.eq(&new.contact_name),
                merchant_applications::contact_phone_ciphertext
                    .eq(contact::seal_phone(keys, new.contact_phone.as_str())),
                merchant_applications::contact_email_ciphertext
                    .eq(contact::seal_email(keys, new.contact_email.as_str())),
                merchant_applications::category.eq(new.category),
                merchant_applications::requested_tier.eq(new.tier),
                merchant_applications::bank_account_name.eq(&new.bank_account_name),
                merchant_applications::bank_name.eq(&new.bank_name),
                merchant_applications::bank_account_ciphertext.eq(new.bank_account.seal(keys)),
                merchant_applications::stores.eq(&stores),
            ))
            .returning(Application::as_returning())
            .get_result(conn)?;
        audit::record(
            conn,
            &applicant(application.id, ip),
            Change::new("application.submit", "merchant_application", application.id)
                .after(&application),
        )?;
        Ok(Notice {
            to: new.contact_email.as_str().to_owned(),
            contact_name: application.contact_name,
            company_name: application.company_name,
            status: Status::Submitted,
            note: None,
            status_token: token,
        })
    })
}

/// The application a status link points to; None once a newer link was sent.
pub fn find_by_token(conn: &mut PgConnection, token: &str) -> QueryResult<Option<Application>> {
    merchant_applications::table
        .filter(merchant_applications::status_token_hash.eq(&crypto::sha256(token.as_bytes())[..]))
        .select(Application::as_select())
        .first(conn)
        .optional()
}

/// The applicant answers the operators' question; the application goes back
/// under review.
#[tracing::instrument(skip_all)]
pub fn reply(
    conn: &mut PgConnection,
    token: &str,
    body: &str,
    ip: Option<&str>,
) -> Result<Application, OnboardingError> {
    let body = message_text(body)?;
    conn.transaction(|conn| {
        let id = find_by_token(conn, token)?
            .ok_or(OnboardingError::NotFound)?
            .id;
        let before = super::lock(conn, id)?;
        if before.status != Status::MoreInfo {
            return Err(OnboardingError::WrongStatus);
        }
        add_message(conn, id, "applicant", &before.contact_name, body)?;
        let after = set_status(conn, id, Status::UnderReview, None, None)?;
        audit::record(
            conn,
            &applicant(before.id, ip),
            Change::new("application.reply", "merchant_application", id)
                .before(&before)
                .after(&after),
        )?;
        Ok(after)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> ApplicationInput {
        ApplicationInput {
            company_name: " 梧桐加油站连锁有限公司 ".to_owned(),
            credit_code: "91330100716105852f".to_owned(),
            contact_name: "李雯".to_owned(),
            contact_phone: "+86 139 1234 5678".to_owned(),
            contact_email: "Li.Wen@Wutong.example.cn".to_owned(),
            category: "petrol".to_owned(),
            requested_tier: "standard".to_owned(),
            stores: vec![
                StoreInput {
                    name: "徐汇店".to_owned(),
                    address: "上海市徐汇区漕溪北路 1 号".to_owned(),
                    latitude: " 31.188012".to_owned(),
                    longitude: "121.4365".to_owned(),
                },
                StoreInput::default(),
            ],
            bank_account_name: "梧桐加油站连锁有限公司".to_owned(),
            bank_name: "招商银行上海分行".to_owned(),
            bank_account_number: "6222 0212 3456 7890".to_owned(),
        }
    }

    fn refused(input: &ApplicationInput) -> Vec<(String, &'static str)> {
        NewApplication::parse(input)
            .unwrap_err()
            .into_iter()
            .map(|e| (e.field, e.key))
            .collect()
    }

    #[test]
    fn a_complete_form_parses_into_domain_types() {
        let new = NewApplication::parse(&input()).unwrap();
        assert_eq!(new.company_name, "梧桐加油站连锁有限公司");
        assert_eq!(new.credit_code.as_str(), "91330100716105852F");
        assert_eq!(new.contact_phone.as_str(), "13912345678");
        assert_eq!(new.contact_email.as_str(), "li.wen@wutong.example.cn");
        assert_eq!((new.category, new.tier), ("petrol", Tier::Standard));
        assert_eq!(new.stores.len(), 1, "the blank row is not a store");
        assert_eq!(new.stores[0].latitude, "31.188012");
        assert_eq!(new.bank_account.masked(), "****7890");
    }

    #[test]
    fn a_mistyped_credit_code_is_refused_with_the_reason() {
        let mut typo = input();
        typo.credit_code = "91330100716105825F".to_owned();
        assert_eq!(
            refused(&typo),
            [("credit_code".to_owned(), "apply.error.credit_code.check")]
        );
        typo.credit_code = "9133010071610585".to_owned();
        assert_eq!(
            refused(&typo),
            [("credit_code".to_owned(), "apply.error.credit_code.length")]
        );
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let bad = ApplicationInput {
            stores: vec![StoreInput {
                name: "静安店".to_owned(),
                address: String::new(),
                latitude: "91".to_owned(),
                longitude: "-180".to_owned(),
            }],
            ..ApplicationInput::default()
        };
        let fields: Vec<String> = refused(&bad).into_iter().map(|(f, _)| f).collect();
        assert_eq!(
            fields,
            [
                "company_name",
                "credit_code",
                "contact_name",
                "contact_phone",
                "contact_email",
                "category",
                "requested_tier",
                "store_address_0",
                "store_latitude_0",
                "bank_account_name",
                "bank_name",
                "bank_account_number",
            ]
        );
    }

    #[test]
    fn at_least_one_store_and_at_most_five() {
        let mut none = input();
        none.stores = vec![StoreInput::default(); 2];
        assert_eq!(
            refused(&none),
            [("stores".to_owned(), "apply.error.stores.none")]
        );
        let mut many = input();
        many.stores = vec![input().stores[0].clone(); MAX_STORES + 1];
        assert_eq!(
            refused(&many),
            [("stores".to_owned(), "apply.error.stores.too_many")]
        );
    }
}
