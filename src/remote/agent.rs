//! `isotop agent`: the far end of a remote dashboard. Started by `ssh HOST isotop agent`, it
//! writes its [`Hello`] to stdout and reads the dashboard's from stdin, then samples as the
//! dashboard would (the config's sampler options; the interval the dashboard sends) and writes
//! each frame to stdout, while it reads the dashboard's requests from stdin: the network map
//! on or off, the interval, an act, a log to follow. Stdout carries the protocol only; what
//! the agent has to say otherwise goes to stderr (ssh shows it to the dashboard).
//!
//! Acts: the target named in a [`RemoteRequest`] (a container id, a cgroup path) is resolved
//! here, from the agent's latest frame or a fresh read, and run by `ui::acts::run` — the same
//! guards, undo journal and audit line as an act from a dashboard on this host. With
//! `--read-only` every act is refused and says so. Frames go out latest-first: a dashboard
//! that reads slowly gets the newest frame when it is ready, never a queue of old ones; act
//! outcomes and log lines are never dropped.
//!
//! It ends, with status 0, when stdin closes (ssh went away), on the dashboard's `Bye`, when
//! stdout is closed (SIGPIPE is ignored by Rust: the write fails), or on SIGTERM, SIGINT or
//! SIGHUP — after a running act has finished. It never listens on a socket.

mod outbox;

use std::io::{BufReader, BufWriter};
use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use self::outbox::Outbox;
use super::request::{RemoteRequest, WireLogMessage, find_container};
use super::wire::{self, AgentMessage, ClientMessage, Hello, Peer, WireError};
use crate::host::HostRoot;
use crate::host::scan::ContainerView;
use crate::ui::acts::{self, Outcome};
use crate::ui::config::{Config, seconds_in_range};
use crate::ui::log_feed::{HostLogs, LogFeed};

/// The agent's options (the global `--read-only` and `--config`, `-d`).
#[derive(Debug, Clone, Default)]
pub struct AgentOptions {
    /// Refuse every act.
    pub read_only: bool,
    /// The config whose sampler options apply (else the XDG one, else defaults).
    pub config: Option<std::path::PathBuf>,
    /// Seconds between frames until the dashboard says otherwise.
    pub delay_seconds: Option<f64>,
}

/// What can end the agent with an error.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("{0}")]
    Wire(#[from] WireError),
    #[error("{0}")]
    Config(#[from] crate::ui::UiError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Said when an act reaches an agent started `--read-only`.
pub const READ_ONLY_AGENT: &str =
    "read-only: the agent on this host was started with --read-only; no act is possible";

/// Runs the agent on stdin and stdout until the dashboard leaves.
pub fn run(root: HostRoot, options: &AgentOptions) -> Result<(), AgentError> {
    let mut config = Config::load(options.config.as_deref())?;
    for note in &config.notes {
        eprintln!("isotop agent: {}", crate::host::text::clean_lines(note));
    }
    if let Some(seconds) = options.delay_seconds {
        config.refresh = seconds_in_range(seconds, 0.1, 3600.0).unwrap_or(config.refresh);
    }
    let read_only = options.read_only || config.read_only;
    let mut stdout = BufWriter::with_capacity(1 << 20, std::io::stdout());
    let mut stdin = BufReader::with_capacity(1 << 16, std::io::stdin());
    wire::write_hello(&mut stdout, &Hello::ours(read_only))?;
    wire::read_hello(&mut stdin, Peer::Client)?;
    if !read_only {
        crate::control::limits::pending::watch_overdue(root.clone());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(serve(root, &config, read_only, stdin, stdout));
    // Dropping the runtime waits for an act still on a blocking thread.
    drop(runtime);
    result
}

/// What the stdin reader hands the loop.
enum Incoming {
    Message(ClientMessage),
    /// stdin ended (`None`: cleanly) or could not be read.
    Ended(Option<WireError>),
}

async fn serve(
    root: HostRoot,
    config: &Config,
    read_only: bool,
    stdin: BufReader<std::io::Stdin>,
    stdout: BufWriter<std::io::Stdout>,
) -> Result<(), AgentError> {
    let (outbox, writer) = Outbox::start(stdout)?;
    let mut incoming = read_stdin(stdin)?;
    let sampler = crate::sample::spawn_sampler(
        crate::sample::Sampler::with_options(root.clone(), config.sampler_options()),
        config.refresh,
    );
    let mut frames = sampler.frames;
    let control = sampler.control;
    let mut signals = [
        signal(SignalKind::terminate())?,
        signal(SignalKind::interrupt())?,
        signal(SignalKind::hangup())?,
    ];
    // The containers of the latest frame: where a request's container id is looked up.
    let mut latest: Arc<Vec<ContainerView>> = Arc::new(Vec::new());
    let mut acts: JoinSet<(u64, Outcome)> = JoinSet::new();
    let mut log: Option<(u64, LogFeed)> = None;
    let logs = Arc::new(HostLogs { root: root.clone() });
    let mut sampling = true;
    loop {
        tokio::select! {
            frame = frames.recv(), if sampling => match frame {
                Some(frame) => {
                    latest = Arc::new(frame.containers.iter().map(|c| c.view.clone()).collect());
                    outbox.frame(frame);
                }
                None => {
                    sampling = false;
                    let why = frames
                        .closed_reason()
                        .unwrap_or_else(|| "sampling stopped".to_string());
                    outbox.message(AgentMessage::Error(why)).await;
                }
            },
            message = incoming.recv() => match message {
                Some(Incoming::Message(message)) => match message {
                    ClientMessage::SetNetMap(on) => control.set_net_map(on),
                    ClientMessage::SetInterval(seconds) => {
                        match seconds_in_range(seconds, 0.1, 3600.0) {
                            Some(interval) => control.set_interval(interval),
                            None => outbox.message(AgentMessage::Error(format!(
                                "an interval of {seconds} s was asked: give 0.1 to 3600"
                            ))).await,
                        }
                    }
                    ClientMessage::Act { id, request } => {
                        if read_only {
                            let outcome = Outcome::Failed(READ_ONLY_AGENT.to_string()).into();
                            outbox.message(AgentMessage::Outcome { id, outcome }).await;
                        } else {
                            start_act(&mut acts, &root, &latest, id, request);
                        }
                    }
                    ClientMessage::OpenLog { id, container, since_ms } => {
                        log = None;
                        match open_log(&root, &latest, &logs, &container, since_ms) {
                            Ok(feed) => log = Some((id, feed)),
                            Err(why) => {
                                let message = WireLogMessage::Stopped(why);
                                outbox.message(AgentMessage::Log { id, message }).await;
                            }
                        }
                    }
                    ClientMessage::CloseLog { id } => {
                        if log.as_ref().is_some_and(|(open, _)| *open == id) {
                            log = None;
                        }
                    }
                    ClientMessage::Bye => break,
                },
                Some(Incoming::Ended(None)) | None => break,
                Some(Incoming::Ended(Some(e))) => {
                    eprintln!("isotop agent: reading the dashboard's requests: {e}");
                    break;
                }
            },
            done = acts.join_next(), if !acts.is_empty() => {
                if let Some(done) = done {
                    let (id, outcome) = done.unwrap_or_else(|e| {
                        (0, Outcome::Failed(format!("the act stopped: {e}")))
                    });
                    outbox.message(AgentMessage::Outcome { id, outcome: outcome.into() }).await;
                }
            }
            message = log_message(&mut log) => match message {
                Some((id, message)) => {
                    outbox.message(AgentMessage::Log { id, message: message.into() }).await;
                }
                None => log = None,
            },
            _ = outbox.writer_gone() => break,
            _ = next_signal(&mut signals) => break,
        }
    }
    control.stop();
    drop(log);
    // A running act finishes and its outcome is sent (if the dashboard still reads).
    while let Some(done) = acts.join_next().await {
        if let Ok((id, outcome)) = done {
            outbox
                .message(AgentMessage::Outcome {
                    id,
                    outcome: outcome.into(),
                })
                .await;
        }
    }
    outbox.close();
    // The writer sends what is left; a dashboard that stopped reading is not waited for long.
    writer.finish(Duration::from_secs(2));
    Ok(())
}

/// Resolves `request` and runs it on a blocking thread (acts block on the kernel's files).
fn start_act(
    acts: &mut JoinSet<(u64, Outcome)>,
    root: &HostRoot,
    latest: &Arc<Vec<ContainerView>>,
    id: u64,
    request: RemoteRequest,
) {
    let root = root.clone();
    let latest = latest.clone();
    acts.spawn_blocking(move || {
        let outcome = match request.resolve(&root, &latest) {
            Ok(request) => acts::run(&root, request),
            Err(outcome) => outcome,
        };
        (id, outcome)
    });
}

/// A feed of container `id`'s log, read here as the dashboard on this host would.
fn open_log(
    root: &HostRoot,
    latest: &[ContainerView],
    logs: &Arc<HostLogs>,
    id: &str,
    since_ms: Option<u64>,
) -> Result<LogFeed, String> {
    let view = find_container(root, latest, id).map_err(|outcome| match outcome {
        Outcome::Failed(why) | Outcome::Done(why) => why,
        other => format!("{other:?}"),
    })?;
    LogFeed::open(logs.clone(), Arc::unwrap_or_clone(view.container), since_ms)
        .map_err(|e| format!("cannot start reading: {e}"))
}

/// The open feed's next message and its id (`None` once it ended); never ready without one.
async fn log_message(
    log: &mut Option<(u64, LogFeed)>,
) -> Option<(u64, crate::ui::log_feed::LogMessage)> {
    match log {
        Some((id, feed)) => feed.next().await.map(|message| (*id, message)),
        None => std::future::pending().await,
    }
}

async fn next_signal(signals: &mut [tokio::signal::unix::Signal; 3]) {
    let [a, b, c] = signals;
    tokio::select! {
        _ = a.recv() => {}
        _ = b.recv() => {}
        _ = c.recv() => {}
    }
}

/// Reads the dashboard's messages on a thread of its own (stdin blocks).
fn read_stdin(mut stdin: BufReader<std::io::Stdin>) -> std::io::Result<mpsc::Receiver<Incoming>> {
    let (sender, receiver) = mpsc::channel(16);
    std::thread::Builder::new()
        .name("isotop-agent-in".to_string())
        .spawn(move || {
            loop {
                let incoming = match wire::read_message::<ClientMessage>(&mut stdin) {
                    Ok(message) => Incoming::Message(message),
                    Err(WireError::Closed) => Incoming::Ended(None),
                    Err(e) => Incoming::Ended(Some(e)),
                };
                let last = matches!(incoming, Incoming::Ended(_));
                if sender.blocking_send(incoming).is_err() || last {
                    return;
                }
            }
        })?;
    Ok(receiver)
}
