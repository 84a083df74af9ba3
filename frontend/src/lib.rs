//! Browser entry point: hydrates the page the server rendered.

use wasm_bindgen::prelude::wasm_bindgen;

/// Lazy routes (the editor, webhooks and contacts pages) load their code before they hydrate,
/// so hydration is asynchronous (what `leptos::mount::hydrate_lazy` does, with the marker set
/// when it has finished).
#[wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // An error only says that the executor was set up already.
    let _ = any_spawner::Executor::init_wasm_bindgen();
    leptos::task::spawn_local(async {
        let owner = leptos::mount::hydrate_from_async(leptos::tachys::dom::body(), app::App).await;
        owner.forget();
        mark_hydrated();
    });
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
