//! A channel's settings: which contact attribute holds the address, which one opts a contact
//! out, and (for every channel but email) the HTTP provider that sends its messages and the
//! way its receipts are read. Checked when saved so that a mistake shows in the form, not in
//! a message that fails hours later.

use app::{
    api::{
        ChannelIn, ChannelOut, FrequencyCap, HttpMethod, ProviderBodyFormat, ProviderIn,
        ProviderOut, QuietHours, ReceiptAuthIn, ReceiptAuthOut, ReceiptsIn, ReceiptsOut,
        StatusMapping,
    },
    journey::{Activity, Channel, KeyValue},
    template::Template,
};
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{email, json_path, pacing, provider};
use crate::store::ChannelRow;
use crate::webhook::{
    Auth, auth_from_input, auth_out, check_headers, check_pairs, check_url, mask, same_origin,
    trimmed_names,
};

const MAX_ATTRIBUTE_CHARS: usize = 200;
const MAX_STATUSES: usize = 50;
const MAX_CAP_MESSAGES: u32 = 1_000;
const MAX_CAP_HOURS: u32 = 720;

/// Everything wrong with a channel's settings, each a sentence saying what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.join(" "))]
pub struct InvalidChannel(pub Vec<String>);

/// A channel's settings as stored (sealed, since they hold the provider's secrets).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelSettings {
    pub address_attribute: String,
    pub opt_out_attribute: String,
    pub provider: Option<Provider>,
    #[serde(default)]
    pub frequency_cap: Option<FrequencyCap>,
    /// Stored with its defaults filled in.
    #[serde(default)]
    pub quiet_hours: Option<QuietHours>,
    /// Email only: how the SMTP relay's reports are read (the others' are the provider's).
    #[serde(default)]
    pub receipts: Option<Receipts>,
    /// Email only: its own SMTP relay, instead of `--smtp-url`.
    #[serde(default)]
    pub smtp_url: Option<String>,
}

/// The request sent for each message, and how the provider's receipts are read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provider {
    pub url: String,
    pub method: HttpMethod,
    pub body_format: ProviderBodyFormat,
    pub body: String,
    pub headers: Vec<KeyValue>,
    pub auth: Auth,
    pub answer_id_path: String,
    pub receipts: Receipts,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Receipts {
    pub auth: ReceiptAuth,
    pub message_path: String,
    pub status_path: String,
    pub statuses: Vec<StatusMapping>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ReceiptAuth {
    Hmac { header: String, secret: String },
    Basic { username: String, password: String },
}

/// Every channel's settings as a round of the message worker reads them.
pub struct Channels {
    settings: HashMap<Channel, Result<ChannelSettings, String>>,
    /// The quiet hours of channels that have them, parsed, with the zone attribute.
    quiet: HashMap<Channel, (pacing::Quiet, String)>,
}

impl Channels {
    /// The stored settings, and the defaults of channels nobody set up.
    pub fn of(rows: Vec<ChannelRow>, email_attribute: &str) -> Self {
        let mut settings: HashMap<_, _> = Channel::ALL
            .iter()
            .map(|&channel| {
                (
                    channel,
                    Ok(ChannelSettings::default_for(channel, email_attribute)),
                )
            })
            .collect();
        for row in rows {
            settings.insert(row.channel, ChannelSettings::parse(&row));
        }
        let quiet = settings
            .iter()
            .filter_map(|(channel, settings)| {
                let hours = settings.as_ref().ok()?.quiet_hours.as_ref()?;
                // Checked when saved; settings that no longer parse send at any hour.
                let parsed = pacing::check(hours).ok()?;
                Some((*channel, (parsed, hours.time_zone_attribute.clone())))
            })
            .collect();
        Self { settings, quiet }
    }

    /// The channel's quiet hours and the attribute naming a contact's zone, if it has them.
    pub fn quiet(&self, channel: Channel) -> Option<(&pacing::Quiet, &str)> {
        self.quiet
            .get(&channel)
            .map(|(quiet, attribute)| (quiet, attribute.as_str()))
    }

    /// The channel's settings, or why they cannot be used.
    pub fn get(&self, channel: Channel) -> Result<&ChannelSettings, String> {
        match self.settings.get(&channel) {
            Some(Ok(settings)) => Ok(settings),
            Some(Err(problem)) => Err(problem.clone()),
            None => Err(format!("the {channel} channel has no settings")),
        }
    }
}

impl ChannelSettings {
    /// The settings a row holds, or why they cannot be read.
    pub fn parse(row: &ChannelRow) -> Result<Self, String> {
        serde_json::from_str(&row.settings).map_err(|error| {
            tracing::error!(channel = %row.channel, %error, "stored channel settings cannot be read");
            format!(
                "the {} channel's stored settings cannot be read ({error}); save them again",
                row.channel
            )
        })
    }

    /// What a channel does before anyone sets it up: the usual attribute names, no provider.
    /// `email_attribute` is the server's `--email-attribute`.
    pub fn default_for(channel: Channel, email_attribute: &str) -> Self {
        let (address, opt_out) = match channel {
            Channel::Email => (email_attribute, "unsubscribed"),
            Channel::Sms => ("phone", "sms_opt_out"),
            Channel::Whatsapp => ("phone", "whatsapp_opt_out"),
            Channel::Rcs => ("phone", "rcs_opt_out"),
            Channel::AppPush | Channel::WebPush => ("push_token", "push_opt_out"),
        };
        Self {
            address_attribute: address.to_owned(),
            opt_out_attribute: opt_out.to_owned(),
            provider: None,
            frequency_cap: None,
            quiet_hours: None,
            receipts: None,
            smtp_url: None,
        }
    }

    /// The settings `input` asks for; secrets it leaves out are kept from `current` while the
    /// provider's URL stays on the same host.
    pub fn from_input(
        channel: Channel,
        input: ChannelIn,
        current: &Self,
        defaults: &Self,
    ) -> Result<Self, InvalidChannel> {
        let mut problems = Vec::new();
        let mut attribute = |given: Option<String>, default: &str, what: &str| {
            let name = given.map(|name| name.trim().to_owned()).unwrap_or_default();
            if name.is_empty() {
                return default.to_owned();
            }
            if name.chars().count() > MAX_ATTRIBUTE_CHARS {
                problems.push(format!(
                    "The {what} attribute's name has at most {MAX_ATTRIBUTE_CHARS} characters."
                ));
            }
            name
        };
        let address_attribute = attribute(
            input.address_attribute,
            &defaults.address_attribute,
            "address",
        );
        let opt_out_attribute = attribute(
            input.opt_out_attribute,
            &defaults.opt_out_attribute,
            "opt-out",
        );
        let provider = match (channel, input.provider) {
            (Channel::Email, Some(_)) => {
                problems.push(
                    "Email goes out through the server's SMTP relay (--smtp-url); it takes no \
                     HTTP provider."
                        .to_owned(),
                );
                None
            }
            (_, None) => None,
            (_, Some(provider)) => Some(Provider::from_input(
                provider,
                current.provider.as_ref(),
                &mut problems,
            )),
        };
        let receipts = match (channel, input.receipts) {
            (_, None) => None,
            (Channel::Email, Some(receipts)) => Some(Receipts::from_input(
                receipts,
                current.receipts.as_ref().map(|kept| &kept.auth),
                &mut problems,
            )),
            (_, Some(_)) => {
                problems.push(
                    "receipts: this channel reads its receipts with its provider; set them in \
                     provider.receipts."
                        .to_owned(),
                );
                None
            }
        };
        let smtp_url = match (channel, input.smtp_url) {
            (_, None) => None,
            (Channel::Email, Some(url)) if url.trim().is_empty() => None,
            (Channel::Email, Some(url)) => {
                let url = mask::unmasked_url(
                    url.trim().to_owned(),
                    current.smtp_url.as_deref().unwrap_or_default(),
                );
                if url.contains(mask::MASK) {
                    // The masked password came back with another address: it was not kept.
                    problems.push(
                        "smtp_url: the relay's address changed, so its stored password is not \
                         sent there: type the password again."
                            .to_owned(),
                    );
                } else if let Err(problem) = check_smtp_url(&url) {
                    problems.push(problem);
                }
                Some(url)
            }
            (_, Some(_)) => {
                problems.push("smtp_url: only the email channel goes out through SMTP.".to_owned());
                None
            }
        };
        if let Some(cap) = input.frequency_cap {
            if !(1..=MAX_CAP_MESSAGES).contains(&cap.max_messages) {
                problems.push(format!(
                    "frequency_cap.max_messages is between 1 and {MAX_CAP_MESSAGES}."
                ));
            }
            if !(1..=MAX_CAP_HOURS).contains(&cap.per_hours) {
                problems.push(format!(
                    "frequency_cap.per_hours is between 1 and {MAX_CAP_HOURS} (30 days)."
                ));
            }
        }
        let quiet_hours = input.quiet_hours.map(|quiet| {
            if let Err(problem) = pacing::check(&quiet) {
                problems.push(problem);
            }
            QuietHours {
                start: quiet.start.trim().to_owned(),
                end: quiet.end.trim().to_owned(),
                time_zone_attribute: pacing::zone_attribute(&quiet.time_zone_attribute).to_owned(),
                default_time_zone: pacing::zone_name(&quiet.default_time_zone).to_owned(),
            }
        });
        if problems.is_empty() {
            Ok(Self {
                address_attribute,
                opt_out_attribute,
                provider,
                frequency_cap: input.frequency_cap,
                quiet_hours,
                receipts,
                smtp_url,
            })
        } else {
            Err(InvalidChannel(problems))
        }
    }

    /// The settings as the API shows them: no secret.
    pub fn out(&self, channel: Channel) -> ChannelOut {
        ChannelOut {
            channel,
            address_attribute: self.address_attribute.clone(),
            opt_out_attribute: self.opt_out_attribute.clone(),
            provider: self.provider.as_ref().map(Provider::out),
            frequency_cap: self.frequency_cap,
            quiet_hours: self.quiet_hours.clone(),
            receipts: self.receipts.as_ref().map(Receipts::out),
            smtp_url: self.smtp_url.as_deref().map(mask::masked_url),
            ready: false,
            problem: None,
            receipt_path: (channel != Channel::Email || self.receipts.is_some())
                .then(|| format!("/api/v1/receipts/{}", channel.as_str())),
            updated_at: None,
        }
    }
}

impl Provider {
    fn from_input(input: ProviderIn, current: Option<&Self>, problems: &mut Vec<String>) -> Self {
        let url = input.url.trim().to_owned();
        // A secret is not sent to a new host unless it is typed again.
        let kept = current.filter(|current| same_origin(&current.url, &url));
        let url = mask::unmasked_url(url, kept.map_or("", |kept| &kept.url));
        check_url(&url, true, problems);
        let method = input.method.unwrap_or(HttpMethod::Post);
        let auth = auth_from_input(
            input.auth,
            kept.map_or(&Auth::None, |kept| &kept.auth),
            problems,
        );
        let headers = trimmed_names(mask::unmasked_headers(
            input.headers,
            kept.map_or(&[], |kept| kept.headers.as_slice()),
        ));
        check_pairs("header", &headers, true, problems);
        check_headers(&headers, &auth, problems);
        check_body(input.body_format, method, &input.body, problems);
        let answer_id_path = input.answer_id_path.trim().to_owned();
        if !answer_id_path.is_empty()
            && let Err(error) = json_path::check(&answer_id_path)
        {
            problems.push(format!("answer_id_path: {error}."));
        }
        let receipts = Receipts::from_input(
            input.receipts,
            kept.map(|kept| &kept.receipts.auth),
            problems,
        );
        Self {
            url,
            method,
            body_format: input.body_format,
            body: input.body,
            headers,
            auth,
            answer_id_path,
            receipts,
        }
    }

    fn out(&self) -> ProviderOut {
        ProviderOut {
            url: mask::masked_url(&self.url),
            method: self.method,
            body_format: self.body_format,
            body: self.body.clone(),
            headers: mask::masked_headers(&self.headers),
            auth: auth_out(&self.auth),
            answer_id_path: self.answer_id_path.clone(),
            receipts: self.receipts.out(),
        }
    }
}

impl Receipts {
    fn from_input(
        input: ReceiptsIn,
        kept: Option<&ReceiptAuth>,
        problems: &mut Vec<String>,
    ) -> Self {
        for (what, path) in [
            ("message_path", &input.message_path),
            ("status_path", &input.status_path),
        ] {
            if path.trim().is_empty() {
                problems.push(format!(
                    "receipts.{what}: say where a provider's report gives it (e.g. $.MessageSid)."
                ));
            } else if let Err(error) = json_path::check(path) {
                problems.push(format!("receipts.{what}: {error}."));
            }
        }
        let mut secret = |given: Option<String>, kept: Option<&String>, what: &str| match given
            .or_else(|| kept.cloned())
        {
            Some(secret) if !secret.is_empty() => secret,
            _ => {
                problems.push(format!(
                    "receipts.auth: the {what} providers sign their reports with is required \
                         (reports are open to the internet otherwise)."
                ));
                String::new()
            }
        };
        let auth = match input.auth {
            ReceiptAuthIn::Hmac {
                header,
                secret: given,
            } => {
                let kept = match kept {
                    Some(ReceiptAuth::Hmac { secret, .. }) => Some(secret),
                    _ => None,
                };
                let secret = secret(given, kept, "secret");
                let header = header.trim().to_owned();
                if axum::http::HeaderName::from_bytes(header.as_bytes()).is_err() {
                    problems.push(format!(
                        "receipts.auth: \"{header}\" is not a header name (e.g. X-Signature)."
                    ));
                }
                ReceiptAuth::Hmac { header, secret }
            }
            ReceiptAuthIn::Basic {
                username,
                password: given,
            } => {
                let kept = match kept {
                    Some(ReceiptAuth::Basic { password, .. }) => Some(password),
                    _ => None,
                };
                let password = secret(given, kept, "password");
                if username.trim().is_empty() || username.contains(':') {
                    problems.push(
                        "receipts.auth: basic authentication needs a user name without \":\"."
                            .to_owned(),
                    );
                }
                ReceiptAuth::Basic { username, password }
            }
        };
        let mut statuses: Vec<StatusMapping> = Vec::new();
        if input.statuses.len() > MAX_STATUSES {
            problems.push(format!(
                "receipts.statuses: at most {MAX_STATUSES} statuses."
            ));
        }
        for mapping in input.statuses {
            let status = mapping.status.trim().to_owned();
            if status.is_empty() {
                problems.push("receipts.statuses: a status has no word.".to_owned());
            } else if statuses
                .iter()
                .any(|seen| seen.status.eq_ignore_ascii_case(&status))
            {
                problems.push(format!("receipts.statuses: \"{status}\" is given twice."));
            }
            statuses.push(StatusMapping {
                status,
                activity: mapping.activity,
            });
        }
        Self {
            auth,
            message_path: input.message_path.trim().to_owned(),
            status_path: input.status_path.trim().to_owned(),
            statuses,
        }
    }

    /// The settings as the API shows them: whether a secret is set, never the secret.
    fn out(&self) -> ReceiptsOut {
        ReceiptsOut {
            auth: match &self.auth {
                ReceiptAuth::Hmac { header, secret } => ReceiptAuthOut::Hmac {
                    header: header.clone(),
                    secret_set: !secret.is_empty(),
                },
                ReceiptAuth::Basic { username, password } => ReceiptAuthOut::Basic {
                    username: username.clone(),
                    password_set: !password.is_empty(),
                },
            },
            message_path: self.message_path.clone(),
            status_path: self.status_path.clone(),
            statuses: self.statuses.clone(),
        }
    }

    /// The activity a report's status stands for, if it is one.
    pub fn activity(&self, status: &str) -> Option<Activity> {
        let status = status.trim();
        if !self.statuses.is_empty() {
            return self
                .statuses
                .iter()
                .find(|mapping| mapping.status.eq_ignore_ascii_case(status))
                .map(|mapping| mapping.activity);
        }
        match status.to_ascii_lowercase().as_str() {
            "delivered" | "delivery" => Some(Activity::Delivered),
            "read" | "opened" | "open" | "seen" => Some(Activity::Opened),
            "clicked" | "click" => Some(Activity::Clicked),
            "failed" | "undelivered" | "rejected" | "expired" | "error" => Some(Activity::Failed),
            "bounced" | "bounce" => Some(Activity::Bounced),
            _ => None,
        }
    }
}

/// An SMTP relay's URL must be one lettre takes, and say where to connect.
fn check_smtp_url(url: &str) -> Result<(), String> {
    if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
        return Err(
            "smtp_url: an SMTP relay's URL starts with smtps:// (TLS) or smtp:// (add \
             ?tls=required for STARTTLS)."
                .to_owned(),
        );
    }
    email::Mailer::new(url)
        .map(drop)
        .map_err(|error| format!("smtp_url: {error}."))
}

/// The body must be one the format can send, and a JSON body must stay JSON whatever the
/// placeholders hold (their values are escaped as string contents).
fn check_body(
    format: ProviderBodyFormat,
    method: HttpMethod,
    body: &str,
    problems: &mut Vec<String>,
) {
    let template = match Template::parse(body) {
        Ok(template) => template,
        Err(error) => {
            problems.push(format!("The body has a bad placeholder: {error}."));
            return;
        }
    };
    match format {
        ProviderBodyFormat::None => {
            if !body.trim().is_empty() {
                problems.push(
                    "The body format is none: put the message in the URL's query, or choose \
                     json or form."
                        .to_owned(),
                );
            }
        }
        ProviderBodyFormat::Json | ProviderBodyFormat::Form => {
            if method == HttpMethod::Get {
                problems.push("A body cannot go with GET: use POST, PUT or PATCH.".to_owned());
            }
            if body.trim().is_empty() {
                problems.push(
                    "The provider's request needs a body (e.g. with {{message.text}}).".to_owned(),
                );
            } else if format == ProviderBodyFormat::Json {
                let sample = template.fill(|placeholder| {
                    if provider::is_push_data(placeholder) {
                        "{}".to_owned()
                    } else {
                        "sample".to_owned()
                    }
                });
                if let Err(error) = serde_json::from_str::<serde_json::Value>(&sample) {
                    problems.push(format!(
                        "The body is not JSON once its placeholders are filled ({error}); put \
                         placeholders inside strings, e.g. \"text\": \"{{{{message.text}}}}\"."
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use app::api::AuthIn;

    use super::*;

    fn sms_input() -> ProviderIn {
        ProviderIn {
            url: "https://sms.example/v1/messages".to_owned(),
            method: None,
            body_format: ProviderBodyFormat::Form,
            body: "To={{message.to}}&Body={{message.text}}".to_owned(),
            headers: Vec::new(),
            auth: AuthIn::Basic {
                username: "account".to_owned(),
                password: Some("s3cret".to_owned()),
            },
            answer_id_path: "$.sid".to_owned(),
            receipts: ReceiptsIn {
                auth: ReceiptAuthIn::Hmac {
                    header: "X-Signature".to_owned(),
                    secret: Some("shared".to_owned()),
                },
                message_path: "$.MessageSid".to_owned(),
                status_path: "$.MessageStatus".to_owned(),
                statuses: Vec::new(),
            },
        }
    }

    fn saved(channel: Channel, input: ChannelIn, current: &ChannelSettings) -> ChannelSettings {
        ChannelSettings::from_input(
            channel,
            input,
            current,
            &ChannelSettings::default_for(channel, "email"),
        )
        .expect("valid")
    }

    #[test]
    fn secrets_left_out_are_kept_on_the_same_host_only() {
        let defaults = ChannelSettings::default_for(Channel::Sms, "email");
        let first = saved(
            Channel::Sms,
            ChannelIn {
                provider: Some(sms_input()),
                ..ChannelIn::default()
            },
            &defaults,
        );
        assert_eq!(first.address_attribute, "phone");
        let mut again = sms_input();
        again.auth = AuthIn::Basic {
            username: "account".to_owned(),
            password: None,
        };
        again.receipts.auth = ReceiptAuthIn::Hmac {
            header: "X-Signature".to_owned(),
            secret: None,
        };
        let second = saved(
            Channel::Sms,
            ChannelIn {
                provider: Some(again.clone()),
                ..ChannelIn::default()
            },
            &first,
        );
        assert_eq!(second.provider, first.provider);

        again.url = "https://elsewhere.example/v1/messages".to_owned();
        let moved = ChannelSettings::from_input(
            Channel::Sms,
            ChannelIn {
                provider: Some(again),
                ..ChannelIn::default()
            },
            &first,
            &defaults,
        )
        .expect_err("secrets needed again");
        assert!(moved.to_string().contains("password"), "{moved}");
        assert!(moved.to_string().contains("receipts.auth"), "{moved}");
    }

    #[test]
    fn mistakes_are_named() {
        let defaults = ChannelSettings::default_for(Channel::Sms, "email");
        let mut input = sms_input();
        input.body_format = ProviderBodyFormat::Json;
        input.body = "{\"text\": {{message.text}}}".to_owned();
        input.receipts.status_path = "$..status".to_owned();
        input.url = "https://{{contact.host}}/send".to_owned();
        let error = ChannelSettings::from_input(
            Channel::Sms,
            ChannelIn {
                provider: Some(input),
                ..ChannelIn::default()
            },
            &defaults,
            &defaults,
        )
        .expect_err("invalid");
        let text = error.to_string();
        assert!(text.contains("not JSON"), "{text}");
        assert!(text.contains("receipts.status_path"), "{text}");
        assert!(text.contains("host"), "{text}");

        let email = ChannelSettings::from_input(
            Channel::Email,
            ChannelIn {
                provider: Some(sms_input()),
                ..ChannelIn::default()
            },
            &defaults,
            &defaults,
        )
        .expect_err("email takes no provider");
        assert!(email.to_string().contains("SMTP"));
    }

    #[test]
    fn statuses_map_to_activities() {
        let provider = saved(
            Channel::Sms,
            ChannelIn {
                provider: Some(sms_input()),
                ..ChannelIn::default()
            },
            &ChannelSettings::default_for(Channel::Sms, "email"),
        )
        .provider
        .expect("provider");
        assert_eq!(
            provider.receipts.activity("DELIVERED"),
            Some(Activity::Delivered)
        );
        assert_eq!(
            provider.receipts.activity("undelivered"),
            Some(Activity::Failed)
        );
        assert_eq!(provider.receipts.activity("read"), Some(Activity::Opened));
        assert_eq!(provider.receipts.activity("queued"), None);
        let custom = Receipts {
            statuses: vec![StatusMapping {
                status: "DLVRD".to_owned(),
                activity: Activity::Delivered,
            }],
            ..provider.receipts
        };
        assert_eq!(custom.activity("dlvrd"), Some(Activity::Delivered));
        assert_eq!(custom.activity("delivered"), None);
    }
}
