//! The pointer on the canvas and its gestures: pan, zoom, move a node, draw a connection. The
//! nodes and connections start gestures through it; moves are applied once per frame.

use leptos::{ev, html::Div, prelude::*};

use super::{Connecting, EditorState, Selection};
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
    pub(super) fn new(state: EditorState, surface: NodeRef<Div>) -> Self {
        Self {
            state,
            surface,
            gesture: StoredValue::new(Gesture::Idle),
            pressed_at: StoredValue::new(Position::default()),
            origin: StoredValue::new(Position::default()),
            unapplied: StoredValue::new(None),
        }
    }

    pub(super) fn rect(self) -> Option<Rect> {
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

    pub(super) fn press_background(self, event: ev::PointerEvent) {
        if let Some(at) = self.start(&event) {
            self.gesture.set_value(Gesture::Panning(at));
        }
    }

    pub(super) fn press_node(self, id: NodeId, event: ev::PointerEvent) {
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

    pub(super) fn press_port(self, from: NodeId, branch: Branch, event: ev::PointerEvent) {
        event.stop_propagation();
        if let Some(at) = self.start(&event) {
            self.gesture.set_value(Gesture::Connecting);
            let to = self.world(at);
            self.state
                .connecting
                .set(Some(Connecting { from, branch, to }));
        }
    }

    pub(super) fn press_edge(self, from: NodeId, branch: Branch, event: ev::PointerEvent) {
        event.stop_propagation();
        self.state.selection.set(Selection::Edge(from, branch));
    }

    pub(super) fn moved(self, event: ev::PointerEvent) {
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

    pub(super) fn released(self, event: ev::PointerEvent) {
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

    pub(super) fn wheel(self, event: ev::WheelEvent) {
        event.prevent_default();
        let anchor = self.locate(&event, true);
        let factor = (-event.delta_y() * 0.0015).exp();
        self.state
            .viewport
            .update(|view| *view = view.zoomed(factor, anchor));
    }

    pub(super) fn zoom_by(self, factor: f64) {
        let middle = self
            .rect()
            .map_or(Position { x: 300.0, y: 200.0 }, Rect::middle);
        self.state
            .viewport
            .update(|view| *view = view.zoomed(factor, middle));
    }

    /// Shows the whole journey.
    pub(super) fn fit(self) {
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
