//! From a stored webhook and what a request is about to the request itself: the one path both
//! the delivery worker and the webhook page's Preview and Test buttons take.

use std::time::Duration;

use app::{
    api::WebhookTestIn,
    ids::{JourneyId, WebhookId},
    journey::KeyValue,
    template::Template,
};
use serde_json::{Map, Value};

use super::{
    render::{self, OutgoingRequest, Payload, RenderError},
    sign::{self, BadSecret},
};
use crate::{
    clock::Millis,
    store::{ContactRow, DueDelivery, WebhookRow, json_object},
    webhook::{CorruptWebhook, Settings, authority_is_fixed},
};

/// A webhook as requests to it are built: its settings parsed once, with the secrets that
/// sign now.
#[derive(Debug, Clone)]
pub struct Target {
    pub id: WebhookId,
    pub settings: Settings,
    secrets: Vec<String>,
    pub retry_window: Duration,
    /// Since when every request has failed, as the batch found the webhook.
    pub failing_since: Option<Millis>,
    /// Whether placeholders stay out of the URL's scheme and host. Saving refuses such a URL;
    /// this catches webhooks saved before that rule, once per webhook rather than per request.
    fixed_authority: bool,
}

impl Target {
    pub fn of(row: &WebhookRow, now: Millis) -> Result<Self, CorruptWebhook> {
        let settings = Settings::from_row(row)?;
        // A URL that does not parse as a template is reported by the render.
        let fixed_authority =
            Template::parse(&settings.url).map_or(true, |template| authority_is_fixed(&template));
        Ok(Self {
            id: row.id,
            secrets: row
                .signing_secrets(now)
                .into_iter()
                .map(str::to_owned)
                .collect(),
            retry_window: Duration::from_secs(u64::from(settings.retry_window_hours) * 3_600),
            failing_since: row.failing_since,
            settings,
            fixed_authority,
        })
    }

    /// The request about `subject`, not signed yet (for a webhook that batches, a batch of
    /// it alone).
    pub fn request(&self, subject: &Subject) -> Result<OutgoingRequest, RenderError> {
        self.check_authority()?;
        render::render(&self.settings, &subject.payload())
    }

    /// What `subject` brings to what the delivery worker sends: its request, or for a webhook
    /// that batches, its part of a batch ([`render::render_part`]).
    pub fn part(&self, subject: &Subject) -> Result<OutgoingRequest, RenderError> {
        self.check_authority()?;
        match self.settings.batch {
            None => render::render(&self.settings, &subject.payload()),
            Some(_) => render::render_part(&self.settings, &subject.payload()),
        }
    }

    fn check_authority(&self) -> Result<(), RenderError> {
        if self.fixed_authority {
            Ok(())
        } else {
            Err(RenderError::Url(
                "placeholders in the scheme or host could send contact data elsewhere".to_owned(),
            ))
        }
    }

    /// Signs the request as of `now`; call it right before sending.
    pub fn sign(&self, request: &mut OutgoingRequest, now: Millis) -> Result<(), BadSecret> {
        let secrets: Vec<&str> = self.secrets.iter().map(String::as_str).collect();
        sign::sign(request, &secrets, now.div_euclid(1_000))
    }
}

/// What a request is about: the contact, the event that started its run, the journey.
#[derive(Debug, Clone, Default)]
pub struct Subject {
    /// `webhook-id`, stable across a delivery's attempts.
    pub message_id: String,
    pub contact_external_id: String,
    pub contact: Map<String, Value>,
    pub event_name: String,
    /// RFC 3339.
    pub event_time: String,
    pub event: Map<String, Value>,
    pub journey_id: Option<JourneyId>,
    pub journey_name: Option<String>,
    pub node_custom_data: Vec<KeyValue>,
}

impl Subject {
    /// What a queued delivery is about.
    pub fn of_delivery(delivery: &DueDelivery) -> Self {
        Self {
            message_id: format!("msg_{}_{}", delivery.created_at, delivery.id),
            contact_external_id: delivery.contact_external_id.clone(),
            contact: json_object(&delivery.contact_attributes),
            event_name: delivery.event_name.clone().unwrap_or_default(),
            event_time: rfc3339(delivery.event_occurred_at.unwrap_or_default()),
            event: delivery
                .event_properties
                .as_deref()
                .map(json_object)
                .unwrap_or_default(),
            journey_id: Some(delivery.journey_id),
            journey_name: delivery.journey_name.clone(),
            node_custom_data: serde_json::from_str(&delivery.custom_data).unwrap_or_default(),
        }
    }

    /// A test request's subject: the chosen contact, or sample values for the webhook's
    /// contact fields.
    pub fn sample(
        settings: &Settings,
        contact: Option<ContactRow>,
        input: WebhookTestIn,
        now: Millis,
    ) -> Self {
        let (contact_external_id, contact) = match contact {
            Some(contact) => (contact.external_id, json_object(&contact.attributes)),
            None => {
                let sample = settings
                    .contact_fields
                    .iter()
                    .map(|field| (field.clone(), Value::String(format!("sample {field}"))))
                    .collect();
                ("sample-contact".to_owned(), sample)
            }
        };
        Self {
            message_id: format!("msg_test_{now}"),
            contact_external_id,
            contact,
            event_name: input.event.unwrap_or_else(|| "sample.event".to_owned()),
            event_time: rfc3339(now),
            event: input.properties,
            ..Self::default()
        }
    }

    fn payload(&self) -> Payload<'_> {
        Payload {
            message_id: &self.message_id,
            contact_external_id: &self.contact_external_id,
            contact: &self.contact,
            event_name: &self.event_name,
            event_time: &self.event_time,
            event: &self.event,
            journey_id: self.journey_id,
            journey_name: self.journey_name.as_deref(),
            node_custom_data: &self.node_custom_data,
        }
    }
}

pub(crate) fn rfc3339(at: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(at)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
