//! Canvas geometry: node boxes and their ports, connection curves, and the viewport that pans
//! and zooms the journey (world coordinates) onto the screen (pixels in the canvas).

use serde::Deserialize;

use crate::{
    ids::JourneyId,
    journey::{Branch, NodeKindTag, Position},
};

pub const NODE_WIDTH: f64 = 184.0;
pub const NODE_HEIGHT: f64 = 64.0;
pub const MIN_ZOOM: f64 = 0.1;
pub const MAX_ZOOM: f64 = 2.5;
/// The farthest pan kept between visits, in pixels: a journey spans far less, even zoomed in.
const MAX_KEPT_PAN: f64 = 1.0e6;

/// Where a node's incoming connections end: the middle of its top edge.
pub fn input_port(node: Position) -> Position {
    Position {
        x: node.x + NODE_WIDTH / 2.0,
        y: node.y,
    }
}

/// Where the output for `branch` starts: spread along the bottom edge, in branch order.
pub fn output_port(node: Position, kind: NodeKindTag, branch: Branch) -> Position {
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

/// The arrowhead of a connection arriving at `to` from above: a small triangle, tip at `to`.
pub fn arrow_head(to: Position) -> String {
    format!(
        "M {:.1} {:.1} L {:.1} {:.1} L {:.1} {:.1} Z",
        to.x - 5.0,
        to.y - 9.0,
        to.x,
        to.y,
        to.x + 5.0,
        to.y - 9.0
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

    /// The viewport as the browser keeps it between visits (see [`viewport_key`]).
    pub fn to_kept(self) -> String {
        serde_json::json!({"x": self.x, "y": self.y, "zoom": self.zoom}).to_string()
    }

    /// A kept viewport read back; `None` for anything that is not one (written by another
    /// version, or edited by hand), and the journey is then fitted instead.
    pub fn from_kept(text: &str) -> Option<Self> {
        #[derive(Deserialize)]
        struct Kept {
            x: f64,
            y: f64,
            zoom: f64,
        }
        let Kept { x, y, zoom } = serde_json::from_str(text).ok()?;
        let usable = x.is_finite()
            && y.is_finite()
            && x.abs() <= MAX_KEPT_PAN
            && y.abs() <= MAX_KEPT_PAN
            && (MIN_ZOOM..=MAX_ZOOM).contains(&zoom);
        usable.then_some(Self { x, y, zoom })
    }

    /// The CSS `transform` that pans the journey's layer. Panning changes only this
    /// translation, which the browser applies to the composited layer without re-sorting its
    /// paint; the zoom is the separate [`Viewport::scale`] of a layer inside it.
    pub fn translation(self) -> String {
        format!("translate({:.2}px, {:.2}px)", self.x, self.y)
    }

    /// The CSS `transform` that zooms the journey (with `transform-origin: 0 0`).
    pub fn scale(self) -> String {
        format!("scale({:.4})", self.zoom)
    }
}

/// Where the browser keeps the user's pan and zoom of a journey (local storage), so that the
/// canvas opens where they left it.
pub fn viewport_key(journey: JourneyId) -> String {
    format!("wayfarer.viewport.{journey}")
}

/// A box on the screen, in CSS pixels: an element's place as the browser reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rect {
    pub left: f64,
    pub top: f64,
    pub width: f64,
    pub height: f64,
}

impl Rect {
    pub fn contains(self, point: Position) -> bool {
        (self.left..=self.left + self.width).contains(&point.x)
            && (self.top..=self.top + self.height).contains(&point.y)
    }

    /// `point` (on the screen) relative to the box's top-left corner.
    pub fn local(self, point: Position) -> Position {
        Position {
            x: point.x - self.left,
            y: point.y - self.top,
        }
    }

    pub fn middle(self) -> Position {
        Position {
            x: self.width / 2.0,
            y: self.height / 2.0,
        }
    }
}

/// Where a node dragged to `at` settles: on the 8-pixel grid.
pub fn snapped(at: Position) -> Position {
    Position {
        x: (at.x / 8.0).round() * 8.0,
        y: (at.y / 8.0).round() * 8.0,
    }
}
