//! The flight recorder's scenario (issue 16's main test): real containers of isotop's own
//! runtime started, one throttled by `isotop limit --cpus`, one OOM-killed (a memory limit and
//! an allocation past it), one exiting 3, one exiting 0, while a real `sample::Sampler` ticks
//! about once a second; each frame is appended by a `record::Recorder` and kept as its live JSON.
//! Then the recording is opened and, at the scenario's moments (before the start, while
//! throttled, right after the OOM kill, after the exits, between two frames), the frame at or
//! before each time is byte-equal to the live one (so its events are the live events), and the
//! real binary's `isotop ls --json --at T --from DIR` is byte-equal to the `ls` JSON the
//! subcommand's own builder made of the live frame. Containers are removed by their guards.

use std::time::{Duration, Instant};

use isotop::host::events::{Event, EventKind};
use isotop::host::logs::time::format_rfc3339_ns;
use isotop::record::{RecordOptions, Recorder, Recording};
use isotop::sample::{Frame, Sampler};

use crate::support::common::{self, isotop};
use crate::support::containers::{Container, require_launch};
use crate::support::sampling;

/// One live frame as the test kept it.
struct Live {
    t_ms: u64,
    /// The frame's JSON.
    json: String,
    /// `isotop ls --json --at` of it, by the subcommand's builder.
    ls_json: String,
    events: Vec<Event>,
}

/// The sampler, the recorder and what was live.
struct Scenario {
    sampler: Sampler,
    recorder: Recorder,
    live: Vec<Live>,
}

impl Scenario {
    /// One tick: the frame recorded and kept; ticks are about a second apart.
    fn tick(&mut self) -> &Live {
        if let Some(last) = self.live.last() {
            let next = last.t_ms + 1_000;
            let now = isotop::units::now_ms();
            if next > now {
                std::thread::sleep(Duration::from_millis(next - now));
            }
        }
        let frame: Frame = self.sampler.tick().expect("a tick");
        self.recorder.append(&frame).expect("the frame appended");
        self.live.push(Live {
            t_ms: frame.taken_at_ms,
            json: serde_json::to_string(&frame).expect("a frame serializes"),
            ls_json: isotop::ls_json_of_frame(&frame).expect("ls JSON of the frame"),
            events: frame.events,
        });
        self.live.last().expect("just pushed")
    }

    /// The first frame from `since` on whose events `found` holds — one already kept (the
    /// scenario's moments need not come in the order it waits for them: under emulation the
    /// OOM kill was told before the throttling was), else ticking at most `ticks` more.
    fn until(
        &mut self,
        what: &str,
        since: usize,
        ticks: usize,
        found: impl Fn(&[Event]) -> bool,
    ) -> usize {
        if let Some(index) = (since..self.live.len()).find(|&i| found(&self.live[i].events)) {
            return index;
        }
        for _ in 0..ticks {
            if found(&self.tick().events) {
                return self.live.len() - 1;
            }
        }
        let seen: Vec<&Event> = self.live.iter().flat_map(|l| &l.events).collect();
        panic!("{what}: not within {ticks} ticks; events seen: {seen:#?}");
    }
}

fn of<'a>(events: &'a [Event], id: &str) -> impl Iterator<Item = &'a EventKind> {
    events
        .iter()
        .filter(move |e| e.subject.container_id.as_deref() == Some(id))
        .map(|e| &e.kind)
}

fn rfc3339_ms(ms: u64) -> String {
    format_rfc3339_ns(ms * 1_000_000)
}

#[test]
#[ignore = "needs root"]
fn a_recorded_scenario_replays_as_it_was_live() {
    if !require_launch() {
        return;
    }
    let store_dir = tempfile::tempdir().expect("a temporary directory");
    let store = store_dir.path().join("record");
    let state = tempfile::tempdir().expect("a state directory for the limit's journal");
    let mut scenario = Scenario {
        sampler: sampling::eager_sampler(),
        recorder: Recorder::create(&store, RecordOptions::default()).expect("a recorder"),
        live: Vec::new(),
    };
    // Before the start: two frames without the scenario's containers.
    scenario.tick();
    let before = scenario.tick().t_ms;

    let name = |what: &str| common::unique_name(&format!("scenario-{what}"));
    // A tick after each start: under emulation a start takes seconds, and a container that
    // lives 5 s could come and go between two ticks were they all started first.
    let first_after = scenario.live.len();
    let busy = Container::sh(&["--name", &name("busy")], "while :; do :; done");
    scenario.tick();
    let oom = Container::sh(
        &["--name", &name("oom"), "--memory", "16M"],
        "sleep 3; head -c 64M /dev/zero | tail > /dev/null; sleep 120",
    );
    scenario.tick();
    let fail = Container::sh(&["--name", &name("fail")], "sleep 5; exit 3");
    scenario.tick();
    let ok = Container::sh(&["--name", &name("ok")], "sleep 5; exit 0");
    scenario.tick();
    let [busy_id, oom_id, fail_id, ok_id] = [&busy, &oom, &fail, &ok].map(|c| c.id.clone());
    let started =
        |events: &[Event], id: &str| of(events, id).any(|k| matches!(k, EventKind::Started));
    let all_started = |live: &[Live]| {
        [&busy_id, &oom_id, &fail_id, &ok_id]
            .iter()
            .all(|id| live[first_after..].iter().any(|l| started(&l.events, id)))
    };
    while !all_started(&scenario.live) {
        assert!(
            scenario.live.len() < first_after + 14,
            "the four starts not within 10 ticks after the last"
        );
        scenario.tick();
    }

    // Throttled: a CPU quota of a tenth of a CPU on a busy loop, through the real act.
    let out = isotop()
        .args(["limit", &busy_id, "--cpus", "0.1"])
        .env("ISOTOP_STATE_DIR", state.path())
        .output()
        .expect("isotop limit runs");
    assert!(out.status.success(), "limit: {out:?}");
    let throttled = scenario.until("the throttling", first_after, 15, |events| {
        of(events, &busy_id).any(|k| matches!(k, EventKind::Throttled { ended: false, .. }))
    });
    let oom_killed = scenario.until("the OOM kill", first_after, 20, |events| {
        of(events, &oom_id).any(|k| matches!(k, EventKind::OomKill { .. }))
    });
    // The exits: both containers' (any order, maybe already in an earlier frame).
    let exited = |id: &str, live: &[Live]| {
        live.iter()
            .flat_map(|l| of(&l.events, id).cloned().collect::<Vec<_>>())
            .find(|k| matches!(k, EventKind::Exited { .. }))
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while exited(&fail_id, &scenario.live).is_none() || exited(&ok_id, &scenario.live).is_none() {
        assert!(Instant::now() < deadline, "the exits not within 30 s");
        scenario.tick();
    }
    // The code is the one isotop's runtime recorded; a sampler that saw the processes gone
    // before the supervisor wrote the record has none (`null`, never a wrong code).
    for (id, code) in [(&fail_id, 3), (&ok_id, 0)] {
        let kind = exited(id, &scenario.live);
        assert!(
            matches!(kind, Some(EventKind::Exited { exit_code: Some(c), stop_requested: false }) if c == code)
                || matches!(
                    kind,
                    Some(EventKind::Exited {
                        exit_code: None,
                        stop_requested: false
                    })
                ),
            "exit {code} expected: {kind:?}"
        );
    }
    let after_exits = scenario.tick().t_ms;
    let Scenario { live, recorder, .. } = scenario;
    drop(recorder);

    // Replayed: every frame byte-equal to the live one.
    let recording = Recording::open(&store).expect("the recording opens");
    assert!(
        recording.warnings().is_empty(),
        "{:?}",
        recording.warnings()
    );
    assert_eq!(recording.entries().len(), live.len());
    for (index, frame) in live.iter().enumerate() {
        let replayed = recording.frame(index).expect("a frame decodes");
        assert_eq!(
            serde_json::to_string(&replayed).expect("serializes"),
            frame.json,
            "frame {index}"
        );
    }

    // The scenario's moments: (what, time asked, the live frame it is at or after).
    let between = live[throttled].t_ms + (live[throttled + 1].t_ms - live[throttled].t_ms) / 2;
    let moments = [
        (
            "before the start",
            before,
            live.iter().position(|l| l.t_ms == before),
        ),
        ("while throttled", live[throttled].t_ms, Some(throttled)),
        (
            "right after the OOM kill",
            live[oom_killed].t_ms,
            Some(oom_killed),
        ),
        ("between two frames", between, Some(throttled)),
        ("after the exits", after_exits, Some(live.len() - 1)),
    ];
    for (what, at_ms, index) in moments {
        let index = index.expect("a live frame at that moment");
        assert_eq!(recording.index_at_or_before(at_ms), Some(index), "{what}");
        let replayed = recording.frame(index).expect("decodes");
        assert_eq!(
            serde_json::to_string(&replayed).expect("serializes"),
            live[index].json,
            "{what}"
        );
        assert_eq!(replayed.events, live[index].events, "{what}");
        let out = isotop()
            .args(["ls", "--json", "--at", &rfc3339_ms(at_ms), "--from"])
            .arg(&store)
            .output()
            .expect("isotop ls runs");
        assert!(out.status.success(), "{what}: {out:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            live[index].ls_json,
            "{what}: ls --json --at {}",
            rfc3339_ms(at_ms)
        );
    }
    // What the rows say at those moments.
    let rows = |index: usize| -> Vec<serde_json::Value> {
        serde_json::from_str(&live[index].ls_json).expect("ls JSON")
    };
    let row = |index: usize, id: &str| rows(index).into_iter().find(|r| r["id"] == id);
    assert!(row(0, &busy_id).is_none(), "busy before its start");
    let busy_row = row(throttled, &busy_id).expect("busy while throttled");
    assert_eq!(busy_row["cpu_limit_cpus"], 0.1);
    assert!(
        busy_row["throttled_percent"].as_f64().unwrap_or(0.0) > 0.0,
        "{busy_row}"
    );
    match row(oom_killed, &oom_id) {
        Some(oom_row) => assert!(oom_row["oom_kills"].as_u64().unwrap_or(0) >= 1, "{oom_row}"),
        // The kill ended the whole container (the v2 VM killed its init too): the kill is still
        // its own (the event above), and it is told exited.
        None => assert!(
            exited(&oom_id, &live).is_some(),
            "oom neither shown after its kill nor told exited"
        ),
    }
    let last = live.len() - 1;
    assert!(row(last, &fail_id).is_none() && row(last, &ok_id).is_none());
    // The recorded rows have the live `ls --json` schema, plus `recorded_at`.
    let out = isotop()
        .args(["ls", "--json"])
        .output()
        .expect("isotop ls runs");
    let now: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("live ls JSON");
    let keys = |row: &serde_json::Value| -> Vec<String> {
        let mut keys: Vec<String> = row
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        keys.sort();
        keys
    };
    let live_busy = now
        .iter()
        .find(|r| r["id"] == busy_id.as_str())
        .expect("busy now");
    let mut recorded_keys = keys(&busy_row);
    recorded_keys.retain(|k| k != "recorded_at");
    assert_eq!(recorded_keys, keys(live_busy));
}
