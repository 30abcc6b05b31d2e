//! End to end: `isotop replay` in tmux on a recording of this host. The test records it
//! itself — frames of a real `sample::Sampler` appended by `record::Recorder` into a temporary
//! store, a second apart: two before a container this test starts (an `unshare` pid+mount
//! namespace in a uniquely named test cgroup, `tmux::TestContainer`), four while it runs, three
//! after it is gone. Replayed `--at` a frame of the middle, the screen shows that frame's time,
//! the container and its cgroup as they were (though both are gone now), its recorded start
//! in the Events view and its detail charts; `c` is refused; `]` `[` step, `}` `{` jump to the
//! frames the recording marks as having events; `q` exits 0.
//! Needs root and tmux (skips with the reason otherwise); guards remove what it made.

use crate::support::common;

use std::time::Duration;

use common::require_program;
use isotop::host::HostRoot;
use isotop::record::{RecordOptions, Recorder, Recording};
use isotop::sample::{Sampler, SamplerOptions};

use crate::support::tmux::Tmux;
use crate::tmux::TestContainer;

/// `t_ms` as the time bar writes it (RFC 3339 seconds, UTC).
fn rfc3339(t_ms: u64) -> String {
    isotop::control::audit::rfc3339(t_ms / 1000)
}

#[test]
#[ignore = "needs root"]
fn replay_in_tmux_shows_the_past_and_moves_through_it() {
    if !require_program("tmux") || !require_program("unshare") {
        return;
    }
    let store = tempfile::tempdir().expect("a temporary directory");
    let mut recorder = Recorder::create(store.path(), RecordOptions::default()).expect("recorder");
    // Every part read each tick whatever it costs (the cgroup tree's cadence stretches on a slow
    // machine: under emulation the test cgroup was read into none of its four frames).
    let mut sampler = Sampler::with_options(
        HostRoot::live(),
        SamplerOptions {
            part_budget: f64::INFINITY,
            ..SamplerOptions::default()
        },
    );
    let mut tick = |recorder: &mut Recorder| {
        let frame = sampler.tick().expect("a frame of this host");
        recorder.append(&frame).expect("appended");
        std::thread::sleep(Duration::from_millis(1_000));
    };
    for _ in 0..2 {
        tick(&mut recorder);
    }
    let container = TestContainer::start("isorp", "ui-replay");
    let name = container.name.clone();
    let cgroup_name = container.cgroups.rel.trim_start_matches('/').to_string();
    for _ in 0..4 {
        tick(&mut recorder);
    }
    drop(container);
    for _ in 0..3 {
        tick(&mut recorder);
    }
    drop(recorder);

    let recording = Recording::open(store.path()).expect("the recording opens");
    let entries = recording.entries().to_vec();
    let count = entries.len();
    assert_eq!(count, 9);
    let shown = recording.frame(4).expect("frame 5");
    assert!(
        shown
            .containers
            .iter()
            .any(|c| c.view.container.name == name),
        "the container is in the frame replayed"
    );
    let at = &entries[4];
    // The frame's own time, to the ms: the frame at or before it is that one.
    let at_text = format!(
        "{}.{:03}Z",
        rfc3339(at.t_ms).trim_end_matches('Z'),
        at.t_ms % 1000
    );
    let isotop = env!("CARGO_BIN_EXE_isotop");
    let dir = store.path().display();
    let tmux = Tmux::start(
        160,
        40,
        &format!("{isotop} replay {dir} --at {at_text}; echo EXITED $?; sleep 60"),
    );
    tmux.expect("REPLAY", "the time bar");
    tmux.expect(&format!("frame 5 of {count}"), "the frame asked for");
    tmux.expect(&rfc3339(at.t_ms), "its time");
    tmux.filter(&name);
    tmux.expect_screen("the container's row, as it was then", |s| {
        s.lines()
            .any(|l| l.contains(&name) && l.contains("running") && !l.starts_with("filter:"))
    });

    // Acts are refused.
    tmux.keys(&["c"]);
    tmux.expect("a replay: acts are off", "c refused");

    // Its cgroup, in the Cgroups view.
    tmux.escape("filter: ");
    tmux.keys(&["2"]);
    tmux.expect("CGROUP", "the Cgroups view");
    tmux.filter(&cgroup_name);
    tmux.expect(&format!("/{cgroup_name}/box"), "the test cgroup's leaf");

    // The Events view: the container's start, as recorded; T (not t) is trouble-only here.
    tmux.escape("filter: ");
    tmux.keys(&["6"]);
    tmux.expect_screen("the recorded start of the container", |s| {
        s.lines()
            .any(|l| l.contains(&name) && l.contains("started"))
    });
    tmux.expect("T every event", "the hint names the replay's key");
    // Its detail charts, from the recorded history.
    tmux.keys(&["1"]);
    tmux.filter(&name);
    tmux.keys(&["Enter"]);
    tmux.expect("throttled %", "the detail pane's charts");
    tmux.expect(&format!("{name} (unknown)"), "the detail title");
    tmux.escape("throttled %");
    tmux.escape("filter: ");

    // ] and [ step; } and { jump to the frames with events.
    tmux.keys(&["]"]);
    tmux.expect(&format!("frame 6 of {count}"), "] one frame on");
    tmux.expect(&rfc3339(entries[5].t_ms), "its time");
    tmux.keys(&["["]);
    tmux.keys(&["["]);
    tmux.expect(&format!("frame 4 of {count}"), "[ twice: two frames back");
    tmux.keys(&["}"]);
    let next = (4..count)
        .find(|&i| entries[i].has_events)
        .expect("a frame with events after the 4th (the container's exit at least)");
    tmux.expect(
        &format!("frame {} of {count}", next + 1),
        "} the next frame with events",
    );
    tmux.keys(&["{"]);
    match (0..next).rev().find(|&i| entries[i].has_events) {
        Some(previous) => tmux.expect(
            &format!("frame {} of {count}", previous + 1),
            "{ the previous frame with events",
        ),
        None => tmux.expect("no event recorded before this frame", "{ with none before"),
    };

    tmux.keys(&["q"]);
    tmux.expect("EXITED 0", "isotop exits with status 0 on q");
}
