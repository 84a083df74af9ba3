//! Messages action nodes sent: activity events (`opened`, `clicked`, …) name them by id, and
//! a wait for an activity finds its message through them.

use std::collections::HashMap;

use app::{
    ids::MessageId,
    journey::{Channel, NodeId},
};
use sqlx::FromRow;

use super::{
    Batch, EnrollmentRow,
    sql::{IN_LIST_CHUNK, Param, Params, insert_rows},
};
use crate::clock::Millis;

/// A message an action node sends in a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage<'a> {
    pub enrollment: &'a EnrollmentRow,
    pub node: &'a NodeId,
    pub channel: Channel,
    pub template: &'a str,
}

/// A message as stored.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct MessageRow {
    pub id: MessageId,
    pub node_id: NodeId,
    pub channel: Channel,
}

impl Batch {
    pub(super) async fn insert_messages(
        &mut self,
        messages: &[NewMessage<'_>],
        now: Millis,
    ) -> sqlx::Result<()> {
        let rows = messages.iter().map(|message| {
            [
                message.enrollment.id.into(),
                message.enrollment.journey_id.into(),
                Param::Int(message.enrollment.version),
                Param::Text(message.node.as_str()),
                message.enrollment.contact_id.into(),
                Param::Text(message.channel.as_str()),
                Param::Text(message.template),
                Param::Int(now),
            ]
        });
        insert_rows(
            &mut self.transaction,
            self.backend,
            "messages (enrollment_id, journey_id, version, node_id, contact_id, channel, template,
                       created_at)",
            rows,
        )
        .await
    }
}

impl super::Store {
    /// The external id of the contact each of these messages was sent to; unknown messages
    /// are absent.
    pub async fn message_recipients(
        &self,
        message_ids: &[MessageId],
    ) -> sqlx::Result<HashMap<MessageId, String>> {
        let mut found = HashMap::with_capacity(message_ids.len());
        for chunk in message_ids.chunks(IN_LIST_CHUNK) {
            let sql = format!(
                "SELECT m.id, c.external_id FROM messages m JOIN contacts c ON c.id = m.contact_id
                 WHERE m.id IN ({})",
                Params::new(self.backend).list(chunk.len())
            );
            let mut query = sqlx::query_as::<_, (MessageId, String)>(&sql);
            for id in chunk {
                query = query.bind(*id);
            }
            found.extend(query.fetch_all(&self.pool).await?);
        }
        Ok(found)
    }
}

#[cfg(any(test, feature = "test-support"))]
impl super::Store {
    /// The messages sent to a contact, oldest first.
    pub async fn contact_messages(
        &self,
        contact_id: app::ids::ContactId,
    ) -> sqlx::Result<Vec<MessageRow>> {
        sqlx::query_as(
            "SELECT id, node_id, channel FROM messages WHERE contact_id = $1 ORDER BY id",
        )
        .bind(contact_id)
        .fetch_all(&self.pool)
        .await
    }
}
