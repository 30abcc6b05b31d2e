//! `isotop logs -f` on running containers of other runtimes (a real process in a cgroup
//! named as the runtime names it, under a unique test parent; the runtime's records and log
//! in a fake root): a Docker `json-file` log renamed to `.1` mid-follow, with lines still
//! written to the renamed file before the new one starts, and a Podman `k8s-file` (CRI) log
//! copied and truncated in place (`copytruncate`), followed from `-n 3`. Every line appears
//! once, in order, and `-f` returns once the container's init is gone. Root: cgroups.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::logs_layout::{LogRoot, SECOND, T0, append, cri_line, docker_line, unique_id};
use crate::support::common::{CgroupGuard, ChildGuard, unique_name, wait_until};

/// A running container's init: `sleep` moved into `<test parent>/<scope>`.
fn container_init(cgroups: &CgroupGuard, scope: &str) -> ChildGuard {
    cgroups.child(scope);
    let init = ChildGuard::spawn(Command::new("sleep").arg("1000").stdin(Stdio::null()));
    cgroups.add_pid(scope, init.pid());
    init
}

/// `isotop logs -f …` running, its stdout lines collected as they come.
struct Following {
    child: ChildGuard,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Following {
    fn start(mut cmd: Command) -> Following {
        let mut child = ChildGuard::spawn(cmd.stdout(Stdio::piped()).stderr(Stdio::piped()));
        let stdout = child.0.stdout.take().expect("piped stdout");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock().expect("lines").push(line);
            }
        });
        Following { child, lines }
    }

    fn count(&self) -> usize {
        self.lines.lock().expect("lines").len()
    }

    fn wait_for(&self, count: usize) {
        let seen = wait_until(Duration::from_secs(30), || self.count() >= count);
        assert!(
            seen,
            "only {:?} of {count} lines",
            self.lines.lock().unwrap()
        );
    }

    /// Waits for `-f` to return; its lines.
    fn finish(mut self) -> Vec<String> {
        let child: &mut Child = &mut self.child.0;
        let ended = wait_until(Duration::from_secs(30), || {
            matches!(child.try_wait(), Ok(Some(_)))
        });
        let mut stderr = String::new();
        if let Some(mut err) = child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut err, &mut stderr);
        }
        assert!(
            ended,
            "isotop logs -f did not return after the container ended"
        );
        let status = child.try_wait().ok().flatten();
        assert!(status.is_some_and(|s| s.success()), "{status:?}: {stderr}");
        // The reader thread drains the pipe after the exit.
        std::thread::sleep(Duration::from_millis(200));
        self.lines.lock().expect("lines").clone()
    }
}

fn expected(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("line {i}")).collect()
}

fn docker_lines(range: std::ops::Range<usize>) -> String {
    range
        .map(|i| docker_line(&format!("line {i}\n"), "stdout", T0 + i as u64 * SECOND))
        .collect()
}

#[test]
#[ignore = "needs root"]
fn follow_a_docker_log_renamed_to_dot_1_mid_follow() {
    let root = LogRoot::new();
    let cgroups = CgroupGuard::new("logs-follow");
    let id = unique_id("follow");
    let name = unique_name("logs-follow");
    let mut init = container_init(&cgroups, &format!("docker-{id}.scope"));
    let log = root.docker(&id, &name, Some(init.pid()));
    append(&log, &docker_lines(0..10));
    let following = Following::start(root.logs(&["-f", &name]));
    following.wait_for(10);

    // The writer holds its descriptor across the rename: some lines land in the renamed
    // file after it was renamed, before the runtime starts the new one.
    let mut old = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    old.write_all(docker_lines(10..20).as_bytes()).unwrap();
    std::fs::rename(&log, log.with_extension("log.1")).unwrap();
    old.write_all(docker_lines(20..25).as_bytes()).unwrap();
    drop(old);
    append(&log, &docker_lines(25..40));
    following.wait_for(40);
    append(&log, &docker_lines(40..45));
    following.wait_for(45);

    // The container ends: -f returns with everything.
    let _ = init.0.kill();
    let _ = init.0.wait();
    assert_eq!(following.finish(), expected(0..45));
    assert!(Path::new(&log.with_extension("log.1")).exists());
}

fn cri_lines(range: std::ops::Range<usize>) -> String {
    range
        .map(|i| cri_line(&format!("line {i}"), "stdout", "F", T0 + i as u64 * SECOND))
        .collect()
}

#[test]
#[ignore = "needs root"]
fn follow_a_podman_log_through_copytruncate_from_the_last_lines() {
    let root = LogRoot::new();
    let cgroups = CgroupGuard::new("logs-truncate");
    let id = unique_id("truncate");
    let name = unique_name("logs-truncate");
    let mut init = container_init(&cgroups, &format!("libpod-{id}.scope"));
    let log = root.podman(&id, &name);
    append(&log, &cri_lines(0..10));
    let following = Following::start(root.logs(&["-f", "-n", "3", &name]));
    following.wait_for(3);
    append(&log, &cri_lines(10..15));
    following.wait_for(8);

    // logrotate's copytruncate: copied aside, emptied in place, written on from the start.
    std::fs::copy(&log, log.with_extension("log.1")).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    append(&log, &cri_lines(15..18));
    following.wait_for(11);
    // A line split in records (P, P, F) after the truncation.
    append(
        &log,
        &(cri_line("line ", "stdout", "P", T0)
            + &cri_line("1", "stdout", "P", T0)
            + &cri_line("8", "stdout", "F", T0)),
    );
    following.wait_for(12);

    let _ = init.0.kill();
    let _ = init.0.wait();
    assert_eq!(following.finish(), expected(7..19));
}
