//! The time cursor on the detail pane's charts (`<` and `>`), the app's side: a sample's time
//! (ms since the epoch), stepped one sample at a time through the times of the frames
//! received — the samples every series of the history has its points at — the first press
//! putting it on the newest. It is a time, not a place on the screen: new frames leave it on
//! its sample, and only when that sample leaves the charts' span (zoomed in, or aged out) does
//! it move, to the oldest sample shown. It lives while a detail pane shows charts (a
//! container's charts part, or a cgroup's): Esc clears it before the pane closes, and whatever
//! hides the charts (another view, `v`, a selection without charts) drops it. `l` with a cursor
//! opens the container's log at its time (`log_pane`). The views only draw it
//! ([`App::chart_cursor`]).

use std::collections::VecDeque;
use std::time::Duration;

use super::{App, DetailPane, Target};
use crate::ui::widgets::clock;

/// Where the cursor is, for drawing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChartCursor {
    /// The sample's time, ms since the epoch.
    pub at_ms: u64,
    /// The sample before it, ms since the epoch (`None`: the cursor is on the oldest kept).
    pub after_ms: Option<u64>,
}

impl ChartCursor {
    /// The value of a series (`(ms since the epoch, value)`, oldest first, where the figure is
    /// known) at the cursor: its nearest point at or before the cursor, if that point is of
    /// the cursor's sample (after the sample before it); `None` — shown as `-` — when the
    /// figure was unknown then or the series had no point (not there yet, or gone).
    pub fn value_in(&self, points: &[(u64, f64)]) -> Option<f64> {
        let end = points.partition_point(|&(t, _)| t <= self.at_ms);
        let &(t, value) = points[..end].last()?;
        self.after_ms.is_none_or(|after| t > after).then_some(value)
    }
}

/// The samples' times and the cursor among them.
#[derive(Debug, Clone, Default)]
pub(super) struct CursorState {
    /// Each frame's `taken_at_ms`, oldest first, over the history window.
    times: VecDeque<u64>,
    /// The cursor: one of `times`.
    at: Option<u64>,
}

/// What a step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Moved,
    /// Already on the oldest sample shown (older ones are outside the span).
    AtOldest,
    /// Already on the newest sample.
    AtNewest,
    /// No frame yet.
    NoSample,
}

impl CursorState {
    /// A frame taken at `at_ms`: its time joins; those older than `window` before it go.
    fn record(&mut self, at_ms: u64, window: Duration) {
        // The clock set back: times after it are not samples any more.
        while self.times.back().is_some_and(|&t| t >= at_ms) {
            self.times.pop_back();
        }
        self.times.push_back(at_ms);
        let oldest = at_ms.saturating_sub(u64::try_from(window.as_millis()).unwrap_or(u64::MAX));
        while self.times.front().is_some_and(|&t| t < oldest) {
            self.times.pop_front();
        }
    }

    /// Keeps the cursor on a sample at or after `oldest_ms` (the oldest the charts show): its
    /// own when it still is one, else the first after it, else the newest.
    fn clamp(&mut self, oldest_ms: u64) {
        let Some(at) = self.at else {
            return;
        };
        let index = self.times.partition_point(|&t| t < at.max(oldest_ms));
        self.at = self.times.get(index).or(self.times.back()).copied();
    }

    /// One sample older (`back`) or newer, not before `oldest_ms`; the first step puts the
    /// cursor on the newest sample.
    fn step(&mut self, back: bool, oldest_ms: u64) -> Step {
        let Some(&newest) = self.times.back() else {
            return Step::NoSample;
        };
        let Some(at) = self.at else {
            self.at = Some(newest);
            return Step::Moved;
        };
        let index = self.times.partition_point(|&t| t < at);
        let to = if back {
            index
                .checked_sub(1)
                .and_then(|i| self.times.get(i))
                .filter(|&&t| t >= oldest_ms)
        } else {
            self.times.get(index + 1)
        };
        match to {
            Some(&t) => {
                self.at = Some(t);
                Step::Moved
            }
            None if back => Step::AtOldest,
            None => Step::AtNewest,
        }
    }

    fn cursor(&self) -> Option<ChartCursor> {
        let at_ms = self.at?;
        let index = self.times.partition_point(|&t| t < at_ms);
        let after_ms = index
            .checked_sub(1)
            .and_then(|i| self.times.get(i))
            .copied();
        Some(ChartCursor { at_ms, after_ms })
    }
}

impl App {
    /// The charts' time cursor, while one is set (only while charts show).
    pub fn chart_cursor(&self) -> Option<ChartCursor> {
        self.chart_cursor.cursor()
    }

    /// Whether the detail pane shows charts: a container's charts part, or a cgroup's.
    fn charts_shown(&self) -> bool {
        if !self.detail {
            return false;
        }
        match self.detail_target() {
            Some(Target::Container(_)) => self.detail_pane == DetailPane::Charts,
            Some(Target::Cgroup(_)) => true,
            Some(Target::Namespace(_)) | None => false,
        }
    }

    /// The oldest time the charts show: the span before the newest frame.
    fn oldest_shown_ms(&self) -> u64 {
        let newest = self.frame.as_ref().map_or(0, |f| f.taken_at_ms);
        let span = u64::try_from(self.chart_span().as_millis()).unwrap_or(u64::MAX);
        newest.saturating_sub(span)
    }

    /// A frame came: its time is a sample the cursor can be on.
    pub(super) fn record_sample_time(&mut self, taken_at_ms: u64) {
        self.chart_cursor.record(taken_at_ms, self.history_window);
    }

    /// After a frame or an action: the cursor stays on its sample while the charts show it,
    /// else goes to the oldest they show; with no charts shown there is none.
    pub(super) fn keep_chart_cursor(&mut self) {
        if !self.charts_shown() {
            self.chart_cursor.at = None;
            return;
        }
        let oldest = self.oldest_shown_ms();
        self.chart_cursor.clamp(oldest);
    }

    /// Esc on the charts: clears the cursor; false when there was none.
    pub(super) fn clear_chart_cursor(&mut self) -> bool {
        self.chart_cursor.at.take().is_some()
    }

    /// `<` (`back`) and `>`: the cursor one sample older or newer.
    pub(super) fn move_chart_cursor(&mut self, back: bool) {
        if !self.charts_shown() {
            let why = match self.detail_target() {
                Some(Target::Container(_)) if self.detail => {
                    "the time cursor is the charts': v shows them"
                }
                _ => "the time cursor is a detail pane's charts': Enter opens one",
            };
            self.message = Some(why.to_string());
            return;
        }
        let oldest = self.oldest_shown_ms();
        self.message = match self.chart_cursor.step(back, oldest) {
            Step::Moved => None,
            Step::AtOldest => Some(format!(
                "the cursor is on the oldest sample shown ({} UTC): - shows more",
                clock(self.chart_cursor.at.unwrap_or(oldest))
            )),
            Step::AtNewest => Some("the cursor is on the newest sample".to_string()),
            Step::NoSample => Some("no sample yet".to_string()),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(times: &[u64]) -> CursorState {
        let mut state = CursorState::default();
        for &t in times {
            state.record(t, Duration::from_secs(600));
        }
        state
    }

    #[test]
    fn steps_through_the_samples_and_stops_at_the_ends() {
        let mut s = state(&[1000, 2000, 3000]);
        assert_eq!(s.step(true, 0), Step::Moved);
        assert_eq!(s.at, Some(3000), "the first step: the newest");
        assert_eq!(s.step(false, 0), Step::AtNewest);
        assert_eq!(s.step(true, 0), Step::Moved);
        assert_eq!(s.at, Some(2000));
        assert_eq!(
            s.cursor(),
            Some(ChartCursor {
                at_ms: 2000,
                after_ms: Some(1000)
            })
        );
        assert_eq!(s.step(true, 1500), Step::AtOldest, "1000 is not shown");
        assert_eq!(s.at, Some(2000));
        assert_eq!(CursorState::default().step(true, 0), Step::NoSample);
    }

    #[test]
    fn clamps_to_the_oldest_shown_and_survives_a_clock_set_back() {
        let mut s = state(&[1000, 2000, 3000, 4000]);
        s.at = Some(2000);
        s.clamp(1000);
        assert_eq!(s.at, Some(2000), "still shown: stays");
        s.clamp(2500);
        assert_eq!(s.at, Some(3000), "the oldest shown");
        s.record(2500, Duration::from_secs(600));
        assert_eq!(s.times, [1000, 2000, 2500]);
        s.clamp(0);
        assert_eq!(
            s.at,
            Some(2500),
            "its sample went with the clock: the newest"
        );
        let mut short = state(&[1000, 2000]);
        short.record(700_000, Duration::from_secs(600));
        assert_eq!(short.times, [700_000], "older than the window: gone");
    }

    #[test]
    fn a_value_is_the_cursors_samples_or_unknown() {
        let cursor = ChartCursor {
            at_ms: 3000,
            after_ms: Some(2000),
        };
        assert_eq!(
            cursor.value_in(&[(1000, 1.0), (3000, 3.0), (4000, 4.0)]),
            Some(3.0)
        );
        assert_eq!(
            cursor.value_in(&[(1000, 1.0), (2000, 2.0), (4000, 4.0)]),
            None,
            "unknown at 3000: not the older point"
        );
        assert_eq!(cursor.value_in(&[(2500, 2.5)]), Some(2.5));
        assert_eq!(cursor.value_in(&[]), None);
        let oldest = ChartCursor {
            at_ms: 3000,
            after_ms: None,
        };
        assert_eq!(oldest.value_in(&[(1000, 1.0)]), Some(1.0));
    }
}
