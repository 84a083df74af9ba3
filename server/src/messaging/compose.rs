//! From a template to the message a contact receives: every field's placeholders filled (HTML
//! escaped in an email's HTML part), checked the same way when a template is saved.

use app::{
    api::TemplateContent,
    template::{Scope, Template, TemplateData, TemplateError},
};

/// A field of a template whose text is not a valid template, or a required field left empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidTemplate {
    #[error("{field}: {error}")]
    Placeholder {
        field: &'static str,
        error: TemplateError,
    },
    #[error("{field} is required")]
    Required { field: &'static str },
    #[error("an email needs an HTML or a text part (or both)")]
    NoBody,
    #[error(
        "{field}: message.* placeholders belong in a channel provider's request; a template \
         is the message"
    )]
    MessageScope { field: &'static str },
    #[error(
        "data is not a JSON object once its placeholders are filled ({0}); put placeholders \
         inside strings, e.g. {{\"order\": \"{{{{event.order_id}}}}\"}}"
    )]
    DataNotJson(String),
}

impl InvalidTemplate {
    /// The field the error is about, as the API names it.
    pub fn field(&self) -> &'static str {
        match self {
            Self::Placeholder { field, .. }
            | Self::Required { field }
            | Self::MessageScope { field } => field,
            Self::NoBody => "html",
            Self::DataNotJson(_) => "data",
        }
    }
}

/// A template filled for one contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composed {
    pub content: TemplateContent,
    /// Placeholders the contact had no value for.
    pub missing: Vec<String>,
}

/// Checks that every field parses and the channel's required fields are there.
pub fn validate(content: &TemplateContent) -> Result<(), InvalidTemplate> {
    for (field, text) in content.fields() {
        let template =
            Template::parse(text).map_err(|error| InvalidTemplate::Placeholder { field, error })?;
        if template.uses(Scope::Message) {
            return Err(InvalidTemplate::MessageScope { field });
        }
    }
    let required: &[&'static str] = match content {
        TemplateContent::Email(_) => &["from", "subject"],
        TemplateContent::Sms(_) | TemplateContent::Whatsapp(_) | TemplateContent::Rcs(_) => {
            &["text"]
        }
        TemplateContent::AppPush(_) | TemplateContent::WebPush(_) => &["title", "body"],
    };
    for (field, text) in content.fields() {
        if required.contains(&field) && text.trim().is_empty() {
            return Err(InvalidTemplate::Required { field });
        }
    }
    if let TemplateContent::Email(email) = content
        && email.html.trim().is_empty()
        && email.text.trim().is_empty()
    {
        return Err(InvalidTemplate::NoBody);
    }
    if let TemplateContent::AppPush(push) | TemplateContent::WebPush(push) = content {
        check_data(&push.data)?;
    }
    Ok(())
}

/// A push's data must stay a JSON object whatever its placeholders hold: filled with a value
/// full of quotes (escaped, as they are when sent), it must still parse as one.
fn check_data(data: &str) -> Result<(), InvalidTemplate> {
    if data.trim().is_empty() {
        return Ok(());
    }
    let template = Template::parse(data).map_err(|error| InvalidTemplate::Placeholder {
        field: "data",
        error,
    })?;
    let sample = template.fill(|_| json_string_contents("\"sample\""));
    match serde_json::from_str::<serde_json::Value>(&sample) {
        Ok(serde_json::Value::Object(_)) => Ok(()),
        Ok(_) => Err(InvalidTemplate::DataNotJson(
            "it is JSON, but not an object".to_owned(),
        )),
        Err(error) => Err(InvalidTemplate::DataNotJson(error.to_string())),
    }
}

/// `value` escaped to sit between a JSON string's quotes.
pub fn json_string_contents(value: &str) -> String {
    let quoted = serde_json::Value::String(value.to_owned()).to_string();
    quoted[1..quoted.len() - 1].to_owned()
}

/// How a filled value is escaped in `field`: HTML in an email's HTML part, JSON in a push's
/// data, as it is elsewhere.
fn escape_for(field: &str, value: &str) -> String {
    match field {
        "html" => html_escape(value),
        "data" => json_string_contents(value),
        _ => value.to_owned(),
    }
}

/// The template filled with `data`.
pub fn compose(
    content: &TemplateContent,
    data: &TemplateData<'_>,
) -> Result<Composed, InvalidTemplate> {
    Ok(Compiled::new(content.clone())?.compose(data))
}

/// A template with every field's placeholders parsed: what the message worker parses once per
/// round and fills once per message.
#[derive(Debug, Clone)]
pub struct Compiled {
    content: TemplateContent,
    fields: Vec<(&'static str, Template)>,
}

impl Compiled {
    pub fn new(content: TemplateContent) -> Result<Self, InvalidTemplate> {
        let fields = content
            .fields()
            .into_iter()
            .map(|(field, text)| {
                Template::parse(text)
                    .map(|template| (field, template))
                    .map_err(|error| InvalidTemplate::Placeholder { field, error })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { content, fields })
    }

    pub fn content(&self) -> &TemplateContent {
        &self.content
    }

    /// The template filled with `data`.
    pub fn compose(&self, data: &TemplateData<'_>) -> Composed {
        self.fill(|field, template| {
            let rendered = template.render_with(data, |value| escape_for(field, value));
            let text = if field == "data" && rendered.text.trim().is_empty() {
                // A provider's JSON request inserts it as it is: it must be JSON.
                "{}".to_owned()
            } else {
                rendered.text
            };
            (text, rendered.missing)
        })
    }

    /// Each field as `each` fills it, with the placeholders it lacked.
    fn fill(
        &self,
        mut each: impl FnMut(&'static str, &Template) -> (String, Vec<String>),
    ) -> Composed {
        let mut missing = Vec::new();
        let content = self.content.map_fields(|field, _| {
            let Some((_, template)) = self.fields.iter().find(|(name, _)| *name == field) else {
                return String::new();
            };
            let (text, lacking) = each(field, template);
            for placeholder in lacking {
                if !missing.contains(&placeholder) {
                    missing.push(placeholder);
                }
            }
            // A header cannot span lines: a contact's value must not add headers.
            if matches!(field, "from" | "reply_to" | "subject" | "title") {
                text.replace(['\r', '\n'], " ")
            } else {
                text
            }
        });
        Composed { content, missing }
    }
}

/// The template with each placeholder shown as its default, or as `[contact.first_name]`:
/// a preview without a contact.
pub fn sample(content: &TemplateContent) -> Result<Composed, InvalidTemplate> {
    Ok(Compiled::new(content.clone())?.fill(|field, template| {
        let text = template.fill(|placeholder| {
            let shown = placeholder
                .default
                .clone()
                .unwrap_or_else(|| format!("[{placeholder}]"));
            escape_for(field, &shown)
        });
        (text, Vec::new())
    }))
}

/// Escapes text for HTML content and attribute values.
pub fn html_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use app::api::{EmailContent, TextContent};
    use serde_json::{Map, Value, json};

    use super::*;

    fn contact() -> Map<String, Value> {
        json!({"first_name": "<Ana>", "city": "Lyon\r\nBcc: x@evil.example"})
            .as_object()
            .cloned()
            .expect("object")
    }

    fn data(contact: &Map<String, Value>) -> TemplateData<'_> {
        TemplateData {
            contact_external_id: "c-1",
            contact,
            event_name: None,
            event_occurred_at: None,
            event: None,
            journey_id: None,
            journey_name: None,
            message: None,
        }
    }

    fn email(subject: &str, html: &str) -> TemplateContent {
        TemplateContent::Email(EmailContent {
            from: "Shop <shop@example.com>".to_owned(),
            reply_to: String::new(),
            subject: subject.to_owned(),
            html: html.to_owned(),
            text: String::new(),
        })
    }

    #[test]
    fn html_values_are_escaped_and_headers_stay_on_one_line() {
        let contact = contact();
        let composed = compose(
            &email(
                "Hello from {{contact.city}}",
                "<p>Hi {{contact.first_name}} {{contact.last_name | default: \"friend\"}}</p>",
            ),
            &data(&contact),
        )
        .expect("compose");
        let TemplateContent::Email(email) = composed.content else {
            panic!("an email");
        };
        assert_eq!(email.html, "<p>Hi &lt;Ana&gt; friend</p>");
        assert_eq!(email.subject, "Hello from Lyon  Bcc: x@evil.example");
        assert_eq!(composed.missing, vec!["contact.last_name".to_owned()]);
    }

    fn push(data: &str) -> TemplateContent {
        TemplateContent::AppPush(app::api::PushContent {
            title: "Your order".to_owned(),
            body: "Hi".to_owned(),
            deep_link: String::new(),
            data: data.to_owned(),
        })
    }

    #[test]
    fn a_pushs_data_stays_a_json_object_whatever_the_contact_holds() {
        assert_eq!(validate(&push("")), Ok(()));
        assert_eq!(
            validate(&push(r#"{"who": "{{contact.first_name}}", "n": 1}"#)),
            Ok(())
        );
        for broken in [r#"{"who": {{contact.first_name}}}"#, "[1]", "{"] {
            let error = validate(&push(broken)).expect_err(broken);
            assert_eq!(error.field(), "data", "{broken}");
        }
        let contact = contact();
        let composed = compose(
            &push(r#"{"who": "{{contact.first_name}}", "city": "{{contact.city}}"}"#),
            &data(&contact),
        )
        .expect("compose");
        let TemplateContent::AppPush(filled) = composed.content else {
            panic!("a push");
        };
        let parsed: Value = serde_json::from_str(&filled.data).expect("JSON");
        assert_eq!(
            parsed,
            json!({"who": "<Ana>", "city": "Lyon\r\nBcc: x@evil.example"})
        );
        // Without data, a provider's JSON request still gets an object.
        let TemplateContent::AppPush(empty) = compose(&push(""), &data(&contact))
            .expect("compose")
            .content
        else {
            panic!("a push");
        };
        assert_eq!(empty.data, "{}");
    }

    #[test]
    fn saving_names_the_field_that_is_wrong() {
        let error = validate(&email("Hi {{contact.name", "<p>x</p>")).expect_err("unclosed");
        assert_eq!(error.field(), "subject");
        assert_eq!(
            validate(&email("", "<p>x</p>")),
            Err(InvalidTemplate::Required { field: "subject" })
        );
        assert_eq!(validate(&email("Hi", " ")), Err(InvalidTemplate::NoBody));
        assert_eq!(
            validate(&TemplateContent::Sms(TextContent::default())),
            Err(InvalidTemplate::Required { field: "text" })
        );
        assert_eq!(validate(&email("Hi {{contact.name}}", "<p>x</p>")), Ok(()));
    }

    #[test]
    fn a_sample_shows_defaults_and_names() {
        let composed = sample(&TemplateContent::Sms(TextContent {
            text: "Hi {{contact.first_name}}, {{event.total | default: \"0\"}} €".to_owned(),
            media_url: String::new(),
        }))
        .expect("sample");
        assert_eq!(
            composed.content,
            TemplateContent::Sms(TextContent {
                text: "Hi [contact.first_name], 0 €".to_owned(),
                media_url: String::new(),
            })
        );
    }
}
