//! Contacts moving through published journeys: triggers, every node kind, timers driven by the
//! test's clock, statistics, pause and versions.

use std::{collections::HashMap, time::Duration};

use app::{
    api::{JourneyStatsOut, NodeStatsOut, PublishOut, Reentry},
    ids::{ContactId, EventId, JourneyId},
    journey::{
        Channel, JourneyDocument, NodeId,
        fixtures::{abandoned_cart_to, chain, delay, email},
    },
};
use serde_json::{Value, json};
use sqlx::Connection;

use server::store::NewEnrollment;

use crate::support::{Backend, Receiver, TestDatabase, TestServer};

backend_tests!(
    the_abandoned_cart_journey_runs_end_to_end,
    trigger_filters_and_reentry_rules_decide_who_enters,
    conditions_branch_and_delays_wait,
    a_wait_for_a_named_event_resumes_only_before_its_timeout,
    a_paused_journey_neither_enrolls_nor_moves_contacts,
    contacts_in_flight_stay_on_their_version,
    a_version_that_cannot_be_read_sets_its_contacts_aside_and_the_rest_goes_on,
    an_idle_engine_fires_a_timer_when_it_comes_due_not_at_its_next_poll,
    a_round_steps_the_contacts_it_enrolls_and_leaves_the_rest_due,
);

const MINUTE: i64 = 60_000;
const DAY: i64 = 24 * 60 * MINUTE;

async fn contact(server: &TestServer, external_id: &str, attributes: Value) -> ContactId {
    let response = server
        .put_json(
            &format!("/api/v1/contacts/{external_id}"),
            &json!({ "attributes": attributes }),
        )
        .await;
    assert_eq!(response.status(), 200);
    let row = server
        .store()
        .await
        .contact(external_id)
        .await
        .expect("query");
    row.expect("the contact exists").id
}

async fn event(server: &TestServer, body: Value) {
    let response = server.post_json("/api/v1/events", &body).await;
    assert_eq!(response.status(), 202, "{body}");
}

async fn stats(
    server: &TestServer,
    journey: JourneyId,
    version: Option<i64>,
) -> HashMap<String, NodeStatsOut> {
    let path = match version {
        Some(version) => format!("/api/v1/journeys/{journey}/stats?version={version}"),
        None => format!("/api/v1/journeys/{journey}/stats"),
    };
    let stats: JourneyStatsOut = server.get(&path).await.json().await.expect("stats");
    stats
        .nodes
        .into_iter()
        .map(|node| (node.node_id.to_string(), node))
        .collect()
}

/// (reached, waiting, exited) per node, for compact assertions.
fn counts(stats: &HashMap<String, NodeStatsOut>, node: &str) -> (i64, i64, i64) {
    let node = &stats[node];
    (node.reached, node.waiting, node.exited)
}

/// Polls the journey's statistics until `done` holds: the engine works in the background.
async fn stats_when(
    server: &TestServer,
    journey: JourneyId,
    done: impl Fn(&HashMap<String, NodeStatsOut>) -> bool,
) -> HashMap<String, NodeStatsOut> {
    let mut last = HashMap::new();
    for _ in 0..500 {
        last = stats(server, journey, None).await;
        if done(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the journey did not reach the expected state; last statistics: {last:#?}");
}

/// Lets the engine run a few rounds, for asserting that something does *not* happen.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(150)).await;
}

/// The reference journey, sending to a new webhook whose receiver is never reached.
async fn abandoned_cart(server: &TestServer) -> JourneyDocument {
    let webhook = server
        .create_webhook(&json!({"name": "CRM", "url": "http://127.0.0.1:9/unreached"}))
        .await;
    abandoned_cart_to(webhook.id)
}

async fn the_abandoned_cart_journey_runs_end_to_end(backend: Backend) {
    let server = TestServer::start(backend).await;
    let receiver = Receiver::start().await;
    let webhook = server
        .create_webhook(
            &json!({"name": "CRM", "url": receiver.url("/hook/{{contact.external_id}}")}),
        )
        .await;
    let journey = server
        .publish_journey(Reentry::Once, abandoned_cart_to(webhook.id))
        .await;
    let ana = contact(&server, "ana", json!({"email": "ana@example.com"})).await;
    contact(&server, "bob", json!({"email": "bob@example.com"})).await;

    event(&server, json!({"contact": "ana", "event": "add_to_cart"})).await;
    event(&server, json!({"contact": "bob", "event": "add_to_cart"})).await;
    let at_wait = stats_when(&server, journey, |s| counts(s, "wait") == (2, 2, 0)).await;
    assert_eq!(counts(&at_wait, "start"), (2, 0, 0));
    assert_eq!(counts(&at_wait, "email"), (2, 0, 0));
    assert_eq!(counts(&at_wait, "hook"), (0, 0, 0));

    // Ana opens the email ten minutes later: she leaves by the event branch.
    let messages = server
        .store()
        .await
        .contact_messages(ana)
        .await
        .expect("query");
    assert_eq!(messages.len(), 1);
    let message = &messages[0];
    assert_eq!(
        (message.node_id.as_str(), message.channel),
        ("email", Channel::Email)
    );
    let message_id = message.id;
    server.clock().advance(10 * MINUTE);
    event(
        &server,
        json!({"contact": "ana", "event": "opened", "message_id": message_id}),
    )
    .await;
    let opened = stats_when(&server, journey, |s| counts(s, "thanks") == (1, 0, 1)).await;
    assert_eq!(counts(&opened, "wait"), (2, 1, 0));

    // Bob does not: 15 minutes after he started waiting, the timeout branch sends the webhook.
    server.clock().advance(5 * MINUTE);
    let timed_out = stats_when(&server, journey, |s| {
        counts(s, "done") == (1, 0, 1) && s["hook"].deliveries.is_some_and(|d| d.accepted == 1)
    })
    .await;
    assert_eq!(counts(&timed_out, "wait"), (2, 0, 0));
    assert_eq!(counts(&timed_out, "hook"), (1, 0, 0));
    let deliveries = timed_out["hook"]
        .deliveries
        .expect("a webhook node counts deliveries");
    assert_eq!(
        (deliveries.pending, deliveries.accepted, deliveries.failed),
        (0, 1, 0)
    );
    assert_eq!(timed_out["thanks"].deliveries, None);
    let received = receiver.received();
    assert_eq!(received.len(), 1, "only bob's timeout sent the webhook");
    assert_eq!(received[0].uri.path(), "/hook/bob");

    // Bob cannot open Ana's email: the event is refused, naming the field.
    let refused = server
        .post_json(
            "/api/v1/events",
            &json!({"contact": "bob", "event": "opened", "message_id": message_id}),
        )
        .await;
    assert_eq!(refused.status(), 422);
    let error: Value = refused.json().await.expect("an error");
    assert_eq!(
        error["error"]["message"],
        format!("message_id {message_id} was sent to another contact than \"bob\"")
    );

    // His own "opened", arriving after the timeout, moves no one (it is counted as an opening
    // of the email, which it is), and "once" keeps them out.
    let bob = server.store().await.contact("bob").await.expect("query");
    let bobs = server
        .store()
        .await
        .contact_messages(bob.expect("bob").id)
        .await
        .expect("query");
    event(
        &server,
        json!({"contact": "bob", "event": "opened", "message_id": bobs[0].id}),
    )
    .await;
    event(&server, json!({"contact": "ana", "event": "add_to_cart"})).await;
    settle().await;
    let mut expected = timed_out;
    if let Some(messages) = expected
        .get_mut("email")
        .and_then(|node| node.messages.as_mut())
    {
        messages.opened = 2;
    }
    assert_eq!(stats(&server, journey, None).await, expected);
}

async fn trigger_filters_and_reentry_rules_decide_who_enters(backend: Backend) {
    let server = TestServer::start(backend).await;
    let draft = |event: &str| {
        json!({
            "nodes": [
                {"id": "start", "kind": "trigger", "settings": {"event": event, "filter": [
                    {"field": "contact.country", "operator": "==", "value": "Canada"},
                    {"field": "event.list_id", "operator": "==", "value": "newsletter"}
                ]}},
                {"id": "pause", "kind": "delay", "settings": {"duration": {"value": 1, "unit": "hours"}}},
                {"id": "end", "kind": "exit"}
            ],
            "edges": [
                {"from": "start", "branch": "next", "to": "pause"},
                {"from": "pause", "branch": "next", "to": "end"}
            ]
        })
    };
    let once = server
        .publish_journey(Reentry::Once, draft("list.add_contact"))
        .await;
    let after_exit = server
        .publish_journey(Reentry::AfterExit, draft("list.add_contact"))
        .await;
    let always = server
        .publish_journey(Reentry::Always, draft("list.add_contact"))
        .await;
    contact(&server, "ana", json!({"country": "Canada"})).await;
    contact(&server, "jean", json!({"country": "France"})).await;
    let joined = json!({"contact": "ana", "event": "list.add_contact",
                        "properties": {"list_id": "newsletter"}});

    event(&server, joined.clone()).await;
    event(
        &server,
        json!({"contact": "ana", "event": "list.add_contact",
                          "properties": {"list_id": "other"}}),
    )
    .await;
    event(
        &server,
        json!({"contact": "jean", "event": "list.add_contact",
                          "properties": {"list_id": "newsletter"}}),
    )
    .await;
    event(&server, joined.clone()).await;

    let all_waiting = |s: &HashMap<String, NodeStatsOut>, n| counts(s, "pause").1 == n;
    stats_when(&server, always, |s| all_waiting(s, 2)).await;
    settle().await;
    assert_eq!(counts(&stats(&server, once, None).await, "pause").1, 1);
    assert_eq!(
        counts(&stats(&server, after_exit, None).await, "pause").1,
        1
    );
    assert_eq!(
        counts(&stats(&server, always, None).await, "start"),
        (1, 0, 0),
        "one contact"
    );

    server.clock().advance(61 * MINUTE);
    stats_when(&server, after_exit, |s| counts(s, "end").2 == 1).await;
    event(&server, joined).await;
    stats_when(&server, after_exit, |s| {
        all_waiting(s, 1) && counts(s, "end").2 == 1
    })
    .await;
    settle().await;
    let once_stats = stats(&server, once, None).await;
    assert_eq!(
        (counts(&once_stats, "pause").1, counts(&once_stats, "end").2),
        (0, 1)
    );
}

async fn conditions_branch_and_delays_wait(backend: Backend) {
    let server = TestServer::start(backend).await;
    let journey = server.publish_journey(
        Reentry::Once,
        json!({
            "nodes": [
                {"id": "start", "kind": "trigger", "settings": {"event": "form.submitted"}},
                {"id": "adult", "kind": "condition", "settings": {"rules": [
                    {"type": "attribute", "field": "contact.age", "operator": ">=", "value": 18}
                ]}},
                {"id": "pause", "kind": "delay", "settings": {"duration": {"value": 2, "unit": "days"}}},
                {"id": "bought", "kind": "condition", "settings": {"rules": [
                    {"type": "event_happened", "event": "purchase"}
                ]}},
                {"id": "sms", "kind": "action", "settings": {"channel": "sms", "message": "offer"}},
                {"id": "customer", "kind": "exit"},
                {"id": "minor", "kind": "exit"},
                {"id": "prospect", "kind": "exit"}
            ],
            "edges": [
                {"from": "start", "branch": "next", "to": "adult"},
                {"from": "adult", "branch": "yes", "to": "pause"},
                {"from": "adult", "branch": "no", "to": "minor"},
                {"from": "pause", "branch": "next", "to": "bought"},
                {"from": "bought", "branch": "yes", "to": "customer"},
                {"from": "bought", "branch": "no", "to": "sms"},
                {"from": "sms", "branch": "next", "to": "prospect"}
            ]
        }),
    )
    .await;
    contact(&server, "teen", json!({"age": 16})).await;
    contact(&server, "ana", json!({"age": 30})).await;
    contact(&server, "bob", json!({"age": "45"})).await;
    for who in ["teen", "ana", "bob"] {
        event(&server, json!({"contact": who, "event": "form.submitted"})).await;
    }
    let waiting = stats_when(&server, journey, |s| counts(s, "pause").1 == 2).await;
    assert_eq!(counts(&waiting, "minor"), (1, 0, 1));
    assert_eq!(counts(&waiting, "adult"), (3, 0, 0));

    server.clock().advance(DAY);
    event(&server, json!({"contact": "ana", "event": "purchase"})).await;
    settle().await;
    assert_eq!(
        counts(&stats(&server, journey, None).await, "pause").1,
        2,
        "still waiting"
    );

    server.clock().advance(DAY);
    let done = stats_when(&server, journey, |s| {
        counts(s, "customer").2 + counts(s, "prospect").2 == 2
    })
    .await;
    assert_eq!(
        counts(&done, "customer"),
        (1, 0, 1),
        "ana bought since entering"
    );
    assert_eq!(counts(&done, "sms"), (1, 0, 0));
    assert_eq!(counts(&done, "prospect"), (1, 0, 1));
}

async fn a_wait_for_a_named_event_resumes_only_before_its_timeout(backend: Backend) {
    let server = TestServer::start(backend).await;
    let journey = server
        .publish_journey(
            Reentry::Once,
            json!({
                "nodes": [
                    {"id": "start", "kind": "trigger", "settings": {"event": "signup"}},
                    {"id": "wait", "kind": "wait_for_event", "settings": {
                        "until": {"type": "event", "event": "purchase"},
                        "timeout": {"value": 1, "unit": "hours"}}},
                    {"id": "bought", "kind": "exit"},
                    {"id": "gave_up", "kind": "exit"}
                ],
                "edges": [
                    {"from": "start", "branch": "next", "to": "wait"},
                    {"from": "wait", "branch": "event", "to": "bought"},
                    {"from": "wait", "branch": "timeout", "to": "gave_up"}
                ]
            }),
        )
        .await;
    for who in ["ana", "bob", "cleo"] {
        contact(&server, who, json!({})).await;
        event(&server, json!({"contact": who, "event": "signup"})).await;
    }
    stats_when(&server, journey, |s| counts(s, "wait").1 == 3).await;
    let entered = server.clock().now_millis();

    server.clock().advance(30 * MINUTE);
    event(&server, json!({"contact": "ana", "event": "purchase"})).await;
    // Sent late, but it happened 90 minutes after the wait began: past its timeout.
    event(
        &server,
        json!({"contact": "cleo", "event": "purchase", "occurred_at": entered + 90 * MINUTE}),
    )
    .await;
    // Happened before the wait began: not what the wait is waiting for.
    event(
        &server,
        json!({"contact": "bob", "event": "purchase", "occurred_at": entered - MINUTE}),
    )
    .await;
    let after = stats_when(&server, journey, |s| counts(s, "bought").2 == 1).await;
    assert_eq!(counts(&after, "wait").1, 2);

    server.clock().advance(31 * MINUTE);
    let done = stats_when(&server, journey, |s| counts(s, "gave_up").2 == 2).await;
    assert_eq!(counts(&done, "bought"), (1, 0, 1));
}

async fn a_paused_journey_neither_enrolls_nor_moves_contacts(backend: Backend) {
    let server = TestServer::start(backend).await;
    let draft = abandoned_cart(&server).await;
    let journey = server.publish_journey(Reentry::Always, draft.clone()).await;
    contact(&server, "ana", json!({})).await;
    event(&server, json!({"contact": "ana", "event": "add_to_cart"})).await;
    stats_when(&server, journey, |s| counts(s, "wait").1 == 1).await;

    let response = server
        .post(&format!("/api/v1/journeys/{journey}/pause"))
        .await;
    assert_eq!(response.status(), 200);
    event(&server, json!({"contact": "ana", "event": "add_to_cart"})).await;
    server.clock().advance(20 * MINUTE);
    settle().await;
    let paused = stats(&server, journey, None).await;
    assert_eq!(
        counts(&paused, "start"),
        (1, 0, 0),
        "no one entered while paused"
    );
    assert_eq!(
        counts(&paused, "wait"),
        (1, 1, 0),
        "no one moved while paused"
    );

    server
        .post(&format!("/api/v1/journeys/{journey}/resume"))
        .await;
    let resumed = stats_when(&server, journey, |s| counts(s, "done").2 == 1).await;
    assert_eq!(
        counts(&resumed, "hook"),
        (1, 0, 0),
        "the overdue timeout fires on resume"
    );
}

async fn contacts_in_flight_stay_on_their_version(backend: Backend) {
    let server = TestServer::start(backend).await;
    let draft = abandoned_cart(&server).await;
    let journey = server.publish_journey(Reentry::Always, draft.clone()).await;
    contact(&server, "ana", json!({})).await;
    event(&server, json!({"contact": "ana", "event": "add_to_cart"})).await;
    stats_when(&server, journey, |s| counts(s, "wait").1 == 1).await;

    // Version 2 skips the email and the wait.
    let hook = draft.nodes[4].kind.clone();
    let version_2 = chain("add_to_cart", vec![("hook", hook)]);
    let response = server
        .patch_json(
            &format!("/api/v1/journeys/{journey}"),
            &json!({"draft": version_2}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let published: PublishOut = server
        .post(&format!("/api/v1/journeys/{journey}/publish"))
        .await
        .json()
        .await
        .expect("a version");
    assert_eq!(published.version, 2);

    contact(&server, "bob", json!({})).await;
    event(&server, json!({"contact": "bob", "event": "add_to_cart"})).await;
    let v2 = stats_when(&server, journey, |s| counts(s, "done").2 == 1).await;
    assert!(!v2.contains_key("wait"), "version 2 has no wait node");

    server.clock().advance(16 * MINUTE);
    let mut v1 = HashMap::new();
    for _ in 0..500 {
        v1 = stats(&server, journey, Some(1)).await;
        if counts(&v1, "done").2 == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(counts(&v1, "wait"), (1, 0, 0), "ana finished version 1");
    assert_eq!(counts(&v1, "done"), (1, 0, 1));
    assert_eq!(
        counts(&v1, "start"),
        (1, 0, 0),
        "bob never entered version 1"
    );
}

/// One bad row never stalls a batch: a version whose document cannot be read (written by hand,
/// or by a bug) fails its own contacts, with the reason, and every other journey goes on.
async fn a_version_that_cannot_be_read_sets_its_contacts_aside_and_the_rest_goes_on(
    backend: Backend,
) {
    let database = crate::support::TestDatabase::create(backend).await;
    let first = TestServer::start_on(database.alias()).await;
    let broken = first
        .publish_journey(
            Reentry::Once,
            chain("signup", vec![("later", delay(60)), ("hi", email("hi"))]),
        )
        .await;
    let healthy = first
        .publish_journey(
            Reentry::Always,
            chain("order", vec![("thanks", email("thanks"))]),
        )
        .await;
    contact(&first, "ana", json!({})).await;
    contact(&first, "bob", json!({})).await;
    event(&first, json!({"contact": "ana", "event": "signup"})).await;
    stats_when(&first, broken, |stats| counts(stats, "later").1 == 1).await;
    let clock = first.clock().now_millis();
    first.stop().await.expect("a clean stop");

    let mut connection = first_connection(&database).await;
    sqlx::query("UPDATE journey_versions SET document = '{\"nodes\": 7}' WHERE journey_id = $1")
        .bind(broken)
        .execute(&mut connection)
        .await
        .expect("break the version");

    // A fresh server, which has not read the version yet.
    let second = TestServer::start_on(database.alias()).await;
    second.clock().set(clock);
    event(&second, json!({"contact": "bob", "event": "order"})).await;
    event(&second, json!({"contact": "bob", "event": "signup"})).await;
    stats_when(&second, healthy, |stats| counts(stats, "done").2 == 1).await;
    second.clock().advance(61 * MINUTE);
    let mut failed: Option<(String, Option<String>)> = None;
    for _ in 0..500 {
        failed = sqlx::query_as("SELECT state, error FROM enrollments WHERE journey_id = $1")
            .bind(broken)
            .fetch_optional(&mut connection)
            .await
            .expect("ana's run");
        if failed.as_ref().is_some_and(|(state, _)| state == "failed") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (state, error) = failed.expect("ana's run");
    assert_eq!(state, "failed");
    let error = error.unwrap_or_default();
    assert!(
        error.contains(&format!(
            "journey {broken} version 1 is missing or unreadable"
        )),
        "{error}"
    );
    let activity: Value = second
        .get("/api/v1/contacts/ana/activity")
        .await
        .json()
        .await
        .expect("activity");
    assert_eq!(activity["journeys"][0]["state"], "failed");
    assert_eq!(activity["journeys"][0]["error"], error.as_str());

    // The healthy journey still runs after that batch.
    contact(&second, "cy", json!({})).await;
    event(&second, json!({"contact": "cy", "event": "order"})).await;
    stats_when(&second, healthy, |stats| counts(stats, "done").2 == 2).await;
    connection.close().await.ok();
}

async fn an_idle_engine_fires_a_timer_when_it_comes_due_not_at_its_next_poll(backend: Backend) {
    let server = TestServer::start_on_wall_clock(backend, |config| {
        config.engine_poll_ms = 60_000;
    })
    .await;
    let journey = server
        .publish_journey(Reentry::Once, chain("signup", vec![("pause", delay(1))]))
        .await;
    contact(&server, "ana", json!({})).await;
    event(&server, json!({"contact": "ana", "event": "signup"})).await;
    stats_when(&server, journey, |s| counts(s, "pause").1 == 1).await;

    // A minute is long for a test: the timer is brought forward to half a second from now,
    // and an event the journey ignores has the engine look at its timers again.
    let mut database = server.database_connection().await;
    let due_at = chrono::Utc::now().timestamp_millis() + 500;
    sqlx::query("UPDATE enrollments SET due_at = $1 WHERE state = 'waiting'")
        .bind(due_at)
        .execute(&mut database)
        .await
        .expect("the timer moved");
    event(&server, json!({"contact": "ana", "event": "page_view"})).await;

    // The poll interval is a minute: only a wake-up at the timer finishes within seconds.
    let started = std::time::Instant::now();
    stats_when(&server, journey, |s| counts(s, "done").2 == 1).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the timer fired after {:?}",
        started.elapsed()
    );
}

async fn first_connection(database: &crate::support::TestDatabase) -> sqlx::AnyConnection {
    sqlx::any::install_default_drivers();
    sqlx::AnyConnection::connect(database.url())
        .await
        .expect("connect")
}

/// A round steps the contacts it enrolls without claiming them (no second write to each new
/// row): those are not due, so no claim, this round's or another process's, steps them again.
/// Beyond the round's batch they are due at once, for the rounds after.
async fn a_round_steps_the_contacts_it_enrolls_and_leaves_the_rest_due(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let (store, mut connection) = database.migrated().await;
    let journey: JourneyId = sqlx::query_scalar(
        "INSERT INTO journeys (name, status, draft, live_version, created_at, updated_at)
         VALUES ('signup', 'live', '{}', 1, 0, 0) RETURNING id",
    )
    .fetch_one(&mut connection)
    .await
    .expect("a live journey");
    let mut new = Vec::new();
    let trigger = NodeId::new("start");
    for name in ["ana", "bo", "cy"] {
        let contact: ContactId = sqlx::query_scalar(
            "INSERT INTO contacts (external_id, created_at, updated_at) VALUES ($1, 0, 0)
             RETURNING id",
        )
        .bind(name)
        .fetch_one(&mut connection)
        .await
        .expect("a contact");
        let event_id: EventId = sqlx::query_scalar(
            "INSERT INTO events (contact_id, name, occurred_at, received_at)
             VALUES ($1, 'signup', 5, 5) RETURNING id",
        )
        .bind(contact)
        .fetch_one(&mut connection)
        .await
        .expect("an event");
        new.push(NewEnrollment {
            journey_id: journey,
            version: 1,
            contact_id: contact,
            trigger: &trigger,
            event_id,
            event_occurred_at: 5,
        });
    }

    let mut batch = store.begin_batch().await.expect("begin");
    let to_step = batch.enroll(&new, 2, 10).await.expect("enroll");
    let stepped: Vec<ContactId> = to_step.iter().map(|row| row.contact_id).collect();
    assert_eq!(stepped, [new[0].contact_id, new[1].contact_id]);
    assert!(
        to_step
            .iter()
            .all(|row| row.node_id == trigger && row.entered_at == 10)
    );
    let claimed = batch.claim_due(10, 10).await.expect("claim");
    let claimed: Vec<ContactId> = claimed.iter().map(|row| row.contact_id).collect();
    assert_eq!(
        claimed,
        [new[2].contact_id],
        "only the one beyond the batch is due"
    );
    batch.commit().await.expect("commit");
    connection.close().await.ok();
}
