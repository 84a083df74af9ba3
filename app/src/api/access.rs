//! Who may do what: operators who sign in to the UI with a role, API keys that integrations
//! call with scopes, and the audit log of what they did.

use serde::{Deserialize, Serialize};

use crate::ids::{ApiKeyId, AuditEntryId, OperatorId};

crate::text_enum! {
    /// What an operator may do. The server is the authority; the UI only hides what a role
    /// cannot do.
    pub enum Role {
        /// Everything, including operators, API keys and the audit log.
        Admin = "admin",
        /// Journeys, webhooks, contacts, events and resends.
        Editor = "editor",
        /// Reads journeys, statistics, webhooks, contacts and the delivery log (without request
        /// bodies and answers).
        Viewer = "viewer",
    }
}

crate::text_enum! {
    /// One kind of access, granted to an API key (and implied by an operator's role).
    pub enum Scope {
        EventsWrite = "events:write",
        ContactsRead = "contacts:read",
        ContactsWrite = "contacts:write",
        JourneysRead = "journeys:read",
        JourneysWrite = "journeys:write",
        WebhooksRead = "webhooks:read",
        WebhooksWrite = "webhooks:write",
        TemplatesRead = "templates:read",
        TemplatesWrite = "templates:write",
        DeliveriesRead = "deliveries:read",
        DeliveriesWrite = "deliveries:write",
        /// The Prometheus metrics: counts and queue depths, no contact data.
        MetricsRead = "metrics:read",
        /// Operators, API keys and the audit log; implies every other scope.
        Admin = "admin",
    }
}

impl Role {
    /// Whether an operator with this role has `scope`.
    pub fn grants(self, scope: Scope) -> bool {
        match self {
            Self::Admin => true,
            Self::Editor => scope != Scope::Admin,
            Self::Viewer => matches!(
                scope,
                Scope::ContactsRead
                    | Scope::JourneysRead
                    | Scope::WebhooksRead
                    | Scope::TemplatesRead
                    | Scope::DeliveriesRead
                    | Scope::MetricsRead
            ),
        }
    }
}

/// `POST /api/v1/session`: signs in; the answer sets the session cookie.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", schema(example = json!({"email": "ana@example.com", "password": "correct horse battery staple"})))]
pub struct SignInIn {
    pub email: String,
    pub password: String,
}

/// `POST /api/v1/setup`: the first operator, an admin; possible only while there is none.
pub type SetupIn = SignInIn;

/// Who is calling: the signed-in operator (or the API key) and what the UI should offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SessionOut {
    /// The signed-in operator; absent for an API key and under `--insecure-no-auth`.
    pub operator: Option<OperatorOut>,
    /// What the caller may do.
    pub scopes: Vec<Scope>,
    /// Send it in the `X-CSRF-Token` header with every write of this session (the UI does).
    pub csrf_token: Option<String>,
    /// The server runs with `--insecure-no-auth`: anyone who reaches it is an admin.
    pub insecure_no_auth: bool,
}

/// `POST /api/v1/session/password`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PasswordChangeIn {
    pub current_password: String,
    /// At least 12 characters.
    pub new_password: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OperatorOut {
    pub id: OperatorId,
    pub email: String,
    pub role: Role,
    /// A deactivated operator cannot sign in; their sessions ended when they were deactivated.
    pub active: bool,
    /// Signed in with a one-time password: must choose their own before anything else.
    pub must_change_password: bool,
    pub created_at: i64,
    pub last_sign_in_at: Option<i64>,
}

/// `POST /api/v1/operators`. Without a password, the answer carries a one-time password to
/// hand over, which must be changed at the first sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", schema(example = json!({"email": "bo@example.com", "role": "editor"})))]
pub struct OperatorIn {
    pub email: String,
    pub role: Role,
    #[serde(default)]
    pub password: Option<String>,
}

/// An operator just created, or whose password was just reset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OperatorCreatedOut {
    pub operator: OperatorOut,
    /// Shown once: give it to the operator, who must change it at the first sign-in.
    pub one_time_password: Option<String>,
}

/// `PATCH /api/v1/operators/{id}`: absent fields are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", schema(example = json!({"role": "viewer"})))]
pub struct OperatorPatch {
    #[serde(default)]
    pub role: Option<Role>,
    /// `false` deactivates the operator and ends their sessions.
    #[serde(default)]
    pub active: Option<bool>,
}

/// `POST /api/v1/api-keys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", schema(example = json!({"name": "Shop events", "scopes": ["events:write", "contacts:write"]})))]
pub struct ApiKeyIn {
    pub name: String,
    pub scopes: Vec<Scope>,
    /// When the key stops working (milliseconds since the epoch); never when absent.
    #[serde(default)]
    pub expires_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ApiKeyOut {
    pub id: ApiKeyId,
    pub name: String,
    /// The key's first characters, to tell keys apart (`wf_3kT9…`); the key itself is shown
    /// once, when it is created.
    pub prefix: String,
    pub scopes: Vec<Scope>,
    /// The email of the operator who created it, while they exist.
    pub created_by: Option<String>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// A key just created: the only answer that contains the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ApiKeyCreatedOut {
    /// `Authorization: Bearer <key>`. Shown once; only its hash is stored.
    pub key: String,
    pub api_key: ApiKeyOut,
}

crate::text_enum! {
    /// What an audit log line records.
    pub enum AuditAction {
        Setup = "setup",
        SignIn = "sign_in",
        SignInFailed = "sign_in_failed",
        SignOut = "sign_out",
        PasswordChanged = "password_changed",
        OperatorCreated = "operator_created",
        OperatorChanged = "operator_changed",
        OperatorPasswordReset = "operator_password_reset",
        ApiKeyCreated = "api_key_created",
        ApiKeyRevoked = "api_key_revoked",
        JourneyCreated = "journey_created",
        JourneyEdited = "journey_edited",
        JourneyPublished = "journey_published",
        JourneyPaused = "journey_paused",
        JourneyResumed = "journey_resumed",
        JourneyDeleted = "journey_deleted",
        WebhookCreated = "webhook_created",
        WebhookEdited = "webhook_edited",
        WebhookDeleted = "webhook_deleted",
        TemplateCreated = "template_created",
        TemplateEdited = "template_edited",
        TemplateDeleted = "template_deleted",
        ChannelSaved = "channel_saved",
        ChannelReset = "channel_reset",
        SigningSecretRead = "signing_secret_read",
        SigningSecretRotated = "signing_secret_rotated",
        DeliveryResent = "delivery_resent",
        FailedDeliveriesResent = "failed_deliveries_resent",
    }
}

/// One thing an operator or a key did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AuditEntryOut {
    pub id: AuditEntryId,
    pub at: i64,
    /// `operator ana@example.com`, `api key 4 (Shop events)`, or for a failed sign-in the
    /// email that was tried.
    pub actor: String,
    pub action: AuditAction,
    /// What it was done to, e.g. `journey 3`.
    pub object: Option<String>,
    /// The client's address.
    pub address: Option<String>,
}

/// Filters of `GET /api/v1/audit`; newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "ssr", into_params(parameter_in = Query))]
pub struct AuditQuery {
    /// Only lines whose actor contains this text.
    #[serde(default)]
    pub actor: Option<String>,
    #[serde(default)]
    pub action: Option<AuditAction>,
    /// Only lines older than this id (the next page starts after the last id of this one).
    #[serde(default)]
    pub before: Option<AuditEntryId>,
    /// At most this many lines (1–500, default 100).
    #[serde(default)]
    pub limit: Option<i64>,
}
