//! Admin pages: operators (invite, role, deactivate, reset password), API keys (create with
//! scopes, shown once; revoke) and the audit log (filter by actor and action, page back).

use leptos::prelude::*;
use leptos_meta::Title;

use super::pages::{DataTable, ErrorNotice, LoadedList, PageHeader, action_error, utc_minutes};
use crate::{
    api::{
        ApiKeyIn, ApiKeyOut, AuditAction, AuditEntryOut, AuditQuery, OperatorIn, OperatorOut,
        OperatorPatch, Role, Scope, client,
    },
    ids::{ApiKeyId, AuditEntryId, OperatorId},
};

#[component]
pub fn OperatorsPage() -> impl IntoView {
    let operators = LocalResource::new(client::operators);
    let (email, set_email) = signal(String::new());
    let (role, set_role) = signal(Role::Editor);
    let create = Action::new_local(|input: &OperatorIn| {
        let input = input.clone();
        async move { client::create_operator(&input).await }
    });
    let change = Action::new_local(|(id, patch): &(OperatorId, OperatorPatch)| {
        let (id, patch) = (*id, patch.clone());
        async move { client::update_operator(id, &patch).await }
    });
    let reset = Action::new_local(|id: &OperatorId| {
        let id = *id;
        async move { client::reset_operator_password(id).await }
    });
    Effect::new(move |_| {
        if create.version().get() + change.version().get() + reset.version().get() > 0 {
            operators.refetch();
        }
    });
    // The one-time password of the last invitation or reset, shown once.
    let handed_over = move || {
        let created = create.value().get().and_then(Result::ok);
        let reset = reset.value().get().and_then(Result::ok);
        created.or(reset).and_then(|out| {
            out.one_time_password.map(|password| {
                view! {
                    <p class="notice" role="status">
                        "One-time password for " {out.operator.email} ": " <code class="secret">{password}</code>
                        " — give it to them now; it is not shown again, and they choose their own at sign-in."
                    </p>
                }
            })
        })
    };
    view! {
        <Title text="Operators"/>
        <PageHeader title="Operators"/>
        <form class="inline-form" aria-label="Invite an operator" on:submit=move |event| {
            event.prevent_default();
            create.dispatch(OperatorIn { email: email.get_untracked(), role: role.get_untracked(), password: None });
        }>
            <label for="operator-email">"Invite"</label>
            <input id="operator-email" type="email" placeholder="bo@example.com" required
                prop:value=email on:input=move |event| set_email.set(event_target_value(&event))/>
            <label for="operator-role" class="visually-hidden">"Role"</label>
            <select id="operator-role" on:change=move |event| {
                if let Ok(chosen) = event_target_value(&event).parse() { set_role.set(chosen); }
            }>
                {Role::ALL.iter().map(|option| view! {
                    <option value=option.as_str() selected=move || role.get() == *option>{option.as_str()}</option>
                }).collect_view()}
            </select>
            <button type="submit" disabled=create.pending()>"Create operator"</button>
        </form>
        {action_error(create)}
        {action_error(change)}
        {action_error(reset)}
        {handed_over}
        <LoadedList
            list=operators
            loading="Loading operators…"
            empty="No operators."
            show=move |list| view! { <OperatorTable operators=list change reset/> }
        />
    }
}

#[component]
fn OperatorTable(
    operators: Vec<OperatorOut>,
    change: Action<(OperatorId, OperatorPatch), Result<OperatorOut, client::ClientError>>,
    reset: Action<OperatorId, Result<crate::api::OperatorCreatedOut, client::ClientError>>,
) -> impl IntoView {
    let rows = operators
        .into_iter()
        .map(|operator| {
            let id = operator.id;
            let current = operator.role;
            let active = operator.active;
            let email = operator.email.clone();
            view! {
                <tr>
                    <td>{operator.email}</td>
                    <td>
                        <select aria-label=format!("Role of {email}") on:change=move |event| {
                            if let Ok(role) = event_target_value(&event).parse::<Role>() {
                                change.dispatch((id, OperatorPatch { role: Some(role), active: None }));
                            }
                        }>
                            {Role::ALL.iter().map(|option| view! {
                                <option value=option.as_str() selected=current == *option>{option.as_str()}</option>
                            }).collect_view()}
                        </select>
                    </td>
                    <td>{if active { "active" } else { "deactivated" }}</td>
                    <td>{operator.last_sign_in_at.map_or_else(|| "never".to_owned(), utc_minutes)}</td>
                    <td class="actions">
                        <button type="button" class="secondary" on:click=move |_| {
                            change.dispatch((id, OperatorPatch { role: None, active: Some(!active) }));
                        }>{if active { "Deactivate" } else { "Reactivate" }}</button>
                        <button type="button" class="secondary" on:click=move |_| { reset.dispatch(id); }>
                            "Reset password"
                        </button>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <DataTable columns=&["Email", "Role", "State", "Last sign-in (UTC)"] actions=true>
            {rows}
        </DataTable>
    }
}

#[component]
pub fn ApiKeysPage() -> impl IntoView {
    let keys = LocalResource::new(client::api_keys);
    let (name, set_name) = signal(String::new());
    let scopes = RwSignal::new(vec![Scope::EventsWrite, Scope::ContactsWrite]);
    let (days, set_days) = signal(String::new());
    let create = Action::new_local(|input: &ApiKeyIn| {
        let input = input.clone();
        async move { client::create_api_key(&input).await }
    });
    let revoke = Action::new_local(|id: &ApiKeyId| {
        let id = *id;
        async move { client::revoke_api_key(id).await }
    });
    Effect::new(move |_| {
        if create.version().get() + revoke.version().get() > 0 {
            keys.refetch();
        }
    });
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let expires_at = days
            .get_untracked()
            .trim()
            .parse::<i64>()
            .ok()
            .map(|days| now_millis() + days * 86_400_000);
        create.dispatch(ApiKeyIn {
            name: name.get_untracked(),
            scopes: scopes.get_untracked(),
            expires_at,
        });
    };
    view! {
        <Title text="API keys"/>
        <PageHeader title="API keys"/>
        <form class="account-form wide" aria-label="Create an API key" on:submit=submit>
            <label for="key-name">"Name (what uses it)"</label>
            <input id="key-name" type="text" placeholder="Shop events" required
                prop:value=name on:input=move |event| set_name.set(event_target_value(&event))/>
            <fieldset class="scopes">
                <legend>"Scopes"</legend>
                {Scope::ALL.iter().map(|scope| {
                    let scope = *scope;
                    view! {
                        <label class="checkbox">
                            <input type="checkbox"
                                prop:checked=move || scopes.with(|held| held.contains(&scope))
                                on:change=move |event| {
                                    let on = event_target_checked(&event);
                                    scopes.update(|held| {
                                        held.retain(|other| *other != scope);
                                        if on { held.push(scope); }
                                    });
                                }/>
                            {scope.as_str()}
                        </label>
                    }
                }).collect_view()}
            </fieldset>
            <label for="key-days">"Expires after (days; empty: never)"</label>
            <input id="key-days" type="number" min="1"
                prop:value=days on:input=move |event| set_days.set(event_target_value(&event))/>
            <button type="submit" disabled=create.pending()>"Create key"</button>
        </form>
        {action_error(create)}
        {action_error(revoke)}
        {move || create.value().get().and_then(Result::ok).map(|created| view! {
            <p class="notice" role="status">
                "The key for " {created.api_key.name} ": " <code class="secret">{created.key}</code>
                " — copy it now; it is not shown again. Send it as Authorization: Bearer <key>."
            </p>
        })}
        <LoadedList
            list=keys
            loading="Loading keys…"
            empty="No API keys yet."
            show=move |list| view! { <ApiKeyTable keys=list revoke/> }
        />
    }
}

#[component]
fn ApiKeyTable(
    keys: Vec<ApiKeyOut>,
    revoke: Action<ApiKeyId, Result<ApiKeyOut, client::ClientError>>,
) -> impl IntoView {
    let rows = keys
        .into_iter()
        .map(|key| {
            let id = key.id;
            let name = key.name.clone();
            let scopes = key
                .scopes
                .iter()
                .map(|scope| scope.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            let state = match (key.revoked_at, key.expires_at) {
                (Some(at), _) => format!("revoked {}", utc_minutes(at)),
                (None, Some(at)) => format!("expires {}", utc_minutes(at)),
                (None, None) => "active".to_owned(),
            };
            let revoked = key.revoked_at.is_some();
            view! {
                <tr>
                    <td>{key.name}</td>
                    <td><code>{key.prefix}</code></td>
                    <td>{scopes}</td>
                    <td>{key.created_by.unwrap_or_else(|| "the command line".to_owned())}</td>
                    <td>{key.last_used_at.map_or_else(|| "never".to_owned(), utc_minutes)}</td>
                    <td>{state}</td>
                    <td class="actions">
                        <button type="button" class="danger" hidden=revoked
                            aria-label=format!("Revoke {name}")
                            on:click=move |_| { revoke.dispatch(id); }>"Revoke"</button>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <DataTable
            columns=&["Name", "Key", "Scopes", "Created by", "Last used (UTC)", "State"]
            actions=true
        >
            {rows}
        </DataTable>
    }
}

/// Lines per page of the audit log.
const AUDIT_PAGE: i64 = 100;

#[component]
pub fn AuditPage() -> impl IntoView {
    let (actor, set_actor) = signal(String::new());
    let (action, set_action) = signal(None::<AuditAction>);
    // The ids each page starts after: the first page starts at the newest.
    let pages = RwSignal::new(Vec::<AuditEntryId>::new());
    let entries = LocalResource::new(move || {
        let query = AuditQuery {
            actor: Some(actor.get()),
            action: action.get(),
            before: pages.with(|pages| pages.last().copied()),
            limit: Some(AUDIT_PAGE),
        };
        async move { client::audit_log(&query).await }
    });
    view! {
        <Title text="Audit log"/>
        <PageHeader title="Audit log"/>
        <form class="inline-form" role="search" on:submit=|event| event.prevent_default()>
            <label for="audit-actor">"Who"</label>
            <input id="audit-actor" type="search" placeholder="ana@example.com"
                prop:value=actor on:input=move |event| {
                    set_actor.set(event_target_value(&event));
                    pages.set(Vec::new());
                }/>
            <label for="audit-action">"Action"</label>
            <select id="audit-action" on:change=move |event| {
                set_action.set(event_target_value(&event).parse().ok());
                pages.set(Vec::new());
            }>
                <option value="">"any"</option>
                {AuditAction::ALL.iter().map(|option| view! {
                    <option value=option.as_str()>{option.as_str()}</option>
                }).collect_view()}
            </select>
        </form>
        <Transition fallback=|| view! { <p class="loading">"Loading the audit log…"</p> }>
            {move || entries.get().map(|result| match result {
                Err(error) => view! { <ErrorNotice error/> }.into_any(),
                Ok(lines) => {
                    let oldest = lines.last().map(|line| line.id);
                    let full = i64::try_from(lines.len()).unwrap_or(0) == AUDIT_PAGE;
                    view! {
                        <AuditTable lines/>
                        <p class="pager">
                            <button type="button" class="secondary"
                                hidden=move || pages.with(Vec::is_empty)
                                on:click=move |_| pages.update(|pages| { pages.pop(); })>"Newer"</button>
                            <button type="button" class="secondary" hidden=!full
                                on:click=move |_| if let Some(oldest) = oldest {
                                    pages.update(|pages| pages.push(oldest));
                                }>"Older"</button>
                        </p>
                    }.into_any()
                }
            })}
        </Transition>
    }
}

#[component]
fn AuditTable(lines: Vec<AuditEntryOut>) -> impl IntoView {
    if lines.is_empty() {
        return view! { <p class="empty-state">"Nothing recorded that matches."</p> }.into_any();
    }
    let rows = lines
        .into_iter()
        .map(|line| {
            view! {
                <tr>
                    <td>{utc_minutes(line.at)}</td>
                    <td>{line.actor}</td>
                    <td>{line.action.as_str()}</td>
                    <td>{line.object.unwrap_or_default()}</td>
                    <td>{line.address.unwrap_or_default()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <DataTable columns=&["When (UTC)", "Who", "Did", "To", "From"]>
            {rows}
        </DataTable>
    }
    .into_any()
}

/// Now, in epoch milliseconds (the browser's clock; 0 on the server, which never submits).
fn now_millis() -> i64 {
    #[cfg(feature = "hydrate")]
    {
        #[expect(clippy::cast_possible_truncation, reason = "milliseconds fit an i64")]
        return js_sys_now() as i64;
    }
    #[cfg(not(feature = "hydrate"))]
    0
}

#[cfg(feature = "hydrate")]
fn js_sys_now() -> f64 {
    web_sys::window()
        .and_then(|window| window.performance())
        .map_or(0.0, |performance| {
            performance.time_origin() + performance.now()
        })
}
