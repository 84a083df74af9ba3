//! Sending a rendered request: one shared client (connection reuse), no redirects, a timeout,
//! at most 64 KB of the answer read, and an SSRF guard applied to the addresses actually
//! dialled (a resolver that drops private ones), not just to the URL's text.

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::{Duration, Instant},
};

use reqwest::dns::{Name, Resolve, Resolving};

use super::{guard::TargetGuard, render::OutgoingRequest};

/// How much of an answer is read; the rest is dropped.
const MAX_RESPONSE_READ: usize = 64 * 1024;
/// How much of an answer is kept in the attempt log and shown by the test button.
pub const MAX_RESPONSE_KEPT: usize = 4 * 1024;

/// What happened when a request was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub status: Option<u16>,
    pub latency: Duration,
    /// Why there is no status, or a note such as a redirect that was not followed.
    pub error: Option<String>,
    pub headers: Vec<(String, String)>,
    /// The start of the answer's body, as text.
    pub body: String,
    pub retry_after: Option<Duration>,
    /// No answer within the timeout: the receiver may be overloaded.
    pub timed_out: bool,
}

impl Attempt {
    /// An attempt that never reached the network: the request was refused before sending.
    pub fn refused(error: String) -> Self {
        Self {
            status: None,
            latency: Duration::ZERO,
            error: Some(error),
            headers: Vec::new(),
            body: String::new(),
            retry_after: None,
            timed_out: false,
        }
    }
}

#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    guard: TargetGuard,
    timeout: Duration,
}

impl Sender {
    pub fn new(guard: TargetGuard, timeout: Duration) -> Result<Self, reqwest::Error> {
        // Installing fails only when a provider is installed already, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout)
            .dns_resolver(Arc::new(GuardedResolver {
                guard: guard.clone(),
            }))
            .no_proxy()
            .build()?;
        Ok(Self {
            client,
            guard,
            timeout,
        })
    }

    /// How long one request may take, from connecting to the end of its answer.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub async fn send(&self, request: &OutgoingRequest) -> Attempt {
        let started = Instant::now();
        let failed = |error: String| Attempt {
            latency: started.elapsed(),
            ..Attempt::refused(error)
        };
        if let Err(refused) = self.check_literal_host(&request.url) {
            return failed(refused);
        }
        let method = match reqwest::Method::from_bytes(request.method.as_str().as_bytes()) {
            Ok(method) => method,
            Err(error) => return failed(error.to_string()),
        };
        let mut builder = self.client.request(method, request.url.clone());
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let mut response = match builder.body(request.body.clone()).send().await {
            Ok(response) => response,
            // Without the URL: its query may carry a credential, and the log shows this text.
            Err(error) => {
                return Attempt {
                    timed_out: error.is_timeout(),
                    ..failed(describe(&error.without_url()))
                };
            }
        };
        let status = response.status();
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.to_string(),
                    storable(String::from_utf8_lossy(value.as_bytes()).into_owned()),
                )
            })
            .collect();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(parse_retry_after);
        let mut body = Vec::new();
        let mut error = None;
        while body.len() < MAX_RESPONSE_READ {
            match response.chunk().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(read_error) => {
                    error = Some(format!("the answer broke off: {}", describe(&read_error)));
                    break;
                }
            }
        }
        if status.is_redirection() {
            error =
                Some("redirects are not followed; point the webhook at the final URL".to_owned());
        }
        body.truncate(MAX_RESPONSE_KEPT);
        Attempt {
            status: Some(status.as_u16()),
            latency: started.elapsed(),
            error,
            headers,
            body: storable(String::from_utf8_lossy(&body).into_owned()),
            retry_after,
            timed_out: false,
        }
    }

    /// A URL naming an IP address is dialled without asking the resolver, so the guard looks
    /// at it here.
    fn check_literal_host(&self, url: &url::Url) -> Result<(), String> {
        let ip = match url.host() {
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
            _ => return Ok(()),
        };
        if self.guard.permits(ip) {
            Ok(())
        } else {
            Err(refusal(&ip.to_string()))
        }
    }
}

struct GuardedResolver {
    guard: TargetGuard,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.guard.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let resolved = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let permitted: Vec<SocketAddr> = resolved
                .filter(|address| guard.permits(address.ip()))
                .collect();
            if permitted.is_empty() {
                return Err(refusal(&host).into());
            }
            Ok(Box::new(permitted.into_iter()) as Box<dyn Iterator<Item = SocketAddr> + Send>)
        })
    }
}

fn refusal(host: &str) -> String {
    format!(
        "refused to connect: {host} is a private, loopback or reserved address (start the \
         server with --allow-target-network <CIDR> or --allow-private-targets to allow it)"
    )
}

/// What a receiver sent, fit for a text column: invalid UTF-8 (also a character cut by the
/// length limit) is already U+FFFD; NUL, which PostgreSQL cannot store and which made the whole
/// batch's record fail, becomes U+FFFD too.
fn storable(text: String) -> String {
    if text.contains('\0') {
        text.replace('\0', "\u{FFFD}")
    } else {
        text
    }
}

/// The words of an error and its causes, which reqwest keeps in its source chain.
fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "no answer before the timeout".to_owned();
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// `Retry-After: 120` or `Retry-After: Wed, 21 Oct 2026 07:28:00 GMT`.
fn parse_retry_after(value: &str) -> Option<Duration> {
    if let Ok(seconds) = value.trim().parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value.trim()).ok()?;
    let wait = at.timestamp_millis() - chrono::Utc::now().timestamp_millis();
    Some(Duration::from_millis(u64::try_from(wait).unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        assert_eq!(parse_retry_after("120"), Some(Duration::from_secs(120)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO),
            "a date in the past means now"
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[tokio::test]
    async fn literal_private_hosts_are_refused_before_connecting() {
        let sender = Sender::new(TargetGuard::default(), Duration::from_secs(1)).expect("client");
        let request = OutgoingRequest {
            message_id: "msg_1".to_owned(),
            method: app::api::HttpMethod::Post,
            url: url::Url::parse("http://127.0.0.1:9/hook").expect("a valid URL"),
            headers: Vec::new(),
            body: Vec::new(),
            missing: Vec::new(),
        };
        let attempt = sender.send(&request).await;
        assert_eq!(attempt.status, None);
        assert!(
            attempt
                .error
                .as_deref()
                .is_some_and(|error| error.contains("refused to connect")),
            "{attempt:?}"
        );
    }
}
