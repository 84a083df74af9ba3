//! An operator signed in as a browser is: the session cookie on every request and the CSRF
//! token on every write.

use app::api::{OperatorCreatedOut, Role, SessionOut};
use reqwest::{Method, StatusCode};
use serde_json::json;

use super::TestServer;

/// A password that meets the policy, for operators tests create.
pub const PASSWORD: &str = "correct horse battery staple";

pub struct Session {
    base: String,
    client: reqwest::Client,
    /// The session cookie's value.
    pub token: String,
    pub csrf_token: String,
    pub session: SessionOut,
}

impl Session {
    /// Signs in; panics unless it works.
    pub async fn sign_in(server: &TestServer, email: &str, password: &str) -> Self {
        let response = sign_in(server, email, password).await;
        Self::from_response(server, response).await
    }

    /// The session an answer that signed in (`POST /session` or `/setup`) started.
    pub async fn from_response(server: &TestServer, response: reqwest::Response) -> Self {
        assert!(
            response.status().is_success(),
            "signed in: {}",
            response.status()
        );
        let token = set_cookie(&response, "wayfarer_session").expect("the session cookie");
        let csrf_token = set_cookie(&response, "wayfarer_csrf").expect("the CSRF cookie");
        let session: SessionOut = response.json().await.expect("the session JSON");
        assert_eq!(session.csrf_token.as_deref(), Some(csrf_token.as_str()));
        Self {
            base: server.url(""),
            client: super::http_client(),
            token,
            csrf_token,
            session,
        }
    }

    /// A request with the session cookie, and the CSRF token when it writes.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let writes = !matches!(method, Method::GET | Method::HEAD);
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("cookie", format!("wayfarer_session={}", self.token));
        if writes {
            request = request.header("x-csrf-token", &self.csrf_token);
        }
        request
    }

    pub async fn send(&self, method: Method, path: &str) -> reqwest::Response {
        self.request(method, path).send().await.expect("a response")
    }
}

pub async fn sign_in(server: &TestServer, email: &str, password: &str) -> reqwest::Response {
    super::http_client()
        .post(server.url("/api/v1/session"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("a response")
}

/// The value a `Set-Cookie` header of the answer gives cookie `name`.
pub fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|value| {
            let (pair, _) = value.split_once(';').unwrap_or((value, ""));
            let (key, value) = pair.split_once('=')?;
            (key == name).then(|| value.to_owned())
        })
}

impl TestServer {
    /// Creates an operator with [`PASSWORD`] (through the API, as an admin key).
    pub async fn create_operator(&self, email: &str, role: Role) -> OperatorCreatedOut {
        self.expect(
            self.post_json(
                "/api/v1/operators",
                &json!({"email": email, "role": role, "password": PASSWORD}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await
    }

    /// Creates an operator with `role` and signs them in.
    pub async fn signed_in(&self, role: Role) -> Session {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let email = format!("{role}-{n}@example.com");
        self.create_operator(&email, role).await;
        Session::sign_in(self, &email, PASSWORD).await
    }
}
