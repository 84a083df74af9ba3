//! Signing in and out, the first operator's set-up, and changing one's own password.

use app::api::{AuditAction, PasswordChangeIn, Role, SessionOut, SetupIn, SignInIn};
use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    routing::{get, post},
};

use super::{
    AppState,
    access::Anonymous,
    audit, body_limit,
    error::{ApiError, ApiResult},
    extract::ApiJson,
    openapi::{BadBody, Fault},
    operators::operator_out,
};
use crate::auth::{self, Caller, Principal, SignedIn};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/setup", post(setup))
        .route("/session", get(current).post(sign_in).delete(sign_out))
        .route("/session/password", post(change_password))
        .layer(DefaultBodyLimit::max(body_limit::SETTINGS))
}

/// The session as the UI sees it.
pub(super) fn session_out(principal: &Principal, insecure_no_auth: bool) -> SessionOut {
    let (operator, csrf_token) = match principal {
        Principal::Operator {
            operator,
            csrf_token,
            ..
        } => (Some(operator_out(operator)), Some(csrf_token.clone())),
        _ => (None, None),
    };
    SessionOut {
        operator,
        scopes: principal.scopes(),
        csrf_token,
        insecure_no_auth,
    }
}

/// The cookies of a new session: the token (`HttpOnly`) and its CSRF token (for the UI's
/// script to echo).
fn session_cookies(state: &AppState, signed_in: &SignedIn) -> HeaderMap {
    let policy = &state.auth.policy;
    let max_age = policy.lifetime / 1000;
    let secure = if policy.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let csrf = match &signed_in.principal {
        Principal::Operator { csrf_token, .. } => csrf_token.as_str(),
        _ => "",
    };
    cookies(&[
        format!(
            "{}={}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}",
            auth::SESSION_COOKIE,
            signed_in.token
        ),
        format!(
            "{}={csrf}; Path=/; Max-Age={max_age}; SameSite=Lax{secure}",
            auth::CSRF_COOKIE
        ),
    ])
}

fn cleared_cookies() -> HeaderMap {
    cookies(&[
        format!(
            "{}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax",
            auth::SESSION_COOKIE
        ),
        format!("{}=; Path=/; Max-Age=0; SameSite=Lax", auth::CSRF_COOKIE),
    ])
}

fn cookies(values: &[String]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for value in values {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.append(header::SET_COOKIE, value);
        }
    }
    headers
}

fn checked_email(email: &str) -> ApiResult<String> {
    if auth::is_plausible_email(email) {
        Ok(auth::normalise_email(email))
    } else {
        Err(ApiError::invalid_field(
            "email",
            "write an email address like ana@example.com",
        ))
    }
}

/// Creates the first operator, an admin, and signs them in. Possible only while there is no
/// operator, and only from this machine unless `--public-url` is set.
#[utoipa::path(post, path = "/api/v1/setup", tag = "session",
    request_body = SetupIn,
    responses(
        (status = 201, description = "The first operator (an admin), signed in; sets the session cookie", body = SessionOut),
        (status = 403, description = "Set-up from another machine without `--public-url` (`forbidden`)", body = app::api::ErrorOut),
        (status = 409, description = "An operator exists already: sign in instead (`conflict`)", body = app::api::ErrorOut),
        BadBody, Fault,
    ))]
async fn setup(
    State(state): State<AppState>,
    anonymous: Anonymous,
    ApiJson(input): ApiJson<SetupIn>,
) -> ApiResult<(StatusCode, HeaderMap, Json<SessionOut>)> {
    let local = anonymous
        .address
        .is_some_and(|address| address.is_loopback());
    if !local && !state.site.has_public_url() {
        return Err(ApiError::forbidden(
            "set-up is possible from this machine only (or start the server with --public-url); \
             or run `wayfarer admin create-operator --email …` on the server",
        ));
    }
    let email = checked_email(&input.email)?;
    let (operator, _) = state
        .auth
        .create_operator(&email, Role::Admin, Some(&input.password), true)
        .await?;
    let Some(operator) = operator else {
        return Err(ApiError::conflict(
            "Wayfarer is set up already: sign in, or ask an admin for an account",
        ));
    };
    let signed_in = state.auth.start_session(operator).await?;
    audit::record(
        &state,
        &signed_in.principal.describe(),
        AuditAction::Setup,
        None,
        anonymous.address,
    )
    .await;
    let cookies = session_cookies(&state, &signed_in);
    Ok((
        StatusCode::CREATED,
        cookies,
        Json(session_out(&signed_in.principal, false)),
    ))
}

/// Signs in with email and password; sets the session cookie.
#[utoipa::path(post, path = "/api/v1/session", tag = "session",
    request_body = SignInIn,
    responses(
        (status = 200, description = "Signed in; sets the session cookie", body = SessionOut),
        (status = 401, description = "The email or the password is wrong (`wrong_credentials`)", body = app::api::ErrorOut),
        (status = 403, description = "The account is deactivated (`deactivated`)", body = app::api::ErrorOut),
        (status = 429, description = "Too many failed sign-ins for the account or from the address (`too_many_sign_ins`), with `Retry-After`", body = app::api::ErrorOut),
        BadBody, Fault,
    ))]
async fn sign_in(
    State(state): State<AppState>,
    anonymous: Anonymous,
    ApiJson(input): ApiJson<SignInIn>,
) -> ApiResult<(HeaderMap, Json<SessionOut>)> {
    let attempt = state
        .auth
        .sign_in(&input.email, &input.password, anonymous.address)
        .await;
    match attempt {
        Ok(signed_in) => {
            audit::record(
                &state,
                &signed_in.principal.describe(),
                AuditAction::SignIn,
                None,
                anonymous.address,
            )
            .await;
            let cookies = session_cookies(&state, &signed_in);
            Ok((cookies, Json(session_out(&signed_in.principal, false))))
        }
        Err(error) => {
            if matches!(
                error,
                auth::AuthError::WrongCredentials
                    | auth::AuthError::Deactivated
                    | auth::AuthError::Throttled(_)
            ) {
                let tried: String = auth::normalise_email(&input.email)
                    .chars()
                    .take(254)
                    .collect();
                audit::record(
                    &state,
                    &format!("sign-in as {tried}"),
                    AuditAction::SignInFailed,
                    None,
                    anonymous.address,
                )
                .await;
            }
            Err(error.into())
        }
    }
}

/// Who is calling: the operator (or key), what they may do, and the session's CSRF token.
#[utoipa::path(get, path = "/api/v1/session", tag = "session",
    responses(
        (status = 200, description = "The caller", body = SessionOut),
        Fault,
    ))]
async fn current(State(state): State<AppState>, caller: Caller) -> Json<SessionOut> {
    Json(session_out(&caller.principal, state.auth.insecure_no_auth))
}

/// Signs out: the session ends and its cookies are cleared.
#[utoipa::path(delete, path = "/api/v1/session", tag = "session",
    responses(
        (status = 204, description = "Signed out"),
        Fault,
    ))]
async fn sign_out(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<(StatusCode, HeaderMap)> {
    if let Principal::Operator { session, .. } = &caller.principal {
        state.store.end_session(session.id).await?;
        audit::record(
            &state,
            &caller.principal.describe(),
            AuditAction::SignOut,
            None,
            caller.address,
        )
        .await;
    }
    Ok((StatusCode::NO_CONTENT, cleared_cookies()))
}

/// Changes the signed-in operator's password; their other sessions end.
#[utoipa::path(post, path = "/api/v1/session/password", tag = "session",
    request_body = PasswordChangeIn,
    responses(
        (status = 200, description = "Changed; this session goes on, every other one has ended", body = SessionOut),
        BadBody, Fault,
    ))]
async fn change_password(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<PasswordChangeIn>,
) -> ApiResult<Json<SessionOut>> {
    let Principal::Operator {
        operator,
        session,
        csrf_token,
    } = &caller.principal
    else {
        return Err(ApiError::forbidden(
            "only a signed-in operator has a password",
        ));
    };
    if !state
        .auth
        .verify_password(operator, &input.current_password)
        .await?
    {
        return Err(ApiError::invalid_field(
            "current_password",
            "this is not your current password",
        ));
    }
    if input.new_password == input.current_password {
        return Err(ApiError::invalid_field(
            "new_password",
            "choose a password different from the current one",
        ));
    }
    let (changed, _) = state
        .auth
        .set_password(operator, Some(&input.new_password), Some(session.id))
        .await
        .map_err(|error| match error {
            auth::AuthError::Password(refused) => ApiError::invalid_field("new_password", refused),
            other => other.into(),
        })?;
    let operator = changed.ok_or_else(|| ApiError::unauthenticated("your account is gone"))?;
    audit::record(
        &state,
        &caller.principal.describe(),
        AuditAction::PasswordChanged,
        None,
        caller.address,
    )
    .await;
    let principal = Principal::Operator {
        operator,
        session: session.clone(),
        csrf_token: csrf_token.clone(),
    };
    Ok(Json(session_out(&principal, false)))
}
