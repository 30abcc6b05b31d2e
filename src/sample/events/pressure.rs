//! Figures above a threshold: the hysteresis every such state shares (throttling, pressure),
//! and a pressure state's events — started by `some avg10` at its threshold (sampled) or at
//! once by a PSI trigger that fired (`sample::pressure_triggers`: dated when the kernel woke
//! the watcher), ended once no trigger fired and `some avg10` stayed below [`END_BELOW`] of
//! the threshold for [`END_AFTER`] samples in a row. The same for a container's own cgroup and
//! for one no container owns.

use super::{END_AFTER, END_BELOW};
use crate::host::events::{Event, EventKind, PressureResource, Subject, Timing};
use crate::sample::pressure_triggers::{Fire, RESOURCES};

/// Whether a figure is above its threshold, and for how many samples in a row it has been
/// below the end of it.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Crossing {
    on: bool,
    below: u32,
}

impl Crossing {
    /// The state is on (started, not ended).
    pub(super) fn is_on(&self) -> bool {
        self.on
    }
}

/// A figure crossing its threshold: `(figure, ended)` when a state starts (at once) or ends
/// (after [`END_AFTER`] samples in a row below [`END_BELOW`] of the threshold).
pub(super) fn crossing(
    state: &mut Crossing,
    figure: Option<f64>,
    threshold: f64,
) -> Option<(f64, bool)> {
    let figure = figure.filter(|f| f.is_finite())?;
    if !state.on {
        if figure >= threshold {
            *state = Crossing { on: true, below: 0 };
            return Some((figure, false));
        }
        return None;
    }
    if figure >= threshold * END_BELOW {
        state.below = 0;
        return None;
    }
    state.below += 1;
    if state.below >= END_AFTER {
        *state = Crossing::default();
        return Some((figure, true));
    }
    None
}

/// One cgroup's pressure this sample, per resource in `RESOURCES` order.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct PressureNow {
    /// `some avg10`, percent.
    pub figures: [Option<f64>; 3],
    /// The triggers that fired since the previous sample.
    pub fires: [Option<Fire>; 3],
}

impl PressureNow {
    /// Above the threshold now: a trigger fired, or `some avg10` is at it.
    pub(super) fn above(&self, threshold: f64) -> [bool; 3] {
        std::array::from_fn(|r| {
            self.fires[r].is_some()
                || self.figures[r].is_some_and(|f| f.is_finite() && f >= threshold)
        })
    }
}

/// The pressure events of one cgroup's sample against its `states`; a state starts only where
/// `may_start` (a cgroup no container owns leaves it to a descendant above too).
pub(super) fn pressure_events(
    states: &mut [Crossing; 3],
    now: &PressureNow,
    may_start: [bool; 3],
    threshold: f64,
    at_ms: u64,
    subject: &Subject,
) -> Vec<Event> {
    let mut events = Vec::new();
    for (r, resource) in RESOURCES.into_iter().enumerate() {
        let state = &mut states[r];
        let (figure, fire) = (now.figures[r], now.fires[r]);
        let event = |timing, at_ms, percent, ended, detail| Event {
            at_ms,
            timing,
            subject: subject.clone(),
            kind: EventKind::Pressure {
                resource,
                percent,
                ended,
            },
            detail,
        };
        let name = pressure_name(resource);
        if state.on && fire.is_some() {
            state.below = 0;
            continue;
        }
        if !state.on
            && let Some(fire) = fire
        {
            if !may_start[r] {
                continue;
            }
            *state = Crossing { on: true, below: 0 };
            let percent = fire.percent().max(figure.unwrap_or(0.0));
            let detail = format!(
                "{name} pressure: at least {} stalled in {} (PSI trigger)",
                micros(fire.stall_us),
                micros(fire.window_us)
            );
            events.push(event(Timing::Dated, fire.at_ms, percent, false, detail));
            continue;
        }
        if !state.on && !may_start[r] {
            continue;
        }
        if let Some((percent, ended)) = crossing(state, figure, threshold) {
            let detail = if ended {
                format!("{name} pressure ended ({percent:.0}%, some avg10)")
            } else {
                format!("{name} pressure {percent:.0}% (some avg10)")
            };
            events.push(event(Timing::Sampled, at_ms, percent, ended, detail));
        }
    }
    events
}

/// A duration in µs as people read it: `200 ms`, `1 s`, `1.5 s`.
fn micros(us: u64) -> String {
    if us >= 1_000_000 {
        let seconds = us as f64 / 1e6;
        format!("{} s", format_trimmed(seconds))
    } else if us >= 1_000 {
        format!("{} ms", format_trimmed(us as f64 / 1e3))
    } else {
        format!("{us} µs")
    }
}

/// At most one decimal, none when whole.
fn format_trimmed(value: f64) -> String {
    let text = format!("{value:.1}");
    text.strip_suffix(".0").unwrap_or(&text).to_string()
}

pub(super) fn pressure_name(resource: PressureResource) -> &'static str {
    match resource {
        PressureResource::Cpu => "CPU",
        PressureResource::Memory => "memory",
        PressureResource::Io => "I/O",
    }
}
