//! The app loop: the one owner of the [`App`] and the [`History`]. It waits on three sources
//! at once — the sampler's frames, terminal events (keys, mouse, resize) and the signals that
//! end it — applies each, and redraws after each change. Acts the App requests run on a
//! blocking thread (their outcome is a fourth source), except enter, which runs in the
//! foreground with the terminal given back. A log pane's feed ([`LogFeed`], opened and closed
//! as the App asks, [`App::take_log_request`]) is a fifth: its lines go to the App as frames
//! do. It also steers the sampler: the network map is
//! asked for while the Network view shows and no longer after ([`App::take_net_map_wanted`]).
//!
//! Ending signals ([`ENDING_SIGNALS`]: every signal whose default action ends a process and
//! that can be caught and is not a fault of isotop's own — SIGTERM, SIGINT, SIGHUP, SIGQUIT,
//! SIGUSR1, SIGUSR2, SIGALRM, SIGVTALRM, SIGPROF, SIGPWR, SIGIO, SIGXCPU, SIGXFSZ) are all
//! caught: the loop ends, the terminal is given back (raw mode off, main screen, cursor shown),
//! a running act finishes, and isotop exits with 128 + the signal's number, as a shell reports
//! a process the signal ended. Left at their default, they would end isotop with the terminal
//! still raw and on the alternate screen. Not caught: SIGKILL and SIGSTOP (cannot be), the
//! faults SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS (a handler cannot resume the faulting
//! code; a panic restores the terminal), SIGPIPE (ignored by Rust), SIGSTKFLT (unused).

use std::path::PathBuf;
use std::sync::Arc;

use crossterm::event::{Event, EventStream, MouseButton, MouseEventKind};
use futures_util::StreamExt;
use nix::sys::signal::Signal;
use tokio::signal::unix::{SignalKind, signal};

use tokio::task::JoinHandle;

use super::action::Action;
use super::acts::{self, Outcome, Request};
use super::app::App;
use super::config::{Config, seconds_in_range};
use super::error::UiError;
use super::keymap::Keymap;
use super::log_feed::{HostLogs, LogFeed, LogMessage, LogRequest, LogSource};
use super::terminal::TerminalSession;
use super::theme::Theme;
use super::views::{self, Ctx};
use crate::host::HostRoot;
use crate::sample::{self, FrameReceiver, History, SamplerControl};

/// Dashboard options from the command line.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Seconds between samples; `None` takes the config's (default 1).
    pub delay_seconds: Option<f64>,
    /// A config file to use instead of the XDG one (must exist).
    pub config: Option<PathBuf>,
    /// `--read-only`: watch only; every act is refused (the config's `read_only` too).
    pub read_only: bool,
}

/// The signals that end the dashboard cleanly, with the terminal given back.
pub const ENDING_SIGNALS: [Signal; 13] = [
    Signal::SIGTERM,
    Signal::SIGINT,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGALRM,
    Signal::SIGVTALRM,
    Signal::SIGPROF,
    Signal::SIGPWR,
    Signal::SIGIO,
    Signal::SIGXCPU,
    Signal::SIGXFSZ,
];

/// How the loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The operator quit, or the terminal went away.
    Quit,
    /// One of [`ENDING_SIGNALS`] arrived.
    Signal(Signal),
}

impl Ended {
    /// The exit code a shell expects: 0 for a quit, 128 + the number for a signal.
    pub fn exit_code(self) -> i32 {
        match self {
            Ended::Quit => 0,
            Ended::Signal(signal) => 128 + signal as i32,
        }
    }
}

/// Runs the dashboard on `root` until the operator quits or a signal ends it. After a signal
/// the process exits here with [`Ended::exit_code`], once the terminal is restored and the
/// running act has finished.
pub fn run(root: HostRoot, options: &Options) -> Result<(), UiError> {
    let mut config = Config::load(options.config.as_deref())?;
    if let Some(seconds) = options.delay_seconds {
        config.refresh = seconds_in_range(seconds, 0.1, 3600.0).ok_or_else(|| {
            UiError::Usage(format!(
                "--delay {seconds}: give seconds between 0.1 and 3600"
            ))
        })?;
    }
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(UiError::Usage(
            "the dashboard needs a terminal (stdin and stdout); for scripts use a subcommand, \
             e.g. `isotop ls --json`"
                .to_string(),
        ));
    }
    config.read_only |= options.read_only;
    // Timed reverts whose worker is gone: carried out now and every few seconds — a write,
    // so not when read-only (the next isotop that may act carries them out).
    if !config.read_only {
        crate::control::limits::pending::watch_overdue(root.clone());
    }
    let theme = Theme::new(config.theme, Theme::no_color_requested());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let ended = runtime.block_on(async {
        let sampler = sample::spawn_sampler(
            sample::Sampler::with_options(root.clone(), config.sampler_options()),
            config.refresh,
        );
        let result = run_loop(
            &root,
            sampler.frames,
            Some(&sampler.control),
            &config,
            &theme,
        )
        .await;
        sampler.control.stop();
        result
    })?;
    // Dropping the runtime waits for an act on a blocking thread (a limit half written would
    // leave its journal short); the terminal is already given back.
    drop(runtime);
    match ended {
        Ended::Quit => Ok(()),
        Ended::Signal(_) => std::process::exit(ended.exit_code()),
    }
}

/// One stream per ending signal, merged: the next one to arrive.
struct EndingSignals {
    streams: Vec<(Signal, tokio::signal::unix::Signal)>,
}

impl EndingSignals {
    /// Installs the handlers (before the terminal is taken over, so no signal finds it taken
    /// and unguarded).
    fn install() -> std::io::Result<EndingSignals> {
        let streams = ENDING_SIGNALS
            .iter()
            .map(|&s| Ok((s, signal(SignalKind::from_raw(s as i32))?)))
            .collect::<std::io::Result<_>>()?;
        Ok(EndingSignals { streams })
    }

    async fn next(&mut self) -> Signal {
        let waits = self.streams.iter_mut().map(|(s, stream)| {
            let s = *s;
            Box::pin(async move {
                stream.recv().await;
                s
            })
        });
        futures_util::future::select_all(waits).await.0
    }
}

/// The loop proper, on a frame receiver (the sampler's, or a test's) and the control that
/// steers its sampler (none for a test's frames).
pub async fn run_loop(
    root: &HostRoot,
    mut frames: FrameReceiver,
    control: Option<&SamplerControl>,
    config: &Config,
    theme: &Theme,
) -> Result<Ended, UiError> {
    let mut signals = EndingSignals::install()?;
    let mut session = TerminalSession::enter()?;
    let mut events = EventStream::new();
    let mut app = App::new(config.history);
    app.set_read_only(config.read_only);
    app.hide_container_columns(config.hidden_container_columns.clone());
    if !config.notes.is_empty() {
        app.message = Some(config.notes.join("; "));
    }
    let mut history = History::new(config.history);
    let mut sampling = true;
    // The act running on a blocking thread, if any (one at a time: the App waits for it).
    let mut running: Option<JoinHandle<Outcome>> = None;
    // The open log pane's feed, if any (one at a time).
    let logs: Arc<dyn LogSource> = Arc::new(HostLogs { root: root.clone() });
    let mut log_feed: Option<LogFeed> = None;
    let mut ended = Ended::Quit;
    loop {
        draw(&mut session, &mut app, &history, theme, &config.keymap)?;
        tokio::select! {
            frame = frames.recv(), if sampling => match frame {
                Some(frame) => {
                    history.record(&frame);
                    app.on_frame(frame);
                }
                None => {
                    sampling = false;
                    let reason = frames
                        .closed_reason()
                        .unwrap_or_else(|| "sampling stopped".to_string());
                    app.on_sampler_stopped(reason);
                }
            },
            event = events.next() => match event {
                Some(Ok(event)) => {
                    if let Some(action) = action_for(&event, &app, &config.keymap) {
                        app.update(action);
                    }
                }
                Some(Err(e)) => return Err(UiError::Terminal(e)),
                // The terminal went away (stdin closed): nothing left to drive.
                None => break,
            },
            outcome = act_finished(&mut running) => {
                running = None;
                app.on_outcome(outcome);
            }
            message = log_message(&mut log_feed) => match message {
                Some(message) => message.apply(&mut app),
                // The feed ended (its last message said why).
                None => log_feed = None,
            },
            signal = signals.next() => {
                ended = Ended::Signal(signal);
                break;
            }
        }
        if app.should_quit() {
            break;
        }
        if app.take_suspend() {
            session.suspend()?;
        }
        if app.take_redraw() {
            session.terminal.clear()?;
        }
        if let Some(text) = app.take_clipboard() {
            session.copy_to_clipboard(&text)?;
        }
        match app.take_log_request() {
            Some(LogRequest::Open {
                container,
                since_ms,
            }) => {
                // One feed at a time: the last one ends as it is dropped.
                log_feed = None;
                let id = container.id.clone();
                match LogFeed::open(logs.clone(), *container, since_ms) {
                    Ok(feed) => log_feed = Some(feed),
                    Err(e) => app.on_log_stopped(&id, format!("cannot start reading: {e}")),
                }
            }
            Some(LogRequest::Close { .. }) => log_feed = None,
            None => {}
        }
        // The network map is read only while the Network view shows (a netlink walk of every
        // namespace on a cadence).
        if let Some(wanted) = app.take_net_map_wanted()
            && let Some(control) = control
        {
            control.set_net_map(wanted);
        }
        match app.take_request() {
            Some(Request::Enter { view }) => {
                // The shell reads the terminal: stop crossterm's reader (dropping the stream
                // ends its thread) and give the screen back until the shell exits.
                drop(events);
                let outcome = session.outside(|| acts::run_enter(root, &view))?;
                events = EventStream::new();
                app.on_outcome(outcome);
            }
            Some(request) => {
                let root = root.clone();
                running = Some(tokio::task::spawn_blocking(move || {
                    acts::run(&root, request)
                }));
            }
            None => {}
        }
    }
    // The session is dropped here: the terminal is given back before anything else happens.
    drop(session);
    Ok(ended)
}

fn draw(
    session: &mut TerminalSession,
    app: &mut App,
    history: &History,
    theme: &Theme,
    keymap: &Keymap,
) -> Result<(), UiError> {
    let mut layout = None;
    session.terminal.draw(|f| {
        let ctx = Ctx {
            app,
            history,
            theme,
            keymap,
        };
        layout = Some(views::draw(f, &ctx));
    })?;
    if let Some(layout) = layout {
        app.set_layout(layout);
    }
    Ok(())
}

/// The action for a terminal event: keys through the keymap, left clicks and the wheel from
/// the mouse; a resize needs no action (the loop redraws after every event).
pub fn action_for(event: &Event, app: &App, keymap: &Keymap) -> Option<Action> {
    match event {
        Event::Key(key) => keymap.action_in(key, app.is_typing(), app.key_scope()),
        Event::Mouse(mouse) => match mouse.kind {
            MouseEventKind::Down(MouseButton::Left) => Some(Action::Click {
                column: mouse.column,
                row: mouse.row,
            }),
            MouseEventKind::ScrollUp => Some(Action::ScrollUp),
            MouseEventKind::ScrollDown => Some(Action::ScrollDown),
            _ => None,
        },
        _ => None,
    }
}

/// The open feed's next message (`None` once it ended); never ready without a feed.
async fn log_message(feed: &mut Option<LogFeed>) -> Option<LogMessage> {
    match feed {
        Some(feed) => feed.next().await,
        None => std::future::pending().await,
    }
}

/// The outcome of the running act; never ready when none runs.
async fn act_finished(running: &mut Option<JoinHandle<Outcome>>) -> Outcome {
    match running {
        Some(handle) => handle
            .await
            .unwrap_or_else(|e| Outcome::Failed(format!("the act stopped: {e}"))),
        None => std::future::pending().await,
    }
}
