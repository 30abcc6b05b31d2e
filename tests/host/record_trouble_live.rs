//! Dump on trouble for real (root): a real sampler's frames offered to the trouble recorder
//! while a container in a test cgroup (under a uniquely named parent, 32 MiB, no swap) has a
//! child OOM-killed, and while an isotop container is stopped and exits with 7. Each trigger
//! writes a dump that `Recording::open` reads: the frames that were live in the window, frame
//! for frame (JSON), the first decoding alone, the trigger's event in the last.

use crate::events::{OomBox, grouped};
use crate::record_trouble::start;
use crate::support::{common, containers, sampling};

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use isotop::host::events::EventKind;
use isotop::record::Recording;
use isotop::record::trouble::{Triggers, TroubleOptions, TroubleRecorder, TroubleReport};
use isotop::sample::{Frame, Sampler};

/// A trouble recorder dumping on `triggers` only, its reports, and the frames offered.
struct Live {
    recorder: TroubleRecorder,
    reports: Arc<Mutex<Vec<TroubleReport>>>,
    offered: Vec<Frame>,
    /// The test's container: other containers' events (other tests' OOM kills and exits on
    /// this host, seen by the same sampler) are taken out of the frames before they are offered.
    only: Option<String>,
    _dir: tempfile::TempDir,
}

impl Live {
    fn new(triggers: Triggers) -> Live {
        let dir = tempfile::tempdir().unwrap();
        let mut options = TroubleOptions::new(dir.path().join("trouble"));
        options.triggers = triggers;
        // Closed at the next frame: the dump holds the window up to the trigger.
        options.cooldown = Duration::ZERO;
        let (recorder, reports) = start(options);
        Live {
            recorder,
            reports,
            offered: Vec::new(),
            only: None,
            _dir: dir,
        }
    }

    fn offer(&mut self, frame: &Frame) {
        let mut frame = frame.clone();
        if let Some(id) = &self.only {
            frame
                .events
                .retain(|e| e.subject.container_id.as_deref() == Some(id.as_str()));
        }
        assert!(self.recorder.offer(Arc::new(frame.clone())));
        self.recorder.flush();
        self.offered.push(frame);
    }

    /// Ticks `sampler` `ticks` times, `gap` apart, offering each frame.
    fn tick(&mut self, sampler: &mut Sampler, ticks: usize, gap: Duration) {
        for _ in 0..ticks {
            std::thread::sleep(gap);
            let frame = sampler.tick().unwrap();
            self.offer(&frame);
        }
    }

    /// The one dump made, checked against the frames offered up to its trigger.
    fn the_dump(&self, is_trigger: impl Fn(&EventKind) -> bool) -> (PathBuf, Frame) {
        let reports = self.reports.lock().unwrap().clone();
        let (dir, trigger) = match &reports[..] {
            [TroubleReport::Dumped { dir, trigger, .. }] => (dir.clone(), trigger.clone()),
            other => panic!("not one dump: {other:#?}"),
        };
        assert!(is_trigger(&trigger.kind), "{trigger:#?}");
        let last = self
            .offered
            .iter()
            .position(|f| f.events.contains(&trigger))
            .expect("the trigger's frame was offered");
        let recording = Recording::open(&dir).unwrap();
        assert!(
            recording.warnings().is_empty(),
            "{:?}",
            recording.warnings()
        );
        let stored: Vec<String> = (0..recording.entries().len())
            .map(|i| serde_json::to_string(&recording.frame(i).unwrap()).unwrap())
            .collect();
        let live: Vec<String> = self.offered[..=last]
            .iter()
            .map(|f| serde_json::to_string(f).unwrap())
            .collect();
        assert_eq!(stored.len(), live.len());
        assert!(
            stored == live,
            "the dump's frames differ from the live ones"
        );
        let newest = recording.frame(recording.entries().len() - 1).unwrap();
        assert!(newest.events.contains(&trigger));
        (dir, newest)
    }
}

#[test]
#[ignore = "needs root"]
fn a_real_oom_kill_dumps_the_frames_before_it() {
    if !(common::require_program("unshare") && common::require_program("perl")) {
        return;
    }
    let oom = OomBox::new("trouble-oom");
    let mut sampler = sampling::eager_sampler();
    let mut live = Live::new(Triggers {
        oom_kill: true,
        exit_nonzero: false,
        throttled_percent: None,
        pressure_percent: None,
    });
    let (id, _) = grouped(&mut sampler, oom.init.0);
    live.only = Some(id.clone());
    live.tick(&mut sampler, 3, Duration::from_millis(200));
    assert!(live.reports.lock().unwrap().is_empty());
    let child = oom.kill_child();
    live.tick(&mut sampler, 3, Duration::from_millis(200));
    let (dir, newest) = live.the_dump(|k| matches!(k, EventKind::OomKill { .. }));
    let kill = newest
        .events
        .iter()
        .find(|e| e.subject.container_id.as_deref() == Some(id.as_str()))
        .expect("the OOM kill of the test's container");
    assert!(matches!(kill.kind, EventKind::OomKill { pid: Some(p), .. } if p == child));
    // Named after the trouble, 0700.
    let name = dir.file_name().unwrap().to_str().unwrap().to_string();
    assert!(name.contains("-oom_kill-"), "{name}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    live.recorder.finish();
}

#[test]
#[ignore = "needs root"]
fn a_real_non_zero_exit_dumps_the_frames_before_it() {
    if !containers::require_launch() {
        return;
    }
    let name = common::unique_name("trouble-exit");
    // TERM ends it with 7: sent by pid, not by `isotop stop` (an exit someone asked for is no
    // trouble).
    let c = containers::Container::sh(&["--name", &name], "trap 'exit 7' TERM; sleep 60 & wait");
    let mut sampler = sampling::eager_sampler();
    let mut live = Live::new(Triggers {
        oom_kill: false,
        exit_nonzero: true,
        throttled_percent: None,
        pressure_percent: None,
    });
    live.only = Some(c.id.clone());
    let mut seen = false;
    for _ in 0..20 {
        let frame = sampler.tick().unwrap();
        live.offer(&frame);
        if frame.containers.iter().any(|s| s.view.container.id == c.id) {
            seen = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(seen, "the container was never sampled");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(c.pid()),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("TERM to the container's init");
    assert!(common::wait_until(Duration::from_secs(20), || {
        c.record().is_some_and(|r| r["status"] == "exited")
    }));
    live.tick(&mut sampler, 3, Duration::from_millis(300));
    let (_, newest) = live.the_dump(|k| {
        *k == EventKind::Exited {
            exit_code: Some(7),
            stop_requested: false,
        }
    });
    assert!(
        newest
            .events
            .iter()
            .any(|e| e.subject.container_id.as_deref() == Some(c.id.as_str()))
    );
    live.recorder.finish();
}
