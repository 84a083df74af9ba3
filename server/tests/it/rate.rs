//! A webhook's rate limit, against real receivers: its requests are spaced by it, also when two
//! processes send to it, and a webhook without one is not held back by it.

use std::time::{Duration, Instant};

use app::{
    api::Reentry,
    journey::fixtures::{chain, webhook_with},
};
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{Backend, Receiver, TestServer};

backend_tests!(
    a_rate_limited_webhook_is_paced_and_holds_no_other_back,
    two_processes_together_keep_a_webhooks_rate,
    a_changed_rate_drops_the_time_reserved_at_the_old_one,
);

const CONTACTS: usize = 10;

async fn arrivals(receiver: &Receiver, count: usize) -> Vec<Instant> {
    for _ in 0..1_000 {
        let received = receiver.received();
        if received.len() >= count {
            let mut at: Vec<Instant> = received.iter().map(|request| request.at).collect();
            at.sort_unstable();
            return at;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{} of {count} requests arrived", receiver.received().len());
}

async fn a_rate_limited_webhook_is_paced_and_holds_no_other_back(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (paced, quick) = (Receiver::start().await, Receiver::start().await);
    let limited = server
        .create_webhook(&json!({"name": "Paced", "url": paced.url("/hook"),
                               "max_requests_per_second": 10}))
        .await;
    assert_eq!(limited.max_requests_per_second, 10);
    let unlimited = server
        .create_webhook(&json!({"name": "Quick", "url": quick.url("/hook")}))
        .await;
    server
        .publish_journey(
            Reentry::Once,
            chain(
                "signup",
                vec![
                    ("paced", webhook_with(limited.id, &[])),
                    ("quick", webhook_with(unlimited.id, &[])),
                ],
            ),
        )
        .await;
    let contacts: Vec<_> = (0..CONTACTS)
        .map(|n| json!({"external_id": format!("c{n}")}))
        .collect();
    let created = server
        .post_json("/api/v1/contacts/batch", &json!({ "contacts": contacts }))
        .await;
    assert_eq!(created.status(), StatusCode::OK);
    let events: Vec<_> = (0..CONTACTS)
        .map(|n| json!({"contact": format!("c{n}"), "event": "signup"}))
        .collect();
    let accepted = server
        .post_json("/api/v1/events/batch", &json!({ "events": events }))
        .await;
    assert_eq!(accepted.status(), StatusCode::ACCEPTED);

    let paced_at = arrivals(&paced, CONTACTS).await;
    let quick_at = arrivals(&quick, CONTACTS).await;
    // Ten requests at ten a second: sent 100 ms apart, so they arrive 900 ms apart from first
    // to last; a single gap can shrink by the jitter of the loopback and the receiver (a
    // request that waited for a new connection arrives late, the next on time).
    let span = paced_at[CONTACTS - 1].duration_since(paced_at[0]);
    assert!(
        span >= Duration::from_millis(850),
        "ten paced requests within {span:?}"
    );
    for pair in paced_at.windows(2) {
        let gap = pair[1].duration_since(pair[0]);
        assert!(
            gap >= Duration::from_millis(50),
            "{gap:?} between two paced requests"
        );
    }
    let last_paced = *paced_at.last().expect("arrivals");
    let last_quick = *quick_at.last().expect("arrivals");
    assert!(
        last_quick < last_paced,
        "the unlimited webhook's requests all arrived {:?} before the paced one's last",
        last_paced.duration_since(last_quick)
    );

    let refused = server
        .patch_json(
            &format!("/api/v1/webhooks/{}", limited.id),
            &json!({"max_requests_per_second": 20_000}),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = refused.text().await.expect("a body");
    assert!(body.contains("max_requests_per_second"), "{body}");
}

/// Each process sends its share: without the send times reserved in the database, each kept
/// the rate alone and the receiver got twice it.
async fn two_processes_together_keep_a_webhooks_rate(backend: Backend) {
    let first = TestServer::start(backend).await;
    let second = TestServer::start_on(first.database().alias()).await;
    let paced = Receiver::start().await;
    let limited = first
        .create_webhook(&json!({"name": "Paced", "url": paced.url("/hook"),
                               "max_requests_per_second": 10}))
        .await;
    first
        .publish_journey(
            Reentry::Once,
            chain("signup", vec![("paced", webhook_with(limited.id, &[]))]),
        )
        .await;
    let contacts: Vec<_> = (0..2 * CONTACTS)
        .map(|n| json!({"external_id": format!("c{n}")}))
        .collect();
    let created = first
        .post_json("/api/v1/contacts/batch", &json!({ "contacts": contacts }))
        .await;
    assert_eq!(created.status(), StatusCode::OK);
    // Half of the events through each process, at once: each engine hands its contacts'
    // requests to its own delivery worker.
    let events = |range: std::ops::Range<usize>| {
        let events: Vec<_> = range
            .map(|n| json!({"contact": format!("c{n}"), "event": "signup"}))
            .collect();
        json!({ "events": events })
    };
    let (one, two) = (events(0..CONTACTS), events(CONTACTS..2 * CONTACTS));
    let (one, two) = tokio::join!(
        first.post_json("/api/v1/events/batch", &one),
        second.post_json("/api/v1/events/batch", &two),
    );
    assert_eq!(one.status(), StatusCode::ACCEPTED);
    assert_eq!(two.status(), StatusCode::ACCEPTED);

    let at = arrivals(&paced, 2 * CONTACTS).await;
    // Twenty requests at ten a second: 1.9 s from first to last (less the loopback's jitter),
    // and never more than ten within any second.
    let span = at[2 * CONTACTS - 1].duration_since(at[0]);
    assert!(
        span >= Duration::from_millis(1_800),
        "twenty requests within {span:?}"
    );
    for eleven in at.windows(CONTACTS + 1) {
        let within = eleven[CONTACTS].duration_since(eleven[0]);
        assert!(
            within >= Duration::from_millis(900),
            "eleven requests within {within:?}"
        );
    }
    assert_eq!(paced.received().len(), 2 * CONTACTS);
}

/// Time reserved at 1 a second (a backlog of a minute) is not kept once the rate is raised:
/// the next batch's requests start at once, at the new rate.
async fn a_changed_rate_drops_the_time_reserved_at_the_old_one(backend: Backend) {
    let server = TestServer::start(backend).await;
    let receiver = Receiver::start().await;
    let webhook = server
        .create_webhook(&json!({"name": "Paced", "url": receiver.url("/hook"),
                               "max_requests_per_second": 1}))
        .await;
    let store = server.store().await;
    let now = server.clock().now_millis();
    assert_eq!(
        store
            .reserve_send_time(webhook.id, 60_000, now)
            .await
            .expect("reserved"),
        now
    );
    assert_eq!(
        store
            .reserve_send_time(webhook.id, 1_000, now)
            .await
            .expect("reserved"),
        now + 60_000,
        "the next reservation follows the first"
    );
    let renamed = server
        .patch_json(
            &format!("/api/v1/webhooks/{}", webhook.id),
            &json!({"name": "Renamed"}),
        )
        .await;
    assert_eq!(renamed.status(), StatusCode::OK);
    assert_eq!(
        store
            .reserve_send_time(webhook.id, 1_000, now)
            .await
            .expect("reserved"),
        now + 61_000,
        "another change keeps the reservations"
    );
    let raised = server
        .patch_json(
            &format!("/api/v1/webhooks/{}", webhook.id),
            &json!({"max_requests_per_second": 100}),
        )
        .await;
    assert_eq!(raised.status(), StatusCode::OK);
    assert_eq!(
        store
            .reserve_send_time(webhook.id, 10, now)
            .await
            .expect("reserved"),
        now,
        "time reserved at the old rate is dropped"
    );
}
