use std::io::Write;

use super::*;

fn line(unix_seconds: u64, target: &str, what: &str, old: &str, new: &str, result: &str) -> String {
    format!(
        "{{\"time\":\"t\",\"unix_seconds\":{unix_seconds},\"user\":\"root\",\"target\":\"{target}\",\
         \"what\":\"{what}\",\"old\":\"{old}\",\"new\":\"{new}\",\"result\":\"{result}\"}}\n"
    )
}

fn subject() -> Subject {
    Subject {
        container_id: Some("c1".into()),
        name: "web".into(),
        cgroup: None,
    }
}

#[test]
fn acts_since_a_time_become_dated_events() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let text = [
        line(100, "c1", "limit.memory", "max", "104857600", "ok"),
        "garbage\n\n".to_string(),
        line(200, "c1", "limit.memory", "104857600", "209715200", "ok"),
        line(201, "c1", "freeze", "thawed", "frozen", "ok"),
        line(202, "c1", "kill", "", "TERM", "ok"),
        line(203, "c1", "limit.pids", "max", "10", "permission denied"),
        line(204, "cgroup:/x", "undo", "10", "max", "ok"),
    ]
    .concat();
    std::fs::write(&path, text).unwrap();
    let (records, skipped) = read_since(&path, 150).unwrap();
    assert_eq!(skipped, 1);
    assert_eq!(records.len(), 5);
    let events: Vec<Event> = records
        .iter()
        .filter_map(|r| event_of(r, subject(), false))
        .collect();
    // The kill and the failed change are no events.
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(events[0].at_ms, 200_000);
    assert_eq!(events[0].timing, Timing::Dated);
    assert_eq!(
        events[0].kind,
        EventKind::LimitChanged {
            limit: "memory.limit_in_bytes".into(),
            from: Some("100.0MiB".into()),
            to: Some("200.0MiB".into()),
            by: ChangedBy::Isotop,
        }
    );
    assert_eq!(events[1].kind, EventKind::Frozen);
    assert!(
        matches!(&events[2].kind, EventKind::LimitChanged { limit, .. } if limit == "undo"),
        "{events:?}"
    );
    // No log: nothing, not an error.
    assert_eq!(read_since(&dir.path().join("none"), 0).unwrap().0.len(), 0);
}

#[test]
fn a_tail_reads_only_what_was_appended_whole_lines_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    std::fs::write(&path, line(1, "c1", "limit.cpu", "max", "50000", "ok")).unwrap();
    let mut tail = AuditTail::new(path.clone());
    assert!(tail.read_new().is_empty());
    let next = line(2, "c1", "limit.cpu", "50000", "max", "ok");
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    file.write_all(&next.as_bytes()[..30]).unwrap();
    assert!(tail.read_new().is_empty());
    file.write_all(&next.as_bytes()[30..]).unwrap();
    let read = tail.read_new();
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].unix_seconds, 2);
    // Rotated: read again from the start.
    std::fs::write(&path, line(3, "c2", "freeze", "", "", "ok")).unwrap();
    assert_eq!(tail.read_new()[0].target, "c2");
}

#[test]
fn knobs_and_values_of_acts() {
    assert_eq!(LimitKnob::of_act("limit.cpu_period"), Some(LimitKnob::Cpu));
    assert_eq!(LimitKnob::of_act("limit.io_write_bps"), Some(LimitKnob::Io));
    assert_eq!(
        LimitKnob::of_act("limit.io_weight"),
        Some(LimitKnob::IoWeight)
    );
    assert_eq!(LimitKnob::of_act("freeze"), None);
    assert_eq!(LimitKnob::Memory.file(true), "memory.max");
    assert_eq!(
        values_in("8:0 wbps=1048576 rbps=max"),
        vec![Limit::Value(1048576), Limit::Max]
    );
    assert_eq!(values_in("-1"), vec![Limit::Max]);
    assert_eq!(
        values_in("50000 100000"),
        vec![Limit::Value(50000), Limit::Value(100000)]
    );
}
