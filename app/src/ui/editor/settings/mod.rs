//! The side panel's settings of the selected node: a form per node kind (one file each), the
//! node's connections, and Delete.

mod action;
mod condition;
mod delay;
mod fields;
mod trigger;
mod wait;
mod webhook;

use leptos::prelude::*;

use super::{EditorState, Selection};
use crate::{
    editor::Editor,
    journey::{Branch, NodeId, NodeKind, NodeKindTag},
};

/// What a kind's form works on: the selected node's settings, and how to change them.
#[derive(Clone, Copy)]
pub(super) struct NodeForm {
    state: EditorState,
    id: StoredValue<NodeId>,
    kind: Memo<Option<NodeKind>>,
}

impl NodeForm {
    /// Changes the node's settings. A burst of changes to one field (typing) is one undo
    /// step, until [`NodeForm::seal`].
    fn edit(self, change: impl FnOnce(&mut NodeKind)) {
        let Some(mut after) = self.kind.get_untracked() else {
            return;
        };
        change(&mut after);
        let id = self.id.get_value();
        let _ = self.state.edit(|editor| editor.configure(&id, after));
    }

    /// Ends the current field's undo step (it lost its focus).
    fn seal(self) {
        self.state.edit(Editor::seal);
    }

    /// Reads from the settings (tracked); the default once the node is gone.
    fn read<T: Default>(self, read: impl FnOnce(&NodeKind) -> T) -> T {
        self.kind
            .with(|kind| kind.as_ref().map(read).unwrap_or_default())
    }
}

/// The selected node's settings, or how to start.
#[component]
pub(super) fn SidePanel(state: EditorState) -> impl IntoView {
    let selected = Memo::new(move |_| match state.selection.get() {
        Selection::Node(id) => state
            .editor
            .with(|editor| editor.journey().node(&id).is_some())
            .then_some(id),
        _ => None,
    });
    view! {
        <section class="node-settings" aria-label="Node settings">
            {move || match selected.get() {
                None => {
                    view! {
                        <h2>"Settings"</h2>
                        <p class="hint">
                            "Select a node to set it up. Connect nodes by dragging from a node's \
                             bottom port to another node."
                        </p>
                    }
                        .into_any()
                }
                Some(id) => view! { <NodeSettings state id/> }.into_any(),
            }}
        </section>
    }
    .into_any()
}

#[component]
fn NodeSettings(state: EditorState, id: NodeId) -> impl IntoView {
    let kind = {
        let id = id.clone();
        Memo::new(move |_| {
            state
                .editor
                .with(|editor| editor.journey().node(&id).map(|node| node.kind.clone()))
        })
    };
    let form = NodeForm {
        state,
        id: StoredValue::new(id.clone()),
        kind,
    };
    // Only another kind (another node) rebuilds the form; changed settings update its fields.
    let tag = Memo::new(move |_| {
        kind.with(|kind| kind.as_ref().map_or(NodeKindTag::Exit, NodeKind::tag))
    });
    let fields = move || match tag.get() {
        NodeKindTag::Trigger => view! { <trigger::TriggerSettings form/> }.into_any(),
        NodeKindTag::Action => view! { <action::ActionSettings form/> }.into_any(),
        NodeKindTag::WaitForEvent => view! { <wait::WaitSettings form/> }.into_any(),
        NodeKindTag::Delay => view! { <delay::DelaySettings form/> }.into_any(),
        NodeKindTag::Condition => view! { <condition::ConditionSettings form/> }.into_any(),
        NodeKindTag::Webhook => view! { <webhook::WebhookSettings form/> }.into_any(),
        NodeKindTag::Exit => {
            view! { <p class="hint">"Contacts who reach an exit leave the journey."</p> }.into_any()
        }
    };
    let remove = {
        let id = id.clone();
        move |_| {
            state.selection.set(Selection::Node(id.clone()));
            state.remove_selected();
        }
    };
    view! {
        <h2>{move || tag.get().label()} " " <span class="node-id">{id.to_string()}</span></h2>
        <form class="settings-form" on:submit=|event| event.prevent_default()>{fields}</form>
        <Connections state id=id.clone()/>
        <button type="button" class="danger" on:click=remove>"Delete node"</button>
    }
    .into_any()
}

/// Where one output of a node leads.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Output {
    branch: Branch,
    target: Option<NodeId>,
}

/// Where each output of the node leads, as a choice per output: the keyboard's way to
/// connect and disconnect (the mouse can also drag from the ports on the canvas).
#[component]
fn Connections(state: EditorState, id: NodeId) -> impl IntoView {
    let outputs = {
        let id = id.clone();
        Memo::new(move |_| {
            state.editor.with(|editor| {
                let journey = editor.journey();
                let Some(node) = journey.node(&id) else {
                    return Vec::new();
                };
                node.kind
                    .branches()
                    .iter()
                    .map(|&branch| Output {
                        branch,
                        target: journey.next(&id, branch).map(|target| target.id.clone()),
                    })
                    .collect::<Vec<_>>()
            })
        })
    };
    let others = {
        let id = id.clone();
        Memo::new(move |_| {
            state.editor.with(|editor| {
                let mut others: Vec<(NodeId, &'static str)> = editor
                    .journey()
                    .nodes()
                    .filter(|node| node.id != id)
                    .map(|node| (node.id.clone(), node.kind.label()))
                    .collect();
                others.sort();
                others
            })
        })
    };
    move || {
        let rows = outputs.get();
        (!rows.is_empty()).then(|| {
            let rows = rows
                .into_iter()
                .map(|output| view! { <OutputChoice state id=id.clone() output others/> })
                .collect_view();
            view! {
                <fieldset class="rules connections">
                    <legend>"Connections"</legend>
                    {rows}
                </fieldset>
            }
        })
    }
}

#[component]
fn OutputChoice(
    state: EditorState,
    id: NodeId,
    output: Output,
    /// Every other node, with its kind's label.
    others: Memo<Vec<(NodeId, &'static str)>>,
) -> impl IntoView {
    let Output { branch, target } = output;
    let current = target.as_ref().map(ToString::to_string).unwrap_or_default();
    view! {
        <label class="field">
            <span class="field-label">{format!("{branch} →")}</span>
            <select
                name=format!("connect-{branch}")
                aria-label=format!("Output {branch} leads to")
                on:change=move |event| {
                    let chosen = event_target_value(&event);
                    let _ = if chosen.is_empty() {
                        state.edit(|editor| editor.disconnect(&id, branch))
                    } else {
                        state.edit(|editor| editor.connect(&id, branch, &NodeId::new(chosen)))
                    };
                }
            >
                <option value="" selected=current.is_empty()>"— nowhere —"</option>
                {move || others.get().into_iter().map(|(other, label)| {
                    let selected = other.as_str() == current;
                    view! {
                        <option value=other.to_string() selected=selected>
                            {format!("{other} ({label})")}
                        </option>
                    }
                }).collect_view()}
            </select>
        </label>
    }
}
