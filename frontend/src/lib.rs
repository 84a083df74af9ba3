//! Browser entry point: hydrates the page the server rendered.

use wasm_bindgen::prelude::wasm_bindgen;

#[wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
    mark_hydrated();
}

/// Sets `data-hydrated` on `<body>` so tests and tooling can tell when the page is interactive.
fn mark_hydrated() {
    let body = web_sys::window()
        .and_then(|window| window.document())
        .and_then(|document| document.body());
    if let Some(body) = body {
        // Failing to set a marker attribute must not break the page; there is nothing to recover.
        let _ = body.dataset().set("hydrated", "true");
    }
}
