//! The template form: name, channel (chosen once, when the template is new), the channel's
//! fields, and "Preview", which fills the placeholders of what the form shows without saving.

use leptos::prelude::*;

use super::{Editing, TemplateList, preview::TemplatePreview};
use crate::{
    api::{
        TemplateContent, TemplateIn, TemplateOut, TemplatePreviewIn,
        client::{self, ClientError},
    },
    journey::Channel,
    ui::{
        fields::channel_label,
        pages::{ErrorNotice, action_error},
    },
};

/// How the form shows one field of a channel's content.
struct Shape {
    label: &'static str,
    example: &'static str,
    /// A text area rather than a line.
    long: bool,
}

/// The label, example and size of `field` (a name of [`TemplateContent::fields`]).
fn shape(channel: Channel, field: &str) -> Shape {
    let (label, example, long) = match field {
        "from" => ("From", "Shop <shop@example.com>", false),
        "reply_to" => ("Reply-to", "support@example.com (optional)", false),
        "subject" => (
            "Subject",
            "{{contact.first_name}}, your cart is waiting",
            false,
        ),
        "html" => ("HTML body", "<p>Hi {{contact.first_name}}, …</p>", true),
        "text" if channel == Channel::Email => ("Text body", "Hi {{contact.first_name}}, …", true),
        "text" => (
            "Text",
            "Hi {{contact.first_name}}, your cart is waiting",
            true,
        ),
        "media_url" => (
            "Media URL",
            "https://shop.example/cart.png (optional)",
            false,
        ),
        "title" => ("Title", "Your cart is waiting", false),
        "body" => ("Body", "Hi {{contact.first_name}}, finish your order", true),
        "deep_link" => ("Deep link", "shop://cart (optional)", false),
        "data" => (
            "Data (JSON object)",
            "{\"order\": \"{{event.order_id}}\"} (optional)",
            true,
        ),
        _ => ("", "", false),
    };
    Shape {
        label,
        example,
        long,
    }
}

/// A field's label, as the form and the preview name it.
pub(super) fn field_label(channel: Channel, field: &str) -> &'static str {
    shape(channel, field).label
}

#[component]
pub(super) fn TemplateForm(
    initial: Option<TemplateOut>,
    editing: RwSignal<Editing>,
    /// Set to the template's name once it is saved (the form then closes).
    saved: RwSignal<Option<String>>,
    templates: TemplateList,
) -> impl IntoView {
    let id = initial.as_ref().map(|template| template.id);
    let name = RwSignal::new(
        initial
            .as_ref()
            .map(|template| template.name.clone())
            .unwrap_or_default(),
    );
    let content = RwSignal::new(initial.map_or_else(
        || TemplateContent::empty(Channel::Email),
        |template| template.content,
    ));
    let contact = RwSignal::new(String::new());
    let save = Action::new_local(move |_: &()| {
        let input = TemplateIn {
            name: name.get_untracked(),
            content: content.get_untracked(),
        };
        async move {
            let stored = match id {
                None => client::create_template(&input).await?,
                Some(id) => client::save_template(id, &input).await?,
            };
            templates.refetch();
            saved.set(Some(stored.name));
            editing.set(Editing::Closed);
            Ok::<_, ClientError>(())
        }
    });
    let preview = Action::new_local(move |_: &()| {
        let contact = contact.get_untracked().trim().to_owned();
        let input = TemplatePreviewIn {
            content: content.get_untracked(),
            contact: (!contact.is_empty()).then_some(contact),
        };
        async move { client::preview_template(&input).await }
    });
    let busy = move || save.pending().get() || preview.pending().get();
    let choose_channel = move |channel: Channel| {
        if content.with_untracked(TemplateContent::channel) != channel {
            content.set(TemplateContent::empty(channel));
            // A preview of another channel's content would only confuse.
            preview.value().set(None);
        }
    };
    view! {
        <form class="webhook-form template-form" aria-label="Template settings" on:submit=move |event| {
            event.prevent_default();
            save.dispatch(());
        }>
            <h2>{if id.is_some() { "Edit template" } else { "New template" }}</h2>
            <div class="form-grid">
                <label class="field">
                    <span class="field-label">"Name"</span>
                    <input type="text" name="name" placeholder="Cart reminder" prop:value=name
                        on:input=move |event| name.set(event_target_value(&event))/>
                </label>
                {if id.is_none() {
                    view! { <ChannelChoice content choose=Callback::new(choose_channel)/> }.into_any()
                } else {
                    view! {
                        <div class="field">
                            <span class="field-label">"Channel"</span>
                            <span class="channel-fixed">
                                {move || channel_label(content.with(TemplateContent::channel))}
                            </span>
                        </div>
                    }
                        .into_any()
                }}
                <ContentFields content/>
            </div>
            <p class="field-hint">
                "Placeholders: {{contact.first_name}}, {{event.<property>}}, {{journey.name}}; \
                 with a default: {{contact.first_name | default: \"there\"}}."
            </p>
            <label class="field preview-contact">
                <span class="field-label">"Preview for contact"</span>
                <input type="text" name="contact" placeholder="External id, e.g. user-42; empty: sample values"
                    prop:value=contact on:input=move |event| contact.set(event_target_value(&event))/>
            </label>
            <div class="form-actions">
                <button type="submit" disabled=busy>"Save"</button>
                <button type="button" class="secondary" disabled=busy on:click=move |_| { preview.dispatch(()); }>
                    "Preview"
                </button>
                <button type="button" class="secondary" on:click=move |_| editing.set(Editing::Closed)>
                    "Cancel"
                </button>
            </div>
            {action_error(save)}
            {move || preview.value().get().map(|result| match result {
                Ok(preview) => view! { <TemplatePreview preview/> }.into_any(),
                Err(error) => view! { <ErrorNotice error/> }.into_any(),
            })}
        </form>
    }
}

/// The channel of a new template; choosing another starts its content afresh.
#[component]
fn ChannelChoice(content: RwSignal<TemplateContent>, choose: Callback<Channel>) -> impl IntoView {
    let current = Memo::new(move |_| content.with(TemplateContent::channel));
    view! {
        <label class="field">
            <span class="field-label">"Channel"</span>
            <select name="channel" on:change=move |event| {
                if let Ok(channel) = event_target_value(&event).parse::<Channel>() {
                    choose.run(channel);
                }
            }>
                {Channel::ALL.iter().map(|&channel| view! {
                    <option value=channel.as_str() selected=move || current.get() == channel>
                        {channel_label(channel)}
                    </option>
                }).collect_view()}
            </select>
        </label>
    }
}

/// The fields of the content's channel; drawn again only when the channel changes.
#[component]
fn ContentFields(content: RwSignal<TemplateContent>) -> impl IntoView {
    let channel = Memo::new(move |_| content.with(TemplateContent::channel));
    move || {
        let channel = channel.get();
        let fields: Vec<&'static str> = TemplateContent::empty(channel)
            .fields()
            .into_iter()
            .map(|(field, _)| field)
            .collect();
        fields
            .into_iter()
            .map(|field| view! { <ContentField content channel field/> })
            .collect_view()
    }
}

/// One text of the content, named by its field (`name="subject"`) for forms and tests.
#[component]
fn ContentField(
    content: RwSignal<TemplateContent>,
    channel: Channel,
    field: &'static str,
) -> impl IntoView {
    let Shape {
        label,
        example,
        long,
    } = shape(channel, field);
    let value = move || {
        content.with(|content| {
            content
                .fields()
                .into_iter()
                .find(|(name, _)| *name == field)
                .map(|(_, text)| text.to_owned())
                .unwrap_or_default()
        })
    };
    let write = move |event| {
        let typed = event_target_value(&event);
        content.update(|content| {
            *content = content.map_fields(|name, text| {
                if name == field {
                    typed.clone()
                } else {
                    text.to_owned()
                }
            });
        });
    };
    let input = if long {
        view! {
            <textarea name=field rows="6" placeholder=example prop:value=value on:input=write></textarea>
        }
        .into_any()
    } else {
        view! { <input type="text" name=field placeholder=example prop:value=value on:input=write/> }
            .into_any()
    };
    view! {
        <label class=if long { "field full" } else { "field" }>
            <span class="field-label">{label}</span>
            {input}
        </label>
    }
}
