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
