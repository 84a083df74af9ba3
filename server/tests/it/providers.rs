//! Texts and pushes through HTTP providers: an SMS action node sends the provider's request
//! as its settings describe it (form or JSON, auth, the message id as idempotency key); the
//! provider's signed receipts come back as activities that resume waits and are counted once;
//! forged, unknown and repeated receipts change nothing; a provider that fails for a while is
//! retried and one that refuses fails the message; a contact who cannot be reached or opted
//! out is skipped with the reason; quiet hours in the contact's time zone hold a message
//! until they end, and a frequency cap skips what goes over it.

use std::time::Duration;

use app::{
    api::{
        ChannelOut, MessageCountsOut, MessageOut, MessageStatus, ReceiptOut, ReceiptStatus, Reentry,
    },
    ids::JourneyId,
    journey::Activity,
};
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::support::{Answer, Backend, Received, Receiver, TestServer, http_client};

backend_tests!(
    an_sms_goes_out_through_its_provider_and_its_receipts_resume_the_wait,
    a_failing_provider_is_retried_and_a_refusal_fails_the_message,
    channel_settings_are_checked_and_never_show_their_secrets,
    quiet_hours_hold_messages_and_the_frequency_cap_skips_the_extra_ones,
    a_push_goes_out_through_a_json_provider_with_its_data,
    a_provider_down_for_longer_than_the_retry_window_fails_the_message,
);

const MINUTE: i64 = 60_000;
const RECEIPT_SECRET: &str = "receipt-secret";

fn sms_channel(provider_url: &str, answer_id_path: &str) -> Value {
    json!({
        "provider": {
            "url": provider_url,
            "body_format": "form",
            "body": "To={{message.to}}&Body={{message.text}}&Ref={{message.id}}",
            "headers": [{"key": "Idempotency-Key", "value": "{{message.id}}"}],
            "auth": {"type": "bearer", "token": "provider-token"},
            "answer_id_path": answer_id_path,
            "receipts": {
                "auth": {"type": "hmac", "header": "X-Signature", "secret": RECEIPT_SECRET},
                "message_path": "$.ref",
                "status_path": "$.status",
            },
        }
    })
}

async fn set_up_sms(server: &TestServer, provider_url: &str, answer_id_path: &str) -> ChannelOut {
    server
        .expect(
            server
                .put_json(
                    "/api/v1/channels/sms",
                    &sms_channel(provider_url, answer_id_path),
                )
                .await,
            StatusCode::OK,
        )
        .await
}

/// signup → SMS → wait 15 min for it to be delivered → (event) exit "delivered" / (timeout)
/// exit "late".
async fn publish(server: &TestServer) -> JourneyId {
    let template: Value = server
        .expect(
            server
                .post_json(
                    "/api/v1/templates",
                    &json!({"name": "Welcome SMS", "content": {
                        "channel": "sms", "text": "Hi {{contact.first_name | default: \"there\"}} & welcome"}}),
                )
                .await,
            StatusCode::CREATED,
        )
        .await;
    let node = |id: &str, kind: &str, settings: Value| json!({"id": id, "position": {"x": 0, "y": 0}, "kind": kind, "settings": settings});
    let edge =
        |from: &str, branch: &str, to: &str| json!({"from": from, "branch": branch, "to": to});
    server
        .publish_journey(
            Reentry::Once,
            json!({
                "nodes": [
                    node("start", "trigger", json!({"event": "signup"})),
                    node("text", "action", json!({"channel": "sms", "template": template["id"]})),
                    node("wait", "wait_for_event", json!({
                        "until": {"type": "message_activity", "action": "text", "activity": "delivered"},
                        "timeout": {"value": 15, "unit": "minutes"}})),
                    node("delivered", "exit", json!(null)),
                    node("late", "exit", json!(null)),
                ],
                "edges": [
                    edge("start", "next", "text"),
                    edge("text", "next", "wait"),
                    edge("wait", "event", "delivered"),
                    edge("wait", "timeout", "late"),
                ],
            }),
        )
        .await
}

async fn sms_counts_when(
    server: &TestServer,
    journey: JourneyId,
    condition: impl Fn(&MessageCountsOut) -> bool,
) -> MessageCountsOut {
    let mut counts = MessageCountsOut::default();
    for _ in 0..500 {
        counts = server
            .journey_stats(journey)
            .await
            .nodes
            .iter()
            .find(|node| node.node_id == "text")
            .and_then(|node| node.messages)
            .expect("the SMS node's counts");
        if condition(&counts) {
            return counts;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the SMS node's counts never got there: {counts:?}");
}

async fn requests_when(provider: &Receiver, count: usize) -> Vec<Received> {
    for _ in 0..500 {
        let received = provider.received();
        if received.len() >= count {
            return received;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{count} provider requests never arrived");
}

fn form(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

fn field(fields: &[(String, String)], name: &str) -> String {
    fields
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.clone())
        .unwrap_or_else(|| panic!("no {name} in {fields:?}"))
}

fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("a key");
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Posts a provider's report, signed with `secret`.
async fn report(server: &TestServer, secret: &str, body: Value) -> reqwest::Response {
    let body = body.to_string();
    http_client()
        .post(server.url("/api/v1/receipts/sms"))
        .header("content-type", "application/json")
        .header("x-signature", signature(secret, body.as_bytes()))
        .body(body)
        .send()
        .await
        .expect("a receipt answer")
}

async fn an_sms_goes_out_through_its_provider_and_its_receipts_resume_the_wait(backend: Backend) {
    let provider = Receiver::start().await;
    let server = TestServer::start(backend).await;
    let channel = set_up_sms(&server, &provider.url("/v1/messages"), "").await;
    assert!(channel.ready, "{channel:?}");
    assert_eq!(
        channel.receipt_path.as_deref(),
        Some("/api/v1/receipts/sms")
    );
    let journey = publish(&server).await;

    server
        .signs_up("ana", json!({"phone": "+33 6 11", "first_name": "Ana"}))
        .await;
    server
        .signs_up("bob", json!({"phone": "+33 6 22", "sms_opt_out": true}))
        .await;
    server
        .signs_up("cy", json!({"email": "cy@example.com"}))
        .await;

    let counts = sms_counts_when(&server, journey, |counts| {
        counts.sent == 1 && counts.skipped == 2
    })
    .await;
    assert_eq!(counts.failed + counts.queued, 0, "{counts:?}");
    let requests = requests_when(&provider, 1).await;
    assert_eq!(requests.len(), 1, "only Ana can be reached");
    let request = &requests[0];
    assert_eq!(request.uri.path(), "/v1/messages");
    assert_eq!(
        request.header("content-type"),
        "application/x-www-form-urlencoded"
    );
    assert_eq!(request.header("authorization"), "Bearer provider-token");
    let fields = form(&request.body);
    assert_eq!(field(&fields, "To"), "+33 6 11");
    assert_eq!(field(&fields, "Body"), "Hi Ana & welcome");
    let message_id = field(&fields, "Ref");
    assert_eq!(request.header("idempotency-key"), message_id);

    let reasons: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.external_id, m.reason FROM messages m JOIN contacts c ON c.id = m.contact_id
         WHERE m.status = 'skipped' ORDER BY c.external_id",
    )
    .fetch_all(&mut server.database_connection().await)
    .await
    .expect("skipped messages");
    assert_eq!(
        reasons,
        vec![
            (
                "bob".to_owned(),
                "the contact opted out of sms (attribute \"sms_opt_out\")".to_owned()
            ),
            (
                "cy".to_owned(),
                "the contact has no sms address (attribute \"phone\")".to_owned()
            ),
        ]
    );

    // Forged: a wrong secret, or no signature at all.
    let forged = report(
        &server,
        "guessed",
        json!({"ref": message_id, "status": "delivered"}),
    )
    .await;
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    let unsigned = http_client()
        .post(server.url("/api/v1/receipts/sms"))
        .json(&json!({"ref": message_id, "status": "delivered"}))
        .send()
        .await
        .expect("an answer");
    assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED);
    // Unknown: no message, no event.
    let unknown = report(
        &server,
        RECEIPT_SECRET,
        json!({"ref": "999999", "status": "delivered"}),
    )
    .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let unreadable = report(&server, RECEIPT_SECRET, json!({"status": "delivered"})).await;
    assert_eq!(unreadable.status(), StatusCode::BAD_REQUEST);
    // A status that is no activity is taken and ignored.
    let queued: ReceiptOut = server
        .expect(
            report(
                &server,
                RECEIPT_SECRET,
                json!({"ref": message_id, "status": "queued"}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
    assert_eq!(queued.status, ReceiptStatus::NotAnActivity);
    let counts = sms_counts_when(&server, journey, |_| true).await;
    assert_eq!(counts.delivered, 0);

    // Delivered, reported twice: recorded once, and Ana's wait resumes.
    let mut statuses = Vec::new();
    for _ in 0..2 {
        let answer: ReceiptOut = server
            .expect(
                report(
                    &server,
                    RECEIPT_SECRET,
                    json!({"ref": message_id, "status": "DELIVERED"}),
                )
                .await,
                StatusCode::OK,
            )
            .await;
        statuses.push((answer.status, answer.recorded));
    }
    assert_eq!(
        statuses,
        vec![
            (ReceiptStatus::Recorded, Some(Activity::Delivered)),
            (ReceiptStatus::Duplicate, None)
        ]
    );
    sms_counts_when(&server, journey, |counts| counts.delivered == 1).await;
    let (events,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM events WHERE message_id IS NOT NULL")
            .fetch_one(&mut server.database_connection().await)
            .await
            .expect("activity events");
    assert_eq!(events, 1);

    // The message log shows each message's fate and activities.
    let log = server
        .message_log(&format!("journey={journey}&node=text"))
        .await;
    assert_eq!(log.len(), 3);
    let ana = log
        .iter()
        .find(|message| message.contact == "ana")
        .expect("Ana's message");
    assert_eq!(ana.id.to_string(), message_id);
    assert_eq!(ana.status, MessageStatus::Sent);
    assert_eq!(ana.activities, vec![Activity::Delivered]);
    let skipped: Vec<MessageOut> = server
        .expect(
            server
                .get("/api/v1/messages?status=skipped&contact=bob")
                .await,
            StatusCode::OK,
        )
        .await;
    assert_eq!(skipped.len(), 1);
    assert!(
        skipped[0]
            .reason
            .as_deref()
            .is_some_and(|reason| reason.contains("opted out"))
    );
    for _ in 0..500 {
        let stats = server.journey_stats(journey).await;
        let reached = |id: &str| {
            stats
                .nodes
                .iter()
                .find(|node| node.node_id == id)
                .map_or(0, |node| node.reached)
        };
        if reached("delivered") == 1 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("Ana's wait never resumed on the delivery receipt");
}

async fn a_failing_provider_is_retried_and_a_refusal_fails_the_message(backend: Backend) {
    let provider = Receiver::start().await;
    let server = TestServer::start(backend).await;
    set_up_sms(&server, &provider.url("/send"), "$.sid").await;
    let journey = publish(&server).await;

    // Down for a moment, then taken: the provider's id comes back in its answer.
    provider.queue([
        Answer::Status(503),
        Answer::WithBody(201, br#"{"sid": "SM-ana"}"#),
    ]);
    server.signs_up("ana", json!({"phone": "+33611"})).await;
    requests_when(&provider, 1).await;
    let counts = sms_counts_when(&server, journey, |counts| counts.queued == 1).await;
    assert_eq!(counts.sent, 0);
    server.clock().advance(10_000);
    sms_counts_when(&server, journey, |counts| counts.sent == 1).await;
    let requests = requests_when(&provider, 2).await;
    // The retry is the same message: the same idempotency key.
    assert_eq!(
        requests[0].header("idempotency-key"),
        requests[1].header("idempotency-key")
    );

    // A refusal is final, with the provider's reason.
    provider.queue([Answer::WithBody(400, b"invalid phone number\ndetails")]);
    server.signs_up("bob", json!({"phone": 33622})).await;
    let counts = sms_counts_when(&server, journey, |counts| counts.failed == 1).await;
    assert_eq!((counts.sent, counts.queued), (1, 0));
    let (reason,): (String,) =
        sqlx::query_as("SELECT reason FROM messages WHERE status = 'failed'")
            .fetch_one(&mut server.database_connection().await)
            .await
            .expect("the failed message");
    assert_eq!(reason, "HTTP 400: invalid phone number");

    // Receipts name the message by the provider's id; a failure report fails the message.
    let by_ours = report(
        &server,
        RECEIPT_SECRET,
        json!({"ref": requests[0].header("idempotency-key"), "status": "failed"}),
    )
    .await;
    assert_eq!(by_ours.status(), StatusCode::NOT_FOUND);
    let failed: ReceiptOut = server
        .expect(
            report(
                &server,
                RECEIPT_SECRET,
                json!({"ref": "SM-ana", "status": "undelivered"}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
    assert_eq!(failed.recorded, Some(Activity::Failed));
    let counts = sms_counts_when(&server, journey, |counts| counts.failed == 2).await;
    assert_eq!(counts.sent, 0);
}

async fn channel_settings_are_checked_and_never_show_their_secrets(backend: Backend) {
    let server = TestServer::start(backend).await;
    let channels: Vec<ChannelOut> = server
        .expect(server.get("/api/v1/channels").await, StatusCode::OK)
        .await;
    assert_eq!(channels.len(), 6);
    let email = channels
        .iter()
        .find(|channel| channel.channel == app::journey::Channel::Email)
        .expect("email");
    assert!(!email.ready);
    assert!(
        email
            .problem
            .as_deref()
            .is_some_and(|problem| problem.contains("--smtp-url")),
        "{email:?}"
    );

    let mut bad = sms_channel("https://{{contact.host}}/send", "$..sid");
    bad["provider"]["receipts"]["auth"]["secret"] = Value::Null;
    let refused = server.put_json("/api/v1/channels/sms", &bad).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = refused.json().await.expect("an error");
    let message = body["error"]["message"].as_str().expect("a message");
    for expected in ["host", "answer_id_path", "receipts.auth"] {
        assert!(message.contains(expected), "{expected} in {message}");
    }
    let unknown = server.get("/api/v1/channels/fax").await;
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);

    let saved = server
        .put_json(
            "/api/v1/channels/sms",
            &sms_channel("https://sms.example/send", ""),
        )
        .await;
    assert_eq!(saved.status(), StatusCode::OK);
    let shown = server
        .get("/api/v1/channels/sms")
        .await
        .text()
        .await
        .expect("text");
    assert!(!shown.contains("provider-token"), "{shown}");
    assert!(!shown.contains(RECEIPT_SECRET), "{shown}");
    let shown: ChannelOut = serde_json::from_str(&shown).expect("a channel");
    assert!(shown.ready);

    // Saved again without secrets: they are kept.
    let mut again = sms_channel("https://sms.example/send", "");
    again["provider"]["auth"] = json!({"type": "bearer"});
    again["provider"]["receipts"]["auth"] = json!({"type": "hmac", "header": "X-Signature"});
    let kept = server.put_json("/api/v1/channels/sms", &again).await;
    assert_eq!(kept.status(), StatusCode::OK);
    let stored: (String,) = sqlx::query_as("SELECT settings FROM channels WHERE channel = 'sms'")
        .fetch_one(&mut server.database_connection().await)
        .await
        .expect("the row");
    // Sealed at rest.
    assert!(!stored.0.contains("provider-token"));
    let accepted = report(
        &server,
        RECEIPT_SECRET,
        json!({"ref": "1", "status": "queued"}),
    )
    .await;
    assert_eq!(
        accepted.status(),
        StatusCode::OK,
        "the receipt secret was kept"
    );

    let presets: Value = server
        .expect(server.get("/api/v1/channels/presets").await, StatusCode::OK)
        .await;
    assert_eq!(presets.as_array().map(Vec::len), Some(2));

    let reset = server.delete("/api/v1/channels/sms").await;
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    let gone = report(
        &server,
        RECEIPT_SECRET,
        json!({"ref": "1", "status": "queued"}),
    )
    .await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}

/// The node's message counts (any state).
async fn counts_of(server: &TestServer, journey: JourneyId, node: &str) -> MessageCountsOut {
    server
        .journey_stats(journey)
        .await
        .nodes
        .iter()
        .find(|counted| counted.node_id == node)
        .and_then(|counted| counted.messages)
        .unwrap_or_else(|| panic!("counts of {node}"))
}

async fn quiet_hours_hold_messages_and_the_frequency_cap_skips_the_extra_ones(backend: Backend) {
    let provider = Receiver::start().await;
    // The test clock starts at 2026-01-01T00:00Z: night in UTC, 09:00 in Tokyo.
    let server = TestServer::start(backend).await;
    let mut channel = sms_channel(&provider.url("/send"), "");
    channel["quiet_hours"] = json!({"start": "21:00", "end": "08:00"});
    channel["frequency_cap"] = json!({"max_messages": 1, "per_hours": 24});
    let saved: ChannelOut = server
        .expect(
            server.put_json("/api/v1/channels/sms", &channel).await,
            StatusCode::OK,
        )
        .await;
    let quiet = saved.quiet_hours.expect("quiet hours");
    assert_eq!(
        (
            quiet.time_zone_attribute.as_str(),
            quiet.default_time_zone.as_str()
        ),
        ("time_zone", "UTC")
    );
    let template: Value = server
        .expect(
            server
                .post_json(
                    "/api/v1/templates",
                    &json!({"name": "Promo", "content": {"channel": "sms", "text": "Sale!"}}),
                )
                .await,
            StatusCode::CREATED,
        )
        .await;
    let node = |id: &str, kind: &str, settings: Value| json!({"id": id, "position": {"x": 0, "y": 0}, "kind": kind, "settings": settings});
    let sms = json!({"channel": "sms", "template": template["id"]});
    let journey = server
        .publish_journey(
            Reentry::Once,
            json!({
                "nodes": [
                    node("start", "trigger", json!({"event": "signup"})),
                    node("first", "action", sms.clone()),
                    node("second", "action", sms),
                    node("done", "exit", json!(null)),
                ],
                "edges": [
                    {"from": "start", "branch": "next", "to": "first"},
                    {"from": "first", "branch": "next", "to": "second"},
                    {"from": "second", "branch": "next", "to": "done"},
                ],
            }),
        )
        .await;

    // Daytime in Tokyo: the first goes out, the second is over the cap of one a day.
    server
        .signs_up(
            "tokyo",
            json!({"phone": "+8190", "time_zone": "Asia/Tokyo"}),
        )
        .await;
    requests_when(&provider, 1).await;
    for _ in 0..500 {
        if counts_of(&server, journey, "second").await.skipped == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(counts_of(&server, journey, "first").await.sent, 1);
    assert_eq!(counts_of(&server, journey, "second").await.skipped, 1);
    let mut connection = server.database_connection().await;
    let (capped,): (String,) =
        sqlx::query_as("SELECT reason FROM messages WHERE node_id = 'second'")
            .fetch_one(&mut connection)
            .await
            .expect("the capped message");
    assert_eq!(
        capped,
        "over the frequency cap: 1 sms messages in the last 24 hours already"
    );

    // Night in UTC (the default zone): both wait for 08:00, nothing is sent meanwhile.
    server.signs_up("night", json!({"phone": "+4420"})).await;
    let held = loop {
        let held: Vec<(String, i64)> = sqlx::query_as(
            "SELECT m.reason, m.attempts FROM messages m JOIN contacts c ON c.id = m.contact_id
             WHERE c.external_id = 'night' AND m.reason IS NOT NULL ORDER BY m.id",
        )
        .fetch_all(&mut connection)
        .await
        .expect("held messages");
        if held.len() == 2 {
            break held;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let reason = "held for the contact's quiet hours, until 2026-01-01 08:00 (UTC)".to_owned();
    assert_eq!(held, vec![(reason.clone(), 0), (reason, 0)]);
    assert_eq!(counts_of(&server, journey, "first").await.queued, 1);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(provider.received().len(), 1);

    server.clock().advance(8 * 60 * MINUTE);
    requests_when(&provider, 2).await;
    for _ in 0..500 {
        if counts_of(&server, journey, "second").await.skipped == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(counts_of(&server, journey, "first").await.sent, 2);
    assert_eq!(counts_of(&server, journey, "second").await.skipped, 2);
    assert_eq!(provider.received().len(), 2);
}

async fn a_push_goes_out_through_a_json_provider_with_its_data(backend: Backend) {
    let provider = Receiver::start().await;
    let server = TestServer::start(backend).await;
    server
        .expect::<ChannelOut>(
            server
                .put_json(
                    "/api/v1/channels/app_push",
                    &json!({"provider": {
                        "url": provider.url("/push"),
                        "body_format": "json",
                        "body": "{\"token\": \"{{message.to}}\", \"notification\": {\"title\": \
                                 \"{{message.title}}\", \"body\": \"{{message.body}}\"}, \
                                 \"data\": {{message.data}}}",
                        "receipts": {
                            "auth": {"type": "hmac", "header": "X-Signature", "secret": RECEIPT_SECRET},
                            "message_path": "$.ref",
                            "status_path": "$.status",
                        },
                    }}),
                )
                .await,
            StatusCode::OK,
        )
        .await;
    let push = |data: &str| {
        json!({"name": "Order push", "content": {
            "channel": "app_push",
            "title": "Your order",
            "body": "Hi {{contact.first_name}}",
            "deep_link": "shop://orders",
            "data": data}})
    };
    // A placeholder outside a string could break the JSON: refused, naming the field.
    let response = server
        .post_json(
            "/api/v1/templates",
            &push("{\"who\": {{contact.first_name}}}"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text().await.expect("a body").contains("data"));
    let template: Value = server
        .expect(
            server
                .post_json(
                    "/api/v1/templates",
                    &push("{\"who\": \"{{contact.first_name}}\", \"screen\": \"orders\"}"),
                )
                .await,
            StatusCode::CREATED,
        )
        .await;
    let node = |id: &str, kind: &str, settings: Value| json!({"id": id, "position": {"x": 0, "y": 0}, "kind": kind, "settings": settings});
    let edge =
        |from: &str, branch: &str, to: &str| json!({"from": from, "branch": branch, "to": to});
    server
        .publish_journey(
            Reentry::Once,
            json!({
                "nodes": [
                    node("start", "trigger", json!({"event": "signup"})),
                    node("push", "action", json!({"channel": "app_push", "template": template["id"]})),
                    node("done", "exit", json!(null)),
                ],
                "edges": [edge("start", "next", "push"), edge("push", "next", "done")],
            }),
        )
        .await;
    server
        .signs_up(
            "ana",
            json!({"push_token": "tok-1", "first_name": "Zoé \"Z\" {}"}),
        )
        .await;

    let received = requests_when(&provider, 1).await;
    assert_eq!(received[0].header("content-type"), "application/json");
    let body: Value = serde_json::from_slice(&received[0].body).expect("a JSON body");
    assert_eq!(
        body,
        json!({
            "token": "tok-1",
            "notification": {"title": "Your order", "body": "Hi Zoé \"Z\" {}"},
            "data": {"who": "Zoé \"Z\" {}", "screen": "orders"},
        })
    );
}

async fn a_provider_down_for_longer_than_the_retry_window_fails_the_message(backend: Backend) {
    let provider = Receiver::start().await;
    provider.always(Answer::Status(503));
    let server = TestServer::start(backend).await;
    set_up_sms(&server, &provider.url("/send"), "").await;
    let journey = publish(&server).await;
    server.signs_up("ana", json!({"phone": "+33611"})).await;
    requests_when(&provider, 1).await;

    // Each retry comes due as the clock moves on; none lands after the 4-hour window.
    let mut counts = sms_counts_when(&server, journey, |counts| counts.queued == 1).await;
    for _ in 0..40 {
        server.clock().advance(10 * MINUTE);
        let tried = provider.received().len();
        for _ in 0..50 {
            counts = sms_counts_when(&server, journey, |_| true).await;
            if counts.failed == 1 || provider.received().len() > tried {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if counts.failed == 1 {
            break;
        }
    }
    assert_eq!(
        (counts.failed, counts.queued, counts.sent),
        (1, 0, 0),
        "{counts:?}"
    );
    let log = server.message_log(&format!("journey={journey}")).await;
    let message = &log[0];
    assert_eq!(message.status, MessageStatus::Failed);
    let reason = message.reason.clone().unwrap_or_default();
    assert!(reason.starts_with("not sent within 4 hours"), "{reason}");
    assert!(reason.contains("HTTP 503"), "{reason}");
    // 5 s, 1 min, 5 min, 30 min, 1 h, 2 h: seven attempts, each logged, the last one failed.
    let sent = provider.received().len();
    assert_eq!(message.attempt_log.len(), sent, "{:?}", message.attempt_log);
    assert!((5..=8).contains(&sent), "{sent} attempts");
    let last = message.attempt_log.last().expect("an attempt");
    assert_eq!(last.outcome, app::api::MessageAttemptOutcome::Failed);
    assert!(
        message.attempt_log[..sent - 1]
            .iter()
            .all(|attempt| attempt.outcome == app::api::MessageAttemptOutcome::Retry)
    );
    // It fails within the window: no attempt after four hours from the first.
    let first = message.attempt_log[0].attempted_at;
    assert!(
        last.attempted_at - first <= 4 * 60 * MINUTE,
        "{:?}",
        message.attempt_log
    );
}
