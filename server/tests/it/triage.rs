//! A webhook node's failures grouped by cause, against a real receiver and a closed port:
//! the groups, their examples, the pending ones being retried, and "resend these" taking only
//! its group.

use std::time::Duration;

use app::{
    api::{
        ApiKeyCreatedOut, DeliveryOut, DeliveryStatus, NodeFailuresOut, NodeTimelineOut,
        ResendProgressOut, ResentOut,
    },
    ids::JourneyId,
};
use reqwest::StatusCode;
use serde_json::json;

use crate::{
    deliveries::deliver_once_to,
    support::{Answer, Backend, Receiver, TestServer, http_client_with_key},
};

backend_tests!(
    failures_are_grouped_by_cause_and_resent_one_cause_at_a_time,
    retrying_requests_are_grouped_too,
    the_log_names_contacts_and_draws_the_node_over_time,
);

const MINUTE: i64 = 60_000;

async fn failures(server: &TestServer, journey: JourneyId, query: &str) -> NodeFailuresOut {
    server
        .expect(
            server
                .get(&format!(
                    "/api/v1/journeys/{journey}/nodes/hook/failures{query}"
                ))
                .await,
            StatusCode::OK,
        )
        .await
}

/// The contact's delivery once `done` holds (or a panic after ten seconds).
async fn delivery_of(
    server: &TestServer,
    contact: &str,
    done: impl Fn(&DeliveryOut) -> bool,
) -> DeliveryOut {
    let mut last = None;
    for _ in 0..1_000 {
        let found: Vec<DeliveryOut> = server
            .expect(
                server
                    .get(&format!("/api/v1/deliveries?contact={contact}"))
                    .await,
                StatusCode::OK,
            )
            .await;
        if let Some(delivery) = found.into_iter().next() {
            if done(&delivery) {
                return delivery;
            }
            last = Some(delivery);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{contact}'s delivery never got there: {last:?}");
}

/// Retries the contact's request on the test's clock until its one-hour window is over: the
/// first attempt, one 40 minutes later, and the one after that fails it for good.
async fn fail_for_good(server: &TestServer, contact: &str) {
    delivery_of(server, contact, |delivery| delivery.attempts >= 1).await;
    server.clock().advance(40 * MINUTE);
    delivery_of(server, contact, |delivery| delivery.attempts >= 2).await;
    server.clock().advance(40 * MINUTE);
    delivery_of(server, contact, |delivery| {
        delivery.status == DeliveryStatus::Failed
    })
    .await;
}

async fn failures_are_grouped_by_cause_and_resent_one_cause_at_a_time(backend: Backend) {
    let server = TestServer::start(backend).await;
    let receiver = Receiver::start().await;
    receiver.always(Answer::WithBody(
        400,
        b"invalid phone\n{\"field\": \"phone\"}",
    ));
    let (_, journey) = deliver_once_to(
        &server,
        json!({"name": "SMS gateway", "url": receiver.url("/send"), "retry_window_hours": 1}),
    )
    .await;
    fail_for_good(&server, "ana").await;
    // The same cause in JSON, naming the request: still one group.
    receiver.always(Answer::WithBody(
        400,
        b"{\"error\": \"invalid phone\", \"request_id\": \"req_7f3a91\"}",
    ));
    server.signs_up("bo", json!({})).await;
    fail_for_good(&server, "bo").await;
    receiver.always(Answer::WithBody(400, b"unknown country"));
    server.signs_up("cy", json!({})).await;
    fail_for_good(&server, "cy").await;

    let found = failures(&server, journey, "").await;
    assert_eq!(found.status, DeliveryStatus::Failed);
    assert_eq!((found.scanned, found.truncated), (3, false));
    let groups: Vec<(&str, i64, &str)> = found
        .groups
        .iter()
        .map(|group| {
            (
                group.label.as_str(),
                group.count,
                group.example.contact.as_str(),
            )
        })
        .collect();
    assert_eq!(
        groups,
        [
            ("HTTP 400 \"invalid phone\"", 2, "bo"),
            ("HTTP 400 \"unknown country\"", 1, "cy"),
        ]
    );
    let phones = &found.groups[0];
    assert_eq!(phones.example.status_code, Some(400));
    assert!(
        phones
            .example
            .answer
            .as_deref()
            .is_some_and(|answer| answer.contains("req_7f3a91")),
        "{phones:?}"
    );
    assert!(phones.first_at <= phones.last_at);
    // The example's request, as it would go out now: what the receiver refused.
    let request: app::api::RequestPreviewOut = server
        .expect(
            server
                .get(&format!(
                    "/api/v1/deliveries/{}/request",
                    phones.example.delivery_id
                ))
                .await,
            StatusCode::OK,
        )
        .await;
    assert_eq!(request.url, receiver.url("/send"));
    assert!(
        request.body.contains("\"external_id\":\"bo\""),
        "{request:?}"
    );
    assert_eq!(
        server
            .get("/api/v1/deliveries/999999/request")
            .await
            .status(),
        StatusCode::NOT_FOUND
    );

    // Fixed for phones: only that group goes out again.
    receiver.always(Answer::Status(200));
    let resent: ResentOut = server
        .expect(
            server
                .post_json(
                    &format!("/api/v1/journeys/{journey}/nodes/hook/failures/resend"),
                    &json!({ "cause": phones.cause }),
                )
                .await,
            StatusCode::OK,
        )
        .await;
    assert_eq!(resent.resent, 2);
    for contact in ["ana", "bo"] {
        delivery_of(&server, contact, |delivery| {
            delivery.status == DeliveryStatus::Accepted
        })
        .await;
    }
    // The resend's progress: both accepted, cy (not resent) not counted.
    let progress: ResendProgressOut = server
        .expect(
            server
                .get(&format!(
                    "/api/v1/journeys/{journey}/nodes/hook/resends?resent_at={}",
                    resent.resent_at
                ))
                .await,
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        (progress.accepted, progress.pending, progress.failed),
        (2, 0, 0)
    );
    let unasked = server
        .get(&format!("/api/v1/journeys/{journey}/nodes/hook/resends"))
        .await;
    assert_eq!(unasked.status(), StatusCode::BAD_REQUEST);
    let error = unasked.text().await.expect("an error");
    assert!(error.contains("resent_at"), "{error}");
    let left = failures(&server, journey, "").await;
    assert_eq!(left.groups.len(), 1, "{left:?}");
    assert_eq!(left.groups[0].label, "HTTP 400 \"unknown country\"");

    // Another version's failures, none; a cause nobody has, nothing resent.
    assert!(
        failures(&server, journey, "?version=2")
            .await
            .groups
            .is_empty()
    );
    let nothing: ResentOut = server
        .expect(
            server
                .post_json(
                    &format!("/api/v1/journeys/{journey}/nodes/hook/failures/resend"),
                    &json!({"cause": "timeout"}),
                )
                .await,
            StatusCode::OK,
        )
        .await;
    assert_eq!(nothing.resent, 0);

    // The log and "resend all failed" keep to a version when given one.
    let of_version = |version: i64| {
        let server = &server;
        async move {
            server
                .expect::<Vec<serde_json::Value>>(
                    server
                        .get(&format!(
                            "/api/v1/deliveries?journey={journey}&version={version}"
                        ))
                        .await,
                    StatusCode::OK,
                )
                .await
                .len()
        }
    };
    assert_eq!((of_version(1).await, of_version(2).await), (3, 0));
    let resend_all = |version: i64| {
        let server = &server;
        async move {
            server
                .expect::<ResentOut>(
                    server
                        .post(&format!(
                            "/api/v1/journeys/{journey}/nodes/hook/resend-failed?version={version}"
                        ))
                        .await,
                    StatusCode::OK,
                )
                .await
                .resent
        }
    };
    assert_eq!(resend_all(2).await, 0, "version 2 failed nothing");
    assert_eq!(resend_all(1).await, 1, "cy's request, of version 1");

    let accepted = server
        .get(&format!(
            "/api/v1/journeys/{journey}/nodes/hook/failures?status=accepted"
        ))
        .await;
    assert_eq!(accepted.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = accepted.json().await.expect("an error");
    assert!(body.to_string().contains("status"), "{body}");
    let unknown = server
        .get("/api/v1/journeys/999999/nodes/hook/failures")
        .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

async fn retrying_requests_are_grouped_too(backend: Backend) {
    let server = TestServer::start(backend).await;
    // Nothing listens on the discard port: the connection is refused.
    let (_, journey) = deliver_once_to(
        &server,
        json!({"name": "CRM", "url": "http://127.0.0.1:9/hook"}),
    )
    .await;
    delivery_of(&server, "ana", |delivery| delivery.attempts >= 1).await;
    let found = failures(&server, journey, "?status=pending").await;
    assert_eq!(found.status, DeliveryStatus::Pending);
    let groups: Vec<(&str, &str, i64)> = found
        .groups
        .iter()
        .map(|group| (group.cause.as_str(), group.label.as_str(), group.count))
        .collect();
    assert_eq!(groups, [("connection refused", "connection refused", 1)]);
    assert!(
        failures(&server, journey, "").await.groups.is_empty(),
        "none failed for good"
    );
}

async fn the_log_names_contacts_and_draws_the_node_over_time(backend: Backend) {
    let server = TestServer::start(backend).await;
    let receiver = Receiver::start().await;
    let (_, journey) = deliver_once_to(
        &server,
        json!({"name": "CRM", "url": receiver.url("/hook"), "retry_window_hours": 1}),
    )
    .await;
    let ana = delivery_of(&server, "ana", |delivery| {
        delivery.status == DeliveryStatus::Accepted
    })
    .await;
    server.clock().advance(30_000);
    receiver.always(Answer::Status(400));
    server
        .signs_up("bo", json!({"first_name": "Bo", "last_name": "Lee"}))
        .await;
    fail_for_good(&server, "bo").await;
    let bo = delivery_of(&server, "bo", |_| true).await;

    // Who each contact is, beside their id.
    assert_eq!(
        (ana.contact_name.as_deref(), ana.contact_email.as_deref()),
        (None, Some("ana@example.com"))
    );
    assert_eq!(
        (bo.contact_name.as_deref(), bo.contact_email.as_deref()),
        (Some("Bo Lee"), None)
    );
    // A key that reads the delivery log but not contacts sees ids only.
    let created: ApiKeyCreatedOut = server
        .expect(
            server
                .post_json(
                    "/api/v1/api-keys",
                    &json!({"name": "Monitor", "scopes": ["deliveries:read"]}),
                )
                .await,
            StatusCode::CREATED,
        )
        .await;
    let monitor = http_client_with_key(&created.key);
    let seen: Vec<DeliveryOut> = monitor
        .get(server.url("/api/v1/deliveries?contact=ana"))
        .send()
        .await
        .expect("a response")
        .json()
        .await
        .expect("deliveries");
    assert_eq!(seen.len(), 1);
    assert_eq!(
        (&seen[0].contact_name, &seen[0].contact_email),
        (&None, &None)
    );

    // The node over its life: from ana's request to now (80.5 minutes), in 2-minute slices.
    let timeline: NodeTimelineOut = server
        .expect(
            monitor
                .get(server.url(&format!("/api/v1/journeys/{journey}/nodes/hook/timeline")))
                .send()
                .await
                .expect("a response"),
            StatusCode::OK,
        )
        .await;
    assert_eq!(timeline.slice_ms, 2 * MINUTE);
    let now = server.clock().now_millis();
    let first = timeline.slices.first().expect("a slice");
    let last = timeline.slices.last().expect("a slice");
    assert!(first.start <= ana.created_at && ana.created_at < first.start + 2 * MINUTE);
    assert!(last.start <= now && now < last.start + 2 * MINUTE);
    assert!(
        timeline
            .slices
            .windows(2)
            .all(|pair| pair[1].start == pair[0].start + 2 * MINUTE),
        "{timeline:?}"
    );
    let holding = |at: i64| {
        timeline
            .slices
            .iter()
            .find(|slice| slice.start <= at && at < slice.start + 2 * MINUTE)
            .copied()
            .expect("a slice holds it")
    };
    assert!(holding(ana.created_at).accepted >= 1);
    assert!(holding(bo.created_at).failed == 1);
    let totals = timeline.slices.iter().fold((0, 0, 0), |(a, f, p), slice| {
        (a + slice.accepted, f + slice.failed, p + slice.pending)
    });
    assert_eq!(totals, (1, 1, 0));

    // Another version has no requests; a journey that does not exist, none either.
    let other: NodeTimelineOut = server
        .expect(
            server
                .get(&format!(
                    "/api/v1/journeys/{journey}/nodes/hook/timeline?version=2"
                ))
                .await,
            StatusCode::OK,
        )
        .await;
    assert_eq!((other.slice_ms, other.slices.len()), (0, 0));
    let unknown = server
        .get("/api/v1/journeys/999999/nodes/hook/timeline")
        .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}
