//! Contacts: search by external id or email; a contact's attributes, recent events and the
//! journeys they are in, with the node they are at.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use serde_json::Value;

use super::pages::{ErrorNotice, PageHeader, utc_minutes};
use crate::api::{ContactOut, client};

#[component]
pub fn ContactsPage() -> impl IntoView {
    let (search, set_search) = signal(String::new());
    let selected = RwSignal::new(None::<String>);
    let found = LocalResource::new(move || {
        let search = search.get();
        async move { client::search_contacts(&search).await }
    });
    view! {
        <Title text="Contacts"/>
        <PageHeader title="Contacts"/>
        <form class="inline-form" role="search" on:submit=|event| event.prevent_default()>
            <label for="contact-search">"Find a contact"</label>
            <input
                id="contact-search"
                type="search"
                placeholder="External id or email, e.g. ana@example.com"
                prop:value=search
                on:input=move |event| set_search.set(event_target_value(&event))
            />
        </form>
        <div class="contacts-layout">
            <section aria-label="Contacts found">
                <Transition fallback=|| view! { <p class="loading">"Searching…"</p> }>
                    {move || {
                        found
                            .get()
                            .map(|result| match result {
                                Err(error) => view! { <ErrorNotice error/> }.into_any(),
                                Ok(contacts) if contacts.is_empty() => {
                                    view! {
                                        <p class="empty-state">
                                            "No contact matches. Contacts arrive through the API \
                                             (PUT /api/v1/contacts/{id})."
                                        </p>
                                    }
                                        .into_any()
                                }
                                Ok(contacts) => {
                                    view! { <ContactList contacts selected/> }.into_any()
                                }
                            })
                    }}
                </Transition>
            </section>
            {move || {
                selected
                    .get()
                    .map(|external_id| view! { <ContactDetail external_id/> })
            }}
        </div>
    }
}

#[component]
fn ContactList(contacts: Vec<ContactOut>, selected: RwSignal<Option<String>>) -> impl IntoView {
    let rows = contacts
        .into_iter()
        .map(|contact| {
            let id = contact.external_id.clone();
            let email = contact
                .attributes
                .get("email")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            let current = {
                let id = id.clone();
                move || selected.get().as_deref() == Some(id.as_str())
            };
            view! {
                <li>
                    <button
                        type="button"
                        class="contact-item"
                        aria-pressed=move || current().to_string()
                        on:click=move |_| selected.set(Some(id.clone()))
                    >
                        <span class="contact-id">{contact.external_id}</span>
                        <span class="contact-email">{email}</span>
                    </button>
                </li>
            }
        })
        .collect_view();
    view! { <ul class="contact-list">{rows}</ul> }
}

#[component]
fn ContactDetail(external_id: String) -> impl IntoView {
    let id = external_id.clone();
    let loaded = LocalResource::new(move || {
        let id = id.clone();
        async move {
            let contact = client::contact(&id).await?;
            let activity = client::contact_activity(&id).await?;
            Ok::<_, client::ClientError>((contact, activity))
        }
    });
    view! {
        <section class="contact-detail" aria-label=format!("Contact {external_id}")>
            <Transition fallback=|| view! { <p class="loading">"Loading the contact…"</p> }>
                {move || {
                    loaded
                        .get()
                        .map(|result| match result {
                            Err(error) => view! { <ErrorNotice error/> }.into_any(),
                            Ok((contact, activity)) => {
                                let attributes = contact
                                    .attributes
                                    .iter()
                                    .map(|(name, value)| {
                                        let value = match value {
                                            Value::String(text) => text.clone(),
                                            other => other.to_string(),
                                        };
                                        view! {
                                            <tr>
                                                <th scope="row">{name.clone()}</th>
                                                <td>{value}</td>
                                            </tr>
                                        }
                                    })
                                    .collect_view();
                                let events = activity
                                    .events
                                    .into_iter()
                                    .map(|event| {
                                        view! {
                                            <li>
                                                <span class="event-name">{event.name}</span>
                                                <span class="when">{utc_minutes(event.occurred_at)}</span>
                                            </li>
                                        }
                                    })
                                    .collect_view();
                                let journeys = activity
                                    .journeys
                                    .into_iter()
                                    .map(|run| {
                                        let name = run
                                            .journey_name
                                            .clone()
                                            .unwrap_or_else(|| format!("journey {} (deleted)", run.journey_id));
                                        view! {
                                            <tr>
                                                <td>
                                                    <A href=format!("/journeys/{}", run.journey_id)>{name}</A>
                                                </td>
                                                <td>{format!("v{}", run.version)}</td>
                                                <td>{run.node_id.to_string()}</td>
                                                <td>
                                                    <span class=format!("pill run-{}", run.state)>{run.state.as_str()}</span>
                                                </td>
                                                <td>{utc_minutes(run.entered_at)}</td>
                                            </tr>
                                        }
                                    })
                                    .collect_view();
                                view! {
                                    <h2>{contact.external_id}</h2>
                                    <h3>"Attributes"</h3>
                                    <table class="data-table compact">
                                        <tbody>{attributes}</tbody>
                                    </table>
                                    <h3>"Journeys"</h3>
                                    <table class="data-table compact">
                                        <thead>
                                            <tr>
                                                <th scope="col">"Journey"</th>
                                                <th scope="col">"Version"</th>
                                                <th scope="col">"At node"</th>
                                                <th scope="col">"State"</th>
                                                <th scope="col">"Entered (UTC)"</th>
                                            </tr>
                                        </thead>
                                        <tbody>{journeys}</tbody>
                                    </table>
                                    <h3>"Recent events"</h3>
                                    <ul class="event-list">{events}</ul>
                                }
                                    .into_any()
                            }
                        })
                }}
            </Transition>
        </section>
    }
}
