//! The canvas: a surface that pans and zooms one layer holding the journey (the connections
//! in one SVG under the nodes, which are HTML boxes), and its toolbar. Panning changes one CSS
//! transform, which the browser composites without painting the nodes again.

use std::time::Duration;

use leptos::{html::Div, prelude::*};

use super::{EditorState, Selection, edge::EdgeLayer, node::NodeView, pointer::Pointer};
use crate::{editor::canvas::Viewport, ids::JourneyId, journey::NodeId};

#[component]
pub(super) fn Canvas(state: EditorState) -> impl IntoView {
    let surface = NodeRef::<Div>::new();
    let pointer = Pointer::new(state, surface);
    // Where the user left this journey in this browser, before the first frame is drawn;
    // else the whole journey, fitted once the canvas has its size.
    // The viewport the canvas set by itself (a fit), not kept for the next visit.
    let fitted = StoredValue::new(None::<Viewport>);
    match kept_viewport(state.journey_id) {
        Some(kept) => state.viewport.set(kept),
        None => fit_until_moved(state, pointer, surface, fitted),
    }
    keep_viewport(state, fitted);
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

/// Fits the journey to the canvas when it appears, and again whenever the canvas changes size
/// (the palette arriving with the session, the window resized) until the user pans or zooms:
/// the first view does not depend on which part of the page was laid out first.
fn fit_until_moved(
    state: EditorState,
    pointer: Pointer,
    surface: NodeRef<Div>,
    fitted: StoredValue<Option<Viewport>>,
) {
    // The user moved the viewport once it differs from the last fit.
    let refit = move || {
        let Some(current) = state.viewport.try_get_untracked() else {
            return;
        };
        if fitted
            .try_get_value()
            .is_none_or(|fitted| fitted.is_some_and(|fitted| fitted != current))
        {
            return;
        }
        pointer.fit();
        fitted.set_value(Some(state.viewport.get_untracked()));
    };
    // The observer lives as long as the canvas, not as the effect that finds the element.
    let canvas = Owner::current();
    Effect::new(move |observed: Option<bool>| {
        if observed == Some(true) {
            return true;
        }
        let Some(element) = surface.get() else {
            return false;
        };
        refit();
        match &canvas {
            Some(canvas) => canvas.with(|| on_resize(&element, refit)),
            None => on_resize(&element, refit),
        }
        true
    });
}

/// Calls `changed` whenever the element changes size, until the current owner is cleaned up.
#[cfg(feature = "hydrate")]
fn on_resize(element: &leptos::web_sys::Element, changed: impl Fn() + 'static) {
    use leptos::wasm_bindgen::{JsCast, closure::Closure};
    let callback = Closure::<dyn Fn()>::new(changed);
    let Ok(observer) = web_sys::ResizeObserver::new(callback.as_ref().unchecked_ref()) else {
        return;
    };
    observer.observe(element);
    // Disconnected before the callback is dropped: a detached canvas is resized to nothing,
    // and a dropped callback that the observer still called would throw.
    let watch = StoredValue::new_local(Some((observer, callback)));
    on_cleanup(move || {
        if let Some(Some((observer, _callback))) = watch.try_update_value(Option::take) {
            observer.disconnect();
        }
    });
}

#[cfg(not(feature = "hydrate"))]
fn on_resize(element: &leptos::web_sys::Element, changed: impl Fn() + 'static) {
    let _ = (element, changed);
}

/// The viewport this browser kept for the journey, if it kept one.
fn kept_viewport(journey: JourneyId) -> Option<Viewport> {
    #[cfg(feature = "hydrate")]
    {
        let storage = web_sys::window()?.local_storage().ok()??;
        let text = storage
            .get_item(&crate::editor::canvas::viewport_key(journey))
            .ok()??;
        Viewport::from_kept(&text)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = journey;
        None
    }
}

/// Keeps the viewport in local storage for the next visit, a moment after the user stops
/// moving it: a pan changes it every frame. A write still waiting when the page goes (a
/// reload, another page of the app) is done then. The automatic fit is not kept, so a journey
/// never panned or zoomed by hand is fitted again on every visit.
fn keep_viewport(state: EditorState, fitted: StoredValue<Option<Viewport>>) {
    let opened = state.viewport.get_untracked();
    let journey = state.journey_id;
    let pending = StoredValue::new(None::<(TimeoutHandle, Viewport)>);
    let flush = move || {
        if let Some(Some((handle, viewport))) = pending.try_update_value(Option::take) {
            handle.clear();
            store_viewport(journey, viewport);
        }
    };
    Effect::new(move |_| {
        let viewport = state.viewport.get();
        if viewport == opened || fitted.get_value() == Some(viewport) {
            return;
        }
        if let Some((handle, _)) = pending.get_value() {
            handle.clear();
        }
        let write = move || {
            pending.set_value(None);
            store_viewport(journey, viewport);
        };
        let handle = set_timeout_with_handle(write, Duration::from_millis(300)).ok();
        pending.set_value(handle.map(|handle| (handle, viewport)));
    });
    let leaving = window_event_listener(leptos::ev::pagehide, move |_| flush());
    on_cleanup(move || {
        leaving.remove();
        flush();
    });
}

fn store_viewport(journey: JourneyId, viewport: Viewport) {
    #[cfg(feature = "hydrate")]
    if let Some(Ok(Some(storage))) = web_sys::window().map(|window| window.local_storage()) {
        // Full or refused (private mode): the journey is then fitted next time.
        let _ = storage.set_item(
            &crate::editor::canvas::viewport_key(journey),
            &viewport.to_kept(),
        );
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (journey, viewport);
}
