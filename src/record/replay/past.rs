//! A position's past, for a jump: the charts' history — every frame of the history window
//! before the position read light ([`Recording::frame_light`]: no processes, no namespaces)
//! and recorded into a fresh [`History`], then the position's own — and the events recorded
//! before it, the newest [`EVENTS_KEPT`] at most, from the frames the index marks as having
//! events. Events are kept per frame once read, so jumping back and forth reads each such
//! frame once; a frame of the window that does not decode is skipped and counted in a note.

use foldhash::HashMap;
use std::time::Duration;

use super::super::{RecordError, Recording};
use crate::host::events::Event;
use crate::sample::{Frame, History};
use crate::ui::app::events::EVENTS_KEPT;
use crate::ui::app::replay::ReplayReset;

/// The history window and the events read so far, by frame index.
pub(super) struct Past {
    window: Duration,
    events: HashMap<usize, Vec<Event>>,
}

impl Past {
    pub(super) fn new(window: Duration) -> Past {
        Past {
            window,
            events: HashMap::default(),
        }
    }

    /// Keeps frame `index`'s events (a frame read for another reason).
    pub(super) fn remember(&mut self, index: usize, frame: &Frame) {
        if !frame.events.is_empty() {
            self.events.insert(index, frame.events.clone());
        }
    }

    /// The frame at `index` of `recording`, its past, and a note when frames of the past did
    /// not decode (they are left out).
    pub(super) fn at(
        &mut self,
        recording: &Recording,
        index: usize,
    ) -> Result<(Frame, ReplayReset, Option<String>), RecordError> {
        let frame = recording.frame(index)?;
        self.remember(index, &frame);
        let entries = recording.entries();
        let window_ms = u64::try_from(self.window.as_millis()).unwrap_or(u64::MAX);
        let oldest_ms = frame.taken_at_ms.saturating_sub(window_ms);
        let from = entries.partition_point(|e| e.t_ms < oldest_ms).min(index);
        let mut history = History::new(self.window);
        let mut times = Vec::with_capacity(index - from);
        let mut skipped = 0usize;
        for i in from..index {
            match recording.frame_light(i) {
                Ok(light) => {
                    self.remember(i, &light);
                    history.record(&light);
                    times.push(light.taken_at_ms);
                }
                Err(_) => skipped += 1,
            }
        }
        history.record(&frame);
        let events = self.events_before(recording, index, &mut skipped);
        let note = (skipped > 0).then(|| {
            format!("{skipped} earlier frame(s) did not decode: left out of the charts and events")
        });
        Ok((
            frame,
            ReplayReset {
                history,
                times,
                events,
            },
            note,
        ))
    }

    /// The events of the frames before `index`, oldest first: the newest [`EVENTS_KEPT`] or a
    /// few more (whole frames).
    fn events_before(
        &mut self,
        recording: &Recording,
        index: usize,
        skipped: &mut usize,
    ) -> Vec<Event> {
        let entries = recording.entries();
        let mut frames: Vec<usize> = Vec::new();
        let mut count = 0usize;
        for i in (0..index.min(entries.len())).rev() {
            if count >= EVENTS_KEPT {
                break;
            }
            if !entries[i].has_events {
                continue;
            }
            if let std::collections::hash_map::Entry::Vacant(slot) = self.events.entry(i) {
                match recording.frame_light(i) {
                    // Kept even when empty: read once.
                    Ok(light) => {
                        slot.insert(light.events);
                    }
                    Err(_) => {
                        *skipped += 1;
                        continue;
                    }
                }
            }
            count += self.events.get(&i).map_or(0, Vec::len);
            frames.push(i);
        }
        frames
            .iter()
            .rev()
            .filter_map(|i| self.events.get(i))
            .flatten()
            .cloned()
            .collect()
    }
}
