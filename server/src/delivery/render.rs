//! The exact HTTP request a delivery sends, byte for byte, in one of three formats:
//!
//! - `json`: `Content-Type: application/json;charset=UTF-8`, body
//!   `{"data": {"contact": {...}, "custom_data": {...}, "event_details": {...},
//!   "journey": {...}}, "event", "event_category", "event_time", "id"}` (keys sorted);
//! - `form`: `Content-Type: application/x-www-form-urlencoded`, body `data=<that JSON>`;
//! - `query`: no body; `external_id`, the chosen contact fields, `event`, `event_time` and the
//!   custom data as URL query parameters.
//!
//! Placeholder values are percent-encoded where they land in the URL and used as they are in
//! headers and custom data. The Standard Webhooks headers (`webhook-id`, `webhook-timestamp`,
//! `webhook-signature`) are added over the final body just before the request is sent, so the
//! timestamp is the sending time.

use app::{
    api::{Batching, BodyFormat, HttpMethod},
    ids::JourneyId,
    journey::KeyValue,
    template::{Template, TemplateData},
};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::webhook::{Auth, Settings};

/// Characters kept as they are when a placeholder value goes into a URL: RFC 3986's
/// unreserved set.
const URL_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

pub const USER_AGENT: &str = concat!("Wayfarer/", env!("CARGO_PKG_VERSION"));

/// What a delivery is about.
#[derive(Debug, Clone, Copy)]
pub struct Payload<'a> {
    /// Stable across retries of one delivery: the envelope's `id` and `webhook-id`.
    pub message_id: &'a str,
    pub contact_external_id: &'a str,
    pub contact: &'a Map<String, Value>,
    /// The event that started the contact's run.
    pub event_name: &'a str,
    /// RFC 3339.
    pub event_time: &'a str,
    pub event: &'a Map<String, Value>,
    pub journey_id: Option<JourneyId>,
    pub journey_name: Option<&'a str>,
    /// The webhook node's own custom data; its keys win over the webhook's.
    pub node_custom_data: &'a [KeyValue],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingRequest {
    /// `webhook-id`: the same for every attempt of a delivery.
    pub message_id: String,
    pub method: HttpMethod,
    /// Parsed once here: reqwest takes it as it is (URL parsing was 4 % of delivery CPU).
    pub url: url::Url,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Placeholders whose values the contact or event lacked (rendered empty or as default).
    pub missing: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("a placeholder cannot be read: {0}")]
    Template(#[from] app::template::TemplateError),
    #[error("the URL with its placeholders filled in is not valid: {0}")]
    Url(String),
    #[error(
        "a placeholder made a segment of the URL's path \".\" or \"..\", which would send the \
         request to another path; it is not sent"
    )]
    DotSegment,
}

/// Renders the request, not signed yet: for a webhook that batches, a batch of this one
/// delivery (what Preview and Test show).
pub fn render(settings: &Settings, payload: &Payload<'_>) -> Result<OutgoingRequest, RenderError> {
    match &settings.batch {
        None => render_as(settings, settings.body_format, payload),
        Some(batching) => Ok(batch(
            settings,
            batching,
            &render_as(settings, BodyFormat::Json, payload)?,
            &[],
        )),
    }
}

/// What a delivery adds to a batch: its request with its envelope as a JSON body. Batched
/// together are the parts whose method, URL and headers (placeholders filled) are the same.
pub fn render_part(
    settings: &Settings,
    payload: &Payload<'_>,
) -> Result<OutgoingRequest, RenderError> {
    render_as(settings, BodyFormat::Json, payload)
}

/// One request for `first` and `others` (each from [`render_part`], all to the same URL with
/// the same headers): `{"<key>": [envelope, …]}` as JSON, or `data=<that JSON>` as a form. Its
/// `webhook-id` is `batch_` and a digest of the parts' ids: the same deliveries sent again (in
/// any order) have the same id, other deliveries another one.
pub fn batch(
    settings: &Settings,
    batching: &Batching,
    first: &OutgoingRequest,
    others: &[&OutgoingRequest],
) -> OutgoingRequest {
    let parts = || std::iter::once(first).chain(others.iter().copied());
    let mut json = String::with_capacity(
        parts().map(|part| part.body.len() + 1).sum::<usize>() + batching.key.len() + 8,
    );
    json.push('{');
    json.push_str(&Value::String(batching.key.clone()).to_string());
    json.push_str(":[");
    let mut missing: Vec<String> = Vec::new();
    for (index, part) in parts().enumerate() {
        if index > 0 {
            json.push(',');
        }
        json.push_str(&String::from_utf8_lossy(&part.body));
        for placeholder in &part.missing {
            if !missing.contains(placeholder) {
                missing.push(placeholder.clone());
            }
        }
    }
    json.push_str("]}");
    let mut headers: Vec<(String, String)> = first
        .headers
        .iter()
        .filter(|(name, _)| name != "content-type")
        .cloned()
        .collect();
    let body = match settings.body_format {
        BodyFormat::Form => {
            headers.push((
                "content-type".to_owned(),
                "application/x-www-form-urlencoded".to_owned(),
            ));
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("data", &json)
                .finish()
                .into_bytes()
        }
        BodyFormat::Json | BodyFormat::Query => {
            headers.push((
                "content-type".to_owned(),
                "application/json;charset=UTF-8".to_owned(),
            ));
            json.into_bytes()
        }
    };
    // The same deliveries in any order are the same batch.
    let mut ids: Vec<&str> = parts().map(|part| part.message_id.as_str()).collect();
    ids.sort_unstable();
    let mut digest = Sha256::new();
    for id in ids {
        digest.update(id.as_bytes());
        digest.update(b",");
    }
    let id: String = digest.finalize()[..16]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    OutgoingRequest {
        message_id: format!("batch_{id}"),
        method: first.method,
        url: first.url.clone(),
        headers,
        body,
        missing,
    }
}

/// Renders the request with its body in `format`.
fn render_as(
    settings: &Settings,
    format: BodyFormat,
    payload: &Payload<'_>,
) -> Result<OutgoingRequest, RenderError> {
    let data = TemplateData {
        contact_external_id: payload.contact_external_id,
        contact: payload.contact,
        event_name: Some(payload.event_name),
        event_occurred_at: Some(payload.event_time),
        event: Some(payload.event),
        journey_id: payload.journey_id,
        journey_name: payload.journey_name,
        message: None,
    };
    let mut missing = Vec::new();
    let mut url = filled_url(&settings.url, &data, &mut missing)?;
    let mut fill = |text: &str| -> Result<String, RenderError> {
        let rendered = Template::parse(text)?.render(&data);
        missing.extend(rendered.missing);
        Ok(rendered.text)
    };
    let mut custom_data = Map::new();
    for pair in settings.custom_data.iter().chain(payload.node_custom_data) {
        custom_data.insert(pair.key.clone(), Value::String(fill(&pair.value)?));
    }
    let mut headers = vec![("user-agent".to_owned(), USER_AGENT.to_owned())];
    for header in &settings.headers {
        headers.push((header.key.to_ascii_lowercase(), fill(&header.value)?));
    }
    headers.extend(auth_header(&settings.auth));

    let body = match format {
        BodyFormat::Json => {
            headers.push((
                "content-type".to_owned(),
                "application/json;charset=UTF-8".to_owned(),
            ));
            envelope(settings, payload, custom_data)
                .to_string()
                .into_bytes()
        }
        BodyFormat::Form => {
            headers.push((
                "content-type".to_owned(),
                "application/x-www-form-urlencoded".to_owned(),
            ));
            let json = envelope(settings, payload, custom_data).to_string();
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("data", &json)
                .finish()
                .into_bytes()
        }
        BodyFormat::Query => {
            let mut query = url.query_pairs_mut();
            query.append_pair("external_id", payload.contact_external_id);
            for field in &settings.contact_fields {
                let value = payload.contact.get(field).map(text_of).unwrap_or_default();
                query.append_pair(field, &value);
            }
            query.append_pair("event", payload.event_name);
            query.append_pair("event_time", payload.event_time);
            for (key, value) in &custom_data {
                query.append_pair(key, value.as_str().unwrap_or_default());
            }
            drop(query);
            Vec::new()
        }
    };

    Ok(OutgoingRequest {
        message_id: payload.message_id.to_owned(),
        method: settings.method,
        url,
        headers,
        body,
        missing,
    })
}

/// The URL template filled with `data`, each value percent-encoded; placeholders it lacked
/// are added to `missing`.
pub(crate) fn filled_url(
    template: &str,
    data: &TemplateData<'_>,
    missing: &mut Vec<String>,
) -> Result<url::Url, RenderError> {
    filled_parsed_url(template, &Template::parse(template)?, data, missing)
}

/// [`filled_url`] with `source` parsed already (as `parsed`).
pub(crate) fn filled_parsed_url(
    source: &str,
    parsed: &Template,
    data: &TemplateData<'_>,
    missing: &mut Vec<String>,
) -> Result<url::Url, RenderError> {
    let rendered = parsed.render_with(data, |value| {
        utf8_percent_encode(value, URL_VALUE).to_string()
    });
    missing.extend(rendered.missing);
    // Percent-encoding cannot keep a value of "." or ".." in its segment: URL parsers resolve
    // `%2E%2E` as `..` too, and an external id of ".." walked up the receiver's path.
    if dot_segments(&rendered.text) > dot_segments(source) {
        return Err(RenderError::DotSegment);
    }
    url::Url::parse(&rendered.text).map_err(|error| RenderError::Url(error.to_string()))
}

/// The header that carries the request's credentials, if it has any.
pub(crate) fn auth_header(auth: &Auth) -> Option<(String, String)> {
    match auth {
        Auth::None => None,
        Auth::Basic { username, password } => Some((
            "authorization".to_owned(),
            format!(
                "Basic {}",
                STANDARD.encode(format!("{username}:{password}"))
            ),
        )),
        Auth::Bearer { token } => Some(("authorization".to_owned(), format!("Bearer {token}"))),
        Auth::ApiKey { header, key } => Some((header.to_ascii_lowercase(), key.clone())),
    }
}

/// The request with its secrets replaced by `***` (its authentication) or `********` (custom
/// headers marked secret or named like credentials, and such query parameters), for previews
/// and logs.
pub fn masked(mut request: OutgoingRequest, settings: &Settings) -> OutgoingRequest {
    request.url = crate::webhook::mask::masked_url(request.url.as_str())
        .parse()
        .unwrap_or(request.url);
    let secret_header = match &settings.auth {
        Auth::None => None,
        Auth::Basic { .. } | Auth::Bearer { .. } => Some("authorization".to_owned()),
        Auth::ApiKey { header, .. } => Some(header.to_ascii_lowercase()),
    };
    for (name, value) in &mut request.headers {
        if Some(&*name) == secret_header.as_ref() {
            *value = match value.split_once(' ') {
                Some((scheme @ ("Basic" | "Bearer"), _)) => format!("{scheme} ***"),
                _ => "***".to_owned(),
            };
        } else if !name.starts_with("webhook-")
            && (crate::webhook::mask::is_sensitive_name(name)
                || settings
                    .headers
                    .iter()
                    .any(|header| header.secret && header.key.eq_ignore_ascii_case(name)))
        {
            *value = crate::webhook::mask::MASK.to_owned();
        }
    }
    request
}

fn envelope(settings: &Settings, payload: &Payload<'_>, custom_data: Map<String, Value>) -> Value {
    let mut contact = Map::new();
    contact.insert(
        "external_id".to_owned(),
        Value::String(payload.contact_external_id.to_owned()),
    );
    for field in &settings.contact_fields {
        let value = payload.contact.get(field).cloned().unwrap_or(Value::Null);
        contact.insert(field.clone(), value);
    }
    json!({
        "id": payload.message_id,
        "event": payload.event_name,
        "event_category": "journey",
        "event_time": payload.event_time,
        "data": {
            "contact": contact,
            "event_details": payload.event,
            "custom_data": custom_data,
            "journey": {"id": payload.journey_id, "name": payload.journey_name},
        }
    })
}

fn text_of(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// How many segments of the URL's path are `.` or `..`, in any spelling a URL parser resolves.
/// Filled-in values are percent-encoded, so a `?` or `#` that ends the path is the template's.
fn dot_segments(url: &str) -> usize {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = after_scheme
        .find('/')
        .map_or("", |start| &after_scheme[start..]);
    let path = path.split(['?', '#']).next().unwrap_or_default();
    path.split('/')
        .filter(|segment| {
            let segment = segment.to_ascii_lowercase().replace("%2e", ".");
            segment == "." || segment == ".."
        })
        .count()
}

#[cfg(test)]
mod tests {
    use app::api::WebhookIn;

    use super::*;

    fn settings(body_format: &str, extra: Value) -> Settings {
        let mut input = json!({
            "name": "CRM",
            "url": "https://crm.example/hook/{{contact.external_id}}?list={{event.list_id}}",
            "body_format": body_format,
            "contact_fields": ["email", "city"],
            "custom_data": [{"key": "source", "value": "{{journey.name}}"}],
            "headers": [{"key": "X-Tenant", "value": "acme-{{contact.plan | default: \"free\"}}"}],
            "auth": {"type": "bearer", "token": "t0ken"}
        });
        if let (Some(input), Some(extra)) = (input.as_object_mut(), extra.as_object()) {
            input.extend(extra.clone());
        }
        let input: WebhookIn = serde_json::from_value(input).expect("webhook input");
        Settings::from_input(input).expect("valid settings")
    }

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    fn render_sample(settings: &Settings) -> OutgoingRequest {
        let contact =
            object(json!({"email": "zoë@example.com", "city": "Québec & Co=1", "age": 31}));
        let event = object(json!({"list_id": "news letter/1", "sku": "A&B"}));
        let node_data = vec![KeyValue {
            key: "reason".to_owned(),
            value: "cart=abandoned".to_owned(),
            secret: false,
        }];
        let payload = Payload {
            message_id: "msg_42",
            contact_external_id: "c/42",
            contact: &contact,
            event_name: "add_to_cart",
            event_time: "2026-11-23T16:35:00Z",
            event: &event,
            journey_id: Some(JourneyId(7)),
            journey_name: Some("Cart"),
            node_custom_data: &node_data,
        };
        render(settings, &payload).expect("renders")
    }

    fn header<'r>(request: &'r OutgoingRequest, name: &str) -> &'r str {
        request
            .headers
            .iter()
            .find(|(key, _)| key == name)
            .map_or("", |(_, value)| value.as_str())
    }

    #[test]
    fn a_value_that_would_be_a_dot_segment_is_not_sent() {
        let render_with_id = |url: &str, external_id: &str| {
            let settings = settings("json", json!({ "url": url }));
            let contact = Map::new();
            let payload = Payload {
                message_id: "msg_1",
                contact_external_id: external_id,
                contact: &contact,
                event_name: "signup",
                event_time: "2026-11-23T16:35:00Z",
                event: &contact,
                journey_id: None,
                journey_name: None,
                node_custom_data: &[],
            };
            render(&settings, &payload).map(|request| request.url.to_string())
        };
        let in_path = "https://crm.example/users/{{contact.external_id}}/orders";
        for walking in [".", ".."] {
            assert_eq!(
                render_with_id(in_path, walking),
                Err(RenderError::DotSegment),
                "{walking}"
            );
        }
        // Together with the template's own text.
        assert_eq!(
            render_with_id("https://crm.example/users/{{contact.external_id}}.", "."),
            Err(RenderError::DotSegment)
        );
        // `%` and `/` are encoded, so these stay inside their segment.
        for kept in ["...", "a..", ".b", "../x", "%2e%2E", ".%2E"] {
            assert!(render_with_id(in_path, kept).is_ok(), "{kept}");
        }
        assert_eq!(
            render_with_id("https://crm.example/users?id={{contact.external_id}}", ".."),
            Ok("https://crm.example/users?id=..".to_owned()),
            "a query value is no path segment"
        );
    }

    #[test]
    fn json_requests_carry_the_envelope() {
        let request = render_sample(&settings("json", json!({})));
        assert_eq!(request.method, HttpMethod::Post);
        assert_eq!(
            request.url.as_str(),
            "https://crm.example/hook/c%2F42?list=news%20letter%2F1"
        );
        assert_eq!(
            String::from_utf8(request.body.clone()).expect("UTF-8"),
            r#"{"data":{"contact":{"city":"Québec & Co=1","email":"zoë@example.com","external_id":"c/42"},"custom_data":{"reason":"cart=abandoned","source":"Cart"},"event_details":{"list_id":"news letter/1","sku":"A&B"},"journey":{"id":7,"name":"Cart"}},"event":"add_to_cart","event_category":"journey","event_time":"2026-11-23T16:35:00Z","id":"msg_42"}"#
        );
        assert_eq!(
            header(&request, "content-type"),
            "application/json;charset=UTF-8"
        );
        assert_eq!(header(&request, "authorization"), "Bearer t0ken");
        assert_eq!(header(&request, "x-tenant"), "acme-free");
        assert_eq!(request.missing, vec!["contact.plan"]);
        assert_eq!(request.message_id, "msg_42");
        assert_eq!(
            header(&request, "webhook-signature"),
            "",
            "signed when sent"
        );
    }

    #[test]
    fn form_requests_send_the_envelope_as_one_data_field() {
        let request = render_sample(&settings("form", json!({})));
        let body = String::from_utf8(request.body.clone()).expect("ASCII");
        assert!(body.starts_with("data=%7B%22data%22%3A%7B%22contact%22%3A%7B%22city%22%3A%22Qu%C3%A9bec+%26+Co%3D1%22"), "{body}");
        let decoded: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
        assert_eq!(decoded.len(), 1);
        assert_eq!(decoded[0].0, "data");
        let json: Value = serde_json::from_str(&decoded[0].1).expect("the JSON envelope");
        assert_eq!(json["data"]["contact"]["city"], "Québec & Co=1");
        assert_eq!(
            header(&request, "content-type"),
            "application/x-www-form-urlencoded"
        );
    }

    #[test]
    fn query_requests_put_fields_in_the_url() {
        let request = render_sample(&settings("query", json!({})));
        assert_eq!(request.method, HttpMethod::Get);
        assert!(request.body.is_empty());
        assert_eq!(
            request.url.as_str(),
            "https://crm.example/hook/c%2F42?list=news%20letter%2F1&external_id=c%2F42\
             &email=zo%C3%AB%40example.com&city=Qu%C3%A9bec+%26+Co%3D1&event=add_to_cart\
             &event_time=2026-11-23T16%3A35%3A00Z&reason=cart%3Dabandoned&source=Cart"
        );
        assert_eq!(header(&request, "content-type"), "");
    }

    #[test]
    fn basic_and_api_key_auth_become_headers_and_previews_mask_them() {
        let basic = settings(
            "json",
            json!({"auth": {"type": "basic", "username": "u", "password": "p@ss"}}),
        );
        let request = render_sample(&basic);
        assert_eq!(header(&request, "authorization"), "Basic dTpwQHNz");
        assert_eq!(
            header(&masked(request, &basic), "authorization"),
            "Basic ***"
        );

        let api_key = settings(
            "json",
            json!({"auth": {"type": "api_key", "header": "X-API-Key", "key": "k3y"}}),
        );
        let request = render_sample(&api_key);
        assert_eq!(header(&request, "x-api-key"), "k3y");
        let preview = masked(request, &api_key);
        assert_eq!(header(&preview, "x-api-key"), "***");
        assert_eq!(
            header(&preview, "x-tenant"),
            "acme-free",
            "other headers stay"
        );
    }
}
