//! Signing in: the sign-in page, the first admin's set-up page and the account page (where an
//! operator changes their password, which a one-time password requires first).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::pages::{PageHeader, action_error};
use crate::api::{PasswordChangeIn, Scope, SessionOut, SignInIn, client, client::ClientError};

/// Who is signed in, loaded once per page load by the app shell: pages ask it what to offer.
/// The server decides; this only hides what would be refused.
#[derive(Clone, Copy)]
pub struct Access(LocalResource<Result<SessionOut, ClientError>>);

impl Access {
    /// Loads the session, except on the pages for the signed-out (it would be a 401).
    pub fn load(signed_out_page: bool) -> Self {
        Self(LocalResource::new(move || async move {
            if signed_out_page {
                Err(ClientError::refused(
                    401,
                    "unauthenticated",
                    "not signed in",
                ))
            } else {
                client::session().await
            }
        }))
    }

    /// Whether the caller has `scope`; false until the session has loaded. Reactive.
    pub fn can(self, scope: Scope) -> bool {
        self.0
            .get()
            .is_some_and(|session| session.is_ok_and(|session| session.scopes.contains(&scope)))
    }

    /// [`Self::can`] for what a lazily loaded page shows or leaves out: false while the
    /// calling component hydrates (the server rendered it without a session), the session's
    /// answer from then on. Such a page hydrates once its code has arrived, when the session
    /// may have loaded already: reading it then made the page differ from the server's HTML
    /// and hydration panicked (`/webhooks`, about one CI run in five).
    pub fn can_once_hydrated(self, scope: Scope) -> Signal<bool> {
        let hydrated = RwSignal::new(false);
        // Effects run after the render they were created in, hydration included.
        Effect::new(move |_| hydrated.set(true));
        Signal::derive(move || hydrated.get() && self.can(scope))
    }

    fn session(self) -> Option<SessionOut> {
        self.0.get().and_then(Result::ok)
    }
}

/// The app shell's [`Access`].
pub fn use_access() -> Access {
    use_context::<Access>().unwrap_or_else(|| Access::load(true))
}

/// A full page load of `path`, so that every part of the page learns the new session.
fn go_to(path: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(window) = web_sys::window() {
        let _ = window.location().assign(path);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = path;
}

/// Where to go after signing in: the page that sent the operator here, if it is one of ours.
fn local_target(next: Option<String>) -> String {
    next.filter(|path| path.starts_with('/') && !path.starts_with("//") && !path.contains('\\'))
        .unwrap_or_else(|| "/journeys".to_owned())
}

/// After signing in: the account page first if the password is a one-time one.
fn after_sign_in(session: &SessionOut, next: Option<String>) {
    if session
        .operator
        .as_ref()
        .is_some_and(|operator| operator.must_change_password)
    {
        go_to("/account");
    } else {
        go_to(&local_target(next));
    }
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let query = use_query_map();
    let (email, set_email) = signal(String::new());
    let (password, set_password) = signal(String::new());
    let sign_in = Action::new_local(move |input: &SignInIn| {
        let input = input.clone();
        async move { client::sign_in(&input).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(session)) = sign_in.value().get() {
            after_sign_in(&session, query.get_untracked().get("next"));
        }
    });
    view! {
        <Title text="Sign in"/>
        <PageHeader title="Sign in"/>
        <form class="account-form" aria-label="Sign in" on:submit=move |event| {
            event.prevent_default();
            sign_in.dispatch(SignInIn { email: email.get_untracked(), password: password.get_untracked() });
        }>
            <label for="sign-in-email">"Email"</label>
            <input id="sign-in-email" type="email" autocomplete="username" required
                prop:value=email on:input=move |event| set_email.set(event_target_value(&event))/>
            <label for="sign-in-password">"Password"</label>
            <input id="sign-in-password" type="password" autocomplete="current-password" required
                prop:value=password on:input=move |event| set_password.set(event_target_value(&event))/>
            <button type="submit" disabled=sign_in.pending()>"Sign in"</button>
            {action_error(sign_in)}
        </form>
    }
}

#[component]
pub fn SetupPage() -> impl IntoView {
    let (email, set_email) = signal(String::new());
    let (password, set_password) = signal(String::new());
    let set_up = Action::new_local(move |input: &SignInIn| {
        let input = input.clone();
        async move { client::set_up(&input).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(session)) = set_up.value().get() {
            after_sign_in(&session, None);
        }
    });
    view! {
        <Title text="Set up"/>
        <PageHeader title="Set up Wayfarer"/>
        <p class="hint">
            "Create the first operator, an admin who can then invite the others. Once an operator \
             exists, this page only says so."
        </p>
        <form class="account-form" aria-label="Set up" on:submit=move |event| {
            event.prevent_default();
            set_up.dispatch(SignInIn { email: email.get_untracked(), password: password.get_untracked() });
        }>
            <label for="setup-email">"Your email"</label>
            <input id="setup-email" type="email" autocomplete="username" required
                prop:value=email on:input=move |event| set_email.set(event_target_value(&event))/>
            <label for="setup-password">"Choose a password (at least 12 characters)"</label>
            <input id="setup-password" type="password" autocomplete="new-password" required minlength="12"
                prop:value=password on:input=move |event| set_password.set(event_target_value(&event))/>
            <button type="submit" disabled=set_up.pending()>"Create admin and sign in"</button>
            {action_error(set_up)}
        </form>
        <p class="hint">"Already set up? " <a href="/sign-in">"Sign in"</a></p>
    }
}

#[component]
pub fn AccountPage() -> impl IntoView {
    let session = LocalResource::new(client::session);
    let (current, set_current) = signal(String::new());
    let (new, set_new) = signal(String::new());
    let change = Action::new_local(move |input: &PasswordChangeIn| {
        let input = input.clone();
        async move { client::change_password(&input).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = change.value().get() {
            go_to("/journeys");
        }
    });
    let must_change = move || {
        session.get().is_some_and(|session| {
            session.is_ok_and(|session| {
                session
                    .operator
                    .is_some_and(|operator| operator.must_change_password)
            })
        })
    };
    view! {
        <Title text="Account"/>
        <PageHeader title="Your account"/>
        <Show when=must_change>
            <p class="notice" role="status">
                "You signed in with a one-time password: choose your own to go on."
            </p>
        </Show>
        <form class="account-form" aria-label="Change password" on:submit=move |event| {
            event.prevent_default();
            change.dispatch(PasswordChangeIn {
                current_password: current.get_untracked(),
                new_password: new.get_untracked(),
            });
        }>
            <label for="current-password">"Current password"</label>
            <input id="current-password" type="password" autocomplete="current-password" required
                prop:value=current on:input=move |event| set_current.set(event_target_value(&event))/>
            <label for="new-password">"New password (at least 12 characters)"</label>
            <input id="new-password" type="password" autocomplete="new-password" required minlength="12"
                prop:value=new on:input=move |event| set_new.set(event_target_value(&event))/>
            <button type="submit" disabled=change.pending()>"Change password"</button>
            {action_error(change)}
        </form>
    }
}

/// The operator's email and a sign-out button, in the header; a banner when the server lets
/// anyone in.
#[component]
pub fn SessionControls() -> impl IntoView {
    let access = use_access();
    let sign_out = Action::new_local(|(): &()| client::sign_out());
    Effect::new(move |_| {
        if let Some(Ok(())) = sign_out.value().get() {
            go_to("/sign-in");
        }
    });
    move || {
        access.session().map(|session| {
            let insecure = session.insecure_no_auth;
            let email = session.operator.map(|operator| operator.email);
            view! {
                {insecure.then(|| view! {
                    <p class="insecure-banner" role="alert">
                        "Open to anyone: this server runs with --insecure-no-auth."
                    </p>
                })}
                {email.map(|email| view! {
                    <div class="session-controls">
                        <a href="/account" class="operator-email">{email}</a>
                        <button type="button" class="secondary" on:click=move |_| { sign_out.dispatch(()); }>
                            "Sign out"
                        </button>
                    </div>
                })}
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(local_target(Some("/webhooks?x=1".into())), "/webhooks?x=1");
        assert_eq!(local_target(Some("//evil.example".into())), "/journeys");
        assert_eq!(
            local_target(Some("https://evil.example".into())),
            "/journeys"
        );
        assert_eq!(local_target(Some("/\\evil.example".into())), "/journeys");
        assert_eq!(local_target(None), "/journeys");
    }
}
