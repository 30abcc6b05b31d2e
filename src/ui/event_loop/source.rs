//! Where the app loop's frames come from and where its acts go: a [`FrameSource`]. This
//! host's is [`LocalSource`] (the sampler on its thread, acts run here by [`acts::run`], logs
//! read by `host::logs`); a remote host's is `remote::client::RemoteHost` (an agent over ssh).
//! Everything a source has to say — frames, an act's outcome, its connection's state, its
//! end — comes as a [`SourceEvent`] on one channel ([`FrameSource::events`]), so the loop waits
//! on every host's at once, and an act's outcome returns to the App of the host it ran on. A
//! replay's source (`record::replay`) is moved by [`FrameSource::seek`] and answers with
//! [`SourceEvent::Replay`]; live sources take no seek.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::super::acts::{self, Outcome, Request};
use super::super::app::hosts::Connection;
use super::super::app::replay::{ReplaySeek, ReplayUpdate};
use super::super::config::Config;
use super::super::log_feed::{HostLogs, LogFeed, LogSource};
use crate::host::HostRoot;
use crate::host::container::Container;
use crate::host::scan::ContainerView;
use crate::record::trouble::{TroubleRecorder, TroubleReport};
use crate::sample::{self, Frame, SamplerControl};

/// Events a source queues before its sender waits for the loop: a frame, an outcome or two.
pub const EVENTS_QUEUE: usize = 4;

/// What a source tells the app loop.
#[derive(Debug)]
pub enum SourceEvent {
    /// One tick of its sampler.
    /// Shared by `Arc`: the trouble recorder and the App hold the same frame, never a copy.
    Frame(Arc<Frame>),
    /// What the act it was given did.
    Outcome(Outcome),
    /// Its connection changed (remote sources only).
    Connection(Connection),
    /// A line to show on the status line (a remote agent's error, a dump on trouble).
    Notice(String),
    /// No more frames will come: why.
    Stopped(String),
    /// A replay moved (or its recording grew): the frame at its position, and on a jump the
    /// history and events to start again from.
    Replay(Box<ReplayUpdate>),
}

/// A host's frames and acts, as the app loop uses them.
pub trait FrameSource: Send {
    /// The host's label (`user@host:port`); `None` for this host.
    fn label(&self) -> Option<String>;
    /// Its events; the loop polls this channel (cancel-safe).
    fn events(&mut self) -> &mut mpsc::Receiver<SourceEvent>;
    /// Whether frames carry the network map (while the Network view shows).
    fn set_net_map(&self, on: bool);
    /// Whose other mounts the frames' stacks keep (the detail pane's container; `None`: no
    /// container's). A source that cannot steer its sampler keeps what it has.
    fn set_mounts_for(&self, _container: Option<String>) {}
    /// Runs `request` (anything but [`Request::Enter`]) off the loop; its outcome comes back
    /// as [`SourceEvent::Outcome`].
    fn act(&mut self, request: Request);
    /// Runs `enter` on `view` in the foreground; the caller has given the terminal back.
    fn enter(&self, view: &ContainerView) -> Outcome;
    /// Starts reading `container`'s log (see [`LogFeed::open`]).
    fn open_log(&self, container: Container, since_ms: Option<u64>) -> std::io::Result<LogFeed>;
    /// Stops sampling (the loop is ending).
    fn stop(&mut self);
    /// True for a recording's frames (`isotop replay`): the App refuses acts and takes the
    /// replay's keys.
    fn is_replay(&self) -> bool {
        false
    }
    /// Moves a replay (answered by [`SourceEvent::Replay`]); a live source has nothing to seek.
    fn seek(&mut self, _to: ReplaySeek) {}
}

/// This host: the sampler on its own thread, acts on a blocking thread.
pub struct LocalSource {
    root: HostRoot,
    control: SamplerControl,
    events: mpsc::Receiver<SourceEvent>,
    sender: mpsc::Sender<SourceEvent>,
    logs: Arc<dyn LogSource>,
}

impl LocalSource {
    /// Starts the sampler with `config`'s options and interval. Call inside the loop's
    /// runtime: a task hands its frames on.
    pub fn start(root: HostRoot, config: &Config) -> LocalSource {
        let mut sampler = sample::Sampler::with_options(root.clone(), config.sampler_options());
        // From the first tick, containers' mounts are kept only for the detail pane's (the
        // App names it, `App::take_mounts_wanted`): not 400 containers' read in full first.
        sampler.set_mounts_for(None);
        let handle = sample::spawn_sampler(sampler, config.refresh);
        let (sender, events) = mpsc::channel(EVENTS_QUEUE);
        let mut frames = handle.frames;
        let forward = sender.clone();
        let trouble = start_trouble(&root, config, &sender);
        tokio::spawn(async move {
            loop {
                let event = match frames.recv().await {
                    Some(frame) => {
                        let frame = Arc::new(frame);
                        if let Some(trouble) = &trouble {
                            // Never waits: a full queue drops the frame for the ring (counted
                            // in its stats), not for the screen.
                            trouble.offer(Arc::clone(&frame));
                        }
                        SourceEvent::Frame(frame)
                    }
                    None => SourceEvent::Stopped(
                        frames
                            .closed_reason()
                            .unwrap_or_else(|| "sampling stopped".to_string()),
                    ),
                };
                let last = matches!(event, SourceEvent::Stopped(_));
                if forward.send(event).await.is_err() || last {
                    return;
                }
            }
        });
        LocalSource {
            logs: Arc::new(HostLogs { root: root.clone() }),
            root,
            control: handle.control,
            events,
            sender,
        }
    }
}

/// The dump on trouble as `config` asks (`record::trouble`), its reports on the status line.
fn start_trouble(
    root: &HostRoot,
    config: &Config,
    sender: &mpsc::Sender<SourceEvent>,
) -> Option<TroubleRecorder> {
    let options = config.trouble_options(root)?;
    let notices = sender.clone();
    // From the trouble threads (not the loop's): waiting for room in the queue is fine there.
    let report = move |report: &TroubleReport| {
        let _ = notices.blocking_send(SourceEvent::Notice(report.line()));
    };
    match TroubleRecorder::start(options, Arc::new(report)) {
        Ok(trouble) => Some(trouble),
        Err(e) => {
            let _ = sender.try_send(SourceEvent::Notice(format!("no dump on trouble: {e}")));
            None
        }
    }
}

impl FrameSource for LocalSource {
    fn label(&self) -> Option<String> {
        None
    }

    fn events(&mut self) -> &mut mpsc::Receiver<SourceEvent> {
        &mut self.events
    }

    fn set_net_map(&self, on: bool) {
        self.control.set_net_map(on);
    }

    fn set_mounts_for(&self, container: Option<String>) {
        self.control.set_mounts_for(container);
    }

    fn act(&mut self, request: Request) {
        let root = self.root.clone();
        let sender = self.sender.clone();
        // A blocking thread: the runtime waits for it when dropped (a limit half written
        // would leave its journal short).
        let running = tokio::task::spawn_blocking(move || acts::run(&root, request));
        tokio::spawn(async move {
            let outcome = running
                .await
                .unwrap_or_else(|e| Outcome::Failed(format!("the act stopped: {e}")));
            let _ = sender.send(SourceEvent::Outcome(outcome)).await;
        });
    }

    fn enter(&self, view: &ContainerView) -> Outcome {
        acts::run_enter(&self.root, view)
    }

    fn open_log(&self, container: Container, since_ms: Option<u64>) -> std::io::Result<LogFeed> {
        LogFeed::open(self.logs.clone(), container, since_ms)
    }

    fn stop(&mut self) {
        self.control.stop();
    }
}
