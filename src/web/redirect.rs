//! Where a `next` parameter may send the browser after a form: only a path on
//! this site, never another one (open redirect). Browsers drop tab, CR and LF
//! from URLs, so `/\t/evil.example` would arrive as `//evil.example`, another
//! site; and a CR or LF cannot go into a `Location` header at all. So only
//! visible ASCII is accepted, and no `//` or `\` anywhere.

/// `next` if it is a path at `base` or under it (`base` is `""` for the whole
/// site, or a portal's `/platform`).
pub fn local_path<'a>(next: &'a str, base: &str) -> Option<&'a str> {
    let inside = (!base.is_empty() && next == base)
        || next
            .strip_prefix(base)
            .is_some_and(|rest| rest.starts_with('/'));
    let plain = next.chars().all(|c| c.is_ascii_graphic());
    (inside && plain && !next.contains("//") && !next.contains('\\')).then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_paths_under_the_base_pass() {
        assert_eq!(
            local_path("/platform/audit?a=b", "/platform"),
            Some("/platform/audit?a=b")
        );
        assert_eq!(local_path("/platform", "/platform"), Some("/platform"));
        assert_eq!(local_path("/anything", ""), Some("/anything"));
        for bad in [
            "",
            "https://evil.example",
            "//evil.example",
            "/\t/evil.example",
            "/\r\n/evil.example",
            "/platform/\t/evil",
            "/platform/x\r\nSet-Cookie: a=b",
            "/platform/ evil",
            "/platform/\\evil",
            "/platformx",
            "/merchant",
        ] {
            assert_eq!(local_path(bad, "/platform"), None, "{bad:?}");
        }
        assert_eq!(local_path("/\t/evil.example", ""), None);
        assert_eq!(local_path("", ""), None);
    }
}
