//! Leptos components. `App` owns the router; each page lives in its own module.

mod contacts;
mod editor;
mod fields;
mod layout;
mod pages;
mod webhooks;

use leptos::prelude::*;
use leptos_meta::{Stylesheet, Title, provide_meta_context};
use leptos_router::{
    components::{Route, Router, Routes},
    path,
};

use contacts::ContactsPage;
use editor::EditorPage;
use layout::AppShell;
use pages::{JourneysPage, NotFoundPage};
use webhooks::WebhooksPage;

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    view! {
        <Stylesheet id="wayfarer" href="/pkg/wayfarer.css"/>
        <Title formatter=|page: String| {
            if page.is_empty() { "Wayfarer".to_owned() } else { format!("{page} · Wayfarer") }
        }/>
        <Router>
            <AppShell>
                <Routes fallback=NotFoundPage>
                    <Route path=path!("/journeys") view=JourneysPage/>
                    <Route path=path!("/journeys/:id") view=EditorPage/>
                    <Route path=path!("/webhooks") view=WebhooksPage/>
                    <Route path=path!("/contacts") view=ContactsPage/>
                </Routes>
            </AppShell>
        </Router>
    }
}
