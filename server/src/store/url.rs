//! Database URLs appear in errors and logs; their passwords must not.

/// Replaces the password in `scheme://user:password@host/...` and in a `password=` query
/// parameter with `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path_and_query) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    let path_and_query = match path_and_query.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => path_and_query.to_owned(),
    };
    format!("{scheme}://{authority}{path_and_query}")
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn hides_the_password_in_the_authority() {
        assert_eq!(
            redact_url("postgres://app:s3cr@t@db.internal:5432/wayfarer"),
            "postgres://app:***@db.internal:5432/wayfarer"
        );
    }

    #[test]
    fn hides_a_password_query_parameter() {
        assert_eq!(
            redact_url("postgres://db/wayfarer?user=app&password=hunter2&sslmode=require"),
            "postgres://db/wayfarer?user=app&password=***&sslmode=require"
        );
    }

    #[test]
    fn leaves_urls_without_secrets_alone() {
        for url in [
            "sqlite://wayfarer.db?mode=rwc",
            "postgres://postgres@127.0.0.1:5432/test",
            "not a url",
        ] {
            assert_eq!(redact_url(url), url);
        }
    }
}
