//! The one error type of the HTTP boundary. Client mistakes say exactly what to fix; server
//! faults are logged with their cause and answered with an opaque message.

use app::api::{ErrorBody, ErrorOut, ValidationErrorsOut};
use app::journey::ValidationError;
use axum::{
    Json,
    extract::rejection::{JsonRejection, PathRejection, QueryRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
};

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    validation_errors: Vec<ValidationError>,
    /// What went wrong inside the server: logged when the response is made, never sent.
    fault: Option<String>,
    /// Seconds to send in `Retry-After`.
    retry_after: Option<u64>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            validation_errors: Vec::new(),
            fault: None,
            retry_after: None,
        }
    }

    /// No credentials, or credentials that are not (or no longer) valid.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
    }

    /// A body that did not arrive within the deadline (a client trickling it).
    pub fn body_timeout(deadline: std::time::Duration) -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!(
                "the request body did not arrive within {} s; send it at once",
                deadline.as_secs()
            ),
        )
    }

    /// A known caller who may not do this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// A session's write without its CSRF token.
    pub fn csrf(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "csrf_token_invalid", message)
    }

    /// An operator signed in with a one-time password, asking for anything but changing it.
    pub fn password_change_required() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "password_change_required",
            "choose your own password first (POST /api/v1/session/password, or the account page)",
        )
    }

    /// A value the server refuses, naming the field: e.g. a password that is too short.
    pub fn invalid_field(field: &str, message: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            format!("{field}: {message}"),
        )
    }

    /// Too many attempts; the client may try again after `retry_after` seconds.
    pub fn too_many(code: &'static str, message: impl Into<String>, retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, code, message)
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// A request naming a host this server does not answer to (DNS rebinding, a stray proxy).
    pub fn misdirected(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::MISDIRECTED_REQUEST,
            "misdirected_request",
            message,
        )
    }

    /// A write that a page of another site sent.
    pub fn cross_site(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "cross_site_request", message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// Well-formed input the server cannot accept, e.g. a journey graph with a dangling edge.
    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "unprocessable", message)
    }

    /// Text with a NUL character, which no text column can store.
    pub fn nul_in(field: &str) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_text",
            format!(
                "{field} contains a NUL character (\\u0000), which cannot be stored; remove it"
            ),
        )
    }

    /// The server cannot take the request now, e.g. while shutting down; retrying later works.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    /// The database cannot be reached now (down, restarting, out of connections): the same
    /// request later may well work. Whether this one was carried out is not known (a
    /// connection lost during a commit may have lost only the answer).
    pub fn database_unavailable(error: impl std::fmt::Display) -> Self {
        Self {
            fault: Some(format!("database unavailable: {error}")),
            retry_after: Some(5),
            ..Self::unavailable(
                "the database is unavailable right now, so the request may not have been \
                 carried out; try again in a few seconds",
            )
        }
    }

    /// An error of the database: unavailable, or a fault.
    pub fn from_database(error: &sqlx::Error) -> Self {
        if crate::store::is_unavailable(error) {
            Self::database_unavailable(error)
        } else {
            Self::internal(format_args!("database: {error}"))
        }
    }

    /// A journey that cannot run; every problem is listed with its node.
    pub fn invalid_journey(errors: Vec<ValidationError>) -> Self {
        Self {
            validation_errors: errors,
            ..Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_journey",
                "the journey cannot be published until the problems listed are fixed",
            )
        }
    }

    /// The same error, its message starting with `prefix` (e.g. the position in a batch).
    pub fn prefixed(mut self, prefix: &str) -> Self {
        self.message.insert_str(0, prefix);
        self
    }

    /// A fault of the server, not the client: logged in full (once, with the request's
    /// method and path) when the response is made, and answered without details.
    pub fn internal(error: impl std::fmt::Display) -> Self {
        Self {
            fault: Some(error.to_string()),
            ..Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the server could not complete the request; the details are in its log",
            )
        }
    }
}

/// A statement the database refused because of the data, not a fault: a duplicate becomes a
/// 409 and a missing reference a 422, naming the constraint; anything else is internal.
impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        if let sqlx::Error::Database(database) = &error {
            let constraint = database.constraint().unwrap_or("a constraint");
            match database.kind() {
                sqlx::error::ErrorKind::UniqueViolation => {
                    return Self::conflict(format!(
                        "this already exists ({constraint}); change what must be unique"
                    ));
                }
                sqlx::error::ErrorKind::ForeignKeyViolation => {
                    return Self::unprocessable(format!(
                        "this refers to something that does not exist ({constraint})"
                    ));
                }
                _ => {}
            }
        }
        Self::from_database(&error)
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let code = match &rejection {
            JsonRejection::JsonDataError(_) | JsonRejection::JsonSyntaxError(_) => "invalid_json",
            JsonRejection::MissingJsonContentType(_) => "unsupported_media_type",
            _ if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
            _ => "bad_request",
        };
        // axum answers a well-formed body of the wrong shape with 422; it is as much a
        // malformed request as broken JSON, so both are 400.
        let status = match rejection.status() {
            StatusCode::UNPROCESSABLE_ENTITY => StatusCode::BAD_REQUEST,
            status => status,
        };
        Self::new(status, code, rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::bad_request(rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::bad_request(rejection.body_text())
    }
}

impl From<crate::auth::AuthError> for ApiError {
    fn from(error: crate::auth::AuthError) -> Self {
        use crate::auth::AuthError;
        let message = error.to_string();
        match error {
            AuthError::BadKey => Self::new(StatusCode::UNAUTHORIZED, "invalid_api_key", message),
            AuthError::SessionEnded => {
                Self::new(StatusCode::UNAUTHORIZED, "session_ended", message)
            }
            AuthError::WrongCredentials => {
                Self::new(StatusCode::UNAUTHORIZED, "wrong_credentials", message)
            }
            AuthError::Deactivated => Self::new(StatusCode::FORBIDDEN, "deactivated", message),
            AuthError::Throttled(locked) => {
                Self::too_many("too_many_sign_ins", message, locked.retry_after_secs())
            }
            AuthError::Password(refused) => Self::invalid_field("password", refused),
            AuthError::Store(error) => Self::from(error),
            AuthError::Internal(fault) => Self::internal(fault),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Some(fault) = &self.fault {
            tracing::error!(status = self.status.as_u16(), error = %fault, "request failed");
        }
        let mut headers = axum::http::HeaderMap::new();
        if let Some(seconds) = self.retry_after {
            headers.insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"wayfarer\""),
            );
        }
        let error = ErrorBody {
            code: self.code.to_owned(),
            message: self.message,
        };
        if self.validation_errors.is_empty() {
            (self.status, headers, Json(ErrorOut { error })).into_response()
        } else {
            let body = ValidationErrorsOut {
                error,
                validation_errors: self.validation_errors,
            };
            (self.status, headers, Json(body)).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use sqlx::{AnyConnection, Connection, Executor};

    use super::*;

    /// The database's own refusal, from an in-memory SQLite.
    async fn refusal(statement: &str) -> sqlx::Error {
        sqlx::any::install_default_drivers();
        let mut connection = AnyConnection::connect("sqlite::memory:")
            .await
            .expect("an in-memory database");
        connection
            .execute(
                "PRAGMA foreign_keys = ON;
                 CREATE TABLE parents (id INTEGER PRIMARY KEY, name TEXT UNIQUE);
                 CREATE TABLE children (parent BIGINT REFERENCES parents (id));
                 INSERT INTO parents (id, name) VALUES (1, 'ana');",
            )
            .await
            .expect("the schema");
        connection
            .execute(statement)
            .await
            .expect_err("the database refuses it")
    }

    #[tokio::test]
    async fn constraint_violations_are_the_clients_mistakes() {
        let duplicate = ApiError::from(refusal("INSERT INTO parents (name) VALUES ('ana')").await);
        assert_eq!(
            (duplicate.status, duplicate.code),
            (StatusCode::CONFLICT, "conflict")
        );
        assert!(duplicate.fault.is_none());
        let dangling = ApiError::from(refusal("INSERT INTO children (parent) VALUES (7)").await);
        assert_eq!(dangling.status, StatusCode::UNPROCESSABLE_ENTITY);
        let broken = ApiError::from(refusal("SELECT * FROM nowhere").await);
        assert_eq!(broken.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(broken.fault.is_some_and(|fault| fault.contains("nowhere")));
    }
}
