//! The journey editor page: palette, canvas, side panel and toolbar. Pointer and keyboard
//! input become calls on [`crate::editor::Editor`]; everything drawn is derived from it.

mod canvas;
mod log;
mod panel;

use std::{collections::HashMap, time::Duration};

use leptos::{ev, prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_params_map};

use crate::{
    api::{
        JourneyOut, JourneyPatch, JourneyStatus, NodeStatsOut, WebhookOut, client,
        client::ClientError,
    },
    editor::{Editor, canvas::Viewport},
    ids::JourneyId,
    journey::{Branch, NodeId, Position, ValidationError},
};

use super::pages::ErrorNotice;

/// What is selected on the canvas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Selection {
    None,
    Node(NodeId),
    /// A connection, by its output.
    Edge(NodeId, Branch),
}

/// Whether the draft on the server matches the one on screen.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SaveState {
    Saved,
    Saving,
    Unsaved,
    Failed(String),
}

/// Everything the editor's parts share; all of it is signals, so it is `Copy`.
#[derive(Clone, Copy)]
pub(super) struct EditorState {
    pub journey_id: JourneyId,
    pub editor: RwSignal<Editor>,
    pub viewport: RwSignal<Viewport>,
    pub selection: RwSignal<Selection>,
    /// The node being dragged and where it is now; committed as one move on release.
    pub dragging: RwSignal<Option<(NodeId, Position)>>,
    /// A connection being drawn: its output and the pointer's journey position.
    pub connecting: RwSignal<Option<(NodeId, Branch, Position)>>,
    pub problems: Memo<Vec<ValidationError>>,
    pub webhooks: Signal<Vec<WebhookOut>>,
    /// Per node id, for the published version.
    pub stats: RwSignal<HashMap<NodeId, NodeStatsOut>>,
    /// The webhook node whose delivery log is open.
    pub log_node: RwSignal<Option<NodeId>>,
}

impl EditorState {
    /// Applies an edit; a refused one (e.g. connecting a node to itself) changes nothing.
    pub fn edit<T>(self, change: impl FnOnce(&mut Editor) -> T) -> T {
        self.editor
            .try_update(change)
            .expect("the editor lives as long as the page")
    }

    pub fn undo(self) {
        self.edit(Editor::undo);
    }

    pub fn redo(self) {
        self.edit(Editor::redo);
    }

    /// Removes the selected node or connection.
    pub fn remove_selected(self) {
        match self.selection.get_untracked() {
            Selection::None => return,
            Selection::Node(id) => {
                let _ = self.edit(|editor| editor.remove_node(&id));
            }
            Selection::Edge(from, branch) => {
                let _ = self.edit(|editor| editor.disconnect(&from, branch));
            }
        }
        self.selection.set(Selection::None);
    }
}

/// `/journeys/:id`: loads the journey and the webhooks its nodes can send to.
#[component]
pub fn EditorPage() -> impl IntoView {
    let params = use_params_map();
    let journey_id = move || {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<JourneyId>().ok())
    };
    let loaded = LocalResource::new(move || {
        let id = journey_id();
        async move {
            let Some(id) = id else {
                return Err(ClientError::refused(
                    404,
                    "not_found",
                    "there is no journey at this address",
                ));
            };
            let journey = client::journey(id).await?;
            let webhooks = client::list_webhooks().await?;
            Ok((journey, webhooks))
        }
    });
    view! {
        <Title text="Journey editor"/>
        <Transition fallback=|| view! { <p class="loading">"Loading the journey…"</p> }>
            {move || {
                loaded
                    .get()
                    .map(|result| match result {
                        Ok((journey, webhooks)) => {
                            view! { <JourneyEditor journey webhooks/> }.into_any()
                        }
                        Err(error) => {
                            view! {
                                <ErrorNotice error/>
                                <p><A href="/journeys">"Back to the journeys"</A></p>
                            }
                                .into_any()
                        }
                    })
            }}
        </Transition>
    }
    .into_any()
}

#[component]
fn JourneyEditor(journey: JourneyOut, webhooks: Vec<WebhookOut>) -> impl IntoView {
    let journey_id = journey.id;
    let editor = RwSignal::new(Editor::open(journey.draft).unwrap_or_default());
    let webhooks = RwSignal::new(webhooks);
    let problems = Memo::new(move |_| {
        webhooks.with(|webhooks| {
            editor.with(|editor| {
                editor.problems(|id| webhooks.iter().any(|webhook| webhook.id == id))
            })
        })
    });
    let state = EditorState {
        journey_id,
        editor,
        viewport: RwSignal::new(Viewport::default()),
        selection: RwSignal::new(Selection::None),
        dragging: RwSignal::new(None),
        connecting: RwSignal::new(None),
        problems,
        webhooks: webhooks.into(),
        stats: RwSignal::new(HashMap::new()),
        log_node: RwSignal::new(None),
    };
    let status = RwSignal::new(journey.status);
    let live_version = RwSignal::new(journey.live_version);

    let save_state = autosave(state);
    // Leaving (closing the tab, reloading) while an edit is not saved yet asks first.
    let leaving = window_event_listener(ev::beforeunload, move |event| {
        if save_state.get_untracked() != SaveState::Saved {
            event.prevent_default();
            event.set_return_value("");
        }
    });
    on_cleanup(move || leaving.remove());
    // The editor revision last published from this page: publishing it again would only
    // make an identical version.
    let published_revision = RwSignal::new(None::<u64>);
    let publish = Action::new_local(move |_: &()| async move {
        // The server publishes the saved draft: save what is on screen first.
        let (revision, document) =
            editor.with_untracked(|editor| (editor.revision(), editor.document()));
        published_revision.set(Some(revision));
        let patch = JourneyPatch {
            draft: Some(document),
            ..JourneyPatch::default()
        };
        client::update_journey(journey_id, &patch).await?;
        client::publish_journey(journey_id).await
    });
    Effect::new(move |_| {
        if let Some(result) = publish.value().get() {
            let Ok(published) = result else {
                published_revision.set(None);
                return;
            };
            live_version.set(Some(published.version));
            if status.get_untracked() == JourneyStatus::Draft {
                status.set(JourneyStatus::Live);
            }
        }
    });
    poll_stats(state, live_version);
    keyboard_shortcuts(state);

    let can_publish = move || {
        problems.with(Vec::is_empty)
            && !publish.pending().get()
            && !editor.with(|e| e.journey().is_empty())
            && published_revision.get() != Some(editor.with(Editor::revision))
    };
    view! {
        <div class="editor">
            <header class="editor-header">
                <A href="/journeys" attr:class="back">"← Journeys"</A>
                <h1>{journey.name.clone()}</h1>
                <span class=move || format!("status status-{}", status.get().as_str())>
                    {move || status.get().as_str()}
                </span>
                <span class="version">
                    {move || live_version.get().map(|version| format!("live: v{version}"))}
                </span>
                <span class="save-state" role="status" aria-live="polite">
                    {move || match save_state.get() {
                        SaveState::Saved => "All changes saved".to_owned(),
                        SaveState::Saving => "Saving…".to_owned(),
                        SaveState::Unsaved => "Unsaved changes".to_owned(),
                        SaveState::Failed(error) => format!("Not saved: {error}"),
                    }}
                </span>
                <button
                    type="button"
                    class="primary"
                    disabled=move || !can_publish()
                    title=move || {
                        if problems.with(Vec::is_empty) {
                            "Publish the draft as a new version".to_owned()
                        } else {
                            "Fix the problems listed before publishing".to_owned()
                        }
                    }
                    on:click=move |_| {
                        publish.dispatch(());
                    }
                >
                    {move || if publish.pending().get() { "Publishing…" } else { "Publish" }}
                </button>
            </header>
            {move || {
                publish
                    .value()
                    .get()
                    .map(|result| match result {
                        Ok(published) => {
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
            <div class="editor-body">
                <canvas::Palette state/>
                <canvas::Canvas state/>
                <aside class="side-panel" aria-label="Settings">
                    <panel::SidePanel state/>
                    <log::DeliveryLog state/>
                    <Problems state/>
                </aside>
            </div>
        </div>
    }
    .into_any()
}

/// Saves the draft 600 ms after the last edit; says whether it is saved.
fn autosave(state: EditorState) -> RwSignal<SaveState> {
    let save_state = RwSignal::new(SaveState::Saved);
    let saved_revision = StoredValue::new(state.editor.with_untracked(Editor::revision));
    let pending = StoredValue::new(None::<TimeoutHandle>);
    Effect::new(move |_| {
        let revision = state.editor.with(Editor::revision);
        if revision == saved_revision.get_value() {
            return;
        }
        save_state.set(SaveState::Unsaved);
        if let Some(handle) = pending.get_value() {
            handle.clear();
        }
        let handle = set_timeout_with_handle(
            move || {
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
            },
            Duration::from_millis(600),
        )
        .ok();
        pending.set_value(handle);
    });
    save_state
}

/// While a version is live, reads the node counts every two seconds.
fn poll_stats(state: EditorState, live_version: RwSignal<Option<i64>>) {
    let refresh = move || {
        if live_version.get_untracked().is_none() {
            return;
        }
        spawn_local(async move {
            if let Ok(stats) = client::journey_stats(state.journey_id).await {
                state.stats.set(
                    stats
                        .nodes
                        .into_iter()
                        .map(|node| (node.node_id.clone(), node))
                        .collect(),
                );
            }
        });
    };
    Effect::new(move |_| {
        if live_version.get().is_some() {
            refresh();
        }
    });
    if let Ok(handle) = set_interval_with_handle(refresh, Duration::from_secs(2)) {
        on_cleanup(move || handle.clear());
    }
}

/// Delete/Backspace removes the selection; Ctrl+Z undoes, Ctrl+Shift+Z or Ctrl+Y redoes.
/// Keys typed into a field stay with the field.
fn keyboard_shortcuts(state: EditorState) {
    let handle = window_event_listener(ev::keydown, move |event| {
        let typing = document().active_element().is_some_and(|element| {
            matches!(element.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
        });
        if typing {
            return;
        }
        let command = event.ctrl_key() || event.meta_key();
        match event.key().as_str() {
            "Delete" | "Backspace" => {
                event.prevent_default();
                state.remove_selected();
            }
            "z" | "Z" if command && event.shift_key() => {
                event.prevent_default();
                state.redo();
            }
            "z" | "Z" if command => {
                event.prevent_default();
                state.undo();
            }
            "y" | "Y" if command => {
                event.prevent_default();
                state.redo();
            }
            "Escape" => state.selection.set(Selection::None),
            _ => {}
        }
    });
    on_cleanup(move || handle.remove());
}

/// Every problem that keeps the draft from being published, each selecting its node.
#[component]
fn Problems(state: EditorState) -> impl IntoView {
    view! {
        <section class="problems" aria-label="Problems">
            <h2>"Problems"</h2>
            {move || {
                let problems = state.problems.get();
                if problems.is_empty() {
                    return view! { <p class="ok">"✓ Ready to publish."</p> }.into_any();
                }
                let items = problems
                    .into_iter()
                    .map(|problem| {
                        let node = problem.node.clone();
                        let text = problem.to_string();
                        view! {
                            <li>
                                <button
                                    type="button"
                                    class="link"
                                    on:click=move |_| {
                                        if let Some(node) = node.clone() {
                                            state.selection.set(Selection::Node(node));
                                        }
                                    }
                                >
                                    {text}
                                </button>
                            </li>
                        }
                    })
                    .collect_view();
                view! { <ul class="problem-list">{items}</ul> }.into_any()
            }}
        </section>
    }
    .into_any()
}
