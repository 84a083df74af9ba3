//! The message worker: claims queued messages, renders each for its contact, sends it through
//! its channel and records what became of it, retrying transient failures with backoff.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use app::{
    api::TemplateContent,
    ids::{ContactId, MessageId, TemplateId},
    journey::Channel,
    template::TemplateData,
};
use serde_json::{Map, Value};
use tokio::{
    sync::{Notify, Semaphore, watch},
    task::JoinSet,
};

use super::{
    channel::{ChannelSettings, Channels},
    compose::Compiled,
    email::{self, EmailError, Mailer, OutgoingEmail},
    pacing,
    provider::{self, Answer, RequestTemplate},
    tracking::{Purpose, Tracker},
};
use crate::{
    clock::{Millis, SharedClock},
    delivery::{prepare::rfc3339, render::OutgoingRequest, schedule, send::Sender},
    metrics::SharedMetrics,
    store::{Claimant, DueMessage, MessageOutcome, Store, json_object},
};

/// How long a claim lasts past the last heartbeat: a process killed mid-round leaves messages
/// that are due again (to another process, or to its restart) this long after.
const LEASE: Duration = Duration::from_secs(10);

/// How often the worker renews the leases of the messages it holds, four beats a lease: a
/// round (four of 500 emails sharing 16 sends to an SMTP server that times out last about an
/// hour) is renewed for as long as it lasts, and a beat delayed by a busy database does not
/// let a live worker's claims lapse.
const HEARTBEAT: Duration = Duration::from_millis(2_500);

/// Rounds under way at once: while some claim or record (SQLite commits cost as much as a
/// batch's local sends), the others keep [`MessagingSettings::concurrency`] messages in flight.
pub const ROUNDS_UNDER_WAY: usize = 4;

/// How long the first message of a round to finish waits for others to share its commit: a
/// commit per few hundred messages at full speed (each costs SQLite's writer a turn), and what a
/// kill catches unrecorded stays what finished within it.
const RECORD_GATHER: Duration = Duration::from_millis(20);

/// How long a message that meets transient failures is retried from when it was queued: an
/// email hours late is worse than none.
const RETRY_WINDOW: Duration = Duration::from_secs(4 * 60 * 60);

#[derive(Debug, Clone)]
pub struct MessagingSettings {
    /// How often to look for due retries when nothing wakes the worker.
    pub poll_interval: Duration,
    pub batch_size: i64,
    /// Messages sent at once, across the rounds under way.
    pub concurrency: usize,
    /// The contact attribute that holds the email address, unless the email channel's
    /// settings name another.
    pub email_attribute: String,
}

pub struct MessageWorker {
    store: Store,
    clock: SharedClock,
    /// The relay `--smtp-url` names, if it names one.
    mailer: Option<Mailer>,
    /// The relay the email channel's settings name, with its URL: built again only when the
    /// URL changes.
    channel_relay: std::sync::Mutex<Option<(String, Mailer)>>,
    /// Sends HTTP providers' requests, through the same address guard as webhooks.
    sender: Sender,
    tracker: Tracker,
    settings: MessagingSettings,
    claimant: Claimant,
    wake: Arc<Notify>,
    /// A permit per message being sent.
    in_flight: Arc<Semaphore>,
    /// Rounds holding claimed messages: the heartbeat writes nothing while there are none
    /// (on SQLite every renewal takes the single writer's turn).
    rounds_holding: Arc<AtomicUsize>,
    metrics: SharedMetrics,
}

/// A round holding claims, counted from its claim until it ends, however it ends.
struct Holding(Arc<AtomicUsize>);

impl Holding {
    fn start(rounds: &Arc<AtomicUsize>) -> Self {
        rounds.fetch_add(1, Ordering::AcqRel);
        Self(rounds.clone())
    }
}

impl Drop for Holding {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A message ready to send, or what became of it without sending.
enum Prepared {
    Send(Box<Outgoing>),
    Settled(MessageOutcome),
}

/// What goes out, by way of its channel.
enum Outgoing {
    Email {
        email: OutgoingEmail,
        mailer: Mailer,
    },
    Http {
        request: OutgoingRequest,
        answer_id_path: String,
    },
}

impl MessageWorker {
    pub fn new(
        store: Store,
        clock: SharedClock,
        mailer: Option<Mailer>,
        sender: Sender,
        tracker: Tracker,
        settings: MessagingSettings,
    ) -> Self {
        let in_flight = Arc::new(Semaphore::new(settings.concurrency.max(1)));
        Self {
            store,
            clock,
            mailer,
            channel_relay: std::sync::Mutex::new(None),
            sender,
            tracker,
            settings,
            claimant: Claimant::random(),
            wake: Arc::new(Notify::new()),
            rounds_holding: Arc::new(AtomicUsize::new(0)),
            in_flight,
            metrics: SharedMetrics::default(),
        }
    }

    /// Counts the messages it handles in `metrics`.
    pub fn measured_by(mut self, metrics: SharedMetrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// What the engine notifies when it has queued messages.
    pub fn wake_handle(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Sends until `stop` turns true, then gives back what it had claimed and not sent.
    pub async fn run(self, stop: watch::Receiver<bool>) {
        let worker = Arc::new(self);
        let mut loops = JoinSet::new();
        for _ in 0..ROUNDS_UNDER_WAY {
            loops.spawn(worker.clone().send_until(stop.clone()));
        }
        let (stop_heartbeat, heartbeat_stopping) = watch::channel(false);
        let heartbeat = tokio::spawn(worker.clone().heartbeat(heartbeat_stopping));
        while loops.join_next().await.is_some() {}
        let _ = stop_heartbeat.send(true);
        let _ = heartbeat.await;
        if let Err(error) = worker
            .store
            .release_message_claims(Some(worker.claimant), worker.clock.now())
            .await
        {
            tracing::warn!(%error, "cannot give back claimed messages; they are due when their lease ends");
        }
    }

    async fn send_until(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        while !*stop.borrow() {
            match self.clone().round().await {
                // A full batch: more may be due at once; the other loop may take some.
                Ok(handled) if handled as i64 >= self.settings.batch_size => {
                    self.wake.notify_one();
                    continue;
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "message worker round failed; retrying"),
            }
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(self.settings.poll_interval) => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// Renews this worker's claims every [`HEARTBEAT`] until told to stop (between beats,
    /// never in the middle of one).
    async fn heartbeat(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut beat = tokio::time::interval(HEARTBEAT);
        beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        beat.tick().await;
        loop {
            tokio::select! {
                _ = beat.tick() => {}
                _ = stop.wait_for(|stop| *stop) => return,
            }
            if self.rounds_holding.load(Ordering::Acquire) == 0 {
                continue;
            }
            let lease_until = self.clock.now().saturating_add(LEASE.as_millis() as Millis);
            if let Err(error) = self
                .store
                .renew_message_claims(self.claimant, lease_until)
                .await
            {
                tracing::error!(
                    %error,
                    "cannot renew the leases of the messages being sent; another process may \
                     send them too"
                );
            }
        }
    }

    /// One round now, whatever is due: what benches and tests drive the worker with.
    pub async fn tick(self: &Arc<Self>) -> sqlx::Result<usize> {
        self.clone().round().await
    }

    /// Claims one batch, sends it and records the outcomes. Returns how many it handled.
    async fn round(self: Arc<Self>) -> sqlx::Result<usize> {
        let now = self.clock.now();
        let lease_until = now.saturating_add(LEASE.as_millis() as Millis);
        let claiming = std::time::Instant::now();
        let due = self
            .store
            .claim_due_messages(self.claimant, now, lease_until, self.settings.batch_size)
            .await?;
        self.metrics.claim("messages", claiming.elapsed());
        let handled = due.len();
        if due.is_empty() {
            return Ok(0);
        }
        let _holding = Holding::start(&self.rounds_holding);
        let channels = Channels::of(
            self.store.channel_rows().await?,
            &self.settings.email_attribute,
        );
        let templates = self.templates(&due).await?;
        let providers = request_templates(&channels);
        let mut recent = self.recently_sent(&due, &channels, now).await?;
        let channels_of: HashMap<MessageId, Channel> = due
            .iter()
            .map(|message| (message.id, message.channel))
            .collect();
        let mut settled = Vec::new();
        let mut sending = JoinSet::new();
        for message in due {
            match self.prepare(&message, &channels, &templates, &providers, &mut recent) {
                Prepared::Settled(outcome) => settled.push((message.id, outcome)),
                Prepared::Send(outgoing) => {
                    let worker = self.clone();
                    sending.spawn(async move {
                        // Each waits for its turn among the messages in flight of every round.
                        let Ok(permit) = worker.in_flight.clone().acquire_owned().await else {
                            unreachable!("the semaphore is never closed");
                        };
                        let outcome = worker.send(&message, &outgoing).await;
                        drop(permit);
                        (message.id, outcome)
                    });
                }
            }
        }
        // Recorded as they finish, in groups of whatever finished together: a process killed
        // in the middle of a round then sends again only what it had not recorded in the last
        // moment, not everything the round had sent (an email has no idempotency key). A
        // group the database does not take is tried again once the sends are over, which go
        // on meanwhile: stopping them would send again what they had sent.
        let mut unrecorded = Vec::new();
        self.record_or_keep(settled, &channels_of, &mut unrecorded)
            .await;
        while let Some(first) = sending.join_next().await {
            let mut finished = vec![first];
            let gather_until = tokio::time::Instant::now() + RECORD_GATHER;
            while let Ok(Some(more)) =
                tokio::time::timeout_at(gather_until, sending.join_next()).await
            {
                finished.push(more);
            }
            let outcomes = finished
                .into_iter()
                .filter_map(|done| match done {
                    Ok(done) => Some(done),
                    // Its claim lapses and another round sends it.
                    Err(error) => {
                        tracing::error!(%error, "a message send task ended abnormally");
                        None
                    }
                })
                .collect();
            self.record_or_keep(outcomes, &channels_of, &mut unrecorded)
                .await;
        }
        self.record(&unrecorded, &channels_of).await?;
        Ok(handled)
    }

    /// [`Self::record`], keeping in `unrecorded` what the database did not take.
    async fn record_or_keep(
        &self,
        outcomes: Vec<(MessageId, MessageOutcome)>,
        channels_of: &HashMap<MessageId, Channel>,
        unrecorded: &mut Vec<(MessageId, MessageOutcome)>,
    ) {
        if let Err(error) = self.record(&outcomes, channels_of).await {
            tracing::warn!(%error, messages = outcomes.len(), "cannot record what became of messages; trying again at the end of the round");
            unrecorded.extend(outcomes);
        }
    }

    /// Commits what became of these messages, and counts them.
    async fn record(
        &self,
        outcomes: &[(MessageId, MessageOutcome)],
        channels_of: &HashMap<MessageId, Channel>,
    ) -> sqlx::Result<()> {
        if outcomes.is_empty() {
            return Ok(());
        }
        self.store
            .record_messages(self.claimant, outcomes, self.clock.now())
            .await?;
        for (message, outcome) in outcomes {
            if let Some(channel) = channels_of.get(message) {
                self.metrics.message(*channel, outcome);
            }
        }
        Ok(())
    }

    /// The batch's templates, each read and parsed once.
    async fn templates(&self, due: &[DueMessage]) -> sqlx::Result<Templates> {
        let mut ids: Vec<TemplateId> = due
            .iter()
            .filter_map(|message| message.found_template)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        Ok(self
            .store
            .templates_by_id(&ids)
            .await?
            .into_iter()
            .map(|row| {
                let compiled = serde_json::from_str(&row.content)
                    .map_err(|error| format!("the template cannot be read: {error}"))
                    .and_then(|content| {
                        Compiled::new(content)
                            .map_err(|error| format!("the template cannot be rendered: {error}"))
                    });
                (row.id, compiled)
            })
            .collect())
    }

    /// How many messages each contact of the batch was sent lately on each capped channel.
    async fn recently_sent(
        &self,
        due: &[DueMessage],
        channels: &Channels,
        now: Millis,
    ) -> sqlx::Result<RecentlySent> {
        let mut recent = RecentlySent::new();
        for &channel in Channel::ALL {
            let Some(cap) = channels
                .get(channel)
                .ok()
                .and_then(|settings| settings.frequency_cap)
            else {
                continue;
            };
            let contacts: Vec<ContactId> = due
                .iter()
                .filter(|message| message.channel == channel)
                .map(|message| message.contact_id)
                .collect();
            if contacts.is_empty() {
                continue;
            }
            let since = now.saturating_sub(Millis::from(cap.per_hours) * 3_600_000);
            for (contact, sent) in self.store.recently_sent(channel, &contacts, since).await? {
                recent.insert((contact, channel), sent);
            }
        }
        Ok(recent)
    }

    fn prepare(
        &self,
        message: &DueMessage,
        channels: &Channels,
        templates: &Templates,
        providers: &Providers<'_>,
        recent: &mut RecentlySent,
    ) -> Prepared {
        let skip = |reason: String| Prepared::Settled(MessageOutcome::Skipped { reason });
        let Some(found) = message
            .found_template
            .and_then(|found| templates.get(&found))
        else {
            return skip(match message.template_id {
                Some(id) => format!("template {id} was deleted"),
                None if message.template_name.trim().is_empty() => {
                    "the action node has no template picked".to_owned()
                }
                None => format!(
                    "there is no {} template named \"{}\"",
                    message.channel, message.template_name
                ),
            });
        };
        let template = match found {
            Ok(template) => template,
            Err(reason) => {
                return Prepared::Settled(MessageOutcome::Failed {
                    reason: reason.clone(),
                });
            }
        };
        if template.content().channel() != message.channel {
            return skip(format!(
                "the template is a {} template; the node sends {}",
                template.content().channel(),
                message.channel
            ));
        }
        let settings = match channels.get(message.channel) {
            Ok(settings) => settings,
            Err(problem) => return skip(problem),
        };
        let mailer = match message.channel {
            Channel::Email => match self.mailer_for(settings) {
                Ok(Some(mailer)) => Some(mailer),
                Ok(None) => {
                    return skip(
                        "emails cannot be sent: the email channel names no SMTP relay and the \
                         server runs without --smtp-url"
                            .to_owned(),
                    );
                }
                Err(problem) => {
                    return skip(format!(
                        "the email channel's SMTP relay cannot be used: {problem}"
                    ));
                }
            },
            channel if settings.provider.is_none() => return skip(no_provider(channel)),
            _ => None,
        };
        let contact = json_object(&message.contact_attributes);
        let attribute = &settings.address_attribute;
        let Some(address) = contact
            .get(attribute)
            .and_then(address_text)
            .filter(|address| !address.is_empty())
        else {
            return skip(format!(
                "the contact has no {} address (attribute \"{attribute}\")",
                message.channel
            ));
        };
        if opted_out(&contact, &settings.opt_out_attribute) {
            return skip(format!(
                "the contact opted out of {} (attribute \"{}\")",
                message.channel, settings.opt_out_attribute
            ));
        }
        if let Some((quiet, zone_attribute)) = channels.quiet(message.channel)
            && let Some((until, zone)) =
                pacing::quiet_until(quiet, zone_attribute, &contact, self.clock.now())
        {
            return Prepared::Settled(MessageOutcome::Deferred {
                until,
                reason: format!(
                    "held for the contact's quiet hours, until {} ({zone})",
                    local_time(until, zone)
                ),
            });
        }
        if let Some(cap) = settings.frequency_cap {
            let sent = recent
                .entry((message.contact_id, message.channel))
                .or_default();
            if *sent >= i64::from(cap.max_messages) {
                return skip(format!(
                    "over the frequency cap: {sent} {} messages in the last {} hours already",
                    message.channel, cap.per_hours
                ));
            }
            *sent += 1;
        }
        let event = message.event_properties.as_deref().map(json_object);
        let occurred_at = message.event_occurred_at.map(rfc3339);
        let data = TemplateData {
            contact_external_id: &message.contact_external_id,
            contact: &contact,
            event_name: message.event_name.as_deref(),
            event_occurred_at: occurred_at.as_deref(),
            event: event.as_ref(),
            journey_id: Some(message.journey_id),
            journey_name: message.journey_name.as_deref(),
            message: None,
        };
        let email = match template.compose(&data).content {
            TemplateContent::Email(email) => email,
            content => {
                return match providers.get(&message.channel) {
                    None => skip(no_provider(message.channel)),
                    Some(Err(error)) => Prepared::Settled(MessageOutcome::Failed {
                        reason: error.clone(),
                    }),
                    Some(Ok(provider)) => {
                        provider_request(message, provider, &data, &address, &content)
                    }
                };
            }
        };
        let html = if email.html.trim().is_empty() {
            String::new()
        } else {
            self.tracker.track_html(message.id, &email.html).0
        };
        let Some(mailer) = mailer else {
            return skip("an email template on a channel that is not email".to_owned());
        };
        let email = OutgoingEmail {
            from: email.from,
            reply_to: email.reply_to,
            to: address,
            subject: email.subject,
            html,
            text: email.text,
            message_id: email::message_id_header(message.id, message.created_at),
            unsubscribe: Some(self.tracker.link(message.id, Purpose::Unsubscribe, "")),
        };
        Prepared::Send(Box::new(Outgoing::Email { email, mailer }))
    }

    /// The relay email goes out through: the email channel's own when its settings name one,
    /// else `--smtp-url`'s; `None` without either.
    fn mailer_for(&self, settings: &ChannelSettings) -> Result<Option<Mailer>, String> {
        let Some(url) = &settings.smtp_url else {
            return Ok(self.mailer.clone());
        };
        let mut relay = self
            .channel_relay
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((built_for, mailer)) = relay.as_ref()
            && built_for == url
        {
            return Ok(Some(mailer.clone()));
        }
        let mailer = Mailer::new(url)?;
        *relay = Some((url.clone(), mailer.clone()));
        Ok(Some(mailer))
    }

    async fn send(&self, message: &DueMessage, outgoing: &Outgoing) -> MessageOutcome {
        match outgoing {
            Outgoing::Email { email, mailer } => match mailer.send(email).await {
                Ok(()) => MessageOutcome::Sent { provider_ref: None },
                Err(error @ (EmailError::Invalid(_) | EmailError::Refused(_))) => {
                    MessageOutcome::Failed {
                        reason: error.to_string(),
                    }
                }
                Err(error @ EmailError::Transient(_)) => {
                    self.retry(message, error.to_string(), None)
                }
            },
            Outgoing::Http {
                request,
                answer_id_path,
            } => {
                let attempt = self.sender.send(request).await;
                match provider::read_answer(&attempt, answer_id_path) {
                    Answer::Taken { reference } => MessageOutcome::Sent {
                        provider_ref: reference,
                    },
                    Answer::Retry { error, retry_after } => self.retry(message, error, retry_after),
                    Answer::Refused { reason } => MessageOutcome::Failed { reason },
                }
            }
        }
    }

    /// Tries a transient failure again later, or gives up when its window is over.
    fn retry(
        &self,
        message: &DueMessage,
        error: String,
        retry_after: Option<Duration>,
    ) -> MessageOutcome {
        let attempts = u32::try_from(message.attempts + 1).unwrap_or(u32::MAX);
        let jitter = f64::from(getrandom::u32().unwrap_or(0)) / f64::from(u32::MAX);
        match schedule::next_attempt(
            attempts,
            self.clock.now(),
            message.window_from.unwrap_or(message.created_at),
            RETRY_WINDOW,
            retry_after,
            jitter,
        ) {
            Some(at) => MessageOutcome::Retry { at, error },
            None => MessageOutcome::Failed {
                reason: format!("not sent within 4 hours; the last error: {error}"),
            },
        }
    }
}

/// The HTTP provider's request for a text or push message.
fn provider_request(
    message: &DueMessage,
    provider: &RequestTemplate<'_>,
    data: &TemplateData<'_>,
    address: &str,
    content: &TemplateContent,
) -> Prepared {
    let id = message.id.to_string();
    let mut fields = Map::new();
    fields.insert("id".to_owned(), Value::String(id.clone()));
    fields.insert("to".to_owned(), Value::String(address.to_owned()));
    fields.insert(
        "channel".to_owned(),
        Value::String(message.channel.as_str().to_owned()),
    );
    for (field, text) in content.fields() {
        fields.insert(field.to_owned(), Value::String(text.to_owned()));
    }
    // Only pushes have data; a JSON body naming it stays JSON for the other channels too.
    fields
        .entry("data")
        .or_insert_with(|| Value::String("{}".to_owned()));
    let data = TemplateData {
        message: Some(&fields),
        ..*data
    };
    match provider.request(&id, &data) {
        Ok(request) => Prepared::Send(Box::new(Outgoing::Http {
            request,
            answer_id_path: provider.answer_id_path().to_owned(),
        })),
        Err(error) => Prepared::Settled(MessageOutcome::Failed {
            reason: format!("the provider's request cannot be built: {error}"),
        }),
    }
}

fn no_provider(channel: Channel) -> String {
    format!("no {channel} provider is set up (an admin sets it on the Channels page)")
}

/// A round's templates by id, parsed, or why one cannot be used.
type Templates = HashMap<TemplateId, Result<Compiled, String>>;

/// A round's HTTP providers by channel, their requests parsed, or why one cannot be used.
type Providers<'a> = HashMap<Channel, Result<RequestTemplate<'a>, String>>;

/// The request template of each channel that has a provider.
fn request_templates(channels: &Channels) -> Providers<'_> {
    Channel::ALL
        .iter()
        .filter_map(|&channel| {
            let provider = channels.get(channel).ok()?.provider.as_ref()?;
            let template = RequestTemplate::new(provider)
                .map_err(|error| format!("the provider's request cannot be built: {error}"));
            Some((channel, template))
        })
        .collect()
}

/// Messages sent lately per contact and capped channel, counting the batch's own as it goes.
type RecentlySent = HashMap<(ContactId, Channel), i64>;

/// `at` as a wall-clock time in `zone`, e.g. `2026-12-04 08:00`.
fn local_time(at: Millis, zone: chrono_tz::Tz) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(at)
        .map(|time| {
            time.with_timezone(&zone)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

/// An address as a contact attribute holds it: text, or a number (a phone number stored as
/// one).
fn address_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.trim().to_owned()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// Whether the contact has opted out of the channel (its opt-out attribute set to true or
/// "true").
fn opted_out(contact: &Map<String, Value>, attribute: &str) -> bool {
    match contact.get(attribute) {
        Some(Value::Bool(flag)) => *flag,
        Some(Value::String(text)) => text.eq_ignore_ascii_case("true"),
        _ => false,
    }
}
