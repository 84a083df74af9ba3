//! A web page cannot use a visitor's browser to reach the server: DNS rebinding (a `Host` that
//! is not ours) gets 421, a write from another site's page gets 403, and answers forbid framing.

use app::api::{ErrorOut, JourneyOut, JourneyStatus, Reentry};
use app::journey::fixtures::{chain, email};
use reqwest::header;

use crate::support::{Backend, TestServer};

backend_tests!(
    a_host_that_is_not_ours_is_misdirected,
    a_form_from_another_site_changes_nothing,
    answers_forbid_framing_and_sniffing,
    the_public_url_is_ours_too,
);

async fn a_host_that_is_not_ours_is_misdirected(backend: Backend) {
    let server = TestServer::start(backend).await;
    for path in ["/api/v1/webhooks", "/journeys"] {
        let answer = server
            .client()
            .get(server.url(path))
            .header(header::HOST, "rebind.evil.example")
            .send()
            .await
            .expect("an answer");
        assert_eq!(answer.status(), 421, "{path}");
        let error: ErrorOut = answer.json().await.expect("an error");
        assert_eq!(error.error.code, "misdirected_request");
    }
    let local = server
        .client()
        .get(server.url("/api/v1/webhooks"))
        .header(header::HOST, "localhost")
        .send()
        .await
        .expect("an answer");
    assert_eq!(local.status(), 200, "loopback names are ours");
}

/// The body-less POSTs (pause, publish, resend…) were open to a plain HTML form on any site.
async fn a_form_from_another_site_changes_nothing(backend: Backend) {
    let server = TestServer::start(backend).await;
    let journey = server
        .publish_journey(Reentry::Once, chain("signup", vec![("hi", email("hi"))]))
        .await;
    let pause = server.url(&format!("/api/v1/journeys/{journey}/pause"));
    let own_origin = server.url("");
    let own_origin = own_origin.trim_end_matches('/');
    for (origin, fetch_site) in [
        (Some("https://evil.example"), None),
        (Some("null"), None),
        (None, Some("cross-site")),
        (Some(own_origin), Some("same-site")),
    ] {
        let mut request = server
            .client()
            .post(&pause)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body("a=1");
        if let Some(origin) = origin {
            request = request.header(header::ORIGIN, origin);
        }
        if let Some(site) = fetch_site {
            request = request.header("sec-fetch-site", site);
        }
        let answer = request.send().await.expect("an answer");
        assert_eq!(answer.status(), 403, "{origin:?} {fetch_site:?}");
        let error: ErrorOut = answer.json().await.expect("an error");
        assert_eq!(error.error.code, "cross_site_request");
    }
    let read: JourneyOut = server
        .get(&format!("/api/v1/journeys/{journey}"))
        .await
        .json()
        .await
        .expect("a journey");
    assert_eq!(read.status, JourneyStatus::Live, "still live");

    // The editor's own page, and a program that is no browser, still can.
    let own = server
        .client()
        .post(&pause)
        .header(header::ORIGIN, own_origin)
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .expect("an answer");
    assert_eq!(own.status(), 200);
    let program = server
        .post(&format!("/api/v1/journeys/{journey}/resume"))
        .await;
    assert_eq!(program.status(), 200);
}

async fn answers_forbid_framing_and_sniffing(backend: Backend) {
    let server = TestServer::start(backend).await;
    for path in ["/api/v1/health", "/journeys", "/api/v1/nothing-here"] {
        let answer = server.get(path).await;
        let headers = answer.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        let policy = headers["content-security-policy"].to_str().expect("text");
        assert!(
            policy.ends_with("frame-ancestors 'none'"),
            "{path}: {policy}"
        );
        if path.starts_with("/api/") {
            assert_eq!(
                policy, "default-src 'none'; frame-ancestors 'none'",
                "{path}"
            );
        }
        assert_eq!(headers["referrer-policy"], "same-origin", "{path}");
    }

    // A page runs only the script carrying this render's nonce (and what that script loads).
    let mut nonces = Vec::new();
    for _ in 0..2 {
        let page = server.get("/journeys").await;
        let policy = page.headers()["content-security-policy"]
            .to_str()
            .expect("text")
            .to_owned();
        let nonce = policy
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .expect("a nonce in the policy")
            .to_owned();
        assert!(
            policy.contains("'strict-dynamic'") && !policy.contains(" 'unsafe-eval'"),
            "{policy}"
        );
        let html = page.text().await.expect("the page");
        let scripts = html.matches("<script").count();
        let nonced = html.matches(&format!("nonce=\"{nonce}\"")).count();
        assert!(
            scripts > 0 && nonced >= scripts,
            "{scripts} scripts, {nonced} with the nonce"
        );
        nonces.push(nonce);
    }
    assert_ne!(nonces[0], nonces[1], "a new nonce for every page");
}

async fn the_public_url_is_ours_too(backend: Backend) {
    let server = TestServer::start_with(backend, |config| {
        config.public_url = Some("https://journeys.example.com".parse().expect("a URL"));
    })
    .await;
    let answer = server
        .client()
        .post(server.url("/api/v1/journeys"))
        .header(header::HOST, "journeys.example.com")
        .header(header::ORIGIN, "https://journeys.example.com")
        .header("sec-fetch-site", "same-origin")
        .json(&serde_json::json!({"name": "From the public address"}))
        .send()
        .await
        .expect("an answer");
    assert_eq!(answer.status(), 201);
    let elsewhere = server
        .client()
        .get(server.url("/api/v1/journeys"))
        .header(header::HOST, "other.example.com")
        .send()
        .await
        .expect("an answer");
    assert_eq!(elsewhere.status(), 421);
}
