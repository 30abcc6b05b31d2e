//! Dump on trouble (`record::trouble`) on the dashboard's fixture frames, one a second: a
//! trigger writes the ring's window as a store that `Recording::open` reads back frame for
//! frame (JSON), the dump stays open for the cooldown and merges the triggers in it; the ring's
//! bounds in time and bytes hold, a frame over the byte bound is not kept; at most K dumps and M
//! bytes stay on disk; a hostile container name makes one safe path component; a link planted
//! at a dump's name or at the dumps' directory is not followed, and a parent others may write
//! is refused.

use crate::support::fixture;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use isotop::host::events::{Event, EventKind, Subject, Timing};
use isotop::record::Recording;
use isotop::record::trouble::{
    SUBJECT_CHARS, TroubleOptions, TroubleRecorder, TroubleReport, dump_name,
};
use isotop::sample::Frame;

/// Frame `seq` of the fixture without its own events.
fn quiet(seq: u64) -> Frame {
    let mut frame = fixture::frame(seq, true);
    frame.events.clear();
    frame
}

fn event(seq: u64, name: &str, kind: EventKind) -> Event {
    Event {
        at_ms: fixture::T0_MS + seq * 1000,
        timing: Timing::Sampled,
        subject: Subject {
            container_id: None,
            name: name.to_string(),
            cgroup: None,
        },
        kind,
        detail: "test".to_string(),
    }
}

fn oom(seq: u64, name: &str) -> Event {
    event(
        seq,
        name,
        EventKind::OomKill {
            pid: Some(7),
            command: Some("worker".into()),
            count: 1,
        },
    )
}

/// A trouble recorder with `options` and the reports it makes, in order.
pub(crate) fn start(options: TroubleOptions) -> (TroubleRecorder, Arc<Mutex<Vec<TroubleReport>>>) {
    let reports = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&reports);
    let recorder = TroubleRecorder::start(
        options,
        Arc::new(move |r: &TroubleReport| sink.lock().unwrap().push(r.clone())),
    )
    .unwrap();
    (recorder, reports)
}

/// A recorder into `dir/trouble` and the reports it makes.
struct Rig {
    recorder: TroubleRecorder,
    reports: Arc<Mutex<Vec<TroubleReport>>>,
    offered: Vec<Frame>,
}

impl Rig {
    fn new(options: TroubleOptions) -> Rig {
        let (recorder, reports) = start(options);
        Rig {
            recorder,
            reports,
            offered: Vec::new(),
        }
    }

    /// Offers frame `seq` with `events`, waiting until it is kept (and any dump written).
    fn feed(&mut self, seq: u64, events: Vec<Event>) {
        let mut frame = quiet(seq);
        frame.events = events;
        assert!(self.recorder.offer(Arc::new(frame.clone())));
        self.recorder.flush();
        self.offered.push(frame);
    }

    fn reports(&self) -> Vec<TroubleReport> {
        self.reports.lock().unwrap().clone()
    }

    fn dumped(&self) -> Vec<PathBuf> {
        self.reports()
            .iter()
            .filter_map(|r| match r {
                TroubleReport::Dumped { dir, .. } => Some(dir.clone()),
                _ => None,
            })
            .collect()
    }
}

fn test_options(dir: &Path) -> TroubleOptions {
    let mut options = TroubleOptions::new(dir.join("trouble"));
    options.window = Duration::from_secs(30);
    options.cooldown = Duration::from_secs(20);
    options
}

fn json(frame: &Frame) -> String {
    serde_json::to_string(frame).unwrap()
}

/// The frames of the store in `dir`, as JSON.
fn stored(dir: &Path) -> Vec<String> {
    let recording = Recording::open(dir).unwrap();
    assert!(
        recording.warnings().is_empty(),
        "{:?}",
        recording.warnings()
    );
    (0..recording.entries().len())
        .map(|i| json(&recording.frame(i).unwrap()))
        .collect()
}

fn offered_json(rig: &Rig, seqs: std::ops::RangeInclusive<u64>) -> Vec<String> {
    rig.offered
        .iter()
        .filter(|f| seqs.contains(&f.seq))
        .map(json)
        .collect()
}

/// The permission bits of `path` itself (a link's own).
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path).map_or(0, |m| m.mode() & 0o7777)
}

#[test]
fn a_trigger_dumps_the_window_and_the_cooldown_after_it() {
    let tmp = tempfile::tempdir().unwrap();
    let mut rig = Rig::new(test_options(tmp.path()));
    for seq in 0..60 {
        rig.feed(seq, Vec::new());
    }
    // Nothing named on disk before trouble: the dumps' directory (made at start, 0700) holds
    // the ring's bytes in unnamed files only.
    let listed: Vec<_> = std::fs::read_dir(tmp.path().join("trouble"))
        .expect("the dumps' directory")
        .collect();
    assert!(listed.is_empty(), "{listed:?}");
    assert_eq!(mode(&tmp.path().join("trouble")), 0o700);
    rig.feed(60, vec![oom(60, "api")]);
    let dumps = rig.dumped();
    assert_eq!(dumps.len(), 1, "{:?}", rig.reports());
    let dump = &dumps[0];
    assert_eq!(dump.parent(), Some(tmp.path().join("trouble").as_path()));
    assert_eq!(
        dump.file_name().unwrap().to_str().unwrap(),
        "20260102T030505Z-oom_kill-api"
    );
    assert_eq!(mode(dump), 0o700);
    assert_eq!(mode(&tmp.path().join("trouble")), 0o700);
    // The window: from a keyframe between 3/4 of the ring's 30 s and all of it before the
    // trigger (a keyframe comes every quarter of the span; the ring leaves a keyframe's group
    // at once).
    let first = first_seq(dump);
    assert!(
        (30..=38).contains(&first),
        "the window starts at frame {first}"
    );
    let line = rig.reports()[0].line();
    assert!(
        line.starts_with(&format!(
            "OOM kill in api: the last {}s ({} frames) written; isotop replay ",
            60 - first,
            61 - first
        )),
        "{line}"
    );
    assert!(
        line.ends_with(&format!("; isotop replay {}", dump.display())),
        "{line}"
    );
    // Exactly as offered; the first decodes alone (a keyframe); the OOM kill is in the last.
    assert_eq!(stored(dump), offered_json(&rig, first..=60));
    let recording = Recording::open(dump).unwrap();
    let last = recording.frame(recording.entries().len() - 1).unwrap();
    assert!(matches!(last.events[0].kind, EventKind::OomKill { .. }));
    assert!(recording.entries().last().unwrap().has_events);

    // The cooldown: frames until 20 s after the trigger go into the same dump; a trigger in it
    // is merged, no second dump.
    for seq in 61..=85 {
        let events = if seq == 70 {
            vec![oom(70, "web")]
        } else {
            Vec::new()
        };
        rig.feed(seq, events);
    }
    assert_eq!(rig.dumped().len(), 1, "{:?}", rig.reports());
    assert_eq!(rig.recorder.stats().merged, 1);
    assert_eq!(stored(dump), offered_json(&rig, first..=79));

    // After it, a new trigger makes a new dump, its window overlapping the first.
    rig.feed(
        86,
        vec![event(
            86,
            "web",
            EventKind::Exited {
                exit_code: Some(3),
                stop_requested: false,
            },
        )],
    );
    let dumps = rig.dumped();
    assert_eq!(dumps.len(), 2, "{:?}", rig.reports());
    assert!(dumps[1].ends_with("20260102T030531Z-exited-web"));
    let second = first_seq(&dumps[1]);
    assert!(
        (56..=64).contains(&second),
        "the window starts at frame {second}"
    );
    assert_eq!(stored(&dumps[1]), offered_json(&rig, second..=86));
    assert!(rig.reports()[1].line().starts_with("exit code 3 in web: "));
    rig.recorder.finish();
}

#[test]
fn only_trouble_triggers_and_thresholds_hold() {
    let tmp = tempfile::tempdir().unwrap();
    let mut options = test_options(tmp.path());
    options.triggers.throttled_percent = Some(80.0);
    options.triggers.pressure_percent = None;
    let mut rig = Rig::new(options);
    rig.feed(0, Vec::new());
    let throttled = |percent, ended| EventKind::Throttled { percent, ended };
    let calm = vec![
        event(
            1,
            "web",
            EventKind::Exited {
                exit_code: Some(0),
                stop_requested: false,
            },
        ),
        event(
            1,
            "web",
            EventKind::Exited {
                exit_code: None,
                stop_requested: false,
            },
        ),
        // `docker stop` / `isotop stop` of a command that ignored TERM: asked for, no trouble.
        event(
            1,
            "web",
            EventKind::Exited {
                exit_code: Some(137),
                stop_requested: true,
            },
        ),
        event(1, "web", throttled(60.0, false)),
        event(1, "web", throttled(95.0, true)),
        event(
            1,
            "web",
            EventKind::Pressure {
                resource: isotop::host::events::PressureResource::Memory,
                percent: 90.0,
                ended: false,
            },
        ),
        event(1, "web", EventKind::Started),
    ];
    rig.feed(1, calm);
    assert!(rig.reports().is_empty(), "{:?}", rig.reports());
    rig.feed(2, vec![event(2, "web", throttled(85.0, false))]);
    assert_eq!(rig.dumped().len(), 1, "{:?}", rig.reports());
    assert!(
        rig.reports()[0]
            .line()
            .starts_with("throttling at 85% in web: the last 2.0s (3 frames)"),
        "{}",
        rig.reports()[0].line()
    );
}

#[test]
fn the_ring_holds_its_time_and_byte_bounds() {
    let tmp = tempfile::tempdir().unwrap();
    // Time: 30 s of frames a second apart.
    let mut rig = Rig::new(test_options(tmp.path()));
    for seq in 0..100 {
        rig.feed(seq, Vec::new());
        let ring = rig.recorder.stats().ring;
        let span = ring.newest_ms.unwrap() - ring.oldest_ms.unwrap();
        assert!(span <= 30_000, "{ring:?}");
        // At least 3/4 of the span once there is that much (a keyframe every quarter).
        assert!(span >= (seq * 1000).min(22_500), "{ring:?}");
        assert_eq!(ring.frames as u64, span / 1000 + 1, "{ring:?}");
    }
    // One keyframe's cost: the first frame of a fresh ring.
    let one_frame = {
        let mut rig = Rig::new(test_options(tmp.path()));
        rig.feed(0, Vec::new());
        rig.recorder.stats().ring.bytes
    };

    // Bytes: room for three and a half frames holds three, whatever the time bound.
    let mut options = test_options(tmp.path());
    options.window = Duration::from_secs(3600);
    options.ring_bytes = one_frame * 7 / 2;
    let budget = options.ring_bytes;
    let mut rig = Rig::new(options);
    for seq in 0..40 {
        rig.feed(seq, Vec::new());
        let ring = rig.recorder.stats().ring;
        assert!(ring.bytes <= budget, "{ring:?} over {budget}");
        assert!(ring.frames >= 1, "{ring:?}");
    }
    let ring = rig.recorder.stats().ring;
    assert_eq!(ring.frames, 3, "{ring:?}");
    assert_eq!(ring.newest_ms, Some(fixture::T0_MS + 39_000));
    rig.feed(40, vec![oom(40, "api")]);
    let dumps = rig.dumped();
    assert_eq!(stored(&dumps[0]), offered_json(&rig, 38..=40));

    // A frame larger than the whole budget is not kept: nothing to dump, said so.
    let mut options = test_options(tmp.path());
    options.ring_bytes = 1000;
    let mut rig = Rig::new(options);
    rig.feed(0, Vec::new());
    rig.feed(1, vec![oom(1, "api")]);
    let ring = rig.recorder.stats().ring;
    assert_eq!((ring.frames, ring.bytes, ring.refused), (0, 0, 2));
    match &rig.reports()[..] {
        [TroubleReport::Skipped { why, .. }] => assert!(why.contains("1000 bytes"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert!(rig.dumped().is_empty());
}

/// The `seq` of the first frame of the store in `dir`.
fn first_seq(dir: &Path) -> u64 {
    Recording::open(dir).unwrap().frame(0).unwrap().seq
}

/// Names of the dumps in `dir`, sorted.
fn dumps_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn at_most_k_dumps_and_m_bytes_stay_on_disk() {
    let tmp = tempfile::tempdir().unwrap();
    let trouble = tmp.path().join("trouble");
    let mut options = test_options(tmp.path());
    options.window = Duration::from_secs(5);
    options.cooldown = Duration::from_secs(1);
    options.keep_dumps = 2;
    let mut rig = Rig::new(options.clone());
    for seq in 0..40 {
        let events = if seq % 10 == 9 {
            vec![oom(seq, &format!("c{seq}"))]
        } else {
            Vec::new()
        };
        rig.feed(seq, events);
    }
    assert_eq!(rig.dumped().len(), 4, "{:?}", rig.reports());
    assert_eq!(
        dumps_in(&trouble),
        [
            "20260102T030434Z-oom_kill-c29".to_string(),
            "20260102T030444Z-oom_kill-c39".to_string()
        ]
    );
    rig.recorder.finish();

    // Bytes: room for about one dump and a half keeps the newest alone; a file that is not a
    // dump is never removed.
    std::fs::write(trouble.join("notes.txt"), "mine").unwrap();
    let one_dump: u64 = std::fs::read_dir(trouble.join("20260102T030444Z-oom_kill-c39"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    options.keep_dumps = 20;
    options.keep_bytes = one_dump + one_dump / 2;
    let mut rig = Rig::new(options);
    for seq in 40..50 {
        let events = if seq == 49 {
            vec![oom(seq, "new")]
        } else {
            Vec::new()
        };
        rig.feed(seq, events);
    }
    rig.feed(50, Vec::new());
    rig.feed(51, Vec::new());
    rig.recorder.flush();
    assert_eq!(
        dumps_in(&trouble),
        [
            "20260102T030454Z-oom_kill-new".to_string(),
            "notes.txt".to_string()
        ]
    );
}

#[test]
fn a_hostile_container_name_makes_one_safe_component() {
    let tmp = tempfile::tempdir().unwrap();
    let mut rig = Rig::new(test_options(tmp.path()));
    rig.feed(0, Vec::new());
    let hostile = format!("../../../etc/cron.d/x\n\x1b[2J{}", "y".repeat(300));
    rig.feed(1, vec![oom(1, &hostile)]);
    let dumps = rig.dumped();
    assert_eq!(dumps.len(), 1, "{:?}", rig.reports());
    let dump = &dumps[0];
    assert_eq!(dump.parent(), Some(tmp.path().join("trouble").as_path()));
    let name = dump.file_name().unwrap().to_str().unwrap();
    assert!(
        name.starts_with("20260102T030406Z-oom_kill-etc_cron.d_x_2J"),
        "{name}"
    );
    assert!(
        name.len() <= "20260102T030406Z-oom_kill-".len() + SUBJECT_CHARS,
        "{name}"
    );
    assert!(
        name.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    );
    assert_eq!(stored(dump).len(), 2);
}

#[test]
fn planted_links_are_not_followed_and_a_shared_parent_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let victim = tmp.path().join("victim");
    std::fs::create_dir(&victim).unwrap();

    // A link planted at the dump's own name: another name is taken, the link left alone.
    let trouble = tmp.path().join("trouble");
    std::fs::create_dir(&trouble).unwrap();
    let trigger = oom(1, "api");
    let planted = trouble.join(dump_name(&trigger));
    std::os::unix::fs::symlink(&victim, &planted).unwrap();
    let mut rig = Rig::new(test_options(tmp.path()));
    rig.feed(0, Vec::new());
    rig.feed(1, vec![trigger]);
    let dumps = rig.dumped();
    assert_eq!(dumps, [PathBuf::from(format!("{}-2", planted.display()))]);
    assert!(std::fs::symlink_metadata(&planted).unwrap().is_symlink());
    assert_eq!(std::fs::read_dir(&victim).unwrap().count(), 0);
    assert_eq!(stored(&dumps[0]).len(), 2);
    rig.recorder.finish();

    // The dumps' directory itself a link: refused, nothing written through it.
    let other = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(&victim, other.path().join("trouble")).unwrap();
    let mut rig = Rig::new(test_options(other.path()));
    rig.feed(0, Vec::new());
    rig.feed(1, vec![oom(1, "api")]);
    match &rig.reports()[..] {
        [TroubleReport::Failed { why, .. }] => assert!(why.contains("symlink"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(std::fs::read_dir(&victim).unwrap().count(), 0);
    rig.recorder.finish();

    // A parent others may write (where anyone could plant): refused.
    let shared = tempfile::tempdir().unwrap();
    std::fs::set_permissions(shared.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let mut rig = Rig::new(test_options(shared.path()));
    rig.feed(0, Vec::new());
    rig.feed(1, vec![oom(1, "api")]);
    match &rig.reports()[..] {
        [TroubleReport::Failed { why, .. }] => assert!(why.contains("mode 777"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert!(!shared.path().join("trouble").exists());
}
