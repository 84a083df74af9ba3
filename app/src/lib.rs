//! Everything the browser and the server both need: the Leptos UI today, and the journey model,
//! placeholder templates and REST API types as they arrive.

pub mod api;
pub mod editor;
pub mod ids;
pub mod journey;
#[cfg(test)]
mod robustness;
pub mod template;
pub mod text_enum;
pub mod ui;

use leptos::prelude::*;
use leptos_meta::MetaTags;

pub use ui::App;

/// The HTML document the server renders around [`App`]; the browser hydrates its body.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    set_content_security_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                // An empty inline icon keeps the browser from requesting /favicon.ico.
                <link rel="icon" href="data:,"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The page's Content-Security-Policy: scripts only from this render's nonce (the hydration
/// script) and what it loads (`'strict-dynamic'`: the bundle and its lazy parts), WASM
/// compilation, requests to this origin only, no plugins, no `<base>`, forms to this origin,
/// never framed. Inline styles stay allowed: the canvas positions nodes with style attributes.
#[cfg(feature = "ssr")]
fn set_content_security_policy() {
    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    let policy = format!(
        "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    if let Ok(value) = http::HeaderValue::from_str(&policy) {
        response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
}
