//! The server-rendered UI: pages arrive as HTML that loads the hydration bundle.

use crate::support::{Backend, TestServer};

backend_tests!(
    pages_are_server_rendered_with_the_hydration_bundle,
    root_redirects_to_journeys,
    unknown_page_is_a_404_page,
);

async fn pages_are_server_rendered_with_the_hydration_bundle(backend: Backend) {
    let server = TestServer::start(backend).await;

    for (path, heading) in [
        ("/journeys", "Journeys"),
        ("/webhooks", "Webhooks"),
        ("/contacts", "Contacts"),
    ] {
        let response = server.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        let content_type = response.headers()["content-type"].to_str().unwrap_or("");
        assert!(
            content_type.starts_with("text/html"),
            "{path}: {content_type}"
        );
        let html = response.text().await.expect("a body");
        // Leptos may put a hydration marker (`<!>`) after the text.
        assert!(html.contains(&format!("<h1>{heading}")), "{path}: {html}");
        assert!(html.contains("/pkg/wayfarer.js"), "{path} loads the bundle");
        assert!(
            html.contains("/pkg/wayfarer.css"),
            "{path} loads the stylesheet"
        );
        for link in ["/journeys", "/webhooks", "/contacts"] {
            assert!(
                html.contains(&format!("href=\"{link}\"")),
                "{path} links {link}"
            );
        }
    }
}

async fn root_redirects_to_journeys(backend: Backend) {
    let server = TestServer::start(backend).await;

    let response = server.get("/").await;

    assert!(response.status().is_redirection(), "{}", response.status());
    assert_eq!(response.headers()["location"], "/journeys");
}

async fn unknown_page_is_a_404_page(backend: Backend) {
    let server = TestServer::start(backend).await;

    let response = server.get("/no-such-page").await;

    assert_eq!(response.status(), 404);
    let html = response.text().await.expect("a body");
    assert!(html.contains("Page not found"), "{html}");
}
