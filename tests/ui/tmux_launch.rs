//! End to end, as root: the real `isotop` dashboard in a detached tmux session launches one of
//! isotop's own containers from the `n` form (default image, `sleep 300`, a unique name),
//! the status line says it started, the new row appears selected (reverse video, and Enter
//! opens its detail pane with its id), then `x` → `r` → `y` removes it. The kernel's and the
//! store's files are checked at each step: the record, the name claim, the init process and
//! the container's cgroup in every hierarchy exist while it runs; after the remove none of
//! them, nor its data dir or its overlay mount, is left. Needs root and tmux (skips with the
//! reason otherwise); the tmux session is killed and `isotop rm -f NAME` runs in drop guards
//! even when an assertion fails.

use crate::support::{common, tmux};

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{cgroup_hierarchies, require_program, unique_name, wait_until};
use tmux::Tmux;

/// Removes the container by name when the test ends, however it ends.
struct RemoveOnDrop {
    name: String,
}

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        // Already removed by the test when it passed: then this says "no such container".
        let _ = common::run_isotop(&["rm", "-f", &self.name]);
    }
}

/// The id the store's name claim holds (`/run/isotop/names/<name>`).
fn claimed_id(name: &str) -> Option<String> {
    std::fs::read_to_string(Path::new("/run/isotop/names").join(name))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// The container's cgroup dir in every hierarchy (`/isotop/<id>`).
fn cgroup_dirs(id: &str) -> Vec<PathBuf> {
    cgroup_hierarchies()
        .into_iter()
        .map(|h| h.join("isotop").join(id))
        .collect()
}

/// Lines of this process's mountinfo that name the container's id (its overlay root).
fn mounts_naming(id: &str) -> Vec<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(id))
        .map(String::from)
        .collect()
}

/// True when some SGR sequence (`ESC [ … m`) on `line` turns reverse video on (parameter 7,
/// not counting the colour numbers after 38/48).
fn has_reverse(line: &str) -> bool {
    line.split("\x1b[").skip(1).any(|rest| {
        let Some(end) = rest.find(|c: char| c.is_ascii_alphabetic()) else {
            return false;
        };
        if !rest[end..].starts_with('m') {
            return false;
        }
        let params: Vec<u32> = rest[..end]
            .split(';')
            .map(|p| p.parse().unwrap_or(0))
            .collect();
        let mut i = 0;
        while i < params.len() {
            match params[i] {
                7 => return true,
                // Extended colour: 5;N or 2;R;G;B follow.
                38 | 48 | 58 => {
                    i += if params.get(i + 1) == Some(&5) { 3 } else { 5 };
                }
                _ => i += 1,
            }
        }
        false
    })
}

/// True when the table row of `name` (the line with it and the runtime `isotop`; not the
/// status line) is drawn in reverse video: the selection.
fn row_is_selected(screen_with_attributes: &str, name: &str) -> bool {
    screen_with_attributes
        .lines()
        .filter(|l| l.contains(name) && l.contains(" isotop "))
        .any(has_reverse)
}

#[test]
#[ignore = "needs root"]
fn dashboard_launches_selects_and_removes_an_isotop_container() {
    if !require_program("tmux") {
        return;
    }
    let state = tempfile::tempdir().unwrap();
    let name = unique_name("ui-launch");
    let _cleanup = RemoveOnDrop { name: name.clone() };

    let isotop = env!("CARGO_BIN_EXE_isotop");
    let tmux = Tmux::start(
        160,
        48,
        &format!(
            "ISOTOP_AUDIT_LOG={} ISOTOP_STATE_DIR={} {isotop} -d 0.5; echo EXITED $?; sleep 60",
            state.path().join("audit.jsonl").display(),
            state.path().join("state").display()
        ),
    );
    tmux.expect("1 Containers", "the dashboard starts");
    tmux.expect("processes ", "the first frame arrives");

    // n: the form; Tab to the command, then the name; Enter launches.
    tmux.keys(&["n"]);
    tmux.expect("launch a container", "the form opens");
    tmux.keys(&["Tab"]);
    tmux.text("sleep 300");
    tmux.expect("sleep 300", "the command as typed");
    tmux.keys(&["Tab"]);
    tmux.text(&name);
    tmux.expect(&name, "the name as typed");
    tmux.keys(&["Enter"]);
    let screen = tmux.expect_screen("the launch outcome", |s| {
        s.contains(&format!("started {name} (")) || s.contains("launch failed")
    });
    assert!(
        screen.contains(&format!("started {name} (")),
        "the launch failed:\n{screen}"
    );

    // The store and the kernel have it: record, name claim, init process, cgroups.
    let id = claimed_id(&name).expect("the name is claimed in /run/isotop/names");
    assert_eq!(id.len(), 64, "ids are 64 hex digits: {id}");
    let record_path = Path::new("/run/isotop").join(&id).join("state.json");
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&record_path).expect("the record"))
            .expect("the record is JSON");
    assert_eq!(record["name"], name.as_str());
    let pid = record["pid"]
        .as_i64()
        .expect("the record names the init pid") as i32;
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    assert_eq!(
        comm.trim(),
        "sleep",
        "the container's init runs the command"
    );
    for dir in cgroup_dirs(&id) {
        let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
        assert!(
            procs.split_whitespace().any(|p| p == pid.to_string()),
            "{} holds the init {pid}: {procs:?}",
            dir.display()
        );
    }

    // The row appears, selected (reverse video), with runtime isotop.
    tmux.expect_screen("the container's row", |s| {
        s.lines()
            .any(|l| l.contains(&name) && l.contains(" isotop "))
    });
    let mut last = String::new();
    let selected = wait_until(Duration::from_secs(20), || {
        last = tmux.screen_with_attributes();
        row_is_selected(&last, &name)
    });
    assert!(selected, "the new row is not the selection:\n{last}");
    // Enter opens the selection's detail pane: it is this container.
    tmux.keys(&["Enter"]);
    tmux.expect(&id[..40], "the detail pane shows the new container's id");
    tmux.escape(&id[..40]);

    // x: the menu; r picks remove; y confirms.
    tmux.keys(&["x"]);
    tmux.expect("[s stop]", "the stop / remove menu");
    tmux.keys(&["r"]);
    tmux.expect(
        &format!("remove {name} (stopping it first)? y/N"),
        "the confirmation",
    );
    tmux.keys(&["y"]);
    // `sleep` is PID 1 of its pid namespace and ignores TERM: the stop sends KILL after its
    // 10 s timeout, so the outcome may take that long and more.
    let mut screen = String::new();
    let done = wait_until(Duration::from_secs(60), || {
        screen = tmux.screen();
        screen.contains(&format!("removed {name}")) || screen.contains(&format!("remove {name}:"))
    });
    assert!(done, "no remove outcome:\n{screen}");
    assert!(
        screen.contains(&format!("removed {name}")),
        "the remove failed:\n{screen}"
    );

    // Nothing is left: process, record, name, data, cgroups, mount.
    let gone = wait_until(Duration::from_secs(10), || {
        !Path::new(&format!("/proc/{pid}")).exists()
    });
    assert!(gone, "the container's init {pid} still runs");
    assert!(!record_path.exists(), "the record is left");
    assert!(
        !Path::new("/run/isotop").join(&id).exists(),
        "the run dir is left"
    );
    assert_eq!(claimed_id(&name), None, "the name claim is left");
    assert!(
        !Path::new("/var/lib/isotop/containers").join(&id).exists(),
        "the data dir (upper, work, rootfs, log) is left"
    );
    for dir in cgroup_dirs(&id) {
        assert!(!dir.exists(), "cgroup {} is left", dir.display());
    }
    assert_eq!(mounts_naming(&id), Vec::<String>::new(), "mounts are left");
    // The exit was asked for (its 137 is the stop's KILL): no dump on trouble for it. A few
    // ticks (0.5 s each) give the exit's event time to be noticed.
    std::thread::sleep(Duration::from_secs(2));
    let dumps: Vec<String> = std::fs::read_dir(state.path().join("state/trouble"))
        .map(|dir| {
            dir.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains("-exited-") && n.contains(&name))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        dumps,
        Vec::<String>::new(),
        "a stop asked for is no trouble"
    );

    tmux.keys(&["q"]);
    tmux.expect("EXITED 0", "the dashboard quits cleanly");
}
