//! The dashboard on a recording (`isotop replay`): [`ReplaySource`], a
//! [`FrameSource`] whose frames are a [`Recording`]'s. A player thread
//! owns the recording and the position; the app loop's seeks ([`ReplaySeek`]) reach it over a
//! channel and each answer is one [`SourceEvent::Replay`]: one frame on is the next frame
//! alone (the loop adds it to the history as a live frame), anything else a jump that brings
//! the history of the charts' window before the position and the events recorded before it
//! ([`past`]). Every seek is answered, if only with the position. Seeks queued while the
//! player works are taken together: ten `]` pressed during a slow read become one move ten
//! frames on, one answer.
//!
//! The player follows a recorder still writing the directory: stepping on from the last frame
//! reads what was appended since ([`Recording::refresh`]), and while paused it refreshes every
//! [`REFRESH_EVERY`] so the time bar's count and last time grow. Playing steps on at the
//! recorded pace (a gap longer than [`PLAY_GAP_MAX`] — a recorder stopped for a while — is
//! cut to it) and, at the last frame, waits for the next one: a replay then follows the
//! recording as it grows.
//!
//! Nothing here acts: an act asked of a replay fails ([`REPLAY_ACT`]), `enter` too, and a log
//! is not recorded (the App says how to read that time's; a feed asked anyway is refused).

mod past;

use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::Recording;
use crate::host::container::Container;
use crate::host::scan::ContainerView;
use crate::sample::Frame;
use crate::ui::acts::{Outcome, Request};
use crate::ui::app::replay::{REPLAY_ACT, ReplayPosition, ReplaySeek, ReplayUpdate};
use crate::ui::event_loop::source::{EVENTS_QUEUE, FrameSource, SourceEvent};
use crate::ui::log_feed::LogFeed;

/// While paused, how often the recording is read again for what a recorder appended.
pub const REFRESH_EVERY: Duration = Duration::from_secs(2);

/// Playing, the longest wait between two frames (a longer recorded gap is cut to it).
pub const PLAY_GAP_MAX: Duration = Duration::from_secs(5);

/// A recording as a host's frames: the player on its thread, seeks to it, its answers back.
pub struct ReplaySource {
    events: mpsc::Receiver<SourceEvent>,
    sender: mpsc::Sender<SourceEvent>,
    commands: std_mpsc::Sender<Command>,
}

enum Command {
    Seek(ReplaySeek),
    Stop,
}

impl ReplaySource {
    /// Starts the player on `recording` at frame `start` (an index of its entries; clamped),
    /// with `window` of history for the charts. The first answer (a jump to `start`) is sent
    /// at once.
    pub fn start(recording: Recording, start: usize, window: Duration) -> ReplaySource {
        let (sender, events) = mpsc::channel(EVENTS_QUEUE);
        let (commands, orders) = std_mpsc::channel();
        let mut player = Player {
            index: start.min(recording.entries().len().saturating_sub(1)),
            recording,
            past: past::Past::new(window),
            playing: false,
            sender: sender.clone(),
        };
        let spawned = std::thread::Builder::new()
            .name("isotop-replay".to_string())
            .spawn(move || player.run(&orders));
        if let Err(e) = spawned {
            let _ = sender.try_send(SourceEvent::Stopped(format!(
                "cannot start the replay's reader: {e}"
            )));
        }
        ReplaySource {
            events,
            sender,
            commands,
        }
    }
}

impl FrameSource for ReplaySource {
    fn label(&self) -> Option<String> {
        None
    }

    fn events(&mut self) -> &mut mpsc::Receiver<SourceEvent> {
        &mut self.events
    }

    fn set_net_map(&self, _on: bool) {
        // The frames carry the map their recorder asked for; nothing to ask of a recording.
    }

    fn act(&mut self, _request: Request) {
        // The App refuses every act in a replay; one that got here all the same fails.
        let _ = self.sender.try_send(SourceEvent::Outcome(Outcome::Failed(
            REPLAY_ACT.to_string(),
        )));
    }

    fn enter(&self, _view: &ContainerView) -> Outcome {
        Outcome::Failed(REPLAY_ACT.to_string())
    }

    fn open_log(&self, _container: Container, _since_ms: Option<u64>) -> std::io::Result<LogFeed> {
        Err(std::io::Error::other(
            "a replay: logs are not recorded (isotop logs NAME --since … --until … reads them)",
        ))
    }

    fn stop(&mut self) {
        let _ = self.commands.send(Command::Stop);
    }

    fn is_replay(&self) -> bool {
        true
    }

    fn seek(&mut self, to: ReplaySeek) {
        let _ = self.commands.send(Command::Seek(to));
    }
}

/// The player thread's state: the recording, the position, what it keeps of the past.
struct Player {
    recording: Recording,
    index: usize,
    past: past::Past,
    playing: bool,
    sender: mpsc::Sender<SourceEvent>,
}

/// Where a batch of seeks leads.
struct Move {
    to: usize,
    note: Option<String>,
}

impl Player {
    /// Answers seeks until told to stop or the loop is gone.
    fn run(&mut self, orders: &std_mpsc::Receiver<Command>) {
        if self.recording.entries().is_empty() {
            let dir = self.recording.dir().display().to_string();
            let _ = self.sender.blocking_send(SourceEvent::Stopped(format!(
                "{dir} holds no recorded frame"
            )));
            return;
        }
        if !self.jump(self.index, None) {
            return;
        }
        loop {
            let wait = if self.playing {
                self.gap_to_next()
            } else {
                REFRESH_EVERY
            };
            let first = match orders.recv_timeout(wait) {
                Ok(command) => command,
                Err(std_mpsc::RecvTimeoutError::Timeout) => {
                    let alive = if self.playing {
                        self.play_on()
                    } else {
                        self.refresh_quietly()
                    };
                    if !alive {
                        return;
                    }
                    continue;
                }
                Err(std_mpsc::RecvTimeoutError::Disconnected) => return,
            };
            let mut seeks = Vec::new();
            for command in std::iter::once(first).chain(orders.try_iter()) {
                match command {
                    Command::Seek(seek) => seeks.push(seek),
                    Command::Stop => return,
                }
            }
            let step = self.plan(&seeks);
            let alive = if step.to == self.index + 1 {
                self.step_on(step.note)
            } else if step.to != self.index {
                self.jump(step.to, step.note)
            } else {
                // Every seek is answered, if only with the position (an end, play paused).
                self.send(None, None, step.note)
            };
            if !alive {
                return;
            }
        }
    }

    /// Where `seeks`, taken in order from the position, lead. A step or jump pauses play.
    fn plan(&mut self, seeks: &[ReplaySeek]) -> Move {
        let mut to = self.index;
        let mut note = None;
        for &seek in seeks {
            let last = self.recording.entries().len().saturating_sub(1);
            if !matches!(seek, ReplaySeek::Play(_)) {
                self.playing = false;
            }
            note = None;
            match seek {
                ReplaySeek::Step(frames) if frames < 0 => {
                    let back = usize::try_from(frames.unsigned_abs()).unwrap_or(usize::MAX);
                    if to == 0 {
                        note = Some("the first frame of the recording".to_string());
                    }
                    to = to.saturating_sub(back);
                }
                ReplaySeek::Step(frames) => {
                    let on = usize::try_from(frames).unwrap_or(usize::MAX);
                    if to.saturating_add(on) > last {
                        note = self.refresh_note();
                    }
                    let last = self.recording.entries().len().saturating_sub(1);
                    if to == last && note.is_none() {
                        note = Some("the last frame recorded".to_string());
                    }
                    to = to.saturating_add(on).min(last);
                }
                ReplaySeek::PreviousEvent => match self.event_before(to) {
                    Some(index) => to = index,
                    None => note = Some("no event recorded before this frame".to_string()),
                },
                ReplaySeek::NextEvent => {
                    if self.event_after(to).is_none() {
                        note = self.refresh_note();
                    }
                    match self.event_after(to) {
                        Some(index) => to = index,
                        None => note = Some("no event recorded after this frame".to_string()),
                    }
                }
                ReplaySeek::To(t_ms) => match self.recording.index_at_or_before(t_ms) {
                    Some(index) => to = index,
                    None => {
                        to = 0;
                        note = Some(format!(
                            "the recording starts later: its first frame ({} UTC)",
                            rfc3339(self.recording.entries().first().map_or(0, |e| e.t_ms))
                        ));
                    }
                },
                ReplaySeek::Play(on) => self.playing = on,
            }
        }
        Move { to, note }
    }

    /// Reads what a recorder appended; a failure becomes the note.
    fn refresh_note(&mut self) -> Option<String> {
        self.recording
            .refresh()
            .err()
            .map(|e| format!("cannot read the recording again: {e}"))
    }

    /// Paused: the recording read again; a grown one's facts sent (the frame stays).
    fn refresh_quietly(&mut self) -> bool {
        let before = self.recording.entries().len();
        let warnings = self.recording.warnings().len();
        if self.recording.refresh().is_err() {
            return true;
        }
        if self.recording.entries().len() == before && self.recording.warnings().len() == warnings {
            return true;
        }
        self.send(None, None, None)
    }

    /// Playing: one frame on, or (at the last) what was appended since; paused at the end
    /// of a recording no longer written to is not known, so play keeps waiting.
    fn play_on(&mut self) -> bool {
        let last = self.recording.entries().len().saturating_sub(1);
        if self.index >= last {
            let _ = self.recording.refresh();
            if self.recording.entries().len().saturating_sub(1) <= self.index {
                return true;
            }
        }
        self.step_on(None)
    }

    /// How long until the next frame at the recorded pace.
    fn gap_to_next(&self) -> Duration {
        let entries = self.recording.entries();
        match (entries.get(self.index), entries.get(self.index + 1)) {
            (Some(now), Some(next)) => {
                Duration::from_millis(next.t_ms.saturating_sub(now.t_ms)).min(PLAY_GAP_MAX)
            }
            // At the last frame: look again for new ones.
            _ => REFRESH_EVERY.min(PLAY_GAP_MAX),
        }
    }

    fn event_before(&self, index: usize) -> Option<usize> {
        let entries = self.recording.entries();
        entries.get(..index)?.iter().rposition(|e| e.has_events)
    }

    fn event_after(&self, index: usize) -> Option<usize> {
        let entries = self.recording.entries();
        let start = index.checked_add(1)?;
        entries
            .get(start..)?
            .iter()
            .position(|e| e.has_events)
            .map(|i| start + i)
    }

    /// One frame on: the frame alone, added to the history as a live one.
    fn step_on(&mut self, note: Option<String>) -> bool {
        let to = self.index + 1;
        match self.recording.frame(to) {
            Ok(frame) => {
                self.past.remember(to, &frame);
                self.index = to;
                self.send(Some(frame), None, note)
            }
            Err(e) => {
                self.playing = false;
                self.send(None, None, Some(format!("frame {}: {e}", to + 1)))
            }
        }
    }

    /// To frame `to` with its past: the window's history and the events before it.
    fn jump(&mut self, to: usize, note: Option<String>) -> bool {
        match self.past.at(&self.recording, to) {
            Ok((frame, reset, skipped)) => {
                self.index = to;
                let note = note.or(skipped);
                self.send(Some(frame), Some(reset), note)
            }
            Err(e) => {
                self.playing = false;
                self.send(None, None, Some(format!("frame {}: {e}", to + 1)))
            }
        }
    }

    /// Sends the position with what changed; false once the loop is gone.
    fn send(
        &mut self,
        frame: Option<Frame>,
        reset: Option<crate::ui::app::replay::ReplayReset>,
        note: Option<String>,
    ) -> bool {
        let update = ReplayUpdate {
            position: self.position(),
            frame,
            reset,
            note,
        };
        self.sender
            .blocking_send(SourceEvent::Replay(Box::new(update)))
            .is_ok()
    }

    fn position(&self) -> ReplayPosition {
        let entries = self.recording.entries();
        let t = |index: Option<usize>| index.and_then(|i| entries.get(i)).map(|e| e.t_ms);
        ReplayPosition {
            index: self.index,
            count: entries.len(),
            t_ms: t(Some(self.index)).unwrap_or(0),
            first_ms: t(Some(0)).unwrap_or(0),
            last_ms: entries.last().map_or(0, |e| e.t_ms),
            previous_event_ms: t(self.event_before(self.index)),
            next_event_ms: t(self.event_after(self.index)),
            playing: self.playing,
            warnings: self.recording.warnings().to_vec(),
        }
    }
}

/// `t_ms` as RFC 3339 seconds, UTC.
fn rfc3339(t_ms: u64) -> String {
    crate::control::audit::rfc3339(t_ms / 1000)
}
