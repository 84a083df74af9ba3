//! Placeholders in webhook URLs, headers and payload values: `{{contact.email}}`,
//! `{{event.list_id}}`, `{{contact.first_name | default: "there"}}`.
//!
//! The syntax, in full:
//! - `{{` starts a placeholder and `}}` ends it; spaces inside are ignored.
//! - A placeholder names a value: `contact.external_id`, `contact.<attribute>`,
//!   `event.name`, `event.occurred_at` (RFC 3339), `event.<property>`, `journey.id`,
//!   `journey.name`. Nested values use more dots: `contact.address.city`.
//! - In a channel provider's request (not in webhooks or templates), `message.<field>` names
//!   the message being sent: `message.id`, `message.to` (the contact's address on the
//!   channel), `message.channel`, and the template's fields as filled for the contact
//!   (`message.text`, `message.media_url`, `message.title`, `message.body`,
//!   `message.deep_link`, and `message.data`, a push's data as a JSON object, which a JSON
//!   request inserts as it is).
//! - `| default: "text"` gives the text to use when the value is missing or null.
//! - Strings render as they are, numbers and booleans as JSON writes them, lists and objects
//!   as JSON text.
//!
//! Parsing happens when a webhook is saved, so a malformed placeholder or an unknown scope is
//! refused then; a value a contact lacks renders empty (or as its default) and is reported.
//! Shared with the browser so the editor can preview what a webhook will send.

use std::fmt;

use serde_json::{Map, Value};

use crate::ids::JourneyId;

/// A parsed text with placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Placeholder(Placeholder),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    pub scope: Scope,
    /// The dotted path within the scope, e.g. `["address", "city"]`.
    pub path: Vec<String>,
    pub default: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Contact,
    Event,
    Journey,
    /// The message a channel provider's request sends.
    Message,
}

/// The fields `message.<field>` may name.
pub const MESSAGE_FIELDS: [&str; 9] = [
    "id",
    "to",
    "channel",
    "text",
    "media_url",
    "title",
    "body",
    "deep_link",
    "data",
];

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Contact => "contact",
            Self::Event => "event",
            Self::Journey => "journey",
            Self::Message => "message",
        }
    }
}

impl fmt::Display for Placeholder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.scope.as_str(), self.path.join("."))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("\"{{{{\" at character {at} is never closed with \"}}}}\"")]
    Unclosed { at: usize },
    #[error("the placeholder at character {at} is empty; write e.g. {{{{contact.email}}}}")]
    Empty { at: usize },
    #[error(
        "\"{name}\" at character {at} is not a value a placeholder can name; use contact.<attribute>, \
         event.<property>, event.name, event.occurred_at, journey.id or journey.name (and, in \
         a channel provider's request, message.id, message.to, message.text, …)"
    )]
    UnknownName { name: String, at: usize },
    #[error(
        "\"{filter}\" at character {at} is not a filter; the one filter is | default: \"text\""
    )]
    UnknownFilter { filter: String, at: usize },
}

/// The values placeholders read.
#[derive(Debug, Clone, Copy)]
pub struct TemplateData<'a> {
    pub contact_external_id: &'a str,
    pub contact: &'a Map<String, Value>,
    pub event_name: Option<&'a str>,
    /// RFC 3339.
    pub event_occurred_at: Option<&'a str>,
    pub event: Option<&'a Map<String, Value>>,
    pub journey_id: Option<JourneyId>,
    pub journey_name: Option<&'a str>,
    /// What `message.<field>` reads: only a channel provider's request has a message.
    pub message: Option<&'a Map<String, Value>>,
}

/// A rendered text and the placeholders whose values were missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub text: String,
    pub missing: Vec<String>,
}

impl Template {
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = text;
        let mut offset = 0;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_owned()));
            }
            let at = offset + start;
            let inner_start = start + 2;
            let Some(length) = rest[inner_start..].find("}}") else {
                return Err(TemplateError::Unclosed { at });
            };
            let inner = &rest[inner_start..inner_start + length];
            parts.push(Part::Placeholder(parse_placeholder(inner, at)?));
            let consumed = inner_start + length + 2;
            rest = &rest[consumed..];
            offset += consumed;
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(Self { parts })
    }

    /// Whether a placeholder names a value of `scope`.
    pub fn uses(&self, scope: Scope) -> bool {
        self.placeholders()
            .any(|placeholder| placeholder.scope == scope)
    }

    /// For each placeholder in order, whether the template's own text puts it inside a JSON
    /// string (between unescaped double quotes): how a JSON body escapes what fills it.
    pub fn in_json_strings(&self) -> Vec<bool> {
        let (mut inside, mut escaped) = (false, false);
        let mut found = Vec::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => {
                    for character in text.chars() {
                        match character {
                            _ if escaped => escaped = false,
                            '\\' if inside => escaped = true,
                            '"' => inside = !inside,
                            _ => {}
                        }
                    }
                }
                Part::Placeholder(_) => found.push(inside),
            }
        }
        found
    }

    /// The placeholders in the order they appear.
    pub fn placeholders(&self) -> impl Iterator<Item = &Placeholder> {
        self.parts.iter().filter_map(|part| match part {
            Part::Placeholder(placeholder) => Some(placeholder),
            Part::Text(_) => None,
        })
    }

    /// Renders with each value passed through `encode` (e.g. URL encoding); the template's
    /// own text is kept as written.
    pub fn render_with(
        &self,
        data: &TemplateData<'_>,
        encode: impl Fn(&str) -> String,
    ) -> Rendered {
        self.render_each(data, |_, _, value| encode(value))
    }

    /// [`Template::render_with`] where the encoding may depend on the placeholder and its
    /// place among them (0 for the first), e.g. a value that is JSON already, inserted as it is
    /// where [`Template::in_json_strings`] says it stands outside a string.
    pub fn render_each(
        &self,
        data: &TemplateData<'_>,
        encode: impl Fn(usize, &Placeholder, &str) -> String,
    ) -> Rendered {
        let mut text = String::new();
        let mut missing = Vec::new();
        let mut index = 0;
        for part in &self.parts {
            match part {
                Part::Text(literal) => text.push_str(literal),
                Part::Placeholder(placeholder) => {
                    match lookup(placeholder, data) {
                        Some(value) => text.push_str(&encode(index, placeholder, &value)),
                        None => {
                            missing.push(placeholder.to_string());
                            if let Some(default) = &placeholder.default {
                                text.push_str(&encode(index, placeholder, default));
                            }
                        }
                    }
                    index += 1;
                }
            }
        }
        Rendered { text, missing }
    }

    /// The text with each placeholder replaced by what `value_of` gives for it, e.g. a
    /// sample value when checking that a URL is well formed whatever the contact.
    pub fn fill(&self, value_of: impl Fn(&Placeholder) -> String) -> String {
        self.parts
            .iter()
            .map(|part| match part {
                Part::Text(literal) => literal.clone(),
                Part::Placeholder(placeholder) => value_of(placeholder),
            })
            .collect()
    }

    pub fn render(&self, data: &TemplateData<'_>) -> Rendered {
        self.render_with(data, str::to_owned)
    }
}

fn parse_placeholder(inner: &str, at: usize) -> Result<Placeholder, TemplateError> {
    let (name, filter) = match inner.split_once('|') {
        Some((name, filter)) => (name.trim(), Some(filter.trim())),
        None => (inner.trim(), None),
    };
    if name.is_empty() {
        return Err(TemplateError::Empty { at });
    }
    let unknown = || TemplateError::UnknownName {
        name: name.to_owned(),
        at,
    };
    let mut segments = name.split('.');
    let scope = match segments.next() {
        Some("contact") => Scope::Contact,
        Some("event") => Scope::Event,
        Some("journey") => Scope::Journey,
        Some("message") => Scope::Message,
        _ => return Err(unknown()),
    };
    let path: Vec<String> = segments.map(str::to_owned).collect();
    let well_formed = !path.is_empty()
        && path.iter().all(|segment| {
            !segment.is_empty()
                && segment
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
        });
    if !well_formed
        || (scope == Scope::Journey
            && !matches!(path.as_slice(), [key] if key == "id" || key == "name"))
        || (scope == Scope::Message
            && !matches!(path.as_slice(), [key] if MESSAGE_FIELDS.contains(&key.as_str())))
    {
        return Err(unknown());
    }
    let default = match filter {
        None => None,
        Some(filter) => {
            Some(
                parse_default(filter).ok_or_else(|| TemplateError::UnknownFilter {
                    filter: filter.to_owned(),
                    at,
                })?,
            )
        }
    };
    Ok(Placeholder {
        scope,
        path,
        default,
    })
}

/// `default: "text"` (single or double quotes) → `text`.
fn parse_default(filter: &str) -> Option<String> {
    let argument = filter
        .strip_prefix("default")?
        .trim_start()
        .strip_prefix(':')?
        .trim();
    let quote = argument
        .chars()
        .next()
        .filter(|c| *c == '"' || *c == '\'')?;
    let text = argument.strip_prefix(quote)?.strip_suffix(quote)?;
    (!text.contains(quote)).then(|| text.to_owned())
}

fn lookup(placeholder: &Placeholder, data: &TemplateData<'_>) -> Option<String> {
    let path = placeholder.path.as_slice();
    let value = match (placeholder.scope, path) {
        (Scope::Contact, [key]) if key == "external_id" => {
            return Some(data.contact_external_id.to_owned());
        }
        (Scope::Contact, [first, rest @ ..]) => descend(data.contact.get(first.as_str())?, rest)?,
        (Scope::Event, [key]) if key == "name" => return data.event_name.map(str::to_owned),
        (Scope::Event, [key]) if key == "occurred_at" => {
            return data.event_occurred_at.map(str::to_owned);
        }
        (Scope::Event, [first, rest @ ..]) => descend(data.event?.get(first.as_str())?, rest)?,
        (Scope::Journey, [key]) if key == "id" => return data.journey_id.map(|id| id.to_string()),
        (Scope::Journey, _) => return data.journey_name.map(str::to_owned),
        (Scope::Message, [key]) => data.message?.get(key.as_str())?,
        (Scope::Message, _) => return None,
        (_, []) => return None,
    };
    match value {
        Value::Null => None,
        Value::String(text) => Some(text.clone()),
        other => Some(other.to_string()),
    }
}

fn descend<'v>(value: &'v Value, path: &[String]) -> Option<&'v Value> {
    path.iter()
        .try_fold(value, |value, key| value.as_object()?.get(key.as_str()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn data<'a>(
        contact: &'a Map<String, Value>,
        event: &'a Map<String, Value>,
    ) -> TemplateData<'a> {
        TemplateData {
            contact_external_id: "c-42",
            contact,
            event_name: Some("list.add_contact"),
            event_occurred_at: Some("2026-11-23T16:35:00Z"),
            event: Some(event),
            journey_id: Some(JourneyId(7)),
            journey_name: Some("Welcome"),
            message: None,
        }
    }

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn renders_contact_event_and_journey_values() {
        let contact = object(json!({"email": "ana@example.com", "age": 31, "vip": true,
                                     "address": {"city": "Montréal"}, "tags": ["a", "b"]}));
        let event = object(json!({"list_id": "newsletter"}));
        let template = Template::parse(
            "https://crm.example/hook/{{contact.external_id}}?list={{ event.list_id }}&e={{contact.email}}",
        )
        .expect("parses");
        let rendered = template.render(&data(&contact, &event));
        assert_eq!(
            rendered.text,
            "https://crm.example/hook/c-42?list=newsletter&e=ana@example.com"
        );
        assert!(rendered.missing.is_empty());

        let all = Template::parse(
            "{{contact.age}} {{contact.vip}} {{contact.address.city}} {{contact.tags}} \
             {{event.name}} {{event.occurred_at}} {{journey.id}} {{journey.name}}",
        )
        .expect("parses");
        assert_eq!(
            all.render(&data(&contact, &event)).text,
            "31 true Montréal [\"a\",\"b\"] list.add_contact 2026-11-23T16:35:00Z 7 Welcome"
        );
    }

    #[test]
    fn missing_values_render_empty_or_their_default_and_are_reported() {
        let contact = object(json!({"last_name": null}));
        let event = Map::new();
        let template = Template::parse(
            "Hi {{contact.first_name | default: \"there\"}}{{contact.last_name}}! {{event.coupon | default: 'none'}}",
        )
        .expect("parses");
        let rendered = template.render(&data(&contact, &event));
        assert_eq!(rendered.text, "Hi there! none");
        assert_eq!(
            rendered.missing,
            vec!["contact.first_name", "contact.last_name", "event.coupon"]
        );
    }

    #[test]
    fn values_can_be_encoded_but_the_template_text_cannot() {
        let contact = object(json!({"name": "Zoë & Co=1"}));
        let event = Map::new();
        let template = Template::parse("a&b={{contact.name}}").expect("parses");
        let rendered = template.render_with(&data(&contact, &event), |value| {
            value.replace('&', "%26").replace('=', "%3D")
        });
        assert_eq!(rendered.text, "a&b=Zoë %26 Co%3D1");
    }

    #[test]
    fn malformed_placeholders_are_refused_with_their_position() {
        let cases = [
            ("x {{contact.email", TemplateError::Unclosed { at: 2 }),
            ("{{ }}", TemplateError::Empty { at: 0 }),
            (
                "ab{{user.email}}",
                TemplateError::UnknownName {
                    name: "user.email".to_owned(),
                    at: 2,
                },
            ),
            (
                "{{contact}}",
                TemplateError::UnknownName {
                    name: "contact".to_owned(),
                    at: 0,
                },
            ),
            (
                "{{contact..email}}",
                TemplateError::UnknownName {
                    name: "contact..email".to_owned(),
                    at: 0,
                },
            ),
            (
                "{{journey.owner}}",
                TemplateError::UnknownName {
                    name: "journey.owner".to_owned(),
                    at: 0,
                },
            ),
            (
                "{{contact.email | upcase}}",
                TemplateError::UnknownFilter {
                    filter: "upcase".to_owned(),
                    at: 0,
                },
            ),
            (
                "{{contact.email | default: there}}",
                TemplateError::UnknownFilter {
                    filter: "default: there".to_owned(),
                    at: 0,
                },
            ),
        ];
        for (text, error) in cases {
            assert_eq!(Template::parse(text), Err(error), "{text}");
        }
    }

    #[test]
    fn text_without_placeholders_is_kept_whole() {
        let template = Template::parse("plain } text {").expect("parses");
        assert_eq!(template.placeholders().count(), 0);
        let contact = Map::new();
        let event = Map::new();
        assert_eq!(
            template.render(&data(&contact, &event)).text,
            "plain } text {"
        );
    }

    #[test]
    fn message_fields_render_where_a_message_is_given() {
        let contact = Map::new();
        let event = Map::new();
        let message = object(json!({"id": "42", "to": "+33612345678", "text": "Hi"}));
        let template =
            Template::parse("To={{message.to}}&Body={{message.text}}&Ref={{message.id}}")
                .expect("parses");
        assert!(template.uses(Scope::Message));
        let with = TemplateData {
            message: Some(&message),
            ..data(&contact, &event)
        };
        assert_eq!(
            template.render(&with).text,
            "To=+33612345678&Body=Hi&Ref=42"
        );
        let without = template.render(&data(&contact, &event));
        assert_eq!(without.text, "To=&Body=&Ref=");
        assert_eq!(without.missing.len(), 3);
        assert!(matches!(
            Template::parse("{{message.secret}}"),
            Err(TemplateError::UnknownName { .. })
        ));
        assert!(
            !Template::parse("{{contact.email}}")
                .expect("parses")
                .uses(Scope::Message)
        );
    }
}
