//! Form parts more than one page uses.

use leptos::prelude::*;

use crate::{
    api::AuthKind,
    journey::{Channel, KeyValue},
};

/// A channel as people name it.
pub(super) fn channel_label(channel: Channel) -> &'static str {
    match channel {
        Channel::Email => "Email",
        Channel::Sms => "SMS",
        Channel::AppPush => "App push",
        Channel::WebPush => "Web push",
        Channel::Whatsapp => "WhatsApp",
        Channel::Rcs => "RCS",
    }
}

/// A whole-number setting between `min` and `max`, labelled, with an optional hint. What is
/// not a number yet (an emptied field while typing) leaves the value as it was.
#[component]
pub(super) fn NumberField(
    label: &'static str,
    value: RwSignal<u32>,
    min: u32,
    max: u32,
    #[prop(optional)] hint: &'static str,
) -> impl IntoView {
    view! {
        <label class="field">
            <span class="field-label">{label}</span>
            <input type="number" min=min max=max
                prop:value=move || value.get().to_string()
                on:input=move |event| {
                    if let Ok(number) = event_target_value(&event).trim().parse() {
                        value.set(number);
                    }
                }/>
            {(!hint.is_empty()).then(|| view! { <span class="field-hint">{hint}</span> })}
        </label>
    }
}

/// Key/value rows (custom data, headers) with add and remove. Rows are drawn by position, so
/// typing into one keeps its focus while the list is written back through `set_rows`.
#[component]
pub(super) fn KeyValueRows(
    legend: &'static str,
    /// Names each row for screen readers and tests: "{name} 1 key".
    name: &'static str,
    rows: Signal<Vec<KeyValue>>,
    set_rows: Callback<Vec<KeyValue>>,
    key_placeholder: &'static str,
    value_placeholder: &'static str,
    #[prop(optional)] hint: &'static str,
    /// Called when a field loses focus.
    #[prop(optional)]
    on_blur: Option<Callback<()>>,
    /// Offers a "Secret" box per row (a webhook's headers): its value is never shown again.
    #[prop(optional)]
    secret_toggle: bool,
) -> impl IntoView {
    let change = move |change: &dyn Fn(&mut Vec<KeyValue>)| {
        let mut all = rows.get_untracked();
        change(&mut all);
        set_rows.run(all);
    };
    let blurred = move |_| {
        // A field also loses its focus when its form goes away (another node selected);
        // the callback may be gone by then, and there is nothing left to tell.
        if let Some(on_blur) = on_blur {
            on_blur.try_run(());
        }
    };
    view! {
        <fieldset class="rules">
            <legend>{legend}</legend>
            {move || {
                (0..rows.with(Vec::len))
                    .map(|index| {
                        let read = move |pick: fn(&KeyValue) -> &String| {
                            rows.with(|rows| rows.get(index).map(|row| pick(row).clone()).unwrap_or_default())
                        };
                        view! {
                            <div class="rule-row">
                                <input type="text" aria-label=format!("{name} {} key", index + 1)
                                    placeholder=key_placeholder
                                    prop:value=move || read(|row| &row.key)
                                    on:input=move |event| {
                                        let key = event_target_value(&event);
                                        change(&|rows| if let Some(row) = rows.get_mut(index) { row.key = key.clone(); });
                                    }
                                    on:blur=blurred
                                />
                                <input type="text" aria-label=format!("{name} {} value", index + 1)
                                    placeholder=value_placeholder
                                    prop:value=move || read(|row| &row.value)
                                    on:input=move |event| {
                                        let value = event_target_value(&event);
                                        change(&|rows| if let Some(row) = rows.get_mut(index) { row.value = value.clone(); });
                                    }
                                    on:blur=blurred
                                />
                                {secret_toggle.then(|| view! {
                                    <label class="checkbox secret-toggle">
                                        <input type="checkbox" aria-label=format!("{name} {} secret", index + 1)
                                            prop:checked=move || rows.with(|rows| rows.get(index).is_some_and(|row| row.secret))
                                            on:change=move |event| {
                                                let secret = event_target_checked(&event);
                                                change(&|rows| if let Some(row) = rows.get_mut(index) { row.secret = secret; });
                                            }
                                        />
                                        "Secret"
                                    </label>
                                })}
                                <button type="button" class="icon-button" aria-label=format!("Remove {name} {}", index + 1)
                                    on:click=move |_| change(&|rows| if index < rows.len() { rows.remove(index); })
                                >"×"</button>
                            </div>
                        }
                    })
                    .collect_view()
            }}
            <button type="button" class="secondary"
                on:click=move |_| change(&|rows| rows.push(KeyValue::default()))
            >{format!("+ Add {name}")}</button>
            {(!hint.is_empty()).then(|| view! { <span class="field-hint">{hint}</span> })}
        </fieldset>
    }
}

/// A write-only secret: it starts empty, and says so while the server holds one that an empty
/// input keeps.
#[component]
pub(super) fn SecretField(
    label: &'static str,
    typed: RwSignal<String>,
    /// Whether the server holds a secret for this field.
    stored: Signal<bool>,
) -> impl IntoView {
    view! {
        <label class="field">
            <span class="field-label">{label}</span>
            <input type="password" autocomplete="new-password"
                placeholder=move || if stored.get() { "stored, unchanged; type to replace" } else { "" }
                prop:value=typed on:input=move |event| typed.set(event_target_value(&event))/>
        </label>
    }
}

/// How outgoing requests authenticate (a webhook's, a channel provider's), and the fields that
/// choice needs: a user name or a header name, and the secret.
#[component]
pub(super) fn AuthFields(
    kind: RwSignal<AuthKind>,
    /// The user name (basic) or the header's name (API key).
    name: RwSignal<String>,
    secret: RwSignal<String>,
    /// Whether the server holds a secret that an empty secret field keeps.
    stored: Signal<bool>,
    username_placeholder: &'static str,
) -> impl IntoView {
    let choice = |option: AuthKind, label: &'static str| {
        view! { <option value=option.as_str() selected=move || kind.get() == option>{label}</option> }
    };
    let fields = move || {
        let chosen = kind.get();
        let name_field = match chosen {
            AuthKind::Basic => Some(("Username", username_placeholder)),
            AuthKind::ApiKey => Some(("Header", "X-API-Key")),
            AuthKind::None | AuthKind::Bearer => None,
        };
        let secret_label = match chosen {
            AuthKind::None => return None,
            AuthKind::Basic => "Password",
            AuthKind::Bearer => "Token",
            AuthKind::ApiKey => "Key",
        };
        Some(view! {
            {name_field.map(|(label, placeholder)| view! {
                <label class="field">
                    <span class="field-label">{label}</span>
                    <input type="text" placeholder=placeholder prop:value=name
                        on:input=move |event| name.set(event_target_value(&event))/>
                </label>
            })}
            <SecretField label=secret_label typed=secret stored/>
        })
    };
    view! {
        <label class="field">
            <span class="field-label">"Authentication"</span>
            <select on:change=move |event| {
                if let Ok(chosen) = event_target_value(&event).parse::<AuthKind>() {
                    // A user name is no header, nor the other way round.
                    name.set(String::new());
                    kind.set(chosen);
                }
            }>
                {choice(AuthKind::None, "None")}
                {choice(AuthKind::Basic, "Basic (username and password)")}
                {choice(AuthKind::Bearer, "Bearer token")}
                {choice(AuthKind::ApiKey, "API key in a header")}
            </select>
        </label>
        {fields}
    }
}
