//! NUL (U+0000) in what a client sends. PostgreSQL text cannot hold it: a NUL
//! that reaches a query fails there, and the failure would be answered as a
//! server error (500), which tells an API client to retry a request that can
//! never succeed. So input carrying one is refused where it enters — the
//! portals' query and form extraction, the API's request reading — as the
//! client's mistake, before any handler runs.

use actix_web::{
    Error,
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    middleware::Next,
};
use url::form_urlencoded;

use super::error::WebError;

/// Whether a URL-encoded query or form, once decoded, holds a NUL.
pub fn in_urlencoded(encoded: &[u8]) -> bool {
    encoded.contains(&0)
        || form_urlencoded::parse(encoded).any(|(k, v)| k.contains('\0') || v.contains('\0'))
}

/// Whether a request path holds an encoded NUL (`%00`); a raw one cannot get
/// through HTTP parsing.
pub fn in_path(path: &str) -> bool {
    path.contains("%00")
}

/// Whether a JSON text holds a NUL: raw, or as the escape `\u0000` in a
/// string (the only way valid JSON can carry one). An escaped backslash is
/// skipped, so `"\\u0000"` (a backslash, then text) is not one.
pub fn in_json(json: &[u8]) -> bool {
    let mut i = 0;
    while i < json.len() {
        match json[i] {
            0 => return true,
            b'\\' => {
                if json.get(i + 1) == Some(&b'u') && json.get(i + 2..i + 6) == Some(b"0000") {
                    return true;
                }
                i += 2;
            }
            _ => i += 1,
        }
    }
    false
}

/// The portals' middleware: a NUL in the path or query string is a bad
/// request (400), whichever handler and query type would have read it.
pub async fn refuse_in_url(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    if in_path(req.uri().path()) || in_urlencoded(req.query_string().as_bytes()) {
        return Err(WebError::BadRequest.into());
    }
    next.call(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nul_however_it_is_encoded() {
        assert!(in_urlencoded(b"q=a%00b"));
        assert!(in_urlencoded(b"a%00=1"));
        assert!(in_urlencoded(b"q=a\0"));
        assert!(!in_urlencoded(b"q=a%2500b&r=%E4%B8%AD"));
        assert!(in_path("/merchant/x%00"));
        assert!(!in_path("/merchant/x%2500"));
        assert!(in_json(br#"{"a":"x\u0000"}"#));
        assert!(in_json(b"{\"a\":\"x\0\"}"));
        assert!(in_json(br#"{"\u0000":1}"#));
        assert!(!in_json(br#"{"a":"x\\u0000"}"#));
        assert!(in_json(br#"{"a":"x\\\u0000"}"#));
        assert!(!in_json(br#"{"a":"\u2028 \\ \""}"#));
    }
}
