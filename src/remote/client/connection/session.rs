//! One session of a remote host's connection: the ssh process ([`Session`]: spawned with its
//! stdin, stdout and stderr piped, the hello written, commands passed on as messages, ended
//! with a goodbye or killed by its pid and reaped, the reason for its end completed with what
//! ssh said last on stderr) and the thread reading the agent's stdout ([`read_agent`]: the
//! hello, then frames, outcomes and log lines routed to the app loop).

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, BufWriter};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::{Command, Context, End, HELLO_WAIT, Routes, Wanted, lock, stop_log};
use crate::remote::wire::{self, AgentMessage, ClientMessage, Hello, Peer, WireError};
use crate::ui::SourceEvent;
use crate::ui::acts::Outcome;
use crate::ui::app::hosts::Connection;

/// How long a leaving agent has to end by itself before ssh is killed.
const BYE_WAIT: Duration = Duration::from_secs(1);

/// How long a lost session's ssh has to end by itself (for its exit status) before it is
/// killed.
const LOST_WAIT: Duration = Duration::from_millis(500);

/// Lines of ssh's stderr kept to say why a session ended.
const STDERR_LINES: usize = 8;

/// One ssh process and its agent.
pub(super) struct Session {
    number: u64,
    child: Child,
    stdin: Option<BufWriter<ChildStdin>>,
    stderr: Arc<Mutex<VecDeque<String>>>,
    stderr_done: Receiver<()>,
}

impl Session {
    /// Spawns ssh, writes the hello, starts the reader threads.
    pub(super) fn start(context: &Context, number: u64) -> std::io::Result<Session> {
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
    pub(super) fn run(
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
    pub(super) fn close(mut self, stopping: bool, end: End) -> End {
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
            AgentMessage::Frame(frame) => context
                .events
                .blocking_send(SourceEvent::Frame((*frame).into())),
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
