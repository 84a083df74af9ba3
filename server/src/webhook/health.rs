//! A webhook's health line: its last 24 hours of requests, hour by hour, and what it has not
//! sent yet.

use std::collections::BTreeMap;

use app::{
    api::{HourCountOut, WebhookHealthOut, WebhooksHealthOut},
    ids::WebhookId,
};

use crate::{
    clock::Millis,
    store::{HOUR_MS, WebhookHealthRows, hour_of},
};

/// Hours a health line shows, the current one included.
pub const HOURS: i64 = 24;

/// The start of the oldest hour shown at `now`.
pub fn since(now: Millis) -> Millis {
    hour_of(now) - (HOURS - 1) * HOUR_MS
}

/// Each webhook with its [`HOURS`] hours (empty ones too) from [`since`]`(now)`.
pub fn health(rows: &WebhookHealthRows, now: Millis, alert_emails_sent: bool) -> WebhooksHealthOut {
    let since = since(now);
    let WebhookHealthRows {
        webhooks,
        hours,
        unsent,
        alert_trouble,
    } = rows;
    let mut lines: BTreeMap<WebhookId, WebhookHealthOut> = webhooks
        .iter()
        .map(|&id| {
            let unsent = unsent.get(&id).copied().unwrap_or_default();
            let trouble = alert_trouble.get(&id).cloned().unwrap_or_default();
            let line = WebhookHealthOut {
                id,
                hours: vec![HourCountOut::default(); HOURS as usize],
                held: unsent.held,
                pending: unsent.pending,
                alert_emails_waiting: trouble.waiting,
                alert_emails_failed: trouble.failed,
                alert_email_error: trouble.last_error,
            };
            (id, line)
        })
        .collect();
    for hour in hours {
        let index = (hour.hour - since).div_euclid(HOUR_MS);
        let (Some(line), Ok(index)) = (lines.get_mut(&hour.webhook_id), usize::try_from(index))
        else {
            continue;
        };
        if let Some(slot) = line.hours.get_mut(index) {
            slot.accepted += hour.accepted;
            slot.failed += hour.failed;
        }
    }
    WebhooksHealthOut {
        hour_ms: HOUR_MS,
        since,
        webhooks: lines.into_values().collect(),
        alert_emails_sent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Unsent, WebhookHour};

    fn hour(webhook: i64, hour: Millis, accepted: i64, failed: i64) -> WebhookHour {
        WebhookHour {
            webhook_id: WebhookId(webhook),
            hour,
            accepted,
            failed,
        }
    }

    #[test]
    fn each_webhook_gets_24_hours_ending_with_the_current_one() {
        let now = 100 * HOUR_MS + 1_234;
        let since = since(now);
        assert_eq!(since, 77 * HOUR_MS);
        let hours = vec![
            hour(1, 100 * HOUR_MS, 5, 1),
            hour(1, 77 * HOUR_MS, 2, 0),
            // Before the window, of a webhook gone, and from a clock ahead: left out.
            hour(1, 76 * HOUR_MS, 9, 9),
            hour(3, 90 * HOUR_MS, 9, 9),
            hour(1, 101 * HOUR_MS, 9, 9),
        ];
        let unsent = BTreeMap::from([(
            WebhookId(2),
            Unsent {
                held: 4,
                pending: 1,
            },
        )]);
        let rows = WebhookHealthRows {
            webhooks: vec![WebhookId(1), WebhookId(2)],
            hours,
            unsent,
            alert_trouble: BTreeMap::new(),
        };
        let out = health(&rows, now, true);
        assert_eq!(out.since, since);
        assert_eq!(out.hour_ms, HOUR_MS);
        let [first, second] = &out.webhooks[..] else {
            panic!("two webhooks: {out:?}");
        };
        assert_eq!(first.id, WebhookId(1));
        assert_eq!(first.hours.len(), 24);
        assert_eq!(
            first.hours[0],
            HourCountOut {
                accepted: 2,
                failed: 0
            }
        );
        assert_eq!(
            first.hours[23],
            HourCountOut {
                accepted: 5,
                failed: 1
            }
        );
        assert_eq!(
            first
                .hours
                .iter()
                .map(|h| h.accepted + h.failed)
                .sum::<i64>(),
            8
        );
        assert_eq!((first.held, first.pending), (0, 0));
        assert_eq!(second.id, WebhookId(2));
        assert_eq!((second.held, second.pending), (4, 1));
        assert!(second.hours.iter().all(|h| *h == HourCountOut::default()));
    }
}
