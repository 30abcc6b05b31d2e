//! What crosses the wire for an act and a log: [`RemoteRequest`] (the dashboard's
//! [`Request`] with its target named, not carried), [`WireOutcome`] (its [`Outcome`]) and
//! [`WireLogMessage`] (a log feed's [`LogMessage`]).
//!
//! A request names a container by its id and a cgroup by its path: never a pid, never the
//! dashboard's [`ContainerView`]. The agent resolves the name itself ([`RemoteRequest::resolve`]:
//! its own latest frame, else a fresh read of its host) and runs the result through the same
//! act path as its own dashboard would, with every guard and the audit line on its host. A
//! request the agent cannot take (launch: its form's paths are the dashboard host's) is refused
//! before it leaves ([`RemoteRequest::from_request`]).

use serde::{Deserialize, Serialize};

use crate::host::HostRoot;
use crate::host::logs::{LogLine, LogStream};
use crate::host::scan::{ContainerView, ScanOptions, scan};
use crate::ui::acts::{KillSignal, LimitKind, Outcome, Request};
use crate::ui::log_feed::LogMessage;

/// An act, as the dashboard asks the agent for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RemoteRequest {
    /// Set a limit of container `container` (its id) to `text` (the limit prompt's line).
    Limit {
        container: String,
        kind: WireLimitKind,
        text: String,
    },
    /// Undo the last limit change on the agent's host.
    Undo,
    Freeze {
        container: String,
        frozen: bool,
    },
    Kill {
        container: String,
        signal: WireKillSignal,
    },
    /// A cgroup itself, by its path (the Cgroups view).
    LimitCgroup {
        path: String,
        kind: WireLimitKind,
        text: String,
    },
    FreezeCgroup {
        path: String,
        frozen: bool,
    },
    KillCgroup {
        path: String,
        signal: WireKillSignal,
    },
    /// Stop one of isotop's own containers on the agent's host, by its id.
    Stop {
        id: String,
        name: String,
    },
    /// Remove one of isotop's own containers on the agent's host, by its id.
    Remove {
        id: String,
        name: String,
        running: bool,
    },
}

/// [`LimitKind`] on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WireLimitKind {
    Cpu,
    Memory,
    Pids,
    Io,
}

/// [`KillSignal`] on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WireKillSignal {
    Term,
    Kill,
}

impl From<LimitKind> for WireLimitKind {
    fn from(kind: LimitKind) -> Self {
        match kind {
            LimitKind::Cpu => WireLimitKind::Cpu,
            LimitKind::Memory => WireLimitKind::Memory,
            LimitKind::Pids => WireLimitKind::Pids,
            LimitKind::Io => WireLimitKind::Io,
        }
    }
}

impl From<WireLimitKind> for LimitKind {
    fn from(kind: WireLimitKind) -> Self {
        match kind {
            WireLimitKind::Cpu => LimitKind::Cpu,
            WireLimitKind::Memory => LimitKind::Memory,
            WireLimitKind::Pids => LimitKind::Pids,
            WireLimitKind::Io => LimitKind::Io,
        }
    }
}

impl From<KillSignal> for WireKillSignal {
    fn from(signal: KillSignal) -> Self {
        match signal {
            KillSignal::Term => WireKillSignal::Term,
            KillSignal::Kill => WireKillSignal::Kill,
        }
    }
}

impl From<WireKillSignal> for KillSignal {
    fn from(signal: WireKillSignal) -> Self {
        match signal {
            WireKillSignal::Term => KillSignal::Term,
            WireKillSignal::Kill => KillSignal::Kill,
        }
    }
}

/// Said when `n` is pressed on a remote host.
pub const LAUNCH_REFUSED: &str = "launch works on this host only: its image and paths are read \
     here — run `isotop run` on the remote host (ssh HOST isotop run …)";

impl RemoteRequest {
    /// The request to send for the dashboard's `request`, or why it cannot go (launch; enter,
    /// which the dashboard runs over `ssh -t` itself).
    pub fn from_request(request: &Request) -> Result<RemoteRequest, String> {
        Ok(match request {
            Request::Limit { view, kind, text } => RemoteRequest::Limit {
                container: view.container.id.clone(),
                kind: (*kind).into(),
                text: text.clone(),
            },
            Request::Undo => RemoteRequest::Undo,
            Request::Freeze { view, frozen } => RemoteRequest::Freeze {
                container: view.container.id.clone(),
                frozen: *frozen,
            },
            Request::Kill { view, signal } => RemoteRequest::Kill {
                container: view.container.id.clone(),
                signal: (*signal).into(),
            },
            Request::LimitCgroup { path, kind, text } => RemoteRequest::LimitCgroup {
                path: path.clone(),
                kind: (*kind).into(),
                text: text.clone(),
            },
            Request::FreezeCgroup { path, frozen } => RemoteRequest::FreezeCgroup {
                path: path.clone(),
                frozen: *frozen,
            },
            Request::KillCgroup { path, signal } => RemoteRequest::KillCgroup {
                path: path.clone(),
                signal: (*signal).into(),
            },
            Request::Stop { id, name } => RemoteRequest::Stop {
                id: id.clone(),
                name: name.clone(),
            },
            Request::Remove { id, name, running } => RemoteRequest::Remove {
                id: id.clone(),
                name: name.clone(),
                running: *running,
            },
            Request::Launch { .. } => return Err(LAUNCH_REFUSED.to_string()),
            Request::Enter { .. } => {
                return Err("enter runs over ssh -t, not the agent's stream".to_string());
            }
        })
    }

    /// The act to run on the agent's host: a named container is looked up in `latest` (the
    /// agent's last frame's containers), else by a fresh read of `root`; a cgroup path goes as
    /// it is (`control::cgroup_target` checks it). `Err` is the outcome to send back.
    pub fn resolve(self, root: &HostRoot, latest: &[ContainerView]) -> Result<Request, Outcome> {
        let found = |id: &str| find_container(root, latest, id).map(Box::new);
        Ok(match self {
            RemoteRequest::Limit {
                container,
                kind,
                text,
            } => Request::Limit {
                view: found(&container)?,
                kind: kind.into(),
                text,
            },
            RemoteRequest::Undo => Request::Undo,
            RemoteRequest::Freeze { container, frozen } => Request::Freeze {
                view: found(&container)?,
                frozen,
            },
            RemoteRequest::Kill { container, signal } => Request::Kill {
                view: found(&container)?,
                signal: signal.into(),
            },
            RemoteRequest::LimitCgroup { path, kind, text } => Request::LimitCgroup {
                path,
                kind: kind.into(),
                text,
            },
            RemoteRequest::FreezeCgroup { path, frozen } => Request::FreezeCgroup { path, frozen },
            RemoteRequest::KillCgroup { path, signal } => Request::KillCgroup {
                path,
                signal: signal.into(),
            },
            RemoteRequest::Stop { id, name } => Request::Stop { id, name },
            RemoteRequest::Remove { id, name, running } => Request::Remove { id, name, running },
        })
    }
}

/// Container `id` as the agent sees it now: from its latest frame, else a fresh read (a
/// container started since that frame).
pub fn find_container(
    root: &HostRoot,
    latest: &[ContainerView],
    id: &str,
) -> Result<ContainerView, Outcome> {
    if let Some(view) = latest.iter().find(|v| v.container.id == id) {
        return Ok(view.clone());
    }
    let snapshot = scan(root, ScanOptions::TARGETS)
        .map_err(|e| Outcome::Failed(format!("cannot read the remote host: {e}")))?;
    snapshot
        .containers
        .into_iter()
        .find(|v| v.container.id == id)
        .ok_or_else(|| {
            Outcome::Failed(format!(
                "no container {id} on the remote host any more: nothing was done"
            ))
        })
}

/// [`Outcome`] on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WireOutcome {
    Done(String),
    Failed(String),
    InitIgnoredTerm { id: String, name: String },
    SurvivedTerm { id: String, text: String },
    Started { id: String, name: String },
}

impl From<Outcome> for WireOutcome {
    fn from(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Done(text) => WireOutcome::Done(text),
            Outcome::Failed(text) => WireOutcome::Failed(text),
            Outcome::InitIgnoredTerm { id, name } => WireOutcome::InitIgnoredTerm { id, name },
            Outcome::SurvivedTerm { id, text } => WireOutcome::SurvivedTerm { id, text },
            Outcome::Started { id, name } => WireOutcome::Started { id, name },
        }
    }
}

impl From<WireOutcome> for Outcome {
    fn from(outcome: WireOutcome) -> Self {
        match outcome {
            WireOutcome::Done(text) => Outcome::Done(text),
            WireOutcome::Failed(text) => Outcome::Failed(text),
            WireOutcome::InitIgnoredTerm { id, name } => Outcome::InitIgnoredTerm { id, name },
            WireOutcome::SurvivedTerm { id, text } => Outcome::SurvivedTerm { id, text },
            WireOutcome::Started { id, name } => Outcome::Started { id, name },
        }
    }
}

/// A log line on the wire ([`LogLine`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireLogLine {
    pub at_ns: Option<u64>,
    /// `Some(false)` stdout, `Some(true)` stderr, `None` unknown.
    pub stderr: Option<bool>,
    pub text: String,
    pub cut: bool,
}

/// A log feed's message on the wire ([`LogMessage`], without the container id the dashboard
/// knows from the log's id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WireLogMessage {
    Lines(Vec<WireLogLine>),
    Unavailable { reason: String, hint: String },
    Stopped(String),
}

impl From<LogMessage> for WireLogMessage {
    fn from(message: LogMessage) -> Self {
        match message {
            LogMessage::Lines { lines, .. } => WireLogMessage::Lines(
                lines
                    .into_iter()
                    .map(|line| WireLogLine {
                        at_ns: line.at_ns,
                        stderr: line.stream.map(|s| s == LogStream::Stderr),
                        text: line.text,
                        cut: line.cut,
                    })
                    .collect(),
            ),
            LogMessage::Unavailable { reason, hint, .. } => {
                WireLogMessage::Unavailable { reason, hint }
            }
            LogMessage::Stopped { why, .. } => WireLogMessage::Stopped(why),
        }
    }
}

impl WireLogMessage {
    /// The dashboard's message for container `container_id`'s log.
    pub fn into_log_message(self, container_id: &str) -> LogMessage {
        let container_id = container_id.to_string();
        match self {
            WireLogMessage::Lines(lines) => LogMessage::Lines {
                container_id,
                lines: lines
                    .into_iter()
                    .map(|line| LogLine {
                        at_ns: line.at_ns,
                        stream: line.stderr.map(|stderr| {
                            if stderr {
                                LogStream::Stderr
                            } else {
                                LogStream::Stdout
                            }
                        }),
                        text: line.text,
                        cut: line.cut,
                    })
                    .collect(),
            },
            WireLogMessage::Unavailable { reason, hint } => LogMessage::Unavailable {
                container_id,
                reason,
                hint,
            },
            WireLogMessage::Stopped(why) => LogMessage::Stopped { container_id, why },
        }
    }
}
