//! Templates: what action nodes send. The list with Edit and Delete per template, and a form
//! with the channel's fields and a Preview of the unsaved content.

use leptos::prelude::*;
use leptos_meta::Title;

mod form;
mod preview;

use form::TemplateForm;

use super::{
    access::use_access,
    fields::channel_label,
    pages::{DataTable, LoadedList, PageHeader, confirm, utc_minutes},
};
use crate::api::{Scope, TemplateOut, client};

/// Which template the form edits.
#[derive(Debug, Clone, PartialEq)]
enum Editing {
    Closed,
    New,
    Existing(Box<TemplateOut>),
}

type TemplateList = LocalResource<Result<Vec<TemplateOut>, client::ClientError>>;

#[component]
pub fn TemplatesPage() -> impl IntoView {
    let templates = LocalResource::new(client::list_templates);
    let editing = RwSignal::new(Editing::Closed);
    // The name of the template last saved, said once the form has closed.
    let saved = RwSignal::new(None::<String>);
    let may_write = use_access().can_once_hydrated(Scope::TemplatesWrite);
    let open = move |which: Editing| {
        saved.set(None);
        editing.set(which);
    };
    view! {
        <Title text="Templates"/>
        <PageHeader title="Templates"/>
        <Show when=move || may_write.get()>
            <p>
                <button type="button" on:click=move |_| open(Editing::New)>"New template"</button>
            </p>
        </Show>
        {move || saved.get().map(|name| view! {
            <p class="test-result ok" role="status">{format!("Saved the template \"{name}\".")}</p>
        })}
        {move || match editing.get() {
            Editing::Closed => None,
            Editing::New => {
                Some(view! { <TemplateForm initial=None editing saved templates/> }.into_any())
            }
            Editing::Existing(template) => Some(
                view! { <TemplateForm initial=Some(*template) editing saved templates/> }
                    .into_any(),
            ),
        }}
        <LoadedList
            list=templates
            loading="Loading templates…"
            empty="No templates yet. Create one, then pick it in an action node."
            show=move |list| view! { <TemplateTable templates=list editing saved reload=templates/> }
        />
    }
}

#[component]
fn TemplateTable(
    templates: Vec<TemplateOut>,
    editing: RwSignal<Editing>,
    saved: RwSignal<Option<String>>,
    reload: TemplateList,
) -> impl IntoView {
    let rows = templates
        .into_iter()
        .map(|template| view! { <TemplateRow template editing saved reload/> })
        .collect_view();
    view! {
        <DataTable columns=&["Name", "Channel", "Last edited (UTC)"] actions=true>
            {rows}
        </DataTable>
    }
}

/// One template with its Edit and Delete buttons; a refused delete (a published journey sends
/// the template) is said next to them.
#[component]
fn TemplateRow(
    template: TemplateOut,
    editing: RwSignal<Editing>,
    saved: RwSignal<Option<String>>,
    reload: TemplateList,
) -> impl IntoView {
    let access = use_access();
    let may_write = move || access.can(Scope::TemplatesWrite);
    let id = template.id;
    let delete = Action::new_local(move |_: &()| async move {
        let deleted = client::delete_template(id).await;
        if deleted.is_ok() {
            let open =
                matches!(editing.get_untracked(), Editing::Existing(ref open) if open.id == id);
            if open {
                editing.set(Editing::Closed);
            }
            reload.refetch();
        }
        deleted
    });
    let name = template.name.clone();
    let delete_name = template.name.clone();
    let edited = template.clone();
    view! {
        <tr>
            <td class="journey-name">{template.name}</td>
            <td>{channel_label(template.channel)}</td>
            <td>{utc_minutes(template.updated_at)}</td>
            <td class="actions">
                <button
                    type="button"
                    class="secondary"
                    hidden=move || !may_write()
                    aria-label=format!("Edit {name}")
                    on:click=move |_| {
                        saved.set(None);
                        editing.set(Editing::Existing(Box::new(edited.clone())));
                    }
                >
                    "Edit"
                </button>
                <button
                    type="button"
                    class="danger"
                    hidden=move || !may_write()
                    aria-label=format!("Delete {delete_name}")
                    disabled=move || delete.pending().get()
                    on:click=move |_| {
                        let question = format!(
                            "Delete the template \"{delete_name}\"? This cannot be undone."
                        );
                        if confirm(&question) {
                            delete.dispatch(());
                        }
                    }
                >
                    "Delete"
                </button>
                {move || delete.value().get().and_then(Result::err).map(|error| view! {
                    <span class="test-result failed" role="alert">{format!("✗ {error}")}</span>
                })}
            </td>
        </tr>
    }
}
