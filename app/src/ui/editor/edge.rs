//! The connections: one SVG under the nodes, in journey coordinates, with a curve per edge and
//! the one being drawn.

use leptos::prelude::*;

use super::{Connecting, EditorState, Selection, pointer::Pointer};
use crate::{
    editor::canvas::{arrow_head, connection_path, input_port, output_port},
    journey::Edge,
};

#[component]
pub(super) fn EdgeLayer(state: EditorState, pointer: Pointer) -> impl IntoView {
    let edges = Memo::new(move |_| {
        state
            .editor
            .with(|editor| editor.journey().edges().collect::<Vec<Edge>>())
    });
    let draft = move || {
        let Connecting { from, branch, to } = state.connecting.get()?;
        let start = state.editor.with(|editor| {
            let node = editor.journey().node(&from)?;
            Some(output_port(node.position, node.kind.tag(), branch))
        })?;
        Some(view! { <path class="edge-draft" d=connection_path(start, to)></path> })
    };
    view! {
        <svg class="edges" width="1" height="1" aria-hidden="true">
            <For
                each=move || edges.get()
                key=|edge| (edge.from.clone(), edge.branch, edge.to.clone())
                children=move |edge| view! { <EdgeView state edge pointer/> }
            />
            {draft}
        </svg>
    }
    .into_any()
}

#[component]
fn EdgeView(state: EditorState, edge: Edge, pointer: Pointer) -> impl IntoView {
    let path = {
        let edge = edge.clone();
        Memo::new(move |_| {
            let ends = state.editor.with(|editor| {
                let from = editor.journey().node(&edge.from)?;
                let to = editor.journey().node(&edge.to)?;
                let start = state.drawn_position(&edge.from, from.position);
                Some((
                    output_port(start, from.kind.tag(), edge.branch),
                    to.position,
                ))
            });
            ends.map(|(start, end)| {
                let end = input_port(state.drawn_position(&edge.to, end));
                (connection_path(start, end), arrow_head(end))
            })
            .unwrap_or_default()
        })
    };
    let selected = {
        let edge = edge.clone();
        Memo::new(move |_| {
            state
                .selection
                .with(|selection| *selection == Selection::Edge(edge.from.clone(), edge.branch))
        })
    };
    let (from, branch) = (edge.from.clone(), edge.branch);
    view! {
        <g
            class=move || if selected.get() { "edge selected" } else { "edge" }
            data-from=edge.from.to_string()
            data-branch=edge.branch.as_str()
            data-to=edge.to.to_string()
            on:pointerdown=move |event| pointer.press_edge(from.clone(), branch, event)
        >
            <path class="edge-hit" d=move || path.get().0></path>
            <path class="edge-line" d=move || path.get().0></path>
            <path class="arrow-head" d=move || path.get().1></path>
        </g>
    }
    .into_any()
}
