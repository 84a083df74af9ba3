//! `/api/v1/contacts`: upsert one contact or a batch, read one with its events and journeys,
//! and search them by external id or email.

use super::openapi::{BadBody, BadPath, BadQuery, Fault};
use app::api::{
    ContactActivityOut, ContactBatchIn, ContactBatchOut, ContactEventOut, ContactIn, ContactOut,
    ContactRunOut, ContactSearch, Scope,
};
use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, State},
    routing::{get, post},
};
use serde_json::{Map, Value};

use super::{
    AppState,
    error::{ApiError, ApiResult},
    extract::{ApiJson, ApiPath, ApiQuery},
};
use crate::{auth::Caller, store::ContactRow};

const MAX_EXTERNAL_ID_CHARS: usize = 255;
const MAX_BATCH: usize = 1_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/contacts", get(search))
        .route("/contacts/batch", post(upsert_batch))
        .route(
            "/contacts/{external_id}",
            get(show)
                .put(upsert)
                .layer(DefaultBodyLimit::max(super::body_limit::ONE_RECORD)),
        )
        .route("/contacts/{external_id}/activity", get(activity))
}

#[utoipa::path(put, path = "/api/v1/contacts/{external_id}", tag = "contacts",
    params(("external_id" = String, Path, description = "The contact's id in the customer's systems", example = "c-1")),
    request_body = ContactIn,
    responses(
        (status = 200, description = "The contact as it now is", body = ContactOut),
        BadPath, BadBody, Fault,
    ))]
async fn upsert(
    State(state): State<AppState>,
    ApiPath(external_id): ApiPath<String>,
    ApiJson(input): ApiJson<ContactIn>,
) -> ApiResult<Json<ContactOut>> {
    checked_external_id(&external_id)?;
    let attributes = attributes_json(&input.attributes)?;
    let row = state
        .store
        .upsert_contact(&external_id, &attributes, state.clock.now())
        .await?;
    Ok(Json(contact_out(row)?))
}

#[utoipa::path(post, path = "/api/v1/contacts/batch", tag = "contacts",
    request_body = ContactBatchIn,
    responses(
        (status = 200, description = "Every contact created or updated, in one transaction", body = ContactBatchOut),
        BadBody, Fault,
    ))]
async fn upsert_batch(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<ContactBatchIn>,
) -> ApiResult<Json<ContactBatchOut>> {
    if input.contacts.len() > MAX_BATCH {
        return Err(ApiError::unprocessable(format!(
            "a batch has at most {MAX_BATCH} contacts; this one has {}",
            input.contacts.len()
        )));
    }
    let contacts = input
        .contacts
        .iter()
        .enumerate()
        .map(|(position, contact)| {
            let in_batch = |error: ApiError| error.prefixed(&format!("contacts[{position}]: "));
            checked_external_id(&contact.external_id).map_err(in_batch)?;
            let attributes = attributes_json(&contact.attributes).map_err(in_batch)?;
            Ok((contact.external_id.as_str(), attributes))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let upserted = state
        .store
        .upsert_contacts(&contacts, state.clock.now())
        .await?;
    Ok(Json(ContactBatchOut { upserted }))
}

#[utoipa::path(get, path = "/api/v1/contacts/{external_id}", tag = "contacts",
    params(("external_id" = String, Path, description = "The contact's id in the customer's systems", example = "c-1")),
    responses(
        (status = 200, description = "The contact", body = ContactOut),
        BadPath, Fault,
    ))]
async fn show(
    State(state): State<AppState>,
    ApiPath(external_id): ApiPath<String>,
) -> ApiResult<Json<ContactOut>> {
    let row = state
        .store
        .contact(&external_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("there is no contact \"{external_id}\"")))?;
    Ok(Json(contact_out(row)?))
}

#[utoipa::path(get, path = "/api/v1/contacts", tag = "contacts",
    params(ContactSearch),
    responses(
        (status = 200, description = "Matching contacts, most recently updated first", body = Vec<ContactOut>),
        BadQuery, Fault,
    ))]
async fn search(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ContactSearch>,
) -> ApiResult<Json<Vec<ContactOut>>> {
    let limit = query.limit.unwrap_or(50).clamp(1, 200);
    let rows = state
        .store
        .search_contacts(query.search.trim(), limit)
        .await?;
    Ok(Json(
        rows.into_iter()
            .map(contact_out)
            .collect::<ApiResult<_>>()?,
    ))
}

#[utoipa::path(get, path = "/api/v1/contacts/{external_id}/activity", tag = "contacts",
    params(("external_id" = String, Path, description = "The contact's id in the customer's systems", example = "c-1")),
    responses(
        (status = 200, description = "Its newest events and its runs through journeys", body = ContactActivityOut),
        BadPath, Fault,
    ))]
async fn activity(
    State(state): State<AppState>,
    ApiPath(external_id): ApiPath<String>,
) -> ApiResult<Json<ContactActivityOut>> {
    let contact = state
        .store
        .contact(&external_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("there is no contact \"{external_id}\"")))?;
    let events = state
        .store
        .recent_events(contact.id, 50)
        .await?
        .into_iter()
        .map(|event| ContactEventOut {
            properties: serde_json::from_str(&event.properties).unwrap_or_default(),
            name: event.name,
            occurred_at: event.occurred_at,
        })
        .collect();
    let journeys = state
        .store
        .contact_runs(contact.id)
        .await?
        .into_iter()
        .map(|run| ContactRunOut {
            journey_id: run.journey_id,
            journey_name: run.journey_name,
            version: run.version,
            node_id: run.node_id,
            state: run.state,
            error: run.error,
            entered_at: run.entered_at,
            updated_at: run.updated_at,
        })
        .collect();
    Ok(Json(ContactActivityOut { events, journeys }))
}

fn checked_external_id(external_id: &str) -> ApiResult<()> {
    if external_id.trim().is_empty() {
        return Err(ApiError::unprocessable(
            "a contact needs a non-empty external_id",
        ));
    }
    if external_id.chars().count() > MAX_EXTERNAL_ID_CHARS {
        return Err(ApiError::unprocessable(format!(
            "an external_id has at most {MAX_EXTERNAL_ID_CHARS} characters"
        )));
    }
    Ok(())
}

fn attributes_json(attributes: &Map<String, Value>) -> ApiResult<String> {
    if attributes.keys().any(|key| key.trim().is_empty()) {
        return Err(ApiError::unprocessable("attribute names must not be empty"));
    }
    serde_json::to_string(attributes).map_err(ApiError::internal)
}

fn contact_out(row: ContactRow) -> ApiResult<ContactOut> {
    let attributes = serde_json::from_str(&row.attributes).map_err(|error| {
        ApiError::internal(format_args!(
            "contact {} has unreadable attributes: {error}",
            row.id
        ))
    })?;
    Ok(ContactOut {
        external_id: row.external_id,
        attributes,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// Who a contact is, for a person reading a log: a name and an email from their attributes.
/// Only for callers who may read contacts: an API key that reads the delivery log alone sees
/// external ids.
pub(super) struct ContactLabels {
    email_attribute: String,
}

/// A contact's name and email, as [`ContactLabels`] reads them.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct ContactLabel {
    pub name: Option<String>,
    pub email: Option<String>,
}

impl ContactLabels {
    pub async fn for_caller(state: &AppState, caller: &Caller) -> ApiResult<Option<Self>> {
        if !caller.principal.has(Scope::ContactsRead) {
            return Ok(None);
        }
        let email_attribute = super::channels::email_channel(state)
            .await?
            .address_attribute;
        Ok(Some(Self { email_attribute }))
    }

    /// `attributes` as stored (a JSON object).
    pub fn label(&self, attributes: &str) -> ContactLabel {
        let Ok(attributes) = serde_json::from_str::<Map<String, Value>>(attributes) else {
            return ContactLabel::default();
        };
        let text = |key: &str| {
            attributes
                .get(key)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|text| !text.is_empty())
        };
        let name = match (text("first_name"), text("last_name")) {
            (Some(first), Some(last)) => Some(format!("{first} {last}")),
            (Some(only), None) | (None, Some(only)) => Some(only.to_owned()),
            (None, None) => text("name").map(str::to_owned),
        };
        ContactLabel {
            name,
            email: text(&self.email_attribute).map(str::to_owned),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_reads_the_name_and_the_email_channels_attribute() {
        let labels = ContactLabels {
            email_attribute: "work_email".to_owned(),
        };
        assert_eq!(
            labels.label(r#"{"first_name": "Ana", "last_name": "Silva", "work_email": "ana@example.com", "email": "old@example.com"}"#),
            ContactLabel {
                name: Some("Ana Silva".to_owned()),
                email: Some("ana@example.com".to_owned()),
            }
        );
        assert_eq!(
            labels
                .label(r#"{"name": "Bo", "first_name": " "}"#)
                .name
                .as_deref(),
            Some("Bo")
        );
        assert_eq!(
            labels.label(r#"{"last_name": "Silva"}"#).name.as_deref(),
            Some("Silva")
        );
        assert_eq!(labels.label(r#"{"email": 7}"#), ContactLabel::default());
        assert_eq!(labels.label("not json"), ContactLabel::default());
    }
}
