//! The journey editor page: palette, canvas, side panel and header. Pointer and keyboard
//! input become calls on [`crate::editor::Editor`]; everything drawn is derived from it.
//!
//! `palette` adds nodes, `canvas` holds the view and its gestures, `node` and `edge` draw the
//! journey, `settings` edits the selected node (a form per kind), `header` saves and
//! publishes, `problems` and `messages` (an action node's messages) fill the side panel, `log`
//! (a webhook node's deliveries) a drawer under the canvas.

mod canvas;
mod edge;
mod header;
mod log;
mod messages;
mod node;
mod palette;
mod pointer;
mod problems;
mod settings;

use std::{collections::HashMap, time::Duration};

use leptos::{ev, prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::{
    components::A,
    hooks::{use_params_map, use_query_map},
};

use super::{access::use_access, pages::ErrorNotice};
use crate::{
    api::{
        DeliveryStatus, JourneyOut, NodeStatsOut, Scope, TemplateOut, WebhookOut, client,
        client::ClientError,
    },
    editor::{Editor, canvas::Viewport},
    ids::JourneyId,
    journey::{Branch, NodeId, NodeKind, Position, ValidationError},
};

/// What is selected on the canvas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Selection {
    None,
    Node(NodeId),
    /// A connection, by its output.
    Edge(NodeId, Branch),
}

/// A connection being drawn from an output port.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Connecting {
    pub from: NodeId,
    pub branch: Branch,
    /// Where the pointer is, in journey coordinates.
    pub to: Position,
}

/// Everything the editor's parts share; all of it is signals, so it is `Copy`.
#[derive(Clone, Copy)]
pub(super) struct EditorState {
    pub journey_id: JourneyId,
    pub editor: RwSignal<Editor>,
    pub viewport: RwSignal<Viewport>,
    pub selection: RwSignal<Selection>,
    /// The node being dragged; committed as one move on release.
    pub dragged: RwSignal<Option<NodeId>>,
    /// Where the dragged node is now. Apart from `dragged`, so that a pointer move redraws
    /// only that node and its connections, not every node that checks whether it is dragged.
    pub drag_at: RwSignal<Position>,
    pub connecting: RwSignal<Option<Connecting>>,
    pub problems: Memo<Vec<ValidationError>>,
    /// Kept up to date when the node panel disables or enables one.
    pub webhooks: RwSignal<Vec<WebhookOut>>,
    /// Every template, for action nodes to pick from (by their channel).
    pub templates: RwSignal<Vec<TemplateOut>>,
    /// Per node, for the version in `stats_version`.
    pub stats: RwSignal<HashMap<NodeId, NodeStatsOut>>,
    /// The published version whose counts the canvas shows; `None`: the live one.
    pub stats_version: RwSignal<Option<i64>>,
    /// The webhook node whose delivery log is open.
    pub log_node: RwSignal<Option<NodeId>>,
    /// The state the delivery log shows (`None`: every state).
    pub log_status: RwSignal<Option<DeliveryStatus>>,
    /// The caller may not edit journeys (a viewer): edits are refused here, as the server
    /// would refuse to save them.
    pub read_only: Signal<bool>,
}

impl EditorState {
    /// Applies an edit; a refused one (e.g. connecting a node to itself) changes nothing.
    pub fn edit<T>(self, change: impl FnOnce(&mut Editor) -> T) -> T {
        if self.read_only.get_untracked() {
            // Worked out on a copy and dropped: callers get their answer, nothing changes.
            let mut scratch = self.editor.get_untracked();
            return change(&mut scratch);
        }
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

    /// Where a node is drawn: where it is being dragged, or where it is.
    pub fn drawn_position(self, id: &NodeId, stored: Position) -> Position {
        if self.dragged.with(|dragged| dragged.as_ref() == Some(id)) {
            self.drag_at.get()
        } else {
            stored
        }
    }
}

/// `/journeys/:id`: loads the journey, and the webhooks and templates its nodes can send.
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
            let templates = client::list_templates().await?;
            Ok((journey, webhooks, templates))
        }
    });
    view! {
        <Title text="Journey editor"/>
        <Transition fallback=|| view! { <p class="loading">"Loading the journey…"</p> }>
            {move || {
                loaded
                    .get()
                    .map(|result| match result {
                        Ok((journey, webhooks, templates)) => {
                            view! { <JourneyEditor journey webhooks templates/> }.into_any()
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
fn JourneyEditor(
    journey: JourneyOut,
    webhooks: Vec<WebhookOut>,
    templates: Vec<TemplateOut>,
) -> impl IntoView {
    let editor = RwSignal::new(Editor::open(journey.draft.clone()).unwrap_or_default());
    let webhooks = RwSignal::new(webhooks);
    let templates = RwSignal::new(templates);
    let problems = Memo::new(move |_| {
        webhooks.with(|webhooks| {
            editor.with(|editor| {
                editor.problems(|id| webhooks.iter().any(|webhook| webhook.id == id))
            })
        })
    });
    let state = EditorState {
        journey_id: journey.id,
        editor,
        viewport: RwSignal::new(Viewport::default()),
        selection: RwSignal::new(Selection::None),
        dragged: RwSignal::new(None),
        drag_at: RwSignal::new(Position::default()),
        connecting: RwSignal::new(None),
        problems,
        webhooks,
        templates,
        stats: RwSignal::new(HashMap::new()),
        stats_version: RwSignal::new(None),
        log_node: RwSignal::new(None),
        log_status: RwSignal::new(None),
        read_only: {
            let access = use_access();
            Signal::derive(move || !access.can(Scope::JourneysWrite))
        },
    };
    let live_version = RwSignal::new(journey.live_version);
    poll_stats(state, live_version);
    keyboard_shortcuts(state);
    open_log_from_address(state);
    view! {
        <div class="editor">
            <header::EditorHeader state journey live_version/>
            // Without the palette (a viewer), the canvas takes its column too.
            <div class=move || {
                if state.read_only.get() { "editor-body read-only" } else { "editor-body" }
            }>
                <Show when=move || !state.read_only.get()>
                    <palette::Palette state/>
                </Show>
                // The delivery log opens as a drawer under the canvas: room for its rows while
                // the journey stays in sight.
                <div class="canvas-column">
                    <canvas::Canvas state/>
                    <log::DeliveryLog state live_version/>
                </div>
                <aside class="side-panel" aria-label="Settings">
                    <settings::SidePanel state/>
                    <messages::MessageLog state/>
                    <problems::Problems state/>
                </aside>
            </div>
        </div>
    }
    .into_any()
}

/// While a version is published, reads the node counts (of the version picked, the live one
/// by default) every two seconds.
fn poll_stats(state: EditorState, live_version: RwSignal<Option<i64>>) {
    let refresh = move || {
        if live_version.get_untracked().is_none() {
            return;
        }
        let version = state.stats_version.get_untracked();
        spawn_local(async move {
            let Ok(stats) = client::journey_stats(state.journey_id, version).await else {
                return;
            };
            // Another version was picked while this one was read.
            if state.stats_version.get_untracked() != version {
                return;
            }
            state.stats.set(
                stats
                    .nodes
                    .into_iter()
                    .map(|node| (node.node_id.clone(), node))
                    .collect(),
            );
        });
    };
    Effect::new(move |_| {
        state.stats_version.track();
        if live_version.get().is_some() {
            refresh();
        }
    });
    if let Ok(handle) = set_interval_with_handle(refresh, Duration::from_secs(2)) {
        on_cleanup(move || handle.clear());
    }
}

/// `?log=<node>` (the link of an alert email) opens that webhook node's delivery log, on its
/// failed requests, with the node selected. Anything else in it is left alone.
fn open_log_from_address(state: EditorState) {
    let query = use_query_map();
    let Some(node) = query
        .with_untracked(|query| query.get("log"))
        .map(NodeId::new)
    else {
        return;
    };
    let is_webhook = state.editor.with_untracked(|editor| {
        editor
            .journey()
            .node(&node)
            .is_some_and(|found| matches!(found.kind, NodeKind::Webhook(_)))
    });
    if !is_webhook {
        return;
    }
    state.log_status.set(Some(DeliveryStatus::Failed));
    state.selection.set(Selection::Node(node.clone()));
    state.log_node.set(Some(node));
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
