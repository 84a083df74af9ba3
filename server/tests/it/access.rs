//! Closed by default: who may call which endpoint (every endpoint × every role, anonymous and
//! API keys), sessions as a browser holds them, brute force, API keys, operators, set-up.

use std::collections::BTreeSet;

use app::api::{
    ApiKeyCreatedOut, ApiKeyOut, AuditEntryOut, ErrorOut, OperatorCreatedOut, OperatorOut, Role,
    Scope, SessionOut,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{
    Backend, PASSWORD, Session, TestDatabase, TestServer, http_client, http_client_with_key,
    set_cookie, sign_in,
};

backend_tests!(
    every_endpoint_answers_each_caller_as_its_rule_says,
    a_browser_session_needs_its_csrf_token_and_ends_on_sign_out,
    sessions_end_when_idle_and_at_their_lifetime,
    a_session_is_forgotten_by_the_idle_limit_it_was_started_with,
    repeated_failed_sign_ins_lock_the_account_for_a_while,
    api_keys_work_with_their_scopes_until_revoked_or_expired,
    operators_get_a_one_time_password_and_lose_access_when_deactivated,
    the_first_admin_is_set_up_once_from_this_machine,
    pages_send_the_signed_out_to_sign_in_or_set_up,
    the_audit_log_records_who_did_what,
    insecure_no_auth_is_for_this_machine_only,
    the_command_line_creates_operators_and_keys,
    an_api_key_sends_events_at_its_rate,
);

/// Who may call an endpoint, written here independently of the server's own table.
#[derive(Debug, Clone, Copy)]
enum Needs {
    Anyone,
    SignedIn,
    /// An operator's session, not a key.
    Session,
    Scope(Scope),
    /// This scope and these others too: a key of one scope is refused unless it is an admin's.
    ScopeAnd(Scope, &'static [Scope]),
}

/// Every endpoint of the OpenAPI document must be listed here: a new endpoint without an
/// expectation fails the test, so nobody adds one without deciding who may call it.
fn expectation(method: &str, path: &str) -> Option<Needs> {
    use Needs::{Anyone, Session, SignedIn};
    use Scope::*;
    let scope = Needs::Scope;
    Some(match (method, path.strip_prefix("/api/v1")?) {
        ("get", "/health") | ("post", "/setup" | "/session") => Anyone,
        ("get" | "delete", "/session") => SignedIn,
        ("post", "/session/password") => Session,
        ("get", "/contacts" | "/contacts/{external_id}" | "/contacts/{external_id}/activity") => {
            scope(ContactsRead)
        }
        ("put", "/contacts/{external_id}") | ("post", "/contacts/batch") => scope(ContactsWrite),
        ("post", "/events" | "/events/batch") => scope(EventsWrite),
        ("get", "/journeys" | "/journeys/{id}" | "/journeys/{id}/stats") => scope(JourneysRead),
        (
            "post",
            "/journeys"
            | "/journeys/{id}/publish"
            | "/journeys/{id}/pause"
            | "/journeys/{id}/resume",
        )
        | ("patch" | "delete", "/journeys/{id}") => scope(JourneysWrite),
        ("get", "/webhooks" | "/webhooks/{id}") | ("post", "/webhooks/{id}/preview") => {
            scope(WebhooksRead)
        }
        ("get", "/webhooks/{id}/signing-secret")
        | (
            "post",
            "/webhooks"
            | "/webhooks/{id}/rotate-secret"
            | "/webhooks/{id}/test"
            | "/webhooks/preview"
            | "/webhooks/test",
        )
        | ("patch" | "delete", "/webhooks/{id}") => scope(WebhooksWrite),
        ("get", "/templates" | "/templates/{id}") | ("post", "/templates/preview") => {
            scope(TemplatesRead)
        }
        ("post", "/templates") | ("put" | "delete", "/templates/{id}") => scope(TemplatesWrite),
        (
            "get",
            "/deliveries"
            | "/deliveries/{id}"
            | "/journeys/{id}/nodes/{node}/failures"
            | "/journeys/{id}/nodes/{node}/timeline"
            | "/journeys/{id}/nodes/{node}/resends",
        )
        | ("get", "/messages" | "/webhooks/health") => scope(DeliveriesRead),
        ("get", "/metrics") => scope(MetricsRead),
        // The request shows the contact's data and the webhook's settings.
        ("get", "/deliveries/{id}/request") => {
            Needs::ScopeAnd(DeliveriesWrite, &[ContactsRead, WebhooksRead])
        }
        (
            "post",
            "/deliveries/{id}/resend"
            | "/journeys/{id}/nodes/{node}/resend-failed"
            | "/journeys/{id}/nodes/{node}/failures/resend",
        ) => scope(DeliveriesWrite),
        ("get" | "post", "/operators" | "/api-keys")
        | ("patch", "/operators/{id}")
        | ("post", "/operators/{id}/reset-password")
        | ("delete", "/api-keys/{id}")
        | ("get", "/audit")
        | ("get", "/channels" | "/channels/presets" | "/channels/{channel}")
        | ("put" | "delete", "/channels/{channel}") => scope(Admin),
        // A provider's report proves itself with the provider's secret, not a session.
        ("post", "/receipts/{channel}") => Anyone,
        _ => return None,
    })
}

/// The least role that has `scope`.
fn least_role(scope: Scope) -> Role {
    match scope {
        Scope::ContactsRead
        | Scope::JourneysRead
        | Scope::WebhooksRead
        | Scope::TemplatesRead
        | Scope::DeliveriesRead
        | Scope::MetricsRead => Role::Viewer,
        Scope::Admin => Role::Admin,
        _ => Role::Editor,
    }
}

fn rank(role: Role) -> u8 {
    match role {
        Role::Viewer => 0,
        Role::Editor => 1,
        Role::Admin => 2,
    }
}

enum Caller<'a> {
    Anonymous,
    Operator(Role, &'a Session),
    Key(&'a str, Scope),
}

async fn every_endpoint_answers_each_caller_as_its_rule_says(backend: Backend) {
    let server = TestServer::start(backend).await;
    let document: Value = server
        .expect(server.get("/api/v1/openapi.json").await, StatusCode::OK)
        .await;
    let mut operations = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("operations").keys() {
            operations.insert((method.clone(), path.clone()));
        }
    }
    let missing: Vec<_> = operations
        .iter()
        .filter(|(method, path)| expectation(method, path).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "endpoints without an expectation: {missing:?}"
    );

    let viewer = server.signed_in(Role::Viewer).await;
    let editor = server.signed_in(Role::Editor).await;
    let admin = server.signed_in(Role::Admin).await;
    let mut keys = Vec::new();
    for scope in Scope::ALL {
        keys.push((
            crate::support::create_api_key(server.database().url(), &[*scope]).await,
            *scope,
        ));
    }
    let mut callers = vec![
        Caller::Anonymous,
        Caller::Operator(Role::Viewer, &viewer),
        Caller::Operator(Role::Editor, &editor),
        Caller::Operator(Role::Admin, &admin),
    ];
    callers.extend(keys.iter().map(|(key, scope)| Caller::Key(key, *scope)));

    let mut wrong = Vec::new();
    for (method, path) in &operations {
        let needs = expectation(method, path).expect("checked above");
        let concrete = path
            .replace("{id}", "999999")
            .replace("{external_id}", "nobody")
            .replace("{node}", "hook")
            .replace("{channel}", "sms");
        let http_method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("a method");
        for caller in &callers {
            // Signing out would end the session the next endpoints are called with.
            let throwaway;
            let caller = match caller {
                Caller::Operator(role, _) if path == "/api/v1/session" && method == "delete" => {
                    throwaway = server.signed_in(*role).await;
                    &Caller::Operator(*role, &throwaway)
                }
                other => other,
            };
            let (request, allowed, who) = match caller {
                Caller::Anonymous => (
                    http_client().request(http_method.clone(), server.url(&concrete)),
                    matches!(needs, Needs::Anyone),
                    "anonymous".to_owned(),
                ),
                Caller::Operator(role, session) => (
                    session.request(http_method.clone(), &concrete),
                    match needs {
                        Needs::Anyone | Needs::SignedIn | Needs::Session => true,
                        Needs::Scope(scope) => rank(*role) >= rank(least_role(scope)),
                        Needs::ScopeAnd(scope, others) => std::iter::once(&scope)
                            .chain(others)
                            .all(|scope| rank(*role) >= rank(least_role(*scope))),
                    },
                    format!("{role} session"),
                ),
                Caller::Key(key, held) => (
                    http_client_with_key(key).request(http_method.clone(), server.url(&concrete)),
                    match needs {
                        Needs::Anyone | Needs::SignedIn => true,
                        Needs::Session => false,
                        Needs::Scope(scope) => *held == scope || *held == Scope::Admin,
                        Needs::ScopeAnd(..) => *held == Scope::Admin,
                    },
                    format!("key with {held}"),
                ),
            };
            let answer = request.json(&json!({})).send().await.expect("a response");
            let status = answer.status();
            let refused = matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN);
            let body: Value = answer.json().await.unwrap_or_default();
            // A 403 for another reason than access (e.g. set-up from elsewhere) is not one.
            let access_refusal = refused
                && matches!(
                    body["error"]["code"].as_str(),
                    Some("unauthenticated" | "forbidden" | "invalid_api_key" | "session_ended")
                );
            if allowed == access_refusal {
                wrong.push(format!(
                    "{method} {path} as {who}: {status} {} (expected {})",
                    body["error"]["code"],
                    if allowed { "allowed" } else { "refused" }
                ));
            }
            if !allowed && matches!(caller, Caller::Anonymous) && !matches!(needs, Needs::Anyone) {
                assert_eq!(
                    status,
                    StatusCode::UNAUTHORIZED,
                    "{method} {path} anonymous"
                );
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong answers:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

async fn a_browser_session_needs_its_csrf_token_and_ends_on_sign_out(backend: Backend) {
    let server = TestServer::start(backend).await;
    server
        .create_operator("ana@example.com", Role::Editor)
        .await;
    let response = sign_in(&server, "Ana@Example.com ", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookies: Vec<String> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().expect("text").to_owned())
        .collect();
    let session_cookie = cookies
        .iter()
        .find(|cookie| cookie.starts_with("wayfarer_session="))
        .expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(session_cookie.contains(attribute), "{session_cookie}");
    }
    assert!(!session_cookie.contains("Secure"), "plain HTTP on loopback");
    let session = Session::from_response(&server, response).await;
    assert_eq!(
        session
            .session
            .operator
            .as_ref()
            .map(|operator| operator.email.as_str()),
        Some("ana@example.com")
    );

    // A write without the token (what a forged form would send) is refused, with it accepted.
    let forged = http_client()
        .post(server.url("/api/v1/journeys"))
        .header("cookie", format!("wayfarer_session={}", session.token))
        .json(&json!({"name": "x", "draft": {"nodes": [], "edges": []}}))
        .send()
        .await
        .expect("a response");
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let error: ErrorOut = forged.json().await.expect("JSON");
    assert_eq!(error.error.code, "csrf_token_invalid");
    let wrong_token = http_client()
        .post(server.url("/api/v1/journeys"))
        .header("cookie", format!("wayfarer_session={}", session.token))
        .header("x-csrf-token", "guessed")
        .json(&json!({"name": "x", "draft": {"nodes": [], "edges": []}}))
        .send()
        .await
        .expect("a response");
    assert_eq!(wrong_token.status(), StatusCode::FORBIDDEN);
    let created = session
        .request(Method::POST, "/api/v1/journeys")
        .json(&json!({"name": "x", "draft": {"nodes": [], "edges": []}}))
        .send()
        .await
        .expect("a response");
    assert_eq!(created.status(), StatusCode::CREATED);

    let current: SessionOut = session
        .send(Method::GET, "/api/v1/session")
        .await
        .json()
        .await
        .expect("JSON");
    assert!(current.scopes.contains(&Scope::JourneysWrite));
    assert!(!current.scopes.contains(&Scope::Admin));

    let signed_out = session.send(Method::DELETE, "/api/v1/session").await;
    assert_eq!(signed_out.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        set_cookie(&signed_out, "wayfarer_session").as_deref(),
        Some("")
    );
    let after = session.send(Method::GET, "/api/v1/journeys").await;
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    let error: ErrorOut = after.json().await.expect("JSON");
    assert_eq!(error.error.code, "session_ended");
}

async fn sessions_end_when_idle_and_at_their_lifetime(backend: Backend) {
    const HOUR: i64 = 3_600_000;
    let server = TestServer::start(backend).await;
    let session = server.signed_in(Role::Viewer).await;
    // Used every 11 hours (idle limit 12 h), it lives until its 7-day lifetime.
    for _ in 0..15 {
        server.clock().advance(11 * HOUR);
        let answer = session.send(Method::GET, "/api/v1/journeys").await;
        assert_eq!(answer.status(), StatusCode::OK);
    }
    server.clock().advance(4 * HOUR);
    let answer = session.send(Method::GET, "/api/v1/journeys").await;
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED, "past 7 days");

    let idle = server.signed_in(Role::Viewer).await;
    server.clock().advance(12 * HOUR + 1);
    let answer = idle.send(Method::GET, "/api/v1/journeys").await;
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED, "idle 12 h");

    // A session nobody comes back with does not stay behind either: the hourly pruning
    // forgets it once it has ended.
    let _forgotten = server.signed_in(Role::Viewer).await;
    server.clock().advance(13 * HOUR);
    let mut left = -1;
    for _ in 0..500 {
        left = sqlx::query_scalar("SELECT COUNT(*) FROM sessions")
            .fetch_one(&mut server.database_connection().await)
            .await
            .expect("the sessions");
        if left == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(left, 0, "ended sessions still stored");
}

/// Two processes with different idle limits (as a web process and a worker may be started):
/// each session is forgotten by the limit of the process that started it, not by that of
/// whichever process prunes.
async fn a_session_is_forgotten_by_the_idle_limit_it_was_started_with(backend: Backend) {
    const HOUR: i64 = 3_600_000;
    let database = TestDatabase::create(backend).await;
    let patient = TestServer::start_configured(database.alias(), |config| {
        config.session_idle_minutes = 3 * 24 * 60;
    })
    .await;
    let pruning = TestServer::start_on(database).await;
    let kept = patient.signed_in(Role::Viewer).await;
    let ended = pruning.signed_in(Role::Viewer).await;
    // 13 hours on the pruning process's clock: past its own 12-hour limit, within 3 days.
    pruning.clock().advance(13 * HOUR);
    let email = |session: &Session| {
        session
            .session
            .operator
            .as_ref()
            .map(|operator| operator.email.clone())
            .expect("an operator")
    };
    let mut left: Vec<String> = Vec::new();
    for _ in 0..500 {
        left = sqlx::query_scalar(
            "SELECT o.email FROM sessions s JOIN operators o ON o.id = s.operator_id",
        )
        .fetch_all(&mut pruning.database_connection().await)
        .await
        .expect("the sessions");
        if left.len() == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(
        left,
        [email(&kept)],
        "{} forgotten, {} kept",
        email(&ended),
        email(&kept)
    );
}

async fn repeated_failed_sign_ins_lock_the_account_for_a_while(backend: Backend) {
    let server = TestServer::start(backend).await;
    server
        .create_operator("ana@example.com", Role::Editor)
        .await;
    for _ in 0..5 {
        let answer = sign_in(&server, "ana@example.com", "not the password").await;
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
        let error: ErrorOut = answer.json().await.expect("JSON");
        assert_eq!(error.error.code, "wrong_credentials");
    }
    // Locked: even the right password waits, and the answer says how long.
    let locked = sign_in(&server, "ana@example.com", PASSWORD).await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = locked.headers()["retry-after"]
        .to_str()
        .expect("text")
        .parse()
        .expect("seconds");
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    let error: ErrorOut = locked.json().await.expect("JSON");
    assert!(
        error.error.message.contains("too many failed sign-ins"),
        "{}",
        error.error.message
    );
    // An unknown account answers like a wrong password (no enumeration).
    let unknown = sign_in(&server, "nobody@example.com", PASSWORD).await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);

    server.clock().advance(15 * 60 * 1000);
    let answer = sign_in(&server, "ana@example.com", PASSWORD).await;
    assert_eq!(answer.status(), StatusCode::OK);
}

async fn api_keys_work_with_their_scopes_until_revoked_or_expired(backend: Backend) {
    let server = TestServer::start(backend).await;
    let created: ApiKeyCreatedOut = server
        .expect(
            server
                .post_json(
                    "/api/v1/api-keys",
                    &json!({"name": "Shop", "scopes": ["events:write", "contacts:write"]}),
                )
                .await,
            StatusCode::CREATED,
        )
        .await;
    assert!(created.key.starts_with("wf_"));
    assert!(created.api_key.prefix.starts_with(&created.key[..9]));
    let shop = http_client_with_key(&created.key);
    let contact = shop
        .put(server.url("/api/v1/contacts/c-1"))
        .json(&json!({"attributes": {}}))
        .send()
        .await
        .expect("a response");
    assert!(contact.status().is_success(), "{}", contact.status());
    let event = shop
        .post(server.url("/api/v1/events"))
        .json(&json!({"contact": "c-1", "event": "signup"}))
        .send()
        .await
        .expect("a response");
    assert_eq!(event.status(), StatusCode::ACCEPTED);
    let read = shop
        .get(server.url("/api/v1/journeys"))
        .send()
        .await
        .expect("a response");
    assert_eq!(read.status(), StatusCode::FORBIDDEN);
    let error: ErrorOut = read.json().await.expect("JSON");
    assert!(
        error.error.message.contains("journeys:read"),
        "{}",
        error.error.message
    );

    // The list never shows a key, only its prefix; the use was recorded.
    let listed = server
        .get("/api/v1/api-keys")
        .await
        .text()
        .await
        .expect("text");
    assert!(!listed.contains(&created.key), "{listed}");
    let keys: Vec<ApiKeyOut> = serde_json::from_str(&listed).expect("JSON");
    let shop_key = keys
        .iter()
        .find(|key| key.id == created.api_key.id)
        .expect("listed");
    assert!(shop_key.last_used_at.is_some());

    let revoked: ApiKeyOut = server
        .expect(
            server
                .delete(&format!("/api/v1/api-keys/{}", created.api_key.id))
                .await,
            StatusCode::OK,
        )
        .await;
    assert!(revoked.revoked_at.is_some());
    let after = shop
        .post(server.url("/api/v1/events"))
        .json(&json!({"contact": "c-1", "event": "signup"}))
        .send()
        .await
        .expect("a response");
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    let error: ErrorOut = after.json().await.expect("JSON");
    assert_eq!(error.error.code, "invalid_api_key");

    // A mistyped key fails its checksum; an expired key stops working.
    let mistyped = format!("{}x", &created.key[..created.key.len() - 1]);
    let answer = http_client_with_key(&mistyped)
        .get(server.url("/api/v1/session"))
        .send()
        .await
        .expect("a response");
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    let expiring: ApiKeyCreatedOut = server
        .expect(
            server
                .post_json(
                    "/api/v1/api-keys",
                    &json!({"name": "Trial", "scopes": ["journeys:read"],
                            "expires_at": server.clock().now_millis() + 3_600_000}),
                )
                .await,
            StatusCode::CREATED,
        )
        .await;
    let trial = http_client_with_key(&expiring.key);
    let answer = trial
        .get(server.url("/api/v1/journeys"))
        .send()
        .await
        .expect("a response");
    assert_eq!(answer.status(), StatusCode::OK);
    server.clock().advance(3_600_000);
    let answer = trial
        .get(server.url("/api/v1/journeys"))
        .send()
        .await
        .expect("a response");
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);

    // Bad input names its field.
    for (body, field) in [
        (json!({"name": "", "scopes": ["admin"]}), "name"),
        (json!({"name": "x", "scopes": []}), "scopes"),
        (
            json!({"name": "x", "scopes": ["admin"], "expires_at": 1}),
            "expires_at",
        ),
    ] {
        let answer = server.post_json("/api/v1/api-keys", &body).await;
        assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let error: ErrorOut = answer.json().await.expect("JSON");
        assert!(
            error.error.message.starts_with(field),
            "{}",
            error.error.message
        );
    }
}

async fn operators_get_a_one_time_password_and_lose_access_when_deactivated(backend: Backend) {
    let server = TestServer::start(backend).await;
    let created: OperatorCreatedOut = server
        .expect(
            server
                .post_json(
                    "/api/v1/operators",
                    &json!({"email": "bo@example.com", "role": "editor"}),
                )
                .await,
            StatusCode::CREATED,
        )
        .await;
    let one_time = created.one_time_password.expect("a one-time password");
    assert!(created.operator.must_change_password);
    let first = Session::sign_in(&server, "bo@example.com", &one_time).await;
    let blocked = first.send(Method::GET, "/api/v1/journeys").await;
    assert_eq!(blocked.status(), StatusCode::FORBIDDEN);
    let error: ErrorOut = blocked.json().await.expect("JSON");
    assert_eq!(error.error.code, "password_change_required");

    let other = Session::sign_in(&server, "bo@example.com", &one_time).await;
    let short = first
        .request(Method::POST, "/api/v1/session/password")
        .json(&json!({"current_password": one_time, "new_password": "short"}))
        .send()
        .await
        .expect("a response");
    assert_eq!(short.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error: ErrorOut = short.json().await.expect("JSON");
    assert!(
        error.error.message.starts_with("new_password"),
        "{}",
        error.error.message
    );
    let changed = first
        .request(Method::POST, "/api/v1/session/password")
        .json(&json!({"current_password": one_time, "new_password": PASSWORD}))
        .send()
        .await
        .expect("a response");
    assert_eq!(changed.status(), StatusCode::OK);
    assert_eq!(
        first.send(Method::GET, "/api/v1/journeys").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        other.send(Method::GET, "/api/v1/session").await.status(),
        StatusCode::UNAUTHORIZED,
        "a password change ends the other sessions"
    );
    assert_eq!(
        sign_in(&server, "bo@example.com", &one_time).await.status(),
        StatusCode::UNAUTHORIZED
    );

    // Deactivated: the session ends and signing in says why.
    let id = created.operator.id;
    let deactivated: OperatorOut = server
        .expect(
            server
                .patch_json(
                    &format!("/api/v1/operators/{id}"),
                    &json!({"active": false}),
                )
                .await,
            StatusCode::OK,
        )
        .await;
    assert!(!deactivated.active);
    assert_eq!(
        first.send(Method::GET, "/api/v1/journeys").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let answer = sign_in(&server, "bo@example.com", PASSWORD).await;
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    let error: ErrorOut = answer.json().await.expect("JSON");
    assert_eq!(error.error.code, "deactivated");

    // The last active admin cannot be demoted; a duplicate email is a conflict.
    let admin = server.signed_in(Role::Admin).await;
    let admin_id = admin.session.operator.as_ref().expect("an operator").id;
    let demote = admin
        .request(Method::PATCH, &format!("/api/v1/operators/{admin_id}"))
        .json(&json!({"role": "viewer"}))
        .send()
        .await
        .expect("a response");
    assert_eq!(demote.status(), StatusCode::CONFLICT);
    let duplicate = server
        .post_json(
            "/api/v1/operators",
            &json!({"email": "BO@example.com", "role": "viewer"}),
        )
        .await;
    assert_eq!(duplicate.status(), StatusCode::CONFLICT);
    let listed = server
        .get("/api/v1/operators")
        .await
        .text()
        .await
        .expect("text");
    assert!(!listed.contains("argon2"), "{listed}");
}

async fn the_first_admin_is_set_up_once_from_this_machine(backend: Backend) {
    let server = TestServer::start(backend).await;
    let setup = |email: &'static str| {
        http_client()
            .post(server.url("/api/v1/setup"))
            .json(&json!({"email": email, "password": PASSWORD}))
            .send()
    };
    let weak = http_client()
        .post(server.url("/api/v1/setup"))
        .json(&json!({"email": "ana@example.com", "password": "short"}))
        .send()
        .await
        .expect("a response");
    assert_eq!(weak.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let first = setup("ana@example.com").await.expect("a response");
    assert_eq!(first.status(), StatusCode::CREATED);
    let session = Session::from_response(&server, first).await;
    let operator = session.session.operator.as_ref().expect("an operator");
    assert_eq!(operator.role, Role::Admin);
    assert!(!operator.must_change_password);
    let second = setup("mallory@example.com").await.expect("a response");
    assert_eq!(second.status(), StatusCode::CONFLICT);
    assert_eq!(
        sign_in(&server, "mallory@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

async fn pages_send_the_signed_out_to_sign_in_or_set_up(backend: Backend) {
    let server = TestServer::start(backend).await;
    let page = |path: &'static str| http_client().get(server.url(path)).send();
    let answer = page("/journeys").await.expect("a response");
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert_eq!(answer.headers()["location"], "/setup");
    let answer = page("/setup").await.expect("a response");
    assert_eq!(answer.status(), StatusCode::OK);

    let session = server.signed_in(Role::Viewer).await;
    let answer = page("/webhooks?x=1").await.expect("a response");
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        answer.headers()["location"],
        "/sign-in?next=%2Fwebhooks%3Fx%3D1"
    );
    assert_eq!(
        page("/sign-in").await.expect("a response").status(),
        StatusCode::OK
    );
    let answer = session.send(Method::GET, "/webhooks").await;
    assert_eq!(answer.status(), StatusCode::OK);
}

async fn the_audit_log_records_who_did_what(backend: Backend) {
    let server = TestServer::start(backend).await;
    let editor = server.signed_in(Role::Editor).await;
    let _ = sign_in(&server, "nobody@example.com", "not a password").await;
    let webhook = editor
        .request(Method::POST, "/api/v1/webhooks")
        .json(&json!({"name": "CRM", "url": "https://crm.example/hook"}))
        .send()
        .await
        .expect("a response");
    assert_eq!(webhook.status(), StatusCode::CREATED);
    let webhook: Value = webhook.json().await.expect("JSON");
    let secret = editor
        .send(
            Method::GET,
            &format!("/api/v1/webhooks/{}/signing-secret", webhook["id"]),
        )
        .await;
    assert_eq!(secret.status(), StatusCode::OK);

    let entries: Vec<AuditEntryOut> = server
        .expect(server.get("/api/v1/audit").await, StatusCode::OK)
        .await;
    let email = &editor.session.operator.as_ref().expect("an operator").email;
    let lines: Vec<(String, String, Option<String>)> = entries
        .iter()
        .map(|entry| {
            (
                entry.actor.clone(),
                entry.action.to_string(),
                entry.object.clone(),
            )
        })
        .collect();
    let operator = format!("operator {email}");
    let object = Some(format!("webhook {}", webhook["id"]));
    for expected in [
        (operator.clone(), "sign_in".to_owned(), None),
        (
            "sign-in as nobody@example.com".to_owned(),
            "sign_in_failed".to_owned(),
            None,
        ),
        (
            operator.clone(),
            "webhook_created".to_owned(),
            object.clone(),
        ),
        (
            operator.clone(),
            "signing_secret_read".to_owned(),
            object.clone(),
        ),
    ] {
        assert!(lines.contains(&expected), "{expected:?} in {lines:#?}");
    }
    assert!(
        entries
            .iter()
            .all(|entry| entry.address.as_deref() == Some("127.0.0.1"))
    );
    let filtered: Vec<AuditEntryOut> = server
        .expect(
            server.get("/api/v1/audit?action=sign_in_failed").await,
            StatusCode::OK,
        )
        .await;
    assert_eq!(filtered.len(), 1);
    // The secret itself is in no audit line.
    let secret: Value = secret.json().await.expect("JSON");
    let text = serde_json::to_string(&entries).expect("JSON");
    let secret_text = secret["secret"].as_str().expect("the secret");
    assert!(!text.contains(secret_text));
}

async fn insecure_no_auth_is_for_this_machine_only(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let mut config = server::Config::for_tests(database.url());
    config.insecure_no_auth = true;
    config.listen = "0.0.0.0:0".parse().expect("an address");
    let refused = server::Server::start(&config)
        .await
        .err()
        .expect("refused beyond loopback");
    assert!(
        refused.to_string().contains("--insecure-no-auth"),
        "{refused}"
    );

    let server =
        TestServer::start_configured(database, |config| config.insecure_no_auth = true).await;
    let anyone = http_client();
    let answer = anyone
        .get(server.url("/api/v1/journeys"))
        .send()
        .await
        .expect("a response");
    assert_eq!(answer.status(), StatusCode::OK);
    let session: SessionOut = anyone
        .get(server.url("/api/v1/session"))
        .send()
        .await
        .expect("a response")
        .json()
        .await
        .expect("JSON");
    assert!(session.insecure_no_auth);
    assert!(session.scopes.contains(&Scope::Admin));
    let page = anyone
        .get(server.url("/journeys"))
        .send()
        .await
        .expect("a response");
    assert_eq!(page.status(), StatusCode::OK);
}

async fn the_command_line_creates_operators_and_keys(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let wayfarer = |arguments: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_wayfarer"))
            .args(arguments)
            .args(["--database-url", database.url()])
            .arg("--secret-key-file")
            .arg(database.secret_key_file())
            .output()
            .expect("run wayfarer")
    };
    let created = wayfarer(&["admin", "create-operator", "--email", "Ops@Example.com"]);
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let printed = String::from_utf8(created.stdout).expect("text");
    assert!(
        printed.contains("created ops@example.com (admin)"),
        "{printed}"
    );
    let password = printed
        .lines()
        .last()
        .expect("the password")
        .trim()
        .to_owned();
    assert_eq!(password.len(), 20, "{printed}");
    let again = wayfarer(&["admin", "create-operator", "--email", "ops@example.com"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));
    let key = wayfarer(&[
        "admin",
        "create-api-key",
        "--name",
        "shop",
        "--scope",
        "events:write,contacts:read",
    ]);
    assert!(
        key.status.success(),
        "{}",
        String::from_utf8_lossy(&key.stderr)
    );
    let printed = String::from_utf8(key.stdout).expect("text");
    let key = printed
        .lines()
        .find(|line| line.starts_with("wf_"))
        .expect("the key")
        .to_owned();
    let bad_scope = wayfarer(&[
        "admin",
        "create-api-key",
        "--name",
        "x",
        "--scope",
        "everything",
    ]);
    assert!(!bad_scope.status.success());

    let server = TestServer::start_on(database).await;
    let session = Session::sign_in(&server, "ops@example.com", &password).await;
    let operator = session.session.operator.as_ref().expect("an operator");
    assert_eq!(operator.role, Role::Admin);
    assert!(operator.must_change_password);
    let shop = http_client_with_key(&key);
    let contacts = shop
        .get(server.url("/api/v1/contacts"))
        .send()
        .await
        .expect("a response");
    assert_eq!(contacts.status(), StatusCode::OK);
    let journeys = shop
        .get(server.url("/api/v1/journeys"))
        .send()
        .await
        .expect("a response");
    assert_eq!(journeys.status(), StatusCode::FORBIDDEN);
}

async fn an_api_key_sends_events_at_its_rate(backend: Backend) {
    let server = TestServer::start_with(backend, |config| {
        config.ingest_rate_per_key = 10;
        config.ingest_burst_per_key = 20;
    })
    .await;
    let key = crate::support::create_api_key(
        server.database().url(),
        &[Scope::EventsWrite, Scope::ContactsWrite],
    )
    .await;
    let shop = http_client_with_key(&key);
    let contact = shop
        .put(server.url("/api/v1/contacts/c-1"))
        .json(&json!({"attributes": {}}))
        .send()
        .await
        .expect("a response");
    assert!(contact.status().is_success());
    let batch = |size: usize| {
        let events: Vec<Value> = (0..size)
            .map(|_| json!({"contact": "c-1", "event": "page_view"}))
            .collect();
        shop.post(server.url("/api/v1/events/batch"))
            .json(&json!({ "events": events }))
            .send()
    };
    assert_eq!(
        batch(20).await.expect("a response").status(),
        StatusCode::ACCEPTED
    );
    let over = batch(1).await.expect("a response");
    assert_eq!(over.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(over.headers()["retry-after"], "1");
    let error: ErrorOut = over.json().await.expect("JSON");
    assert_eq!(error.error.code, "rate_limited");
    // Another key, and operators, have their own allowance.
    let other = server
        .post_json(
            "/api/v1/events",
            &json!({"contact": "c-1", "event": "page_view"}),
        )
        .await;
    assert_eq!(other.status(), StatusCode::ACCEPTED);

    server.clock().advance(1_000);
    assert_eq!(
        batch(10).await.expect("a response").status(),
        StatusCode::ACCEPTED
    );
    assert_eq!(
        batch(1).await.expect("a response").status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    let too_big = batch(21).await.expect("a response");
    assert_eq!(too_big.status(), StatusCode::UNPROCESSABLE_ENTITY);
}
