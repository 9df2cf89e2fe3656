//! The console's own URLs: query values escaped, and the paths a form or a sign-in may send a
//! browser to afterwards (only on the console's own origin).

/// A query-string value, escaped.
pub fn query_escape(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// A path to go to after signing in or after a form: only a path on the console's own origin,
/// judged the way a browser's URL parser reads it — tab, CR and LF removed first (browsers drop
/// them), then no `//` or `/\\` at its start (another host), no backslash, no scheme, no control
/// character, and the same again once percent-decoded (a server may decode it). Anything else is
/// the start page.
#[must_use]
pub fn local_path(next: Option<&str>) -> String {
    next.and_then(same_origin_path)
        .unwrap_or_else(|| "/".to_owned())
}

fn same_origin_path(raw: &str) -> Option<String> {
    let path: String = raw
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let safe = |p: &str| {
        let mut chars = p.chars();
        chars.next() == Some('/')
            && !matches!(chars.next(), Some('/' | '\\'))
            && !p.contains('\\')
            && !p.chars().any(char::is_control)
    };
    if !safe(&path) {
        return None;
    }
    // Decoded (as often as it decodes to something else), it must still be a local path.
    let mut decoded = path.clone();
    for _ in 0..4 {
        let next: String = percent_decode(&decoded)
            .chars()
            .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
            .collect();
        if next == decoded {
            break;
        }
        if !safe(&next) {
            return None;
        }
        decoded = next;
    }
    Some(path)
}

fn percent_decode(text: &str) -> String {
    let bytes: Vec<u8> =
        form_urlencoded::parse(format!("x={}", text.replace('+', "%2B")).as_bytes())
            .next()
            .map(|(_, v)| v.into_owned().into_bytes())
            .unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn only_a_path_on_the_consoles_own_origin_is_kept() {
        for ok in [
            "/",
            "/access-requests?user_id=bob&access_request_id=r1",
            "/users/bob",
            "/audit?target=a%20b",
        ] {
            assert_eq!(local_path(Some(ok)), ok, "{ok:?}");
        }
        for bad in [
            "/\t/evil.example",
            "/\n/evil.example",
            "\t//evil.example",
            "//evil.example",
            "/\\evil.example",
            "/\\/evil.example",
            "https://evil.example/",
            "javascript:alert(1)",
            "evil.example",
            "/%2F/evil.example",
            "/%2f%2fevil.example",
            "/%5Cevil.example",
            "/%09/evil.example",
            "/%252F/evil.example",
            "/\u{0}x",
            "",
        ] {
            assert_eq!(local_path(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(local_path(None), "/");
    }
}
