//! Prometheus reads what the server did (events, requests and their latency) and what waits
//! (held and due requests, contacts in progress), with a `metrics:read` key or on the
//! `--metrics-listen` address.

use std::time::Duration;

use app::api::Scope;
use reqwest::StatusCode;
use serde_json::json;

use crate::{
    deliveries::deliver_once_to,
    support::{
        Backend, Receiver, TestServer, create_api_key, http_client, http_client_with_key, metric,
    },
};

backend_tests!(prometheus_reads_what_was_done_and_what_waits,);

async fn prometheus_reads_what_was_done_and_what_waits(backend: Backend) {
    let server = TestServer::start_with(backend, |config| {
        config.metrics_listen = Some("127.0.0.1:0".parse().expect("an address"));
    })
    .await;
    let receiver = Receiver::start().await;
    let (webhook, _) = deliver_once_to(
        &server,
        json!({"name": "CRM", "url": receiver.url("/hook")}),
    )
    .await;
    let key = create_api_key(server.database().url(), &[Scope::MetricsRead]).await;
    let prometheus = http_client_with_key(&key);
    let scrape = || async {
        let answer = prometheus
            .get(server.url("/api/v1/metrics"))
            .send()
            .await
            .expect("an answer");
        assert_eq!(answer.status(), StatusCode::OK);
        let content_type = answer.headers()[reqwest::header::CONTENT_TYPE].clone();
        assert!(
            content_type
                .to_str()
                .expect("text")
                .starts_with("application/openmetrics-text"),
            "{content_type:?}"
        );
        answer.text().await.expect("the metrics")
    };
    let accepted = format!(
        "wayfarer_webhook_requests_total{{webhook=\"{}\",outcome=\"accepted\"}}",
        webhook.id
    );
    let mut text = String::new();
    for _ in 0..500 {
        text = scrape().await;
        if metric(&text, &accepted) == Some(1.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(metric(&text, &accepted), Some(1.0), "{text}");
    assert_eq!(receiver.received().len(), 1);
    assert_eq!(metric(&text, "wayfarer_events_stored_total"), Some(1.0));
    // Ana's one step: from the trigger through the webhook node to the end.
    assert_eq!(metric(&text, "wayfarer_engine_steps_total"), Some(1.0));
    let timed = format!(
        "wayfarer_webhook_request_seconds_count{{webhook=\"{}\"}}",
        webhook.id
    );
    assert_eq!(metric(&text, &timed), Some(1.0), "{text}");
    assert_eq!(
        metric(&text, "wayfarer_delivery_first_answer_seconds_count"),
        Some(1.0)
    );
    // The delivery loops claim as they start and whenever they are woken.
    assert!(
        metric(&text, "wayfarer_claim_seconds_count{queue=\"deliveries\"}")
            .is_some_and(|claims| claims >= 1.0),
        "{text}"
    );
    assert!(
        metric(&text, "wayfarer_claim_seconds_count{queue=\"messages\"}").is_some(),
        "{text}"
    );
    assert_eq!(metric(&text, "wayfarer_backlog_read"), Some(1.0));
    assert_eq!(metric(&text, "wayfarer_deliveries_due"), Some(0.0));

    // Disabled, the webhook holds the next contact's request: the scrape shows it waiting.
    let disabled = server
        .patch_json(
            &format!("/api/v1/webhooks/{}", webhook.id),
            &json!({"enabled": false}),
        )
        .await;
    assert_eq!(disabled.status(), StatusCode::OK);
    server.signs_up("bob", json!({})).await;
    let held = format!(
        "wayfarer_webhook_unsent{{webhook=\"{}\",state=\"held\"}}",
        webhook.id
    );
    for _ in 0..500 {
        text = scrape().await;
        if metric(&text, &held) == Some(1.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(metric(&text, &held), Some(1.0), "{text}");
    assert_eq!(metric(&text, "wayfarer_events_stored_total"), Some(2.0));
    assert_eq!(receiver.received().len(), 1);

    // The metrics address answers without a key; the API's scrape wants one.
    let open = http_client()
        .get(server.metrics_url("/metrics"))
        .send()
        .await
        .expect("an answer");
    assert_eq!(open.status(), StatusCode::OK);
    assert_eq!(
        metric(&open.text().await.expect("the metrics"), &held),
        Some(1.0)
    );
    let anonymous = http_client()
        .get(server.url("/api/v1/metrics"))
        .send()
        .await
        .expect("an answer");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    // Every series the Grafana dashboard in docs/ reads is one the server writes.
    let dashboard = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/grafana-dashboard.json"),
    )
    .expect("docs/grafana-dashboard.json");
    let mut read = 0;
    for (start, _) in dashboard.match_indices("wayfarer_") {
        let name: String = dashboard[start..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect();
        let family = ["_total", "_bucket", "_count", "_sum"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .unwrap_or(&name);
        assert!(
            text.contains(&format!("# TYPE {family} ")),
            "the dashboard reads {name}, which the server does not write"
        );
        read += 1;
    }
    assert!(read >= 13, "the dashboard reads {read} series");
}
