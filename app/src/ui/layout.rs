use leptos::prelude::*;
use leptos_router::{components::A, hooks::use_location};

use super::access::SessionControls;

/// The frame around every page: product name and the primary navigation.
#[component]
pub fn AppShell(children: Children) -> impl IntoView {
    let location = use_location();
    view! {
        <div class="app-shell">
            <header class="app-header">
                <a class="brand" href="/journeys">"Wayfarer"</a>
                <nav class="primary-nav" aria-label="Primary">
                    // `A` marks the current page with aria-current="page", which the stylesheet
                    // and screen readers both use.
                    <A href="/journeys">"Journeys"</A>
                    <A href="/webhooks">"Webhooks"</A>
                    <A href="/contacts">"Contacts"</A>
                </nav>
                // The signed-out pages ask no one who is signed in.
                <Show when=move || !matches!(location.pathname.get().as_str(), "/sign-in" | "/setup")>
                    <SessionControls/>
                </Show>
            </header>
            <main class="app-main">{children()}</main>
        </div>
    }
}
