//! The events the dashboard keeps: every `Frame::events` goes into one bounded list
//! ([`EventLog`], the last [`EVENTS_KEPT`], the oldest dropped), ordered by when each happened
//! (a dated event that arrives late takes its place by its time). The Events view's rows are
//! built from it ([`EventLog::rows`]: newest first, the filter and `t`'s trouble-only applied,
//! or sorted by a column), and the Containers view's mark is each container's newest event
//! ([`EventLog::latest`]). An event is known by the number it got on arrival, so the Events
//! view's selection stays on it while newer ones come in — but for the top row: on the newest
//! event, the selection stays on the newest (the view follows, as a log pane does). Enter on an event shows its
//! container in the Containers view (unfolding its pod, clearing a filter that hides it).

use foldhash::HashMap;
use std::collections::VecDeque;

use super::App;
use super::rows::{Filter, Sort};
use crate::host::events::Event;
use crate::ui::action::Tab;

/// How many events the app keeps (the oldest go first).
pub const EVENTS_KEPT: usize = 2_000;

/// The Events view's columns by sort index.
pub const EVENT_COLUMNS: [&str; 4] = ["TIME", "CONTAINER", "KIND", "DETAIL"];

/// An event as kept: the number it arrived as (its identity) and the event.
#[derive(Debug, Clone, PartialEq)]
pub struct KeptEvent {
    pub seq: u64,
    pub event: Event,
}

/// The bounded list of recent events.
#[derive(Debug, Clone, Default)]
pub struct EventLog {
    /// Oldest first by `at_ms`; events of one moment in arrival order.
    kept: VecDeque<KeptEvent>,
    next_seq: u64,
    /// Events dropped to keep the bound.
    dropped: u64,
    /// Container id → its newest kept event (a copy: the Containers view asks for it on
    /// every row drawn and every sort by EVENT). Only containers with an event kept: an
    /// entry goes with its event (it is then the container's only one).
    latest: HashMap<String, KeptEvent>,
    /// The first frame's time: when isotop started watching, ms since the epoch.
    since_ms: Option<u64>,
}

impl EventLog {
    /// Takes one frame's events (`taken_at_ms`: the frame's time).
    pub fn record(&mut self, taken_at_ms: u64, events: Vec<Event>) {
        self.since_ms.get_or_insert(taken_at_ms);
        for event in events {
            self.push(event);
        }
    }

    fn push(&mut self, event: Event) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let kept = KeptEvent { seq, event };
        if let Some(id) = &kept.event.subject.container_id
            && self
                .latest
                .get(id)
                .is_none_or(|current| kept.event.at_ms >= current.event.at_ms)
        {
            self.latest.insert(id.clone(), kept.clone());
        }
        let at = self
            .kept
            .partition_point(|k| k.event.at_ms <= kept.event.at_ms);
        self.kept.insert(at, kept);
        while self.kept.len() > EVENTS_KEPT {
            let Some(oldest) = self.kept.pop_front() else {
                break;
            };
            self.dropped += 1;
            if let Some(id) = &oldest.event.subject.container_id
                && self.latest.get(id).is_some_and(|l| l.seq == oldest.seq)
            {
                self.latest.remove(id);
            }
        }
    }

    /// The kept events, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &KeptEvent> {
        self.kept.iter()
    }

    pub fn len(&self) -> usize {
        self.kept.len()
    }

    pub fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }

    /// The event at `index` of [`EventLog::iter`]'s order (the Events view's rows hold these).
    pub fn get(&self, index: usize) -> Option<&KeptEvent> {
        self.kept.get(index)
    }

    /// How many were dropped to keep [`EVENTS_KEPT`].
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// When isotop started watching (the first frame), ms since the epoch.
    pub fn since_ms(&self) -> Option<u64> {
        self.since_ms
    }

    /// Container `id`'s newest kept event.
    pub fn latest(&self, id: &str) -> Option<&Event> {
        self.latest.get(id).map(|k| &k.event)
    }

    /// The kept event that arrived as `seq`.
    pub fn by_seq(&self, seq: u64) -> Option<&KeptEvent> {
        self.position(seq).and_then(|i| self.kept.get(i))
    }

    /// Where the event that arrived as `seq` is in [`EventLog::iter`]'s order.
    pub fn position(&self, seq: u64) -> Option<usize> {
        self.kept.iter().position(|k| k.seq == seq)
    }

    /// The Events view's rows (indices of [`EventLog::get`]): newest first, or by `sort`'s
    /// column; those `filter` matches, trouble only when `trouble_only`.
    pub fn rows(&self, filter: &Filter, sort: Sort, trouble_only: bool) -> Vec<usize> {
        let mut rows: Vec<usize> = (0..self.kept.len())
            .rev()
            .filter(|&i| {
                let e = &self.kept[i].event;
                (!trouble_only || e.kind.is_trouble()) && filter.event(e)
            })
            .collect();
        let column = sort.column.unwrap_or(0);
        if column != 0 {
            // Stable: newest first among equals.
            rows.sort_by(|&a, &b| {
                let (x, y) = (&self.kept[a].event, &self.kept[b].event);
                match column {
                    1 => x.subject.name.cmp(&y.subject.name),
                    2 => x.kind.name().cmp(y.kind.name()),
                    _ => x.detail.cmp(&y.detail),
                }
            });
        }
        if sort.reversed {
            rows.reverse();
        }
        rows
    }
}

impl Filter {
    /// An event matches by its container's name or id, its cgroup, its kind or its detail.
    fn event(&self, e: &Event) -> bool {
        self.is_empty()
            || self.text(&e.subject.name)
            || e.subject
                .container_id
                .as_deref()
                .is_some_and(|id| self.text(id))
            || e.subject.cgroup.as_deref().is_some_and(|g| self.text(g))
            || self.text(e.kind.name())
            || self.text(&e.detail)
    }
}

impl App {
    /// The events kept (for the Events view and the Containers view's mark).
    pub fn events(&self) -> &EventLog {
        &self.events
    }

    /// Container `id`'s newest event (the Containers view's mark).
    pub fn latest_event(&self, id: &str) -> Option<&Event> {
        self.events.latest(id)
    }

    /// True while the Events view shows trouble only (`t`).
    pub fn trouble_only(&self) -> bool {
        self.trouble_only
    }

    /// The event of the Events view's selected row.
    pub fn selected_event(&self) -> Option<&KeptEvent> {
        let row = self.lists[Tab::Events.index()].selected;
        self.events.get(*self.rows.events.get(row)?)
    }

    /// `t`: trouble only on the Events view, or every event again.
    pub(super) fn toggle_trouble_only(&mut self) {
        if self.tab != Tab::Events {
            self.message = Some("t shows trouble only on the Events view (6)".to_string());
            return;
        }
        self.trouble_only = !self.trouble_only;
        self.rebuild();
    }

    /// Enter on an event: its container in the Containers view, if it is still on the host.
    pub(super) fn show_event_container(&mut self) {
        let Some(kept) = self.selected_event() else {
            self.message = Some("no event selected".to_string());
            return;
        };
        let subject = &kept.event.subject;
        let name = subject.name.clone();
        let Some(id) = subject.container_id.clone() else {
            self.message = Some(format!("{name}: a cgroup no container owns"));
            return;
        };
        if !self.rows.container_by_id.contains_key(&id) {
            self.message = Some(format!("{name} is no longer on the host"));
            return;
        }
        // A folded pod hides its members: unfolded to show this one.
        if let (Some(frame), Some(&index)) = (&self.frame, self.rows.container_by_id.get(&id))
            && let Some(pod) = frame.pods.iter().find(|p| p.members.contains(&index))
        {
            self.collapsed.remove(&pod.key);
        }
        self.rebuild();
        if self.find_row(Tab::Containers, &id).is_none() && !self.filter.is_empty() {
            self.filter.clear();
            self.rebuild();
        }
        self.show_tab(Tab::Containers);
        if let Some(row) = self.find_row(Tab::Containers, &id) {
            self.select(row);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::events::{EventKind, Subject, Timing};

    fn event(at_ms: u64, id: Option<&str>, kind: EventKind) -> Event {
        Event {
            at_ms,
            timing: Timing::Sampled,
            subject: Subject {
                container_id: id.map(String::from),
                name: id.unwrap_or("/some/cgroup").to_string(),
                cgroup: None,
            },
            kind,
            detail: format!("at {at_ms}"),
        }
    }

    #[test]
    fn keeps_the_last_events_in_time_order_and_drops_the_oldest() {
        let mut log = EventLog::default();
        log.record(5, vec![event(10, Some("a"), EventKind::Started)]);
        // A dated event noticed late takes its place by time.
        log.record(
            20,
            vec![
                event(30, Some("a"), EventKind::Frozen),
                event(8, Some("b"), EventKind::Started),
            ],
        );
        let times: Vec<u64> = log.iter().map(|k| k.event.at_ms).collect();
        assert_eq!(times, [8, 10, 30]);
        assert_eq!(log.since_ms(), Some(5));
        assert_eq!(log.latest("a").map(|e| e.at_ms), Some(30));
        assert_eq!(log.latest("b").map(|e| e.at_ms), Some(8));
        // A late event older than a's newest does not replace it.
        log.record(21, vec![event(25, Some("a"), EventKind::Thawed)]);
        assert_eq!(log.latest("a").map(|e| e.at_ms), Some(30));

        for i in 0..EVENTS_KEPT as u64 {
            log.record(100 + i, vec![event(100 + i, Some("c"), EventKind::Thawed)]);
        }
        assert_eq!(log.len(), EVENTS_KEPT);
        assert_eq!(log.dropped(), 4);
        assert_eq!(log.iter().next().map(|k| k.event.at_ms), Some(100));
        // b's and a's events are gone, and their marks with them.
        assert!(log.latest("a").is_none());
        assert!(log.latest("b").is_none());
        assert_eq!(
            log.latest("c").map(|e| e.at_ms),
            Some(100 + EVENTS_KEPT as u64 - 1)
        );
        // Identities stay: the newest arrived last.
        let newest = log.iter().last().unwrap();
        assert_eq!(log.by_seq(newest.seq), Some(newest));
    }

    #[test]
    fn rows_are_newest_first_filtered_and_trouble_only() {
        let mut log = EventLog::default();
        log.record(
            0,
            vec![
                event(1, Some("web"), EventKind::Started),
                event(
                    2,
                    Some("api"),
                    EventKind::OomKill {
                        pid: Some(7),
                        command: None,
                        count: 1,
                    },
                ),
                event(3, None, EventKind::PidsLimitHit { refused: 4 }),
            ],
        );
        let all = log.rows(&Filter::new(""), Sort::default(), false);
        let times = |rows: &[usize]| -> Vec<u64> {
            rows.iter()
                .map(|&i| log.get(i).unwrap().event.at_ms)
                .collect()
        };
        assert_eq!(times(&all), [3, 2, 1]);
        let trouble = log.rows(&Filter::new(""), Sort::default(), true);
        assert_eq!(times(&trouble), [3, 2]);
        assert_eq!(
            times(&log.rows(&Filter::new("OOM"), Sort::default(), false)),
            [2]
        );
        assert_eq!(
            times(&log.rows(&Filter::new("cgroup"), Sort::default(), false)),
            [3]
        );
        let by_name = Sort {
            column: Some(1),
            reversed: false,
        };
        // "/some/cgroup" < "api" < "web".
        assert_eq!(
            times(&log.rows(&Filter::new(""), by_name, false)),
            [3, 2, 1]
        );
        let oldest_first = Sort {
            column: None,
            reversed: true,
        };
        assert_eq!(
            times(&log.rows(&Filter::new(""), oldest_first, false)),
            [1, 2, 3]
        );
    }
}
