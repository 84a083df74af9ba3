//! An action's settings: the channel and the template it sends, picked among the templates of
//! that channel.

use leptos::prelude::*;

use super::{NodeForm, fields::Field};
use crate::{
    ids::TemplateId,
    journey::{Action, Channel, NodeKind},
    ui::fields::channel_label,
};

#[component]
pub(super) fn ActionSettings(form: NodeForm) -> impl IntoView {
    let templates = form.state.templates;
    let action = Memo::new(move |_| {
        form.read(|kind| match kind {
            NodeKind::Action(action) => Some(action.clone()),
            _ => None,
        })
    });
    let channel = move || action.with(|action| action.as_ref().map(|action| action.channel));
    let picked = move || action.with(|action| action.as_ref().and_then(|action| action.template));
    let choose_channel = move |channel: Channel| {
        // The template goes with the channel it was written for.
        let fits = |id: TemplateId| {
            templates.with_untracked(|list| {
                list.iter()
                    .any(|template| template.id == id && template.channel == channel)
            })
        };
        form.edit(|kind| {
            if let NodeKind::Action(action) = kind {
                action.channel = channel;
                if !action.template.is_some_and(fits) {
                    action.template = None;
                }
            }
        });
    };
    let choose_template = move |chosen: Option<TemplateId>| {
        form.edit(|kind| {
            if let NodeKind::Action(action) = kind {
                action.template = chosen;
                if chosen.is_some() {
                    action.message.clear();
                }
            }
        });
    };
    view! {
        <Field label="Channel" hint="">
            <select name="channel"
                on:change=move |event| {
                    if let Ok(chosen) = event_target_value(&event).parse::<Channel>() {
                        choose_channel(chosen);
                    }
                }
            >
                {Channel::ALL.iter().map(|&option| view! {
                    <option value=option.as_str() selected=move || channel() == Some(option)>
                        {channel_label(option)}
                    </option>
                }).collect_view()}
            </select>
        </Field>
        <Field label="Template" hint="">
            <select name="template"
                on:change=move |event| choose_template(event_target_value(&event).parse().ok())
            >
                <option value="" selected=move || picked().is_none()>"— pick a template —"</option>
                {move || {
                    let (channel, picked) = (channel(), picked());
                    let mut found = false;
                    let options = templates.with(|list| {
                        list.iter()
                            .filter(|template| Some(template.channel) == channel)
                            .map(|template| {
                                let selected = picked == Some(template.id);
                                found |= selected;
                                view! {
                                    <option value=template.id.to_string() selected=selected>
                                        {template.name.clone()}
                                    </option>
                                }
                            })
                            .collect::<Vec<_>>()
                    });
                    // A template deleted since, or of another channel: said, not silently dropped.
                    let missing = picked.filter(|_| !found).map(|id| view! {
                        <option value=id.to_string() selected=true>
                            {format!("template {id} (missing)")}
                        </option>
                    });
                    view! { {options} {missing} }
                }}
            </select>
        </Field>
        {move || legacy_message(action.get()).map(|message| view! {
            <p class="field-hint legacy-message">{format!("was: {message}")}</p>
        })}
        <p class="field-hint">
            <a href="/templates" target="_blank">"Manage templates"</a>
        </p>
    }
}

/// The template name a node saved before templates were assets, while no template is picked.
fn legacy_message(action: Option<Action>) -> Option<String> {
    action
        .filter(|action| action.template.is_none() && !action.message.trim().is_empty())
        .map(|action| action.message)
}
