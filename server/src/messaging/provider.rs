//! A message sent through an HTTP provider: the provider's request template filled for the
//! message and its contact (values escaped for where they land), and what the provider's
//! answer means for the message.

use std::time::Duration;

use app::{
    api::ProviderBodyFormat,
    template::{Placeholder, Scope, Template, TemplateData},
};

use super::{channel::Provider, compose::json_string_contents, json_path};
use crate::{
    delivery::{
        render::{OutgoingRequest, RenderError, USER_AGENT, auth_header, filled_parsed_url},
        send::Attempt,
    },
    webhook::authority_is_fixed,
};

/// A provider's request settings with their placeholders parsed: parsed once per round of
/// messages, filled once per message.
#[derive(Debug, Clone)]
pub struct RequestTemplate<'a> {
    provider: &'a Provider,
    url: Template,
    headers: Vec<(String, Template)>,
    body: Template,
    /// For each of the body's placeholders, whether it sits inside a JSON string.
    body_in_strings: Vec<bool>,
}

impl<'a> RequestTemplate<'a> {
    pub fn new(provider: &'a Provider) -> Result<Self, RenderError> {
        let url = Template::parse(&provider.url)?;
        if !authority_is_fixed(&url) {
            return Err(RenderError::Url(
                "placeholders in the scheme or host could send contact data elsewhere".to_owned(),
            ));
        }
        let headers = provider
            .headers
            .iter()
            .map(|header| {
                Ok((
                    header.key.to_ascii_lowercase(),
                    Template::parse(&header.value)?,
                ))
            })
            .collect::<Result<_, RenderError>>()?;
        let body = Template::parse(&provider.body)?;
        Ok(Self {
            provider,
            url,
            headers,
            body_in_strings: body.in_json_strings(),
            body,
        })
    }

    /// Where the provider's answer gives its own id for the message.
    pub fn answer_id_path(&self) -> &str {
        &self.provider.answer_id_path
    }

    /// The provider's request for the message in `data`.
    pub fn request(
        &self,
        message_id: &str,
        data: &TemplateData<'_>,
    ) -> Result<OutgoingRequest, RenderError> {
        let provider = self.provider;
        let mut missing = Vec::new();
        let url = filled_parsed_url(&provider.url, &self.url, data, &mut missing)?;
        let mut headers = vec![("user-agent".to_owned(), USER_AGENT.to_owned())];
        for (name, value) in &self.headers {
            let rendered = value.render(data);
            missing.extend(rendered.missing);
            // A contact's value must not end the header and start another.
            headers.push((name.clone(), rendered.text.replace(['\r', '\n'], " ")));
        }
        headers.extend(auth_header(&provider.auth));
        let body = match provider.body_format {
            ProviderBodyFormat::Json => {
                headers.push(("content-type".to_owned(), "application/json".to_owned()));
                self.body.render_each(data, |index, placeholder, value| {
                    let in_string = self.body_in_strings.get(index).copied().unwrap_or(true);
                    if is_push_data(placeholder) && !in_string {
                        // A JSON object already (checked when its template was saved).
                        value.to_owned()
                    } else {
                        json_string_contents(value)
                    }
                })
            }
            ProviderBodyFormat::Form => {
                headers.push((
                    "content-type".to_owned(),
                    "application/x-www-form-urlencoded".to_owned(),
                ));
                self.body.render_with(data, |value| {
                    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
                })
            }
            ProviderBodyFormat::None => self.body.render(data),
        };
        missing.extend(body.missing);
        Ok(OutgoingRequest {
            message_id: message_id.to_owned(),
            method: provider.method,
            url,
            headers,
            body: body.text.into_bytes(),
            missing,
        })
    }
}

/// `{{message.data}}`: a push's data, a JSON object that a JSON request carries as it is where
/// the placeholder stands as a value (inside a string, as a string).
pub fn is_push_data(placeholder: &Placeholder) -> bool {
    placeholder.scope == Scope::Message && placeholder.path == ["data"]
}

/// What a provider's answer means for the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Taken; with the provider's own id for it, when its answer gives one.
    Taken { reference: Option<String> },
    /// Not taken now (timeout, 429, 5xx): try again, when the provider asks if it does.
    Retry {
        error: String,
        retry_after: Option<Duration>,
    },
    /// Refused for good (any other 4xx): the same request would be refused again.
    Refused { reason: String },
}

pub fn read_answer(attempt: &Attempt, answer_id_path: &str) -> Answer {
    let described = || {
        let first_line = attempt.body.lines().next().unwrap_or_default().trim();
        let first_line: String = first_line.chars().take(200).collect();
        match attempt.status {
            Some(status) if first_line.is_empty() => format!("HTTP {status}"),
            Some(status) => format!("HTTP {status}: {first_line}"),
            None => attempt
                .error
                .clone()
                .unwrap_or_else(|| "no answer".to_owned()),
        }
    };
    match attempt.status {
        Some(200..=299) => Answer::Taken {
            reference: (!answer_id_path.is_empty())
                .then(|| serde_json::from_str(&attempt.body).ok())
                .flatten()
                .and_then(|answer| json_path::find(&answer, answer_id_path)),
        },
        Some(300..=399) => Answer::Refused {
            reason: format!(
                "{}: redirects are not followed; set the provider's final URL",
                described()
            ),
        },
        None | Some(408 | 425 | 429 | 500..=599) => Answer::Retry {
            error: described(),
            retry_after: attempt.retry_after,
        },
        Some(_) => Answer::Refused {
            reason: described(),
        },
    }
}

#[cfg(test)]
mod tests {
    use app::{api::HttpMethod, journey::KeyValue};
    use serde_json::{Map, Value, json};

    use super::*;
    use crate::{
        messaging::channel::{ReceiptAuth, Receipts},
        webhook::Auth,
    };

    fn provider(format: ProviderBodyFormat, body: &str) -> Provider {
        Provider {
            url: "https://sms.example/send?ref={{message.id}}".to_owned(),
            method: HttpMethod::Post,
            body_format: format,
            body: body.to_owned(),
            headers: vec![KeyValue {
                key: "Idempotency-Key".to_owned(),
                value: "{{message.id}}\r\nX-Evil: 1".to_owned(),
                secret: false,
            }],
            auth: Auth::Bearer {
                token: "t0ken".to_owned(),
            },
            answer_id_path: "$.sid".to_owned(),
            receipts: Receipts {
                auth: ReceiptAuth::Hmac {
                    header: "X-Signature".to_owned(),
                    secret: "s".to_owned(),
                },
                message_path: "$.id".to_owned(),
                status_path: "$.status".to_owned(),
                statuses: Vec::new(),
            },
        }
    }

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    /// What a provider's request is filled with: a contact and a message, no event.
    fn data<'a>(
        contact: &'a Map<String, Value>,
        message: &'a Map<String, Value>,
    ) -> TemplateData<'a> {
        TemplateData {
            contact_external_id: "c-1",
            contact,
            event_name: None,
            event_occurred_at: None,
            event: None,
            journey_id: None,
            journey_name: None,
            message: Some(message),
        }
    }

    fn render(provider: &Provider) -> OutgoingRequest {
        let contact = object(json!({"first_name": "Zoé \"Z\""}));
        let message = object(json!({"id": "7", "to": "+33 6 12", "text": "Hi & \"bye\"\n"}));
        let data = data(&contact, &message);
        RequestTemplate::new(provider)
            .and_then(|template| template.request("7", &data))
            .expect("renders")
    }

    fn header<'a>(request: &'a OutgoingRequest, name: &str) -> Option<&'a str> {
        request
            .headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    #[test]
    fn json_values_stay_inside_their_strings() {
        let request = render(&provider(
            ProviderBodyFormat::Json,
            r#"{"to": "{{message.to}}", "text": "{{message.text}}", "name": "{{contact.first_name}}"}"#,
        ));
        let body: Value = serde_json::from_slice(&request.body).expect("JSON");
        assert_eq!(
            body,
            json!({"to": "+33 6 12", "text": "Hi & \"bye\"\n", "name": "Zoé \"Z\""})
        );
        assert_eq!(request.url.as_str(), "https://sms.example/send?ref=7");
        assert_eq!(header(&request, "idempotency-key"), Some("7  X-Evil: 1"));
        assert_eq!(header(&request, "authorization"), Some("Bearer t0ken"));
        assert_eq!(header(&request, "content-type"), Some("application/json"));
    }

    #[test]
    fn a_pushs_data_goes_into_a_json_body_as_the_object_it_is() {
        let contact = object(json!({}));
        let message = object(json!({"to": "tok", "data": "{\"order\": \"o-\\\"1\\\"\"}"}));
        let data = data(&contact, &message);
        let provider = provider(
            ProviderBodyFormat::Json,
            r#"{"to": "{{message.to}}", "data": {{message.data}}}"#,
        );
        let request = RequestTemplate::new(&provider)
            .and_then(|template| template.request("7", &data))
            .expect("renders");
        let body: Value = serde_json::from_slice(&request.body).expect("JSON");
        assert_eq!(body, json!({"to": "tok", "data": {"order": "o-\"1\""}}));
        // Inside a string (data as text, as some APIs take it), it is escaped as any value.
        let provider = self::provider(
            ProviderBodyFormat::Json,
            r#"{"note": "a \"quoted\" {{message.to}}", "payload": "{{message.data}}"}"#,
        );
        let request = RequestTemplate::new(&provider)
            .and_then(|template| template.request("7", &data))
            .expect("renders");
        let body: Value = serde_json::from_slice(&request.body).expect("JSON");
        assert_eq!(
            body,
            json!({"note": "a \"quoted\" tok", "payload": "{\"order\": \"o-\\\"1\\\"\"}"})
        );
    }

    #[test]
    fn form_values_are_encoded() {
        let request = render(&provider(
            ProviderBodyFormat::Form,
            "To={{message.to}}&Body={{message.text}}",
        ));
        let body = String::from_utf8(request.body).expect("text");
        assert_eq!(body, "To=%2B33+6+12&Body=Hi+%26+%22bye%22%0A");
        let fields: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
        assert_eq!(fields[1].1, "Hi & \"bye\"\n");
    }

    fn attempt(status: Option<u16>, body: &str) -> Attempt {
        Attempt {
            status,
            body: body.to_owned(),
            ..Attempt::refused("connection refused".to_owned())
        }
    }

    #[test]
    fn answers_are_taken_retried_or_refused() {
        assert_eq!(
            read_answer(&attempt(Some(201), r#"{"sid": "SM9"}"#), "$.sid"),
            Answer::Taken {
                reference: Some("SM9".to_owned())
            }
        );
        assert_eq!(
            read_answer(&attempt(Some(200), "ok"), "$.sid"),
            Answer::Taken { reference: None }
        );
        assert!(matches!(
            read_answer(&attempt(Some(503), ""), ""),
            Answer::Retry { .. }
        ));
        assert!(matches!(
            read_answer(&attempt(None, ""), ""),
            Answer::Retry { error, .. } if error == "connection refused"
        ));
        assert_eq!(
            read_answer(&attempt(Some(400), "invalid phone\nmore"), ""),
            Answer::Refused {
                reason: "HTTP 400: invalid phone".to_owned()
            }
        );
    }
}
