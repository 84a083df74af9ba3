//! The canvas: a surface that pans and zooms one layer holding the journey (the connections
//! in one SVG under the nodes, which are HTML boxes), and the pointer gestures on it: pan,
//! zoom, move a node, draw a connection. Panning changes one CSS transform, which the browser
//! composites without painting the nodes again.

use leptos::{ev, html::Div, prelude::*};

use super::{Connecting, EditorState, Selection, edge::EdgeLayer, node::NodeView};
use crate::{
    editor::canvas::{Rect, Viewport, bounds, hits_node, snapped},
    journey::{Branch, NodeId, Position},
};

/// What a pointer pressed on the canvas is doing.
#[derive(Debug, Clone, PartialEq)]
enum Gesture {
    Idle,
    /// Dragging the background; the last pointer position on the canvas.
    Panning(Position),
    /// Dragging a node, held at `grab` from its top-left corner.
    Moving {
        id: NodeId,
        grab: Position,
    },
    Connecting,
}

/// A pointer that moved less than this (in pixels) clicked rather than dragged.
const CLICK_SLOP: f64 = 4.0;

/// An element's box on the screen; empty outside the browser.
pub(super) fn element_rect(element: &leptos::web_sys::Element) -> Rect {
    #[cfg(feature = "hydrate")]
    {
        let rect = element.get_bounding_client_rect();
        Rect {
            left: rect.left(),
            top: rect.top(),
            width: rect.width(),
            height: rect.height(),
        }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = element;
        Rect::default()
    }
}

/// The canvas's pointer: what it is doing and where the canvas is. The nodes and connections
/// start their gestures through it.
#[derive(Clone, Copy)]
pub(super) struct Pointer {
    state: EditorState,
    surface: NodeRef<Div>,
    gesture: StoredValue<Gesture>,
    pressed_at: StoredValue<Position>,
    /// The canvas's corner on the screen, read when a gesture starts: reading it on every
    /// pointer move would force the browser to lay out the page each time.
    origin: StoredValue<Position>,
    /// The latest pointer position not yet applied: moves are applied once per animation
    /// frame, however many events arrive in it.
    unapplied: StoredValue<Option<Position>>,
}

impl Pointer {
    fn new(state: EditorState, surface: NodeRef<Div>) -> Self {
        Self {
            state,
            surface,
            gesture: StoredValue::new(Gesture::Idle),
            pressed_at: StoredValue::new(Position::default()),
            origin: StoredValue::new(Position::default()),
            unapplied: StoredValue::new(None),
        }
    }

    fn rect(self) -> Option<Rect> {
        self.surface
            .get_untracked()
            .map(|surface| element_rect(&surface))
    }

    /// The event's place on the canvas, in pixels from its top-left corner.
    fn locate(self, event: &ev::MouseEvent, refresh: bool) -> Position {
        if refresh && let Some(rect) = self.rect() {
            self.origin.set_value(Position {
                x: rect.left,
                y: rect.top,
            });
        }
        let origin = self.origin.get_value();
        Position {
            x: f64::from(event.client_x()) - origin.x,
            y: f64::from(event.client_y()) - origin.y,
        }
    }

    /// Takes a primary-button press for a gesture, keeping the pointer's events with the
    /// canvas until release, also outside it. Returns where the press was, on the canvas.
    fn start(self, event: &ev::PointerEvent) -> Option<Position> {
        if event.button() != 0 {
            return None;
        }
        let at = self.locate(event, true);
        self.pressed_at.set_value(at);
        if let Some(surface) = self.surface.get_untracked() {
            let _ = surface.set_pointer_capture(event.pointer_id());
        }
        Some(at)
    }

    fn world(self, at: Position) -> Position {
        self.state.viewport.get_untracked().to_world(at)
    }

    fn press_background(self, event: ev::PointerEvent) {
        if let Some(at) = self.start(&event) {
            self.gesture.set_value(Gesture::Panning(at));
        }
    }

    pub fn press_node(self, id: NodeId, event: ev::PointerEvent) {
        event.stop_propagation();
        let Some(stored) = self
            .state
            .editor
            .with_untracked(|editor| editor.journey().node(&id).map(|node| node.position))
        else {
            return;
        };
        let Some(at) = self.start(&event) else {
            return;
        };
        let world = self.world(at);
        let grab = Position {
            x: world.x - stored.x,
            y: world.y - stored.y,
        };
        self.gesture.set_value(Gesture::Moving {
            id: id.clone(),
            grab,
        });
        self.state.selection.set(Selection::Node(id));
    }

    pub fn press_port(self, from: NodeId, branch: Branch, event: ev::PointerEvent) {
        event.stop_propagation();
        if let Some(at) = self.start(&event) {
            self.gesture.set_value(Gesture::Connecting);
            let to = self.world(at);
            self.state
                .connecting
                .set(Some(Connecting { from, branch, to }));
        }
    }

    pub fn press_edge(self, from: NodeId, branch: Branch, event: ev::PointerEvent) {
        event.stop_propagation();
        self.state.selection.set(Selection::Edge(from, branch));
    }

    fn moved(self, event: ev::PointerEvent) {
        if self.gesture.with_value(|gesture| *gesture == Gesture::Idle) {
            return;
        }
        let at = self.locate(&event, false);
        let first_in_frame = self.unapplied.with_value(Option::is_none);
        self.unapplied.set_value(Some(at));
        if first_in_frame {
            request_animation_frame(move || self.apply_move());
        }
    }

    /// Follows the pointer to where it was last seen.
    fn apply_move(self) {
        let Some(at) = self.unapplied.try_update_value(Option::take).flatten() else {
            return;
        };
        let state = self.state;
        match self.gesture.get_value() {
            Gesture::Idle => {}
            Gesture::Panning(last) => {
                state
                    .viewport
                    .update(|view| *view = view.panned(at.x - last.x, at.y - last.y));
                self.gesture.set_value(Gesture::Panning(at));
            }
            Gesture::Moving { id, grab } => {
                let world = self.world(at);
                if state
                    .dragged
                    .with_untracked(|dragged| dragged.as_ref() != Some(&id))
                {
                    state.dragged.set(Some(id));
                }
                state.drag_at.set(Position {
                    x: world.x - grab.x,
                    y: world.y - grab.y,
                });
            }
            Gesture::Connecting => {
                let world = self.world(at);
                state.connecting.update(|connecting| {
                    if let Some(connecting) = connecting {
                        connecting.to = world;
                    }
                });
            }
        }
    }

    fn released(self, event: ev::PointerEvent) {
        self.apply_move();
        let at = self.locate(&event, false);
        let pressed = self.pressed_at.get_value();
        let dragged = (at.x - pressed.x).hypot(at.y - pressed.y) > CLICK_SLOP;
        let state = self.state;
        match self.gesture.get_value() {
            Gesture::Moving { id, .. } => {
                if dragged && state.dragged.get_untracked().is_some() {
                    let to = snapped(state.drag_at.get_untracked());
                    let _ = state.edit(|editor| editor.move_node(&id, to));
                }
                state.dragged.set(None);
            }
            Gesture::Connecting => self.finish_connection(self.world(at)),
            // A click on the background (not a pan) clears the selection.
            Gesture::Panning(_) if !dragged => {
                state.selection.set(Selection::None);
                state.log_node.set(None);
            }
            Gesture::Panning(_) | Gesture::Idle => {}
        }
        self.gesture.set_value(Gesture::Idle);
    }

    /// Connects the output being drawn to the node under `at`, if there is one.
    fn finish_connection(self, at: Position) {
        let state = self.state;
        if let Some(Connecting { from, branch, .. }) = state.connecting.get_untracked() {
            let target = state.editor.with_untracked(|editor| {
                editor
                    .journey()
                    .nodes()
                    .find(|node| node.id != from && hits_node(node.position, at))
                    .map(|node| node.id.clone())
            });
            if let Some(target) = target
                && state
                    .edit(|editor| editor.connect(&from, branch, &target))
                    .is_ok()
            {
                state.selection.set(Selection::Edge(from, branch));
            }
        }
        state.connecting.set(None);
    }

    fn wheel(self, event: ev::WheelEvent) {
        event.prevent_default();
        let anchor = self.locate(&event, true);
        let factor = (-event.delta_y() * 0.0015).exp();
        self.state
            .viewport
            .update(|view| *view = view.zoomed(factor, anchor));
    }

    fn zoom_by(self, factor: f64) {
        let middle = self
            .rect()
            .map_or(Position { x: 300.0, y: 200.0 }, Rect::middle);
        self.state
            .viewport
            .update(|view| *view = view.zoomed(factor, middle));
    }

    /// Shows the whole journey.
    fn fit(self) {
        let Some(rect) = self.rect() else {
            return;
        };
        let positions: Vec<Position> = self
            .state
            .editor
            .with_untracked(|editor| editor.journey().nodes().map(|node| node.position).collect());
        if let Some(bounds) = bounds(positions) {
            self.state
                .viewport
                .set(Viewport::fitting(bounds, rect.width, rect.height));
        }
    }
}

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
