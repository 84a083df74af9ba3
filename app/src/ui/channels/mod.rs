//! Channels (admins): how each channel's messages reach contacts. The list says which
//! channels send now and where providers post their receipts; the form sets a channel's
//! attributes and, for every channel but email, its HTTP provider.

use leptos::prelude::*;
use leptos_meta::Title;

mod form;

use form::ChannelForm;

use super::{
    fields::channel_label,
    pages::{DataTable, LoadedList, PageHeader, confirm},
};
use crate::{
    api::{ChannelOut, client},
    journey::Channel,
};

type ChannelList = LocalResource<Result<Vec<ChannelOut>, client::ClientError>>;

#[component]
pub fn ChannelsPage() -> impl IntoView {
    let channels = LocalResource::new(client::list_channels);
    // The channel the form edits, as it was listed.
    let editing = RwSignal::new(None::<ChannelOut>);
    // What the last save or reset did, said once the form has closed.
    let notice = RwSignal::new(None::<String>);
    view! {
        <Title text="Channels"/>
        <PageHeader title="Channels"/>
        <p class="field-hint">
            "Email goes out through the server's SMTP relay (--smtp-url); every other channel \
             through an HTTP provider, which reports deliveries back at its receipt URL."
        </p>
        {move || notice.get().map(|text| view! {
            <p class="test-result ok" role="status">{text}</p>
        })}
        {move || editing.get().map(|initial| view! {
            <ChannelForm initial editing notice channels/>
        })}
        <LoadedList
            list=channels
            loading="Loading channels…"
            empty="No channels."
            show=move |list| view! { <ChannelTable channels=list editing notice reload=channels/> }
        />
    }
}

#[component]
fn ChannelTable(
    channels: Vec<ChannelOut>,
    editing: RwSignal<Option<ChannelOut>>,
    notice: RwSignal<Option<String>>,
    reload: ChannelList,
) -> impl IntoView {
    let rows = channels
        .into_iter()
        .map(|channel| view! { <ChannelRow channel editing notice reload/> })
        .collect_view();
    view! {
        <DataTable
            columns=&["Channel", "Status", "Address attribute", "Opt-out attribute", "Provider URL", "Receipt URL"]
            actions=true
        >
            {rows}
        </DataTable>
    }
}

/// One channel with its Edit button, and Reset once it has been set up.
#[component]
fn ChannelRow(
    channel: ChannelOut,
    editing: RwSignal<Option<ChannelOut>>,
    notice: RwSignal<Option<String>>,
    reload: ChannelList,
) -> impl IntoView {
    let which = channel.channel;
    let label = channel_label(which);
    let reset = Action::new_local(move |_: &()| async move {
        let done = client::reset_channel(which).await;
        if done.is_ok() {
            // The open form would save the settings just forgotten.
            if editing
                .with_untracked(|open| open.as_ref().is_some_and(|open| open.channel == which))
            {
                editing.set(None);
            }
            notice.set(Some(format!("Reset the {which} channel to its defaults.")));
            reload.refetch();
        }
        done
    });
    let status = match &channel.problem {
        None => view! { <span class="status status-live">"Ready"</span> }.into_any(),
        Some(problem) => {
            view! { <span class="channel-problem">{problem.clone()}</span> }.into_any()
        }
    };
    // Email's "provider" is its own SMTP relay, when it names one.
    let provider_url = channel
        .provider
        .as_ref()
        .map(|provider| provider.url.clone())
        .or_else(|| channel.smtp_url.clone())
        .unwrap_or_else(|| "—".to_owned());
    let receipt_url = channel
        .receipt_path
        .as_deref()
        .map_or_else(|| "—".to_owned(), |path| format!("{}{path}", page_origin()));
    // Reset only undoes something once the settings were saved.
    let set_up = channel.updated_at.is_some();
    let edited = channel.clone();
    view! {
        <tr>
            <td class="journey-name">{label}</td>
            <td>{status}</td>
            <td>{channel.address_attribute}</td>
            <td>{channel.opt_out_attribute}</td>
            <td class="url">{provider_url}</td>
            <td class="url">{receipt_url}</td>
            <td class="actions">
                <button
                    type="button"
                    class="secondary"
                    aria-label=format!("Edit {label}")
                    on:click=move |_| {
                        notice.set(None);
                        editing.set(Some(edited.clone()));
                    }
                >
                    "Edit"
                </button>
                {set_up.then(|| view! {
                    <button
                        type="button"
                        class="danger"
                        aria-label=format!("Reset {label}")
                        disabled=move || reset.pending().get()
                        on:click=move |_| {
                            let question = format!(
                                "Reset the {label} channel to its defaults? Its provider and \
                                 secrets are forgotten, and its messages are skipped until one \
                                 is set up again."
                            );
                            if confirm(&question) {
                                reset.dispatch(());
                            }
                        }
                    >
                        "Reset"
                    </button>
                })}
                {move || reset.value().get().and_then(Result::err).map(|error| view! {
                    <span class="test-result failed" role="alert">{format!("✗ {error}")}</span>
                })}
            </td>
        </tr>
    }
}

/// `https://journeys.example`, which the receipt paths are relative to. The list is only drawn
/// in the browser (it is loaded there), so the server never needs it.
fn page_origin() -> String {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()
            .and_then(|window| window.location().origin().ok())
            .unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        String::new()
    }
}

/// The attributes a channel uses when none are set, as the server's defaults name them (email's
/// address is the server's `--email-attribute`).
fn default_attributes(channel: Channel) -> (&'static str, &'static str) {
    match channel {
        Channel::Email => ("the server's --email-attribute", "unsubscribed"),
        Channel::Sms => ("phone", "sms_opt_out"),
        Channel::Whatsapp => ("phone", "whatsapp_opt_out"),
        Channel::Rcs => ("phone", "rcs_opt_out"),
        Channel::AppPush | Channel::WebPush => ("push_token", "push_opt_out"),
    }
}
