use super::{
    canvas::{self, NODE_HEIGHT, NODE_WIDTH, Viewport},
    *,
};
use crate::{
    ids::{JourneyId, WebhookId},
    journey::{Action, Branch, Channel, NodeId, NodeKindTag, Position, Trigger, WebhookNode},
};

fn at(x: f64, y: f64) -> Position {
    Position { x, y }
}

fn kind(name: &str) -> NodeKind {
    name.parse::<NodeKindTag>()
        .expect("a palette kind")
        .new_settings()
}

fn sorted(document: JourneyDocument) -> JourneyDocument {
    let mut document = document;
    document.nodes.sort_by(|a, b| a.id.cmp(&b.id));
    document
        .edges
        .sort_by(|a, b| (&a.from, a.branch).cmp(&(&b.from, b.branch)));
    document
}

/// trigger → action → exit, built as a marketer would.
fn three_nodes() -> (Editor, [NodeId; 3]) {
    let mut editor = Editor::default();
    let start = editor.add_node(kind("trigger"), at(0.0, 0.0));
    let send = editor.add_node(kind("action"), at(0.0, 120.0));
    let done = editor.add_node(kind("exit"), at(0.0, 240.0));
    editor
        .connect(&start, Branch::Next, &send)
        .expect("connect");
    editor.connect(&send, Branch::Next, &done).expect("connect");
    (editor, [start, send, done])
}

#[test]
fn new_nodes_get_the_first_free_id() {
    let (mut editor, [start, send, done]) = three_nodes();
    assert_eq!(
        [start.as_str(), send.as_str(), done.as_str()],
        ["n1", "n2", "n3"]
    );
    editor.remove_node(&send).expect("remove");
    assert_eq!(editor.add_node(kind("delay"), at(0.0, 0.0)).as_str(), "n2");
}

#[test]
fn every_edit_is_undone_and_redone_in_order() {
    let (mut editor, [start, send, done]) = three_nodes();
    let mut states = vec![sorted(editor.document())];

    editor.move_node(&send, at(300.0, 120.0)).expect("move");
    states.push(sorted(editor.document()));
    editor
        .configure(
            &send,
            NodeKind::Action(Action {
                channel: Channel::Sms,
                template: None,
                message: "hello".to_owned(),
            }),
        )
        .expect("configure");
    states.push(sorted(editor.document()));
    editor.remove_node(&send).expect("remove");
    states.push(sorted(editor.document()));
    editor
        .connect(&start, Branch::Next, &done)
        .expect("connect");
    states.push(sorted(editor.document()));
    editor.disconnect(&start, Branch::Next).expect("disconnect");
    states.push(sorted(editor.document()));

    for expected in states.iter().rev().skip(1) {
        assert!(editor.undo());
        assert_eq!(&sorted(editor.document()), expected);
    }
    for expected in states.iter().skip(1) {
        assert!(editor.redo());
        assert_eq!(&sorted(editor.document()), expected);
    }
    assert!(!editor.redo(), "nothing left to redo");
}

#[test]
fn undo_past_the_start_does_nothing() {
    let mut editor = Editor::open(JourneyDocument::default()).expect("opens");
    assert!(!editor.can_undo());
    assert!(!editor.undo());
    editor.add_node(kind("exit"), at(0.0, 0.0));
    assert!(editor.undo());
    assert!(!editor.undo());
    assert!(editor.journey().is_empty());
}

#[test]
fn a_new_edit_drops_what_could_be_redone() {
    let (mut editor, [_, send, _]) = three_nodes();
    editor.remove_node(&send).expect("remove");
    assert!(editor.undo());
    assert!(editor.can_redo());
    editor.add_node(kind("delay"), at(0.0, 0.0));
    assert!(!editor.can_redo());
}

#[test]
fn reconnecting_an_output_replaces_its_target_and_undo_restores_it() {
    let (mut editor, [start, send, done]) = three_nodes();
    editor
        .connect(&start, Branch::Next, &done)
        .expect("connect");
    assert_eq!(
        editor.journey().next(&start, Branch::Next).map(|n| &n.id),
        Some(&done)
    );
    editor.undo();
    assert_eq!(
        editor.journey().next(&start, Branch::Next).map(|n| &n.id),
        Some(&send)
    );
}

#[test]
fn connections_are_checked() {
    let (mut editor, [start, send, done]) = three_nodes();
    assert!(matches!(
        editor.connect(&start, Branch::Yes, &send),
        Err(EditError::NoSuchBranch { .. })
    ));
    assert!(matches!(
        editor.connect(&done, Branch::Next, &done),
        Err(EditError::SelfLoop)
    ));
    let before = editor.revision();
    editor
        .connect(&start, Branch::Next, &send)
        .expect("the same connection again");
    assert_eq!(editor.revision(), before, "changes nothing");
}

#[test]
fn removing_a_node_and_undoing_brings_back_its_connections() {
    let (mut editor, [start, send, done]) = three_nodes();
    let before = sorted(editor.document());
    editor.remove_node(&send).expect("remove");
    assert_eq!(editor.journey().len(), 2);
    assert_eq!(editor.journey().edges().count(), 0);
    editor.undo();
    assert_eq!(sorted(editor.document()), before);
    assert_eq!(
        editor.journey().next(&send, Branch::Next).map(|n| &n.id),
        Some(&done)
    );
    assert_eq!(
        editor.journey().next(&start, Branch::Next).map(|n| &n.id),
        Some(&send)
    );
}

#[test]
fn typing_into_a_field_is_one_undo_step() {
    let (mut editor, [start, ..]) = three_nodes();
    for typed in ["a", "ad", "add"] {
        editor
            .configure(
                &start,
                NodeKind::Trigger(Trigger {
                    event: typed.to_owned(),
                    filter: Vec::new(),
                }),
            )
            .expect("configure");
    }
    editor.seal();
    editor
        .configure(
            &start,
            NodeKind::Trigger(Trigger {
                event: "add_to_cart".to_owned(),
                filter: Vec::new(),
            }),
        )
        .expect("configure");
    editor.undo();
    assert_eq!(
        editor.journey().node(&start).map(|n| n.kind.clone()),
        Some(NodeKind::Trigger(Trigger {
            event: "add".to_owned(),
            filter: Vec::new()
        })),
        "the second field edit is undone on its own"
    );
    editor.undo();
    assert_eq!(
        editor.journey().node(&start).map(|n| n.kind.clone()),
        Some(kind("trigger")),
        "the first one at once"
    );
}

#[test]
fn moving_to_the_same_place_records_nothing() {
    let (mut editor, [start, ..]) = three_nodes();
    let before = editor.revision();
    editor.move_node(&start, at(0.0, 0.0)).expect("move");
    assert_eq!(editor.revision(), before);
}

#[test]
fn problems_include_missing_webhooks() {
    let mut editor = Editor::default();
    let hook = editor.add_node(
        NodeKind::Webhook(WebhookNode {
            webhook: Some(WebhookId(7)),
            custom_data: Vec::new(),
        }),
        at(0.0, 0.0),
    );
    let with = editor.problems(|_| true);
    let without = editor.problems(|id| id != WebhookId(7));
    assert_eq!(without.len(), with.len() + 1);
    assert_eq!(without.last().and_then(|p| p.node.clone()), Some(hook));
}

#[test]
fn ports_sit_on_the_node_edges_in_branch_order() {
    let node = at(100.0, 50.0);
    assert_eq!(canvas::input_port(node), at(100.0 + NODE_WIDTH / 2.0, 50.0));
    let wait = NodeKindTag::WaitForEvent;
    let event = canvas::output_port(node, wait, Branch::Event);
    let timeout = canvas::output_port(node, wait, Branch::Timeout);
    assert_eq!(event.y, 50.0 + NODE_HEIGHT);
    assert!(event.x < timeout.x, "event left of timeout");
    assert_eq!(
        canvas::output_port(node, NodeKindTag::Action, Branch::Next).x,
        100.0 + NODE_WIDTH / 2.0
    );
    assert!(canvas::hits_node(node, at(101.0, 51.0)));
    assert!(!canvas::hits_node(node, at(99.0, 51.0)));
}

#[test]
fn zooming_keeps_the_point_under_the_pointer() {
    let view = Viewport::default();
    let pointer = at(300.0, 200.0);
    let under = view.to_world(pointer);
    let zoomed = view.zoomed(1.5, pointer);
    assert_eq!(zoomed.zoom, 1.5);
    let after = zoomed.to_world(pointer);
    assert!((after.x - under.x).abs() < 1e-9 && (after.y - under.y).abs() < 1e-9);
    assert_eq!(view.zoomed(100.0, pointer).zoom, canvas::MAX_ZOOM);
    assert_eq!(view.zoomed(0.0001, pointer).zoom, canvas::MIN_ZOOM);
}

#[test]
fn fitting_shows_every_node() {
    let nodes = [at(0.0, 0.0), at(2_000.0, 1_000.0), at(-500.0, 300.0)];
    let bounds = canvas::bounds(nodes).expect("bounds");
    assert_eq!(bounds.0, at(-500.0, 0.0));
    assert_eq!(bounds.1, at(2_000.0 + NODE_WIDTH, 1_000.0 + NODE_HEIGHT));
    let view = Viewport::fitting(bounds, 1_000.0, 600.0);
    for corner in [bounds.0, bounds.1] {
        let x = corner.x * view.zoom + view.x;
        let y = corner.y * view.zoom + view.y;
        assert!(
            (0.0..=1_000.0).contains(&x) && (0.0..=600.0).contains(&y),
            "{x} {y}"
        );
    }
    let small = Viewport::fitting(
        canvas::bounds([at(0.0, 0.0)]).expect("bounds"),
        1_000.0,
        600.0,
    );
    assert_eq!(small.zoom, 1.0, "never zoomed in past 100 %");
    assert_eq!(canvas::bounds([]), None);
}

#[test]
fn rects_locate_points_and_drops_snap_to_the_grid() {
    let rect = canvas::Rect {
        left: 100.0,
        top: 50.0,
        width: 200.0,
        height: 100.0,
    };
    assert!(rect.contains(at(300.0, 150.0)));
    assert!(!rect.contains(at(99.0, 60.0)));
    assert_eq!(rect.local(at(150.0, 70.0)), at(50.0, 20.0));
    assert_eq!(rect.middle(), at(100.0, 50.0));
    assert_eq!(canvas::snapped(at(13.0, -3.0)), at(16.0, 0.0));
    assert_eq!(
        Viewport::default().translation(),
        "translate(40.00px, 40.00px)"
    );
    assert_eq!(Viewport::default().scale(), "scale(1.0000)");
}

#[test]
fn a_kept_viewport_reads_back_as_it_was() {
    let view = Viewport::default()
        .zoomed(1.7, at(310.5, 122.25))
        .panned(-1234.5, 0.125);
    assert_eq!(Viewport::from_kept(&view.to_kept()), Some(view));
    assert_eq!(
        Viewport::from_kept(r#"{"x": 1, "y": -2.5, "zoom": 0.5}"#),
        Some(Viewport {
            x: 1.0,
            y: -2.5,
            zoom: 0.5
        })
    );
    assert_eq!(canvas::viewport_key(JourneyId(42)), "wayfarer.viewport.42");
    assert_ne!(
        canvas::viewport_key(JourneyId(4)),
        canvas::viewport_key(JourneyId(42))
    );
}

#[test]
fn a_kept_viewport_that_is_not_one_is_ignored() {
    for text in [
        "",
        "null",
        "40 40 1",
        r#"{"x": 1, "y": 2}"#,
        r#"{"x": "1", "y": 2, "zoom": 1}"#,
        r#"{"x": 1, "y": 2, "zoom": 0}"#,
        r#"{"x": 1, "y": 2, "zoom": 99}"#,
        r#"{"x": 1e300, "y": 2, "zoom": 1}"#,
        r#"{"x": 1, "y": -2e7, "zoom": 1}"#,
    ] {
        assert_eq!(Viewport::from_kept(text), None, "{text}");
    }
}

#[test]
fn arrowheads_point_down_at_the_input_port() {
    assert_eq!(
        canvas::arrow_head(at(100.0, 50.0)),
        "M 95.0 41.0 L 100.0 50.0 L 105.0 41.0 Z"
    );
}
