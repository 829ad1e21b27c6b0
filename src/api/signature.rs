//! The signed-request scheme of API.md, without I/O: which headers carry what,
//! the string that is signed, and the clock window.
//!
//! `METHOD\nPATH_WITH_QUERY\nTIMESTAMP\nNONCE\nHEX_SHA256_OF_BODY`, signed with
//! HMAC-SHA256 under the key's secret (its UTF-8 bytes, as shown once at
//! creation) and sent as lowercase hex.

use actix_web::http::header::HeaderMap;

use crate::crypto;

use super::problem::SignatureFailure;

pub const KEY_HEADER: &str = "x-alliance-key";
pub const TIMESTAMP_HEADER: &str = "x-alliance-timestamp";
pub const NONCE_HEADER: &str = "x-alliance-nonce";
pub const SIGNATURE_HEADER: &str = "x-alliance-signature";
/// How far a request's timestamp may be from the server's clock, either way.
pub const MAX_CLOCK_SKEW_SECONDS: i64 = 300;
/// Nonces are remembered this long per key; longer than the whole window a
/// timestamp can be accepted in (2 × 300 s), so a replay is always caught.
pub const NONCE_RETENTION_MINUTES: i64 = 10;
const MIN_NONCE_LEN: usize = 8;
const MAX_NONCE_LEN: usize = 128;
const MAX_KEY_ID_LEN: usize = 64;

/// The signature headers of one request, well-formed but not yet checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub key_id: String,
    pub timestamp: i64,
    pub nonce: String,
    pub signature: Vec<u8>,
}

impl Credentials {
    /// Reads the four headers; any missing or malformed is `Missing`.
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, SignatureFailure> {
        let text = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .ok_or(SignatureFailure::Missing)
        };
        let key_id = text(KEY_HEADER)?;
        let nonce = text(NONCE_HEADER)?;
        let signature = text(SIGNATURE_HEADER)?;
        let visible = |s: &str| s.bytes().all(|b| b.is_ascii_graphic());
        let well_formed = !key_id.is_empty()
            && key_id.len() <= MAX_KEY_ID_LEN
            && visible(key_id)
            && (MIN_NONCE_LEN..=MAX_NONCE_LEN).contains(&nonce.len())
            && visible(nonce)
            // Lowercase hex only, as the contract says: one spelling per signature.
            && signature.len() == 64
            && signature.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !well_formed {
            return Err(SignatureFailure::Missing);
        }
        Ok(Self {
            key_id: key_id.to_owned(),
            timestamp: text(TIMESTAMP_HEADER)?
                .parse()
                .map_err(|_| SignatureFailure::Missing)?,
            nonce: nonce.to_owned(),
            signature: hex::decode(signature).map_err(|_| SignatureFailure::Missing)?,
        })
    }

    /// Refuses a timestamp more than `MAX_CLOCK_SKEW_SECONDS` from `now`.
    pub fn check_time(&self, now: i64) -> Result<(), SignatureFailure> {
        if self.timestamp.abs_diff(now) > MAX_CLOCK_SKEW_SECONDS.unsigned_abs() {
            Err(SignatureFailure::Stale)
        } else {
            Ok(())
        }
    }

    /// Whether the signature is the secret's over this request.
    pub fn verify(&self, secret: &str, method: &str, path_with_query: &str, body: &[u8]) -> bool {
        let message = string_to_sign(method, path_with_query, self.timestamp, &self.nonce, body);
        crypto::verify_hmac_sha256(secret.as_bytes(), message.as_bytes(), &self.signature)
    }
}

fn string_to_sign(
    method: &str,
    path_with_query: &str,
    timestamp: i64,
    nonce: &str,
    body: &[u8],
) -> String {
    format!(
        "{method}\n{path_with_query}\n{timestamp}\n{nonce}\n{}",
        hex::encode(crypto::sha256(body))
    )
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderName, HeaderValue};

    use super::*;

    const SECRET: &str = "s3cret";

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn signed(body: &[u8]) -> Vec<(&'static str, String)> {
        let message = string_to_sign("POST", "/api/v1/earn?x=1", 1_700_000_000, "nonce-123", body);
        let signature = hex::encode(crypto::hmac_sha256(SECRET.as_bytes(), message.as_bytes()));
        vec![
            (KEY_HEADER, "ak_test".to_owned()),
            (TIMESTAMP_HEADER, "1700000000".to_owned()),
            (NONCE_HEADER, "nonce-123".to_owned()),
            (SIGNATURE_HEADER, signature),
        ]
    }

    fn parse(pairs: &[(&str, String)]) -> Result<Credentials, SignatureFailure> {
        let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(n, v)| (*n, v.as_str())).collect();
        Credentials::from_headers(&headers(&borrowed))
    }

    #[test]
    fn the_string_to_sign_is_the_contracts() {
        assert_eq!(
            string_to_sign("GET", "/api/v1/members/7", 1_700_000_000, "abcdefgh", b""),
            "GET\n/api/v1/members/7\n1700000000\nabcdefgh\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn a_correct_signature_verifies_and_any_change_breaks_it() {
        let credentials = parse(&signed(b"{}")).unwrap();
        assert!(credentials.verify(SECRET, "POST", "/api/v1/earn?x=1", b"{}"));
        assert!(!credentials.verify("other", "POST", "/api/v1/earn?x=1", b"{}"));
        assert!(!credentials.verify(SECRET, "GET", "/api/v1/earn?x=1", b"{}"));
        assert!(!credentials.verify(SECRET, "POST", "/api/v1/earn?x=2", b"{}"));
        assert!(!credentials.verify(SECRET, "POST", "/api/v1/earn?x=1", b"{ }"));
    }

    #[test]
    fn missing_or_malformed_headers_are_missing_credentials() {
        let good = signed(b"");
        for (i, _) in good.iter().enumerate() {
            let mut without = good.clone();
            without.remove(i);
            assert_eq!(parse(&without), Err(SignatureFailure::Missing), "{i}");
        }
        let replace = |name: &str, value: &str| {
            let mut pairs = good.clone();
            pairs.iter_mut().find(|(n, _)| *n == name).unwrap().1 = value.to_owned();
            parse(&pairs)
        };
        let upper = good[3].1.to_uppercase();
        for (name, value) in [
            (TIMESTAMP_HEADER, "soon"),
            (NONCE_HEADER, "short"),
            (SIGNATURE_HEADER, "abc"),
            (SIGNATURE_HEADER, upper.as_str()),
        ] {
            assert_eq!(
                replace(name, value),
                Err(SignatureFailure::Missing),
                "{name}"
            );
        }
    }

    #[test]
    fn timestamps_within_five_minutes_either_way_are_accepted() {
        let credentials = parse(&signed(b"")).unwrap();
        let ts = credentials.timestamp;
        assert_eq!(credentials.check_time(ts + 300), Ok(()));
        assert_eq!(credentials.check_time(ts - 300), Ok(()));
        assert_eq!(
            credentials.check_time(ts + 301),
            Err(SignatureFailure::Stale)
        );
        assert_eq!(
            credentials.check_time(ts - 301),
            Err(SignatureFailure::Stale)
        );
    }
}
