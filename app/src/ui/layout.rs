use leptos::prelude::*;
use leptos_router::{components::A, hooks::use_location};

use super::access::{Access, SessionControls};
use crate::api::Scope;

/// The frame around every page: product name and the primary navigation.
#[component]
pub fn AppShell(children: Children) -> impl IntoView {
    let location = use_location();
    let signed_out_page = move || {
        matches!(
            location.pathname.get_untracked().as_str(),
            "/sign-in" | "/setup"
        )
    };
    let access = Access::load(signed_out_page());
    provide_context(access);
    view! {
        <div class="app-shell">
            <header class="app-header">
                <a class="brand" href="/journeys">"Wayfarer"</a>
                <nav class="primary-nav" aria-label="Primary">
                    // `A` marks the current page with aria-current="page", which the stylesheet
                    // and screen readers both use.
                    <A href="/journeys">"Journeys"</A>
                    <A href="/webhooks">"Webhooks"</A>
                    <A href="/templates">"Templates"</A>
                    <A href="/contacts">"Contacts"</A>
                    <Show when=move || access.can(Scope::Admin)>
                        <A href="/channels">"Channels"</A>
                        <A href="/operators">"Operators"</A>
                        <A href="/api-keys">"API keys"</A>
                        <A href="/audit">"Audit log"</A>
                    </Show>
                </nav>
                // The signed-out pages ask no one who is signed in.
                <Show when=move || !signed_out_page()>
                    <SessionControls/>
                </Show>
            </header>
            <main class="app-main">{children()}</main>
        </div>
    }
}
