//! Every problem that keeps the draft from being published, each naming its node as the
//! canvas shows it (kind and summary, not its internal id) and selecting it when clicked.

use leptos::prelude::*;

use super::{EditorState, Selection, node::summary};
use crate::journey::{NodeId, NodeKind};

/// How a node is named in the list: its kind and its summary, as on its box.
fn canvas_label(kind: &NodeKind, state: EditorState) -> String {
    let what = state.webhooks.with(|webhooks| {
        state
            .templates
            .with(|templates| summary(kind, webhooks, templates))
    });
    format!("{} · {what}", kind.tag().label())
}

#[component]
pub(super) fn Problems(state: EditorState) -> impl IntoView {
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
                        let node: Option<NodeId> = problem.node.clone();
                        let label = node.as_ref().and_then(|id| {
                            state.editor.with_untracked(|editor| {
                                editor
                                    .journey()
                                    .node(id)
                                    .map(|node| canvas_label(&node.kind, state))
                            })
                        });
                        let message = problem.message.clone();
                        let item = match (node, label) {
                            (Some(node), Some(label)) => view! {
                                <button
                                    type="button"
                                    class="problem"
                                    on:click=move |_| {
                                        state.selection.set(Selection::Node(node.clone()));
                                    }
                                >
                                    <span class="problem-node">{label}</span>
                                    <span class="problem-text">{message}</span>
                                </button>
                            }
                                .into_any(),
                            _ => view! {
                                <span class="problem">
                                    <span class="problem-text">{problem.to_string()}</span>
                                </span>
                            }
                                .into_any(),
                        };
                        view! { <li>{item}</li> }
                    })
                    .collect_view();
                view! { <ul class="problem-list">{items}</ul> }.into_any()
            }}
        </section>
    }
    .into_any()
}
