//! One remote host's connection, on a thread of its own ([`manage`]): spawn ssh, wait for the
//! agent's hello (at most [`HELLO_WAIT`]), then pass the dashboard's commands to the agent
//! while a reader thread ([`read_agent`]) hands the agent's messages on; when the session
//! ends, say why (ssh's last line on stderr, else what the stream did) and try again after the
//! backoff's wait, until told to stop. Every event for the app loop goes through the host's
//! event channel; act outcomes and log lines are routed by id ([`Routes`]).

use std::collections::{HashSet, VecDeque};
use std::io::{BufRead, BufReader, BufWriter};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::backoff::Backoff;
use super::lock;
use crate::remote::request::RemoteRequest;
use crate::remote::ssh::SshSettings;
use crate::remote::target::HostTarget;
use crate::remote::wire::{self, AgentMessage, ClientMessage, Hello, Peer, WireError};
use crate::ui::SourceEvent;
use crate::ui::acts::Outcome;
use crate::ui::app::hosts::Connection;
use crate::ui::log_feed::LogMessage;

/// How long the agent has to say hello once ssh is started (ssh's own connect timeout is
/// 10 s; then authentication and the agent's start).
pub(super) const HELLO_WAIT: Duration = Duration::from_secs(30);

/// How long a leaving agent has to end by itself before ssh is killed.
const BYE_WAIT: Duration = Duration::from_secs(1);

/// How long a lost session's ssh has to end by itself (for its exit status) before it is
/// killed.
const LOST_WAIT: Duration = Duration::from_millis(500);

/// Lines of ssh's stderr kept to say why a session ended.
const STDERR_LINES: usize = 8;

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

/// One ssh process and its agent.
struct Session {
    number: u64,
    child: Child,
    stdin: Option<BufWriter<ChildStdin>>,
    stderr: Arc<Mutex<VecDeque<String>>>,
    stderr_done: Receiver<()>,
}

impl Session {
    /// Spawns ssh, writes the hello, starts the reader threads.
    fn start(context: &Context, number: u64) -> std::io::Result<Session> {
        let mut child = context
            .settings
            .agent(&context.target)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(std::io::Error::other("ssh's pipes were not made"));
        };
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        let (done_sender, stderr_done) = std::sync::mpsc::channel();
        let lines = tail.clone();
        let stderr_thread = std::thread::Builder::new()
            .name("isotop-ssh-err".to_string())
            .spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    let line = crate::host::text::clean_str(line.trim());
                    if line.is_empty() {
                        continue;
                    }
                    let mut lines = lines.lock().unwrap_or_else(|p| p.into_inner());
                    if lines.len() == STDERR_LINES {
                        lines.pop_front();
                    }
                    lines.push_back(line);
                }
                let _ = done_sender.send(());
            });
        let mut session = Session {
            number,
            child,
            stdin: Some(BufWriter::new(stdin)),
            stderr: tail,
            stderr_done,
        };
        if let Err(e) = stderr_thread {
            session.kill();
            return Err(e);
        }
        let reader = ReaderContext {
            session: number,
            commands: context.commands.clone(),
            events: context.events.clone(),
            routes: context.routes.clone(),
        };
        if let Err(e) = std::thread::Builder::new()
            .name("isotop-remote-in".to_string())
            .spawn(move || read_agent(stdout, &reader))
        {
            session.kill();
            return Err(e);
        }
        Ok(session)
    }

    /// Hello, then commands until the session ends. `connected` is called once the agent
    /// said hello and answers whether this is a reconnection.
    fn run(
        &mut self,
        context: &Context,
        inbox: &Receiver<Command>,
        wanted: &mut Wanted,
        connected: &mut dyn FnMut() -> bool,
    ) -> End {
        if let Err(e) = self.send_hello() {
            return End::Lost(format!("cannot write to ssh: {e}"));
        }
        let deadline = Instant::now() + HELLO_WAIT;
        let mut hello_seen = false;
        loop {
            let command = if hello_seen {
                match inbox.recv() {
                    Ok(command) => command,
                    Err(_) => return End::Stop,
                }
            } else {
                match inbox.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                    Ok(command) => command,
                    Err(RecvTimeoutError::Timeout) => {
                        return End::Lost(format!(
                            "the agent did not say hello within {} s",
                            HELLO_WAIT.as_secs()
                        ));
                    }
                    Err(RecvTimeoutError::Disconnected) => return End::Stop,
                }
            };
            let sent = match command {
                Command::Stop => return End::Stop,
                Command::Hello { session, .. } | Command::ReaderEnded { session, .. }
                    if session != self.number =>
                {
                    Ok(())
                }
                Command::Hello { result, .. } => match result {
                    Ok(hello) => {
                        hello_seen = true;
                        let reconnected = connected();
                        context.say(SourceEvent::Connection(Connection::Connected {
                            reconnected,
                            read_only: hello.read_only,
                        }));
                        self.send(&ClientMessage::SetInterval(context.interval.as_secs_f64()))
                            .and_then(|()| self.send(&ClientMessage::SetNetMap(wanted.net_map)))
                    }
                    Err(e @ (WireError::Version { .. } | WireError::BadMagic { .. })) => {
                        return End::Fatal(e.to_string());
                    }
                    Err(e) => return End::Lost(describe(&e)),
                },
                Command::ReaderEnded { why, .. } => return End::Lost(why),
                Command::SetNetMap(on) => {
                    wanted.net_map = on;
                    if hello_seen {
                        self.send(&ClientMessage::SetNetMap(on))
                    } else {
                        Ok(())
                    }
                }
                Command::Act { id, request } => match request {
                    Ok(request) if hello_seen => self.send(&ClientMessage::Act { id, request }),
                    other => {
                        lock(&context.routes).acts.remove(&id);
                        let why = other.err().unwrap_or_else(|| {
                            format!(
                                "host {} is still connecting: nothing was sent",
                                context.target
                            )
                        });
                        context.say(SourceEvent::Outcome(Outcome::Failed(why)));
                        Ok(())
                    }
                },
                Command::OpenLog {
                    id,
                    container,
                    since_ms,
                } if hello_seen => self.send(&ClientMessage::OpenLog {
                    id,
                    container,
                    since_ms,
                }),
                Command::OpenLog { id, .. } => {
                    stop_log(
                        context,
                        id,
                        format!("host {} is still connecting", context.target),
                    );
                    Ok(())
                }
                Command::CloseLog { id } if hello_seen => {
                    self.send(&ClientMessage::CloseLog { id })
                }
                Command::CloseLog { .. } => Ok(()),
            };
            if let Err(e) = sent {
                return End::Lost(format!("cannot write to ssh: {}", describe(&e)));
            }
        }
    }

    fn send_hello(&mut self) -> Result<(), WireError> {
        match &mut self.stdin {
            Some(stdin) => wire::write_hello(stdin, &Hello::ours(false)),
            None => Err(WireError::Closed),
        }
    }

    fn send(&mut self, message: &ClientMessage) -> Result<(), WireError> {
        match &mut self.stdin {
            Some(stdin) => wire::write_message(stdin, message),
            None => Err(WireError::Closed),
        }
    }

    /// Ends the session: on a stop, `Bye` and a moment for the agent to leave; then ssh is
    /// killed (our child, by its pid) and reaped. A lost session's reason gains what ssh
    /// said last on stderr.
    fn close(mut self, stopping: bool, end: End) -> End {
        if stopping {
            let _ = self.send(&ClientMessage::Bye);
        }
        // A closed stdin ends the agent, and ssh after it; a lost ssh is ending already and
        // says why in its exit status.
        self.stdin = None;
        let deadline = Instant::now() + if stopping { BYE_WAIT } else { LOST_WAIT };
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let status = self.kill();
        let End::Lost(why) = end else {
            return end;
        };
        // ssh's last words arrive on its stderr, read by their own thread: wait for its end.
        let _ = self.stderr_done.recv_timeout(Duration::from_millis(500));
        let said = self
            .stderr
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .back()
            .cloned();
        let exit = status
            .and_then(|s| s.code())
            .map(|code| format!("ssh exited with {code}"));
        End::Lost(match (said, exit) {
            (Some(said), _) if why.is_empty() => said,
            (Some(said), _) => format!("{why}: {said}"),
            (None, Some(exit)) => format!("{why}; {exit}"),
            (None, None) => why,
        })
    }

    /// Kills ssh (SIGKILL to our own child, by its pid) and reaps it.
    fn kill(&mut self) -> Option<std::process::ExitStatus> {
        if let Ok(Some(status)) = self.child.try_wait() {
            return Some(status);
        }
        let _ = self.child.kill();
        self.child.wait().ok()
    }
}

/// What the reader thread works with.
struct ReaderContext {
    session: u64,
    commands: Sender<Command>,
    events: mpsc::Sender<SourceEvent>,
    routes: Arc<Mutex<Routes>>,
}

/// The agent's stdout: the hello, then messages, each handed on; the stream's end reported.
fn read_agent(stdout: std::process::ChildStdout, context: &ReaderContext) {
    let mut input = BufReader::with_capacity(1 << 20, stdout);
    let session = context.session;
    let hello = wire::read_hello(&mut input, Peer::Remote);
    let said_hello = hello.is_ok();
    if context
        .commands
        .send(Command::Hello {
            session,
            result: hello,
        })
        .is_err()
        || !said_hello
    {
        return;
    }
    loop {
        let message = match wire::read_message::<AgentMessage>(&mut input) {
            Ok(message) => message,
            Err(e) => {
                let _ = context.commands.send(Command::ReaderEnded {
                    session,
                    why: describe(&e),
                });
                return;
            }
        };
        let delivered = match message {
            AgentMessage::Frame(frame) => context.events.blocking_send(SourceEvent::Frame(frame)),
            AgentMessage::Outcome { id, outcome } => {
                if lock(&context.routes).acts.remove(&id) {
                    context
                        .events
                        .blocking_send(SourceEvent::Outcome(outcome.into()))
                } else {
                    Ok(())
                }
            }
            AgentMessage::Log { id, message } => {
                let route = lock(&context.routes)
                    .log
                    .as_ref()
                    .filter(|route| route.id == id)
                    .map(|route| (route.sender.clone(), route.container_id.clone()));
                if let Some((sender, container_id)) = route {
                    // A pane closed meanwhile drops its receiver: nothing to deliver.
                    let _ = sender.blocking_send(message.into_log_message(&container_id));
                }
                Ok(())
            }
            AgentMessage::Error(text) => context.events.blocking_send(SourceEvent::Notice(text)),
        };
        if delivered.is_err() {
            // The app loop is gone.
            return;
        }
    }
}

/// A wire error as the status line says it.
fn describe(error: &WireError) -> String {
    match error {
        WireError::Closed => "the agent's stream ended".to_string(),
        WireError::Truncated { got, want } => {
            format!("the stream ended mid-frame ({got} of {want} bytes)")
        }
        other => other.to_string(),
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
