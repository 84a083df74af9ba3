//! The palette: every node kind, to drag onto the canvas (or press Enter on, to add one in the
//! middle of the view).

use leptos::{ev, prelude::*};

use super::{EditorState, Selection, pointer::element_rect};
use crate::{
    editor::canvas::{NODE_HEIGHT, NODE_WIDTH, snapped},
    journey::{NodeKindTag, Position},
};

/// A kind being dragged from the palette, and the pointer's place on the screen.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Carried {
    kind: NodeKindTag,
    at: Position,
}

fn pointer(event: &ev::PointerEvent) -> Position {
    Position {
        x: f64::from(event.client_x()),
        y: f64::from(event.client_y()),
    }
}

#[component]
pub(super) fn Palette(state: EditorState) -> impl IntoView {
    let carrying = RwSignal::new(None::<Carried>);
    let move_handle = window_event_listener(ev::pointermove, move |event| {
        if carrying.with_untracked(Option::is_some) {
            carrying.update(|carried| {
                if let Some(carried) = carried {
                    carried.at = pointer(&event);
                }
            });
        }
    });
    let up_handle = window_event_listener(ev::pointerup, move |event| {
        let Some(carried) = carrying.get_untracked() else {
            return;
        };
        carrying.set(None);
        let Some(canvas) = document().query_selector(".canvas").ok().flatten() else {
            return;
        };
        let rect = element_rect(&canvas);
        let dropped = pointer(&event);
        if !rect.contains(dropped) {
            return;
        }
        let world = state.viewport.get_untracked().to_world(rect.local(dropped));
        let top_left = Position {
            x: world.x - NODE_WIDTH / 2.0,
            y: world.y - NODE_HEIGHT / 2.0,
        };
        place(state, carried.kind, top_left);
    });
    on_cleanup(move || {
        move_handle.remove();
        up_handle.remove();
    });

    let items = NodeKindTag::ALL
        .iter()
        .map(|&kind| view! { <li><PaletteItem state kind carrying/></li> })
        .collect_view();
    view! {
        <nav class="palette" aria-label="Node kinds">
            <h2>"Add"</h2>
            <ul>{items}</ul>
            <p class="hint">"Drag a kind onto the canvas."</p>
            {move || {
                carrying
                    .get()
                    .map(|carried| {
                        view! {
                            <div
                                class="palette-ghost"
                                style=format!(
                                    "left: {}px; top: {}px",
                                    carried.at.x - 70.0,
                                    carried.at.y - 18.0,
                                )
                            >
                                {carried.kind.icon()}
                                " "
                                {carried.kind.label()}
                            </div>
                        }
                    })
            }}
        </nav>
    }
    .into_any()
}

#[component]
fn PaletteItem(
    state: EditorState,
    kind: NodeKindTag,
    carrying: RwSignal<Option<Carried>>,
) -> impl IntoView {
    view! {
        <button
            type="button"
            class=format!("palette-item kind-{kind}")
            data-kind=kind.as_str()
            title=format!("Drag onto the canvas to add a {} node", kind.label())
            on:pointerdown=move |event| {
                event.prevent_default();
                carrying.set(Some(Carried { kind, at: pointer(&event) }));
            }
            on:click=move |event| {
                // Enter or Space (detail 0): add it in the middle of the view.
                if event.detail() == 0 {
                    let middle = state
                        .viewport
                        .get_untracked()
                        .to_world(Position { x: 320.0, y: 200.0 });
                    place(state, kind, middle);
                }
            }
        >
            <span class="icon" aria-hidden="true">{kind.icon()}</span>
            {kind.label()}
        </button>
    }
}

fn place(state: EditorState, kind: NodeKindTag, at: Position) {
    let id = state.edit(|editor| editor.add_node(kind.new_settings(), snapped(at)));
    state.selection.set(Selection::Node(id));
}
