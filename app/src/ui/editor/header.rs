//! The editor's header: the journey's name and status, whether the draft is saved (it saves
//! itself 0.6 s after the last edit), and Publish.

use std::time::Duration;

use leptos::{ev, prelude::*, task::spawn_local};
use leptos_router::components::A;

use super::{EditorState, ErrorNotice, node::ContactCount};
use crate::{
    api::{JourneyOut, JourneyPatch, JourneyStatus, PublishOut, client, client::ClientError},
    editor::Editor,
    journey::JourneyDocument,
};

/// Whether the draft on the server matches the one on screen.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SaveState {
    Saved,
    Saving,
    Unsaved,
    Failed(String),
}

impl SaveState {
    fn text(&self) -> String {
        match self {
            Self::Saved => "All changes saved".to_owned(),
            Self::Saving => "Saving…".to_owned(),
            Self::Unsaved => "Unsaved changes".to_owned(),
            Self::Failed(error) => format!("Not saved: {error}"),
        }
    }
}

#[component]
pub(super) fn EditorHeader(
    state: EditorState,
    journey: JourneyOut,
    live_version: RwSignal<Option<i64>>,
) -> impl IntoView {
    let status = RwSignal::new(journey.status);
    let save_state = autosave(state);
    // Leaving (closing the tab, reloading) while an edit is not saved yet asks first.
    let leaving = window_event_listener(ev::beforeunload, move |event| {
        if save_state.get_untracked() != SaveState::Saved {
            event.prevent_default();
            event.set_return_value("");
        }
    });
    on_cleanup(move || leaving.remove());
    let live_document = RwSignal::new(journey.live_document);
    let publish = publish_action(state, status, live_version, live_document);
    view! {
        <header class="editor-header">
            <A href="/journeys" attr:class="back">"← Journeys"</A>
            <h1>{journey.name}</h1>
            <span class=move || format!("status status-{}", status.get().as_str())>
                {move || status.get().as_str()}
            </span>
            <span class="version">
                {move || live_version.get().map(|version| format!("live: v{version}"))}
            </span>
            <CountsPicker state live_version/>
            <Show
                when=move || !state.read_only.get()
                fallback=|| view! {
                    <span class="notice" role="status">"Read-only: your role cannot edit journeys"</span>
                }
            >
                <span class="save-state" role="status" aria-live="polite">
                    {move || save_state.get().text()}
                </span>
                <PublishButton state publish live_document/>
            </Show>
        </header>
        {move || {
            publish
                .action
                .value()
                .get()
                .map(|result| match result {
                    Ok((published, _)) => {
                        view! {
                            <p class="notice ok" role="status">
                                {format!("Published version {}.", published.version)}
                            </p>
                        }
                            .into_any()
                    }
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                })
        }}
    }
    .into_any()
}

/// Once a version is published: which version's counts the canvas shows (the live one unless
/// another is picked), and what each count's sign means.
#[component]
fn CountsPicker(state: EditorState, live_version: RwSignal<Option<i64>>) -> impl IntoView {
    let picker = move || {
        let live = live_version.get().filter(|&live| live > 1)?;
        let options = (1..=live)
            .rev()
            .map(|version| {
                let text = if version == live {
                    format!("v{version} (live)")
                } else {
                    format!("v{version}")
                };
                let value = if version == live {
                    String::new()
                } else {
                    version.to_string()
                };
                view! {
                    <option
                        value=value
                        selected=move || state.stats_version.get().unwrap_or(live) == version
                    >
                        {text}
                    </option>
                }
            })
            .collect_view();
        Some(view! {
            <label class="counts-version" title="Counts of the version picked, on the nodes it shares with the draft">
                "Counts of "
                <select
                    aria-label="Version whose counts the canvas shows"
                    on:change=move |event| {
                        state.stats_version.set(event_target_value(&event).parse().ok());
                    }
                >
                    {options}
                </select>
            </label>
        })
    };
    let legend = move || {
        live_version.get().map(|_| {
            let items = ContactCount::ALL
                .iter()
                .map(|count| view! { <span><b>{count.symbol()}</b>" "{count.meaning()}</span> })
                .collect_view();
            view! { <span class="counts-legend" aria-label="What the counts mean">{items}</span> }
        })
    };
    view! { {picker} {legend} }
}

/// Publishing: the action publishes what is on screen and returns it with the new version.
#[derive(Clone, Copy)]
struct Publish {
    action: Action<(), Result<(PublishOut, JourneyDocument), ClientError>>,
}

fn publish_action(
    state: EditorState,
    status: RwSignal<JourneyStatus>,
    live_version: RwSignal<Option<i64>>,
    live_document: RwSignal<Option<JourneyDocument>>,
) -> Publish {
    let action = Action::new_local(move |_: &()| async move {
        // The server publishes the saved draft: save what is on screen first.
        let document = state.editor.with_untracked(Editor::document);
        let patch = JourneyPatch {
            draft: Some(document.clone()),
            ..JourneyPatch::default()
        };
        client::update_journey(state.journey_id, &patch).await?;
        let published = client::publish_journey(state.journey_id).await?;
        Ok((published, document))
    });
    Effect::new(move |_| {
        if let Some(result) = action.value().get() {
            let Ok((published, document)) = result else {
                return;
            };
            live_document.set(Some(document));
            live_version.set(Some(published.version));
            // The canvas counts the new version: the one contacts now enter.
            state.stats_version.set(None);
            if status.get_untracked() == JourneyStatus::Draft {
                status.set(JourneyStatus::Live);
            }
        }
    });
    Publish { action }
}

#[component]
fn PublishButton(
    state: EditorState,
    publish: Publish,
    live_document: RwSignal<Option<JourneyDocument>>,
) -> impl IntoView {
    let ready = move || state.problems.with(Vec::is_empty);
    // Documents compared, not a flag of this page: after a reload, or an edit undone, the
    // draft that equals the live version is not offered again as an identical new version.
    let same_as_live = Memo::new(move |_| {
        live_document.with(|live| {
            live.as_ref()
                .is_some_and(|live| state.editor.with(|editor| editor.document() == *live))
        })
    });
    let can_publish = move || {
        ready()
            && !publish.action.pending().get()
            && !state.editor.with(|editor| editor.journey().is_empty())
            && !same_as_live.get()
    };
    view! {
        <button
            type="button"
            class="primary"
            disabled=move || !can_publish()
            title=move || {
                if same_as_live.get() {
                    "The draft is the live version: edit it to publish a new one"
                } else if ready() {
                    "Publish the draft as a new version"
                } else {
                    "Fix the problems listed before publishing"
                }
            }
            on:click=move |_| {
                publish.action.dispatch(());
            }
        >
            {move || if publish.action.pending().get() { "Publishing…" } else { "Publish" }}
        </button>
    }
}

/// Saves the draft 600 ms after the last edit; says whether it is saved.
fn autosave(state: EditorState) -> RwSignal<SaveState> {
    let save_state = RwSignal::new(SaveState::Saved);
    let saved_revision = StoredValue::new(state.editor.with_untracked(Editor::revision));
    let pending = StoredValue::new(None::<TimeoutHandle>);
    let save = move || {
        let (revision, document) = state
            .editor
            .with_untracked(|editor| (editor.revision(), editor.document()));
        save_state.set(SaveState::Saving);
        spawn_local(async move {
            let patch = JourneyPatch {
                draft: Some(document),
                ..JourneyPatch::default()
            };
            match client::update_journey(state.journey_id, &patch).await {
                Ok(_) => {
                    saved_revision.set_value(revision);
                    let current = state.editor.with_untracked(Editor::revision);
                    save_state.set(if current == revision {
                        SaveState::Saved
                    } else {
                        SaveState::Unsaved
                    });
                }
                Err(error) => save_state.set(SaveState::Failed(error.to_string())),
            }
        });
    };
    Effect::new(move |_| {
        let revision = state.editor.with(Editor::revision);
        if revision == saved_revision.get_value() {
            return;
        }
        save_state.set(SaveState::Unsaved);
        if let Some(handle) = pending.get_value() {
            handle.clear();
        }
        let handle = set_timeout_with_handle(save, Duration::from_millis(600)).ok();
        pending.set_value(handle);
    });
    save_state
}
