//! What answers, previews, alert emails and logs show of a webhook: credentials typed into
//! custom headers or into the URL's query are masked, like its authentication. A header or
//! query parameter is taken for a credential by its name. An edit that sends a masked value
//! back unchanged keeps the stored one, so a form can show the masked settings and save them.

use app::journey::KeyValue;

/// What a masked value reads as.
pub const MASK: &str = "********";

/// Parts of names that mark a credential (`Authorization`, `X-Api-Key`, `access_token`, …).
const SENSITIVE_PARTS: &[&str] = &[
    "auth",
    "token",
    "secret",
    "password",
    "passwd",
    "key",
    "signature",
    "sig",
    "session",
    "cookie",
    "credential",
];

/// Whether a header or query parameter of this name carries a credential.
pub fn is_sensitive_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SENSITIVE_PARTS.iter().any(|part| name.contains(part))
}

/// The headers with the values of credentials (marked secret, or named like one) masked.
pub fn masked_headers(headers: &[KeyValue]) -> Vec<KeyValue> {
    headers
        .iter()
        .map(|header| KeyValue {
            value: if header.secret || is_sensitive_name(&header.key) {
                MASK.to_owned()
            } else {
                header.value.clone()
            },
            ..header.clone()
        })
        .collect()
}

/// Headers from an edit: a credential sent back masked keeps the stored value of that name.
pub fn unmasked_headers(incoming: Vec<KeyValue>, stored: &[KeyValue]) -> Vec<KeyValue> {
    incoming
        .into_iter()
        .map(|header| {
            if header.value != MASK {
                return header;
            }
            let kept = stored
                .iter()
                .find(|old| old.key.trim().eq_ignore_ascii_case(header.key.trim()))
                .map(|old| old.value.clone());
            KeyValue {
                value: kept.unwrap_or(header.value),
                ..header
            }
        })
        .collect()
}

/// The URL (or URL template) with the password of its user info and the values of
/// credential query parameters masked. Works on the text, so placeholders stay as written.
pub fn masked_url(url: &str) -> String {
    let (before_fragment, fragment) = match url.split_once('#') {
        Some((before, fragment)) => (before, Some(fragment)),
        None => (url, None),
    };
    let (base, query) = match before_fragment.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (before_fragment, None),
    };
    let mut masked = masked_user_info(base);
    if let Some(query) = query {
        masked.push('?');
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, value))
                    if is_sensitive_name(
                        &percent_encoding::percent_decode_str(name).decode_utf8_lossy(),
                    ) && !value.is_empty() =>
                {
                    format!("{name}={MASK}")
                }
                _ => pair.to_owned(),
            })
            .collect();
        masked.push_str(&pairs.join("&"));
    }
    if let Some(fragment) = fragment {
        masked.push('#');
        masked.push_str(fragment);
    }
    masked
}

/// `https://user:password@host/…` as `https://user:********@host/…`.
fn masked_user_info(base: &str) -> String {
    let Some((scheme, rest)) = base.split_once("://") else {
        return base.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:{MASK}@{host}{path}"),
            None => base.to_owned(),
        },
        None => base.to_owned(),
    }
}

/// The URL of an edit: the stored one if the edit sent back its masked form unchanged.
pub fn unmasked_url(incoming: String, stored: &str) -> String {
    if incoming != stored && incoming == masked_url(stored) {
        stored.to_owned()
    } else {
        incoming
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(key: &str, value: &str) -> KeyValue {
        KeyValue {
            key: key.to_owned(),
            value: value.to_owned(),
            secret: false,
        }
    }

    #[test]
    fn credentials_are_known_by_their_names() {
        for name in [
            "Authorization",
            "X-Api-Key",
            "x-auth-token",
            "Cookie",
            "X-Hub-Signature",
            "apikey",
        ] {
            assert!(is_sensitive_name(name), "{name}");
        }
        for name in ["X-Tenant", "Content-Language", "X-Source"] {
            assert!(!is_sensitive_name(name), "{name}");
        }
    }

    #[test]
    fn masked_headers_come_back_as_they_were_stored() {
        let stored = vec![pair("X-Token", "s3cret"), pair("X-Tenant", "eu")];
        let shown = masked_headers(&stored);
        assert_eq!(shown, vec![pair("X-Token", MASK), pair("X-Tenant", "eu")]);
        assert_eq!(unmasked_headers(shown, &stored), stored);
        // A new value replaces; a masked value with no stored match stays as typed.
        assert_eq!(
            unmasked_headers(vec![pair("x-token", "new"), pair("X-Key", MASK)], &stored),
            vec![pair("x-token", "new"), pair("X-Key", MASK)]
        );
        // Any header marked secret is masked, whatever its name.
        let marked = KeyValue {
            secret: true,
            ..pair("X-Tenant", "eu")
        };
        assert_eq!(masked_headers(std::slice::from_ref(&marked))[0].value, MASK);
    }

    #[test]
    fn urls_hide_their_credentials_and_keep_their_placeholders() {
        let url = "https://bot:pa55@api.example/{{contact.id}}?access_token=abc&page=2&sig=x#top";
        let masked = masked_url(url);
        assert_eq!(
            masked,
            "https://bot:********@api.example/{{contact.id}}?access_token=********&page=2&sig=********#top"
        );
        assert_eq!(unmasked_url(masked.clone(), url), url);
        assert_eq!(
            unmasked_url("https://other.example".to_owned(), url),
            "https://other.example"
        );
        assert_eq!(
            masked_url("https://api.example/p?q=1"),
            "https://api.example/p?q=1"
        );
    }
}
