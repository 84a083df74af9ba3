//! Who is calling and what they may do: operators sign in with a password and get a session
//! (a random token in an `HttpOnly` cookie), integrations send an API key as a bearer token.
//! Only hashes of passwords, session tokens and keys are stored.

mod key_cache;
pub mod password;
pub mod rate;
pub mod throttle;
pub mod token;

use std::{net::IpAddr, sync::Arc};

use app::{api::Scope, ids::OperatorId};

use crate::{
    clock::{Millis, SharedClock},
    store::{ApiKeyRow, NewApiKey, NewOperator, OperatorRow, SessionRow, Store},
};

/// The session cookie: `HttpOnly`, so no script can read it.
pub const SESSION_COOKIE: &str = "wayfarer_session";
/// The CSRF token, readable by the UI's script, which echoes it in [`CSRF_HEADER`].
pub const CSRF_COOKIE: &str = "wayfarer_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// How long sessions last.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    /// A session unused this long ends.
    pub idle: Millis,
    /// A session ends this long after sign-in, used or not.
    pub lifetime: Millis,
    /// Cookies only over HTTPS (`--public-url` is https).
    pub secure_cookies: bool,
}

/// Whoever a request comes from, once authenticated.
#[derive(Debug, Clone)]
pub enum Principal {
    /// An operator signed in to the UI.
    Operator {
        operator: OperatorRow,
        session: SessionRow,
        csrf_token: String,
    },
    /// An integration with an API key.
    Key(ApiKeyRow),
    /// Anyone, on a server started with `--insecure-no-auth`.
    Anyone,
}

impl Principal {
    pub fn has(&self, scope: Scope) -> bool {
        match self {
            Self::Operator { operator, .. } => operator.role.grants(scope),
            Self::Key(key) => {
                let scopes = key.scopes();
                scopes.contains(&Scope::Admin) || scopes.contains(&scope)
            }
            Self::Anyone => true,
        }
    }

    pub fn scopes(&self) -> Vec<Scope> {
        Scope::ALL
            .iter()
            .copied()
            .filter(|scope| self.has(*scope))
            .collect()
    }

    /// How the audit log names it.
    pub fn describe(&self) -> String {
        match self {
            Self::Operator { operator, .. } => format!("operator {}", operator.email),
            Self::Key(key) => format!("api key {} ({})", key.id, key.name),
            Self::Anyone => "anyone (--insecure-no-auth)".to_owned(),
        }
    }
}

/// A request's principal and where it came from.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    pub address: Option<IpAddr>,
}

/// Why a request's credentials were not accepted.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(
        "this API key is not valid: it is mistyped, revoked or expired; an admin can create a \
         new one"
    )]
    BadKey,
    #[error("your session has ended; sign in again")]
    SessionEnded,
    #[error("the email or the password is wrong")]
    WrongCredentials,
    #[error("this account is deactivated; ask an admin to reactivate it")]
    Deactivated,
    #[error("{}", .0.message())]
    Throttled(throttle::Locked),
    #[error("{0}")]
    Password(#[from] password::PasswordRefused),
    #[error("database: {0}")]
    Store(#[from] sqlx::Error),
    #[error("{0}")]
    Internal(String),
}

/// A new session's token (for the cookie) and its principal.
pub struct SignedIn {
    pub token: String,
    pub principal: Principal,
}

/// Authentication and sign-in, shared by every request.
pub struct Auth {
    store: Store,
    clock: SharedClock,
    pub policy: SessionPolicy,
    /// `--insecure-no-auth`: every request is [`Principal::Anyone`].
    pub insecure_no_auth: bool,
    throttle: throttle::SignInThrottle,
    keys: key_cache::KeyCache,
}

/// A session is touched (its idle timer restarted) at most this often, not on every request.
const TOUCH_EVERY: Millis = 60_000;

impl Auth {
    pub fn new(
        store: Store,
        clock: SharedClock,
        policy: SessionPolicy,
        insecure_no_auth: bool,
    ) -> Arc<Self> {
        Arc::new(Self {
            store,
            clock,
            policy,
            insecure_no_auth,
            throttle: throttle::SignInThrottle::default(),
            keys: key_cache::KeyCache::default(),
        })
    }

    /// The principal of a request with these credentials: `None` if it brought none (and
    /// the server is not open to anyone). A bearer token wins over a cookie.
    pub async fn authenticate(
        &self,
        bearer: Option<&str>,
        session_token: Option<&str>,
    ) -> Result<Option<Principal>, AuthError> {
        let now = self.clock.now();
        if let Some(key) = bearer {
            if !token::is_well_formed_api_key(key) {
                return Err(AuthError::BadKey);
            }
            let fingerprint = token::fingerprint(key);
            let row = match self.keys.get(&fingerprint) {
                Some(row) => row,
                None => {
                    let row = self
                        .store
                        .api_key_by_hash(&fingerprint)
                        .await?
                        .ok_or(AuthError::BadKey)?;
                    self.keys.put(fingerprint.clone(), row.clone());
                    row
                }
            };
            if !row.is_usable(now) {
                return Err(AuthError::BadKey);
            }
            if row
                .last_used_at
                .is_none_or(|used| now - used >= TOUCH_EVERY)
            {
                self.store.touch_api_key(row.id, now).await?;
                self.keys.touched(&fingerprint, now);
            }
            return Ok(Some(Principal::Key(row)));
        }
        if let Some(session_token) = session_token {
            return self.session(session_token, now).await.map(Some);
        }
        Ok(self.insecure_no_auth.then_some(Principal::Anyone))
    }

    async fn session(&self, session_token: &str, now: Millis) -> Result<Principal, AuthError> {
        let (session, operator) = self
            .store
            .session(&token::fingerprint(session_token))
            .await?
            .ok_or(AuthError::SessionEnded)?;
        let expired = session.expires_at <= now || session.last_seen_at + self.policy.idle <= now;
        if expired || !operator.is_active() {
            self.store.end_session(session.id).await?;
            return Err(AuthError::SessionEnded);
        }
        if now - session.last_seen_at >= TOUCH_EVERY {
            self.store.touch_session(session.id, now).await?;
        }
        Ok(Principal::Operator {
            operator,
            session,
            csrf_token: token::csrf_token(session_token),
        })
    }

    /// Revokes an API key; this process refuses it from the next request on (others within
    /// a second, see [`key_cache`]). Returns the key, or `None` if there is no such key.
    pub async fn revoke_api_key(
        &self,
        id: app::ids::ApiKeyId,
    ) -> Result<Option<ApiKeyRow>, AuthError> {
        let revoked = self.store.revoke_api_key(id, self.clock.now()).await?;
        self.keys.clear();
        Ok(revoked)
    }

    /// Checks the password (throttled against brute force) and starts a session.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        address: Option<IpAddr>,
    ) -> Result<SignedIn, AuthError> {
        let email = normalise_email(email);
        let now = self.clock.now();
        self.throttle
            .check(&email, address, now)
            .map_err(AuthError::Throttled)?;
        let operator = self.store.operator_by_email(&email).await?;
        let password = password.to_owned();
        let stored = operator.as_ref().map(|row| row.password_hash.clone());
        let matches = tokio::task::spawn_blocking(move || match stored {
            Some(stored) => password::verify(&password, &stored),
            None => {
                password::verify_nothing(&password);
                false
            }
        })
        .await
        .map_err(|error| AuthError::Internal(error.to_string()))?;
        let Some(operator) = operator.filter(|_| matches) else {
            self.throttle.failed(&email, address, now);
            return Err(AuthError::WrongCredentials);
        };
        if !operator.is_active() {
            return Err(AuthError::Deactivated);
        }
        self.throttle.succeeded(&email);
        self.start_session(operator).await
    }

    /// A new session for an operator who has just proven who they are.
    pub async fn start_session(&self, operator: OperatorRow) -> Result<SignedIn, AuthError> {
        let now = self.clock.now();
        let token =
            token::new_session_token().map_err(|error| AuthError::Internal(error.to_string()))?;
        let session = self
            .store
            .create_session(
                operator.id,
                &token::fingerprint(&token),
                now,
                now + self.policy.lifetime,
                self.policy.idle,
            )
            .await?;
        // As `create_session` just wrote it.
        let operator = OperatorRow {
            last_sign_in_at: Some(now),
            ..operator
        };
        Ok(SignedIn {
            principal: Principal::Operator {
                operator,
                csrf_token: token::csrf_token(&token),
                session,
            },
            token,
        })
    }

    /// Creates an operator with this password, or a one-time password (returned) that must be
    /// changed at the first sign-in. `first` creates it only while there is no operator.
    pub async fn create_operator(
        &self,
        email: &str,
        role: app::api::Role,
        password: Option<&str>,
        first: bool,
    ) -> Result<(Option<OperatorRow>, Option<String>), AuthError> {
        let email = normalise_email(email);
        let (password, one_time) = given_or_one_time(password)?;
        password::check_policy(&password)?;
        let hash = hash_off_thread(password).await?;
        let new = NewOperator {
            email: &email,
            password_hash: &hash,
            role,
            must_change_password: one_time.is_some(),
        };
        let now = self.clock.now();
        let row = if first {
            self.store.create_first_operator(&new, now).await?
        } else {
            Some(self.store.create_operator(&new, now).await?)
        };
        Ok((row, one_time))
    }

    /// Sets a password the operator chose (`keep` the session that changed it) or, with
    /// `None`, a one-time password that is returned; every other session ends.
    pub async fn set_password(
        &self,
        operator: &OperatorRow,
        password: Option<&str>,
        keep: Option<i64>,
    ) -> Result<(Option<OperatorRow>, Option<String>), AuthError> {
        let (password, one_time) = given_or_one_time(password)?;
        password::check_policy(&password)?;
        let hash = hash_off_thread(password).await?;
        let row = self
            .store
            .set_password(operator.id, &hash, one_time.is_some(), keep)
            .await?;
        Ok((row, one_time))
    }

    /// Whether `password` is the operator's (for a password change).
    pub async fn verify_password(
        &self,
        operator: &OperatorRow,
        password: &str,
    ) -> Result<bool, AuthError> {
        let password = password.to_owned();
        let stored = operator.password_hash.clone();
        tokio::task::spawn_blocking(move || password::verify(&password, &stored))
            .await
            .map_err(|error| AuthError::Internal(error.to_string()))
    }
}

/// The password to set: the one given, or a new one-time password, which is also returned to
/// be handed over.
fn given_or_one_time(password: Option<&str>) -> Result<(String, Option<String>), AuthError> {
    match password {
        Some(password) => Ok((password.to_owned(), None)),
        None => {
            let generated =
                password::one_time().map_err(|error| AuthError::Internal(error.to_string()))?;
            Ok((generated.clone(), Some(generated)))
        }
    }
}

async fn hash_off_thread(password: String) -> Result<String, AuthError> {
    tokio::task::spawn_blocking(move || password::hash(&password))
        .await
        .map_err(|error| AuthError::Internal(error.to_string()))?
        .map_err(|error| AuthError::Internal(error.to_string()))
}

/// What an API key is issued with.
#[derive(Debug, Clone)]
pub struct KeyRequest<'a> {
    pub name: &'a str,
    pub scopes: &'a [Scope],
    /// The operator who asked for it (none from the command line).
    pub created_by: Option<OperatorId>,
    pub expires_at: Option<Millis>,
}

/// Creates an API key: the key itself, to show once, and the row stored for it, which keeps
/// only the key's hash and first characters. Scopes are stored sorted, each once.
pub async fn issue_api_key(
    store: &Store,
    request: &KeyRequest<'_>,
    now: Millis,
) -> Result<(String, ApiKeyRow), AuthError> {
    let key = token::new_api_key().map_err(|error| AuthError::Internal(error.to_string()))?;
    let mut scopes = request.scopes.to_vec();
    scopes.sort_by_key(|scope| scope.as_str());
    scopes.dedup();
    let row = store
        .create_api_key(
            &NewApiKey {
                name: request.name,
                token_hash: &token::fingerprint(&key),
                prefix: &token::display_prefix(&key),
                scopes: &scopes,
                created_by: request.created_by,
                expires_at: request.expires_at,
            },
            now,
        )
        .await?;
    Ok((key, row))
}

/// One account per address however it is typed: trimmed and lowercased.
pub fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Whether `email` looks like an address (something@something.tld); the only check that
/// matters is that the operator can sign in with what was typed.
pub fn is_plausible_email(email: &str) -> bool {
    let email = email.trim();
    email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
}

/// The value of cookie `name` in a `Cookie` header (`a=1; b=2`).
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        (key == name).then_some(value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_exact_name() {
        let header = "theme=dark; wayfarer_session=abc; wayfarer_sessionx=no";
        assert_eq!(cookie(header, "wayfarer_session"), Some("abc"));
        assert_eq!(cookie(header, "wayfarer_csrf"), None);
        assert_eq!(cookie("wayfarer_session=", "wayfarer_session"), Some(""));
    }

    #[test]
    fn emails_are_plausible_and_normalised() {
        assert!(is_plausible_email("ana@example.com"));
        assert!(!is_plausible_email("ana@localhost"));
        assert!(!is_plausible_email("ana example@example.com"));
        assert!(!is_plausible_email("@example.com"));
        assert_eq!(normalise_email(" Ana@Example.COM "), "ana@example.com");
    }
}
