//! What keeps a web page from using a browser to reach the server: a request must name this
//! server (a loopback name, or `--public-url`'s host) in its `Host`, so that DNS rebinding gets
//! 421; a write must come from this server's own pages (its `Origin`, and `Sec-Fetch-Site` when
//! the browser sends it), so that a form or script on another site gets 403. Every answer
//! forbids framing and MIME sniffing and keeps the referrer on this origin.

use axum::{
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, Method, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::ApiError;

/// The names and origins this server answers to.
#[derive(Debug, Clone)]
pub struct Site {
    /// `--public-url`, when set: its host and origin are this server's too.
    public: Option<url::Url>,
}

impl Site {
    pub fn new(public: Option<url::Url>) -> Self {
        Self { public }
    }

    /// Whether `--public-url` names the address people use (so the server is meant to be
    /// reached from other machines).
    pub fn has_public_url(&self) -> bool {
        self.public.is_some()
    }

    /// Whether a `Host` header (name and optional port) names this server.
    fn answers_to(&self, host: &str) -> bool {
        let name = host_name(host);
        is_loopback_name(name)
            || self
                .public
                .as_ref()
                .is_some_and(|public| public.authority() == host || public.host_str() == Some(name))
    }

    /// Whether a write with these headers came from this server's own pages (or from no page
    /// at all: a client that is not a browser sends neither header).
    fn sent_by_own_page(&self, headers: &HeaderMap) -> bool {
        if let Some(site) = headers.get("sec-fetch-site")
            && !matches!(site.as_bytes(), b"same-origin" | b"none")
        {
            return false;
        }
        let Some(origin) = headers.get(header::ORIGIN) else {
            return true;
        };
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        let own = headers
            .get(header::HOST)
            .and_then(|host| host.to_str().ok())
            .is_some_and(|host| {
                origin == format!("http://{host}") || origin == format!("https://{host}")
            });
        own || self
            .public
            .as_ref()
            .is_some_and(|public| public.origin().ascii_serialization() == origin)
    }
}

/// The host name of a `Host` header, without its port (IPv6 addresses keep their brackets).
fn host_name(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|byte| byte.is_ascii_digit()) => name,
        _ => host,
    }
}

fn is_loopback_name(name: &str) -> bool {
    name.eq_ignore_ascii_case("localhost")
        || name == "[::1]"
        || name
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|address| address.is_loopback())
}

pub async fn guard(State(site): State<Site>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .map(|host| host.to_str().unwrap_or_default());
    // HTTP/1.1 requires a Host and every browser sends one; a client without one is no browser.
    if let Some(host) = host
        && !site.answers_to(host)
    {
        return ApiError::misdirected(format!(
            "this server does not answer to \"{host}\": reach it by a loopback address, or \
                 start it with --public-url naming the address people use"
        ))
        .into_response();
    }
    let writes = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if writes && !site.sent_by_own_page(request.headers()) {
        return ApiError::cross_site(
            "a page of another site cannot change anything here; use Wayfarer's own pages, or \
             call the API from a program",
        )
        .into_response();
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    // Pages set their own policy, with the nonce of their hydration script (`app::shell`);
    // anything else (JSON, files) may load nothing and be framed by no one.
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(
            "default-src 'none'; frame-ancestors 'none'",
        ));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn loopback_names_and_the_public_host_are_answered() {
        let local = Site::new(None);
        for host in [
            "127.0.0.1:3000",
            "localhost:3000",
            "LOCALHOST",
            "[::1]:3000",
            "127.0.0.2",
        ] {
            assert!(local.answers_to(host), "{host}");
        }
        for host in [
            "rebind.evil.example",
            "10.0.0.1:3000",
            "localhost.evil.example:3000",
        ] {
            assert!(!local.answers_to(host), "{host}");
        }
        let public = Site::new(Some(
            url::Url::parse("https://journeys.example.com").expect("a URL"),
        ));
        assert!(public.answers_to("journeys.example.com"));
        assert!(public.answers_to("127.0.0.1:3000"));
        assert!(!public.answers_to("evil.example"));
    }

    #[test]
    fn writes_come_from_the_same_origin_or_from_no_page() {
        let site = Site::new(None);
        assert!(site.sent_by_own_page(&headers(&[("host", "127.0.0.1:3000")])));
        assert!(site.sent_by_own_page(&headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "http://127.0.0.1:3000"),
            ("sec-fetch-site", "same-origin"),
        ])));
        for refused in [
            &[
                ("host", "127.0.0.1:3000"),
                ("origin", "https://evil.example"),
            ][..],
            &[("host", "127.0.0.1:3000"), ("origin", "null")][..],
            &[
                ("host", "127.0.0.1:3000"),
                ("origin", "http://127.0.0.1:5555"),
            ][..],
            &[("host", "127.0.0.1:3000"), ("sec-fetch-site", "cross-site")][..],
            &[("host", "localhost:3000"), ("sec-fetch-site", "same-site")][..],
        ] {
            assert!(!site.sent_by_own_page(&headers(refused)), "{refused:?}");
        }
        let public = Site::new(Some(
            url::Url::parse("https://journeys.example.com").expect("a URL"),
        ));
        assert!(public.sent_by_own_page(&headers(&[
            ("host", "10.0.0.5:3000"),
            ("origin", "https://journeys.example.com"),
        ])));
    }
}
