//! A template as a contact would receive it. An email's HTML is shown in a sandboxed frame
//! with no allowances: its scripts never run, its forms never submit, and it cannot reach
//! this page.

use leptos::prelude::*;

use super::form::field_label;
use crate::api::{EmailContent, TemplateContent, TemplatePreviewOut};

#[component]
pub(super) fn TemplatePreview(preview: TemplatePreviewOut) -> impl IntoView {
    let TemplatePreviewOut { content, missing } = preview;
    let missing = (!missing.is_empty()).then(|| {
        view! {
            <p class="field-hint preview-missing" role="note">
                {format!("No value for (shown empty or as their default): {}", missing.join(", "))}
            </p>
        }
    });
    let body = match content {
        TemplateContent::Email(email) => view! { <EmailPreview email/> }.into_any(),
        other => view! { <TextPreview content=other/> }.into_any(),
    };
    view! {
        <section class="template-preview" aria-label="Template preview">
            <h3>"Preview"</h3>
            {body}
            {missing}
        </section>
    }
}

#[component]
fn EmailPreview(email: EmailContent) -> impl IntoView {
    let EmailContent {
        from,
        reply_to,
        subject,
        html,
        text,
    } = email;
    view! {
        <dl class="preview-fields">
            <dt>"From"</dt>
            <dd data-field="from">{from}</dd>
            {(!reply_to.is_empty()).then(|| view! {
                <dt>"Reply-to"</dt>
                <dd data-field="reply_to">{reply_to}</dd>
            })}
            <dt>"Subject"</dt>
            <dd data-field="subject">{subject}</dd>
        </dl>
        {(!html.is_empty()).then(|| view! {
            <iframe class="preview-html" data-field="html" title="HTML part" sandbox="" srcdoc=html></iframe>
        })}
        {(!text.is_empty()).then(|| view! {
            <pre class="preview-text" data-field="text" aria-label="Text part">{text}</pre>
        })}
    }
}

/// SMS, WhatsApp, RCS and push: each field that has a text, as text.
#[component]
fn TextPreview(content: TemplateContent) -> impl IntoView {
    let channel = content.channel();
    let rows = content
        .fields()
        .into_iter()
        .filter(|(_, text)| !text.is_empty())
        .map(|(field, text)| {
            view! {
                <dt>{field_label(channel, field)}</dt>
                <dd data-field=field>{text.to_owned()}</dd>
            }
        })
        .collect_view();
    view! { <dl class="preview-fields">{rows}</dl> }
}
