//! The App's side of a replay (`isotop replay`): the recorded frames shown in the same views,
//! moved through with the replay's keys — `[` `]` one frame back or on, `{` `}` the previous or
//! next frame with events, `t` a time typed at the time bar's prompt, `P` play at recorded
//! speed or pause. A key becomes a [`ReplaySeek`] for the app loop ([`App::take_replay_seek`]),
//! which hands it to the host's source; the source answers with a [`ReplayUpdate`]
//! ([`App::on_replay`]): the frame at the new position, where it is in the recording, and,
//! when the position jumped rather than stepped one frame on, the events recorded before it
//! and the times of the frames the charts show (the loop swaps in their history). Every act
//! is refused in a replay (the door `--read-only` uses, [`App::send`], with [`REPLAY_ACT`]),
//! and `l` says how to read the container's log of that time instead of opening a pane. Pure
//! state: nothing here reads a recording.

use super::App;
use super::chart_cursor::CursorState;
use super::events::EventLog;
use super::log_pane::find::parse_clock;
use crate::control::limits::value::parse_duration;
use crate::host::events::Event;
use crate::host::logs::time::parse_rfc3339_ns;
use crate::sample::{Frame, History};
use crate::ui::action::Action;

/// Said for every act in a replay.
pub const REPLAY_ACT: &str =
    "a replay: acts are off (these are recorded frames, not the host as it is now)";

/// What the time prompt (`t`) takes, said under it and when it cannot read the text.
pub const TIME_FORMS: &str = "RFC 3339, HH:MM[:SS] UTC on the frame's day, or -15m before the last";

/// Where a replay is asked to go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplaySeek {
    /// This many frames back (negative) or on; stepping on from the last frame first reads
    /// what a recorder appended since.
    Step(i64),
    /// The nearest frame before the one shown that carries events.
    PreviousEvent,
    /// The nearest frame after the one shown that carries events.
    NextEvent,
    /// The newest frame taken at or before this time, ms since the epoch (the first frame
    /// when every frame is later).
    To(u64),
    /// Play at recorded speed (`true`) or pause.
    Play(bool),
}

/// Where a replay stands, as the time bar shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayPosition {
    /// The frame shown: its index among `count` (0-based) and its time, ms since the epoch.
    pub index: usize,
    pub count: usize,
    pub t_ms: u64,
    /// The recording's first and last frames' times, ms since the epoch.
    pub first_ms: u64,
    pub last_ms: u64,
    /// The nearest frames with events before and after the one shown, ms since the epoch.
    pub previous_event_ms: Option<u64>,
    pub next_event_ms: Option<u64>,
    /// Playing at recorded speed.
    pub playing: bool,
    /// What the recording skipped (torn tails), for the status line.
    pub warnings: Vec<String>,
}

/// What a replay's source sends when its position moved (or its recording grew).
#[derive(Debug)]
pub struct ReplayUpdate {
    pub position: ReplayPosition,
    /// The frame at the position; `None` when only the position's facts changed (a recorder
    /// appended frames, play was paused).
    pub frame: Option<Frame>,
    /// Set when the position jumped (anything but one frame on): the host's history, events
    /// and chart times start again from these.
    pub reset: Option<ReplayReset>,
    /// A line for the status line: an end reached, no further event, a frame that did not
    /// decode.
    pub note: Option<String>,
}

/// The past of a position, sent with a jump.
#[derive(Debug)]
pub struct ReplayReset {
    /// The charts' history: the frames of the history window up to the position, its own
    /// included. The app loop swaps it with the host's.
    pub history: History,
    /// The times of those frames but the position's, oldest first (the charts' time cursor
    /// steps through them).
    pub times: Vec<u64>,
    /// The events recorded in the frames before the position, oldest first (at most the
    /// Events view keeps; the position's frame brings its own).
    pub events: Vec<Event>,
}

/// The App's replay state.
#[derive(Debug, Clone, Default)]
pub struct ReplayState {
    /// The last position the source reported.
    position: Option<ReplayPosition>,
    /// A seek for the app loop to hand on.
    seek: Option<ReplaySeek>,
    /// The time prompt's text while `t` has the keys.
    time_input: Option<String>,
}

impl App {
    /// The loop tells the App it shows a replay: from now on every act is refused
    /// ([`REPLAY_ACT`]) and the replay's keys come first.
    pub fn set_replay(&mut self) {
        self.replay = Some(ReplayState::default());
    }

    /// True in a replay.
    pub fn is_replay(&self) -> bool {
        self.replay.is_some()
    }

    /// The replay's position, once its source reported one.
    pub fn replay_position(&self) -> Option<&ReplayPosition> {
        self.replay.as_ref()?.position.as_ref()
    }

    /// The time prompt's text while it has the keys.
    pub fn replay_time_input(&self) -> Option<&str> {
        self.replay.as_ref()?.time_input.as_deref()
    }

    /// The recording's first warning, and how many more, for the status line; cleaned (it
    /// names files of a directory someone else may have filled).
    pub fn replay_warning(&self) -> Option<String> {
        let warnings = &self.replay_position()?.warnings;
        let first = crate::host::text::clean_str(warnings.first()?);
        Some(match warnings.len() - 1 {
            0 => first.to_string(),
            more => format!("{first} (+{more} more)"),
        })
    }

    /// Takes the seek the app loop should hand to the source.
    pub fn take_replay_seek(&mut self) -> Option<ReplaySeek> {
        self.replay.as_mut()?.seek.take()
    }

    /// The replay's source moved (or its recording grew): the frame, its past on a jump, the
    /// position and a note.
    pub fn on_replay(&mut self, update: ReplayUpdate) {
        let ReplayUpdate {
            position,
            frame,
            reset,
            note,
        } = update;
        let first_ms = position.first_ms;
        self.replay.get_or_insert_default().position = Some(position);
        if let Some(reset) = reset {
            // The events and the charts' times are those before the new position, as if
            // isotop had watched from the recording's first frame.
            self.events = EventLog::default();
            self.events.record(first_ms, reset.events);
            self.chart_cursor = CursorState::default();
            for t in reset.times {
                self.record_sample_time(t);
            }
        }
        if let Some(frame) = frame {
            self.on_frame(frame);
        }
        if let Some(note) = note {
            self.message = Some(note);
        }
    }

    /// True while the time prompt has the keys.
    pub(super) fn replay_typing(&self) -> bool {
        self.replay_time_input().is_some()
    }

    /// The Logs key in a replay: the log is not recorded; says how to read that time's.
    pub(super) fn refuse_replay_logs(&mut self) -> bool {
        let Some(position) = self.replay_position() else {
            return false;
        };
        let until = crate::control::audit::rfc3339(position.t_ms / 1000);
        let since = crate::control::audit::rfc3339(position.t_ms.saturating_sub(60_000) / 1000);
        self.message = Some(format!(
            "a replay: logs are not recorded — on the recorded host: isotop logs NAME --since \
             {since} --until {until}"
        ));
        true
    }

    /// A replay key outside the time prompt.
    pub(super) fn replay_key(&mut self, action: Action) {
        let Some(replay) = self.replay.as_mut() else {
            self.message = Some("that key works in a replay (isotop replay)".to_string());
            return;
        };
        let playing = replay.position.as_ref().is_some_and(|p| p.playing);
        replay.seek = match action {
            Action::ReplayStepBack => Some(ReplaySeek::Step(-1)),
            Action::ReplayStepForward => Some(ReplaySeek::Step(1)),
            Action::ReplayPreviousEvent => Some(ReplaySeek::PreviousEvent),
            Action::ReplayNextEvent => Some(ReplaySeek::NextEvent),
            Action::ReplayPlay => Some(ReplaySeek::Play(!playing)),
            Action::ReplayGoTo => {
                replay.time_input = Some(String::new());
                None
            }
            _ => None,
        };
    }

    /// An action while the time prompt has the keys: text, Backspace, Enter goes, Esc
    /// cancels.
    pub(super) fn update_replay_input(&mut self, action: Action) {
        let Some(replay) = self.replay.as_mut() else {
            return;
        };
        let Some(text) = replay.time_input.as_mut() else {
            return;
        };
        match action {
            Action::TypeChar(c) => text.push(c),
            Action::TypeBackspace => {
                text.pop();
            }
            Action::Back => replay.time_input = None,
            Action::Open => {
                let text = replay.time_input.take().unwrap_or_default();
                match replay.position.as_ref().map(|p| time_typed(&text, p)) {
                    Some(Ok(t_ms)) => replay.seek = Some(ReplaySeek::To(t_ms)),
                    Some(Err(why)) => self.message = Some(why),
                    None => self.message = Some("no frame yet".to_string()),
                }
            }
            Action::Quit => self.quit = true,
            _ => {}
        }
    }
}

/// The time `text` names, ms since the epoch: an RFC 3339 time, `HH:MM[:SS]` (UTC) on the
/// day of the frame shown, or a duration before the recording's last frame (`-15m`).
pub fn time_typed(text: &str, position: &ReplayPosition) -> Result<u64, String> {
    let text = text.trim();
    if let Some(ns) = parse_rfc3339_ns(text) {
        return Ok(ns / 1_000_000);
    }
    if let Some(seconds) = parse_clock(text) {
        let day_ms = position.t_ms - position.t_ms % 86_400_000;
        return Ok(day_ms + seconds * 1000);
    }
    if let Some(ago) = text.strip_prefix('-')
        && let Ok(ago) = parse_duration(ago)
    {
        let ago_ms = u64::try_from(ago.as_millis()).unwrap_or(u64::MAX);
        return Ok(position.last_ms.saturating_sub(ago_ms));
    }
    Err(format!(
        "\"{}\": give a time as {TIME_FORMS}",
        crate::host::text::clean_str(text)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_typed_read_as_the_prompt_says() {
        // 2026-01-02T03:04:05Z; the recording ends an hour later.
        let position = ReplayPosition {
            t_ms: 1_767_323_045_000,
            last_ms: 1_767_326_645_000,
            ..ReplayPosition::default()
        };
        assert_eq!(
            time_typed("2026-01-02T03:00:00Z", &position),
            Ok(1_767_322_800_000)
        );
        assert_eq!(time_typed("03:00", &position), Ok(1_767_322_800_000));
        assert_eq!(time_typed(" 03:00:30 ", &position), Ok(1_767_322_830_000));
        assert_eq!(time_typed("-15m", &position), Ok(1_767_325_745_000));
        assert_eq!(time_typed("-1h", &position), Ok(1_767_323_045_000));
        for bad in ["15m", "25:00", "soon", "-", "-x"] {
            let why = time_typed(bad, &position).unwrap_err();
            assert!(why.contains("RFC 3339"), "{bad}: {why}");
        }
    }
}
