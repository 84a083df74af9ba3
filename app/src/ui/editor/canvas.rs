//! The palette and the SVG canvas: nodes, connections and the pointer gestures on them (drag
//! a kind in, move a node, draw a connection from an output port, pan, zoom).

use leptos::{ev, prelude::*, svg::Svg};

use super::{EditorState, Selection};
use crate::{
    editor::{
        PALETTE,
        canvas::{
            NODE_HEIGHT, NODE_WIDTH, Viewport, bounds, connection_path, hits_node, input_port,
            output_port,
        },
        new_node_kind,
    },
    journey::{Action, Branch, Edge, Node, NodeId, NodeKind, Position, WaitTarget},
};

/// What a pointer pressed on the canvas is doing.
#[derive(Debug, Clone, PartialEq)]
enum Gesture {
    Idle,
    /// Dragging the background; the last pointer position on the screen.
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

pub(super) fn kind_label(kind: &str) -> &'static str {
    match kind {
        "trigger" => "Trigger",
        "action" => "Action",
        "wait_for_event" => "Wait for event",
        "delay" => "Delay",
        "condition" => "Condition",
        "webhook" => "Webhook",
        _ => "Exit",
    }
}

fn kind_icon(kind: &str) -> &'static str {
    match kind {
        "trigger" => "⚡",
        "action" => "✉",
        "wait_for_event" => "◴",
        "delay" => "◷",
        "condition" => "◇",
        "webhook" => "⇄",
        _ => "■",
    }
}

pub(super) fn kind_name(kind: &NodeKind) -> &'static str {
    match kind {
        NodeKind::Trigger(_) => "trigger",
        NodeKind::Action(_) => "action",
        NodeKind::WaitForEvent(_) => "wait_for_event",
        NodeKind::Delay(_) => "delay",
        NodeKind::Condition(_) => "condition",
        NodeKind::Webhook(_) => "webhook",
        NodeKind::Exit => "exit",
    }
}

/// One line saying what the node does.
fn summary(kind: &NodeKind, webhooks: &[crate::api::WebhookOut]) -> String {
    fn or_unset(text: &str) -> String {
        if text.trim().is_empty() {
            "not set".to_owned()
        } else {
            text.to_owned()
        }
    }
    match kind {
        NodeKind::Trigger(trigger) => format!("on {}", or_unset(&trigger.event)),
        NodeKind::Action(Action { channel, message }) => {
            format!("{} · {}", channel.as_str(), or_unset(message))
        }
        NodeKind::WaitForEvent(wait) => {
            let what = match &wait.until {
                WaitTarget::Event { event } => or_unset(event),
                WaitTarget::MessageActivity { activity, .. } => activity.as_str().to_owned(),
            };
            format!(
                "{what} ≤ {} {}",
                wait.timeout.value,
                panel_unit(wait.timeout)
            )
        }
        NodeKind::Delay(delay) => {
            format!("{} {}", delay.duration.value, panel_unit(delay.duration))
        }
        NodeKind::Condition(condition) => match condition.rules.len() {
            1 => "1 rule".to_owned(),
            rules => format!("{rules} rules"),
        },
        NodeKind::Webhook(webhook) => match &webhook.webhook {
            None => "no webhook picked".to_owned(),
            Some(id) => webhooks
                .iter()
                .find(|candidate| candidate.id == *id)
                .map_or_else(
                    || format!("webhook {id} (missing)"),
                    |hook| hook.name.clone(),
                ),
        },
        NodeKind::Exit => "end of the journey".to_owned(),
    }
}

fn panel_unit(span: crate::journey::Span) -> &'static str {
    super::panel::unit_label(span.unit)
}

/// The canvas's (left, top, width, height) on the screen.
fn canvas_rect(canvas: NodeRef<Svg>) -> Option<(f64, f64, f64, f64)> {
    canvas.get_untracked().map(|svg| element_rect(&svg))
}

/// Kinds to drag onto the canvas (or press Enter on, to add one in the middle).
#[component]
pub(super) fn Palette(state: EditorState) -> impl IntoView {
    // The kind being dragged and the pointer's place on the screen.
    let carrying = RwSignal::new(None::<(&'static str, f64, f64)>);
    let move_handle = window_event_listener(ev::pointermove, move |event| {
        if carrying.with_untracked(Option::is_some) {
            carrying.update(|carried| {
                if let Some((_, x, y)) = carried {
                    *x = f64::from(event.client_x());
                    *y = f64::from(event.client_y());
                }
            });
        }
    });
    let up_handle = window_event_listener(ev::pointerup, move |event| {
        let Some((kind, _, _)) = carrying.get_untracked() else {
            return;
        };
        carrying.set(None);
        let canvas = document().query_selector("svg.canvas").ok().flatten();
        let Some(canvas) = canvas else { return };
        let rect = element_rect(&canvas);
        let (x, y) = (f64::from(event.client_x()), f64::from(event.client_y()));
        if x < rect.0 || y < rect.1 || x > rect.0 + rect.2 || y > rect.1 + rect.3 {
            return;
        }
        let world = state.viewport.get_untracked().to_world(Position {
            x: x - rect.0,
            y: y - rect.1,
        });
        place(
            state,
            kind,
            Position {
                x: world.x - NODE_WIDTH / 2.0,
                y: world.y - NODE_HEIGHT / 2.0,
            },
        );
    });
    on_cleanup(move || {
        move_handle.remove();
        up_handle.remove();
    });

    let items = PALETTE
        .into_iter()
        .map(|kind| {
            view! {
                <li>
                    <button
                        type="button"
                        class=format!("palette-item kind-{kind}")
                        data-kind=kind
                        title=format!("Drag onto the canvas to add a {} node", kind_label(kind))
                        on:pointerdown=move |event| {
                            event.prevent_default();
                            carrying
                                .set(
                                    Some((
                                        kind,
                                        f64::from(event.client_x()),
                                        f64::from(event.client_y()),
                                    )),
                                );
                        }
                        on:click=move |event| {
                            // Enter or Space (detail 0): add it in the middle of the view.
                            if event.detail() == 0 {
                                let view = state.viewport.get_untracked();
                                let middle = view.to_world(Position { x: 320.0, y: 200.0 });
                                place(state, kind, middle);
                            }
                        }
                    >
                        <span class="icon" aria-hidden="true">{kind_icon(kind)}</span>
                        {kind_label(kind)}
                    </button>
                </li>
            }
        })
        .collect_view();
    view! {
        <nav class="palette" aria-label="Node kinds">
            <h2>"Add"</h2>
            <ul>{items}</ul>
            <p class="hint">"Drag a kind onto the canvas."</p>
            {move || {
                carrying
                    .get()
                    .map(|(kind, x, y)| {
                        view! {
                            <div
                                class="palette-ghost"
                                style=format!("left: {}px; top: {}px", x - 70.0, y - 18.0)
                            >
                                {kind_icon(kind)}
                                " "
                                {kind_label(kind)}
                            </div>
                        }
                    })
            }}
        </nav>
    }
    .into_any()
}

/// An element's (left, top, width, height) on the screen; zeros outside the browser.
fn element_rect(element: &leptos::web_sys::Element) -> (f64, f64, f64, f64) {
    #[cfg(feature = "hydrate")]
    {
        let rect = element.get_bounding_client_rect();
        (rect.left(), rect.top(), rect.width(), rect.height())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = element;
        (0.0, 0.0, 0.0, 0.0)
    }
}

fn place(state: EditorState, kind: &str, at: Position) {
    if let Some(node_kind) = new_node_kind(kind) {
        let snapped = Position {
            x: (at.x / 8.0).round() * 8.0,
            y: (at.y / 8.0).round() * 8.0,
        };
        let id = state.edit(|editor| editor.add_node(node_kind, snapped));
        state.selection.set(Selection::Node(id));
    }
}

#[component]
pub(super) fn Canvas(state: EditorState) -> impl IntoView {
    let canvas = NodeRef::<Svg>::new();
    let gesture = StoredValue::new(Gesture::Idle);
    let pressed_at = StoredValue::new(Position::default());
    // The canvas's corner on the screen, read when a gesture starts: reading it on every
    // pointer move would force the browser to lay out the whole drawing each time.
    let origin = StoredValue::new((0.0, 0.0));
    let locate = move |event: &ev::MouseEvent, refresh: bool| {
        if refresh && let Some((left, top, _, _)) = canvas_rect(canvas) {
            origin.set_value((left, top));
        }
        let (left, top) = origin.get_value();
        Position {
            x: f64::from(event.client_x()) - left,
            y: f64::from(event.client_y()) - top,
        }
    };

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
    let edges = Memo::new(move |_| {
        state
            .editor
            .with(|editor| editor.journey().edges().collect::<Vec<Edge>>())
    });

    let fit = move || {
        let Some((_, _, width, height)) = canvas_rect(canvas) else {
            return;
        };
        let positions: Vec<Position> = state
            .editor
            .with_untracked(|editor| editor.journey().nodes().map(|node| node.position).collect());
        if let Some(bounds) = bounds(positions) {
            state.viewport.set(Viewport::fitting(bounds, width, height));
        }
    };
    // Fit once the canvas is on screen.
    Effect::new(move |done: Option<bool>| {
        if done == Some(true) {
            return true;
        }
        if canvas.get().is_some() {
            fit();
            return true;
        }
        false
    });

    let on_pointerdown = move |event: ev::PointerEvent| {
        if event.button() != 0 {
            return;
        }
        let screen = locate(&event, true);
        pressed_at.set_value(screen);
        gesture.set_value(Gesture::Panning(screen));
        capture(canvas, &event);
    };
    let on_pointermove = move |event: ev::PointerEvent| {
        let screen = locate(&event, false);
        let view = state.viewport.get_untracked();
        match gesture.get_value() {
            Gesture::Idle => {}
            Gesture::Panning(last) => {
                state
                    .viewport
                    .set(view.panned(screen.x - last.x, screen.y - last.y));
                gesture.set_value(Gesture::Panning(screen));
            }
            Gesture::Moving { id, grab } => {
                let world = view.to_world(screen);
                state.dragging.set(Some((
                    id,
                    Position {
                        x: world.x - grab.x,
                        y: world.y - grab.y,
                    },
                )));
            }
            Gesture::Connecting => {
                let world = view.to_world(screen);
                state.connecting.update(|connecting| {
                    if let Some((_, _, to)) = connecting {
                        *to = world;
                    }
                });
            }
        }
    };
    let on_pointerup = move |event: ev::PointerEvent| {
        let screen = locate(&event, false);
        let pressed = pressed_at.get_value();
        let moved = (screen.x - pressed.x).hypot(screen.y - pressed.y) > CLICK_SLOP;
        match gesture.get_value() {
            Gesture::Moving { id, .. } => {
                if let Some((_, to)) = state.dragging.get_untracked()
                    && moved
                {
                    let snapped = Position {
                        x: (to.x / 8.0).round() * 8.0,
                        y: (to.y / 8.0).round() * 8.0,
                    };
                    let _ = state.edit(|editor| editor.move_node(&id, snapped));
                }
                state.dragging.set(None);
            }
            Gesture::Connecting => {
                if let Some((from, branch, _)) = state.connecting.get_untracked() {
                    let world = state.viewport.get_untracked().to_world(screen);
                    let target = state.editor.with_untracked(|editor| {
                        editor
                            .journey()
                            .nodes()
                            .find(|node| node.id != from && hits_node(node.position, world))
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
            // A click on the background (not a pan) clears the selection.
            Gesture::Panning(_) if !moved => {
                state.selection.set(Selection::None);
                state.log_node.set(None);
            }
            Gesture::Panning(_) | Gesture::Idle => {}
        }
        gesture.set_value(Gesture::Idle);
    };
    let on_wheel = move |event: ev::WheelEvent| {
        let anchor = locate(&event, true);
        let factor = (-event.delta_y() * 0.0015).exp();
        state
            .viewport
            .update(|view| *view = view.zoomed(factor, anchor));
    };

    let start_move = move |id: NodeId, event: ev::PointerEvent| {
        if event.button() != 0 {
            return;
        }
        event.stop_propagation();
        let screen = locate(&event, true);
        pressed_at.set_value(screen);
        let world = state.viewport.get_untracked().to_world(screen);
        let Some(position) = state
            .editor
            .with_untracked(|editor| editor.journey().node(&id).map(|node| node.position))
        else {
            return;
        };
        state.selection.set(Selection::Node(id.clone()));
        gesture.set_value(Gesture::Moving {
            id,
            grab: Position {
                x: world.x - position.x,
                y: world.y - position.y,
            },
        });
        capture(canvas, &event);
    };
    let start_connect = move |id: NodeId, branch: Branch, event: ev::PointerEvent| {
        if event.button() != 0 {
            return;
        }
        event.stop_propagation();
        let screen = locate(&event, true);
        pressed_at.set_value(screen);
        let world = state.viewport.get_untracked().to_world(screen);
        state.connecting.set(Some((id, branch, world)));
        gesture.set_value(Gesture::Connecting);
        capture(canvas, &event);
    };
    let select_edge = move |from: NodeId, branch: Branch, event: ev::PointerEvent| {
        event.stop_propagation();
        state.selection.set(Selection::Edge(from, branch));
    };

    // Below half size, node texts are too small to read; leaving them out keeps panning a
    // large journey smooth (painting hundreds of texts per frame is what costs).
    let zoomed_out = Memo::new(move |_| state.viewport.with(|view| view.zoom < 0.5));

    let zoom_by = move |factor: f64| {
        let middle = canvas_rect(canvas).map_or(Position { x: 300.0, y: 200.0 }, |rect| Position {
            x: rect.2 / 2.0,
            y: rect.3 / 2.0,
        });
        state
            .viewport
            .update(|view| *view = view.zoomed(factor, middle));
    };

    view! {
        <div class="canvas-area">
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
                <button type="button" aria-label="Zoom out" on:click=move |_| zoom_by(1.0 / 1.25)>"−"</button>
                <span class="zoom" aria-label="Zoom level">
                    {move || format!("{:.0} %", state.viewport.get().zoom * 100.0)}
                </span>
                <button type="button" aria-label="Zoom in" on:click=move |_| zoom_by(1.25)>"+"</button>
                <button type="button" aria-label="Fit to screen" on:click=move |_| fit()>"Fit"</button>
            </div>
            <svg
                class=move || if zoomed_out.get() { "canvas zoomed-out" } else { "canvas" }
                node_ref=canvas
                role="application"
                aria-label="Journey canvas"
                on:pointerdown=on_pointerdown
                on:pointermove=on_pointermove
                on:pointerup=on_pointerup
                on:wheel=on_wheel
            >
                <defs>
                    <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7"
                        markerHeight="7" orient="auto-start-reverse">
                        <path d="M 0 0 L 10 5 L 0 10 z" class="arrow-head"></path>
                    </marker>
                </defs>
                <g transform=move || state.viewport.get().transform()>
                    <g class="edges">
                        <For
                            each=move || edges.get()
                            key=|edge| (edge.from.clone(), edge.branch, edge.to.clone())
                            children=move |edge| view! { <EdgeView state edge select_edge/> }
                        />
                    </g>
                    <g class="nodes">
                        <For
                            each=move || node_ids.get()
                            key=|id| id.clone()
                            children=move |id| view! { <NodeView state id start_move start_connect/> }
                        />
                    </g>
                    {move || {
                        state
                            .connecting
                            .get()
                            .and_then(|(from, branch, to)| {
                                let start = state.editor.with(|editor| {
                                    editor
                                        .journey()
                                        .node(&from)
                                        .map(|node| output_port(node.position, &node.kind, branch))
                                })?;
                                Some(view! {
                                    <path class="edge-draft" d=connection_path(start, to)></path>
                                })
                            })
                    }}
                </g>
            </svg>
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

/// Keeps the pointer's events with the canvas until it is released, also outside it.
fn capture(canvas: NodeRef<Svg>, event: &ev::PointerEvent) {
    if let Some(svg) = canvas.get_untracked() {
        let _ = svg.set_pointer_capture(event.pointer_id());
    }
}

/// Where a node is drawn: where it is being dragged, or where it is.
fn drawn_position(state: EditorState, id: &NodeId, stored: Position) -> Position {
    state.dragging.with(|dragging| match dragging {
        Some((dragged, at)) if dragged == id => *at,
        _ => stored,
    })
}

#[component]
fn NodeView<M, C>(state: EditorState, id: NodeId, start_move: M, start_connect: C) -> impl IntoView
where
    M: Fn(NodeId, ev::PointerEvent) + Copy + Send + Sync + 'static,
    C: Fn(NodeId, Branch, ev::PointerEvent) + Copy + Send + Sync + 'static,
{
    let node = {
        let id = id.clone();
        Memo::new(move |_| {
            state
                .editor
                .with(|editor| editor.journey().node(&id).cloned())
        })
    };
    let position = {
        let id = id.clone();
        Memo::new(move |_| {
            let stored =
                node.with(|node| node.as_ref().map(|node| node.position).unwrap_or_default());
            drawn_position(state, &id, stored)
        })
    };
    let selected = {
        let id = id.clone();
        Memo::new(move |_| {
            state
                .selection
                .with(|selection| *selection == Selection::Node(id.clone()))
        })
    };
    let invalid = {
        let id = id.clone();
        Memo::new(move |_| {
            state.problems.with(|problems| {
                problems
                    .iter()
                    .any(|problem| problem.node.as_ref() == Some(&id))
            })
        })
    };
    let kind = Memo::new(move |_| node.with(|node| node.as_ref().map(|node| node.kind.clone())));
    let name = Memo::new(move |_| kind.with(|kind| kind.as_ref().map_or("exit", kind_name)));
    let stats = {
        let id = id.clone();
        Memo::new(move |_| state.stats.with(|stats| stats.get(&id).cloned()))
    };

    let ports = {
        let id = id.clone();
        move || {
            let Some(kind) = kind.get() else {
                return Vec::new();
            };
            kind.branches()
                .iter()
                .map(|&branch| {
                    let port = output_port(Position::default(), &kind, branch);
                    let id = id.clone();
                    view! {
                        <g class="port-out" data-branch=branch.as_str()>
                            <circle
                                cx=port.x
                                cy=port.y
                                r="7"
                                on:pointerdown=move |event| start_connect(id.clone(), branch, event)
                            ></circle>
                            {(branch != Branch::Next).then(|| view! {
                                <text class="port-label" x=port.x y=port.y + 20.0 text-anchor="middle">
                                    {branch.as_str()}
                                </text>
                            })}
                        </g>
                    }
                })
                .collect_view()
        }
    };
    let open_log = {
        let id = id.clone();
        move |event: ev::PointerEvent| {
            event.stop_propagation();
            state.selection.set(Selection::Node(id.clone()));
            state.log_node.set(Some(id.clone()));
        }
    };
    let label = id.to_string();
    let move_id = id.clone();
    view! {
        <g
            class=move || {
                let mut class = format!("node kind-{}", name.get());
                if selected.get() { class.push_str(" selected"); }
                if invalid.get() { class.push_str(" invalid"); }
                class
            }
            data-node-id=label.clone()
            data-kind=move || name.get()
            transform=move || {
                let at = position.get();
                format!("translate({:.1} {:.1})", at.x, at.y)
            }
            tabindex="0"
            role="button"
            aria-label=move || format!("{} node {}", kind_label(name.get()), label)
            aria-pressed=move || selected.get().to_string()
            on:pointerdown=move |event| start_move(move_id.clone(), event)
            on:keydown={
                let id = id.clone();
                move |event: ev::KeyboardEvent| {
                    if event.key() == "Enter" {
                        state.selection.set(Selection::Node(id.clone()));
                    }
                }
            }
        >
            <rect class="node-box" width=NODE_WIDTH height=NODE_HEIGHT rx="10"></rect>
            <text class="node-icon" x="14" y="40">{move || kind_icon(name.get())}</text>
            <text class="node-kind" x="42" y="26">{move || kind_label(name.get())}</text>
            <text class="node-summary" x="42" y="46">
                {move || {
                    kind.with(|kind| {
                        kind.as_ref()
                            .map(|kind| state.webhooks.with(|webhooks| summary(kind, webhooks)))
                            .unwrap_or_default()
                    })
                }}
            </text>
            <circle class="port-in" cx=NODE_WIDTH / 2.0 cy="0" r="5"></circle>
            {ports}
            {move || {
                stats
                    .get()
                    .map(|stats| {
                        let deliveries = stats.deliveries;
                        view! {
                            <g class="badge reached" transform=format!("translate({} -12)", NODE_WIDTH - 56.0)>
                                <rect width="56" height="20" rx="10"></rect>
                                <text x="28" y="14" text-anchor="middle">
                                    <title>"Contacts that reached this node"</title>
                                    {format!("◉ {}", stats.reached)}
                                </text>
                            </g>
                            {deliveries.map(|counts| view! {
                                <g class="badge deliveries" transform=format!("translate(0 {})", NODE_HEIGHT + 6.0)
                                    on:pointerdown=open_log.clone()>
                                    <rect width=NODE_WIDTH height="22" rx="11"></rect>
                                    <text x=NODE_WIDTH / 2.0 y="15" text-anchor="middle">
                                        <title>"Requests accepted, pending and failed: open the delivery log"</title>
                                        {format!("✓ {}  ◷ {}  ✗ {}", counts.accepted, counts.pending, counts.failed)}
                                    </text>
                                </g>
                            })}
                        }
                    })
            }}
        </g>
    }
    .into_any()
}

#[component]
fn EdgeView<S>(state: EditorState, edge: Edge, select_edge: S) -> impl IntoView
where
    S: Fn(NodeId, Branch, ev::PointerEvent) + Copy + Send + Sync + 'static,
{
    let path = {
        let edge = edge.clone();
        Memo::new(move |_| {
            let ends = state.editor.with(|editor| {
                let from: &Node = editor.journey().node(&edge.from)?;
                let to: &Node = editor.journey().node(&edge.to)?;
                Some((from.position, from.kind.clone(), to.position))
            });
            ends.map(|(from, kind, to)| {
                let from = drawn_position(state, &edge.from, from);
                let to = drawn_position(state, &edge.to, to);
                connection_path(output_port(from, &kind, edge.branch), input_port(to))
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
            on:pointerdown=move |event| select_edge(from.clone(), branch, event)
        >
            <path class="edge-hit" d=move || path.get()></path>
            <path class="edge-line" d=move || path.get() marker-end="url(#arrow)"></path>
        </g>
    }
    .into_any()
}
