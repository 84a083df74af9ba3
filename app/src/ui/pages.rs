//! Page bodies. Each page states what it will hold until its feature lands.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use super::access::use_access;
use crate::{
    api::{JourneyIn, JourneyOut, JourneySummaryOut, Reentry, Scope, client},
    ids::JourneyId,
    journey::JourneyDocument,
};

/// The journeys list: create, see status and version, delete (after confirmation).
#[component]
pub fn JourneysPage() -> impl IntoView {
    let journeys = LocalResource::new(client::list_journeys);
    let (name, set_name) = signal(String::new());
    let create = Action::new_local(|name: &String| {
        let input = JourneyIn {
            name: name.clone(),
            reentry: Reentry::default(),
            draft: JourneyDocument::default(),
        };
        async move { client::create_journey(&input).await }
    });
    let delete = Action::new_local(|id: &JourneyId| {
        let id = *id;
        async move { client::delete_journey(id).await }
    });
    // A copy of the draft, with the settings of every node, as a new draft.
    let duplicate = Action::new_local(|id: &JourneyId| {
        let id = *id;
        async move {
            let original = client::journey(id).await?;
            let copy = JourneyIn {
                name: format!("Copy of {}", original.name),
                reentry: original.reentry,
                draft: original.draft,
            };
            client::create_journey(&copy).await
        }
    });
    // Whenever a create or delete finishes, the list is read again.
    Effect::new(move |_| {
        let created = create.version().get();
        let deleted = delete.version().get();
        let duplicated = duplicate.version().get();
        if created + deleted + duplicated > 0 {
            if create
                .value()
                .get_untracked()
                .is_some_and(|result| result.is_ok())
            {
                set_name.set(String::new());
            }
            journeys.refetch();
        }
    });

    let access = use_access();
    let may_edit = move || access.can(Scope::JourneysWrite);
    view! {
        <Title text="Journeys"/>
        <PageHeader title="Journeys"/>
        <Show when=may_edit>
        <form
            class="inline-form"
            on:submit=move |event| {
                event.prevent_default();
                create.dispatch(name.get_untracked());
            }
        >
            <label for="new-journey-name">"New journey"</label>
            <input
                id="new-journey-name"
                type="text"
                placeholder="Name, e.g. Abandoned cart"
                prop:value=name
                on:input=move |event| set_name.set(event_target_value(&event))
            />
            <button type="submit" disabled=move || create.pending().get()>
                "Create journey"
            </button>
        </form>
        </Show>
        {action_error(create)}
        {action_error(delete)}
        {action_error(duplicate)}
        <LoadedList
            list=journeys
            loading="Loading journeys…"
            empty="No journeys yet. Name one above to start building it."
            show=move |list| view! { <JourneyTable journeys=list delete duplicate may_edit/> }
        />
    }
}

#[component]
fn JourneyTable(
    journeys: Vec<JourneySummaryOut>,
    delete: Action<JourneyId, Result<(), client::ClientError>>,
    duplicate: Action<JourneyId, Result<JourneyOut, client::ClientError>>,
    may_edit: impl Fn() -> bool + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let rows = journeys
        .into_iter()
        .map(|journey| {
            let id = journey.id;
            let name = journey.name.clone();
            let duplicate_name = journey.name.clone();
            let status = journey.status.as_str();
            let version = journey
                .live_version
                .map_or_else(|| "—".to_owned(), |version| format!("v{version}"));
            view! {
                <tr>
                    <td class="journey-name">
                        <A href=format!("/journeys/{id}")>{journey.name}</A>
                    </td>
                    <td>
                        <span class=format!("status status-{status}")>{status}</span>
                    </td>
                    <td>{version}</td>
                    <td class="number">{journey.contacts_in_journey}</td>
                    <td>{utc_minutes(journey.updated_at)}</td>
                    <td class="actions">
                        <A href=format!("/journeys/{id}") attr:class="button">"Open"</A>
                        <button
                            type="button"
                            class="secondary"
                            hidden=move || !may_edit()
                            aria-label=format!("Duplicate {}", duplicate_name)
                            on:click=move |_| {
                                duplicate.dispatch(id);
                            }
                        >
                            "Duplicate"
                        </button>
                        <button
                            type="button"
                            class="danger"
                            hidden=move || !may_edit()
                            aria-label=format!("Delete {name}")
                            on:click=move |_| {
                                if confirm(&format!("Delete the journey \"{name}\"? This cannot be undone.")) {
                                    delete.dispatch(id);
                                }
                            }
                        >
                            "Delete"
                        </button>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <DataTable
            columns=&["Name", "Status", "Version", "Contacts in journey", "Last edited (UTC)"]
            actions=true
        >
            {rows}
        </DataTable>
    }
}

/// A table of records: a heading per column; `actions` adds a last column for each row's
/// buttons, named for screen readers only.
#[component]
pub(super) fn DataTable(
    columns: &'static [&'static str],
    #[prop(optional)] actions: bool,
    children: Children,
) -> impl IntoView {
    let headings = columns
        .iter()
        .map(|column| view! { <th scope="col">{*column}</th> })
        .collect_view();
    view! {
        <table class="data-table">
            <thead>
                <tr>
                    {headings}
                    {actions.then(|| view! {
                        <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                    })}
                </tr>
            </thead>
            <tbody>{children()}</tbody>
        </table>
    }
}

/// A list read from the API: a loading line until it arrives, then the error, the empty
/// state, or what `show` makes of the list.
#[component]
pub(super) fn LoadedList<T, V, F>(
    list: LocalResource<Result<Vec<T>, client::ClientError>>,
    loading: &'static str,
    empty: &'static str,
    show: F,
) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
    V: IntoView + 'static,
    F: Fn(Vec<T>) -> V + Clone + Send + Sync + 'static,
{
    view! {
        <Transition fallback=move || view! { <p class="loading">{loading}</p> }>
            {
                let show = show.clone();
                move || {
                    list.get()
                        .map(|loaded| match loaded {
                            Err(error) => view! { <ErrorNotice error/> }.into_any(),
                            Ok(items) if items.is_empty() => {
                                view! { <EmptyState>{empty}</EmptyState> }.into_any()
                            }
                            Ok(items) => show(items).into_any(),
                        })
                }
            }
        </Transition>
    }
}

/// A refused or failed request, said where the person acted.
#[component]
pub(super) fn ErrorNotice(error: client::ClientError) -> impl IntoView {
    view! { <p class="form-error" role="alert">{error.to_string()}</p> }
}

/// The error of the action's last run, if it failed.
pub(super) fn action_error<I, O>(action: Action<I, Result<O, client::ClientError>>) -> impl IntoView
where
    I: Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
{
    move || {
        action
            .value()
            .get()
            .and_then(Result::err)
            .map(|error| view! { <ErrorNotice error/> })
    }
}

/// Asks the person in the browser; never true on the server.
pub(super) fn confirm(message: &str) -> bool {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()
            .and_then(|window| window.confirm_with_message(message).ok())
            .unwrap_or(false)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = message;
        false
    }
}

/// Epoch milliseconds as `2026-11-23 16:35` (UTC), without a date library in the bundle.
pub(super) fn utc_minutes(millis: i64) -> String {
    let (date, second_of_day) = utc_date(millis);
    format!(
        "{date} {:02}:{:02}",
        second_of_day / 3_600,
        second_of_day % 3_600 / 60
    )
}

/// Epoch milliseconds as `2026-11-23 16:35:07` (UTC), for logs whose rows come seconds apart.
pub(super) fn utc_seconds(millis: i64) -> String {
    let (date, second_of_day) = utc_date(millis);
    format!(
        "{date} {:02}:{:02}:{:02}",
        second_of_day / 3_600,
        second_of_day % 3_600 / 60,
        second_of_day % 60
    )
}

/// The UTC date of epoch milliseconds as `2026-11-23`, and the second of that day.
fn utc_date(millis: i64) -> (String, i64) {
    let seconds = millis.div_euclid(1_000);
    let (days, second_of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (format!("{year:04}-{month:02}-{day:02}"), second_of_day)
}

#[component]
pub fn NotFoundPage() -> impl IntoView {
    view! {
        <Title text="Page not found"/>
        <PageHeader title="Page not found"/>
        <EmptyState>
            "There is no page at this address. Use the navigation above to find your way back."
        </EmptyState>
    }
}

#[component]
pub(super) fn PageHeader(title: &'static str) -> impl IntoView {
    view! {
        <div class="page-header">
            <h1>{title}</h1>
        </div>
    }
}

#[component]
pub(super) fn EmptyState(children: Children) -> impl IntoView {
    view! { <p class="empty-state">{children()}</p> }
}

#[cfg(test)]
mod tests {
    use super::{utc_minutes, utc_seconds};

    #[test]
    fn times_read_as_utc_dates() {
        assert_eq!(utc_minutes(0), "1970-01-01 00:00");
        assert_eq!(utc_minutes(1_767_225_600_000), "2026-01-01 00:00");
        assert_eq!(utc_minutes(1_795_451_700_000), "2026-11-23 16:35");
        assert_eq!(utc_minutes(951_782_400_000), "2000-02-29 00:00");
    }

    #[test]
    fn log_times_keep_their_seconds() {
        assert_eq!(utc_seconds(0), "1970-01-01 00:00:00");
        assert_eq!(utc_seconds(1_795_451_707_999), "2026-11-23 16:35:07");
        // Before 1970 the second still counts forward within its day.
        assert_eq!(utc_seconds(-1_000), "1969-12-31 23:59:59");
        assert_eq!(utc_minutes(-1), "1969-12-31 23:59");
    }
}
