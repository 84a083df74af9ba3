//! Canvas geometry: node boxes and their ports, connection curves, and the viewport that pans
//! and zooms the journey (world coordinates) onto the screen (pixels in the canvas).

use crate::journey::{Branch, NodeKind, Position};

pub const NODE_WIDTH: f64 = 184.0;
pub const NODE_HEIGHT: f64 = 64.0;
pub const MIN_ZOOM: f64 = 0.1;
pub const MAX_ZOOM: f64 = 2.5;

/// Where a node's incoming connections end: the middle of its top edge.
pub fn input_port(node: Position) -> Position {
    Position {
        x: node.x + NODE_WIDTH / 2.0,
        y: node.y,
    }
}

/// Where the output for `branch` starts: spread along the bottom edge, in branch order.
pub fn output_port(node: Position, kind: &NodeKind, branch: Branch) -> Position {
    let branches = kind.branches();
    let index = branches
        .iter()
        .position(|candidate| *candidate == branch)
        .unwrap_or(0);
    let slots = branches.len().max(1) as f64 + 1.0;
    Position {
        x: node.x + NODE_WIDTH * (index as f64 + 1.0) / slots,
        y: node.y + NODE_HEIGHT,
    }
}

/// An SVG path from an output port down to an input port: a curve that leaves downwards and
/// arrives from above, also when the target sits higher than the source.
pub fn connection_path(from: Position, to: Position) -> String {
    let bend = ((to.y - from.y).abs() / 2.0).max(48.0);
    format!(
        "M {:.1} {:.1} C {:.1} {:.1}, {:.1} {:.1}, {:.1} {:.1}",
        from.x,
        from.y,
        from.x,
        from.y + bend,
        to.x,
        to.y - bend,
        to.x,
        to.y
    )
}

/// Whether `point` lies on the node's box.
pub fn hits_node(node: Position, point: Position) -> bool {
    (node.x..=node.x + NODE_WIDTH).contains(&point.x)
        && (node.y..=node.y + NODE_HEIGHT).contains(&point.y)
}

/// The smallest box holding every node: (top-left, bottom-right), `None` without nodes.
pub fn bounds(positions: impl IntoIterator<Item = Position>) -> Option<(Position, Position)> {
    positions.into_iter().fold(None, |bounds, node| {
        let (low, high) = bounds.unwrap_or((node, node));
        Some((
            Position {
                x: low.x.min(node.x),
                y: low.y.min(node.y),
            },
            Position {
                x: high.x.max(node.x + NODE_WIDTH),
                y: high.y.max(node.y + NODE_HEIGHT),
            },
        ))
    })
}

/// How the journey is shown: a point `p` of the journey appears at `p × zoom + (x, y)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Viewport {
    pub x: f64,
    pub y: f64,
    pub zoom: f64,
}

impl Default for Viewport {
    fn default() -> Self {
        Self {
            x: 40.0,
            y: 40.0,
            zoom: 1.0,
        }
    }
}

impl Viewport {
    /// The journey point under a screen point.
    pub fn to_world(self, screen: Position) -> Position {
        Position {
            x: (screen.x - self.x) / self.zoom,
            y: (screen.y - self.y) / self.zoom,
        }
    }

    pub fn panned(self, dx: f64, dy: f64) -> Self {
        Self {
            x: self.x + dx,
            y: self.y + dy,
            ..self
        }
    }

    /// Zoomed by `factor` (clamped to the zoom range) about `anchor`, which stays put on the
    /// screen: the point under the pointer stays under the pointer.
    pub fn zoomed(self, factor: f64, anchor: Position) -> Self {
        let zoom = (self.zoom * factor).clamp(MIN_ZOOM, MAX_ZOOM);
        let world = self.to_world(anchor);
        Self {
            x: anchor.x - world.x * zoom,
            y: anchor.y - world.y * zoom,
            zoom,
        }
    }

    /// Shows the whole box on a `width` × `height` screen with a margin, centred, never
    /// zoomed in past 100 %.
    pub fn fitting(bounds: (Position, Position), width: f64, height: f64) -> Self {
        const MARGIN: f64 = 40.0;
        let (low, high) = bounds;
        let (box_width, box_height) = (high.x - low.x, high.y - low.y);
        let zoom = ((width - 2.0 * MARGIN) / box_width)
            .min((height - 2.0 * MARGIN) / box_height)
            .clamp(MIN_ZOOM, 1.0);
        Self {
            x: (width - box_width * zoom) / 2.0 - low.x * zoom,
            y: (height - box_height * zoom) / 2.0 - low.y * zoom,
            zoom,
        }
    }

    /// The SVG `transform` of the journey layer.
    pub fn transform(self) -> String {
        format!(
            "translate({:.2} {:.2}) scale({:.4})",
            self.x, self.y, self.zoom
        )
    }
}
