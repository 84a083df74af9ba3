//! Page bodies. Each page states what it will hold until its feature lands.

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn JourneysPage() -> impl IntoView {
    view! {
        <Title text="Journeys"/>
        <PageHeader title="Journeys"/>
        <EmptyState>
            "Journeys you build on the canvas will be listed here with their status, version and \
             the contacts in them."
        </EmptyState>
    }
}

#[component]
pub fn WebhooksPage() -> impl IntoView {
    view! {
        <Title text="Webhooks"/>
        <PageHeader title="Webhooks"/>
        <EmptyState>
            "Webhooks send contact and event data to your other systems when a contact reaches a \
             webhook node. They will be configured and tested here."
        </EmptyState>
    }
}

#[component]
pub fn ContactsPage() -> impl IntoView {
    view! {
        <Title text="Contacts"/>
        <PageHeader title="Contacts"/>
        <EmptyState>
            "Contacts, their attributes, recent events and the journeys they are in will be \
             searchable here."
        </EmptyState>
    }
}

#[component]
pub fn NotFoundPage() -> impl IntoView {
    view! {
        <Title text="Page not found"/>
        <PageHeader title="Page not found"/>
        <EmptyState>
            "There is no page at this address. Use the navigation above to find your way back."
        </EmptyState>
    }
}

#[component]
fn PageHeader(title: &'static str) -> impl IntoView {
    view! {
        <div class="page-header">
            <h1>{title}</h1>
        </div>
    }
}

#[component]
fn EmptyState(children: Children) -> impl IntoView {
    view! { <p class="empty-state">{children()}</p> }
}
