//! What a batch of engine steps writes: node visits, messages, deliveries and each
//! enrollment's new state, recorded in the batch's transaction with a few multi-row statements.

use app::ids::DeliveryId;

use super::{
    Batch,
    deliveries::{BornClaimed, NewDelivery},
    enrollments::Settled,
    messages::NewMessage,
    stats::Visit,
};
use crate::clock::Millis;

/// What a batch of steps did, gathered so each table gets one statement per chunk of rows.
#[derive(Debug, Default)]
pub struct StepRecords<'a> {
    pub visits: Vec<Visit<'a>>,
    pub messages: Vec<NewMessage<'a>>,
    pub deliveries: Vec<NewDelivery<'a>>,
    /// Where each enrollment of the batch is left.
    pub settled: Vec<Settled<'a>>,
}

impl Batch {
    /// Records what a batch of steps did and where each left its enrollment; the deliveries
    /// queued are claimed by `claim` when given. Returns the deliveries' ids.
    pub async fn record_steps(
        &mut self,
        steps: &StepRecords<'_>,
        now: Millis,
        claim: Option<BornClaimed>,
    ) -> sqlx::Result<Vec<DeliveryId>> {
        self.insert_visits(&steps.visits, now).await?;
        self.insert_messages(&steps.messages, now).await?;
        let deliveries = self
            .insert_deliveries(&steps.deliveries, now, claim)
            .await?;
        self.settle(&steps.settled, now).await?;
        Ok(deliveries)
    }
}
