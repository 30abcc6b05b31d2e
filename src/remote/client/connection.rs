//! One remote host's connection, on a thread of its own ([`manage`]): spawn ssh, wait for the
//! agent's hello (at most [`HELLO_WAIT`]), then pass the dashboard's commands to the agent
//! while a reader thread hands the agent's messages on (one ssh process and its threads: a
//! [`Session`], in [`session`]); when the session
//! ends, say why (ssh's last line on stderr, else what the stream did) and try again after the
//! backoff's wait, until told to stop. Every event for the app loop goes through the host's
//! event channel; act outcomes and log lines are routed by id ([`Routes`]).

use foldhash::HashSet;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

mod session;

use self::session::Session;
use super::backoff::Backoff;
use super::lock;
use crate::remote::request::RemoteRequest;
use crate::remote::ssh::SshSettings;
use crate::remote::target::HostTarget;
use crate::remote::wire::{Hello, WireError};
use crate::ui::SourceEvent;
use crate::ui::acts::Outcome;
use crate::ui::app::hosts::Connection;
use crate::ui::log_feed::LogMessage;

/// How long the agent has to say hello once ssh is started (ssh's own connect timeout is
/// 10 s; then authentication and the agent's start).
pub(super) const HELLO_WAIT: Duration = Duration::from_secs(30);

/// What the connection's thread is told.
pub(crate) enum Command {
    SetNetMap(bool),
    /// An act to send, or why it cannot go (answered at once).
    Act {
        id: u64,
        request: Result<RemoteRequest, String>,
    },
    OpenLog {
        id: u64,
        container: String,
        since_ms: Option<u64>,
    },
    CloseLog {
        id: u64,
    },
    /// The dashboard is leaving.
    Stop,
    /// Session `session`'s agent said hello (or did not).
    Hello {
        session: u64,
        result: Result<Hello, WireError>,
    },
    /// Session `session`'s stream ended: why.
    ReaderEnded {
        session: u64,
        why: String,
    },
}

/// Where the agent's answers go: the acts waiting for an outcome, the open log.
#[derive(Default)]
pub(crate) struct Routes {
    pub acts: HashSet<u64>,
    pub log: Option<LogRoute>,
    /// Logs opened so far (their ids count down from `u64::MAX`).
    pub logs_opened: u64,
}

/// The open log pane's channel.
pub(crate) struct LogRoute {
    pub id: u64,
    pub container_id: String,
    pub sender: mpsc::Sender<LogMessage>,
}

/// What the connection's thread works with.
pub(crate) struct Context {
    pub target: HostTarget,
    pub settings: SshSettings,
    pub interval: Duration,
    pub events: mpsc::Sender<SourceEvent>,
    /// For the session threads to report back.
    pub commands: Sender<Command>,
    pub routes: Arc<Mutex<Routes>>,
}

impl Context {
    fn say(&self, event: SourceEvent) -> bool {
        self.events.blocking_send(event).is_ok()
    }
}

/// How a session ended.
enum End {
    Stop,
    /// Try again.
    Lost(String),
    /// Do not try again.
    Fatal(String),
}

/// What the dashboard asked that a new session must repeat.
struct Wanted {
    net_map: bool,
}

/// Runs the host's connection until [`Command::Stop`] (or the app loop is gone).
pub(crate) fn manage(context: &Context, inbox: &Receiver<Command>) {
    let mut backoff = Backoff::default();
    let mut wanted = Wanted { net_map: false };
    let mut connected_before = false;
    let mut session_number = 0;
    if !context.say(SourceEvent::Connection(Connection::Connecting)) {
        return;
    }
    loop {
        session_number += 1;
        let end = match Session::start(context, session_number) {
            Ok(mut session) => {
                let end = session.run(context, inbox, &mut wanted, &mut || {
                    backoff.reset();
                    let reconnected = connected_before;
                    connected_before = true;
                    reconnected
                });
                session.close(matches!(end, End::Stop), end)
            }
            Err(e) => End::Lost(format!("cannot run ssh: {e}")),
        };
        abandon_routes(context);
        match end {
            End::Stop => return,
            End::Fatal(why) => {
                context.say(SourceEvent::Connection(Connection::Failed(why)));
                wait_for_stop(context, inbox, &mut wanted);
                return;
            }
            End::Lost(why) => {
                let wait = backoff.next_wait();
                let lost = Connection::Lost {
                    why,
                    retry_in: wait,
                };
                if !context.say(SourceEvent::Connection(lost)) {
                    return;
                }
                if let End::Stop = idle(context, inbox, &mut wanted, Some(wait)) {
                    return;
                }
            }
        }
    }
}

/// Between sessions: commands are answered as well as they can be without an agent, until
/// `wait` has passed (`None`: until told to stop).
fn idle(
    context: &Context,
    inbox: &Receiver<Command>,
    wanted: &mut Wanted,
    wait: Option<Duration>,
) -> End {
    let deadline = wait.map(|w| Instant::now() + w);
    loop {
        let command = match deadline {
            Some(deadline) => {
                match inbox.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                    Ok(command) => command,
                    Err(RecvTimeoutError::Timeout) => return End::Lost(String::new()),
                    Err(RecvTimeoutError::Disconnected) => return End::Stop,
                }
            }
            None => match inbox.recv() {
                Ok(command) => command,
                Err(_) => return End::Stop,
            },
        };
        match command {
            Command::Stop => return End::Stop,
            Command::SetNetMap(on) => wanted.net_map = on,
            Command::Act { id, request } => {
                lock(&context.routes).acts.remove(&id);
                let why = match request {
                    Err(why) => why,
                    Ok(_) => format!("host {} is not connected: nothing was sent", context.target),
                };
                context.say(SourceEvent::Outcome(Outcome::Failed(why)));
            }
            Command::OpenLog { id, .. } => stop_log(
                context,
                id,
                format!("host {} is not connected", context.target),
            ),
            Command::CloseLog { .. } | Command::Hello { .. } | Command::ReaderEnded { .. } => {}
        }
    }
}

fn wait_for_stop(context: &Context, inbox: &Receiver<Command>, wanted: &mut Wanted) {
    idle(context, inbox, wanted, None);
}

/// The session ended: acts in flight get an unknown outcome, the open log stops.
fn abandon_routes(context: &Context) {
    let (acts, log) = {
        let mut routes = lock(&context.routes);
        (std::mem::take(&mut routes.acts), routes.log.take())
    };
    for _ in acts {
        context.say(SourceEvent::Outcome(Outcome::Failed(format!(
            "the connection to {} dropped before the act's outcome came back: it may or may \
             not have run (`isotop log` on that host says)",
            context.target
        ))));
    }
    if let Some(log) = log {
        let _ = log.sender.blocking_send(LogMessage::Stopped {
            container_id: log.container_id,
            why: "the connection dropped: l reads again".to_string(),
        });
    }
}

/// Tells log `id`'s pane (if still open) that reading stopped.
fn stop_log(context: &Context, id: u64, why: String) {
    let route = {
        let mut routes = lock(&context.routes);
        match &routes.log {
            Some(route) if route.id == id => routes.log.take(),
            _ => None,
        }
    };
    if let Some(route) = route {
        let _ = route.sender.blocking_send(LogMessage::Stopped {
            container_id: route.container_id,
            why,
        });
    }
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Command::SetNetMap(_) => "SetNetMap",
            Command::Act { .. } => "Act",
            Command::OpenLog { .. } => "OpenLog",
            Command::CloseLog { .. } => "CloseLog",
            Command::Stop => "Stop",
            Command::Hello { .. } => "Hello",
            Command::ReaderEnded { .. } => "ReaderEnded",
        })
    }
}
