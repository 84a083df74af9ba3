//! Which published journeys send to a webhook, and from which nodes: what a deletion must
//! not break and what an alert names.

use app::{
    ids::{JourneyId, WebhookId},
    journey::{Journey, NodeId},
};

use crate::store::{PublishedJourney, Store};

/// A published journey whose live version sends to the webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUser {
    pub journey_id: JourneyId,
    pub journey_name: String,
    /// Its webhook nodes that send to the webhook.
    pub nodes: Vec<NodeId>,
}

impl WebhookUser {
    /// `"Welcome" (3)`, as messages name a journey.
    pub fn quoted(&self) -> String {
        format!("\"{}\" ({})", self.journey_name, self.journey_id)
    }
}

/// The published journeys (live or paused) that send to `webhook`, by id.
pub async fn users(store: &Store, webhook: WebhookId) -> sqlx::Result<Vec<WebhookUser>> {
    Ok(users_among(&store.published_journeys().await?, webhook))
}

/// [`users`] among these journeys; a version that cannot be read is logged and left out.
pub fn users_among(published: &[PublishedJourney], webhook: WebhookId) -> Vec<WebhookUser> {
    published
        .iter()
        .filter_map(|published| {
            let journey = match serde_json::from_str::<Journey>(&published.document) {
                Ok(journey) => journey,
                Err(error) => {
                    tracing::error!(journey = %published.id, %error, "a published version cannot be read");
                    return None;
                }
            };
            let nodes: Vec<NodeId> = journey
                .webhook_nodes()
                .filter(|(_, sends_to)| *sends_to == webhook)
                .map(|(node, _)| node.id.clone())
                .collect();
            (!nodes.is_empty()).then(|| WebhookUser {
                journey_id: published.id,
                journey_name: published.name.clone(),
                nodes,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn published(id: i64, name: &str, webhook: i64) -> PublishedJourney {
        let document = serde_json::json!({
            "nodes": [
                {"id": "start", "position": {"x": 0, "y": 0}, "kind": "trigger",
                 "settings": {"event": "signup"}},
                {"id": "hook", "position": {"x": 0, "y": 160}, "kind": "webhook",
                 "settings": {"webhook": webhook}},
                {"id": "done", "position": {"x": 0, "y": 320}, "kind": "exit"}
            ],
            "edges": [
                {"from": "start", "branch": "next", "to": "hook"},
                {"from": "hook", "branch": "next", "to": "done"}
            ]
        });
        PublishedJourney {
            id: JourneyId(id),
            name: name.to_owned(),
            document: document.to_string(),
        }
    }

    #[test]
    fn only_the_journeys_sending_to_the_webhook_are_named_with_their_nodes() {
        let mut unreadable = published(3, "Broken", 1);
        unreadable.document = "{".to_owned();
        let journeys = [
            published(1, "Welcome", 1),
            published(2, "Other", 2),
            unreadable,
        ];
        let users = users_among(&journeys, WebhookId(1));
        assert_eq!(
            users,
            vec![WebhookUser {
                journey_id: JourneyId(1),
                journey_name: "Welcome".to_owned(),
                nodes: vec![NodeId::new("hook")],
            }]
        );
        assert_eq!(users[0].quoted(), "\"Welcome\" (1)");
    }
}
