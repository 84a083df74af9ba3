//! A real HTTP receiver on 127.0.0.1 for webhook tests: records every request and answers as
//! the test tells it to.

use std::{
    collections::VecDeque,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
};
use tokio::{net::TcpListener, task::JoinHandle};

/// How the receiver answers the next request.
#[derive(Debug, Clone)]
pub enum Answer {
    Status(u16),
    /// A status with extra response headers, e.g. 429 with Retry-After.
    WithHeaders(u16, Vec<(&'static str, String)>),
    /// Answers 200 only after this long.
    Hang(Duration),
    /// 302 to another URL.
    Redirect(&'static str),
    /// A status with this body, as bytes.
    WithBody(u16, &'static [u8]),
}

#[derive(Debug, Clone)]
pub struct Received {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// When it arrived.
    pub at: std::time::Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
    }
}

#[derive(Default)]
struct Script {
    /// Answers for the next requests, in order; then `otherwise`.
    queued: VecDeque<Answer>,
    otherwise: Option<Answer>,
    received: Vec<Received>,
}

pub struct Receiver {
    addr: SocketAddr,
    script: Arc<Mutex<Script>>,
    task: JoinHandle<()>,
}

impl Receiver {
    /// Starts a receiver that answers 200 until told otherwise.
    pub async fn start() -> Self {
        let script = Arc::new(Mutex::new(Script::default()));
        let app = Router::new()
            .fallback(record_and_answer)
            .with_state(script.clone());
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the receiver");
        let addr = listener.local_addr().expect("receiver address");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, script, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Answers the next requests with these, in order.
    pub fn queue(&self, answers: impl IntoIterator<Item = Answer>) {
        self.lock().queued.extend(answers);
    }

    /// Answers every request not covered by `queue` with this.
    pub fn always(&self, answer: Answer) {
        self.lock().otherwise = Some(answer);
    }

    pub fn received(&self) -> Vec<Received> {
        self.lock().received.clone()
    }

    /// How many requests arrived, without copying them: for polling while thousands arrive.
    pub fn count(&self) -> usize {
        self.lock().received.len()
    }

    /// The `webhook-id`s of the webhook requests that arrived, by their contact's external id:
    /// a contact with two ids was sent two different requests, one with two arrivals of one id
    /// got the same request twice (an at-least-once retry).
    pub fn webhook_ids_by_contact(
        &self,
    ) -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
        let mut by_contact: std::collections::BTreeMap<_, std::collections::BTreeSet<_>> =
            std::collections::BTreeMap::new();
        for request in self.received() {
            let body: serde_json::Value =
                serde_json::from_slice(&request.body).expect("a JSON body");
            let contact = body["data"]["contact"]["external_id"]
                .as_str()
                .unwrap_or_else(|| panic!("no contact external_id in {body}"))
                .to_owned();
            by_contact
                .entry(contact)
                .or_default()
                .insert(request.header("webhook-id").to_owned());
        }
        by_contact
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Script> {
        self.script
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn record_and_answer(
    State(script): State<Arc<Mutex<Script>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let answer = {
        let mut script = script
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        script.received.push(Received {
            method,
            uri,
            headers,
            body,
            at: std::time::Instant::now(),
        });
        let next = script.queued.pop_front();
        next.or_else(|| script.otherwise.clone())
            .unwrap_or(Answer::Status(200))
    };
    match answer {
        Answer::Status(code) => status(code).into_response(),
        Answer::WithHeaders(code, headers) => {
            let mut response = (status(code), "see headers").into_response();
            for (name, value) in headers {
                if let Ok(value) = value.parse() {
                    response.headers_mut().insert(name, value);
                }
            }
            response
        }
        Answer::Hang(duration) => {
            tokio::time::sleep(duration).await;
            StatusCode::OK.into_response()
        }
        Answer::Redirect(location) => {
            (StatusCode::FOUND, [("location", location)], "moved").into_response()
        }
        Answer::WithBody(code, body) => (status(code), body).into_response(),
    }
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// A port that accepts connections and resets them at once, as a crashing receiver does.
pub async fn resetting_port() -> (u16, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            // Linger 0 makes the close a reset instead of an orderly shutdown. (tokio deprecates
            // set_linger because a non-zero linger blocks on drop; zero does not.)
            #[allow(deprecated)]
            let _ = stream.set_linger(Some(Duration::ZERO));
            drop(stream);
        }
    });
    (port, task)
}
