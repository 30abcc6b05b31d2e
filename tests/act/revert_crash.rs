//! Timed reverts survive any crash, and the undo journal keeps the order of the writes
//! (issue 9, item 8), on real cgroups as root.
//!
//! - 100 tries of `isotop limit TARGET --cpus 0.5 --for 2s`, each SIGKILLed at a random point
//!   0–40 ms after it was spawned (seeded: `ISOTOP_CRASH_SEED` replays a run), on ten
//!   containers of their own; after the due time one `isotop pending` runs (any isotop run
//!   carries out overdue reverts whose worker is gone) and the workers that did start finish:
//!   every CPU limit is back to its original value, none stuck, nothing left pending.
//! - The same kills with no other isotop run afterwards: the worker, started right after the
//!   write-ahead record and before any write, reverts every limit by itself at its due time.
//! - Two `limit`s racing on one cgroup, many times: the journal's last entry is the value the
//!   file holds (the last write), each entry's old value is the previous entry's written one,
//!   and `undo` twice gives back first the other value, then the original.
//! - The dashboard carries out a revert whose worker is gone, on start and while it runs,
//!   with no other isotop run.

use crate::support::{common, fake_container, tmux};

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::CgroupGuard;
use fake_container::{Env, FakeContainer, move_to};

fn ready() -> bool {
    common::require_program("unshare")
}

fn v2_only() -> bool {
    Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

#[test]
#[ignore = "needs root"]
fn limit_for_killed_past_the_write_ahead_reverts_by_itself() {
    let test = common::test_name();
    if !ready() {
        return;
    }
    let seed = std::env::var("ISOTOP_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x1509_0009_u64);
    eprintln!("{test}: seed {seed} (ISOTOP_CRASH_SEED replays it)");
    let mut rng = Rng(seed.max(1));
    let env = Env::new();
    let guard = CgroupGuard::new("revert-alone");
    const CONTAINERS: usize = 20;
    const ROUNDS: usize = 5;
    let owned: Vec<Owned> = (0..CONTAINERS)
        .map(|i| Owned::start(&guard, &format!("c{i}")))
        .collect();
    let original: Vec<String> = owned.iter().map(Owned::cpu).collect();
    // How long a whole `limit --for` takes here: the kills land anywhere within it.
    let started = Instant::now();
    env.ok(&["limit", &owned[0].target(), "--cpus", "0.5", "--for", "1s"]);
    // Twice as long: some kills come after it ended (the limit is then on for sure).
    let whole = (started.elapsed().as_micros() as u64 * 2).max(1);
    assert!(common::wait_until(Duration::from_secs(5), || owned[0]
        .cpu()
        == original[0]));
    let (mut stuck, mut hit, mut finished) = (Vec::new(), 0, 0);
    for round in 0..ROUNDS {
        let mut tries = Vec::new();
        for (i, o) in owned.iter().enumerate() {
            let delay = Duration::from_micros(rng.next() % whole);
            let mut child = env
                .command(&["limit", &o.target(), "--cpus", "0.5", "--for", "2s"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let spawned = Instant::now();
            std::thread::sleep(delay.saturating_sub(spawned.elapsed()));
            let _ = child.kill();
            let status = child.wait().unwrap();
            if o.cpu() != original[i] {
                hit += 1;
            }
            finished += usize::from(status.success());
            tries.push((round * CONTAINERS + i, delay, status));
        }
        // Due within the third whole second from now; workers look every second. No isotop
        // runs meanwhile: only the workers can revert.
        let due = unix_now() + 2;
        while unix_now() <= due {
            std::thread::sleep(Duration::from_millis(50));
        }
        common::wait_until(Duration::from_secs(4), || {
            owned
                .iter()
                .zip(&original)
                .all(|(o, want)| o.cpu() == *want)
        });
        for ((n, delay, status), (o, want)) in tries.iter().zip(owned.iter().zip(&original)) {
            let now = o.cpu();
            if now != *want {
                stuck.push(format!(
                    "try {n} (killed {} µs after spawn, {status}): {} holds {now}, not {want}",
                    delay.as_micros(),
                    o.cpu_file.display()
                ));
                std::fs::write(&o.cpu_file, want).unwrap();
            }
        }
        // Reverts recorded before a kill that came ahead of any write: nothing to undo, but
        // the next round starts clean.
        env.ok(&["pending", "--json"]);
    }
    eprintln!(
        "{test}: {} tries in a {whole} µs window, {finished} finished before the kill, {hit} \
         with the limit on, {} stuck",
        CONTAINERS * ROUNDS,
        stuck.len()
    );
    assert!(
        stuck.is_empty(),
        "{} of {} timed limits were not reverted by themselves:\n{}",
        stuck.len(),
        CONTAINERS * ROUNDS,
        stuck.join("\n")
    );
}

/// A container in a cgroup of its own (its init alone in `child` of every hierarchy): an
/// `unknown` container isotop may act on.
struct Owned {
    container: FakeContainer,
    /// The file `--cpus` writes.
    cpu_file: PathBuf,
}

impl Owned {
    fn start(guard: &CgroupGuard, child: &str) -> Owned {
        guard.child(child);
        let container = FakeContainer::start();
        for dir in &guard.dirs {
            move_to(&dir.join(child), container.init);
        }
        let cpu_file = if v2_only() {
            guard.dir("", child).join("cpu.max")
        } else {
            guard.dir("cpu", child).join("cpu.cfs_quota_us")
        };
        Owned {
            container,
            cpu_file,
        }
    }

    fn target(&self) -> String {
        self.container.init.to_string()
    }

    fn cpu(&self) -> String {
        common::read_text(&self.cpu_file)
    }
}

/// xorshift64*: a small seeded generator, so a failing run can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
#[ignore = "needs root"]
fn limit_for_killed_at_random_points_never_leaves_the_limit_on() {
    let test = common::test_name();
    if !ready() {
        return;
    }
    let seed = std::env::var("ISOTOP_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x1509_0008_u64);
    eprintln!("{test}: seed {seed} (ISOTOP_CRASH_SEED replays it)");
    let mut rng = Rng(seed.max(1));
    let env = Env::new();
    let guard = CgroupGuard::new("revert-crash");
    const CONTAINERS: usize = 20;
    const ROUNDS: usize = 10;
    let owned: Vec<Owned> = (0..CONTAINERS)
        .map(|i| Owned::start(&guard, &format!("c{i}")))
        .collect();
    let original: Vec<String> = owned.iter().map(Owned::cpu).collect();

    let mut stuck = Vec::new();
    let mut hit = 0;
    for round in 0..ROUNDS {
        let mut tries = Vec::new();
        for (i, o) in owned.iter().enumerate() {
            let delay = Duration::from_micros(rng.next() % 40_001);
            let mut child = env
                .command(&["limit", &o.target(), "--cpus", "0.5", "--for", "2s"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let spawned = Instant::now();
            std::thread::sleep(delay.saturating_sub(spawned.elapsed()));
            let _ = child.kill();
            let status = child.wait().unwrap();
            // Killed while the limit was on (or the worker already had it): the hard cases.
            if o.cpu() != original[i] {
                hit += 1;
            }
            tries.push((round * CONTAINERS + i, delay, status));
        }
        // Every revert of this round is due 2 s after its start, rounded up to a whole second:
        // by the third whole second from now at the latest.
        let due = unix_now() + 2;
        while unix_now() <= due {
            std::thread::sleep(Duration::from_millis(50));
        }
        // Any isotop run carries out the overdue reverts whose worker is gone.
        env.ok(&["pending", "--json"]);
        // The workers that did start revert by themselves (they look every second).
        common::wait_until(Duration::from_secs(5), || {
            owned
                .iter()
                .zip(&original)
                .all(|(o, want)| o.cpu() == *want)
        });
        for ((n, delay, status), (o, want)) in tries.iter().zip(owned.iter().zip(&original)) {
            let now = o.cpu();
            if now != *want {
                stuck.push(format!(
                    "try {n} (killed {} µs after spawn, {status}): {} holds {now}, not {want}",
                    delay.as_micros(),
                    o.cpu_file.display()
                ));
                // Put it back by hand so the next tries start from the original.
                std::fs::write(&o.cpu_file, want).unwrap();
            }
        }
    }
    eprintln!(
        "{test}: {} tries, {hit} killed with the limit on, {} stuck",
        CONTAINERS * ROUNDS,
        stuck.len()
    );
    assert!(
        stuck.is_empty(),
        "{} of {} timed limits stuck after their due time:\n{}",
        stuck.len(),
        CONTAINERS * ROUNDS,
        stuck.join("\n")
    );
    let left = env.ok(&["pending", "--json"]);
    assert!(
        common::wait_until(Duration::from_secs(5), || env
            .ok(&["pending", "--json"])
            .trim()
            == "[]"),
        "reverts still pending after all were due: {left}"
    );
}

/// The journal's entries for files of `file`, oldest first: (old, written).
fn entries(env: &Env, file: &Path) -> Vec<(String, String)> {
    env.journal()
        .iter()
        .flat_map(|c| c["files"].as_array().cloned().unwrap_or_default())
        .filter(|f| f["path"].as_str() == Some(file.to_str().unwrap()))
        .map(|f| {
            (
                f["old"].as_str().unwrap_or_default().to_string(),
                f["written"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Starts one `isotop limit` per value, all released at once through a FIFO (each reads one
/// line of it before it execs isotop), and waits for all of them to succeed.
fn race(env: &Env, target: &str, values: &[&str], round: usize) {
    let gate = env.dir.path().join(format!("gate{round}"));
    nix::unistd::mkfifo(&gate, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let racers: Vec<_> = values
        .iter()
        .map(|cpus| {
            let mut cmd = env.command(&["limit", target, "--cpus", cpus]);
            let isotop = cmd.get_program().to_owned();
            let args: Vec<_> = cmd.get_args().map(|a| a.to_owned()).collect();
            let envs: Vec<_> = cmd
                .get_envs()
                .filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned())))
                .collect();
            cmd = std::process::Command::new("sh");
            cmd.arg("-c")
                .arg(r#"read _ < "$0"; exec "$@""#)
                .arg(&gate)
                .arg(isotop)
                .args(args)
                .envs(envs)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
            cmd.spawn().unwrap()
        })
        .collect();
    // Each racer takes one line; the write end stays open until all are done, so a racer
    // that opens the FIFO late still finds its line.
    std::thread::sleep(Duration::from_millis(100));
    let mut gate_writer = std::fs::OpenOptions::new().write(true).open(&gate).unwrap();
    std::io::Write::write_all(&mut gate_writer, "\n".repeat(values.len()).as_bytes()).unwrap();
    for racer in racers {
        let out = racer.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "round {round}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
#[ignore = "needs root"]
fn racing_limits_are_journalled_in_the_order_they_were_written() {
    let test = common::test_name();
    if !ready() {
        return;
    }
    let env = Env::new();
    let guard = CgroupGuard::new("revert-race");
    let o = Owned::start(&guard, "c");
    let original = o.cpu();
    const ROUNDS: usize = 40;
    const VALUES: [&str; 4] = ["0.3", "0.5", "0.7", "0.9"];
    let mut wrong = Vec::new();
    for round in 0..ROUNDS {
        race(&env, &o.target(), &VALUES, round);
        let journal = entries(&env, &o.cpu_file);
        assert_eq!(journal.len(), VALUES.len(), "round {round}: {journal:?}");
        let mut problems = Vec::new();
        // Each entry's old value is what the entry before it wrote (the first: the original).
        let mut expected_old = original.clone();
        for (i, (old, written)) in journal.iter().enumerate() {
            if *old != expected_old {
                problems.push(format!(
                    "entry {i}'s old value is {old}, but the file held {expected_old} before it"
                ));
            }
            expected_old = written.clone();
        }
        // The file holds the last entry's value; each undo goes back one entry.
        let mut expected = journal.iter().map(|(_, w)| w.clone()).rev();
        let mut now = o.cpu();
        for undo in 0..=VALUES.len() {
            let want = expected.next().unwrap_or_else(|| original.clone());
            if now != want {
                problems.push(format!(
                    "after {undo} undo(s) the file holds {now}, not {want}"
                ));
            }
            if undo < VALUES.len() {
                env.ok(&["undo"]);
                now = o.cpu();
            }
        }
        if now != original {
            std::fs::write(&o.cpu_file, &original).unwrap();
        }
        if !problems.is_empty() {
            wrong.push(format!("round {round}: {}", problems.join("; ")));
        }
        assert!(
            env.journal().is_empty(),
            "round {round}: journal not empty after the undos"
        );
    }
    eprintln!(
        "{test}: {} of {ROUNDS} races journalled out of write order",
        wrong.len()
    );
    assert!(
        wrong.is_empty(),
        "{} of {ROUNDS} races journalled out of write order:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// How long the orphaned reverts run for. Long enough that `limit` has recorded the worker
/// well before the revert is due even on a loaded machine (a revert that comes due first is
/// carried out by whichever isotop runs then, and is no orphan).
const ORPHAN_FOR: &str = "3s";

/// An orphaned revert: its id and due time.
struct Orphan {
    id: String,
    due_unix: u64,
}

/// `limit TARGET --pids N --for ORPHAN_FOR` whose worker is SIGKILLed at once: a revert
/// nobody will carry out but a later isotop.
fn orphaned_revert(env: &Env, o: &Owned, pids: &str) -> Orphan {
    let args = [
        "limit",
        &o.target(),
        "--pids",
        pids,
        "--for",
        ORPHAN_FOR,
        "--json",
    ];
    let out = env.run(&args);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    let shown = format!(
        "isotop {args:?} ({}):\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    assert!(out.status.success(), "{shown}");
    let doc: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {shown}"));
    let pending = &doc["pending"];
    let (Some(worker), Some(id), Some(due_unix)) = (
        pending["worker_pid"].as_i64(),
        pending["id"].as_str(),
        pending["due_unix"].as_u64(),
    ) else {
        panic!("no pending revert with a worker pid, id and due time: {shown}");
    };
    let worker = i32::try_from(worker).unwrap_or_else(|_| panic!("worker pid {worker}: {shown}"));
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(worker),
        nix::sys::signal::Signal::SIGKILL,
    );
    assert!(
        common::wait_until(Duration::from_secs(5), || !fake_container::alive(worker)),
        "worker {worker} still alive 5 s after SIGKILL: {shown}"
    );
    Orphan {
        id: id.to_string(),
        due_unix,
    }
}

#[test]
#[ignore = "needs root"]
fn the_dashboard_carries_out_overdue_reverts_on_start_and_while_it_runs() {
    if !ready() || !common::require_program("tmux") {
        return;
    }
    let env = Env::new();
    let guard = CgroupGuard::new("revert-dashboard");
    let o = Owned::start(&guard, "c");
    let pids_max = if v2_only() {
        guard.dir("", "c")
    } else {
        guard.dir("pids", "c")
    }
    .join("pids.max");
    let original = common::read_text(&pids_max);

    // Overdue before the dashboard starts.
    let first = orphaned_revert(&env, &o, "21");
    while unix_now() < first.due_unix {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        common::read_text(&pids_max),
        "21",
        "revert {} reverted before any isotop ran",
        first.id
    );
    let command = format!(
        "env ISOTOP_STATE_DIR={} ISOTOP_AUDIT_LOG={} {}",
        env.state().display(),
        env.dir.path().join("audit.jsonl").display(),
        env!("CARGO_BIN_EXE_isotop")
    );
    let session = tmux::Tmux::start(120, 30, &command);
    assert!(
        common::wait_until(Duration::from_secs(10), || common::read_text(&pids_max)
            == original),
        "the dashboard did not carry out the overdue revert on start (pids.max {})",
        common::read_text(&pids_max)
    );

    // Due while the dashboard runs: its watch carries it out (every 5 s), within 15 s of the
    // due time.
    let second = orphaned_revert(&env, &o, "22");
    assert_eq!(common::read_text(&pids_max), "22");
    let wait = second.due_unix.saturating_sub(unix_now()) + 15;
    assert!(
        common::wait_until(Duration::from_secs(wait), || common::read_text(&pids_max)
            == original),
        "the running dashboard did not carry out the overdue revert {} (pids.max {})",
        second.id,
        common::read_text(&pids_max)
    );
    drop(session);
}
