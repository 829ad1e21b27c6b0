//! The cryptography the rest of the system uses, in one small module over ring:
//! password hashing, random tokens, digests and constant-time comparison, and the
//! keys derived from the configured secret key — encryption of personal data at
//! rest, blind indexes to look encrypted values up, and the session cookie key.
//! Nothing else in the crate calls ring directly.

use std::{fmt, num::NonZeroU32};

use base64::{
    Engine as _,
    engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD},
};
use ring::{aead, digest, hkdf, hmac, pbkdf2, rand::SecureRandom as _, rand::SystemRandom};

/// PBKDF2-HMAC-SHA256 iterations for new password hashes (OWASP's 2023 figure).
/// Raising it later is safe: older hashes verify as [`PasswordCheck::ValidNeedsRehash`]
/// and are replaced at the next sign-in.
pub const PBKDF2_ITERATIONS: u32 = 600_000;
/// Names the algorithm in the stored hash, so another can be introduced beside it.
const PASSWORD_SCHEME: &str = "pbkdf2-sha256";
const PASSWORD_SALT_LEN: usize = 16;
const PASSWORD_HASH_LEN: usize = digest::SHA256_OUTPUT_LEN;

/// The outcome of checking a password against its stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordCheck {
    /// Wrong password, or a stored value that is not a hash we understand.
    Invalid,
    Valid,
    /// Right password, but hashed with weaker parameters than today's: store
    /// `hash_password(password)` in its place.
    ValidNeedsRehash,
}

/// Hashes a password for storage as
/// `pbkdf2-sha256$<iterations>$<salt>$<hash>` (standard base64, no padding).
pub fn hash_password(password: &str) -> String {
    hash_password_with(password, PBKDF2_ITERATIONS)
}

fn hash_password_with(password: &str, iterations: u32) -> String {
    let iterations = NonZeroU32::new(iterations).expect("iterations are positive");
    let mut salt = [0u8; PASSWORD_SALT_LEN];
    fill_random(&mut salt);
    let mut hash = [0u8; PASSWORD_HASH_LEN];
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        &salt,
        password.as_bytes(),
        &mut hash,
    );
    format!(
        "{PASSWORD_SCHEME}${iterations}${}${}",
        STANDARD_NO_PAD.encode(salt),
        STANDARD_NO_PAD.encode(hash)
    )
}

/// Checks `password` against a value made by [`hash_password`], in constant time.
/// A malformed stored value is simply [`PasswordCheck::Invalid`].
pub fn verify_password(password: &str, stored: &str) -> PasswordCheck {
    let Some((iterations, salt, hash)) = parse_password_hash(stored) else {
        return PasswordCheck::Invalid;
    };
    let matches = pbkdf2::verify(
        pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        &salt,
        password.as_bytes(),
        &hash,
    )
    .is_ok();
    match (matches, iterations.get() < PBKDF2_ITERATIONS) {
        (false, _) => PasswordCheck::Invalid,
        (true, false) => PasswordCheck::Valid,
        (true, true) => PasswordCheck::ValidNeedsRehash,
    }
}

fn parse_password_hash(stored: &str) -> Option<(NonZeroU32, Vec<u8>, Vec<u8>)> {
    let mut fields = stored.split('$');
    let (Some(scheme), Some(iterations), Some(salt), Some(hash), None) = (
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
    ) else {
        return None;
    };
    if scheme != PASSWORD_SCHEME {
        return None;
    }
    let iterations = iterations.parse().ok()?;
    let salt = STANDARD_NO_PAD.decode(salt).ok()?;
    let hash = STANDARD_NO_PAD.decode(hash).ok()?;
    (!salt.is_empty() && hash.len() == PASSWORD_HASH_LEN).then_some((iterations, salt, hash))
}

/// A fresh unguessable token (256 bits) for links and forms: URL-safe base64.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    fill_random(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A fresh six-digit one-time code (`000000`–`999999`, uniform): what an SMS
/// carries. Draws are rejected above the largest multiple of a million that
/// fits a `u32`, so no code is likelier than another (no modulo bias).
pub fn random_code() -> String {
    const CODES: u32 = 1_000_000;
    const LIMIT: u32 = u32::MAX - u32::MAX % CODES;
    loop {
        let mut bytes = [0u8; 4];
        fill_random(&mut bytes);
        let draw = u32::from_le_bytes(bytes);
        if draw < LIMIT {
            return format!("{:06}", draw % CODES);
        }
    }
}

/// A fresh unguessable identifier (128 bits) as 32 lowercase hex digits, for
/// ids that travel in URLs and JSON and must not be enumerable.
pub fn random_hex_id() -> String {
    let mut bytes = [0u8; 16];
    fill_random(&mut bytes);
    hex::encode(bytes)
}

/// 160 fresh random bits: a shared secret for one-time codes (RFC 4226 §4
/// recommends 160).
pub fn random_otp_secret() -> [u8; 20] {
    let mut bytes = [0u8; 20];
    fill_random(&mut bytes);
    bytes
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    digest::digest(&digest::SHA256, data)
        .as_ref()
        .try_into()
        .expect("SHA-256 output is 32 bytes")
}

/// HMAC-SHA256 of `message` under `key`: how partner-API requests (and the
/// webhooks we send) are signed.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), message)
        .as_ref()
        .try_into()
        .expect("HMAC-SHA256 output is 32 bytes")
}

/// Whether `tag` is the HMAC-SHA256 of `message` under `key`, compared in
/// constant time (ring's `verify`), so timing reveals nothing of the right tag.
pub fn verify_hmac_sha256(key: &[u8], message: &[u8], tag: &[u8]) -> bool {
    hmac::verify(&hmac::Key::new(hmac::HMAC_SHA256, key), message, tag).is_ok()
}

/// Compares secrets (token digests, signatures) without an early exit that would
/// reveal, through timing, how many leading bytes matched. Lengths are not
/// secret: the values compared have fixed lengths.
///
/// Written here because ring 0.17 only offers this as a deprecated internal
/// (`ring::constant_time`, "no promises regarding side channels", to be removed).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let difference = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // Keeps the optimizer from turning the fold back into an early-exit compare.
    std::hint::black_box(difference) == 0
}

/// The OS random source; it failing means the machine cannot do cryptography at
/// all, so there is nothing sensible to return instead.
fn fill_random(buf: &mut [u8]) {
    SystemRandom::new()
        .fill(buf)
        .expect("the operating system's random source failed");
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("sealed data is too short to be valid")]
    TooShort,
    #[error("sealed data has unknown format version {0}")]
    UnknownVersion(u8),
    #[error("decryption failed: wrong key, wrong context or tampered data")]
    Decrypt,
}

/// Fixed HKDF salt: the secret key is the only input that must stay secret, and a
/// constant salt still separates our derivations from anyone else's.
const HKDF_SALT: &[u8] = b"alliance hkdf salt v1";
const INFO_PERSONAL_DATA: &[u8] = b"alliance personal-data aes-256-gcm v1";
const INFO_BLIND_INDEX: &[u8] = b"alliance blind-index hmac-sha256 v1";
const INFO_COOKIE: &[u8] = b"alliance session-cookie v1";
/// Leads every sealed value, so the scheme can change without rewriting old data.
const SEALED_VERSION: u8 = 1;
const COOKIE_KEY_LEN: usize = 64;

/// Independent keys derived from the one configured secret (HKDF-SHA256 with a
/// distinct label each), so a key serving one purpose reveals nothing about the
/// others. Derive once at startup and share.
#[derive(Clone)]
pub struct Keys {
    personal_data: aead::LessSafeKey,
    blind_index: hmac::Key,
    cookie: [u8; COOKIE_KEY_LEN],
}

/// An HKDF output length for key material that is not a ring key type.
struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

impl Keys {
    pub fn derive(secret: &str) -> Self {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, HKDF_SALT).extract(secret.as_bytes());
        // `expand` fails only for outputs over 255 × 32 bytes; ours are far smaller.
        let personal_data = aead::UnboundKey::from(
            prk.expand(&[INFO_PERSONAL_DATA], &aead::AES_256_GCM)
                .expect("HKDF output length is valid"),
        );
        let blind_index = hmac::Key::from(
            prk.expand(&[INFO_BLIND_INDEX], hmac::HMAC_SHA256)
                .expect("HKDF output length is valid"),
        );
        let mut cookie = [0u8; COOKIE_KEY_LEN];
        prk.expand(&[INFO_COOKIE], Len(COOKIE_KEY_LEN))
            .and_then(|okm| okm.fill(&mut cookie))
            .expect("HKDF output length is valid");
        Self {
            personal_data: aead::LessSafeKey::new(personal_data),
            blind_index,
            cookie,
        }
    }

    /// Key material for the session cookie (`actix_web::cookie::Key::from`).
    pub fn cookie_key_bytes(&self) -> [u8; COOKIE_KEY_LEN] {
        self.cookie
    }

    /// Encrypts personal data for storage: version byte ‖ 12-byte nonce ‖
    /// ciphertext and tag (AES-256-GCM). `aad` names where the value lives (e.g.
    /// `b"members.phone"`), so a ciphertext copied to another column will not
    /// decrypt. Random nonces are safe for far more values than we will store
    /// under one key (the limit is about 2³² encryptions).
    pub fn encrypt(&self, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; aead::NONCE_LEN];
        fill_random(&mut nonce);
        let mut in_out = plaintext.to_vec();
        self.personal_data
            .seal_in_place_append_tag(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(aad),
                &mut in_out,
            )
            .expect("plaintext is within AES-GCM's length limit");
        let mut sealed = Vec::with_capacity(1 + nonce.len() + in_out.len());
        sealed.push(SEALED_VERSION);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&in_out);
        sealed
    }

    /// Reverses [`Keys::encrypt`] given the same `aad`.
    pub fn decrypt(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let (&version, rest) = sealed.split_first().ok_or(CryptoError::TooShort)?;
        if version != SEALED_VERSION {
            return Err(CryptoError::UnknownVersion(version));
        }
        if rest.len() < aead::NONCE_LEN + aead::AES_256_GCM.tag_len() {
            return Err(CryptoError::TooShort);
        }
        let (nonce, ciphertext) = rest.split_at(aead::NONCE_LEN);
        let nonce =
            aead::Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::TooShort)?;
        let mut in_out = ciphertext.to_vec();
        let plaintext_len = self
            .personal_data
            .open_in_place(nonce, aead::Aad::from(aad), &mut in_out)
            .map_err(|_| CryptoError::Decrypt)?
            .len();
        in_out.truncate(plaintext_len);
        Ok(in_out)
    }

    /// A keyed digest of a normalized value, stored beside its ciphertext so rows
    /// can be found by exact value (`WHERE phone_index = $1`) without decrypting.
    /// Keyed, so a database dump alone cannot be brute-forced — an 11-digit phone
    /// space is small enough to hash exhaustively. `domain` (e.g. `"member.phone"`)
    /// keeps equal values in different fields from sharing an index.
    pub fn blind_index(&self, domain: &str, normalized_value: &str) -> [u8; 32] {
        let mut context = hmac::Context::with_key(&self.blind_index);
        // The separator keeps ("ab", "c") and ("a", "bc") apart; domains are
        // constants in the code and never contain it.
        context.update(domain.as_bytes());
        context.update(&[0]);
        context.update(normalized_value.as_bytes());
        context
            .sign()
            .as_ref()
            .try_into()
            .expect("HMAC-SHA256 output is 32 bytes")
    }
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Keys { .. }")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AAD: &[u8] = b"members.phone";

    /// A cheap iteration count: most tests exercise the format, not the cost.
    const FEW_ITERATIONS: u32 = 1_000;

    #[test]
    fn a_password_verifies_against_its_hash_at_full_cost() {
        let stored = hash_password("correct horse battery staple");
        assert!(stored.starts_with("pbkdf2-sha256$600000$"), "{stored}");
        assert_eq!(
            verify_password("correct horse battery staple", &stored),
            PasswordCheck::Valid
        );
        assert_eq!(
            verify_password("correct horse battery stapler", &stored),
            PasswordCheck::Invalid
        );
    }

    #[test]
    fn the_same_password_gets_a_different_salt_each_time() {
        let first = hash_password_with("secret", FEW_ITERATIONS);
        let second = hash_password_with("secret", FEW_ITERATIONS);
        assert_ne!(first, second);
    }

    #[test]
    fn a_hash_with_fewer_iterations_than_today_needs_a_rehash() {
        let stored = hash_password_with("secret", FEW_ITERATIONS);
        assert_eq!(
            verify_password("secret", &stored),
            PasswordCheck::ValidNeedsRehash
        );
        assert_eq!(verify_password("Secret", &stored), PasswordCheck::Invalid);
    }

    #[test]
    fn a_malformed_stored_hash_is_invalid_rather_than_a_panic() {
        let good = hash_password_with("secret", FEW_ITERATIONS);
        let fields: Vec<&str> = good.split('$').collect();
        let malformed = [
            String::new(),
            "$$$".to_owned(),
            "plaintext-password".to_owned(),
            good.replace("pbkdf2-sha256", "bcrypt"),
            format!("{good}$extra"),
            format!("pbkdf2-sha256$0${}${}", fields[2], fields[3]),
            format!("pbkdf2-sha256$-5${}${}", fields[2], fields[3]),
            format!("pbkdf2-sha256$1000$!!${}", fields[3]),
            format!("pbkdf2-sha256$1000$${}", fields[3]),
            format!("pbkdf2-sha256$1000${}$c2hvcnQ", fields[2]),
            fields[..3].join("$"),
        ];
        for stored in &malformed {
            assert_eq!(
                verify_password("secret", stored),
                PasswordCheck::Invalid,
                "{stored:?}"
            );
        }
    }

    #[test]
    fn random_tokens_are_url_safe_and_distinct() {
        let token = random_token();
        assert_eq!(token.len(), 43, "32 bytes in unpadded base64");
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_ne!(token, random_token());
    }

    #[test]
    fn sha256_matches_the_published_test_vector() {
        assert_eq!(
            hex::encode(sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn hmac_sha256_matches_rfc_4231_and_verifies_only_the_right_tag() {
        // RFC 4231, test case 2.
        let tag = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(tag),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(verify_hmac_sha256(
            b"Jefe",
            b"what do ya want for nothing?",
            &tag
        ));
        assert!(!verify_hmac_sha256(
            b"Jefe",
            b"what do ya want for nothing!",
            &tag
        ));
        assert!(!verify_hmac_sha256(
            b"jefe",
            b"what do ya want for nothing?",
            &tag
        ));
        assert!(!verify_hmac_sha256(
            b"Jefe",
            b"what do ya want for nothing?",
            &tag[..31]
        ));
    }

    #[test]
    fn constant_time_eq_compares_whole_slices() {
        assert!(constant_time_eq(b"token", b"token"));
        assert!(!constant_time_eq(b"token", b"tokex"));
        assert!(!constant_time_eq(b"token", b"token!"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn encrypted_data_round_trips() {
        let keys = Keys::derive("a secret");
        let sealed = keys.encrypt("13800138000".as_bytes(), AAD);
        assert_eq!(sealed[0], 1, "version byte");
        assert_ne!(&sealed[13..], b"13800138000".as_slice());
        assert_eq!(keys.decrypt(&sealed, AAD).unwrap(), b"13800138000");
        assert_eq!(keys.decrypt(&keys.encrypt(b"", AAD), AAD).unwrap(), b"");
    }

    #[test]
    fn the_same_value_encrypts_differently_each_time() {
        let keys = Keys::derive("a secret");
        assert_ne!(keys.encrypt(b"same", AAD), keys.encrypt(b"same", AAD));
    }

    #[test]
    fn tampered_data_does_not_decrypt() {
        let keys = Keys::derive("a secret");
        let sealed = keys.encrypt(b"13800138000", AAD);
        for i in 1..sealed.len() {
            let mut tampered = sealed.clone();
            tampered[i] ^= 0x01;
            assert_eq!(
                keys.decrypt(&tampered, AAD),
                Err(CryptoError::Decrypt),
                "byte {i}"
            );
        }
        let mut wrong_version = sealed.clone();
        wrong_version[0] = 2;
        assert_eq!(
            keys.decrypt(&wrong_version, AAD),
            Err(CryptoError::UnknownVersion(2))
        );
        assert_eq!(keys.decrypt(&sealed[..20], AAD), Err(CryptoError::TooShort));
        assert_eq!(keys.decrypt(&[], AAD), Err(CryptoError::TooShort));
    }

    #[test]
    fn data_does_not_decrypt_in_another_column_or_under_another_key() {
        let keys = Keys::derive("a secret");
        let sealed = keys.encrypt(b"13800138000", AAD);
        assert_eq!(
            keys.decrypt(&sealed, b"members.email"),
            Err(CryptoError::Decrypt)
        );
        let other = Keys::derive("another secret");
        assert_eq!(other.decrypt(&sealed, AAD), Err(CryptoError::Decrypt));
    }

    #[test]
    fn one_time_codes_are_six_digits_and_vary() {
        let codes: std::collections::HashSet<String> = (0..50).map(|_| random_code()).collect();
        assert!(
            codes
                .iter()
                .all(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()))
        );
        assert!(codes.len() > 45, "50 draws from a million repeat rarely");
    }

    #[test]
    fn blind_indexes_are_deterministic_and_depend_on_key_and_domain() {
        let keys = Keys::derive("a secret");
        let index = keys.blind_index("member.phone", "13800138000");
        assert_eq!(
            index,
            Keys::derive("a secret").blind_index("member.phone", "13800138000")
        );
        assert_ne!(index, keys.blind_index("member.phone", "13800138001"));
        assert_ne!(index, keys.blind_index("merchant.phone", "13800138000"));
        assert_ne!(
            index,
            Keys::derive("another secret").blind_index("member.phone", "13800138000")
        );
        assert_ne!(
            index,
            sha256(b"member.phone\x0013800138000"),
            "keyed, not a plain digest"
        );
        assert_ne!(
            keys.blind_index("member.phone", ""),
            keys.blind_index("member.phon", "e"),
            "the separator keeps domain and value apart"
        );
    }

    #[test]
    fn different_secrets_give_different_cookie_keys() {
        let keys = Keys::derive("a secret");
        let other = Keys::derive("another secret");
        assert_ne!(keys.cookie_key_bytes(), other.cookie_key_bytes());
        assert_eq!(
            keys.cookie_key_bytes(),
            Keys::derive("a secret").cookie_key_bytes()
        );
    }

    #[test]
    fn debug_output_reveals_no_key_material() {
        assert_eq!(format!("{:?}", Keys::derive("a secret")), "Keys { .. }");
    }
}
