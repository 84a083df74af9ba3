//! States and choices that travel as words (`"pending"`, `"after_exit"`, `"email"`): one
//! declaration gives the enum, its word for each variant, `ALL`, `Display`, `FromStr`, serde as
//! that word and, on the server, sqlx's `Any` encoding as `TEXT`. Code matches variants, never
//! strings, and the compiler checks every match.

use std::fmt;

/// A word that names no variant of an enum declared with [`text_enum!`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownWord {
    pub word: String,
    pub expected: &'static [&'static str],
}

impl fmt::Display for UnknownWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "\"{}\" is not one of {}",
            self.word,
            self.expected.join(", ")
        )
    }
}

impl std::error::Error for UnknownWord {}

/// ```ignore
/// text_enum! {
///     /// Where a delivery stands.
///     pub enum DeliveryStatus {
///         Pending = "pending",
///         Accepted = "accepted",
///     }
/// }
/// ```
#[macro_export]
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $($(#[$variant_meta:meta])* $variant:ident = $word:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$variant_meta])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];
            /// Every variant's word, in declaration order.
            pub const WORDS: &'static [&'static str] = &[$($word),+];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $word),+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::text_enum::UnknownWord;

            fn from_str(word: &str) -> Result<Self, Self::Err> {
                match word {
                    $($word => Ok(Self::$variant),)+
                    _ => Err($crate::text_enum::UnknownWord {
                        word: word.to_owned(),
                        expected: Self::WORDS,
                    }),
                }
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let word = <::std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                word.parse().map_err(|_| {
                    <D::Error as ::serde::de::Error>::unknown_variant(&word, Self::WORDS)
                })
            }
        }

        $crate::text_enum_sqlx!($name);
    };
}

/// The server's half of [`text_enum!`]: the word as a `TEXT` column through sqlx's `Any`, and
/// as a string of known words in the OpenAPI document.
#[cfg(feature = "ssr")]
#[doc(hidden)]
#[macro_export]
macro_rules! text_enum_sqlx {
    ($name:ident) => {
        impl ::sqlx::Type<::sqlx::Any> for $name {
            fn type_info() -> ::sqlx::any::AnyTypeInfo {
                <&str as ::sqlx::Type<::sqlx::Any>>::type_info()
            }

            fn compatible(ty: &::sqlx::any::AnyTypeInfo) -> bool {
                <&str as ::sqlx::Type<::sqlx::Any>>::compatible(ty)
            }
        }

        impl<'q> ::sqlx::Encode<'q, ::sqlx::Any> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut <::sqlx::Any as ::sqlx::Database>::ArgumentBuffer<'q>,
            ) -> Result<::sqlx::encode::IsNull, ::sqlx::error::BoxDynError> {
                <&'q str as ::sqlx::Encode<'q, ::sqlx::Any>>::encode_by_ref(&self.as_str(), buf)
            }
        }

        impl<'r> ::sqlx::Decode<'r, ::sqlx::Any> for $name {
            fn decode(
                value: <::sqlx::Any as ::sqlx::Database>::ValueRef<'r>,
            ) -> Result<Self, ::sqlx::error::BoxDynError> {
                let word = <&str as ::sqlx::Decode<'r, ::sqlx::Any>>::decode(value)?;
                Ok(word.parse::<Self>()?)
            }
        }

        /// In the OpenAPI document: a string, one of the words.
        impl ::utoipa::PartialSchema for $name {
            fn schema() -> ::utoipa::openapi::RefOr<::utoipa::openapi::schema::Schema> {
                ::utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(::utoipa::openapi::schema::Type::String)
                    .enum_values(Some(Self::WORDS.iter().copied()))
                    .into()
            }
        }

        impl ::utoipa::ToSchema for $name {}
    };
}

#[cfg(not(feature = "ssr"))]
#[doc(hidden)]
#[macro_export]
macro_rules! text_enum_sqlx {
    ($name:ident) => {};
}

#[cfg(test)]
mod tests {
    crate::text_enum! {
        /// A test enum.
        pub enum Light {
            Red = "red",
            AmberGreen = "amber_green",
        }
    }

    #[test]
    fn variants_travel_as_their_words() {
        assert_eq!(Light::AmberGreen.as_str(), "amber_green");
        assert_eq!("red".parse::<Light>(), Ok(Light::Red));
        assert_eq!(
            "blue".parse::<Light>().expect_err("unknown").to_string(),
            "\"blue\" is not one of red, amber_green"
        );
        assert_eq!(serde_json::to_string(&Light::Red).expect("json"), "\"red\"");
        assert_eq!(
            serde_json::from_str::<Light>("\"amber_green\"").expect("json"),
            Light::AmberGreen
        );
        let error = serde_json::from_str::<Light>("\"blue\"").expect_err("unknown");
        assert!(
            error
                .to_string()
                .contains("unknown variant `blue`, expected `red` or `amber_green`"),
            "{error}"
        );
        assert_eq!(Light::ALL, &[Light::Red, Light::AmberGreen]);
    }
}
