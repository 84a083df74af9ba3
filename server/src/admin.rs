//! `wayfarer admin …`: what an operator of the machine does on the database directly, e.g.
//! creating the first admin of a server that is reachable from other machines only.

use std::{io::BufRead, sync::Arc};

use app::api::Role;

use crate::{
    Config, Error, Result,
    auth::{self, Auth, SessionPolicy},
    clock::{Clock, SystemClock},
    config::AdminCommand,
    secret_key::{self, KeyRing, SecretKeyError},
    store::Store,
};

/// Re-seals every webhook secret under a new key. The key file always holds every key a row
/// may be sealed with: first the new key is added, then the rows are re-sealed (one
/// transaction), then the old keys are dropped.
async fn rotate_secret_key(store: &Store, config: &Config) -> Result<String> {
    let path = crate::secret_key_path(config)?
        .ok_or_else(|| Error::Admin("an in-memory database has no secret key to rotate".into()))?;
    let old_text = std::fs::read_to_string(&path).map_err(|error| SecretKeyError::Read {
        path: path.clone(),
        reason: error.to_string(),
    })?;
    let old = KeyRing::parse(&path, &old_text)?;
    let recorded = store.sealing_key_id().await.map_err(Error::Reseal)?;
    crate::check_sealing_key(recorded, &old, &path)?;
    let new_line = secret_key::new_key_line()?;
    let both_text = format!("{new_line}{old_text}");
    let both = KeyRing::parse(&path, &both_text)?;
    secret_key::replace_file(&path, &both_text)?;
    let new_id = both.current_id().to_owned();
    let both_ids = both.ids();
    let resealed = store
        .clone()
        .with_secret_key(Arc::new(both))
        .reseal_webhook_secrets()
        .await
        .map_err(Error::Reseal)?;
    store
        .adopt_sealing_key(&new_id, &both_ids, SystemClock.now())
        .await
        .map_err(Error::Reseal)?;
    secret_key::replace_file(&path, &new_line)?;
    Ok(format!(
        "re-sealed the secrets of {resealed} webhook(s) under key {new_id} (was {}); {} holds \
         the new key only. Start the servers with it.",
        old.current_id(),
        path.display()
    ))
}

/// Runs the command on the database of `config` and returns what to print.
pub async fn run(config: &Config, command: &AdminCommand) -> Result<String> {
    let store = Store::connect(&config.database_url).await?;
    store.migrate().await?;
    let outcome = match command {
        AdminCommand::RotateSecretKey => rotate_secret_key(&store, config).await,
        AdminCommand::CreateOperator {
            email,
            role,
            password_stdin,
        } => create_operator(&store, email, *role, *password_stdin).await,
        AdminCommand::CreateApiKey {
            name,
            scopes,
            expires_in_days,
        } => {
            let now = SystemClock.now();
            let expires_at = expires_in_days
                .map(|days| now + i64::try_from(days).unwrap_or(36_500) * 86_400_000);
            let request = auth::KeyRequest {
                name: name.trim(),
                scopes,
                created_by: None,
                expires_at,
            };
            let (key, row) = auth::issue_api_key(&store, &request, now)
                .await
                .map_err(|error| Error::Admin(format!("cannot create the key: {error}")))?;
            Ok(format!(
                "API key {} ({}) with scopes {}:\n{key}\nIt is shown once; send it as \
                 `Authorization: Bearer {key}`.",
                row.id, row.name, row.scopes
            ))
        }
    };
    store.close().await;
    outcome
}

async fn create_operator(
    store: &Store,
    email: &str,
    role: Role,
    password_stdin: bool,
) -> Result<String> {
    if !auth::is_plausible_email(email) {
        return Err(Error::Admin(format!(
            "--email {email:?} is not an email address like ana@example.com"
        )));
    }
    let password = if password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|error| Error::Admin(format!("cannot read the password: {error}")))?;
        Some(line.trim_end_matches(['\r', '\n']).to_owned())
    } else {
        None
    };
    let auth = Auth::new(
        store.clone(),
        Arc::new(SystemClock),
        SessionPolicy {
            idle: 0,
            lifetime: 0,
            secure_cookies: false,
        },
        false,
    );
    let (operator, one_time) = auth
        .create_operator(email, role, password.as_deref(), false)
        .await
        .map_err(|error| match error {
            auth::AuthError::Store(sqlx::Error::Database(database))
                if database.kind() == sqlx::error::ErrorKind::UniqueViolation =>
            {
                Error::Admin(format!(
                    "an operator with the email {} exists already",
                    auth::normalise_email(email)
                ))
            }
            other => Error::Admin(other.to_string()),
        })?;
    let operator = operator.ok_or_else(|| Error::Admin("the operator was not created".into()))?;
    Ok(match one_time {
        Some(password) => format!(
            "created {} ({}). One-time password, to be changed at the first sign-in:\n{password}",
            operator.email, operator.role
        ),
        None => format!("created {} ({})", operator.email, operator.role),
    })
}
