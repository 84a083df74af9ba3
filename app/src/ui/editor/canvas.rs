//! The canvas: a surface that pans and zooms one layer holding the journey (the connections
//! in one SVG under the nodes, which are HTML boxes), and its toolbar. Panning changes one CSS
//! transform, which the browser composites without painting the nodes again.

use leptos::{html::Div, prelude::*};

use super::{EditorState, Selection, edge::EdgeLayer, node::NodeView, pointer::Pointer};
use crate::journey::NodeId;

#[component]
pub(super) fn Canvas(state: EditorState) -> impl IntoView {
    let surface = NodeRef::<Div>::new();
    let pointer = Pointer::new(state, surface);
    // Fit once the canvas is on screen.
    Effect::new(move |done: Option<bool>| {
        if done == Some(true) {
            return true;
        }
        if surface.get().is_some() {
            pointer.fit();
            return true;
        }
        false
    });
    let zoom = Memo::new(move |_| state.viewport.with(|view| view.scale()));
    let node_ids = Memo::new(move |_| {
        state.editor.with(|editor| {
            let mut ids: Vec<NodeId> = editor
                .journey()
                .nodes()
                .map(|node| node.id.clone())
                .collect();
            ids.sort();
            ids
        })
    });
    view! {
        <div class="canvas-area">
            <CanvasToolbar state pointer/>
            <div
                class="canvas"
                node_ref=surface
                role="application"
                aria-label="Journey canvas"
                on:pointerdown=move |event| pointer.press_background(event)
                on:pointermove=move |event| pointer.moved(event)
                on:pointerup=move |event| pointer.released(event)
                on:wheel=move |event| pointer.wheel(event)
            >
                <div
                    class="viewport"
                    style=move || format!("transform: {}", state.viewport.get().translation())
                >
                    <div class="zoom-layer" style=move || format!("transform: {}", zoom.get())>
                        <EdgeLayer state pointer/>
                        <For
                            each=move || node_ids.get()
                            key=|id| id.clone()
                            children=move |id| view! { <NodeView state id pointer/> }
                        />
                    </div>
                </div>
            </div>
            {move || {
                state.editor.with(|editor| editor.journey().is_empty()).then(|| {
                    view! {
                        <p class="canvas-empty">
                            "Drag a Trigger from the left onto the canvas to start."
                        </p>
                    }
                })
            }}
        </div>
    }
    .into_any()
}

#[component]
fn CanvasToolbar(state: EditorState, pointer: Pointer) -> impl IntoView {
    // Only a zoom changes the label: a pan that rewrote it would repaint the page each frame.
    let zoom = Memo::new(move |_| state.viewport.with(|view| view.zoom));
    view! {
        <div class="canvas-toolbar" role="toolbar" aria-label="Canvas">
            <button type="button" title="Undo (Ctrl+Z)" aria-label="Undo"
                disabled=move || !state.editor.with(|editor| editor.can_undo())
                on:click=move |_| state.undo()>"↶ Undo"</button>
            <button type="button" title="Redo (Ctrl+Shift+Z)" aria-label="Redo"
                disabled=move || !state.editor.with(|editor| editor.can_redo())
                on:click=move |_| state.redo()>"↷ Redo"</button>
            <button type="button" aria-label="Delete selection" title="Delete (Del)"
                disabled=move || state.selection.with(|selection| *selection == Selection::None)
                on:click=move |_| state.remove_selected()>"Delete"</button>
            <span class="spacer"></span>
            <button type="button" aria-label="Zoom out"
                on:click=move |_| pointer.zoom_by(1.0 / 1.25)>"−"</button>
            <span class="zoom" aria-label="Zoom level">
                {move || format!("{:.0} %", zoom.get() * 100.0)}
            </span>
            <button type="button" aria-label="Zoom in"
                on:click=move |_| pointer.zoom_by(1.25)>"+"</button>
            <button type="button" aria-label="Fit to screen"
                on:click=move |_| pointer.fit()>"Fit"</button>
        </div>
    }
}
