//! `isotop events [--since TIME|DURATION] [--follow] [--interval SECONDS] [--json] [TARGET]`:
//! what happened to containers and cgroups, in the one vocabulary of `host::events`.
//!
//! Without `--follow`: the dated events since `--since` (default the last hour), oldest first
//! ([`history`]: isotop's acts, OOM kills from the kernel log, the running containers' starts,
//! the exits runtimes record) — a table `TIME CONTAINER KIND DETAIL`, trouble marked `!`, or
//! with `--json` one JSON array. With `--follow`: a sampler takes its baseline first, then
//! those up to it are printed, then it ticks every `--interval` and each tick's events
//! (`Frame::events`) are printed as they come, until Ctrl-C or the reader closes the pipe —
//! what happened while the past was read is told once, by the past or by the sampler
//! ([`since_the_baseline`]); with `--json` one JSON object per line. TARGET keeps
//! one container's events (resolved as other subcommands resolve it) or, for a cgroup path
//! (`/x`, `cgroup:/x`), the events of that cgroup and below.

mod history;

use std::io::Write;
use std::time::{Duration, Instant};

use super::table::Table;
use super::{CliError, EventsArgs, print_json, print_text, target, warn};
use crate::host::HostRoot;
use crate::host::events::{Event, EventKind};
use crate::host::scan::{ScanOptions, Snapshot, scan};
use crate::sample::pressure_triggers::TriggerStatus;
use crate::sample::{Frame, Sampler};

/// Whose events are printed.
enum Filter {
    All,
    /// A container's, and its own cgroups' where no container is named.
    Container {
        id: String,
        cgroups: Vec<String>,
    },
    /// Those of a cgroup and the cgroups below it.
    Cgroup(String),
}

impl Filter {
    fn new(snapshot: &Snapshot, target: Option<&str>) -> Result<Filter, CliError> {
        let Some(target) = target else {
            return Ok(Filter::All);
        };
        if let Some(path) = target::cgroup_path(target)? {
            return Ok(Filter::Cgroup(path));
        }
        let view = target::resolve(&snapshot.containers, target)?;
        let mut cgroups: Vec<String> = view
            .ownership
            .iter()
            .filter(|o| o.own)
            .map(|o| o.path.clone())
            .collect();
        cgroups.extend(history::subject_of(view).cgroup);
        Ok(Filter::Container {
            id: view.container.id.clone(),
            cgroups,
        })
    }

    fn admits(&self, event: &Event) -> bool {
        let subject = &event.subject;
        match self {
            Filter::All => true,
            Filter::Container { id, cgroups } => match &subject.container_id {
                Some(of) => of == id,
                None => subject.cgroup.as_ref().is_some_and(|c| cgroups.contains(c)),
            },
            Filter::Cgroup(base) => subject.cgroup.as_deref().is_some_and(|c| {
                base == "/"
                    || c == base
                    || c.strip_prefix(base.as_str())
                        .is_some_and(|r| r.starts_with('/'))
            }),
        }
    }
}

/// `isotop events`.
pub(crate) fn run(root: &HostRoot, args: &EventsArgs) -> Result<(), CliError> {
    if !(args.interval.is_finite() && (0.1..=3600.0).contains(&args.interval)) {
        return Err(CliError::Usage(format!(
            "--interval {}: give seconds between 0.1 and 3600",
            args.interval
        )));
    }
    let now_ns = crate::units::now_ms().saturating_mul(1_000_000);
    let since_ms =
        super::moment::moment_ns("--since", args.since.as_deref().unwrap_or("1h"), now_ns)?
            / 1_000_000;
    let audit_log = crate::control::audit::log_path();
    // Following: the sampler's baseline is taken before the past is read, so nothing that
    // happens in between falls between the two (see `since_the_baseline`).
    let followed = if args.follow {
        let mut sampler = Sampler::new(root.clone());
        sampler.set_audit_log(audit_log.clone());
        let baseline = sampler.tick()?;
        Some((sampler, baseline))
    } else {
        None
    };
    let snapshot = scan(root, ScanOptions::TARGETS)?;
    let filter = Filter::new(&snapshot, args.target.as_deref())?;
    let (mut events, notes) = history::past_events(root, &snapshot, &audit_log, since_ms);
    events.retain(|e| filter.admits(e));
    for note in &notes {
        warn(note);
    }
    let Some((mut sampler, baseline)) = followed else {
        return print_past(&events, args.json);
    };
    events.retain(|e| !since_the_baseline(e, &baseline));
    let mut out = Lines { json: args.json };
    if !args.json && !out.write(&row("TIME", "CONTAINER", "KIND", "DETAIL"))? {
        return Ok(());
    }
    for event in &events {
        if !out.print(event)? {
            return Ok(());
        }
    }
    let interval = Duration::from_secs_f64(args.interval);
    let mut told_pressure = false;
    let mut started = Instant::now();
    loop {
        std::thread::sleep(interval.saturating_sub(started.elapsed()));
        started = Instant::now();
        let frame = sampler.tick()?;
        if !told_pressure && let Some(note) = pressure_note(sampler.pressure_triggers()) {
            warn(&note);
            told_pressure = true;
        }
        for event in frame.events.iter().filter(|e| filter.admits(e)) {
            if !out.print(event)? {
                return Ok(());
            }
        }
    }
}

/// Whether a past event is the followed sampler's to tell (it happened after its `baseline`
/// frame): a start of a container the baseline does not have (it started since; a start is
/// dated from the boot time in whole seconds, too coarse to compare), anything else dated
/// after the baseline was taken. Printed from the past as well, it would be told twice; a
/// baseline taken after the past was read would miss what happened in between.
fn since_the_baseline(event: &Event, baseline: &Frame) -> bool {
    match event.kind {
        EventKind::Started => !baseline
            .containers
            .iter()
            .any(|c| event.subject.container_id.as_ref() == Some(&c.view.container.id)),
        _ => event.at_ms > baseline.taken_at_ms,
    }
}

/// How pressure events come, once the triggers' watcher has armed or been refused (stderr:
/// so the operator knows whether a short stall is seen at once or only in `some avg10`).
fn pressure_note(status: TriggerStatus) -> Option<String> {
    use crate::sample::pressure_triggers::TriggerRefusal;
    if status.on() {
        return Some(format!(
            "pressure: PSI triggers armed on {} cgroups (a stall of the threshold's share of \
             1 s is told at once){}",
            status.cgroups,
            if status.beyond_budget > 0 {
                format!("; {} more sampled (budget)", status.beyond_budget)
            } else {
                String::new()
            }
        ));
    }
    let why = match status.refused? {
        TriggerRefusal::NotCgroup2 => "the pressure files are not on cgroup2",
        TriggerRefusal::NotPermitted => "not permitted (run as root)",
        TriggerRefusal::Unprivileged => {
            "without CAP_SYS_RESOURCE the kernel's triggers would miss stalls"
        }
        TriggerRefusal::Unsupported => "this kernel has no cgroup PSI triggers",
        TriggerRefusal::Other => "a trigger could not be made",
    };
    Some(format!(
        "pressure: sampled (`some avg10` each tick), no PSI triggers: {why}"
    ))
}

/// The time column: RFC 3339 UTC, whole seconds (as `isotop log`).
fn time_text(at_ms: u64) -> String {
    crate::control::audit::rfc3339(at_ms / 1000)
}

/// The kind column: `! ` before trouble.
fn kind_text(event: &Event) -> String {
    let mark = if event.kind.is_trouble() { "!" } else { " " };
    format!("{mark} {}", event.kind.name())
}

/// The past events at once: a table (or a line saying there are none), or a JSON array.
fn print_past(events: &[Event], json: bool) -> Result<(), CliError> {
    if json {
        return print_json(&events);
    }
    if events.is_empty() {
        return print_text(
            "no dated events in that time (throttling, pressure, refused forks and limit \
             changes by others are seen only while isotop runs: try --follow)\n",
        );
    }
    let mut table = Table::new(&["TIME", "CONTAINER", "KIND", "DETAIL"]);
    for e in events {
        table.push(vec![
            time_text(e.at_ms),
            e.subject.name.clone(),
            kind_text(e),
            e.detail.clone(),
        ]);
    }
    print_text(&table.render())
}

/// Events printed one at a time as they come (fixed-width text, or JSON lines).
struct Lines {
    json: bool,
}

impl Lines {
    /// Prints one event and flushes; false when the reader closed the pipe.
    fn print(&mut self, event: &Event) -> Result<bool, CliError> {
        let text = if self.json {
            let line = serde_json::to_string(event).map_err(|e| CliError::Output(e.to_string()))?;
            format!("{}\n", crate::host::text::escape_json(&line))
        } else {
            row(
                &time_text(event.at_ms),
                &event.subject.name,
                &kind_text(event),
                &event.detail,
            )
        };
        self.write(&text)
    }

    /// Writes `text` cleaned and flushes; false when the reader closed the pipe.
    fn write(&mut self, text: &str) -> Result<bool, CliError> {
        let text = crate::host::text::clean_lines(text);
        let mut out = std::io::stdout().lock();
        match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
            Err(e) => Err(CliError::Output(e.to_string())),
        }
    }
}

/// One followed line: the columns at fixed widths (a long name pushes the rest right).
fn row(time: &str, container: &str, kind: &str, detail: &str) -> String {
    format!("{time:<20}  {container:<20}  {kind:<16}  {detail}\n")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_read_side_finds_the_audit_log_where_the_acts_write_it() {
        assert_eq!(
            crate::host::events::audit::log_path(&crate::host::HostRoot::live()),
            crate::control::audit::log_path()
        );
    }

    #[test]
    fn the_pressure_note_says_whether_triggers_tell_stalls() {
        use super::{TriggerStatus, pressure_note};
        use crate::sample::pressure_triggers::TriggerRefusal;
        assert_eq!(
            pressure_note(TriggerStatus::default()),
            None,
            "not known yet"
        );
        let armed = TriggerStatus {
            armed: 6,
            cgroups: 2,
            beyond_budget: 3,
            ..TriggerStatus::default()
        };
        let note = pressure_note(armed).unwrap_or_default();
        assert!(note.contains("armed on 2 cgroups") && note.contains("3 more sampled"));
        let refused = TriggerStatus {
            refused: Some(TriggerRefusal::Unprivileged),
            ..TriggerStatus::default()
        };
        let note = pressure_note(refused).unwrap_or_default();
        assert!(note.starts_with("pressure: sampled") && note.contains("CAP_SYS_RESOURCE"));
    }
}
