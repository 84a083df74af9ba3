//! Row ids, one type per table: the same type in the API's JSON, the engine, the worker and the
//! SQL bind, so a webhook id is never parsed from text on the way nor passed where a journey id
//! belongs. In JSON an id is a plain number (serde-transparent); in SQL a `BIGINT`.

use std::{fmt, num::ParseIntError, str::FromStr};

/// Declares a `Copy` id newtype over `i64` with `Display`, `FromStr`, transparent serde and, on
/// the server, sqlx's `Any` encoding.
macro_rules! id_type {
    ($($(#[$meta:meta])* $name:ident;)+) => {$(
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = ParseIntError;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                text.parse().map(Self)
            }
        }

        #[cfg(feature = "ssr")]
        impl sqlx::Type<sqlx::Any> for $name {
            fn type_info() -> sqlx::any::AnyTypeInfo {
                <i64 as sqlx::Type<sqlx::Any>>::type_info()
            }

            fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
                <i64 as sqlx::Type<sqlx::Any>>::compatible(ty)
            }
        }

        #[cfg(feature = "ssr")]
        impl<'q> sqlx::Encode<'q, sqlx::Any> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut <sqlx::Any as sqlx::Database>::ArgumentBuffer<'q>,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <i64 as sqlx::Encode<'q, sqlx::Any>>::encode_by_ref(&self.0, buf)
            }
        }

        #[cfg(feature = "ssr")]
        impl<'r> sqlx::Decode<'r, sqlx::Any> for $name {
            fn decode(
                value: <sqlx::Any as sqlx::Database>::ValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                <i64 as sqlx::Decode<'r, sqlx::Any>>::decode(value).map(Self)
            }
        }

        /// In the OpenAPI document: a 64-bit integer.
        #[cfg(feature = "ssr")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                <i64 as utoipa::PartialSchema>::schema()
            }
        }

        #[cfg(feature = "ssr")]
        impl utoipa::ToSchema for $name {}
    )+};
}

id_type! {
    /// A journey (all its versions share it).
    JourneyId;
    /// A webhook asset.
    WebhookId;
    /// One webhook request a contact's run queued, with all its attempts.
    DeliveryId;
    /// A contact's internal row id; the API names contacts by their external id.
    ContactId;
    /// One run of a contact through a journey version.
    EnrollmentId;
    /// A message an action node sent; activity events (`opened`, …) refer to it.
    MessageId;
    /// A message template asset: what action nodes send on one channel.
    TemplateId;
    /// A stored event.
    EventId;
    /// A person who signs in to the UI.
    OperatorId;
    /// A key an integration calls the API with.
    ApiKeyId;
    /// One line of the audit log.
    AuditEntryId;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_plain_numbers_in_json_and_text() {
        let id = WebhookId(42);
        assert_eq!(serde_json::to_string(&id).expect("serialize"), "42");
        assert_eq!(serde_json::from_str::<WebhookId>("42").expect("parse"), id);
        assert_eq!(id.to_string(), "42");
        assert_eq!("42".parse::<WebhookId>(), Ok(id));
        assert!("4x2".parse::<WebhookId>().is_err());
        assert!(serde_json::from_str::<WebhookId>("\"42\"").is_err());
    }
}
