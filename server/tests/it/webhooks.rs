//! `/api/v1/webhooks`: assets are validated when saved and never give their secrets back.

use app::api::{
    AuthOut, BodyFormat, ErrorOut, HttpMethod, RequestPreviewOut, SigningSecretOut, WebhookOut,
    WebhookTestOut,
};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Answer, Backend, Receiver, TestServer};

backend_tests!(
    a_webhook_is_created_and_shown_without_its_secrets,
    secrets_survive_edits_that_leave_them_out,
    invalid_settings_are_refused_with_every_problem,
    signing_secrets_rotate_with_an_overlap,
    webhooks_are_disabled_enabled_and_deleted,
    a_preview_shows_the_exact_request_with_secrets_masked,
    the_test_button_sends_now_and_reports_the_answer,
    a_secret_never_follows_the_url_to_another_host,
    unsaved_settings_are_previewed_and_tested_without_being_stored,
    an_unsaved_webhooks_test_is_guarded_like_a_delivery,
);

fn crm_hook() -> Value {
    json!({
        "name": "CRM",
        "url": "https://crm.example/hook/{{contact.external_id}}?list={{event.list_id}}",
        "contact_fields": ["email", "first_name"],
        "custom_data": [{"key": "source", "value": "journey {{journey.name}}"}],
        "headers": [{"key": "X-Tenant", "value": "acme"}],
        "auth": {"type": "basic", "username": "wayfarer", "password": "hunter2-secret"}
    })
}

async fn create(server: &TestServer, body: &Value) -> WebhookOut {
    let response = server.post_json("/api/v1/webhooks", body).await;
    assert_eq!(response.status(), 201);
    response.json().await.expect("a webhook")
}

async fn a_webhook_is_created_and_shown_without_its_secrets(backend: Backend) {
    let server = TestServer::start(backend).await;

    let response = server.post_json("/api/v1/webhooks", &crm_hook()).await;
    assert_eq!(response.status(), 201);
    let text = response.text().await.expect("a body");
    assert!(
        !text.contains("hunter2-secret"),
        "the password is never returned: {text}"
    );
    assert!(
        !text.contains("whsec_"),
        "the signing secret has its own endpoint: {text}"
    );
    let created: WebhookOut = serde_json::from_str(&text).expect("a webhook");
    assert_eq!(created.method, HttpMethod::Post);
    assert_eq!(created.body_format, BodyFormat::Json);
    assert_eq!(created.retry_window_hours, 12);
    assert!(created.enabled);
    assert_eq!(
        created.auth,
        AuthOut::Basic {
            username: "wayfarer".to_owned(),
            password_set: true
        }
    );

    for path in [
        format!("/api/v1/webhooks/{}", created.id),
        "/api/v1/webhooks".to_owned(),
    ] {
        let text = server.get(&path).await.text().await.expect("a body");
        assert!(!text.contains("hunter2-secret"), "{path}: {text}");
    }
    let shown: WebhookOut = server
        .get(&format!("/api/v1/webhooks/{}", created.id))
        .await
        .json()
        .await
        .expect("a webhook");
    assert_eq!(shown, created);

    let query = create(
        &server,
        &json!({"name": "Query", "url": "http://example.com/collect", "body_format": "query"}),
    )
    .await;
    assert_eq!(
        query.method,
        HttpMethod::Get,
        "the query format defaults to GET"
    );
}

async fn secrets_survive_edits_that_leave_them_out(backend: Backend) {
    let server = TestServer::start(backend).await;
    let created = create(&server, &crm_hook()).await;
    let path = format!("/api/v1/webhooks/{}", created.id);

    let response = server
        .patch_json(
            &path,
            &json!({"name": "CRM (EU)", "auth": {"type": "basic", "username": "eu"}}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let edited: WebhookOut = response.json().await.expect("a webhook");
    assert_eq!(edited.name, "CRM (EU)");
    assert_eq!(
        edited.auth,
        AuthOut::Basic {
            username: "eu".to_owned(),
            password_set: true
        }
    );
    let stored = server
        .store()
        .await
        .webhook(created.id)
        .await
        .expect("query")
        .expect("a row");
    assert_eq!(stored.auth_secret.as_deref(), Some("hunter2-secret"));

    let response = server
        .patch_json(&path, &json!({"auth": {"type": "bearer"}}))
        .await;
    assert_eq!(
        response.status(),
        422,
        "a new kind of authentication needs its secret"
    );
    let error: ErrorOut = response.json().await.expect("an error");
    assert!(
        error.error.message.contains("needs a token"),
        "{}",
        error.error.message
    );

    let response = server
        .patch_json(
            &path,
            &json!({"auth": {"type": "bearer", "token": "t0ken"}}),
        )
        .await;
    let edited: WebhookOut = response.json().await.expect("a webhook");
    assert_eq!(edited.auth, AuthOut::Bearer { token_set: true });
}

async fn invalid_settings_are_refused_with_every_problem(backend: Backend) {
    let server = TestServer::start(backend).await;

    let response = server
        .post_json(
            "/api/v1/webhooks",
            &json!({
                "name": " ",
                "url": "ftp://files.example/{{contact.email}}",
                "method": "GET",
                "custom_data": [{"key": "a", "value": "{{user.id}}"}, {"key": "a", "value": "x"}],
                "headers": [{"key": "Webhook-Signature", "value": "x"}, {"key": "bad header", "value": "x"}],
                "auth": {"type": "api_key", "header": "X-API-Key"},
                "retry_window_hours": 0
            }),
        )
        .await;

    assert_eq!(response.status(), 422);
    let error: ErrorOut = response.json().await.expect("an error");
    for expected in [
        "needs a key",
        "needs a name",
        "http:// or https://",
        "GET cannot carry",
        "\"a\" has a bad placeholder",
        "\"a\" is given twice",
        "set by Wayfarer itself",
        "\"bad header\" is not a valid header name",
        "retry window",
    ] {
        assert!(
            error.error.message.contains(expected),
            "{expected}: {}",
            error.error.message
        );
    }

    for (header, api_key_header) in [
        ("User-Agent", "X-Key"),
        ("Transfer-Encoding", "X-Key"),
        ("X-Ok", "Host"),
    ] {
        let response = server
            .post_json(
                "/api/v1/webhooks",
                &json!({"name": "x", "url": "https://example.com/hook",
                        "headers": [{"key": header, "value": "x"}],
                        "auth": {"type": "api_key", "header": api_key_header, "key": "k"}}),
            )
            .await;
        let error: ErrorOut = server
            .expect(response, StatusCode::UNPROCESSABLE_ENTITY)
            .await;
        assert!(
            error.error.message.contains("set by Wayfarer itself"),
            "{header}/{api_key_header}: {}",
            error.error.message
        );
    }
    let host_from_contact = server
        .post_json(
            "/api/v1/webhooks",
            &json!({"name": "x", "url": "https://api.example.com{{contact.x}}/p"}),
        )
        .await;
    let error: ErrorOut = server
        .expect(host_from_contact, StatusCode::UNPROCESSABLE_ENTITY)
        .await;
    assert!(
        error.error.message.contains("scheme, host"),
        "{}",
        error.error.message
    );
    // A webhook saved before that rule: its requests are not built.
    let older = server
        .create_webhook(&json!({"name": "old", "url": "https://api.example.com/p"}))
        .await;
    sqlx::any::install_default_drivers();
    let mut connection =
        <sqlx::AnyConnection as sqlx::Connection>::connect(server.database().url())
            .await
            .expect("connect");
    sqlx::query("UPDATE webhooks SET url = 'https://api.example.com{{contact.x}}/p' WHERE id = $1")
        .bind(older.id)
        .execute(&mut connection)
        .await
        .expect("update");
    sqlx::Connection::close(connection).await.ok();
    let preview = server
        .post_json(
            &format!("/api/v1/webhooks/{}/preview", older.id),
            &json!({}),
        )
        .await;
    let error: ErrorOut = server
        .expect(preview, StatusCode::UNPROCESSABLE_ENTITY)
        .await;
    assert!(
        error.error.message.contains("scheme or host"),
        "{}",
        error.error.message
    );

    let trimmed = server
        .create_webhook(&json!({"name": "x", "url": "https://example.com/hook",
                                "headers": [{"key": " X-Tenant ", "value": "acme"}],
                                "auth": {"type": "api_key", "header": " X-Key ", "key": "k"}}))
        .await;
    assert_eq!(trimmed.headers[0].key, "X-Tenant", "stored as sent");
    assert!(
        matches!(&trimmed.auth, AuthOut::ApiKey { header, .. } if header == "X-Key"),
        "{:?}",
        trimmed.auth
    );

    let bad_placeholder = server
        .post_json(
            "/api/v1/webhooks",
            &json!({"name": "x", "url": "https://example.com/{{contact.email"}),
        )
        .await;
    assert_eq!(bad_placeholder.status(), 422);
    let missing = server.get("/api/v1/webhooks/4242").await;
    assert_eq!(missing.status(), 404);
}

async fn signing_secrets_rotate_with_an_overlap(backend: Backend) {
    let server = TestServer::start(backend).await;
    let created = create(&server, &crm_hook()).await;
    let secret_path = format!("/api/v1/webhooks/{}/signing-secret", created.id);

    let first: SigningSecretOut = server
        .get(&secret_path)
        .await
        .json()
        .await
        .expect("a secret");
    let key = first
        .secret
        .strip_prefix("whsec_")
        .expect("the Standard Webhooks prefix");
    assert_eq!(STANDARD.decode(key).expect("base64").len(), 24);
    assert_eq!(first.previous_secret, None);

    let response = server
        .post_json(
            &format!("/api/v1/webhooks/{}/rotate-secret", created.id),
            &json!({"overlap_hours": 2}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let rotated: SigningSecretOut = response.json().await.expect("a secret");
    assert_ne!(rotated.secret, first.secret);
    assert_eq!(
        rotated.previous_secret.as_deref(),
        Some(first.secret.as_str())
    );
    assert_eq!(
        rotated.previous_expires_at,
        Some(server.clock().now_millis() + 2 * 3_600_000)
    );

    server.clock().advance(2 * 3_600_000 + 1);
    let after: SigningSecretOut = server
        .get(&secret_path)
        .await
        .json()
        .await
        .expect("a secret");
    assert_eq!(after.secret, rotated.secret);
    assert_eq!(after.previous_secret, None, "the overlap is over");
}

async fn webhooks_are_disabled_enabled_and_deleted(backend: Backend) {
    let server = TestServer::start(backend).await;
    let created = create(&server, &crm_hook()).await;
    let path = format!("/api/v1/webhooks/{}", created.id);

    let disabled: WebhookOut = server
        .patch_json(&path, &json!({"enabled": false}))
        .await
        .json()
        .await
        .expect("a webhook");
    assert!(!disabled.enabled);
    assert_eq!(
        disabled.disabled_reason.as_deref(),
        Some("disabled by an operator")
    );
    let enabled: WebhookOut = server
        .patch_json(&path, &json!({"enabled": true}))
        .await
        .json()
        .await
        .expect("a webhook");
    assert!(enabled.enabled);
    assert_eq!(enabled.disabled_reason, None);

    assert_eq!(server.delete(&path).await.status(), 204);
    assert_eq!(server.get(&path).await.status(), 404);
    assert_eq!(server.delete(&path).await.status(), 404);
}

fn header<'h>(headers: &'h [app::api::HeaderOut], name: &str) -> &'h str {
    headers
        .iter()
        .find(|header| header.name == name)
        .map_or("", |header| header.value.as_str())
}

async fn a_preview_shows_the_exact_request_with_secrets_masked(backend: Backend) {
    let server = TestServer::start(backend).await;
    let created = create(&server, &crm_hook()).await;

    let response = server
        .post_json(
            &format!("/api/v1/webhooks/{}/preview", created.id),
            &json!({}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.expect("a body");
    assert!(!text.contains("hunter2-secret"), "{text}");
    let preview: RequestPreviewOut = serde_json::from_str(&text).expect("a preview");
    assert_eq!(preview.method, HttpMethod::Post);
    assert_eq!(preview.url, "https://crm.example/hook/sample-contact?list=");
    assert_eq!(header(&preview.headers, "authorization"), "Basic ***");
    assert_eq!(header(&preview.headers, "x-tenant"), "acme");
    assert_eq!(
        header(&preview.headers, "content-type"),
        "application/json;charset=UTF-8"
    );
    assert!(header(&preview.headers, "webhook-signature").starts_with("v1,"));
    let body: Value = serde_json::from_str(&preview.body).expect("JSON");
    assert_eq!(
        body["data"]["contact"],
        json!({"external_id": "sample-contact", "email": "sample email", "first_name": "sample first_name"})
    );
    assert_eq!(body["event"], "sample.event");
    assert_eq!(
        preview.missing_placeholders,
        vec!["event.list_id", "journey.name"]
    );
}

async fn the_test_button_sends_now_and_reports_the_answer(backend: Backend) {
    let server = TestServer::start(backend).await;
    let receiver = Receiver::start().await;
    let mut hook = crm_hook();
    hook["url"] = json!(receiver.url("/hook/{{contact.external_id}}?list={{event.list_id}}"));
    let created = create(&server, &hook).await;
    server
        .put_json(
            "/api/v1/contacts/ana",
            &json!({"attributes": {"email": "ana@example.com"}}),
        )
        .await;
    let path = format!("/api/v1/webhooks/{}/test", created.id);

    let response = server
        .post_json(
            &path,
            &json!({"contact": "ana", "event": "list.add_contact",
                                  "properties": {"list_id": "news"}}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let result: WebhookTestOut = response.json().await.expect("a test result");
    assert!(result.accepted);
    assert_eq!(result.status_code, Some(200));
    assert_eq!(result.error, None);
    assert_eq!(
        header(&result.request.headers, "authorization"),
        "Basic ***"
    );
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].uri.to_string(), "/hook/ana?list=news");
    assert_eq!(
        received[0].header("authorization"),
        "Basic d2F5ZmFyZXI6aHVudGVyMi1zZWNyZXQ="
    );
    let body: Value = serde_json::from_slice(&received[0].body).expect("JSON");
    assert_eq!(body["data"]["contact"]["email"], "ana@example.com");

    receiver.queue([Answer::Status(500)]);
    let failed: WebhookTestOut = server
        .post_json(&path, &json!({}))
        .await
        .json()
        .await
        .expect("a test result");
    assert!(!failed.accepted);
    assert_eq!(failed.status_code, Some(500));

    let unknown = server.post_json(&path, &json!({"contact": "nobody"})).await;
    assert_eq!(unknown.status(), 404);
}

/// A bearer token stored for one host is not sent to another when only the URL changes.
async fn a_secret_never_follows_the_url_to_another_host(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (trusted, other) = (Receiver::start().await, Receiver::start().await);
    let created = create(
        &server,
        &json!({"name": "CRM", "url": trusted.url("/hook"),
                "auth": {"type": "bearer", "token": "SUPERSECRET"}}),
    )
    .await;
    let path = format!("/api/v1/webhooks/{}", created.id);

    // Another path on the same host keeps the token.
    let response = server
        .patch_json(&path, &json!({"url": trusted.url("/hook/v2")}))
        .await;
    assert_eq!(response.status(), 200);

    // Another host (here another port): refused unless the secret is given again.
    for patch in [
        json!({"url": other.url("/hook")}),
        json!({"url": other.url("/hook"), "auth": {"type": "bearer"}}),
    ] {
        let response = server.patch_json(&path, &patch).await;
        assert_eq!(response.status(), 422, "{patch}");
        let error: ErrorOut = response.json().await.expect("an error");
        assert!(
            error.error.message.contains("another host")
                || error.error.message.contains("needs a token"),
            "{}",
            error.error.message
        );
    }
    let tested = server.post_json(&format!("{path}/test"), &json!({})).await;
    assert_eq!(tested.status(), 200);
    assert!(
        other.received().is_empty(),
        "nothing went to the other host"
    );
    let sent = trusted.received();
    assert_eq!(
        sent.last().map(|request| request.header("authorization")),
        Some("Bearer SUPERSECRET")
    );

    let response = server
        .patch_json(
            &path,
            &json!({"url": other.url("/hook"), "auth": {"type": "bearer", "token": "for-other"}}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let tested = server.post_json(&format!("{path}/test"), &json!({})).await;
    assert_eq!(tested.status(), 200);
    assert_eq!(
        other
            .received()
            .last()
            .map(|request| request.header("authorization")),
        Some("Bearer for-other")
    );

    // A credential typed into a custom header stays with its host too: left out of the edit
    // or sent back masked, it is refused when the URL moves; typed again, it goes.
    let response = server
        .patch_json(
            &path,
            &json!({"url": trusted.url("/hook"), "auth": {"type": "none"},
                    "headers": [{"key": "X-Api-Key", "value": "HEADERSECRET"},
                                {"key": "X-Tenant", "value": "acme"}]}),
        )
        .await;
    assert_eq!(response.status(), 200);
    for patch in [
        json!({"url": other.url("/hook")}),
        json!({"url": other.url("/hook"),
               "headers": [{"key": "X-Api-Key", "value": "********"},
                           {"key": "X-Tenant", "value": "acme"}]}),
    ] {
        let response = server.patch_json(&path, &patch).await;
        assert_eq!(response.status(), 422, "{patch}");
        let error: ErrorOut = response.json().await.expect("an error");
        assert!(
            error.error.message.contains("header \"X-Api-Key\" again"),
            "{}",
            error.error.message
        );
        assert!(
            !error.error.message.contains("X-Tenant"),
            "{}",
            error.error.message
        );
    }
    let before = other.received().len();
    let tested = server
        .post_json(
            "/api/v1/webhooks/test",
            &json!({"edits": created.id,
                    "webhook": {"name": "CRM", "url": other.url("/hook"),
                                "headers": [{"key": "X-Api-Key", "value": "********"}]}}),
        )
        .await;
    assert_eq!(
        tested.status(),
        422,
        "an unsaved form's test follows the same rule"
    );
    assert_eq!(other.received().len(), before);
    let response = server
        .patch_json(
            &path,
            &json!({"url": other.url("/hook"),
                    "headers": [{"key": "X-Api-Key", "value": "for-other-key"}]}),
        )
        .await;
    assert_eq!(response.status(), 200);
}

async fn stored_webhooks(server: &TestServer) -> Vec<WebhookOut> {
    server
        .expect(server.get("/api/v1/webhooks").await, StatusCode::OK)
        .await
}

/// A form's Preview and Send test before Save: the settings as the form holds them are
/// checked, rendered and sent, and no webhook is created or changed.
async fn unsaved_settings_are_previewed_and_tested_without_being_stored(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (receiver, other) = (Receiver::start().await, Receiver::start().await);
    let stored = create(
        &server,
        &json!({"name": "CRM", "url": receiver.url("/hook"),
                "headers": [{"key": "X-Tenant", "value": "acme", "secret": true}],
                "auth": {"type": "bearer", "token": "SUPERSECRET"}}),
    )
    .await;
    let before = stored_webhooks(&server).await;
    // Any write from here on would show in `updated_at`.
    server.clock().advance(60_000);

    // A new webhook, in the form's words.
    let new = json!({"name": "New CRM", "url": receiver.url("/new/{{contact.external_id}}"),
                     "body_format": "form", "auth": {"type": "bearer", "token": "n3w-token"}});
    let preview: RequestPreviewOut = server
        .expect(
            server
                .post_json("/api/v1/webhooks/preview", &json!({"webhook": new}))
                .await,
            StatusCode::OK,
        )
        .await;
    assert_eq!(preview.url, receiver.url("/new/sample-contact"));
    assert_eq!(header(&preview.headers, "authorization"), "Bearer ***");
    assert!(preview.body.starts_with("data=%7B"), "{}", preview.body);
    assert!(header(&preview.headers, "webhook-signature").starts_with("v1,"));
    let response = server
        .post_json(
            "/api/v1/webhooks/test",
            &json!({"webhook": new, "sample": {"event": "signup"}}),
        )
        .await;
    let text = response.text().await.expect("a body");
    assert!(!text.contains("n3w-token"), "{text}");
    let tested: WebhookTestOut = serde_json::from_str(&text).expect("a test result");
    assert!(tested.accepted, "{tested:?}");
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].uri.to_string(), "/new/sample-contact");
    assert_eq!(received[0].header("authorization"), "Bearer n3w-token");

    // An edit of the stored webhook: the secrets the form leaves out (or shows masked) are
    // the stored ones, as when it is saved; the stored webhook stays as it was.
    let edit = json!({"name": "CRM renamed", "url": receiver.url("/edited"),
                      "headers": [{"key": "X-Tenant", "value": "********", "secret": true}],
                      "auth": {"type": "bearer"}});
    let response = server
        .post_json(
            "/api/v1/webhooks/test",
            &json!({"webhook": edit, "edits": stored.id}),
        )
        .await;
    let text = response.text().await.expect("a body");
    assert!(
        !text.contains("SUPERSECRET") && !text.contains("acme"),
        "{text}"
    );
    let tested: WebhookTestOut = serde_json::from_str(&text).expect("a test result");
    assert!(tested.accepted, "{tested:?}");
    let received = receiver.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[1].uri.to_string(), "/edited");
    assert_eq!(received[1].header("authorization"), "Bearer SUPERSECRET");
    assert_eq!(received[1].header("x-tenant"), "acme");
    let preview: RequestPreviewOut = server
        .expect(
            server
                .post_json(
                    "/api/v1/webhooks/preview",
                    &json!({"webhook": edit, "edits": stored.id}),
                )
                .await,
            StatusCode::OK,
        )
        .await;
    assert_eq!(preview.url, receiver.url("/edited"));
    assert_eq!(header(&preview.headers, "x-tenant"), "********");

    // Checked as a save checks them: refused with the same words, nothing sent.
    for (draft, expected) in [
        (
            json!({"webhook": {"name": "x", "url": "ftp://files.example/drop"}}),
            "must start with http:// or https://",
        ),
        (
            json!({"webhook": {"name": "x", "url": other.url("/hook"), "auth": {"type": "bearer"}},
                   "edits": stored.id}),
            "needs a token",
        ),
        (
            json!({"webhook": {"name": "x", "url": receiver.url("/hook")}, "edits": 4242}),
            "there is no webhook 4242",
        ),
    ] {
        for path in ["/api/v1/webhooks/preview", "/api/v1/webhooks/test"] {
            let response = server.post_json(path, &draft).await;
            assert!(
                [StatusCode::UNPROCESSABLE_ENTITY, StatusCode::NOT_FOUND]
                    .contains(&response.status()),
                "{path} {draft}"
            );
            let error: ErrorOut = response.json().await.expect("an error");
            assert!(
                error.error.message.contains(expected),
                "{path} {draft}: {}",
                error.error.message
            );
        }
    }
    assert!(other.received().is_empty(), "the secret stayed home");
    assert_eq!(receiver.received().len(), 2);

    assert_eq!(
        stored_webhooks(&server).await,
        before,
        "no webhook was created or changed"
    );
}

/// A test of unsaved settings goes out through the delivery sender, and its guard.
async fn an_unsaved_webhooks_test_is_guarded_like_a_delivery(backend: Backend) {
    let server =
        TestServer::start_with(backend, |config| config.allow_private_targets = false).await;
    let receiver = Receiver::start().await;
    let tested: WebhookTestOut = server
        .expect(
            server
                .post_json(
                    "/api/v1/webhooks/test",
                    &json!({"webhook": {"name": "Inside", "url": receiver.url("/hook")}}),
                )
                .await,
            StatusCode::OK,
        )
        .await;
    assert!(!tested.accepted);
    assert!(
        tested
            .error
            .as_deref()
            .is_some_and(|error| error.contains("refused to connect")),
        "{tested:?}"
    );
    assert!(receiver.received().is_empty());
    assert!(stored_webhooks(&server).await.is_empty());
}
