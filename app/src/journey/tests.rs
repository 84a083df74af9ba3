use proptest::prelude::*;
use serde_json::json;

use super::{fixtures::*, *};
use crate::ids::WebhookId;

fn messages(journey: &Journey) -> Vec<String> {
    journey.validate().iter().map(ToString::to_string).collect()
}

fn assert_one_error(journey: &Journey, node: Option<&str>, contains: &str) {
    let errors = journey.validate();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(
        errors[0].node.as_ref().map(NodeId::as_str),
        node,
        "{errors:#?}"
    );
    assert!(errors[0].message.contains(contains), "{errors:#?}");
}

#[test]
fn the_reference_journey_is_valid() {
    assert_eq!(messages(&abandoned_cart()), Vec::<String>::new());
}

#[test]
fn a_journey_needs_a_trigger() {
    let journey = journey(vec![node("done", NodeKind::Exit)], vec![]);
    assert_one_error(&journey, None, "Add a trigger");
}

#[test]
fn a_second_trigger_is_refused() {
    let journey = journey(
        vec![
            node("a", trigger("add_to_cart")),
            node("b", trigger("form.submitted")),
            node("done", NodeKind::Exit),
        ],
        vec![
            edge("a", Branch::Next, "done"),
            edge("b", Branch::Next, "done"),
        ],
    );
    assert_one_error(&journey, Some("b"), "second trigger");
}

#[test]
fn a_trigger_has_no_incoming_connections() {
    let journey = journey(
        vec![
            node("start", trigger("add_to_cart")),
            node("wait", delay(5)),
        ],
        vec![
            edge("start", Branch::Next, "wait"),
            edge("wait", Branch::Next, "start"),
        ],
    );
    assert_one_error(&journey, Some("start"), "cannot have incoming connections");
}

#[test]
fn every_required_branch_is_connected() {
    let mut journey = abandoned_cart();
    journey.disconnect(&NodeId::new("wait"), Branch::Timeout);
    journey.remove_node(&NodeId::new("hook"));
    assert_one_error(&journey, Some("wait"), "no \"timeout\" connection");

    let cond = journey_with_condition_missing_no();
    assert_one_error(&cond, Some("check"), "no \"no\" connection");
}

fn journey_with_condition_missing_no() -> Journey {
    journey(
        vec![
            node("start", trigger("add_to_cart")),
            node("check", condition_country("Canada")),
            node("done", NodeKind::Exit),
        ],
        vec![
            edge("start", Branch::Next, "check"),
            edge("check", Branch::Yes, "done"),
        ],
    )
}

#[test]
fn branches_a_kind_does_not_have_are_refused() {
    let journey = journey(
        vec![
            node("start", trigger("add_to_cart")),
            node("done", NodeKind::Exit),
            node("after", NodeKind::Exit),
        ],
        vec![
            edge("start", Branch::Next, "done"),
            edge("start", Branch::Yes, "after"),
            edge("done", Branch::Next, "after"),
        ],
    );
    let errors = messages(&journey);
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(
        errors[0].contains("node \"start\": Trigger has no \"yes\" output"),
        "{errors:#?}"
    );
    assert!(
        errors[1].contains("node \"done\": Exit ends the journey"),
        "{errors:#?}"
    );
}

#[test]
fn unreachable_nodes_are_reported() {
    let mut journey = abandoned_cart();
    journey
        .add_node(node("orphan", email("lonely")))
        .expect("add");
    journey
        .connect(&NodeId::new("orphan"), Branch::Next, &NodeId::new("done"))
        .expect("connect");
    assert_one_error(
        &journey,
        Some("orphan"),
        "cannot be reached from the trigger",
    );
}

#[test]
fn loops_need_a_delay_or_wait() {
    let looping = journey(
        vec![
            node("start", trigger("add_to_cart")),
            node("check", condition_country("Canada")),
            node("send", email("hello")),
            node("done", NodeKind::Exit),
        ],
        vec![
            edge("start", Branch::Next, "check"),
            edge("check", Branch::Yes, "send"),
            edge("check", Branch::No, "done"),
            edge("send", Branch::Next, "check"),
        ],
    );
    assert_one_error(
        &looping,
        Some("check"),
        "loop without a delay or wait (check → send)",
    );

    let mut with_delay = looping.clone();
    with_delay.add_node(node("pause", delay(60))).expect("add");
    with_delay
        .connect(&NodeId::new("send"), Branch::Next, &NodeId::new("pause"))
        .expect("connect");
    with_delay
        .connect(&NodeId::new("pause"), Branch::Next, &NodeId::new("check"))
        .expect("connect");
    assert_one_error(
        &with_delay,
        Some("send"),
        "sends in a loop that nothing the contact does gates (check → send → pause)",
    );
}

#[test]
fn loops_that_send_must_wait_for_the_contact() {
    // webhook → 1 s delay → webhook: a request per contact per second, forever.
    let every_second = journey(
        vec![
            node("start", trigger("signup")),
            node("hook", webhook(1)),
            node("pause", delay(1)),
        ],
        vec![
            edge("start", Branch::Next, "hook"),
            edge("hook", Branch::Next, "pause"),
            edge("pause", Branch::Next, "hook"),
        ],
    );
    assert_one_error(
        &every_second,
        Some("hook"),
        "sends in a loop that nothing the contact does gates (hook → pause)",
    );

    // A wait's timeout is a timer too: going round by it is refused as well.
    let by_timeout = journey(
        vec![
            node("start", trigger("signup")),
            node("send", email("come back")),
            node("wait", wait_for_event("visit", 60)),
            node("done", NodeKind::Exit),
        ],
        vec![
            edge("start", Branch::Next, "send"),
            edge("send", Branch::Next, "wait"),
            edge("wait", Branch::Timeout, "send"),
            edge("wait", Branch::Event, "done"),
        ],
    );
    assert_one_error(
        &by_timeout,
        Some("send"),
        "sends in a loop that nothing the contact does gates (send → wait)",
    );

    // Round again only when the contact does something: allowed.
    let gated = journey(
        vec![
            node("start", trigger("signup")),
            node("send", email("thanks")),
            node("wait", wait_for_event("purchase", 60)),
            node("done", NodeKind::Exit),
        ],
        vec![
            edge("start", Branch::Next, "send"),
            edge("send", Branch::Next, "wait"),
            edge("wait", Branch::Event, "send"),
            edge("wait", Branch::Timeout, "done"),
        ],
    );
    assert_eq!(messages(&gated), Vec::<String>::new());

    // A loop that only waits and checks sends nothing: allowed.
    let polling = journey(
        vec![
            node("start", trigger("signup")),
            node("pause", delay(60)),
            node("check", condition_country("CA")),
            node("send", email("welcome")),
            node("done", NodeKind::Exit),
        ],
        vec![
            edge("start", Branch::Next, "pause"),
            edge("pause", Branch::Next, "check"),
            edge("check", Branch::No, "pause"),
            edge("check", Branch::Yes, "send"),
            edge("send", Branch::Next, "done"),
        ],
    );
    assert_eq!(messages(&polling), Vec::<String>::new());
}

#[test]
fn settings_must_be_complete() {
    let journey = journey(
        vec![
            node("start", trigger(" ")),
            node("send", email("")),
            node("wait", wait_for_event("", 0)),
            node("pause", delay(0)),
            node(
                "check",
                NodeKind::Condition(Condition {
                    combine: Combine::Any,
                    rules: vec![],
                }),
            ),
            node(
                "hook",
                NodeKind::Webhook(WebhookNode {
                    webhook: None,
                    custom_data: vec![],
                }),
            ),
            node("done", NodeKind::Exit),
        ],
        vec![
            edge("start", Branch::Next, "send"),
            edge("send", Branch::Next, "wait"),
            edge("wait", Branch::Event, "pause"),
            edge("wait", Branch::Timeout, "pause"),
            edge("pause", Branch::Next, "check"),
            edge("check", Branch::Yes, "hook"),
            edge("check", Branch::No, "hook"),
            edge("hook", Branch::Next, "done"),
        ],
    );
    assert_eq!(
        messages(&journey),
        vec![
            "node \"start\": Trigger needs the name of the event that starts the journey.",
            "node \"send\": Action needs an email template to send: pick one.",
            "node \"wait\": Wait for event needs a timeout longer than zero.",
            "node \"wait\": Wait for event needs the name of the event to wait for.",
            "node \"pause\": Delay needs a duration longer than zero.",
            "node \"check\": Condition needs at least one rule to decide between yes and no.",
            "node \"hook\": Webhook needs a webhook: pick which one to send.",
        ]
    );
}

#[test]
fn rules_name_a_known_scope_and_a_value() {
    let mut journey = abandoned_cart();
    let start = journey.node_mut(&NodeId::new("start")).expect("start");
    start.kind = NodeKind::Trigger(Trigger {
        event: "add_to_cart".to_owned(),
        filter: vec![
            Rule {
                field: "country".to_owned(),
                operator: Operator::Eq,
                value: json!("Canada"),
            },
            Rule {
                field: "contact.age".to_owned(),
                operator: Operator::Ge,
                value: serde_json::Value::Null,
            },
            Rule {
                field: "event.list_id".to_owned(),
                operator: Operator::Exists,
                value: serde_json::Value::Null,
            },
        ],
    });
    assert_eq!(
        messages(&journey),
        vec![
            "node \"start\": Trigger has a rule on \"country\"; rules read contact.<name> or \
             event.<name>.",
            "node \"start\": Trigger has a rule \"contact.age >=\" without a value to compare with.",
        ]
    );
}

#[test]
fn activity_waits_follow_their_action() {
    let mut wrong_source = abandoned_cart();
    let wait = wrong_source.node_mut(&NodeId::new("wait")).expect("wait");
    wait.kind = wait_for_activity("hook", Activity::Clicked, 15);
    assert_one_error(
        &wrong_source,
        Some("wait"),
        "\"hook\", which is not an action node",
    );

    let downstream = journey(
        vec![
            node("start", trigger("add_to_cart")),
            node("wait", wait_for_activity("email", Activity::Opened, 15)),
            node("email", email("cart-reminder")),
            node("done", NodeKind::Exit),
        ],
        vec![
            edge("start", Branch::Next, "wait"),
            edge("wait", Branch::Event, "email"),
            edge("wait", Branch::Timeout, "email"),
            edge("email", Branch::Next, "done"),
        ],
    );
    assert_one_error(
        &downstream,
        Some("wait"),
        "without passing through that action",
    );
}

#[test]
fn webhook_custom_data_keys_are_unique_and_named() {
    let mut journey = abandoned_cart();
    let hook = journey.node_mut(&NodeId::new("hook")).expect("hook");
    hook.kind = webhook_with(
        WebhookId(1),
        &[("source", "journey"), ("source", "again"), ("", "x")],
    );
    assert_eq!(
        messages(&journey),
        vec![
            "node \"hook\": Webhook has the custom data key \"source\" twice.",
            "node \"hook\": Webhook has a custom data field without a key.",
        ]
    );
}

#[test]
fn webhook_custom_data_placeholders_are_checked() {
    let mut journey = abandoned_cart();
    let hook = journey.node_mut(&NodeId::new("hook")).expect("hook");
    hook.kind = webhook_with(
        WebhookId(1),
        &[
            ("fine", "{{contact.plan | default: \"free\"}}"),
            ("broken", "{{contact.plan"),
        ],
    );
    let problems = messages(&journey);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with(
            "node \"hook\": Webhook has a bad placeholder in the custom data \"broken\":"
        ),
        "{problems:?}"
    );
}

#[test]
fn a_journey_has_at_most_two_thousand_nodes() {
    let nodes = |count: usize| {
        (0..count)
            .map(|n| node(&format!("n{n}"), NodeKind::Exit))
            .collect::<Vec<_>>()
    };
    let largest = JourneyDocument {
        nodes: nodes(MAX_NODES),
        edges: Vec::new(),
    };
    assert!(Journey::from_document(largest).is_ok());
    let too_large = JourneyDocument {
        nodes: nodes(MAX_NODES + 1),
        edges: Vec::new(),
    };
    assert_eq!(
        Journey::from_document(too_large).map(|_| ()),
        Err(StructureError::TooLarge {
            nodes: MAX_NODES + 1,
            edges: 0
        })
    );
}

#[test]
fn documents_that_are_not_graphs_are_refused() {
    let duplicate = JourneyDocument {
        nodes: vec![node("a", NodeKind::Exit), node("a", NodeKind::Exit)],
        edges: vec![],
    };
    assert_eq!(
        Journey::from_document(duplicate).map(|_| ()),
        Err(StructureError::DuplicateNode(NodeId::new("a")))
    );
    let dangling = JourneyDocument {
        nodes: vec![node("a", trigger("x"))],
        edges: vec![edge("a", Branch::Next, "ghost")],
    };
    assert!(matches!(
        Journey::from_document(dangling),
        Err(StructureError::UnknownTarget { .. })
    ));
    let twice = JourneyDocument {
        nodes: vec![
            node("a", trigger("x")),
            node("b", NodeKind::Exit),
            node("c", NodeKind::Exit),
        ],
        edges: vec![edge("a", Branch::Next, "b"), edge("a", Branch::Next, "c")],
    };
    assert!(matches!(
        Journey::from_document(twice),
        Err(StructureError::DuplicateBranch { .. })
    ));
}

#[test]
fn connect_replaces_an_output_and_refuses_what_cannot_be() {
    let mut journey = abandoned_cart();
    let replaced = journey
        .connect(&NodeId::new("hook"), Branch::Next, &NodeId::new("email"))
        .expect("connect");
    assert_eq!(replaced, Some(NodeId::new("done")));
    assert_eq!(
        journey
            .next(&NodeId::new("hook"), Branch::Next)
            .map(|n| n.id.as_str()),
        Some("email")
    );
    assert_eq!(
        journey.connect(&NodeId::new("hook"), Branch::Yes, &NodeId::new("done")),
        Err(EditError::NoSuchBranch {
            kind: NodeKindTag::Webhook,
            branch: Branch::Yes
        })
    );
    assert_eq!(
        journey.connect(&NodeId::new("hook"), Branch::Next, &NodeId::new("hook")),
        Err(EditError::SelfLoop)
    );
}

#[test]
fn the_document_json_is_stable() {
    let json = serde_json::to_value(abandoned_cart()).expect("serialize");
    assert_eq!(json["nodes"][2]["kind"], "wait_for_event");
    assert_eq!(
        json["nodes"][2]["settings"],
        json!({
            "until": {"type": "message_activity", "action": "email", "activity": "opened"},
            "timeout": {"value": 15, "unit": "minutes"}
        })
    );
    assert_eq!(
        json["edges"][3],
        json!({"from": "wait", "branch": "timeout", "to": "hook"})
    );
}

// Property: any well-formed document survives JSON and the graph unchanged.

fn name() -> impl Strategy<Value = String> {
    "[a-z_.]{0,12}"
}

fn span() -> impl Strategy<Value = Span> {
    (
        any::<u32>(),
        prop_oneof![
            Just(TimeUnit::Seconds),
            Just(TimeUnit::Minutes),
            Just(TimeUnit::Hours),
            Just(TimeUnit::Days),
            Just(TimeUnit::Weeks),
        ],
    )
        .prop_map(|(value, unit)| Span { value, unit })
}

fn value() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        "[ -~]{0,10}".prop_map(serde_json::Value::from),
    ]
}

fn rule() -> impl Strategy<Value = Rule> {
    (
        name(),
        proptest::sample::select(Operator::ALL.to_vec()),
        value(),
    )
        .prop_map(|(field, operator, value)| Rule {
            field,
            operator,
            value,
        })
}

fn kind() -> impl Strategy<Value = NodeKind> {
    prop_oneof![
        (name(), proptest::collection::vec(rule(), 0..3))
            .prop_map(|(event, filter)| NodeKind::Trigger(Trigger { event, filter })),
        (proptest::sample::select(Channel::ALL.to_vec()), name()).prop_map(|(channel, message)| {
            NodeKind::Action(Action {
                channel,
                template: None,
                message,
            })
        }),
        (name(), span()).prop_map(|(event, timeout)| NodeKind::WaitForEvent(WaitForEvent {
            until: WaitTarget::Event { event },
            timeout
        })),
        (
            name(),
            proptest::sample::select(Activity::ALL.to_vec()),
            span()
        )
            .prop_map(
                |(action, activity, timeout)| NodeKind::WaitForEvent(WaitForEvent {
                    until: WaitTarget::MessageActivity {
                        action: NodeId(action),
                        activity
                    },
                    timeout
                })
            ),
        span().prop_map(|duration| NodeKind::Delay(Delay { duration })),
        (
            any::<bool>(),
            proptest::collection::vec(
                prop_oneof![
                    rule().prop_map(ConditionRule::Attribute),
                    (name(), proptest::option::of(span()))
                        .prop_map(|(event, within)| ConditionRule::EventHappened { event, within }),
                ],
                0..3
            )
        )
            .prop_map(|(any, rules)| NodeKind::Condition(Condition {
                combine: if any { Combine::Any } else { Combine::All },
                rules
            })),
        (
            proptest::option::of((0..1_000_i64).prop_map(WebhookId)),
            proptest::collection::vec(
                (name(), "[ -~]{0,10}").prop_map(|(key, value)| KeyValue {
                    key,
                    value,
                    secret: false
                }),
                0..3
            )
        )
            .prop_map(|(webhook, custom_data)| NodeKind::Webhook(WebhookNode {
                webhook,
                custom_data
            })),
        Just(NodeKind::Exit),
    ]
}

fn document() -> impl Strategy<Value = JourneyDocument> {
    proptest::collection::vec((kind(), -1e6f64..1e6, -1e6f64..1e6), 1..12).prop_flat_map(|kinds| {
        let count = kinds.len();
        let nodes: Vec<Node> = kinds
            .into_iter()
            .enumerate()
            .map(|(i, (kind, x, y))| Node {
                id: NodeId(format!("n{i}")),
                position: Position { x, y },
                kind,
            })
            .collect();
        let edges = proptest::collection::vec(
            (
                0..count,
                proptest::sample::select(vec![
                    Branch::Next,
                    Branch::Event,
                    Branch::Timeout,
                    Branch::Yes,
                    Branch::No,
                ]),
                0..count,
            ),
            0..count * 2,
        );
        (Just(nodes), edges).prop_map(|(nodes, edges)| {
            // Keep each (node, branch) once, as a well-formed document has it.
            let mut seen = std::collections::HashSet::new();
            let edges = edges
                .into_iter()
                .filter(|(from, branch, _)| seen.insert((*from, *branch)))
                .map(|(from, branch, to)| Edge {
                    from: NodeId(format!("n{from}")),
                    branch,
                    to: NodeId(format!("n{to}")),
                })
                .collect();
            JourneyDocument { nodes, edges }
        })
    })
}

proptest! {
    #[test]
    fn documents_round_trip_through_json_and_the_graph(document in document()) {
        let journey = Journey::from_document(document.clone()).expect("well-formed");
        prop_assert_eq!(&journey.to_document(), &document);
        let json = serde_json::to_string(&journey).expect("serialize");
        let parsed: Journey = serde_json::from_str(&json).expect("deserialize");
        prop_assert_eq!(parsed.to_document(), document);
    }

    #[test]
    fn validation_never_panics_and_names_existing_nodes(document in document()) {
        let journey = Journey::from_document(document).expect("well-formed");
        for error in journey.validate() {
            if let Some(node) = &error.node {
                prop_assert!(journey.node(node).is_some(), "{error}");
            }
        }
    }
}

#[test]
fn webhook_nodes_name_webhooks_that_exist() {
    let journey = abandoned_cart();
    assert!(journey.check_webhooks(|_| true).is_empty());
    let errors = journey.check_webhooks(|_| false);
    assert_eq!(
        errors.iter().map(ToString::to_string).collect::<Vec<_>>(),
        vec!["node \"hook\": Webhook sends to webhook 1, which does not exist: pick another."]
    );
}
