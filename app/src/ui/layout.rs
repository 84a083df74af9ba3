use leptos::prelude::*;
use leptos_router::components::A;

/// The frame around every page: product name and the primary navigation.
#[component]
pub fn AppShell(children: Children) -> impl IntoView {
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
            </header>
            <main class="app-main">{children()}</main>
        </div>
    }
}
