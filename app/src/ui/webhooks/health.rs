//! A webhook's health line: its state in words, its last 24 hours as small bars (accepted up,
//! failed down) and the requests it holds or has pending.

use leptos::prelude::*;

use super::super::pages::{utc_minutes, utc_seconds};
use crate::api::{HourCountOut, WebhookHealthOut, WebhookOut};

/// Width of an hour's bar and the gap after it, in the line's units.
const BAR: f64 = 4.0;
const BAR_GAP: f64 = 1.0;
/// Height of the accepted bars above the axis and of the failed ones below it.
const UP: f64 = 16.0;
const DOWN: f64 = 8.0;

/// The webhook's state: enabled (failing, paused by its receiver), or disabled since when and
/// why.
pub(crate) fn state_text(webhook: &WebhookOut) -> String {
    if webhook.enabled {
        let mut text = match webhook.failing_since {
            Some(since) => format!(
                "enabled, every request failing since {} UTC",
                utc_minutes(since)
            ),
            None => "enabled".to_owned(),
        };
        if let Some(until) = webhook.paused_until {
            text.push_str(&format!(
                "; paused until {} UTC: the receiver said it is overloaded (429, 503 or no \
                 answer in time)",
                utc_seconds(until)
            ));
        }
        return text;
    }
    let reason = webhook
        .disabled_reason
        .as_deref()
        .unwrap_or("by an operator");
    // The operator's reason reads "disabled by an operator": said once here.
    let reason = reason.strip_prefix("disabled ").unwrap_or(reason);
    match webhook.disabled_at {
        Some(at) => format!("disabled since {} UTC: {reason}", utc_minutes(at)),
        None => format!("disabled: {reason}"),
    }
}

#[component]
pub(super) fn HealthLine(line: WebhookHealthOut, hour_ms: i64, since: i64) -> impl IntoView {
    let total = |count: fn(&HourCountOut) -> i64| line.hours.iter().map(count).sum::<i64>();
    let (accepted, failed) = (total(|hour| hour.accepted), total(|hour| hour.failed));
    let highest = line
        .hours
        .iter()
        .map(|hour| hour.accepted.max(hour.failed))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let width = line.hours.len() as f64 * (BAR + BAR_GAP);
    let bars = line
        .hours
        .iter()
        .enumerate()
        .map(|(index, hour)| {
            let x = index as f64 * (BAR + BAR_GAP);
            // A single request still shows as a sliver.
            let scaled = |count: i64, room: f64| {
                if count == 0 {
                    0.0
                } else {
                    (count as f64 / highest * room).max(1.5)
                }
            };
            let up = scaled(hour.accepted, UP);
            let down = scaled(hour.failed, DOWN);
            let start = since + index as i64 * hour_ms;
            view! {
                <g class="slice">
                    <title>{format!(
                        "{} UTC: {} accepted, {} failed",
                        utc_minutes(start),
                        hour.accepted,
                        hour.failed
                    )}</title>
                    <rect class="bar-accepted" x=x y=UP - up width=BAR height=up></rect>
                    <rect class="bar-failed" x=x y=UP + 1.0 width=BAR height=down></rect>
                </g>
            }
        })
        .collect_view();
    let unsent = [(line.held, "held"), (line.pending, "pending")]
        .into_iter()
        .filter(|(count, _)| *count > 0)
        .map(|(count, what)| format!("{count} {what}"))
        .collect::<Vec<_>>()
        .join(" · ");
    let alert_trouble = alert_trouble_text(&line);
    view! {
        <div class="health-line">
            <svg
                class="sparkline"
                viewBox=format!("0 0 {width} {}", UP + 1.0 + DOWN)
                preserveAspectRatio="none"
                role="img"
                aria-label=format!("last 24 hours: {accepted} accepted, {failed} failed")
            >
                <line x1="0" y1=UP + 0.5 x2=width y2=UP + 0.5 class="axis"></line>
                {bars}
            </svg>
            <span class="health-figures" data-field="day">
                {format!("24 h: ✓ {accepted} · ✗ {failed}")}
            </span>
            {(!unsent.is_empty()).then(|| view! {
                <span class="health-figures unsent" data-field="unsent">{unsent}</span>
            })}
            {alert_trouble.map(|text| view! {
                <span class="health-figures alert-trouble" data-field="alert-emails" role="status">{text}</span>
            })}
        </div>
    }
}

/// Alert emails about the webhook the SMTP server did not take, if any: how many are tried
/// again, how many were given up, and what the server said.
fn alert_trouble_text(line: &WebhookHealthOut) -> Option<String> {
    let counts = [
        (line.alert_emails_waiting, "not sent yet, tried again"),
        (line.alert_emails_failed, "not sent"),
    ]
    .into_iter()
    .filter(|(count, _)| *count > 0)
    .map(|(count, what)| format!("{count} {what}"))
    .collect::<Vec<_>>();
    if counts.is_empty() {
        return None;
    }
    let mut text = format!("alert emails: {}", counts.join(", "));
    if let Some(error) = &line.alert_email_error {
        text.push_str(&format!(" ({error})"));
    }
    Some(text)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::{alert_trouble_text, state_text};
    use crate::{
        api::{AuthOut, BodyFormat, HttpMethod, WebhookHealthOut, WebhookOut},
        ids::WebhookId,
    };

    #[test]
    fn alert_emails_the_smtp_server_did_not_take_are_told() {
        let line = WebhookHealthOut {
            id: WebhookId(1),
            hours: Vec::new(),
            held: 0,
            pending: 0,
            alert_emails_waiting: 0,
            alert_emails_failed: 0,
            alert_email_error: None,
        };
        assert_eq!(alert_trouble_text(&line), None);
        let trouble = WebhookHealthOut {
            alert_emails_waiting: 2,
            alert_emails_failed: 1,
            alert_email_error: Some("451 try later".to_owned()),
            ..line
        };
        assert_eq!(
            alert_trouble_text(&trouble).as_deref(),
            Some("alert emails: 2 not sent yet, tried again, 1 not sent (451 try later)")
        );
    }

    pub(crate) fn webhook() -> WebhookOut {
        WebhookOut {
            id: WebhookId(1),
            name: "CRM".to_owned(),
            url: "https://crm.example/hook".to_owned(),
            method: HttpMethod::Post,
            body_format: BodyFormat::Json,
            contact_fields: Vec::new(),
            custom_data: Vec::new(),
            headers: Vec::new(),
            auth: AuthOut::None,
            retry_window_hours: 12,
            disable_after_failing_hours: 24,
            max_requests_per_second: 0,
            alert_emails: Vec::new(),
            alerts_enabled: true,
            alert_every_minutes: 60,
            alert_digest: crate::api::AlertDigest::Immediate,
            batch: None,
            enabled: true,
            disabled_reason: None,
            failing_since: None,
            disabled_at: None,
            paused_until: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn the_state_says_failing_paused_or_disabled() {
        assert_eq!(state_text(&webhook()), "enabled");
        let paused = WebhookOut {
            failing_since: Some(1_795_451_700_000),
            paused_until: Some(1_795_451_707_000),
            ..webhook()
        };
        assert_eq!(
            state_text(&paused),
            "enabled, every request failing since 2026-11-23 16:35 UTC; paused until \
             2026-11-23 16:35:07 UTC: the receiver said it is overloaded (429, 503 or no answer \
             in time)"
        );
        let disabled = WebhookOut {
            enabled: false,
            disabled_reason: Some("the receiver answered 410 Gone".to_owned()),
            disabled_at: Some(1_795_451_700_000),
            ..webhook()
        };
        assert_eq!(
            state_text(&disabled),
            "disabled since 2026-11-23 16:35 UTC: the receiver answered 410 Gone"
        );
    }
}
