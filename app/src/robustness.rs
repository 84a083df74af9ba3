//! Hostile input, generated: the template parser, the journey document parser and validator
//! and the rule evaluator never panic, whatever text, JSON or graph they are given. Inputs
//! are built from the syntax's own fragments (`{{`, `| default:`, node kinds, branch names)
//! as well as arbitrary text, so the generator reaches the parsers' corners quickly. Runs in
//! the default test run, bounded by proptest's case count (256 per property).

use proptest::prelude::*;
use serde_json::{Map, Value};

use crate::{
    ids::JourneyId,
    journey::{Facts, Journey, JourneyDocument, Operator, Rule},
    template::{Template, TemplateData},
};

/// Any JSON value, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z.]{0,6}", inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

fn json_object() -> impl Strategy<Value = Map<String, Value>> {
    proptest::collection::btree_map("[a-z]{1,4}", json_value(), 0..5)
        .prop_map(|map| map.into_iter().collect())
}

/// Text made of the template syntax's pieces and arbitrary characters.
fn template_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("{{".to_owned()),
        Just("}}".to_owned()),
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just("contact.".to_owned()),
        Just("event.".to_owned()),
        Just("journey.".to_owned()),
        Just("|".to_owned()),
        Just(" default: ".to_owned()),
        Just("\"".to_owned()),
        Just("\\".to_owned()),
        Just(".".to_owned()),
        Just(" ".to_owned()),
        "[a-z]{1,5}",
        ".{1,3}",
    ];
    proptest::collection::vec(piece, 0..16).prop_map(|pieces| pieces.concat())
}

/// JSON text shaped like a journey document, often malformed.
fn document_text() -> impl Strategy<Value = String> {
    let kind = prop_oneof![
        Just("trigger"),
        Just("action"),
        Just("wait_for_event"),
        Just("delay"),
        Just("condition"),
        Just("webhook"),
        Just("exit"),
        Just("split"),
    ];
    let branch = prop_oneof![
        Just("next"),
        Just("event"),
        Just("timeout"),
        Just("yes"),
        Just("no"),
        Just("maybe"),
    ];
    let node =
        (0..6_usize, kind, json_value(), any::<f64>()).prop_map(|(id, kind, settings, x)| {
            serde_json::json!({"id": format!("n{id}"), "kind": kind, "settings": settings,
                           "position": {"x": x, "y": 0}})
        });
    let edge = (0..7_usize, branch, 0..7_usize).prop_map(|(from, branch, to)| {
        serde_json::json!({"from": format!("n{from}"), "branch": branch, "to": format!("n{to}")})
    });
    (
        proptest::collection::vec(node, 0..8),
        proptest::collection::vec(edge, 0..10),
        0..3_usize,
    )
        .prop_map(|(nodes, edges, damage)| {
            let text = serde_json::json!({"nodes": nodes, "edges": edges}).to_string();
            // Sometimes cut it short, as a truncated upload would be.
            match damage {
                0 => text.chars().take(text.chars().count() / 2).collect(),
                _ => text,
            }
        })
}

fn rule() -> impl Strategy<Value = Rule> {
    let field = prop_oneof![
        Just("contact.a".to_owned()),
        Just("event.a".to_owned()),
        Just("contact.a.b".to_owned()),
        Just("contact.".to_owned()),
        Just("a".to_owned()),
        ".{0,8}",
    ];
    let operator = proptest::sample::select(vec![
        Operator::Eq,
        Operator::Ne,
        Operator::Lt,
        Operator::Le,
        Operator::Gt,
        Operator::Ge,
        Operator::Contains,
        Operator::Exists,
    ]);
    (field, operator, json_value()).prop_map(|(field, operator, value)| Rule {
        field,
        operator,
        value,
    })
}

proptest! {
    #[test]
    fn templates_parse_or_refuse_and_render_without_panicking(
        text in template_text(),
        contact in json_object(),
        event in json_object(),
    ) {
        if let Ok(template) = Template::parse(&text) {
            let data = TemplateData {
                contact_external_id: "c-1",
                contact: &contact,
                event_name: Some("signup"),
                event_occurred_at: Some("2026-01-01T00:00:00Z"),
                event: Some(&event),
                journey_id: Some(JourneyId(1)),
                journey_name: Some("j"),
                message: None,
            };
            let rendered = template.render(&data);
            // What was missing is named by its placeholder.
            for name in &rendered.missing {
                prop_assert!(
                    text.contains(name.split('.').next().unwrap_or_default()),
                    "{name}"
                );
            }
        }
    }

    #[test]
    fn journey_documents_parse_or_refuse_and_validate_without_panicking(
        text in document_text(),
    ) {
        if let Ok(document) = serde_json::from_str::<JourneyDocument>(&text)
            && let Ok(journey) = Journey::from_document(document)
        {
            for error in journey.validate() {
                if let Some(node) = &error.node {
                    prop_assert!(journey.node(node).is_some(), "{error}");
                }
            }
            let _ = journey.check_webhooks(|_| false);
        }
    }

    #[test]
    fn rules_evaluate_any_value_without_panicking(
        rule in rule(),
        contact in json_object(),
        event in json_object(),
    ) {
        let facts = Facts { contact: &contact, event: Some(&event) };
        let _ = rule.holds(facts);
        let _ = rule.holds(Facts { contact: &contact, event: None });
    }
}
