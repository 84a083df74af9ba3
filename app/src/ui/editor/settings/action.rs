//! An action's settings: the channel and the message it sends.

use leptos::prelude::*;

use super::{
    NodeForm,
    fields::{Field, TextSetting},
};
use crate::journey::{Channel, NodeKind};

fn channel_label(channel: Channel) -> &'static str {
    match channel {
        Channel::Email => "Email",
        Channel::Sms => "SMS",
        Channel::AppPush => "App push",
        Channel::WebPush => "Web push",
        Channel::Whatsapp => "WhatsApp",
        Channel::Rcs => "RCS",
    }
}

#[component]
pub(super) fn ActionSettings(form: NodeForm) -> impl IntoView {
    let current = move || {
        form.read(|kind| match kind {
            NodeKind::Action(action) => Some(action.channel),
            _ => None,
        })
    };
    view! {
        <Field label="Channel" hint="">
            <select name="channel"
                on:change=move |event| {
                    if let Ok(channel) = event_target_value(&event).parse::<Channel>() {
                        form.edit(|kind| if let NodeKind::Action(action) = kind {
                            action.channel = channel;
                        });
                    }
                }
            >
                {Channel::ALL.iter().map(|&channel| view! {
                    <option value=channel.as_str() selected=move || current() == Some(channel)>
                        {channel_label(channel)}
                    </option>
                }).collect_view()}
            </select>
        </Field>
        <TextSetting form label="Message" hint="the template's name, e.g. cart-reminder" name="message"
            get=|kind| match kind {
                NodeKind::Action(action) => action.message.clone(),
                _ => String::new(),
            }
            set=|kind, value| if let NodeKind::Action(action) = kind {
                action.message = value;
            }
        />
    }
}
