//! Action nodes that send: an email made from a template goes out through SMTP with its links
//! tracked; opening it (the pixel) and clicking (the redirect) come back as activity events
//! that resume a wait for them and are counted on the node, once per message; forged links get
//! 404; a contact without an address is skipped with the reason; a transient SMTP failure is
//! retried and a refusal fails the message.

use std::time::Duration;

use app::{
    api::{ChannelOut, MessageAttemptOutcome, MessageCountsOut, Reentry, TemplateOut},
    ids::{JourneyId, TemplateId},
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::support::{
    Backend, Receiver, SmtpReceiver, TestServer, http_client, http_client_with_key,
};

backend_tests!(
    an_opened_email_resumes_its_wait_and_every_activity_is_counted_once,
    a_transient_smtp_failure_is_retried_and_a_refusal_fails_the_message,
    templates_are_checked_when_saved_and_previewed_unsaved,
    the_smtp_relay_reports_a_bounce_by_the_message_id_it_was_given,
    the_email_channel_sends_through_its_own_smtp_relay,
    message_attempts_older_than_the_retention_period_are_pruned,
    a_node_naming_its_template_sends_to_the_channels_own_attributes_and_skips_who_opted_out,
);

const MINUTE: i64 = 60_000;

async fn email_template(server: &TestServer) -> TemplateOut {
    server
        .expect(
            server
                .post_json(
                    "/api/v1/templates",
                    &json!({"name": "Cart reminder", "content": {
                        "channel": "email",
                        "from": "Shop <shop@example.com>",
                        "subject": "{{contact.first_name | default: \"Hi\"}}, your cart",
                        "html": "<html><body><p>Hello {{contact.first_name}}</p>\
                                 <a href=\"https://shop.example/cart?a=1&amp;b=2\">see it</a>\
                                 </body></html>",
                        "text": "Your cart: https://shop.example/cart"
                    }}),
                )
                .await,
            StatusCode::CREATED,
        )
        .await
}

/// signup → email → wait 15 min for it to be opened → (event) exit "read" / (timeout) webhook
/// → exit "missed".
async fn publish(server: &TestServer, template: TemplateId, hook_url: &str) -> JourneyId {
    let webhook = server
        .create_webhook(&json!({"name": "CRM", "url": hook_url}))
        .await;
    let node = |id: &str, kind: &str, settings: Value| json!({"id": id, "position": {"x": 0, "y": 0}, "kind": kind, "settings": settings});
    let edge =
        |from: &str, branch: &str, to: &str| json!({"from": from, "branch": branch, "to": to});
    let draft = json!({
        "nodes": [
            node("start", "trigger", json!({"event": "signup"})),
            node("email", "action", json!({"channel": "email", "template": template})),
            node("wait", "wait_for_event", json!({
                "until": {"type": "message_activity", "action": "email", "activity": "opened"},
                "timeout": {"value": 15, "unit": "minutes"}})),
            node("read", "exit", json!(null)),
            node("hook", "webhook", json!({"webhook": webhook.id})),
            node("missed", "exit", json!(null)),
        ],
        "edges": [
            edge("start", "next", "email"),
            edge("email", "next", "wait"),
            edge("wait", "event", "read"),
            edge("wait", "timeout", "hook"),
            edge("hook", "next", "missed"),
        ],
    });
    server.publish_journey(Reentry::Once, draft).await
}

/// What the email tests run against: a server whose SMTP relay is a local sink, the email
/// journey of [`publish`] published, and the receiver its timeout branch calls.
struct EmailJourney {
    smtp: SmtpReceiver,
    receiver: Receiver,
    server: TestServer,
    journey: JourneyId,
}

/// [`EmailJourney`], the server's other settings as `adjust` sets them.
async fn email_journey(backend: Backend, adjust: impl FnOnce(&mut server::Config)) -> EmailJourney {
    let smtp = SmtpReceiver::start().await;
    let receiver = Receiver::start().await;
    let smtp_url = smtp.url();
    let server = TestServer::start_with(backend, |config| {
        config.smtp_url = Some(smtp_url);
        adjust(config);
    })
    .await;
    let template = email_template(&server).await;
    let journey = publish(&server, template.id, &receiver.url("/missed")).await;
    EmailJourney {
        smtp,
        receiver,
        server,
        journey,
    }
}

async fn email_counts(server: &TestServer, journey: JourneyId) -> MessageCountsOut {
    server
        .journey_stats(journey)
        .await
        .nodes
        .iter()
        .find(|node| node.node_id == "email")
        .and_then(|node| node.messages)
        .expect("the email node's message counts")
}

/// The node's counts once `condition` holds (or a panic after five seconds).
async fn email_counts_when(
    server: &TestServer,
    journey: JourneyId,
    condition: impl Fn(&MessageCountsOut) -> bool,
) -> MessageCountsOut {
    let mut counts = email_counts(server, journey).await;
    for _ in 0..500 {
        if condition(&counts) {
            return counts;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        counts = email_counts(server, journey).await;
    }
    panic!("the email node's counts never got there: {counts:?}");
}

/// The message as its reader sees it: quoted-printable soft breaks joined and `=XX` decoded.
fn readable(message: &str) -> String {
    let joined = message.replace("=\r\n", "").replace("=\n", "");
    let mut bytes = Vec::with_capacity(joined.len());
    let raw = joined.as_bytes();
    let mut at = 0;
    while at < raw.len() {
        let hex = raw
            .get(at + 1..at + 3)
            .and_then(|pair| std::str::from_utf8(pair).ok())
            .and_then(|pair| u8::from_str_radix(pair, 16).ok());
        match (raw[at], hex) {
            (b'=', Some(byte)) => {
                bytes.push(byte);
                at += 3;
            }
            (byte, _) => {
                bytes.push(byte);
                at += 1;
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The first URL in `text` that starts with `prefix`, up to its closing quote.
fn url_after(text: &str, prefix: &str) -> String {
    let start = text
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix} in {text}"));
    let rest = &text[start..];
    let end = rest.find(['"', '>', ' ', '\n']).unwrap_or(rest.len());
    rest[..end].replace("&amp;", "&")
}

async fn an_opened_email_resumes_its_wait_and_every_activity_is_counted_once(backend: Backend) {
    let EmailJourney {
        smtp,
        receiver,
        server,
        journey,
    } = email_journey(backend, |_| {}).await;

    server
        .signs_up(
            "ana",
            json!({"email": "ana@example.com", "first_name": "Ana"}),
        )
        .await;
    server
        .signs_up("bob", json!({"email": "bob@example.com"}))
        .await;
    server
        .signs_up("cy", json!({"phone": "+33600000000"}))
        .await;

    let counts = email_counts_when(&server, journey, |counts| {
        counts.sent == 2 && counts.skipped == 1
    })
    .await;
    assert_eq!(counts.queued + counts.failed, 0, "{counts:?}");
    let emails = smtp.messages_when(2).await;
    let to_ana = emails
        .iter()
        .map(|email| readable(email))
        .find(|email| email.contains("To: ana@example.com"))
        .expect("Ana's email");
    assert!(to_ana.contains("Subject: Ana, your cart"), "{to_ana}");
    assert!(to_ana.contains("Hello Ana"));
    assert!(to_ana.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
    // The link leads through the server; the original address is not in the HTML part.
    assert!(!to_ana.contains("href=\"https://shop.example"), "{to_ana}");
    let base = server.url("");
    let pixel = url_after(&to_ana, &format!("{base}/t/o/"));
    let click = url_after(&to_ana, &format!("{base}/t/c/"));
    let unsubscribe = url_after(&to_ana, &format!("{base}/t/u/"));

    let client = crate::support::http_client();
    for _ in 0..2 {
        let opened = client.get(&pixel).send().await.expect("fetch the pixel");
        assert_eq!(opened.status(), 200);
        assert_eq!(opened.headers()["content-type"], "image/gif");
    }
    let clicked = client.get(&click).send().await.expect("follow the link");
    assert_eq!(clicked.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        clicked.headers()["location"],
        "https://shop.example/cart?a=1&b=2"
    );

    // Forged, altered or retargeted links lead nowhere and record nothing.
    let (click_path, target) = click.split_once("?u=").expect("a target");
    for forged in [
        format!("{base}/t/o/AAAAAAAAAAEAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        format!("{click_path}?u=aHR0cHM6Ly9ldmlsLmV4YW1wbGUv"),
        format!("{}x?u={target}", click_path),
        format!("{base}/t/o/not-a-token"),
    ] {
        let answer = client.get(&forged).send().await.expect("a forged link");
        assert_eq!(answer.status(), StatusCode::NOT_FOUND, "{forged}");
    }

    let counts = email_counts_when(&server, journey, |counts| {
        counts.opened == 1 && counts.clicked == 1
    })
    .await;
    assert_eq!((counts.sent, counts.skipped), (2, 1));
    let skipped: Vec<(String,)> = sqlx::query_as(
        "SELECT m.reason FROM messages m JOIN contacts c ON c.id = m.contact_id
         WHERE c.external_id = 'cy'",
    )
    .fetch_all(&mut server.database_connection().await)
    .await
    .expect("Cy's message");
    assert_eq!(
        skipped,
        vec![("the contact has no email address (attribute \"email\")".to_owned(),)]
    );

    // Ana opened it: her wait resumed by the event; Bob and Cy time out to the webhook.
    server.clock().advance(16 * MINUTE);
    for _ in 0..500 {
        if receiver.received().len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let stats = server.journey_stats(journey).await;
    let node = |id: &str| {
        stats
            .nodes
            .iter()
            .find(|node| node.node_id == id)
            .expect("a node")
    };
    assert_eq!(node("read").reached, 1);
    assert_eq!(node("missed").reached, 2);
    assert_eq!(receiver.received().len(), 2);

    // Unsubscribing: a page with a button on GET (link scanners change nothing), the opt-out
    // on POST (the button, or a mail client's one-click).
    let page = client
        .get(&unsubscribe)
        .send()
        .await
        .expect("the unsubscribe page");
    assert_eq!(page.status(), 200);
    let ana: Value = server
        .get("/api/v1/contacts/ana")
        .await
        .json()
        .await
        .expect("Ana");
    assert!(ana["attributes"].get("unsubscribed").is_none(), "{ana}");
    let done = client.post(&unsubscribe).send().await.expect("unsubscribe");
    assert_eq!(done.status(), 200);
    let ana: Value = server
        .get("/api/v1/contacts/ana")
        .await
        .json()
        .await
        .expect("Ana");
    assert_eq!(ana["attributes"]["unsubscribed"], true, "{ana}");
}

async fn a_transient_smtp_failure_is_retried_and_a_refusal_fails_the_message(backend: Backend) {
    let EmailJourney {
        smtp,
        receiver: _receiver,
        server,
        journey,
    } = email_journey(backend, |_| {}).await;

    smtp.reply_next(&["451 4.3.0 try again later"]);
    server
        .signs_up("ana", json!({"email": "ana@example.com"}))
        .await;
    // The first attempt meets the 451: still queued, its next attempt a few seconds on.
    let counts = email_counts_when(&server, journey, |counts| counts.queued == 1).await;
    assert_eq!(counts.sent, 0);
    let mut connection = server.database_connection().await;
    for _ in 0..500 {
        let (attempts,): (i64,) = sqlx::query_as("SELECT attempts FROM messages")
            .fetch_one(&mut connection)
            .await
            .expect("the message");
        if attempts == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (reason,): (Option<String>,) = sqlx::query_as("SELECT reason FROM messages")
        .fetch_one(&mut connection)
        .await
        .expect("the message");
    assert!(
        reason
            .as_deref()
            .is_some_and(|reason| reason.contains("try again later")),
        "{reason:?}"
    );
    assert!(smtp.messages().is_empty());
    server.clock().advance(10_000);
    email_counts_when(&server, journey, |counts| counts.sent == 1).await;
    assert_eq!(smtp.messages_when(1).await.len(), 1);

    smtp.reply_next(&["550 5.1.1 no such user"]);
    server
        .signs_up("bob", json!({"email": "bob@example.com"}))
        .await;
    let counts = email_counts_when(&server, journey, |counts| counts.failed == 1).await;
    assert_eq!((counts.sent, counts.queued), (1, 0));
    let (reason,): (String,) =
        sqlx::query_as("SELECT reason FROM messages WHERE status = 'failed'")
            .fetch_one(&mut connection)
            .await
            .expect("the failed message");
    assert!(reason.contains("no such user"), "{reason}");

    // The message log keeps every attempt, as the delivery log does.
    let log = server
        .message_log(&format!("journey={journey}&node=email"))
        .await;
    let attempts_of = |contact: &str| {
        log.iter()
            .find(|message| message.contact == contact)
            .unwrap_or_else(|| panic!("{contact}'s message"))
            .attempt_log
            .iter()
            .map(|attempt| (attempt.outcome, attempt.detail.clone().unwrap_or_default()))
            .collect::<Vec<_>>()
    };
    let ana = attempts_of("ana");
    assert_eq!(
        ana.iter().map(|(outcome, _)| *outcome).collect::<Vec<_>>(),
        [MessageAttemptOutcome::Retry, MessageAttemptOutcome::Sent],
        "{ana:?}"
    );
    assert!(ana[0].1.contains("try again later"), "{ana:?}");
    let bob = attempts_of("bob");
    assert_eq!(bob.len(), 1, "{bob:?}");
    assert_eq!(bob[0].0, MessageAttemptOutcome::Failed);
    assert!(bob[0].1.contains("no such user"), "{bob:?}");
}

async fn templates_are_checked_when_saved_and_previewed_unsaved(backend: Backend) {
    let server = TestServer::start(backend).await;
    let refused = server
        .post_json(
            "/api/v1/templates",
            &json!({"name": "Bad", "content": {"channel": "email", "from": "a@example.com",
                    "subject": "Hi {{contact.name", "html": "<p>x</p>"}}),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = refused.json().await.expect("an error");
    let message = body["error"]["message"].as_str().expect("a message");
    assert!(message.starts_with("content: subject:"), "{message}");

    let no_text = server
        .post_json(
            "/api/v1/templates",
            &json!({"name": "Empty", "content": {"channel": "sms", "text": " "}}),
        )
        .await;
    assert_eq!(no_text.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let contact = server
        .put_json(
            "/api/v1/contacts/ana",
            &json!({"attributes": {"first_name": "<Ana>"}}),
        )
        .await;
    assert_eq!(contact.status(), 200);
    let preview: Value = server
        .expect(
            server
                .post_json(
                    "/api/v1/templates/preview",
                    &json!({"contact": "ana", "content": {"channel": "email",
                            "from": "a@example.com", "subject": "Hi {{contact.first_name}}",
                            "html": "<p>Hi {{contact.first_name}} {{contact.city}}</p>"}}),
                )
                .await,
            StatusCode::OK,
        )
        .await;
    assert_eq!(preview["content"]["subject"], "Hi <Ana>");
    assert_eq!(preview["content"]["html"], "<p>Hi &lt;Ana&gt; </p>");
    assert_eq!(preview["missing"], json!(["contact.city"]));
    // An API key that reads templates but not contacts previews with sample values only: a
    // contact's preview would read their attributes one placeholder at a time.
    let key =
        crate::support::create_api_key(server.database().url(), &[app::api::Scope::TemplatesRead])
            .await;
    let templates_only = http_client_with_key(&key);
    let preview_as_key = |contact: Option<&str>| {
        templates_only
            .post(server.url("/api/v1/templates/preview"))
            .json(&json!({"contact": contact, "content": {"channel": "sms",
                          "text": "Hi {{contact.first_name}}"}}))
            .send()
    };
    let refused = preview_as_key(Some("ana")).await.expect("a response");
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let refusal: Value = refused.json().await.expect("an error");
    let message = refusal["error"]["message"].as_str().expect("a message");
    assert!(message.contains("contacts:read"), "{message}");
    let sample = preview_as_key(None).await.expect("a response");
    assert_eq!(sample.status(), StatusCode::OK);
    let sample: Value = sample.json().await.expect("a preview");
    assert_eq!(sample["content"]["text"], "Hi [contact.first_name]");
    // A preview saves nothing.
    let list: Vec<TemplateOut> = server
        .get("/api/v1/templates")
        .await
        .json()
        .await
        .expect("list");
    assert!(list.is_empty());

    // A template a published journey sends cannot be deleted; replacing it works.
    let template = email_template(&server).await;
    let receiver = Receiver::start().await;
    let journey = publish(&server, template.id, &receiver.url("/x")).await;
    let conflict = server
        .delete(&format!("/api/v1/templates/{}", template.id))
        .await;
    assert_eq!(conflict.status(), StatusCode::CONFLICT);
    let renamed: TemplateOut = server
        .expect(
            server
                .put_json(
                    &format!("/api/v1/templates/{}", template.id),
                    &json!({"name": "Cart reminder 2", "content": template.content}),
                )
                .await,
            StatusCode::OK,
        )
        .await;
    assert_eq!(renamed.name, "Cart reminder 2");
    let deleted = server.delete(&format!("/api/v1/journeys/{journey}")).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = server
        .delete(&format!("/api/v1/templates/{}", template.id))
        .await;
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);
}

const RELAY_SECRET: &str = "relay-secret";

/// Posts an SMTP relay's report (shaped like Amazon SES's), signed with `secret`.
async fn relay_report(server: &TestServer, secret: &str, body: &Value) -> reqwest::Response {
    let body = body.to_string();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("a key");
    mac.update(body.as_bytes());
    let signature: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    http_client()
        .post(server.url("/api/v1/receipts/email"))
        .header("content-type", "application/json")
        .header("x-relay-signature", format!("sha256={signature}"))
        .body(body)
        .send()
        .await
        .expect("a receipt answer")
}

async fn the_smtp_relay_reports_a_bounce_by_the_message_id_it_was_given(backend: Backend) {
    let EmailJourney {
        smtp,
        receiver: _receiver,
        server,
        journey,
    } = email_journey(backend, |_| {}).await;
    let bounce = |message_id: &str| json!({"eventType": "Bounce", "mail": {"messageId": "0100018c-ses-own-id", "commonHeaders": {"messageId": message_id}}});

    // Until the relay's reports are set up, email takes none.
    let response = relay_report(&server, RELAY_SECRET, &bounce("<wf-1-1@wayfarer>")).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    // Only email's receipts are set apart from a provider.
    let response = server
        .put_json(
            "/api/v1/channels/sms",
            &json!({"receipts": {"auth": {"type": "hmac", "header": "X-Sig", "secret": "s"},
                    "message_path": "$.id", "status_path": "$.status"}}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text().await.expect("a body").contains("receipts"));

    let channel: ChannelOut = server
        .expect(
            server
                .put_json(
                    "/api/v1/channels/email",
                    &json!({"receipts": {
                        "auth": {"type": "hmac", "header": "X-Relay-Signature", "secret": RELAY_SECRET},
                        "message_path": "$.mail.commonHeaders.messageId",
                        "status_path": "$.eventType",
                        "statuses": [
                            {"status": "Bounce", "activity": "bounced"},
                            {"status": "Delivery", "activity": "delivered"}
                        ]
                    }}),
                )
                .await,
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        channel.receipt_path.as_deref(),
        Some("/api/v1/receipts/email")
    );
    let shown = serde_json::to_string(&channel).expect("JSON");
    assert!(shown.contains("\"secret_set\":true"), "{shown}");
    assert!(
        !shown.contains(RELAY_SECRET),
        "the secret is never shown: {shown}"
    );

    server
        .signs_up("ana", json!({"email": "ana@example.com"}))
        .await;
    let email = readable(&smtp.messages_when(1).await[0]);
    let message_id = email
        .lines()
        .find_map(|line| line.strip_prefix("Message-ID: "))
        .expect("a Message-ID")
        .trim()
        .to_owned();
    assert!(message_id.starts_with("<wf-"), "{message_id}");

    let response = relay_report(&server, "not-the-secret", &bounce(&message_id)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = relay_report(&server, RELAY_SECRET, &bounce("<wf-999999-1@wayfarer>")).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = relay_report(&server, RELAY_SECRET, &bounce("<other@mail.example>")).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    let response = relay_report(&server, RELAY_SECRET, &bounce(&message_id)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let answer: Value = response.json().await.expect("JSON");
    assert_eq!(answer["status"], "recorded");
    assert_eq!(answer["recorded"], "bounced");
    let again: Value = relay_report(&server, RELAY_SECRET, &bounce(&message_id))
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(again["status"], "duplicate");

    let counts = email_counts_when(&server, journey, |counts| counts.bounced == 1).await;
    assert_eq!((counts.sent, counts.opened), (1, 0), "{counts:?}");
}

async fn the_email_channel_sends_through_its_own_smtp_relay(backend: Backend) {
    let smtp = SmtpReceiver::start().await;
    let receiver = Receiver::start().await;
    // No --smtp-url: the relay is the channel's.
    let server = TestServer::start(backend).await;
    let email_channel = || async {
        server
            .expect::<ChannelOut>(server.get("/api/v1/channels/email").await, StatusCode::OK)
            .await
    };
    assert!(!email_channel().await.ready);

    for (channel, body) in [
        ("email", json!({"smtp_url": "http://mail.example"})),
        ("email", json!({"smtp_url": "smtp://"})),
        ("sms", json!({"smtp_url": smtp.url()})),
    ] {
        let response = server
            .put_json(&format!("/api/v1/channels/{channel}"), &body)
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
        );
        assert!(response.text().await.expect("a body").contains("smtp_url"));
    }

    let saved: ChannelOut = server
        .expect(
            server
                .put_json(
                    "/api/v1/channels/email",
                    &json!({"smtp_url": "smtps://ana:s3cret@mail.example:465"}),
                )
                .await,
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        saved.smtp_url.as_deref(),
        Some("smtps://ana:********@mail.example:465")
    );
    let shown = server
        .get("/api/v1/channels/email")
        .await
        .text()
        .await
        .expect("a body");
    assert!(!shown.contains("s3cret"), "{shown}");
    // The masked URL sent back keeps the password; with another host it must be typed again.
    let kept = server
        .put_json(
            "/api/v1/channels/email",
            &json!({"smtp_url": "smtps://ana:********@mail.example:465"}),
        )
        .await;
    assert_eq!(kept.status(), StatusCode::OK);
    let moved = server
        .put_json(
            "/api/v1/channels/email",
            &json!({"smtp_url": "smtps://ana:********@elsewhere.example:465"}),
        )
        .await;
    assert_eq!(moved.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        moved
            .text()
            .await
            .expect("a body")
            .contains("type the password again")
    );

    let saved: ChannelOut = server
        .expect(
            server
                .put_json("/api/v1/channels/email", &json!({"smtp_url": smtp.url()}))
                .await,
            StatusCode::OK,
        )
        .await;
    assert!(saved.ready, "{saved:?}");
    let template = email_template(&server).await;
    let journey = publish(&server, template.id, &receiver.url("/missed")).await;
    server
        .signs_up("ana", json!({"email": "ana@example.com"}))
        .await;
    email_counts_when(&server, journey, |counts| counts.sent == 1).await;
    let emails = smtp.messages_when(1).await;
    assert!(readable(&emails[0]).contains("To: ana@example.com"));
}

/// Whose messages' attempts the log holds, oldest first, once it holds `count`.
async fn message_attempts_when(server: &TestServer, count: usize) -> Vec<String> {
    let mut last = Vec::new();
    for _ in 0..500 {
        last = sqlx::query_as::<_, (String,)>(
            "SELECT c.external_id FROM message_attempts a
             JOIN messages m ON m.id = a.message_id
             JOIN contacts c ON c.id = m.contact_id ORDER BY a.id",
        )
        .fetch_all(&mut server.database_connection().await)
        .await
        .expect("the attempt log")
        .into_iter()
        .map(|(contact,)| contact)
        .collect();
        if last.len() == count {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the message attempt log never held {count}: {last:?}");
}

async fn message_attempts_older_than_the_retention_period_are_pruned(backend: Backend) {
    // The sink and the receiver live as long as the test: the journey sends to them.
    let EmailJourney {
        smtp: _smtp,
        receiver: _receiver,
        server,
        journey,
    } = email_journey(backend, |config| config.attempt_retention_days = 1).await;
    server
        .signs_up("ana", json!({"email": "ana@example.com"}))
        .await;
    assert_eq!(message_attempts_when(&server, 1).await, ["ana"]);

    // A day less an hour later, bob's email; two hours on, ana's attempt is over a day old.
    server.clock().advance(23 * 60 * MINUTE);
    server
        .signs_up("bob", json!({"email": "bob@example.com"}))
        .await;
    assert_eq!(message_attempts_when(&server, 2).await, ["ana", "bob"]);
    server.clock().advance(2 * 60 * MINUTE);
    assert_eq!(message_attempts_when(&server, 1).await, ["bob"]);
    // The messages and their counts stay.
    let counts = email_counts(&server, journey).await;
    assert_eq!(counts.sent, 2, "{counts:?}");
}

async fn a_node_naming_its_template_sends_to_the_channels_own_attributes_and_skips_who_opted_out(
    backend: Backend,
) {
    let smtp = SmtpReceiver::start().await;
    let smtp_url = smtp.url();
    let server = TestServer::start_with(backend, |config| config.smtp_url = Some(smtp_url)).await;
    server
        .expect::<ChannelOut>(
            server
                .put_json(
                    "/api/v1/channels/email",
                    &json!({"address_attribute": "work_email", "opt_out_attribute": "no_marketing"}),
                )
                .await,
            StatusCode::OK,
        )
        .await;
    email_template(&server).await;
    // A document saved before templates were assets names its message by the template's name.
    let node = |id: &str, kind: &str, settings: Value| json!({"id": id, "position": {"x": 0, "y": 0}, "kind": kind, "settings": settings});
    let journey = server
        .publish_journey(
            Reentry::Always,
            json!({
                "nodes": [
                    node("start", "trigger", json!({"event": "signup"})),
                    node("email", "action", json!({"channel": "email", "message": "Cart reminder"})),
                    node("done", "exit", json!(null)),
                ],
                "edges": [
                    {"from": "start", "branch": "next", "to": "email"},
                    {"from": "email", "branch": "next", "to": "done"},
                ],
            }),
        )
        .await;

    server
        .signs_up(
            "ana",
            json!({"work_email": "ana@work.example", "email": "ana@home.example"}),
        )
        .await;
    email_counts_when(&server, journey, |counts| counts.sent == 1).await;
    let to_ana = readable(&smtp.messages_when(1).await[0]);
    assert!(to_ana.contains("To: ana@work.example"), "{to_ana}");

    // Unsubscribing sets the attribute the channel names; her next email is skipped.
    let unsubscribe = url_after(&to_ana, &format!("{}/t/u/", server.url("")));
    let done = http_client()
        .post(&unsubscribe)
        .send()
        .await
        .expect("unsubscribe");
    assert_eq!(done.status(), StatusCode::OK);
    let ana: Value = server
        .get("/api/v1/contacts/ana")
        .await
        .json()
        .await
        .expect("Ana");
    assert_eq!(ana["attributes"]["no_marketing"], true, "{ana}");
    server
        .signs_up("ana", json!({"work_email": "ana@work.example"}))
        .await;
    server
        .signs_up("cy", json!({"email": "cy@home.example"}))
        .await;
    email_counts_when(&server, journey, |counts| counts.skipped == 2).await;
    let log = server
        .message_log(&format!("journey={journey}&status=skipped"))
        .await;
    let reason_of = |contact: &str| {
        log.iter()
            .find(|message| message.contact == contact)
            .and_then(|message| message.reason.clone())
            .unwrap_or_else(|| panic!("{contact}'s skipped message"))
    };
    assert!(
        reason_of("ana").contains("\"no_marketing\""),
        "{}",
        reason_of("ana")
    );
    assert!(
        reason_of("cy").contains("\"work_email\""),
        "{}",
        reason_of("cy")
    );
    assert_eq!(smtp.messages().len(), 1);
}
