//! Every problem that keeps the draft from being published, each selecting its node.

use leptos::prelude::*;

use super::{EditorState, Selection};

#[component]
pub(super) fn Problems(state: EditorState) -> impl IntoView {
    view! {
        <section class="problems" aria-label="Problems">
            <h2>"Problems"</h2>
            {move || {
                let problems = state.problems.get();
                if problems.is_empty() {
                    return view! { <p class="ok">"✓ Ready to publish."</p> }.into_any();
                }
                let items = problems
                    .into_iter()
                    .map(|problem| {
                        let node = problem.node.clone();
                        let text = problem.to_string();
                        view! {
                            <li>
                                <button
                                    type="button"
                                    class="link"
                                    on:click=move |_| {
                                        if let Some(node) = node.clone() {
                                            state.selection.set(Selection::Node(node));
                                        }
                                    }
                                >
                                    {text}
                                </button>
                            </li>
                        }
                    })
                    .collect_view();
                view! { <ul class="problem-list">{items}</ul> }.into_any()
            }}
        </section>
    }
    .into_any()
}
