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
    Lazy, LazyRoute,
    components::{Route, Router, Routes},
    lazy_route, path,
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
                    <Route path=path!("/journeys/:id") view={Lazy::<EditorRoute>::new()}/>
                    <Route path=path!("/webhooks") view={Lazy::<WebhooksRoute>::new()}/>
                    <Route path=path!("/contacts") view={Lazy::<ContactsRoute>::new()}/>
                </Routes>
            </AppShell>
        </Router>
    }
}

// The editor, webhooks and contacts pages are lazy routes: `cargo leptos build --split` puts
// their code in modules of their own that the browser fetches when the page is first opened,
// so the journeys list (the first page) starts without the editor's code.

struct EditorRoute;

#[lazy_route]
impl LazyRoute for EditorRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <EditorPage/> }.into_any()
    }
}

struct WebhooksRoute;

#[lazy_route]
impl LazyRoute for WebhooksRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <WebhooksPage/> }.into_any()
    }
}

struct ContactsRoute;

#[lazy_route]
impl LazyRoute for ContactsRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <ContactsPage/> }.into_any()
    }
}
