//! Who an event concerns or who caused it, from the two logs the detector reads on demand: the
//! kernel's (`host::events::kmsg`, opened at its end on the baseline tick) names an OOM kill's
//! victim, and isotop's audit log (`host::events::audit`, its lines appended since the
//! baseline) tells isotop's limit changes from anyone else's. What was read and not matched yet
//! is kept a little while: the kernel may log a kill a tick before its cgroup's counter shows
//! it, and an act is audited a moment after its write.

use std::path::PathBuf;

use super::limits::LimitChange;
use crate::host::HostRoot;
use crate::host::cgroup::Limit;
use crate::host::events::audit::{AuditRecord, AuditTail, LimitKnob, restores_a_limit, values_in};
use crate::host::events::kmsg::{KmsgReader, OomVictim, Start};
use crate::host::events::{ChangedBy, Event, EventKind, Subject, Timing};

/// How long a victim read from the kernel log waits for its cgroup's counter, ms.
const VICTIMS_KEPT_MS: u64 = 2 * 60 * 1000;

/// How long an audited act read waits for the change it made to be sampled, ms.
const ACTS_KEPT_MS: u64 = 60 * 1000;

/// How far an act's time may lie outside the interval its change was sampled in, ms (the log
/// has whole seconds; the write and its line are a moment apart).
const ACT_SLACK_MS: u64 = 3 * 1000;

/// The logs and what was read from them.
#[derive(Debug)]
pub(super) struct Sources {
    kmsg: Option<KmsgReader>,
    victims: Vec<OomVictim>,
    audit_path: PathBuf,
    audit: Option<AuditTail>,
    acts: Vec<AuditRecord>,
}

/// A container gone a moment ago: a kill the kernel logged in its cgroup, told by an ancestor
/// cgroup whose count holds it (v2, the container's cgroup removed before the tree read), is
/// the container's.
#[derive(Debug, Clone)]
pub(super) struct GoneContainer {
    /// When it was seen gone, ms.
    pub at_ms: u64,
    pub subject: Subject,
    pub pids: Vec<i32>,
    /// Its own cgroup's path.
    pub cgroup: Option<String>,
}

impl GoneContainer {
    fn holds(&self, v: &OomVictim) -> bool {
        self.pids.contains(&v.pid) || self.cgroup.as_deref().is_some_and(|c| v.in_cgroup(c))
    }
}

/// An OOM kill waiting for its victim's name.
#[derive(Debug, Clone)]
pub(super) struct OomDraft {
    event: Event,
    /// The container's processes (the previous tick's and this one's).
    pids: Vec<i32>,
    /// Its own memory cgroups' paths.
    memcgs: Vec<String>,
    /// ` at memory limit 64.0MiB`, or empty.
    limit: String,
}

impl OomDraft {
    /// `event` is an `OomKill` without its victim.
    pub(super) fn new(
        event: Event,
        pids: Vec<i32>,
        memcgs: Vec<String>,
        limit: String,
    ) -> Box<OomDraft> {
        Box::new(OomDraft {
            event,
            pids,
            memcgs,
            limit,
        })
    }

    /// True when the kernel logged `v` as a kill in this draft's container or cgroup.
    fn claims(&self, v: &OomVictim) -> bool {
        self.pids.contains(&v.pid) || self.memcgs.iter().any(|own| v.in_cgroup(own))
    }

    /// The event with `victims` (oldest first; possibly none) named; a cgroup's kill whose
    /// victims were all one container's of `gone` is that container's.
    fn finish(self: Box<Self>, victims: &[OomVictim], gone: &[GoneContainer]) -> Event {
        let OomDraft {
            mut event, limit, ..
        } = *self;
        if event.subject.container_id.is_none()
            && !victims.is_empty()
            && let Some(container) = gone.iter().find(|g| victims.iter().all(|v| g.holds(v)))
        {
            event.subject = container.subject.clone();
        }
        let count = match event.kind {
            EventKind::OomKill { count, .. } => count,
            _ => 1,
        };
        let last = victims.last();
        event.kind = EventKind::OomKill {
            pid: last.map(|v| v.pid),
            command: last.map(|v| v.command.clone()),
            count,
        };
        event.detail = match victims {
            [] if count == 1 => format!("OOM kill{limit}"),
            [] => format!("{count} OOM kills{limit}"),
            [v] if count == 1 => format!("OOM kill: pid {} ({}){limit}", v.pid, v.command),
            _ => {
                let named: Vec<String> = victims
                    .iter()
                    .map(|v| format!("pid {} ({})", v.pid, v.command))
                    .collect();
                format!("{count} OOM kills: {}{limit}", named.join(", "))
            }
        };
        if let Some(v) = last {
            event.at_ms = v.at_ms;
            event.timing = Timing::Dated;
        }
        event
    }
}

/// A limit change waiting for its author.
#[derive(Debug, Clone)]
pub(super) struct LimitDraft {
    subject: Subject,
    change: LimitChange,
    /// The audit targets that name it: its container's id, `cgroup:` and its cgroup paths.
    targets: Vec<String>,
    /// The interval it happened in: the previous tick's and this tick's times, ms.
    between_ms: (u64, u64),
}

impl LimitDraft {
    pub(super) fn new(
        subject: Subject,
        change: LimitChange,
        targets: Vec<String>,
        between_ms: (u64, u64),
    ) -> Box<LimitDraft> {
        Box::new(LimitDraft {
            subject,
            change,
            targets,
            between_ms,
        })
    }

    /// True when audited act `act` made this change.
    fn made_by(&self, act: &AuditRecord) -> bool {
        let at_ms = act.unix_seconds.saturating_mul(1000);
        let (from, to) = self.between_ms;
        // The log's seconds are truncated: the act happened within the second after.
        let in_time = at_ms + 1000 + ACT_SLACK_MS >= from && at_ms <= to + ACT_SLACK_MS;
        let same_limit =
            LimitKnob::of_act(&act.what) == Some(self.change.knob) || restores_a_limit(&act.what);
        act.ok()
            && in_time
            && same_limit
            && self.targets.contains(&act.target)
            && value_matches(self.change.value, act.new.as_deref())
    }

    fn finish(self: Box<Self>, by: ChangedBy) -> Event {
        let LimitDraft {
            subject,
            change: c,
            between_ms,
            ..
        } = *self;
        let who = match by {
            ChangedBy::Isotop => "by isotop",
            ChangedBy::Other => "not by isotop",
        };
        Event {
            at_ms: between_ms.1,
            timing: Timing::Sampled,
            subject,
            detail: format!("{} {} → {} ({who})", c.limit, c.from, c.to),
            kind: EventKind::LimitChanged {
                limit: c.limit,
                from: Some(c.from),
                to: Some(c.to),
                by,
            },
        }
    }
}

/// True when an act that wrote `written` can have left `value`: a word of it is the value, or
/// (memory on v1, rounded down to pages) within a page of it; true when either is unknown.
fn value_matches(value: Option<Limit<u64>>, written: Option<&str>) -> bool {
    let (Some(value), Some(written)) = (value, written) else {
        return true;
    };
    let words = values_in(written);
    let page = crate::units::kernel::page_size();
    words.is_empty()
        || words.iter().any(|w| match (w, value) {
            (Limit::Max, Limit::Max) => true,
            (Limit::Value(a), Limit::Value(b)) => a.abs_diff(b) < page,
            _ => false,
        })
}

impl Sources {
    pub(super) fn new(audit_path: PathBuf) -> Sources {
        Sources {
            kmsg: None,
            victims: Vec::new(),
            audit_path,
            audit: None,
            acts: Vec::new(),
        }
    }

    /// Opens the kernel log at its end and the audit log's tail (the baseline tick).
    pub(super) fn open(&mut self, root: &HostRoot) {
        self.kmsg = KmsgReader::open(root, Start::End).ok();
        self.audit = Some(AuditTail::new(self.audit_path.clone()));
    }

    /// Reads the audit log at `path` from now on (its tail is opened at once when the logs
    /// already are).
    pub(super) fn set_audit_log(&mut self, path: PathBuf) {
        if self.audit.is_some() {
            self.audit = Some(AuditTail::new(path.clone()));
        }
        self.audit_path = path;
        self.acts.clear();
    }

    /// Takes in the kills the kernel logged since the last read.
    pub(super) fn read_victims(&mut self) {
        if let Some(kmsg) = &mut self.kmsg {
            self.victims.extend(kmsg.read_victims());
        }
    }

    /// Takes in the acts audited since the last read.
    pub(super) fn read_audit(&mut self) {
        if let Some(tail) = &mut self.audit {
            self.acts.extend(tail.read_new());
        }
    }

    /// Drops what was read too long before `now_ms` to be matched any more.
    pub(super) fn forget_before(&mut self, now_ms: u64) {
        self.victims
            .retain(|v| now_ms.saturating_sub(v.at_ms) < VICTIMS_KEPT_MS);
        self.acts
            .retain(|a| now_ms.saturating_sub(a.unix_seconds.saturating_mul(1000)) < ACTS_KEPT_MS);
    }

    /// The OOM kill with the victims the kernel logged for it (each taken once); unless
    /// `last_try`, the draft back when none is logged yet but the kernel log is readable.
    pub(super) fn name_victim(
        &mut self,
        oom: Box<OomDraft>,
        last_try: bool,
        gone: &[GoneContainer],
    ) -> Result<Event, Box<OomDraft>> {
        let (mine, others): (Vec<OomVictim>, Vec<OomVictim>) =
            self.victims.drain(..).partition(|v| oom.claims(v));
        self.victims = others;
        if mine.is_empty() && !last_try && self.kmsg.is_some() {
            return Err(oom);
        }
        Ok(oom.finish(&mine, gone))
    }

    /// The limit change, by isotop when an audited act made it (the act then taken); unless
    /// `last_try`, the draft back when none did yet.
    pub(super) fn name_author(
        &mut self,
        limit: Box<LimitDraft>,
        last_try: bool,
    ) -> Result<Event, Box<LimitDraft>> {
        if let Some(at) = self.acts.iter().position(|act| limit.made_by(act)) {
            self.acts.remove(at);
            return Ok(limit.finish(ChangedBy::Isotop));
        }
        if !last_try {
            return Err(limit);
        }
        Ok(limit.finish(ChangedBy::Other))
    }
}
