//! The delivery log of a webhook node, in a drawer under the canvas: its requests filtered by
//! state, each with its contact, its attempts and a Resend button when it failed; a chart of
//! the node's requests over its life; failed or retrying requests also grouped by cause, a
//! group resent at once. Its reload ticker serves the message log too.

use std::time::Duration;

use leptos::prelude::*;

use super::EditorState;
use crate::{
    api::{
        DeliveryFilter, DeliveryOut, DeliveryStatus, NodeTimelineOut, RequestPreviewOut,
        ResendProgressOut, Scope, TimelineSliceOut, client,
    },
    ids::DeliveryId,
    journey::NodeId,
    ui::{
        access::use_access,
        pages::{ErrorNotice, LoadedList, utc_minutes, utc_seconds},
        webhooks::RequestPreview,
    },
};

/// The requests of the webhook node whose counts were clicked, of the version whose counts the
/// canvas shows (the live one, or the one picked in the header).
#[component]
pub(super) fn DeliveryLog(
    state: EditorState,
    live_version: RwSignal<Option<i64>>,
) -> impl IntoView {
    let status = state.log_status;
    let version = Memo::new(move |_| state.stats_version.get().or(live_version.get()));
    // Also bumped after a resend.
    let reload = reload_while(move || state.log_node.get_untracked().is_some());
    let deliveries = LocalResource::new(move || {
        let node = state.log_node.get();
        let status = status.get();
        let version = version.get();
        reload.track();
        async move {
            let Some(node) = node else {
                return Ok(Vec::new());
            };
            let filter = DeliveryFilter {
                journey: Some(state.journey_id),
                node: Some(node),
                version,
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
                <section class="delivery-log drawer" aria-label="Delivery log">
                    <div class="log-controls">
                        <h2>
                            "Delivery log " <span class="node-id">{node.to_string()}</span>
                            {move || version.get().map(|version| view! {
                                " " <span class="log-version">{format!("v{version}")}</span>
                            })}
                        </h2>
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
                    <Timeline state node=node.clone() version reload/>
                    {move || match status.get() {
                        Some(grouped @ (DeliveryStatus::Failed | DeliveryStatus::Pending)) => Some(view! {
                            <FailureGroups state node=node.clone() status=grouped version reload/>
                        }),
                        _ => None,
                    }}
                    <LoadedList
                        list=deliveries
                        loading="Loading deliveries…"
                        empty="No requests yet."
                        show=move |list| view! {
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
    version: Memo<Option<i64>>,
    reload: RwSignal<u32>,
) -> impl IntoView {
    let journey = state.journey_id;
    // Resending needs `deliveries:write`; a viewer sees the groups without the buttons.
    let access = use_access();
    let listed_node = node.clone();
    let followed_node = node.clone();
    let groups = LocalResource::new(move || {
        reload.track();
        let node = listed_node.clone();
        let version = version.get();
        async move { client::node_failures(journey, &node, status, version).await }
    });
    // `None`: every failed request of the node; `Some(cause)`: that group's.
    let resend = Action::new_local(move |cause: &Option<String>| {
        let (node, cause) = (node.clone(), cause.clone());
        let version = version.get_untracked();
        async move {
            match cause {
                Some(cause) => client::resend_cause(journey, &node, &cause, version).await,
                None => client::resend_failed_of_node(journey, &node, version).await,
            }
        }
    });
    Effect::new(move |_| {
        if resend.version().get() > 0 {
            reload.update(|n| *n += 1);
        }
    });
    // The last resend's requests as they land, read again with the log.
    let progress = LocalResource::new(move || {
        reload.track();
        let resent = resend.value().get();
        let node = followed_node.clone();
        async move {
            match resent {
                Some(Ok(resent)) if resent.resent > 0 => {
                    client::resend_progress(journey, &node, resent.resent_at)
                        .await
                        .ok()
                }
                _ => None,
            }
        }
    });
    // Which example's request is shown, and it: kept above the groups, which are drawn again
    // at every reload, so an opened request stays open.
    let shown_request = RwSignal::new(None::<DeliveryId>);
    let example_request = LocalResource::new(move || {
        let shown = shown_request.get();
        async move {
            match shown {
                Some(delivery) => client::delivery_request(delivery).await.map(Some),
                None => Ok(None),
            }
        }
    });
    let progress_text = move |resent: u64| {
        progress
            .get()
            .flatten()
            .map(|now| progress_line(resent, &now))
    };
    view! {
        <section class="failure-groups" aria-label="Failures by cause">
            <h3>"By cause"</h3>
            {move || resend.value().get().map(|resent| match resent {
                Ok(resent) => view! {
                    <p class="notice resend-progress" role="status">
                        {format!("{} request(s) queued again", resent.resent)}
                        {move || progress_text(resent.resent)}
                    </p>
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
                                        <ExampleRequest
                                            delivery=group.example.delivery_id
                                            shown=shown_request
                                            request=example_request
                                        />
                                        {(status == DeliveryStatus::Failed).then(|| view! {
                                            <button
                                                type="button"
                                                class="secondary"
                                                aria-label=format!("Resend these: {label}")
                                                hidden=move || !access.can(Scope::DeliveriesWrite)
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
                                hidden=move || !access.can(Scope::DeliveriesWrite)
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

/// A failure group's example request, read when asked for: `shown` names the example whose
/// request `request` holds. It carries the contact's data and the webhook's settings, so it
/// is offered to those who may resend, read contacts and read webhooks.
#[component]
fn ExampleRequest(
    delivery: DeliveryId,
    shown: RwSignal<Option<DeliveryId>>,
    request: LocalResource<Result<Option<RequestPreviewOut>, client::ClientError>>,
) -> impl IntoView {
    let access = use_access();
    let is_shown = move || shown.get() == Some(delivery);
    view! {
        <button
            type="button"
            class="secondary"
            hidden=move || {
                ![Scope::DeliveriesWrite, Scope::ContactsRead, Scope::WebhooksRead]
                    .into_iter()
                    .all(|scope| access.can(scope))
            }
            on:click=move |_| {
                shown.update(|shown| *shown = (*shown != Some(delivery)).then_some(delivery));
            }
        >
            {move || if is_shown() { "Hide request" } else { "Request" }}
        </button>
        {move || {
            if !is_shown() {
                return None;
            }
            request.get().and_then(|loaded| match loaded {
                Ok(None) => None,
                Ok(Some(request)) => Some(view! { <RequestPreview request/> }.into_any()),
                Err(error) => Some(view! { <ErrorNotice error/> }.into_any()),
            })
        }}
    }
}

#[component]
fn DeliveryItem(
    delivery: DeliveryOut,
    resend: Action<DeliveryId, Result<(), client::ClientError>>,
) -> impl IntoView {
    let id = delivery.id;
    let access = use_access();
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
    let contact_title = format!("contact {}", delivery.contact);
    view! {
        <li class=format!("delivery status-{}", delivery.status)>
            <div class="delivery-line">
                <span class="when">{utc_seconds(delivery.created_at)}</span>
                <span class=format!("pill {}", delivery.status)>{delivery.status.as_str()}</span>
                <span class="who" title=contact_title>
                    <span class="contact">{delivery.contact.clone()}</span>
                    {delivery.contact_name.map(|name| view! { <span class="contact-name">{name}</span> })}
                    {delivery.contact_email.map(|email| view! { <span class="contact-email">{email}</span> })}
                </span>
                <span class="detail">{format!("{} attempt(s), {outcome}", delivery.attempts)}</span>
                <span class="delivery-actions">
                    <button type="button" class="secondary" on:click=move |_| open.update(|open| *open = !*open)>
                        {move || if open.get() { "Hide attempts" } else { "Attempts" }}
                    </button>
                    {failed.then(|| view! {
                        <button
                            type="button"
                            hidden=move || !access.can(Scope::DeliveriesWrite)
                            on:click=move |_| { resend.dispatch(id); }
                        >
                            "Resend"
                        </button>
                    })}
                </span>
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
                                            utc_seconds(attempt.attempted_at),
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

/// The node's requests over its life, by when each was queued: accepted (green) and pending
/// (amber) up, failed (red) down, one bar per slice of a round width from the first request
/// to now; each bar says its figures on hover.
#[component]
fn Timeline(
    state: EditorState,
    node: NodeId,
    version: Memo<Option<i64>>,
    reload: RwSignal<u32>,
) -> impl IntoView {
    let journey = state.journey_id;
    let timeline = LocalResource::new(move || {
        reload.track();
        let node = node.clone();
        let version = version.get();
        async move { client::node_timeline(journey, &node, version).await }
    });
    move || {
        timeline.get().map(|loaded| match loaded {
            Ok(timeline) if timeline.slices.is_empty() => None,
            Ok(timeline) => Some(view! { <Chart timeline/> }.into_any()),
            Err(error) => Some(view! { <ErrorNotice error/> }.into_any()),
        })
    }
}

/// Bars the chart has room for (the server sends at most 48 slices).
const CHART_SLOTS: usize = 48;

/// Width of a bar and the gap after it, in the chart's units.
const BAR: f64 = 8.0;
const BAR_GAP: f64 = 2.0;

#[component]
fn Chart(timeline: NodeTimelineOut) -> impl IntoView {
    let NodeTimelineOut { slice_ms, slices } = timeline;
    let highest = slices
        .iter()
        .map(|slice| (slice.accepted + slice.pending).max(slice.failed))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    // Room for the most slices the server sends, the newest at the right edge ("now"): a
    // young node's few bars stay bars instead of stretching across the drawer.
    let slots = slices.len().max(CHART_SLOTS);
    let width = slots as f64 * (BAR + BAR_GAP);
    let first_x = (slots - slices.len()) as f64 * (BAR + BAR_GAP);
    let bars = slices
        .iter()
        .enumerate()
        .map(|(index, slice)| {
            let x = first_x + index as f64 * (BAR + BAR_GAP);
            let accepted = slice.accepted as f64 / highest * 36.0;
            let pending = slice.pending as f64 / highest * 36.0;
            let failed = slice.failed as f64 / highest * 20.0;
            view! {
                <g class="slice">
                    <title>{slice_title(slice, slice_ms)}</title>
                    <rect class="bar-accepted" x=x y=40.0 - accepted width=BAR height=accepted></rect>
                    <rect class="bar-pending" x=x y=40.0 - accepted - pending width=BAR height=pending></rect>
                    <rect class="bar-failed" x=x y="42" width=BAR height=failed></rect>
                    // The whole slice answers the pointer, not only its bars.
                    <rect class="bar-hit" x=x y="0" width=BAR + BAR_GAP height="64"></rect>
                </g>
            }
        })
        .collect_view();
    let total = |count: fn(&TimelineSliceOut) -> i64| slices.iter().map(count).sum::<i64>();
    let (accepted, failed, pending) = (
        total(|slice| slice.accepted),
        total(|slice| slice.failed),
        total(|slice| slice.pending),
    );
    let first = slices.first().map_or(0, |slice| slice.start);
    view! {
        <figure class="chart">
            <svg
                viewBox=format!("0 0 {width} 64")
                preserveAspectRatio="none"
                role="img"
                aria-label=format!("{accepted} accepted, {pending} pending and {failed} failed since {}", utc_minutes(first))
            >
                <line x1="0" y1="41" x2=width y2="41" class="axis"></line>
                {bars}
            </svg>
            <div class="chart-axis">
                {format!("from {} to now · one bar: {}", utc_minutes(first), span_text(slice_ms))}
            </div>
            <figcaption>
                {format!("✓ {accepted} accepted · ◷ {pending} pending · ✗ {failed} failed")}
            </figcaption>
        </figure>
    }
}

fn slice_title(slice: &TimelineSliceOut, slice_ms: i64) -> String {
    let when = if slice_ms < 60_000 {
        utc_seconds(slice.start)
    } else {
        utc_minutes(slice.start)
    };
    format!(
        "{when} (+{}): {} accepted, {} pending, {} failed",
        span_text(slice_ms),
        slice.accepted,
        slice.pending,
        slice.failed
    )
}

/// A slice's width as a reader says it: `10 s`, `5 min`, `1 h`, `2 weeks`.
fn span_text(millis: i64) -> String {
    const UNITS: [(i64, &str, &str); 5] = [
        (7 * 86_400_000, "week", "weeks"),
        (86_400_000, "day", "days"),
        (3_600_000, "h", "h"),
        (60_000, "min", "min"),
        (1_000, "s", "s"),
    ];
    UNITS
        .iter()
        .find(|(unit, ..)| millis >= *unit && millis % unit == 0)
        .map_or_else(
            || format!("{millis} ms"),
            |(unit, one, many)| {
                let count = millis / unit;
                format!("{count} {}", if count == 1 { one } else { many })
            },
        )
}

/// How far a resend of `resent` requests has come: answered for good so far, then each state.
fn progress_line(resent: u64, now: &ResendProgressOut) -> String {
    format!(
        ": {} of {resent} done · {} accepted · {} pending · {} failed",
        now.accepted + now.failed,
        now.accepted,
        now.pending,
        now.failed
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resend_counts_what_is_done_of_what_was_queued() {
        let now = ResendProgressOut {
            resent_at: 0,
            accepted: 2,
            pending: 3,
            failed: 1,
        };
        assert_eq!(
            progress_line(6, &now),
            ": 3 of 6 done · 2 accepted · 3 pending · 1 failed"
        );
    }

    #[test]
    fn slice_widths_read_in_their_largest_whole_unit() {
        assert_eq!(span_text(1_000), "1 s");
        assert_eq!(span_text(15_000), "15 s");
        assert_eq!(span_text(120_000), "2 min");
        assert_eq!(span_text(3_600_000), "1 h");
        assert_eq!(span_text(86_400_000), "1 day");
        assert_eq!(span_text(14 * 86_400_000), "2 weeks");
        assert_eq!(span_text(1_500), "1500 ms");
    }
}
