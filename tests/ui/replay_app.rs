//! `isotop replay`'s dashboard without a terminal: the fixture's 30 frames (one a second from
//! 03:04:05 UTC, events in frames 2, 4, 5, 8, 10, 12, 16, 18, 24 and 26) written into a store
//! by `record::Recorder`, shown through `record::replay::ReplaySource` and the App as the app
//! loop drives them (`ui::event_loop::apply_replay`). Steps, jumps and times change the frame
//! shown; a jump refills the charts' history and the events; every act is refused; the time
//! bar is drawn (insta snapshots at 80×24 and 160×48); a replay follows a recorder still
//! writing the store.

use crate::support::{drive, fixture};

use std::path::Path;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use isotop::record::replay::ReplaySource;
use isotop::record::{RecordOptions, Recorder, Recording};
use isotop::sample::{History, SeriesKey};
use isotop::ui::app::replay::{REPLAY_ACT, ReplayPosition};
use isotop::ui::event_loop::apply_replay;
use isotop::ui::keymap::{Keymap, Scope};
use isotop::ui::{Action, App, FrameSource, SourceEvent};

use crate::layers::rows;
use drive::{render, type_text};
use fixture::T0_MS;

/// The charts' window the replays here keep, as the default config's.
const WINDOW: Duration = Duration::from_secs(600);

/// A store of fixture frames `0..count` in `dir`.
fn store(dir: &Path, count: u64) -> Recorder {
    let mut recorder = Recorder::create(dir, RecordOptions::default()).expect("a recorder");
    for seq in 0..count {
        recorder
            .append(&fixture::frame(seq, true))
            .expect("appended");
    }
    recorder
}

/// A replay of a fresh store of fixture frames `0..count` from frame `start` (the directory
/// is removed when the first is dropped).
fn replay_of(count: u64, start: usize) -> (tempfile::TempDir, Replay) {
    let dir = tempfile::tempdir().unwrap();
    drop(store(dir.path(), count));
    let replay = Replay::start(dir.path(), start);
    (dir, replay)
}

/// A replay as the app loop runs it: its source, its App and history; the player is told to
/// stop when it is dropped.
struct Replay {
    source: ReplaySource,
    app: App,
    history: History,
}

impl Drop for Replay {
    fn drop(&mut self) {
        self.source.stop();
    }
}

impl Replay {
    /// The replay of `dir` from frame `start`, once its first answer is applied.
    fn start(dir: &Path, start: usize) -> Replay {
        let recording = Recording::open(dir).expect("the store opens");
        let source = ReplaySource::start(recording, start, WINDOW);
        let mut app = App::new(WINDOW);
        assert!(source.is_replay());
        app.set_replay();
        let mut replay = Replay {
            source,
            app,
            history: History::new(WINDOW),
        };
        replay.answer();
        replay
    }

    /// Waits for the source's next answer and applies it as the loop does.
    fn answer(&mut self) {
        let event = self
            .source
            .events()
            .blocking_recv()
            .expect("the player answers");
        match event {
            SourceEvent::Replay(update) => apply_replay(&mut self.app, &mut self.history, *update),
            other => panic!("a replay's answer, not {other:?}"),
        }
    }

    /// `action` as a key press: the App's seek (if any) handed to the source and answered.
    fn press(&mut self, action: Action) {
        self.app.update(action);
        if let Some(seek) = self.app.take_replay_seek() {
            self.source.seek(seek);
            self.answer();
        }
    }

    fn position(&self) -> &ReplayPosition {
        self.app.replay_position().expect("a position")
    }

    /// The shown frame's seconds after the fixture's first.
    fn second(&self) -> u64 {
        let t = self.app.frame().expect("a frame").taken_at_ms;
        assert_eq!(t, self.position().t_ms, "the frame is the position's");
        (t - T0_MS) / 1000
    }

    fn web_points(&self) -> usize {
        self.history
            .points(&SeriesKey::Container("web".into()))
            .count()
    }
}

#[test]
fn steps_jumps_and_times_move_the_frame_shown() {
    let (_dir, mut replay) = replay_of(30, 15);
    assert_eq!(replay.second(), 15);
    let position = replay.position().clone();
    assert_eq!((position.index, position.count), (15, 30));
    assert_eq!(position.first_ms, T0_MS);
    assert_eq!(position.last_ms, T0_MS + 29_000);
    assert_eq!(position.previous_event_ms, Some(T0_MS + 12_000));
    assert_eq!(position.next_event_ms, Some(T0_MS + 16_000));
    assert!(!position.playing && position.warnings.is_empty());

    replay.press(Action::ReplayStepForward);
    assert_eq!(replay.second(), 16);
    replay.press(Action::ReplayStepBack);
    replay.press(Action::ReplayStepBack);
    assert_eq!(replay.second(), 14);
    replay.press(Action::ReplayNextEvent);
    assert_eq!(replay.second(), 16, "}} to the next frame with events");
    replay.press(Action::ReplayNextEvent);
    assert_eq!(replay.second(), 18);
    replay.press(Action::ReplayPreviousEvent);
    replay.press(Action::ReplayPreviousEvent);
    assert_eq!(replay.second(), 12, "{{ twice: 16, then 12");

    // t: a time of day on the frame's day, RFC 3339, a duration before the last frame.
    replay.press(Action::ReplayGoTo);
    assert!(replay.app.is_typing(), "the time prompt has the keys");
    type_text(&mut replay.app, "03:04:10");
    replay.press(Action::Open);
    assert_eq!(replay.second(), 5);
    replay.press(Action::ReplayGoTo);
    type_text(&mut replay.app, "2026-01-02T03:04:25.500Z");
    replay.press(Action::Open);
    assert_eq!(replay.second(), 20, "the frame at or before the time");
    replay.press(Action::ReplayGoTo);
    type_text(&mut replay.app, "-9s");
    replay.press(Action::Open);
    assert_eq!(replay.second(), 20, "9 s before the last frame (29)");
    replay.press(Action::ReplayGoTo);
    type_text(&mut replay.app, "yesterday");
    replay.press(Action::Open);
    assert!(
        replay.app.message().is_some_and(|m| m.contains("RFC 3339")),
        "{:?}",
        replay.app.message()
    );
    assert_eq!(replay.second(), 20, "a time not read moves nothing");
    replay.press(Action::ReplayGoTo);
    type_text(&mut replay.app, "02:00");
    replay.press(Action::Open);
    assert_eq!(replay.second(), 0, "before the recording: its first frame");
    assert!(
        replay
            .app
            .message()
            .is_some_and(|m| m.contains("starts later")),
        "{:?}",
        replay.app.message()
    );

    // The ends say so and stay.
    replay.press(Action::ReplayStepBack);
    assert_eq!(replay.second(), 0);
    assert_eq!(
        replay.app.message(),
        Some("the first frame of the recording")
    );
    replay.press(Action::ReplayPreviousEvent);
    assert_eq!(
        replay.app.message(),
        Some("no event recorded before this frame")
    );
    replay.press(Action::ReplayGoTo);
    type_text(&mut replay.app, "03:05:00");
    replay.press(Action::Open);
    assert_eq!(replay.second(), 29, "after the recording: its last frame");
    replay.press(Action::ReplayStepForward);
    assert_eq!(replay.second(), 29);
    assert_eq!(replay.app.message(), Some("the last frame recorded"));
    replay.press(Action::ReplayNextEvent);
    assert_eq!(
        replay.app.message(),
        Some("no event recorded after this frame")
    );
}

#[test]
fn a_jump_refills_the_history_and_the_events_up_to_the_position() {
    let (_dir, mut replay) = replay_of(30, 29);
    assert_eq!(replay.web_points(), 30, "the window before the position");
    assert_eq!(replay.app.events().len(), 10, "every recorded event");
    assert_eq!(replay.app.events().since_ms(), Some(T0_MS));

    replay.press(Action::ReplayGoTo);
    type_text(&mut replay.app, "03:04:20");
    replay.press(Action::Open);
    assert_eq!(replay.second(), 15);
    assert_eq!(replay.web_points(), 16, "frames 0 to 15: nothing after");
    let newest = replay
        .history
        .points(&SeriesKey::Container("web".into()))
        .last()
        .map(|p| p.t_ms);
    assert_eq!(newest, Some(T0_MS + 15_000));
    // Frames 2, 4, 5, 8, 10 and 12 carry the events up to 15.
    assert_eq!(replay.app.events().len(), 6);
    assert!(
        replay
            .app
            .events()
            .iter()
            .all(|k| k.event.at_ms <= T0_MS + 15_000)
    );

    replay.press(Action::ReplayStepForward);
    assert_eq!(replay.web_points(), 17, "one on: its frame added");
    assert_eq!(replay.app.events().len(), 7, "frame 16's event");
    replay.press(Action::ReplayStepBack);
    assert_eq!(replay.web_points(), 16, "one back: the window again");
    assert_eq!(replay.app.events().len(), 6);

    // The charts' cursor steps through the recorded frames' times.
    replay.app.update(Action::ShowTab(isotop::ui::Tab::Cgroups));
    replay.app.update(Action::Open);
    replay.app.update(Action::ChartCursorBack);
    replay.app.update(Action::ChartCursorBack);
    let cursor = replay.app.chart_cursor().expect("a cursor on the charts");
    assert_eq!(cursor.at_ms, T0_MS + 14_000);
}

#[test]
fn every_act_is_refused_and_logs_say_how_to_read_them() {
    let (_dir, mut replay) = replay_of(5, 4);
    assert!(replay.app.frame().is_some_and(|f| f.host.is_root));
    assert!(replay.app.is_read_only());
    drive::select_by_filter(&mut replay.app, "web");
    for action in drive::ACT_KEYS {
        replay.app.update(action);
        assert_eq!(replay.app.message(), Some(REPLAY_ACT), "{action:?}");
        assert!(replay.app.prompt().is_none(), "{action:?}: no prompt");
        assert!(replay.app.launch_form().is_none(), "{action:?}: no form");
        assert!(
            replay.app.take_request().is_none(),
            "{action:?}: nothing sent"
        );
    }
    for tab in [isotop::ui::Tab::Cgroups, isotop::ui::Tab::Network] {
        replay.app.update(Action::ShowTab(tab));
        replay.app.update(Action::FreezeToggle);
        assert_eq!(replay.app.message(), Some(REPLAY_ACT), "{tab:?}");
    }
    replay
        .app
        .update(Action::ShowTab(isotop::ui::Tab::Containers));
    replay.app.update(Action::Logs);
    let message = replay.app.message().unwrap_or_default().to_string();
    assert!(
        message.contains("logs are not recorded")
            && message.contains("--since 2026-01-02T03:03:09Z --until 2026-01-02T03:04:09Z"),
        "{message}"
    );
    assert!(replay.app.log_pane().is_none());
    assert!(replay.app.take_log_request().is_none());
}

#[test]
fn t_goes_to_a_time_in_a_replay_and_capital_t_is_trouble_only() {
    let keymap = Keymap::default();
    let key = |c: char| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
    for (c, action) in [
        ('[', Action::ReplayStepBack),
        (']', Action::ReplayStepForward),
        ('{', Action::ReplayPreviousEvent),
        ('}', Action::ReplayNextEvent),
        ('t', Action::ReplayGoTo),
        ('P', Action::ReplayPlay),
        ('T', Action::TroubleOnly),
        ('q', Action::Quit),
        ('c', Action::LimitCpu),
    ] {
        assert_eq!(
            keymap.action_in(&key(c), false, Scope::Replay),
            Some(action),
            "{c}"
        );
    }
    assert_eq!(
        keymap.action_in(&key('t'), false, Scope::Everywhere),
        Some(Action::TroubleOnly),
        "live, t is still the Events view's"
    );
    let help = keymap.help();
    for what in [
        "replay: one recorded frame back",
        "replay: go to a time (RFC 3339, HH:MM[:SS] UTC, -15m)",
        "replay: events: trouble only / every event",
    ] {
        assert!(help.iter().any(|(_, w)| *w == what), "{what} in the help");
    }

    let (_dir, mut replay) = replay_of(20, 19);
    assert_eq!(replay.app.key_scope(), Scope::Replay);
    replay.app.update(Action::ShowTab(isotop::ui::Tab::Events));
    replay.app.update(Action::TroubleOnly);
    assert!(replay.app.trouble_only());
    // The `?` overlay lists the replay's keys in a replay, not in the live dashboard.
    let shown = |app: &mut App, history: &History| {
        app.update(Action::Help);
        let mut terminal = render(app, history, 160, 48);
        let mut text = rows(&terminal).join("\n");
        // Scrolled down: the table is longer than the popup.
        for _ in 0..3 {
            app.update(Action::PageDown);
            terminal = render(app, history, 160, 48);
            text.push_str(&rows(&terminal).join("\n"));
        }
        text
    };
    let help = shown(&mut replay.app, &replay.history);
    assert!(help.contains("replay: one recorded frame back"), "{help}");
    assert!(help.contains("replay: go to a time"), "{help}");
    let (mut live, history) = fixture::app_with_history(3);
    let help = shown(&mut live, &history);
    assert!(help.contains("quit") && !help.contains("replay:"), "{help}");
}

#[test]
fn play_steps_on_at_the_recorded_pace_and_a_step_pauses() {
    let (_dir, mut replay) = replay_of(5, 0);
    replay.press(Action::ReplayPlay);
    assert!(replay.position().playing);
    assert_eq!(replay.second(), 0);
    // The frames are a second apart: one answer a second.
    replay.answer();
    assert_eq!(replay.second(), 1);
    replay.answer();
    assert_eq!(replay.second(), 2);
    replay.press(Action::ReplayStepBack);
    assert!(!replay.position().playing, "a step pauses");
    replay.press(Action::ReplayPlay);
    assert!(replay.position().playing);
    replay.press(Action::ReplayPlay);
    assert!(!replay.position().playing, "P again pauses");
}

#[test]
fn a_replay_follows_a_recorder_still_writing() {
    let dir = tempfile::tempdir().unwrap();
    let mut recorder = store(dir.path(), 10);
    let mut replay = Replay::start(dir.path(), 9);
    assert_eq!(replay.position().count, 10);
    for seq in 10..15 {
        recorder
            .append(&fixture::frame(seq, true))
            .expect("appended");
    }
    replay.app.update(Action::ReplayStepForward);
    let seek = replay.app.take_replay_seek().expect("a seek");
    replay.source.seek(seek);
    // The paused player may have found them first (its refresh every 2 s): that answer moves
    // nothing, the step's comes next.
    for _ in 0..2 {
        replay.answer();
        if replay.second() == 10 {
            break;
        }
    }
    assert_eq!(replay.second(), 10, "] at the last frame: the newer ones");
    assert_eq!(replay.position().count, 15);
    assert_eq!(replay.web_points(), 11);
}

#[test]
fn a_torn_tail_is_said_on_the_status_line() {
    let dir = tempfile::tempdir().unwrap();
    drop(store(dir.path(), 3));
    let segment = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == "isorec"))
        .expect("a segment");
    // A record's head cut short, as a power loss leaves it.
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&segment)
        .unwrap();
    std::io::Write::write_all(&mut file, &[0, 0, 1]).unwrap();
    let mut replay = Replay::start(dir.path(), 2);
    assert_eq!(replay.position().count, 3, "the complete frames");
    let warning = replay.app.replay_warning().expect("a warning");
    assert!(warning.contains("incomplete record"), "{warning}");
    let terminal = render(&mut replay.app, &replay.history, 160, 48);
    let status = rows(&terminal).pop().unwrap_or_default();
    assert!(status.contains("incomplete record"), "{status}");
}

#[test]
fn the_time_bar_is_drawn() {
    let dir = tempfile::tempdir().unwrap();
    drop(store(dir.path(), 30));
    for (width, height) in [(80, 24), (160, 48)] {
        let mut replay = Replay::start(dir.path(), 15);
        let terminal = render(&mut replay.app, &replay.history, width, height);
        insta::assert_snapshot!(format!("replay_{width}x{height}"), terminal.backend());
        replay.press(Action::ReplayGoTo);
        type_text(&mut replay.app, "03:04");
        let terminal = render(&mut replay.app, &replay.history, width, height);
        insta::assert_snapshot!(
            format!("replay_time_prompt_{width}x{height}"),
            terminal.backend()
        );
    }
}
