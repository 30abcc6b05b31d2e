//! The dashboard's end of a remote host: [`RemoteHost`], a [`FrameSource`] the app loop uses
//! as it uses this host's sampler. A thread per host ([`connection`]) runs
//! `ssh … HOST isotop agent` ([`SshSettings::agent`]), exchanges hellos, sends the interval
//! and the network map wanted, and hands on what the agent sends: frames, act outcomes, log
//! lines. When the connection drops (ssh exits, the stream ends mid-frame, the agent stops
//! answering) it says why and when it tries again ([`Connection::Lost`]), with exponential
//! backoff from 1 s to 30 s, jittered ([`backoff`]); the dashboard keeps the last frame on
//! screen, marked stale, and says "reconnected" when frames flow again. An agent of another
//! protocol version, or something that is not an agent, is not retried
//! ([`Connection::Failed`]).
//!
//! Acts go to the agent as [`RemoteRequest`]s and their outcomes come back to the App of this
//! host; an act in flight when the connection drops is reported as unknown (the agent may
//! have run it: its host's audit log says). `e` runs `ssh -t HOST isotop enter ID` in the
//! foreground. A log pane's lines are read by the agent (its own log feed) and come over the
//! same connection: one login, the lines' times and streams kept.

pub mod backoff;
mod connection;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::mpsc;

use self::connection::{Command, Routes};
use super::request::RemoteRequest;
use super::ssh::SshSettings;
use super::target::HostTarget;
use crate::host::container::Container;
use crate::host::scan::ContainerView;
use crate::ui::acts::{Outcome, Request};
use crate::ui::app::hosts::Connection;
use crate::ui::event_loop::source::EVENTS_QUEUE;
use crate::ui::log_feed::LogFeed;
use crate::ui::{FrameSource, SourceEvent};

/// How long `stop` waits for the agent to be told goodbye and ssh to end.
const STOP_WAIT: Duration = Duration::from_secs(2);

/// One remote host's frames and acts, over ssh.
pub struct RemoteHost {
    target: HostTarget,
    settings: SshSettings,
    events: mpsc::Receiver<SourceEvent>,
    commands: std::sync::mpsc::Sender<Command>,
    routes: Arc<Mutex<Routes>>,
    next_id: u64,
    /// Signalled when the connection's thread has ended.
    ended: std::sync::mpsc::Receiver<()>,
}

impl RemoteHost {
    /// Starts connecting to `target` (in the background: the first event says how it went),
    /// frames every `interval`.
    pub fn connect(target: HostTarget, settings: SshSettings, interval: Duration) -> RemoteHost {
        let (sender, events) = mpsc::channel(EVENTS_QUEUE);
        let (commands, inbox) = std::sync::mpsc::channel();
        let routes = Arc::new(Mutex::new(Routes::default()));
        let (ended_sender, ended) = std::sync::mpsc::channel();
        let context = connection::Context {
            target: target.clone(),
            settings: settings.clone(),
            interval,
            events: sender.clone(),
            commands: commands.clone(),
            routes: routes.clone(),
        };
        let started = std::thread::Builder::new()
            .name("isotop-remote".to_string())
            .spawn(move || {
                connection::manage(&context, &inbox);
                let _ = ended_sender.send(());
            });
        if let Err(e) = started {
            let _ = sender.try_send(SourceEvent::Connection(Connection::Failed(format!(
                "cannot start the connection's thread: {e}"
            ))));
        }
        RemoteHost {
            target,
            settings,
            events,
            commands,
            routes,
            next_id: 0,
            ended,
        }
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn routes(&self) -> MutexGuard<'_, Routes> {
        lock(&self.routes)
    }
}

/// The routes, even after a panic elsewhere (they are plain values).
pub(crate) fn lock(routes: &Mutex<Routes>) -> MutexGuard<'_, Routes> {
    routes.lock().unwrap_or_else(|p| p.into_inner())
}

impl FrameSource for RemoteHost {
    fn label(&self) -> Option<String> {
        Some(self.target.to_string())
    }

    fn events(&mut self) -> &mut mpsc::Receiver<SourceEvent> {
        &mut self.events
    }

    fn set_net_map(&self, on: bool) {
        let _ = self.commands.send(Command::SetNetMap(on));
    }

    fn act(&mut self, request: Request) {
        let id = self.id();
        let request = RemoteRequest::from_request(&request);
        if request.is_ok() {
            self.routes().acts.insert(id);
        }
        let _ = self.commands.send(Command::Act { id, request });
    }

    fn enter(&self, view: &ContainerView) -> Outcome {
        let name = &view.container.name;
        let mut command = match self.settings.enter(&self.target, &view.container.id) {
            Ok(command) => command,
            Err(why) => return Outcome::Failed(why),
        };
        match command.status() {
            Ok(status) => match status.code() {
                Some(0) => Outcome::Done(format!("left {name} on {}", self.target)),
                Some(255) => Outcome::Failed(format!(
                    "ssh to {} failed (exit 255): see what it printed above, or try `ssh {}`",
                    self.target,
                    self.target.destination()
                )),
                Some(code) => Outcome::Done(format!(
                    "left {name} on {}: the shell exited with {code}",
                    self.target
                )),
                None => Outcome::Done(format!("left {name} on {}: {status}", self.target)),
            },
            Err(e) => Outcome::Failed(format!("cannot run ssh: {e}")),
        }
    }

    fn open_log(&self, container: Container, since_ms: Option<u64>) -> std::io::Result<LogFeed> {
        // `&self`: ids for logs count down from the top, apart from the acts' ids.
        let id = u64::MAX - lock(&self.routes).logs_opened;
        let (sender, messages) = LogFeed::channel();
        {
            let mut routes = self.routes();
            routes.logs_opened += 1;
            routes.log = Some(connection::LogRoute {
                id,
                container_id: container.id.clone(),
                sender,
            });
        }
        let _ = self.commands.send(Command::OpenLog {
            id,
            container: container.id.clone(),
            since_ms,
        });
        let commands = self.commands.clone();
        let routes = self.routes.clone();
        Ok(LogFeed::from_channel(container.id, messages, move || {
            let mut routes = lock(&routes);
            if routes.log.as_ref().is_some_and(|r| r.id == id) {
                routes.log = None;
            }
            drop(routes);
            let _ = commands.send(Command::CloseLog { id });
        }))
    }

    fn stop(&mut self) {
        let _ = self.commands.send(Command::Stop);
        let _ = self.ended.recv_timeout(STOP_WAIT);
    }
}

/// One [`RemoteHost`] per target, each connecting in the background.
pub fn connect_all(
    targets: &[HostTarget],
    settings: &SshSettings,
    interval: Duration,
) -> Vec<Box<dyn FrameSource>> {
    targets
        .iter()
        .map(|target| {
            Box::new(RemoteHost::connect(
                target.clone(),
                settings.clone(),
                interval,
            )) as Box<dyn FrameSource>
        })
        .collect()
}
