//! The browser's typed client for the REST API: the UI talks to the server through the same
//! API customers use. On the server (SSR) the calls are never made; local resources wait for
//! the browser.

use serde::{Serialize, de::DeserializeOwned};

use super::{
    ApiKeyCreatedOut, ApiKeyIn, ApiKeyOut, AuditEntryOut, AuditQuery, ChannelIn, ChannelOut,
    ContactActivityOut, ContactOut, DeliveryDetailOut, DeliveryFilter, DeliveryOut, DeliveryStatus,
    JourneyIn, JourneyOut, JourneyPatch, JourneyStatsOut, JourneySummaryOut, MessageFilter,
    MessageOut, NodeFailuresOut, NodeTimelineOut, OperatorCreatedOut, OperatorIn, OperatorOut,
    OperatorPatch, PasswordChangeIn, ProviderPreset, PublishOut, RequestPreviewOut, ResendCauseIn,
    ResendProgressOut, ResentOut, RotateSecretIn, SessionOut, SignInIn, SigningSecretOut,
    TemplateIn, TemplateOut, TemplatePreviewIn, TemplatePreviewOut, WebhookDraftIn, WebhookIn,
    WebhookOut, WebhookPatch, WebhookTestIn, WebhookTestOut, WebhooksHealthOut,
};
use crate::{
    ids::{DeliveryId, JourneyId, TemplateId, WebhookId},
    journey::{Channel, NodeId, ValidationError},
};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The API refused the request: its status, its error `code`, the message that says what
    /// to fix and, for a journey that cannot be published, every problem with its node.
    #[error("{message}")]
    Api {
        status: u16,
        code: String,
        message: String,
        validation_errors: Vec<ValidationError>,
    },
    #[error("the server could not be reached ({0}); check your connection and try again")]
    Network(String),
}

impl ClientError {
    /// A refusal the page decides on itself, before asking the server (e.g. a bad address).
    pub fn refused(status: u16, code: &str, message: impl Into<String>) -> Self {
        Self::Api {
            status,
            code: code.to_owned(),
            message: message.into(),
            validation_errors: Vec::new(),
        }
    }
}

/// Signs in; the answer sets the session cookie.
pub async fn sign_in(input: &SignInIn) -> Result<SessionOut, ClientError> {
    send("POST", "/api/v1/session", Some(input)).await
}

/// Creates the first admin (only while there is no operator) and signs them in.
pub async fn set_up(input: &SignInIn) -> Result<SessionOut, ClientError> {
    send("POST", "/api/v1/setup", Some(input)).await
}

/// Who is signed in.
pub async fn session() -> Result<SessionOut, ClientError> {
    send::<(), _>("GET", "/api/v1/session", None).await
}

pub async fn sign_out() -> Result<(), ClientError> {
    send::<(), serde::de::IgnoredAny>("DELETE", "/api/v1/session", None)
        .await
        .map(|_| ())
}

pub async fn change_password(input: &PasswordChangeIn) -> Result<SessionOut, ClientError> {
    send("POST", "/api/v1/session/password", Some(input)).await
}

pub async fn operators() -> Result<Vec<OperatorOut>, ClientError> {
    send::<(), _>("GET", "/api/v1/operators", None).await
}

pub async fn create_operator(input: &OperatorIn) -> Result<OperatorCreatedOut, ClientError> {
    send("POST", "/api/v1/operators", Some(input)).await
}

pub async fn update_operator(
    id: crate::ids::OperatorId,
    patch: &OperatorPatch,
) -> Result<OperatorOut, ClientError> {
    send("PATCH", &format!("/api/v1/operators/{id}"), Some(patch)).await
}

pub async fn reset_operator_password(
    id: crate::ids::OperatorId,
) -> Result<OperatorCreatedOut, ClientError> {
    send::<(), _>(
        "POST",
        &format!("/api/v1/operators/{id}/reset-password"),
        None,
    )
    .await
}

pub async fn api_keys() -> Result<Vec<ApiKeyOut>, ClientError> {
    send::<(), _>("GET", "/api/v1/api-keys", None).await
}

pub async fn create_api_key(input: &ApiKeyIn) -> Result<ApiKeyCreatedOut, ClientError> {
    send("POST", "/api/v1/api-keys", Some(input)).await
}

pub async fn revoke_api_key(id: crate::ids::ApiKeyId) -> Result<ApiKeyOut, ClientError> {
    send::<(), _>("DELETE", &format!("/api/v1/api-keys/{id}"), None).await
}

/// Newest first.
pub async fn audit_log(query: &AuditQuery) -> Result<Vec<AuditEntryOut>, ClientError> {
    let mut pairs = Vec::new();
    if let Some(actor) = query.actor.as_deref().filter(|actor| !actor.is_empty()) {
        pairs.push(format!("actor={}", encode_query_value(actor)));
    }
    if let Some(action) = query.action {
        pairs.push(format!("action={action}"));
    }
    if let Some(before) = query.before {
        pairs.push(format!("before={before}"));
    }
    if let Some(limit) = query.limit {
        pairs.push(format!("limit={limit}"));
    }
    send::<(), _>("GET", &format!("/api/v1/audit?{}", pairs.join("&")), None).await
}

pub async fn list_journeys() -> Result<Vec<JourneySummaryOut>, ClientError> {
    send::<(), _>("GET", "/api/v1/journeys", None).await
}

pub async fn create_journey(input: &JourneyIn) -> Result<JourneyOut, ClientError> {
    send("POST", "/api/v1/journeys", Some(input)).await
}

pub async fn journey(id: JourneyId) -> Result<JourneyOut, ClientError> {
    send::<(), _>("GET", &format!("/api/v1/journeys/{id}"), None).await
}

pub async fn update_journey(
    id: JourneyId,
    patch: &JourneyPatch,
) -> Result<JourneyOut, ClientError> {
    send("PATCH", &format!("/api/v1/journeys/{id}"), Some(patch)).await
}

pub async fn publish_journey(id: JourneyId) -> Result<PublishOut, ClientError> {
    send::<(), _>("POST", &format!("/api/v1/journeys/{id}/publish"), None).await
}

/// The counts of `version`, or of the live version.
pub async fn journey_stats(
    id: JourneyId,
    version: Option<i64>,
) -> Result<JourneyStatsOut, ClientError> {
    let path = match version {
        Some(version) => format!("/api/v1/journeys/{id}/stats?version={version}"),
        None => format!("/api/v1/journeys/{id}/stats"),
    };
    send::<(), _>("GET", &path, None).await
}

/// Newest first.
pub async fn deliveries(filter: &DeliveryFilter) -> Result<Vec<DeliveryOut>, ClientError> {
    let query = query_string(filter);
    send::<(), _>("GET", &format!("/api/v1/deliveries?{query}"), None).await
}

pub async fn delivery(id: DeliveryId) -> Result<DeliveryDetailOut, ClientError> {
    send::<(), _>("GET", &format!("/api/v1/deliveries/{id}"), None).await
}

/// The delivery's request as it would go out now, authentication masked.
pub async fn delivery_request(id: DeliveryId) -> Result<RequestPreviewOut, ClientError> {
    send::<(), _>("GET", &format!("/api/v1/deliveries/{id}/request"), None).await
}

/// Sends the delivery again: a new attempt cycle with the same `webhook-id`.
pub async fn resend_delivery(id: DeliveryId) -> Result<(), ClientError> {
    send::<(), serde::de::IgnoredAny>("POST", &format!("/api/v1/deliveries/{id}/resend"), None)
        .await
        .map(|_| ())
}

/// A webhook node's failed (`Failed`) or retrying (`Pending`) requests grouped by cause.
pub async fn node_failures(
    journey: JourneyId,
    node: &NodeId,
    status: DeliveryStatus,
    version: Option<i64>,
) -> Result<NodeFailuresOut, ClientError> {
    let node = encode_query_value(node.as_str());
    let status = status.as_str();
    let version = version_query("&", version);
    send::<(), _>(
        "GET",
        &format!("/api/v1/journeys/{journey}/nodes/{node}/failures?status={status}{version}"),
        None,
    )
    .await
}

/// A webhook node's requests over its life, in equal slices of time up to now.
pub async fn node_timeline(
    journey: JourneyId,
    node: &NodeId,
    version: Option<i64>,
) -> Result<NodeTimelineOut, ClientError> {
    let node = encode_query_value(node.as_str());
    let version = version_query("?", version);
    send::<(), _>(
        "GET",
        &format!("/api/v1/journeys/{journey}/nodes/{node}/timeline{version}"),
        None,
    )
    .await
}

/// `{separator}version=N`, or nothing for every version.
fn version_query(separator: &str, version: Option<i64>) -> String {
    version.map_or_else(String::new, |version| {
        format!("{separator}version={version}")
    })
}

/// Resends the node's failed requests of one cause; how many.
pub async fn resend_cause(
    journey: JourneyId,
    node: &NodeId,
    cause: &str,
    version: Option<i64>,
) -> Result<ResentOut, ClientError> {
    let node = encode_query_value(node.as_str());
    let input = ResendCauseIn {
        cause: cause.to_owned(),
        version,
    };
    send(
        "POST",
        &format!("/api/v1/journeys/{journey}/nodes/{node}/failures/resend"),
        Some(&input),
    )
    .await
}

/// Resends every failed request of a webhook node; how many.
pub async fn resend_failed_of_node(
    journey: JourneyId,
    node: &NodeId,
    version: Option<i64>,
) -> Result<ResentOut, ClientError> {
    let node = encode_query_value(node.as_str());
    let version = version_query("?", version);
    send::<(), _>(
        "POST",
        &format!("/api/v1/journeys/{journey}/nodes/{node}/resend-failed{version}"),
        None,
    )
    .await
}

/// Where the requests of one resend of a webhook node are now.
pub async fn resend_progress(
    journey: JourneyId,
    node: &NodeId,
    resent_at: i64,
) -> Result<ResendProgressOut, ClientError> {
    let node = encode_query_value(node.as_str());
    send::<(), _>(
        "GET",
        &format!("/api/v1/journeys/{journey}/nodes/{node}/resends?resent_at={resent_at}"),
        None,
    )
    .await
}

/// Newest first: what action nodes sent, or skipped and why, with each message's activities.
pub async fn messages(filter: &MessageFilter) -> Result<Vec<MessageOut>, ClientError> {
    let query = message_query(filter);
    send::<(), _>("GET", &format!("/api/v1/messages?{query}"), None).await
}

/// `key=value` pairs of a query string, each value percent-encoded; absent ones left out.
#[derive(Default)]
struct Query(Vec<String>);

impl Query {
    fn add(mut self, key: &str, value: Option<impl ToString>) -> Self {
        if let Some(value) = value {
            self.0
                .push(format!("{key}={}", encode_query_value(&value.to_string())));
        }
        self
    }

    fn finish(self) -> String {
        self.0.join("&")
    }
}

/// The filter as a query string; its values are ids, node ids and status words.
fn query_string(filter: &DeliveryFilter) -> String {
    Query::default()
        .add("webhook", filter.webhook)
        .add("journey", filter.journey)
        .add("node", filter.node.as_ref())
        .add("version", filter.version)
        .add("status", filter.status)
        .add("contact", filter.contact.as_ref())
        .add("since", filter.since)
        .add("until", filter.until)
        .add("limit", filter.limit)
        .finish()
}

fn message_query(filter: &MessageFilter) -> String {
    Query::default()
        .add("journey", filter.journey)
        .add("node", filter.node.as_ref())
        .add("channel", filter.channel)
        .add("status", filter.status)
        .add("contact", filter.contact.as_ref())
        .add("limit", filter.limit)
        .finish()
}

fn encode_query_value(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(byte).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// Contacts whose external id or email starts with `search`, newest first.
pub async fn search_contacts(search: &str) -> Result<Vec<ContactOut>, ClientError> {
    let path = format!(
        "/api/v1/contacts?search={}",
        encode_query_value(search.trim())
    );
    send::<(), _>("GET", &path, None).await
}

pub async fn contact(external_id: &str) -> Result<ContactOut, ClientError> {
    let path = format!("/api/v1/contacts/{}", encode_query_value(external_id));
    send::<(), _>("GET", &path, None).await
}

pub async fn contact_activity(external_id: &str) -> Result<ContactActivityOut, ClientError> {
    let path = format!(
        "/api/v1/contacts/{}/activity",
        encode_query_value(external_id)
    );
    send::<(), _>("GET", &path, None).await
}

pub async fn delete_journey(id: JourneyId) -> Result<(), ClientError> {
    send::<(), serde::de::IgnoredAny>("DELETE", &format!("/api/v1/journeys/{id}"), None)
        .await
        .map(|_| ())
}

pub async fn list_webhooks() -> Result<Vec<WebhookOut>, ClientError> {
    send::<(), _>("GET", "/api/v1/webhooks", None).await
}

pub async fn webhook(id: WebhookId) -> Result<WebhookOut, ClientError> {
    send::<(), _>("GET", &format!("/api/v1/webhooks/{id}"), None).await
}

pub async fn webhooks_health() -> Result<WebhooksHealthOut, ClientError> {
    send::<(), _>("GET", "/api/v1/webhooks/health", None).await
}

pub async fn create_webhook(input: &WebhookIn) -> Result<WebhookOut, ClientError> {
    send("POST", "/api/v1/webhooks", Some(input)).await
}

pub async fn update_webhook(
    id: WebhookId,
    patch: &WebhookPatch,
) -> Result<WebhookOut, ClientError> {
    send("PATCH", &format!("/api/v1/webhooks/{id}"), Some(patch)).await
}

/// Sends the webhook's request with sample data now.
pub async fn test_webhook(id: WebhookId) -> Result<WebhookTestOut, ClientError> {
    send(
        "POST",
        &format!("/api/v1/webhooks/{id}/test"),
        Some(&WebhookTestIn::default()),
    )
    .await
}

/// The secret the webhook's receivers verify its signatures with (the read is audited).
pub async fn webhook_signing_secret(id: WebhookId) -> Result<SigningSecretOut, ClientError> {
    send::<(), _>(
        "GET",
        &format!("/api/v1/webhooks/{id}/signing-secret"),
        None,
    )
    .await
}

/// A new signing secret for the webhook; the old one signs too for `overlap_hours`.
pub async fn rotate_webhook_secret(
    id: WebhookId,
    overlap_hours: u32,
) -> Result<SigningSecretOut, ClientError> {
    send(
        "POST",
        &format!("/api/v1/webhooks/{id}/rotate-secret"),
        Some(&RotateSecretIn {
            overlap_hours: Some(overlap_hours),
        }),
    )
    .await
}

/// The exact request settings not saved yet would send, secrets masked; nothing is stored.
pub async fn preview_webhook_draft(
    draft: &WebhookDraftIn,
) -> Result<RequestPreviewOut, ClientError> {
    send("POST", "/api/v1/webhooks/preview", Some(draft)).await
}

/// Sends the request of settings not saved yet now; nothing is stored.
pub async fn test_webhook_draft(draft: &WebhookDraftIn) -> Result<WebhookTestOut, ClientError> {
    send("POST", "/api/v1/webhooks/test", Some(draft)).await
}

pub async fn list_templates() -> Result<Vec<TemplateOut>, ClientError> {
    send::<(), _>("GET", "/api/v1/templates", None).await
}

pub async fn create_template(input: &TemplateIn) -> Result<TemplateOut, ClientError> {
    send("POST", "/api/v1/templates", Some(input)).await
}

/// Replaces the template's name and content (its channel stays).
pub async fn save_template(id: TemplateId, input: &TemplateIn) -> Result<TemplateOut, ClientError> {
    send("PUT", &format!("/api/v1/templates/{id}"), Some(input)).await
}

/// Refused (409) while a published journey sends it.
pub async fn delete_template(id: TemplateId) -> Result<(), ClientError> {
    send::<(), serde::de::IgnoredAny>("DELETE", &format!("/api/v1/templates/{id}"), None)
        .await
        .map(|_| ())
}

/// The content as the contact (or sample data) would receive it; nothing is saved.
pub async fn preview_template(
    input: &TemplatePreviewIn,
) -> Result<TemplatePreviewOut, ClientError> {
    send("POST", "/api/v1/templates/preview", Some(input)).await
}

/// Every channel, set up or not, without secrets.
pub async fn list_channels() -> Result<Vec<ChannelOut>, ClientError> {
    send::<(), _>("GET", "/api/v1/channels", None).await
}

/// Replaces the channel's settings; secrets left out keep the stored ones while the provider's
/// URL stays on the same host.
pub async fn save_channel(channel: Channel, input: &ChannelIn) -> Result<ChannelOut, ClientError> {
    send("PUT", &format!("/api/v1/channels/{channel}"), Some(input)).await
}

/// Back to the default attributes and no provider (its messages are then skipped).
pub async fn reset_channel(channel: Channel) -> Result<(), ClientError> {
    send::<(), serde::de::IgnoredAny>("DELETE", &format!("/api/v1/channels/{channel}"), None)
        .await
        .map(|_| ())
}

/// Provider shapes a channel's form can start from.
pub async fn channel_presets() -> Result<Vec<ProviderPreset>, ClientError> {
    send::<(), _>("GET", "/api/v1/channels/presets", None).await
}

#[cfg(feature = "hydrate")]
async fn send<B: Serialize, T: DeserializeOwned>(
    method: &str,
    path: &str,
    body: Option<&B>,
) -> Result<T, ClientError> {
    use gloo_net::http::{Method, RequestBuilder};

    use super::ErrorBody;

    /// Every error answer: `validation_errors` only on a journey that cannot be published.
    #[derive(serde::Deserialize)]
    struct Refusal {
        error: ErrorBody,
        #[serde(default)]
        validation_errors: Vec<ValidationError>,
    }

    let network = |error: gloo_net::Error| ClientError::Network(error.to_string());
    let method = match method {
        "POST" => Method::POST,
        "DELETE" => Method::DELETE,
        "PATCH" => Method::PATCH,
        "PUT" => Method::PUT,
        _ => Method::GET,
    };
    let writes = method != Method::GET;
    let mut builder = RequestBuilder::new(path).method(method);
    // The session's writes carry its CSRF token, which the server set in a cookie scripts of
    // this origin (and only they) can read.
    if writes && let Some(token) = csrf_token() {
        builder = builder.header("x-csrf-token", &token);
    }
    let request = match body {
        Some(body) => builder.json(body).map_err(network)?,
        None => builder.build().map_err(network)?,
    };
    let response = request.send().await.map_err(network)?;
    if response.ok() {
        if response.status() == 204 {
            // No body: only `IgnoredAny`-like types are asked for here.
            return serde_json::from_str("null").map_err(|error| {
                ClientError::refused(response.status(), "invalid_answer", error.to_string())
            });
        }
        return response.json::<T>().await.map_err(network);
    }
    match response.json::<Refusal>().await {
        Ok(refusal) => Err(ClientError::Api {
            status: response.status(),
            code: refusal.error.code,
            message: refusal.error.message,
            validation_errors: refusal.validation_errors,
        }),
        Err(_) => Err(ClientError::refused(
            response.status(),
            "unexpected_answer",
            format!(
                "the server answered {} {}",
                response.status(),
                response.status_text()
            ),
        )),
    }
}

/// The `wayfarer_csrf` cookie, when signed in.
#[cfg(feature = "hydrate")]
fn csrf_token() -> Option<String> {
    use wasm_bindgen::JsCast;

    let document = web_sys::window()?.document()?;
    let cookies = document
        .dyn_into::<web_sys::HtmlDocument>()
        .ok()?
        .cookie()
        .ok()?;
    cookies.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        (name == "wayfarer_csrf" && !value.is_empty()).then(|| value.to_owned())
    })
}

#[cfg(not(feature = "hydrate"))]
async fn send<B: Serialize, T: DeserializeOwned>(
    _method: &str,
    _path: &str,
    _body: Option<&B>,
) -> Result<T, ClientError> {
    Err(ClientError::Network(
        "the API client runs in the browser".to_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_filters_become_query_strings() {
        let filter = DeliveryFilter {
            journey: Some(JourneyId(3)),
            node: Some(crate::journey::NodeId::new("n 7&x")),
            version: Some(2),
            status: Some(super::super::DeliveryStatus::Failed),
            limit: Some(50),
            ..DeliveryFilter::default()
        };
        assert_eq!(
            query_string(&filter),
            "journey=3&node=n%207%26x&version=2&status=failed&limit=50"
        );
        assert_eq!(query_string(&DeliveryFilter::default()), "");
    }

    #[test]
    fn a_version_is_added_to_a_node_query_only_when_given() {
        assert_eq!(version_query("?", Some(3)), "?version=3");
        assert_eq!(version_query("&", None), "");
    }

    #[test]
    fn message_filters_become_query_strings() {
        let filter = MessageFilter {
            journey: Some(JourneyId(3)),
            node: Some(crate::journey::NodeId::new("text 1")),
            channel: Some(Channel::Sms),
            status: Some(super::super::MessageStatus::Skipped),
            contact: Some("ana+1@example.com".to_owned()),
            limit: Some(100),
        };
        assert_eq!(
            message_query(&filter),
            "journey=3&node=text%201&channel=sms&status=skipped&contact=ana%2B1%40example.com&limit=100"
        );
        assert_eq!(message_query(&MessageFilter::default()), "");
    }
}
