//! A deployment split by role on one PostgreSQL database — a web process and two workers, the
//! real binaries — loses one worker to SIGKILL while webhooks go out: the other takes over the
//! requests the dead one had claimed once their leases lapse, without a restart, and every
//! contact's webhook arrives (twice only with the same `webhook-id`, for a request in flight at
//! the kill).

use std::{collections::BTreeMap, time::Duration};

use serde_json::json;

use crate::support::{Answer, Backend, Receiver, TestDatabase, WayfarerProcess, free_port};

const CONTACTS: usize = 200;

#[tokio::test]
async fn a_killed_worker_leaves_its_requests_to_the_other() {
    let database = TestDatabase::create(Backend::Postgres).await;
    let receiver = Receiver::start().await;
    // Slow enough that requests are in flight when the worker dies.
    receiver.always(Answer::Hang(Duration::from_millis(300)));
    let web = WayfarerProcess::start(&database, free_port(), &["--role", "web"]).await;
    let mut doomed = WayfarerProcess::start(&database, free_port(), &["--role", "worker"]).await;
    web.publish_signup_to(&receiver.url("/hook")).await;
    let ids: Vec<String> = (0..CONTACTS).map(|n| format!("c{n}")).collect();
    web.contacts_with_events(&ids, |id| json!({"contact": id, "event": "signup"}))
        .await;

    for _ in 0..1_000 {
        if receiver.received().len() >= CONTACTS / 10 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The second worker joins while the first is sending: the first holds the work.
    let _survivor = WayfarerProcess::start(&database, free_port(), &["--role", "worker"]).await;
    doomed.kill();
    let unsent: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM deliveries WHERE status <> 'accepted'")
            .fetch_one(&mut database.migrated().await.1)
            .await
            .expect("the deliveries");
    assert!(unsent > 0, "the first worker had finished before the kill");

    // Its leases lapse within seconds; the survivor claims and sends what it held.
    let mut arrived = BTreeMap::new();
    for _ in 0..600 {
        arrived = receiver.webhook_ids_by_contact();
        if arrived.len() == CONTACTS {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let missing: Vec<&String> = ids.iter().filter(|id| !arrived.contains_key(*id)).collect();
    assert!(missing.is_empty(), "never arrived: {missing:?}");
    for (contact, webhook_ids) in &arrived {
        assert_eq!(
            webhook_ids.len(),
            1,
            "{contact}'s requests carry one webhook-id: {webhook_ids:?}"
        );
    }
}
