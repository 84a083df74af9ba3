//! Attribute rules such as `contact.country == "Canada"` or `contact.age >= 18`, used by
//! trigger filters and conditions.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Rule {
    /// `contact.<attribute>` or, in trigger filters, `event.<property>`.
    pub field: String,
    pub operator: Operator,
    /// Compared against the field; ignored by `exists`.
    #[serde(default)]
    pub value: Value,
}

crate::text_enum! {
    pub enum Operator {
        Eq = "==",
        Ne = "!=",
        Lt = "<",
        Le = "<=",
        Gt = ">",
        Ge = ">=",
        Contains = "contains",
        Exists = "exists",
    }
}

/// What rules read: the contact's attributes and, while matching a trigger, the event's
/// properties.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub contact: &'a Map<String, Value>,
    pub event: Option<&'a Map<String, Value>>,
}

/// The parts of a field path: `contact.age` → (`contact`, `age`).
pub(crate) fn split_field(field: &str) -> Option<(&str, &str)> {
    let (scope, name) = field.split_once('.')?;
    (!name.is_empty()).then_some((scope, name))
}

impl Rule {
    pub fn holds(&self, facts: Facts<'_>) -> bool {
        let actual = split_field(&self.field).and_then(|(scope, name)| match scope {
            "contact" => facts.contact.get(name),
            "event" => facts.event?.get(name),
            _ => None,
        });
        let actual = actual.filter(|value| !value.is_null());
        let Some(actual) = actual else {
            // A missing attribute equals nothing, so it differs from every value.
            return self.operator == Operator::Ne;
        };
        match self.operator {
            Operator::Exists => true,
            Operator::Eq => equal(actual, &self.value),
            Operator::Ne => !equal(actual, &self.value),
            Operator::Lt => compare(actual, &self.value).is_some_and(|o| o.is_lt()),
            Operator::Le => compare(actual, &self.value).is_some_and(|o| o.is_le()),
            Operator::Gt => compare(actual, &self.value).is_some_and(|o| o.is_gt()),
            Operator::Ge => compare(actual, &self.value).is_some_and(|o| o.is_ge()),
            Operator::Contains => contains(actual, &self.value),
        }
    }
}

/// Numbers compare by value (`18 == 18.0`, and `"18" == 18` since imported attributes are
/// often strings); strings compare case-sensitively.
fn equal(actual: &Value, expected: &Value) -> bool {
    match (as_number(actual), as_number(expected)) {
        (Some(a), Some(b)) => a == b,
        _ => actual == expected,
    }
}

fn compare(actual: &Value, expected: &Value) -> Option<std::cmp::Ordering> {
    match (as_number(actual), as_number(expected)) {
        (Some(a), Some(b)) => a.partial_cmp(&b),
        _ => match (actual, expected) {
            (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
            _ => None,
        },
    }
}

fn contains(actual: &Value, expected: &Value) -> bool {
    match actual {
        Value::String(text) => match expected {
            Value::String(part) => text.contains(part.as_str()),
            Value::Number(number) => text.contains(&number.to_string()),
            _ => false,
        },
        Value::Array(items) => items.iter().any(|item| equal(item, expected)),
        _ => false,
    }
}

fn as_number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn rule(field: &str, operator: Operator, value: Value) -> Rule {
        Rule {
            field: field.to_owned(),
            operator,
            value,
        }
    }

    fn holds(rule: &Rule, contact: Value, event: Option<Value>) -> bool {
        let contact = contact.as_object().cloned().unwrap_or_default();
        let event = event.and_then(|event| event.as_object().cloned());
        rule.holds(Facts {
            contact: &contact,
            event: event.as_ref(),
        })
    }

    #[test]
    fn equality_compares_strings_and_numbers_by_value() {
        let canada = rule("contact.country", Operator::Eq, json!("Canada"));
        assert!(holds(&canada, json!({"country": "Canada"}), None));
        assert!(!holds(&canada, json!({"country": "canada"}), None));
        let eighteen = rule("contact.age", Operator::Eq, json!(18));
        assert!(holds(&eighteen, json!({"age": 18.0}), None));
        assert!(holds(&eighteen, json!({"age": "18"}), None));
    }

    #[test]
    fn ordering_operators_compare_numbers() {
        let adult = rule("contact.age", Operator::Ge, json!(18));
        assert!(holds(&adult, json!({"age": 18}), None));
        assert!(holds(&adult, json!({"age": 40}), None));
        assert!(!holds(&adult, json!({"age": 17}), None));
        assert!(!holds(&adult, json!({"age": "unknown"}), None));
        assert!(holds(
            &rule("contact.age", Operator::Lt, json!(18)),
            json!({"age": 17}),
            None
        ));
        assert!(!holds(
            &rule("contact.age", Operator::Gt, json!(18)),
            json!({"age": 18}),
            None
        ));
        assert!(holds(
            &rule("contact.age", Operator::Le, json!(18)),
            json!({"age": 18}),
            None
        ));
    }

    #[test]
    fn contains_looks_into_strings_and_lists() {
        let gmail = rule("contact.email", Operator::Contains, json!("@gmail."));
        assert!(holds(&gmail, json!({"email": "ana@gmail.com"}), None));
        assert!(!holds(&gmail, json!({"email": "ana@example.com"}), None));
        let vip = rule("contact.tags", Operator::Contains, json!("vip"));
        assert!(holds(&vip, json!({"tags": ["new", "vip"]}), None));
        assert!(!holds(&vip, json!({"tags": ["new"]}), None));
    }

    #[test]
    fn missing_or_null_attributes_only_differ() {
        let contact = json!({"country": null});
        assert!(!holds(
            &rule("contact.country", Operator::Exists, Value::Null),
            contact.clone(),
            None
        ));
        assert!(!holds(
            &rule("contact.country", Operator::Eq, json!("Canada")),
            contact.clone(),
            None
        ));
        assert!(holds(
            &rule("contact.country", Operator::Ne, json!("Canada")),
            contact,
            None
        ));
        assert!(holds(
            &rule("contact.age", Operator::Exists, Value::Null),
            json!({"age": 0}),
            None
        ));
    }

    #[test]
    fn event_fields_read_the_event_properties() {
        let list = rule("event.list_id", Operator::Eq, json!("newsletter"));
        assert!(holds(
            &list,
            json!({}),
            Some(json!({"list_id": "newsletter"}))
        ));
        assert!(!holds(&list, json!({}), Some(json!({"list_id": "other"}))));
        assert!(!holds(&list, json!({"list_id": "newsletter"}), None));
    }

    #[test]
    fn operators_serialize_as_symbols() {
        let json =
            serde_json::to_value(rule("contact.age", Operator::Ge, json!(18))).expect("json");
        assert_eq!(
            json,
            json!({"field": "contact.age", "operator": ">=", "value": 18})
        );
    }
}
