//! Leptos components. `App` owns the router; each page lives in its own module.

mod access;
mod admin;
mod channels;
mod contacts;
mod editor;
mod fields;
mod layout;
mod pages;
mod templates;
mod webhooks;

use leptos::prelude::*;
use leptos_meta::{Stylesheet, Title, provide_meta_context};
use leptos_router::{
    Lazy, LazyRoute,
    components::{Route, Router, Routes},
    lazy_route, path,
};

use access::{AccountPage, SetupPage, SignInPage};
use admin::{ApiKeysPage, AuditPage, OperatorsPage};
use channels::ChannelsPage;
use contacts::ContactsPage;
use editor::EditorPage;
use layout::AppShell;
use pages::{JourneysPage, NotFoundPage};
use templates::TemplatesPage;
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
                    <Route path=path!("/templates") view={Lazy::<TemplatesRoute>::new()}/>
                    <Route path=path!("/contacts") view={Lazy::<ContactsRoute>::new()}/>
                    <Route path=path!("/channels") view={Lazy::<ChannelsRoute>::new()}/>
                    <Route path=path!("/sign-in") view=SignInPage/>
                    <Route path=path!("/setup") view=SetupPage/>
                    <Route path=path!("/account") view=AccountPage/>
                    <Route path=path!("/operators") view=OperatorsPage/>
                    <Route path=path!("/api-keys") view=ApiKeysPage/>
                    <Route path=path!("/audit") view=AuditPage/>
                </Routes>
            </AppShell>
        </Router>
    }
}

/// A page whose code the browser fetches when it is first opened: `cargo leptos build --split`
/// cuts the module at each of these, so the journeys list (the first page) starts without the
/// editor's code.
macro_rules! lazy_page {
    ($route:ident shows $page:ident) => {
        struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                Self
            }

            fn view(_this: Self) -> AnyView {
                view! { <$page/> }.into_any()
            }
        }
    };
}

lazy_page!(EditorRoute shows EditorPage);
lazy_page!(WebhooksRoute shows WebhooksPage);
lazy_page!(TemplatesRoute shows TemplatesPage);
lazy_page!(ContactsRoute shows ContactsPage);
lazy_page!(ChannelsRoute shows ChannelsPage);
