//! Message sending throughput: SMS through an HTTP provider (a local receiver answering 201
//! at once) and emails through SMTP (a local sink), each beside the bare rate of the same
//! client to the same receiver in the same run, with as many in flight as the worker sends.
//!
//!     cargo bench -p server --bench messages [-- MESSAGES]
//!
//! A durable message is claimed from the database, its template rendered for its contact,
//! sent, and its new state committed (SQLite, `synchronous = FULL`). Three rounds of each, in
//! turns; the medians are compared.

use std::{sync::Arc, time::Instant};

use app::{
    api::{
        AuthIn, ChannelIn, EmailContent, MessageStatus, ProviderBodyFormat, ProviderIn,
        ReceiptAuthIn, ReceiptsIn, Reentry, TemplateContent, TextContent,
    },
    ids::TemplateId,
    journey::{Action, Channel, NodeKind, fixtures::chain},
};
use axum::{Router, http::StatusCode, routing::post};
use server::{
    clock::SystemClock,
    delivery::{guard::TargetGuard, send::Sender},
    engine::{Engine, EngineSettings},
    messaging::{
        MessageWorker, MessagingSettings, ROUNDS_UNDER_WAY,
        channel::ChannelSettings,
        email::{Mailer, OutgoingEmail},
        tracking::Tracker,
    },
    store::{ChannelRow, MessageQuery, Store, TemplateRow},
};
use tokio::task::JoinSet;

/// Messages in flight, for the worker (as in the server binary) and for the bare clients.
const IN_FLIGHT: usize = 16;
const ROUNDS: usize = 3;

// As in the server binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[allow(dead_code, reason = "each bench uses part of the shared support")]
mod support;

#[allow(dead_code, reason = "the tests' SMTP sink; the bench only sends to it")]
#[path = "../tests/it/support/smtp.rs"]
mod smtp;

#[tokio::main]
async fn main() -> support::BenchResult {
    let messages = support::count_argument(10_000)?;

    let provider = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let provider_url = format!("http://{}/v1/messages", provider.local_addr()?);
    let app = Router::new().route(
        "/v1/messages",
        post(|| async { (StatusCode::CREATED, r#"{"sid": "SM1"}"#) }),
    );
    tokio::spawn(async move { axum::serve(provider, app).await });
    let sink = smtp::SmtpReceiver::start().await;

    let folder = tempfile::tempdir()?;
    let database = format!(
        "sqlite://{}?mode=rwc",
        folder.path().join("bench.db").display()
    );
    let store = Store::connect(&database).await?;
    store.migrate().await?;
    let now = chrono::Utc::now().timestamp_millis();
    set_up_sms(&store, &provider_url, now).await?;
    let sms = template(
        &store,
        TemplateContent::Sms(TextContent {
            text: "Hi {{contact.first_name}}, your order is on its way".to_owned(),
            media_url: String::new(),
        }),
        now,
    )
    .await?;
    let email = template(
        &store,
        TemplateContent::Email(EmailContent {
            from: "Shop <shop@example.com>".to_owned(),
            reply_to: String::new(),
            subject: "Hi {{contact.first_name}}".to_owned(),
            html: "<p>Your order: <a href=\"https://shop.example/o\">track it</a></p>".to_owned(),
            text: "Your order: https://shop.example/o".to_owned(),
        }),
        now,
    )
    .await?;
    publish(&store, "text", Channel::Sms, sms, now).await?;
    publish(&store, "mail", Channel::Email, email, now).await?;

    let sender = Sender::new(
        TargetGuard {
            allow_private: true,
            ..TargetGuard::default()
        },
        std::time::Duration::from_secs(15),
    )?;
    let mailer = Mailer::new(&sink.url())?;
    let worker = Arc::new(MessageWorker::new(
        store.clone(),
        Arc::new(SystemClock),
        Some(mailer.clone()),
        sender,
        Tracker::new("http://127.0.0.1:3000", vec![[7; 32]]),
        MessagingSettings {
            poll_interval: std::time::Duration::from_millis(10),
            batch_size: 500,
            concurrency: IN_FLIGHT,
            email_attribute: "email".to_owned(),
        },
    ));

    // This machine's speed drifts by a quarter from one second to the next, so each pair is
    // measured in turns and compared by medians.
    let mut rates = Rates::default();
    for round in 1..=ROUNDS {
        queue(&store, "text", round, messages, now).await?;
        let bare = bare_posts(&provider_url, messages).await?;
        let durable = drain(&worker).await?;
        sent_every(&store, Channel::Sms, round * messages).await?;
        record(
            &mut rates.http,
            round,
            "HTTP provider",
            messages,
            bare,
            durable,
        );

        // SMTP is slower: a tenth as many, so that a round takes as long.
        let emails = (messages / 10).max(1);
        queue(&store, "mail", round, emails, now).await?;
        let bare = bare_emails(&mailer, emails).await?;
        let durable = drain(&worker).await?;
        sent_every(&store, Channel::Email, round * emails).await?;
        record(&mut rates.smtp, round, "SMTP", emails, bare, durable);
    }
    for (name, pairs) in [("HTTP provider", rates.http), ("SMTP", rates.smtp)] {
        let bare = support::median(pairs.iter().map(|(bare, _)| *bare).collect());
        let durable = support::median(pairs.iter().map(|(_, durable)| *durable).collect());
        println!(
            "{name}: bare {bare:.0}/s, durable messages {durable:.0}/s ({:.0} % of bare), medians",
            100.0 * durable / bare
        );
    }
    Ok(())
}

#[derive(Default)]
struct Rates {
    http: Vec<(f64, f64)>,
    smtp: Vec<(f64, f64)>,
}

/// Prints a round's rates and keeps them.
fn record(
    into: &mut Vec<(f64, f64)>,
    round: usize,
    name: &str,
    count: usize,
    bare_seconds: f64,
    durable_seconds: f64,
) {
    let (bare, durable) = (count as f64 / bare_seconds, count as f64 / durable_seconds);
    println!(
        "round {round}, {name}: bare {bare:.0}/s, durable messages {durable:.0}/s ({:.0} %)",
        100.0 * durable / bare
    );
    into.push((bare, durable));
}

/// Runs the worker until nothing is due, as many rounds under way at once as the server runs;
/// the seconds it took.
async fn drain(worker: &Arc<MessageWorker>) -> support::BenchResult<f64> {
    let started = Instant::now();
    let mut rounds = JoinSet::new();
    for _ in 0..ROUNDS_UNDER_WAY {
        let worker = worker.clone();
        rounds.spawn(async move {
            while worker.tick().await? > 0 {}
            Ok::<(), sqlx::Error>(())
        });
    }
    while let Some(done) = rounds.join_next().await {
        done??;
    }
    Ok(started.elapsed().as_secs_f64())
}

async fn sent_every(store: &Store, channel: Channel, expected: usize) -> support::BenchResult {
    let sent = store
        .messages(&MessageQuery {
            channel: Some(channel),
            status: Some(MessageStatus::Sent),
            limit: i64::MAX,
            ..MessageQuery::default()
        })
        .await?
        .len();
    assert_eq!(sent, expected, "every {channel} message was sent");
    Ok(())
}

async fn bare_posts(url: &str, requests: usize) -> support::BenchResult<f64> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    support::bare_requests(requests, IN_FLIGHT, |n| {
        client
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("To=%2B3361{n}&Body=Hi+Ana"))
    })
    .await
}

async fn bare_emails(mailer: &Mailer, emails: usize) -> support::BenchResult<f64> {
    let started = Instant::now();
    let mut in_flight = JoinSet::new();
    for n in 0..emails {
        if in_flight.len() >= IN_FLIGHT
            && let Some(done) = in_flight.join_next().await
        {
            done??;
        }
        let mailer = mailer.clone();
        in_flight.spawn(async move {
            mailer
                .send(&OutgoingEmail {
                    from: "shop@example.com".to_owned(),
                    reply_to: String::new(),
                    to: format!("c{n}@example.com"),
                    subject: "Hi".to_owned(),
                    html: "<p>Your order</p>".to_owned(),
                    text: "Your order".to_owned(),
                    message_id: format!("<bare-{n}@bench>"),
                    unsubscribe: None,
                })
                .await
        });
    }
    while let Some(done) = in_flight.join_next().await {
        done??;
    }
    Ok(started.elapsed().as_secs_f64())
}

async fn set_up_sms(store: &Store, url: &str, now: i64) -> support::BenchResult {
    let defaults = ChannelSettings::default_for(Channel::Sms, "email");
    let settings = ChannelSettings::from_input(
        Channel::Sms,
        ChannelIn {
            provider: Some(ProviderIn {
                url: url.to_owned(),
                method: None,
                body_format: ProviderBodyFormat::Form,
                body: "To={{message.to}}&Body={{message.text}}&Reference={{message.id}}".to_owned(),
                headers: Vec::new(),
                auth: AuthIn::Bearer {
                    token: Some("token".to_owned()),
                },
                answer_id_path: "$.sid".to_owned(),
                receipts: ReceiptsIn {
                    auth: ReceiptAuthIn::Hmac {
                        header: "X-Signature".to_owned(),
                        secret: Some("secret".to_owned()),
                    },
                    message_path: "$.MessageSid".to_owned(),
                    status_path: "$.MessageStatus".to_owned(),
                    statuses: Vec::new(),
                },
            }),
            ..ChannelIn::default()
        },
        &defaults,
        &defaults,
    )?;
    store
        .save_channel(&ChannelRow {
            channel: Channel::Sms,
            settings: serde_json::to_string(&settings)?,
            updated_at: now,
        })
        .await?;
    Ok(())
}

async fn template(
    store: &Store,
    content: TemplateContent,
    now: i64,
) -> support::BenchResult<TemplateId> {
    let row = store
        .create_template(&TemplateRow {
            id: TemplateId(0),
            name: content.channel().to_string(),
            channel: content.channel(),
            content: serde_json::to_string(&content)?,
            created_at: now,
            updated_at: now,
        })
        .await?;
    Ok(row.id)
}

/// Publishes `event` → action → exit; every `event` enters it, also again.
async fn publish(
    store: &Store,
    event: &str,
    channel: Channel,
    template: TemplateId,
    now: i64,
) -> support::BenchResult {
    let action = NodeKind::Action(Action {
        channel,
        template: Some(template),
        message: String::new(),
    });
    let journey = serde_json::to_string(&chain(event, vec![("send", action)]))?;
    let created = store
        .create_journey(event, Reentry::Always, &journey, now)
        .await?;
    store.publish_journey(created.id, &journey, now).await?;
    Ok(())
}

/// Queues one message per contact through the engine.
async fn queue(
    store: &Store,
    event: &str,
    round: usize,
    contacts: usize,
    now: i64,
) -> support::BenchResult {
    support::contacts_with_an_event(
        store,
        contacts,
        |n| {
            format!(r#"{{"email": "c{n}@example.com", "phone": "+3361{n}", "first_name": "C{n}"}}"#)
        },
        event,
        now + round as i64,
    )
    .await?;
    let mut engine = Engine::new(
        store.clone(),
        Arc::new(SystemClock),
        EngineSettings {
            poll_interval: std::time::Duration::from_millis(10),
            batch_size: 500,
        },
    );
    while engine.tick().await? > 0 {}
    Ok(())
}
