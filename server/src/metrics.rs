//! What the server measures, for Prometheus: `GET /api/v1/metrics` (scope `metrics:read`) and,
//! with `--metrics-listen`, `GET /metrics` on an address of its own.
//!
//! Two kinds. Counters and histograms this process keeps as its work happens (events stored,
//! steps, requests and their latency, messages, alert emails): per process, so Prometheus adds
//! the processes of a deployment up. Gauges read from the database at each scrape (queue
//! depths, contacts in progress, each webhook's held and pending requests): the same whichever
//! process answers, so dashboards take their `max` across processes, never their sum.

use std::{sync::Arc, time::Duration};

use app::{api::AttemptOutcome, journey::Channel};
use prometheus_client::{
    encoding::{EncodeLabelSet, text},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

use crate::{
    clock::Millis,
    store::{AttemptRecord, Backlog, MessageOutcome},
};

/// The content type of the OpenMetrics text format, which Prometheus reads.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Every name starts with this.
const PREFIX: &str = "wayfarer";

/// Seconds, from a millisecond to a minute: webhook requests (a timeout is 30 s by default),
/// engine rounds, the wait from queued to answered.
const SECONDS_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0,
];

/// A message's outcomes as the `outcome` label names them.
const MESSAGE_OUTCOMES: [&str; 5] = ["sent", "retry", "failed", "skipped", "deferred"];

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WebhookLabels {
    webhook: i64,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AttemptLabels {
    webhook: i64,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MessageLabels {
    channel: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabels {
    queue: &'static str,
}

/// The queues whose claims are timed, as the `queue` label names them.
pub const CLAIMED_QUEUES: [&str; 2] = ["deliveries", "messages"];

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UnsentLabels {
    webhook: i64,
    state: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn seconds_histogram() -> Histogram {
    Histogram::new(SECONDS_BUCKETS)
}

/// This process's counters and histograms. Shared by the workers that count (cheap atomic
/// increments: a labelled family takes a read lock to find its series).
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    events_stored: Counter,
    engine_steps: Counter,
    engine_rounds: Histogram,
    webhook_requests: Family<AttemptLabels, Counter>,
    webhook_request_seconds: HistogramFamily<WebhookLabels>,
    delivery_first_answer_seconds: Histogram,
    claim_seconds: HistogramFamily<QueueLabels>,
    messages: Family<MessageLabels, Counter>,
    alert_emails: Family<OutcomeLabels, Counter>,
}

pub type SharedMetrics = Arc<Metrics>;

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix(PREFIX);
        let events_stored = Counter::default();
        registry.register(
            "events_stored",
            "Events this process stored (HTTP single and batch)",
            events_stored.clone(),
        );
        let engine_steps = Counter::default();
        registry.register(
            "engine_steps",
            "Steps of this process's engine: a contact moved on through a journey, as far as its \
             next wait or its exit",
            engine_steps.clone(),
        );
        let engine_rounds = seconds_histogram();
        registry.register(
            "engine_round_seconds",
            "How long each engine round took, its commit included",
            engine_rounds.clone(),
        );
        let webhook_requests = Family::default();
        registry.register(
            "webhook_requests",
            "Webhook requests this process sent, by webhook and outcome (accepted; retry: \
             another attempt is scheduled; failed: for good)",
            webhook_requests.clone(),
        );
        let webhook_request_seconds = HistogramFamily::new_with_constructor(seconds_histogram);
        registry.register(
            "webhook_request_seconds",
            "How long each webhook's receiver took to answer (or to time out)",
            webhook_request_seconds.clone(),
        );
        let delivery_first_answer_seconds = seconds_histogram();
        registry.register(
            "delivery_first_answer_seconds",
            "From the journey step that queued a webhook request to its first attempt's answer",
            delivery_first_answer_seconds.clone(),
        );
        let claim_seconds = HistogramFamily::new_with_constructor(seconds_histogram);
        registry.register(
            "claim_seconds",
            "How long claiming a round of due work took (the database's answer to the claim), by \
             queue: a slow or contended database shows here first",
            claim_seconds.clone(),
        );
        let messages = Family::default();
        registry.register(
            "messages",
            "Messages this process handled, by channel and outcome",
            messages.clone(),
        );
        let alert_emails = Family::default();
        registry.register(
            "alert_emails",
            "Webhook alert emails: sent, or refused by the SMTP server",
            alert_emails.clone(),
        );
        // Every series known in advance starts at 0: Prometheus's `increase` misses the first
        // count of a series that appears already at 1, and a dashboard shows 0 rather than
        // nothing.
        for channel in Channel::ALL {
            for outcome in MESSAGE_OUTCOMES {
                messages.get_or_create_owned(&MessageLabels {
                    channel: channel.as_str(),
                    outcome,
                });
            }
        }
        for outcome in ["sent", "refused"] {
            alert_emails.get_or_create_owned(&OutcomeLabels { outcome });
        }
        for queue in CLAIMED_QUEUES {
            claim_seconds.get_or_create_owned(&QueueLabels { queue });
        }
        Self {
            registry,
            events_stored,
            engine_steps,
            engine_rounds,
            webhook_requests,
            webhook_request_seconds,
            delivery_first_answer_seconds,
            claim_seconds,
            messages,
            alert_emails,
        }
    }
}

impl Metrics {
    pub fn events_stored(&self, count: usize) {
        self.events_stored.inc_by(count as u64);
    }

    /// An engine round that committed.
    pub fn engine_round(&self, steps: usize, took: Duration) {
        self.engine_steps.inc_by(steps as u64);
        self.engine_rounds.observe(took.as_secs_f64());
    }

    /// A recorded attempt; `queued_at` is when its delivery was queued, for a first attempt.
    /// A request sent (or one that could not be): a batch counts once, as one request.
    pub fn webhook_request(&self, record: &AttemptRecord) {
        let webhook = record.webhook_id.0;
        self.webhook_requests
            .get_or_create(&AttemptLabels {
                webhook,
                outcome: record.outcome.as_str(),
            })
            .inc();
        if record.status_code.is_some() || record.outcome != AttemptOutcome::Failed {
            // Sent and answered or timed out; an unsendable request took no time to measure.
            self.webhook_request_seconds
                .get_or_create(&WebhookLabels { webhook })
                .observe(seconds(record.latency_ms));
        }
    }

    /// A delivery's first answer, `queued_at` being when the step that queued it committed.
    pub fn delivery_first_answer(&self, record: &AttemptRecord, queued_at: Millis) {
        self.delivery_first_answer_seconds
            .observe(seconds(record.attempted_at.saturating_sub(queued_at)));
    }

    /// A claim of due work from `queue` (one of [`CLAIMED_QUEUES`]) that took `took`.
    pub fn claim(&self, queue: &'static str, took: Duration) {
        self.claim_seconds
            .get_or_create(&QueueLabels { queue })
            .observe(took.as_secs_f64());
    }

    pub fn message(&self, channel: Channel, outcome: &MessageOutcome) {
        self.messages
            .get_or_create(&MessageLabels {
                channel: channel.as_str(),
                outcome: message_outcome(outcome),
            })
            .inc();
    }

    pub fn alert_email(&self, sent: bool) {
        let outcome = if sent { "sent" } else { "refused" };
        self.alert_emails
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// The text a scrape answers: this process's figures, then the backlog read from the
    /// database (`None` when it did not answer: `wayfarer_backlog_read` says so).
    pub fn render(&self, backlog: Option<&Backlog>) -> String {
        let mut out = String::new();
        let gauges = backlog_registry(backlog);
        // Writing to a String cannot fail.
        let _ = text::encode_registry(&mut out, &self.registry);
        let _ = text::encode_registry(&mut out, &gauges);
        let _ = text::encode_eof(&mut out);
        out
    }
}

/// The scrape's gauges, in a registry of their own made afresh: a webhook deleted since the
/// last scrape leaves no stale series behind.
fn backlog_registry(backlog: Option<&Backlog>) -> Registry {
    let mut registry = Registry::with_prefix(PREFIX);
    let read = Gauge::<i64>::default();
    registry.register(
        "backlog_read",
        "1 when this scrape read the backlog from the database, 0 when the database did not \
         answer (the backlog gauges are left out)",
        read.clone(),
    );
    let Some(backlog) = backlog else {
        return registry;
    };
    read.set(1);
    let gauge = |registry: &mut Registry, name: &str, help: &str, value: i64| {
        let gauge = Gauge::<i64>::default();
        gauge.set(value);
        registry.register(name, help, gauge);
    };
    gauge(
        &mut registry,
        "events_unmatched",
        "Events stored but not matched to journeys yet",
        backlog.events_unmatched,
    );
    gauge(
        &mut registry,
        "deliveries_due",
        "Webhook requests due now that no worker has taken yet",
        backlog.deliveries_due,
    );
    gauge(
        &mut registry,
        "messages_due",
        "Messages due now that no worker has taken yet",
        backlog.messages_due,
    );
    let enrollments = Family::<StateLabels, Gauge>::default();
    for (state, count) in [
        ("active", backlog.enrollments_active),
        ("waiting", backlog.enrollments_waiting),
    ] {
        enrollments.get_or_create(&StateLabels { state }).set(count);
    }
    registry.register(
        "enrollments",
        "Contacts in a journey: active (being stepped or due to be), waiting (in a delay or a \
         wait)",
        enrollments,
    );
    let unsent = Family::<UnsentLabels, Gauge>::default();
    for (webhook, counts) in &backlog.unsent {
        let webhook = webhook.0;
        for (state, count) in [("held", counts.held), ("pending", counts.pending)] {
            unsent
                .get_or_create(&UnsentLabels { webhook, state })
                .set(count);
        }
    }
    registry.register(
        "webhook_unsent",
        "Each webhook's requests not sent yet: held (the webhook is disabled) and pending (due, \
         being sent, or waiting for a retry)",
        unsent,
    );
    registry
}

/// The `outcome` label of a message's outcome: one of [`MESSAGE_OUTCOMES`].
fn message_outcome(outcome: &MessageOutcome) -> &'static str {
    match outcome {
        MessageOutcome::Sent { .. } => "sent",
        MessageOutcome::Retry { .. } => "retry",
        MessageOutcome::Failed { .. } => "failed",
        MessageOutcome::Skipped { .. } => "skipped",
        MessageOutcome::Deferred { .. } => "deferred",
    }
}

fn seconds(millis: Millis) -> f64 {
    millis.max(0) as f64 / 1_000.0
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use app::{api::DeliveryStatus, ids::WebhookId};

    use super::*;
    use crate::store::Unsent;

    fn attempt(webhook: i64, outcome: AttemptOutcome, latency_ms: i64) -> AttemptRecord {
        AttemptRecord {
            delivery_id: app::ids::DeliveryId(1),
            webhook_id: WebhookId(webhook),
            attempted_at: 10_000,
            latency_ms,
            status_code: Some(200),
            error: None,
            response_body: None,
            missing_placeholders: None,
            outcome,
            status: DeliveryStatus::Accepted,
            next_attempt_at: None,
            window_started_at: 0,
        }
    }

    fn line<'a>(text: &'a str, series: &str) -> &'a str {
        text.lines()
            .find(|line| line.starts_with(series))
            .unwrap_or_else(|| panic!("no {series} in\n{text}"))
    }

    #[test]
    fn counters_carry_their_labels_and_the_scrape_ends_once() {
        let metrics = Metrics::default();
        metrics.events_stored(3);
        metrics.engine_round(5, Duration::from_millis(4));
        let accepted = attempt(7, AttemptOutcome::Accepted, 20);
        metrics.webhook_request(&accepted);
        metrics.delivery_first_answer(&accepted, 9_000);
        metrics.webhook_request(&attempt(7, AttemptOutcome::Retry, 30));
        metrics.message(Channel::Email, &MessageOutcome::Sent { provider_ref: None });
        metrics.alert_email(false);
        let text = metrics.render(None);
        assert_eq!(
            line(&text, "wayfarer_events_stored_total "),
            "wayfarer_events_stored_total 3"
        );
        assert_eq!(
            line(&text, "wayfarer_engine_steps_total "),
            "wayfarer_engine_steps_total 5"
        );
        assert_eq!(
            line(
                &text,
                "wayfarer_webhook_requests_total{webhook=\"7\",outcome=\"accepted\"}"
            ),
            "wayfarer_webhook_requests_total{webhook=\"7\",outcome=\"accepted\"} 1"
        );
        assert!(
            text.contains("wayfarer_webhook_requests_total{webhook=\"7\",outcome=\"retry\"} 1")
        );
        assert!(text.contains("wayfarer_webhook_request_seconds_count{webhook=\"7\"} 2"));
        // Queued at 9 s, answered at 10 s: in the 1 s bucket, not in the 0.5 s one.
        assert!(text.contains("wayfarer_delivery_first_answer_seconds_bucket{le=\"1.0\"} 1"));
        assert!(text.contains("wayfarer_delivery_first_answer_seconds_bucket{le=\"0.5\"} 0"));
        assert!(text.contains("wayfarer_messages_total{channel=\"email\",outcome=\"sent\"} 1"));
        assert!(text.contains("wayfarer_alert_emails_total{outcome=\"refused\"} 1"));
        assert!(text.contains("wayfarer_backlog_read 0"));
        assert!(!text.contains("wayfarer_deliveries_due"));
        assert_eq!(text.matches("# EOF").count(), 1);
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn every_message_and_alert_series_is_there_at_zero_before_its_first_count() {
        let text = Metrics::default().render(None);
        let outcomes = [
            MessageOutcome::Sent { provider_ref: None },
            MessageOutcome::Retry {
                at: 0,
                error: String::new(),
            },
            MessageOutcome::Failed {
                reason: String::new(),
            },
            MessageOutcome::Skipped {
                reason: String::new(),
            },
            MessageOutcome::Deferred {
                until: 0,
                reason: String::new(),
            },
        ];
        for channel in Channel::ALL {
            for outcome in &outcomes {
                let series = format!(
                    "wayfarer_messages_total{{channel=\"{channel}\",outcome=\"{}\"}} 0",
                    message_outcome(outcome)
                );
                assert!(text.contains(&series), "{series} missing from\n{text}");
            }
        }
        assert!(text.contains("wayfarer_alert_emails_total{outcome=\"sent\"} 0"));
        assert!(text.contains("wayfarer_alert_emails_total{outcome=\"refused\"} 0"));
    }

    #[test]
    fn the_backlog_becomes_gauges_with_one_series_per_webhook_and_state() {
        let backlog = Backlog {
            events_unmatched: 2,
            enrollments_active: 1,
            enrollments_waiting: 40,
            deliveries_due: 6,
            messages_due: 0,
            unsent: BTreeMap::from([(
                WebhookId(3),
                Unsent {
                    held: 5,
                    pending: 0,
                },
            )]),
        };
        let text = Metrics::default().render(Some(&backlog));
        assert!(text.contains("wayfarer_backlog_read 1"));
        assert!(text.contains("wayfarer_events_unmatched 2"));
        assert!(text.contains("wayfarer_deliveries_due 6"));
        assert!(text.contains("wayfarer_enrollments{state=\"waiting\"} 40"));
        assert!(text.contains("wayfarer_webhook_unsent{webhook=\"3\",state=\"held\"} 5"));
        assert!(text.contains("wayfarer_webhook_unsent{webhook=\"3\",state=\"pending\"} 0"));
    }
}
