//! The delivery log of a webhook node: its requests filtered by state, each with its attempts
//! and a Resend button when it failed, and a small chart of accepted and failed over time;
//! failed or retrying requests also grouped by cause, a group resent at once. Its reload
//! ticker serves the message log too.

use std::time::Duration;

use leptos::prelude::*;

use super::EditorState;
use crate::{
    api::{DeliveryFilter, DeliveryOut, DeliveryStatus, client},
    ids::DeliveryId,
    journey::NodeId,
    ui::pages::{ErrorNotice, LoadedList, utc_minutes},
};

/// Buckets of the chart.
const BARS: usize = 12;

#[component]
pub(super) fn DeliveryLog(state: EditorState) -> impl IntoView {
    let status = state.log_status;
    // Also bumped after a resend.
    let reload = reload_while(move || state.log_node.get_untracked().is_some());
    let deliveries = LocalResource::new(move || {
        let node = state.log_node.get();
        let status = status.get();
        reload.track();
        async move {
            let Some(node) = node else {
                return Ok(Vec::new());
            };
            let filter = DeliveryFilter {
                journey: Some(state.journey_id),
                node: Some(node),
                status,
                limit: Some(200),
                ..DeliveryFilter::default()
            };
            client::deliveries(&filter).await
        }
    });
    let resend = Action::new_local(move |id: &DeliveryId| {
        let id = *id;
        async move { client::resend_delivery(id).await }
    });
    Effect::new(move |_| {
        if resend.version().get() > 0 {
            reload.update(|n| *n += 1);
        }
    });

    move || {
        state.log_node.get().map(|node| {
            view! {
                <section class="delivery-log" aria-label="Delivery log">
                    <h2>"Delivery log " <span class="node-id">{node.to_string()}</span></h2>
                    <div class="log-controls">
                        <label>
                            "Show "
                            <select
                                name="delivery-status"
                                on:change=move |event| status.set(event_target_value(&event).parse().ok())
                            >
                                <option value="" selected=move || status.get().is_none()>"all"</option>
                                {[
                                    (DeliveryStatus::Accepted, "accepted"),
                                    (DeliveryStatus::Pending, "pending"),
                                    (DeliveryStatus::Held, "held (webhook disabled)"),
                                    (DeliveryStatus::Failed, "failed"),
                                ]
                                    .into_iter()
                                    .map(|(shown, label)| view! {
                                        <option
                                            value=shown.as_str()
                                            selected=move || status.get() == Some(shown)
                                        >
                                            {label}
                                        </option>
                                    })
                                    .collect_view()}
                            </select>
                        </label>
                        <button type="button" class="secondary" on:click=move |_| state.log_node.set(None)>
                            "Close"
                        </button>
                    </div>
                    {move || resend.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error/> })}
                    {move || match status.get() {
                        Some(grouped @ (DeliveryStatus::Failed | DeliveryStatus::Pending)) => Some(view! {
                            <FailureGroups state node=node.clone() status=grouped reload/>
                        }),
                        _ => None,
                    }}
                    <LoadedList
                        list=deliveries
                        loading="Loading deliveries…"
                        empty="No requests yet."
                        show=move |list| view! {
                            <Chart deliveries=list.clone()/>
                            <ul class="deliveries">
                                {list
                                    .into_iter()
                                    .map(|delivery| view! { <DeliveryItem delivery resend/> })
                                    .collect_view()}
                            </ul>
                        }
                    />
                </section>
            }
            .into_any()
        })
    }
}

/// How often an open log reads its rows again.
const RELOAD_EVERY: Duration = Duration::from_secs(3);

/// A counter bumped every few seconds while `open` says the log is shown: a log's resource
/// tracks it to read its rows again (the delivery and message logs).
pub(super) fn reload_while(open: impl Fn() -> bool + 'static) -> RwSignal<u32> {
    let reload = RwSignal::new(0_u32);
    if let Ok(handle) = set_interval_with_handle(
        move || {
            if open() {
                reload.update(|n| *n += 1);
            }
        },
        RELOAD_EVERY,
    ) {
        on_cleanup(move || handle.clear());
    }
    reload
}

/// The node's failed (or retrying) requests grouped by cause, each failed group with a
/// "Resend these" button that resends only its requests.
#[component]
fn FailureGroups(
    state: EditorState,
    node: NodeId,
    status: DeliveryStatus,
    reload: RwSignal<u32>,
) -> impl IntoView {
    let journey = state.journey_id;
    let listed_node = node.clone();
    let groups = LocalResource::new(move || {
        reload.track();
        let node = listed_node.clone();
        async move { client::node_failures(journey, &node, status).await }
    });
    // `None`: every failed request of the node; `Some(cause)`: that group's.
    let resend = Action::new_local(move |cause: &Option<String>| {
        let (node, cause) = (node.clone(), cause.clone());
        async move {
            match cause {
                Some(cause) => client::resend_cause(journey, &node, &cause).await,
                None => client::resend_failed_of_node(journey, &node).await,
            }
        }
    });
    Effect::new(move |_| {
        if resend.version().get() > 0 {
            reload.update(|n| *n += 1);
        }
    });
    view! {
        <section class="failure-groups" aria-label="Failures by cause">
            <h3>"By cause"</h3>
            {move || resend.value().get().map(|resent| match resent {
                Ok(resent) => view! {
                    <p class="notice" role="status">{format!("{} request(s) queued again", resent.resent)}</p>
                }.into_any(),
                Err(error) => view! { <ErrorNotice error/> }.into_any(),
            })}
            <Transition fallback=|| view! { <p class="loading">"Grouping failures…"</p> }>
                {move || groups.get().map(|loaded| match loaded {
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    Ok(found) if found.groups.is_empty() => {
                        view! { <p class="empty-state">"None."</p> }.into_any()
                    }
                    Ok(found) => view! {
                        <ul class="causes">
                            {found.groups.into_iter().map(|group| {
                                let cause = group.cause.clone();
                                let label = group.label.clone();
                                let example = match (&group.example.answer, &group.example.error) {
                                    (Some(answer), _) => answer.clone(),
                                    (None, Some(error)) => error.clone(),
                                    (None, None) => String::new(),
                                };
                                view! {
                                    <li class="cause">
                                        <span class="cause-count">{group.count}</span>
                                        " "
                                        <span class="cause-label">{group.label}</span>
                                        <span class="cause-times">
                                            {format!(" · {} – {}", utc_minutes(group.first_at), utc_minutes(group.last_at))}
                                        </span>
                                        <div class="cause-example">
                                            {format!("e.g. {}: {example}", group.example.contact)}
                                        </div>
                                        {(status == DeliveryStatus::Failed).then(|| view! {
                                            <button
                                                type="button"
                                                class="secondary"
                                                aria-label=format!("Resend these: {label}")
                                                disabled=move || resend.pending().get()
                                                on:click=move |_| {
                                                    resend.dispatch(Some(cause.clone()));
                                                }
                                            >
                                                "Resend these"
                                            </button>
                                        })}
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                        {(status == DeliveryStatus::Failed).then(|| view! {
                            <button
                                type="button"
                                disabled=move || resend.pending().get()
                                on:click=move |_| {
                                    resend.dispatch(None);
                                }
                            >
                                "Resend all failed"
                            </button>
                        })}
                        {found.truncated.then(|| view! {
                            <p class="field-hint">
                                {format!("Grouped from the latest {} requests.", found.scanned)}
                            </p>
                        })}
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn DeliveryItem(
    delivery: DeliveryOut,
    resend: Action<DeliveryId, Result<(), client::ClientError>>,
) -> impl IntoView {
    let id = delivery.id;
    let open = RwSignal::new(false);
    let attempts = LocalResource::new(move || {
        let open = open.get();
        async move {
            if open {
                client::delivery(id).await.map(Some)
            } else {
                Ok(None)
            }
        }
    });
    let outcome = match (&delivery.last_status_code, &delivery.last_error) {
        (Some(code), _) => format!("last answer {code}"),
        (None, Some(error)) => error.clone(),
        (None, None) => "not sent yet".to_owned(),
    };
    let failed = delivery.status == DeliveryStatus::Failed;
    view! {
        <li class=format!("delivery status-{}", delivery.status)>
            <div class="delivery-line">
                <span class=format!("pill {}", delivery.status)>{delivery.status.as_str()}</span>
                <span class="contact">{delivery.contact.clone()}</span>
                <span class="when">{utc_minutes(delivery.created_at)}</span>
            </div>
            <div class="delivery-line detail">
                {format!("{} attempt(s), {outcome}", delivery.attempts)}
            </div>
            <div class="delivery-actions">
                <button type="button" class="secondary" on:click=move |_| open.update(|open| *open = !*open)>
                    {move || if open.get() { "Hide attempts" } else { "Attempts" }}
                </button>
                {failed.then(|| view! {
                    <button type="button" on:click=move |_| { resend.dispatch(id); }>"Resend"</button>
                })}
            </div>
            {move || {
                attempts.get().and_then(|loaded| match loaded {
                    Ok(Some(detail)) => Some(view! {
                        <ol class="attempts">
                            {detail.attempts_log.into_iter().map(|attempt| {
                                let answer = attempt
                                    .status_code
                                    .map(|code| code.to_string())
                                    .or(attempt.error.clone())
                                    .unwrap_or_default();
                                view! {
                                    <li>
                                        {format!(
                                            "{} · {} · {} ms · {}",
                                            utc_minutes(attempt.attempted_at),
                                            attempt.outcome,
                                            attempt.latency_ms,
                                            answer,
                                        )}
                                        {attempt.response_body.map(|body| view! { <pre>{body}</pre> })}
                                    </li>
                                }
                            }).collect_view()}
                        </ol>
                    }.into_any()),
                    Ok(None) => None,
                    Err(error) => Some(view! { <ErrorNotice error/> }.into_any()),
                })
            }}
        </li>
    }
}

/// Accepted (up) and failed (down) requests by when they were created, in equal time slices.
#[component]
fn Chart(deliveries: Vec<DeliveryOut>) -> impl IntoView {
    let (first, last) = deliveries
        .iter()
        .fold((i64::MAX, i64::MIN), |(low, high), delivery| {
            (low.min(delivery.created_at), high.max(delivery.created_at))
        });
    let span = (last - first).max(1) + 1;
    let mut accepted = [0_u32; BARS];
    let mut failed = [0_u32; BARS];
    for delivery in &deliveries {
        let slot = usize::try_from((delivery.created_at - first) * BARS as i64 / span)
            .unwrap_or(0)
            .min(BARS - 1);
        match delivery.status {
            DeliveryStatus::Accepted => accepted[slot] += 1,
            DeliveryStatus::Failed => failed[slot] += 1,
            DeliveryStatus::Pending | DeliveryStatus::Held | DeliveryStatus::Cancelled => {}
        }
    }
    let highest = accepted
        .iter()
        .chain(&failed)
        .copied()
        .max()
        .unwrap_or(0)
        .max(1);
    let bars = (0..BARS)
        .map(|slot| {
            let x = slot as f64 * 20.0 + 2.0;
            let up = f64::from(accepted[slot]) / f64::from(highest) * 36.0;
            let down = f64::from(failed[slot]) / f64::from(highest) * 20.0;
            view! {
                <rect class="bar-accepted" x=x y=40.0 - up width="16" height=up></rect>
                <rect class="bar-failed" x=x y="42" width="16" height=down></rect>
            }
        })
        .collect_view();
    let total_accepted: u32 = accepted.iter().sum();
    let total_failed: u32 = failed.iter().sum();
    view! {
        <figure class="chart">
            <svg viewBox="0 0 240 64" role="img"
                aria-label=format!("{total_accepted} accepted and {total_failed} failed over time")>
                {bars}
                <line x1="0" y1="41" x2="240" y2="41" class="axis"></line>
            </svg>
            <figcaption>{format!("✓ {total_accepted} accepted · ✗ {total_failed} failed")}</figcaption>
        </figure>
    }
}
