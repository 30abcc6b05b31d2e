//! The app loop: the one owner of the [`App`]s and [`History`]s — one of each per host shown,
//! this one's or the remote ones of `--host` (`H` shows the next, [`App::take_host_switch`];
//! each host's frames keep arriving, and its history growing, while another is shown). It
//! waits on the hosts' sources ([`FrameSource`]: frames, acts' outcomes, a remote
//! connection's state, in [`source`]), terminal events (keys, mouse, resize) and the signals
//! that end it, applies each, and redraws after each change that can show ([`needs_draw`]) — once
//! after keys that were already waiting, not after each ([`input_waiting`]). Acts the App requests go to its
//! host's source (this host's run on a blocking thread; a remote's over its connection),
//! except enter, which runs in the foreground with the terminal given back (on a remote host:
//! `ssh -t HOST isotop enter ID`). A log pane's feed ([`LogFeed`], opened and closed as the App
//! asks, [`App::take_log_request`]; one at a time, for any host) is another source: its lines
//! go to the App as frames do. It also steers the sources: the network map is asked for while
//! the Network view shows and no longer after ([`App::take_net_map_wanted`]), and moves a
//! replay ([`App::take_replay_seek`] to [`FrameSource::seek`]; a jump's answer brings the
//! history the loop swaps in).
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

pub mod input;
pub mod source;

use std::path::PathBuf;

use crossterm::event::EventStream;
use futures_util::StreamExt;
use nix::sys::signal::Signal;
use tokio::signal::unix::{SignalKind, signal};

pub use self::input::{INPUTS_BEFORE_DRAWING, action_for, input_waiting, needs_draw};
use self::source::{FrameSource, LocalSource, SourceEvent};
use super::acts::Request;
use super::app::App;
use super::app::replay::ReplayUpdate;
use super::config::{Config, seconds_in_range};
use super::error::UiError;
use super::keymap::Keymap;
use super::log_feed::{LogFeed, LogMessage, LogRequest};
use super::terminal::TerminalSession;
use super::theme::Theme;
use super::views::{self, Ctx};
use crate::host::HostRoot;
use crate::sample::History;

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
    run_on(options, |config| {
        // Timed reverts whose worker is gone: carried out now and every few seconds — a
        // write, so not when read-only (the next isotop that may act carries them out).
        if !config.read_only {
            crate::control::limits::pending::watch_overdue(root.clone());
        }
        vec![Box::new(LocalSource::start(root, config)) as Box<dyn FrameSource>]
    })
}

/// Runs the dashboard on the sources `connect` makes (called once, inside the loop's runtime,
/// with the loaded config): one host each, `H` shows the next. As [`run`] otherwise.
pub fn run_on(
    options: &Options,
    connect: impl FnOnce(&Config) -> Vec<Box<dyn FrameSource>>,
) -> Result<(), UiError> {
    // Before any thread starts: two arenas and fixed thresholds keep freed tables out of RSS
    // (bench/profiles/memory.md: -4 MiB ring off, -6 MiB ring on, on 11,700 processes).
    crate::sys::heap::bound_heap();
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
    let theme = Theme::new(config.theme, Theme::no_color_requested());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let ended = runtime.block_on(async {
        let sources = connect(&config);
        run_loop(sources, &config, &theme).await
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

/// One host the loop shows: its source, its own App and history.
struct Shown {
    source: Box<dyn FrameSource>,
    app: App,
    history: History,
    /// False once the source said it stopped.
    open: bool,
}

/// The loop proper, on the hosts' sources (at least one; the first is shown first).
pub async fn run_loop(
    sources: Vec<Box<dyn FrameSource>>,
    config: &Config,
    theme: &Theme,
) -> Result<Ended, UiError> {
    if sources.is_empty() {
        return Err(UiError::Usage("no host to show".to_string()));
    }
    let mut signals = EndingSignals::install()?;
    let mut session = TerminalSession::enter()?;
    let mut events = EventStream::new();
    let count = sources.len();
    let mut hosts: Vec<Shown> = sources
        .into_iter()
        .enumerate()
        .map(|(index, source)| {
            let mut app = App::new(config.history);
            app.set_read_only(config.read_only);
            app.hide_container_columns(config.hidden_container_columns.clone());
            if !config.notes.is_empty() {
                app.message = Some(config.notes.join("; "));
            }
            app.set_host(source.label(), index, count);
            if source.is_replay() {
                app.set_replay();
            }
            Shown {
                source,
                app,
                history: History::new(config.history),
                open: true,
            }
        })
        .collect();
    let mut shown = 0;
    // Where the next wait for the sources starts (see `next_source_event`).
    let mut next_polled = 0;
    // The open log pane's feed, if any (one at a time), and the host whose it is.
    let mut log_feed: Option<(usize, LogFeed)> = None;
    let mut ended = Ended::Quit;
    // The screen is drawn only when what it shows may have changed: a frame or message of the
    // shown host, an action, a resize (not for a mouse move, an unbound key, another host's
    // frame). ratatui then writes only the cells that differ.
    let mut dirty = true;
    // A frame came since the last trim of the heap.
    let mut framed = false;
    // Terminal events taken in a row without drawing (see `input_waiting`).
    let mut undrawn_inputs = 0;
    loop {
        if dirty && undrawn_inputs < INPUTS_BEFORE_DRAWING && input_waiting() {
            // More keys already typed: taken first, the screen drawn once after them.
            undrawn_inputs += 1;
        } else if std::mem::take(&mut dirty) {
            undrawn_inputs = 0;
            let host = &mut hosts[shown];
            draw(
                &mut session,
                &mut host.app,
                &host.history,
                theme,
                &config.keymap,
            )?;
        }
        if std::mem::take(&mut framed) {
            // The previous frame, the tables built for this one and the drawing's scratch
            // were freed in the middle of the heap, where no threshold gives them back: the
            // heap's free pages go back once a frame is shown (~0.3 ms on a 20 MB heap, and
            // the next tick's faults), not held a whole refresh.
            crate::sys::heap::trim();
        }
        tokio::select! {
            (index, event) = next_source_event(&mut hosts, &mut next_polled) => {
                framed |= apply_source_event(&mut hosts[index], event);
                dirty |= index == shown;
            }
            event = events.next() => match event {
                Some(Ok(event)) => {
                    let app = &mut hosts[shown].app;
                    let action = action_for(&event, app, &config.keymap);
                    dirty |= needs_draw(&event, action.as_ref());
                    if let Some(action) = action {
                        app.update(action);
                    }
                }
                Some(Err(e)) => return Err(UiError::Terminal(e)),
                // The terminal went away (stdin closed): nothing left to drive.
                None => break,
            },
            message = log_message(&mut log_feed) => match message {
                Some((index, message)) => {
                    message.apply(&mut hosts[index].app);
                    dirty |= index == shown;
                }
                // The feed ended (its last message said why).
                None => {
                    log_feed = None;
                    dirty = true;
                }
            },
            signal = signals.next() => {
                ended = Ended::Signal(signal);
                break;
            }
        }
        let host = &mut hosts[shown];
        let app = &mut host.app;
        if app.should_quit() {
            break;
        }
        if app.take_suspend() {
            session.suspend()?;
            dirty = true;
        }
        if app.take_redraw() {
            session.terminal.clear()?;
            dirty = true;
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
                if let Some((other, _)) = log_feed.take()
                    && other != shown
                    && let Some(pane) = hosts[other].app.log_pane()
                {
                    let id = pane.container_id.clone();
                    hosts[other]
                        .app
                        .on_log_stopped(&id, "another host's log pane opened".to_string());
                }
                let host = &mut hosts[shown];
                let id = container.id.clone();
                match host.source.open_log(*container, since_ms) {
                    Ok(feed) => log_feed = Some((shown, feed)),
                    Err(e) => host
                        .app
                        .on_log_stopped(&id, format!("cannot start reading: {e}")),
                }
            }
            Some(LogRequest::Close { .. })
                if log_feed.as_ref().is_some_and(|(index, _)| *index == shown) =>
            {
                log_feed = None;
            }
            Some(LogRequest::Close { .. }) => {}
            None => {}
        }
        let host = &mut hosts[shown];
        // The network map is read only while the Network view shows (a netlink walk of every
        // namespace on a cadence).
        if let Some(wanted) = host.app.take_net_map_wanted() {
            host.source.set_net_map(wanted);
        }
        // Mounts are kept for the detail pane's container only (~12 KiB each).
        if let Some(container) = host.app.take_mounts_wanted() {
            host.source.set_mounts_for(container);
        }
        if let Some(seek) = host.app.take_replay_seek() {
            host.source.seek(seek);
        }
        match host.app.take_request() {
            Some(Request::Enter { view }) => {
                // The shell reads the terminal: stop crossterm's reader (dropping the stream
                // ends its thread) and give the screen back until the shell exits.
                drop(events);
                let source = &host.source;
                let outcome = session.outside(|| source.enter(&view))?;
                events = EventStream::new();
                host.app.on_outcome(outcome);
                dirty = true;
            }
            Some(request) => host.source.act(request),
            None => {}
        }
        if host.app.take_host_switch() {
            shown = (shown + 1) % hosts.len();
            // The next host's screen is drawn whole (its views differ from the last one's).
            session.terminal.clear()?;
            dirty = true;
        }
    }
    for host in &mut hosts {
        host.source.stop();
    }
    // The session is dropped here: the terminal is given back before anything else happens.
    drop(session);
    Ok(ended)
}

/// The next event of any open host's source (`None`: its channel closed); never ready
/// when none is open. Each call starts at the host after the last one served, so a busy
/// host cannot starve the others.
async fn next_source_event(
    hosts: &mut [Shown],
    next_polled: &mut usize,
) -> (usize, Option<SourceEvent>) {
    let count = hosts.len();
    let start = *next_polled % count.max(1);
    std::future::poll_fn(|cx| {
        for step in 0..count {
            let index = (start + step) % count;
            let host = &mut hosts[index];
            if !host.open {
                continue;
            }
            if let std::task::Poll::Ready(event) = host.source.events().poll_recv(cx) {
                *next_polled = index + 1;
                return std::task::Poll::Ready((index, event));
            }
        }
        std::task::Poll::Pending
    })
    .await
}

/// Hands a source's event to its host's App (frames to its history too); frames waiting
/// behind it are taken at once, the newest shown (a slow terminal never shows stale data).
/// True when a frame came.
fn apply_source_event(host: &mut Shown, event: Option<SourceEvent>) -> bool {
    let mut event = event;
    let mut framed = false;
    while let Some(next) = event.take() {
        match next {
            SourceEvent::Frame(frame) => {
                let watched = host.app.watched_cgroups();
                host.history
                    .record_only(&frame, |path| watched.contains(path));
                host.app.on_frame(frame);
                framed = true;
            }
            SourceEvent::Outcome(outcome) => host.app.on_outcome(outcome),
            SourceEvent::Connection(connection) => host.app.on_connection(connection),
            SourceEvent::Notice(text) => host.app.on_notice(&text),
            SourceEvent::Replay(update) => apply_replay(&mut host.app, &mut host.history, *update),
            SourceEvent::Stopped(reason) => {
                host.open = false;
                host.app.on_sampler_stopped(reason);
                return framed;
            }
        }
        event = host.source.events().try_recv().ok();
    }
    // A channel closed without a word: the source is gone all the same.
    if host.source.events().is_closed() && host.source.events().is_empty() {
        host.open = false;
        host.app
            .on_sampler_stopped("the host's source ended".to_string());
    }
    framed
}

/// A replay's move to its host's history and App: a jump brings the history of its window
/// (swapped in), one frame on adds its frame as a live one does.
pub fn apply_replay(app: &mut App, history: &mut History, mut update: ReplayUpdate) {
    match (&mut update.reset, &update.frame) {
        (Some(reset), _) => std::mem::swap(history, &mut reset.history),
        (None, Some(frame)) => history.record(frame),
        (None, None) => {}
    }
    app.on_replay(update);
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

/// The open feed's next message and its host (`None` once it ended); never ready without a
/// feed.
async fn log_message(feed: &mut Option<(usize, LogFeed)>) -> Option<(usize, LogMessage)> {
    match feed {
        Some((index, feed)) => feed.next().await.map(|message| (*index, message)),
        None => std::future::pending().await,
    }
}
