//! A delay's settings: how long contacts wait.

use leptos::prelude::*;

use super::{NodeForm, fields::SpanField};
use crate::journey::{NodeKind, Span, TimeUnit};

#[component]
pub(super) fn DelaySettings(form: NodeForm) -> impl IntoView {
    view! {
        <SpanField form label="Wait for" name="duration"
            get=|kind| match kind {
                NodeKind::Delay(delay) => delay.duration,
                _ => Span::new(0, TimeUnit::Minutes),
            }
            set=|kind, span| if let NodeKind::Delay(delay) = kind {
                delay.duration = span;
            }
        />
    }
}
