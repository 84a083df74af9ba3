//! The message log of the selected action node: the messages it queued, newest first, each with
//! its state, why it failed, was skipped or is held, its attempts, the provider's id for it and
//! what the contact did with it. Read again every few seconds, like the delivery log.

use leptos::prelude::*;

use super::{EditorState, Selection, log::reload_while};
use crate::{
    api::{MessageAttemptOut, MessageFilter, MessageOut, MessageStatus, client},
    journey::{NodeId, NodeKindTag},
    ui::pages::{LoadedList, utc_seconds},
};

/// Rows read at a time: the newest.
const LIMIT: i64 = 100;

#[component]
pub(super) fn MessageLog(state: EditorState) -> impl IntoView {
    // The selected node while it is an action node; editing it elsewhere changes nothing here.
    let node = Memo::new(move |_| {
        let Selection::Node(id) = state.selection.get() else {
            return None;
        };
        let action = state.editor.with(|editor| {
            editor
                .journey()
                .node(&id)
                .is_some_and(|node| node.kind.tag() == NodeKindTag::Action)
        });
        action.then_some(id)
    });
    let reload = reload_while(move || node.get_untracked().is_some());
    let messages = LocalResource::new(move || {
        let node = node.get();
        reload.track();
        async move {
            let Some(node) = node else {
                return Ok(Vec::new());
            };
            let filter = MessageFilter {
                journey: Some(state.journey_id),
                node: Some(node),
                limit: Some(LIMIT),
                ..MessageFilter::default()
            };
            client::messages(&filter).await
        }
    });
    move || {
        node.get()
            .map(|node| view! { <MessageSection node messages/> })
    }
}

#[component]
fn MessageSection(
    node: NodeId,
    messages: LocalResource<Result<Vec<MessageOut>, client::ClientError>>,
) -> impl IntoView {
    view! {
        <section class="message-log" aria-label="Message log">
            <h2>"Message log " <span class="node-id">{node.to_string()}</span></h2>
            <LoadedList
                list=messages
                loading="Loading messages…"
                empty="No messages yet."
                show=|list| view! {
                    <ul class="message-list">
                        {list.into_iter().map(|message| view! { <MessageItem message/> }).collect_view()}
                    </ul>
                }
            />
        </section>
    }
}

#[component]
fn MessageItem(message: MessageOut) -> impl IntoView {
    let detail = message_detail(&message);
    let MessageOut {
        status,
        contact,
        reason,
        created_at,
        activities,
        attempt_log,
        ..
    } = message;
    view! {
        <li class=format!("message-row status-{status}")>
            <div class="message-line">
                <span class=format!("pill {status}")>{status.as_str()}</span>
                <span class="contact">{contact}</span>
                <span class="when">{utc_seconds(created_at)}</span>
            </div>
            {reason.map(|reason| view! { <div class="message-line reason">{reason}</div> })}
            <div class="message-line detail">{detail}</div>
            {(!activities.is_empty()).then(|| view! {
                <ul class="activities" aria-label="Activities">
                    {activities
                        .into_iter()
                        .map(|activity| view! {
                            <li class=format!("activity {activity}")>{activity.as_str()}</li>
                        })
                        .collect_view()}
                </ul>
            })}
            {(!attempt_log.is_empty()).then(|| view! {
                <details class="attempt-log">
                    <summary>"Attempts"</summary>
                    <ol>
                        {attempt_log
                            .iter()
                            .map(|attempt| view! {
                                <li class=format!("attempt {}", attempt.outcome)>{attempt_line(attempt)}</li>
                            })
                            .collect_view()}
                    </ol>
                </details>
            })}
        </li>
    }
}

/// "2026-11-23 16:35:07 · retry · HTTP 503: busy".
fn attempt_line(attempt: &MessageAttemptOut) -> String {
    let mut line = format!(
        "{} · {}",
        utc_seconds(attempt.attempted_at),
        attempt.outcome
    );
    if let Some(detail) = &attempt.detail {
        line.push_str(" · ");
        line.push_str(detail);
    }
    line
}

/// Attempts, the provider's id, when a queued message is tried next, and when a message was
/// sent if that was later than it was queued (held by quiet hours, or retried).
fn message_detail(message: &MessageOut) -> String {
    let mut parts = vec![format!("{} attempt(s)", message.attempts)];
    if let Some(provider_ref) = &message.provider_ref {
        parts.push(format!("provider id {provider_ref}"));
    }
    if message.status == MessageStatus::Queued
        && let Some(next) = message.next_attempt_at
    {
        parts.push(format!("next attempt {}", utc_seconds(next)));
    }
    if let Some(sent) = message
        .sent_at
        .filter(|sent| sent.div_euclid(1_000) > message.created_at.div_euclid(1_000))
    {
        parts.push(format!("sent {}", utc_seconds(sent)));
    }
    parts.join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        ids::{JourneyId, MessageId},
        journey::{Activity, Channel},
    };

    fn message(status: MessageStatus) -> MessageOut {
        MessageOut {
            id: MessageId(1),
            journey_id: JourneyId(2),
            version: 1,
            node_id: NodeId::new("text"),
            channel: Channel::Sms,
            template_id: None,
            contact: "ana".to_owned(),
            status,
            reason: None,
            attempts: 1,
            next_attempt_at: None,
            provider_ref: None,
            created_at: 1_795_451_707_000,
            sent_at: None,
            activities: vec![Activity::Delivered],
            attempt_log: Vec::new(),
        }
    }

    #[test]
    fn an_attempt_reads_as_its_time_outcome_and_answer() {
        let attempt = MessageAttemptOut {
            attempted_at: 1_795_451_707_000,
            outcome: crate::api::MessageAttemptOutcome::Retry,
            detail: Some("HTTP 503: busy".to_owned()),
        };
        assert_eq!(
            attempt_line(&attempt),
            "2026-11-23 16:35:07 · retry · HTTP 503: busy"
        );
    }

    #[test]
    fn a_sent_message_names_its_provider_id_and_a_later_send() {
        let mut sent = message(MessageStatus::Sent);
        sent.provider_ref = Some("SM1".to_owned());
        // Sent within the second it was queued: its time is the row's.
        sent.sent_at = Some(sent.created_at + 400);
        assert_eq!(message_detail(&sent), "1 attempt(s) · provider id SM1");
        sent.sent_at = Some(sent.created_at + 3_600_000);
        assert_eq!(
            message_detail(&sent),
            "1 attempt(s) · provider id SM1 · sent 2026-11-23 17:35:07"
        );
    }

    #[test]
    fn a_queued_message_says_when_it_is_tried_next() {
        let mut queued = message(MessageStatus::Queued);
        queued.next_attempt_at = Some(queued.created_at + 60_000);
        assert_eq!(
            message_detail(&queued),
            "1 attempt(s) · next attempt 2026-11-23 16:36:07"
        );
        // Only a queued message is tried again.
        let mut failed = queued;
        failed.status = MessageStatus::Failed;
        assert_eq!(message_detail(&failed), "1 attempt(s)");
    }
}
