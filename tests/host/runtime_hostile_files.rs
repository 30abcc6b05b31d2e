//! Files other users control (issue 9, item 3), for real, as root, with the user `nobody`
//! (uid 65534): a FIFO as a rootless runc `state.json` and as a rootless Podman
//! `containers.json` must not hang `ls`, `inspect`, `limit` or `stop`; a record symlinked to
//! `/dev/zero` must not make `rm` read gigabytes; a forged rootless state naming a root-owned
//! impostor process must be shown unverified and refused by `kill` (the process lives), while
//! a genuine one (nobody's own process, matching start) verifies and can be killed; and
//! `ls` run as nobody says how many containers need root. The dashboard marks an unverified
//! row and says, not root, what it cannot see (fixture frames, TestBackend).
//!
//! Everything is made under `/run/user/65534` and a fresh `/home/<unique>` owned by nobody and
//! removed on drop (FIFOs are opened for writing first, so any reader still blocked on one,
//! such as an older isotop, is released). A command timeout detects hangs; nothing is timed.

use crate::support::{common, drive, fixture, hostile_files};

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::ChildGuard;
use hostile_files::*;

#[test]
#[ignore = "needs root"]
fn a_fifo_as_a_rootless_runc_state_hangs_nothing() {
    let _serial = serial();
    let mut made = Made::default();
    let runc = nobody_runc(&mut made);
    let sleep = namespaced_sleep();
    let inner = sleep.inner;
    let dir = runc.join(unique("fifo"));
    made.dir(&dir, NOBODY, 0o700);
    made.fifo(&dir.join("state.json"), NOBODY);
    acts_finish_and_show_the_host(inner);
}

#[test]
#[ignore = "needs root"]
fn a_fifo_as_a_rootless_podman_index_hangs_nothing() {
    let _serial = serial();
    let mut made = Made::default();
    let home = PathBuf::from("/home").join(unique("home"));
    let store = home.join(".local/share/containers/storage/overlay-containers");
    // The test VM shares the host's root read-only (/home included): the host run covers it.
    if nix::unistd::access("/home", nix::unistd::AccessFlags::W_OK)
        .is_err_and(|e| e == nix::errno::Errno::EROFS)
    {
        eprintln!(
            "skipping a_fifo_as_a_rootless_podman_index_hangs_nothing: /home is read-only here \
             (the cgroup v2 VM); the host run makes a user's home under it"
        );
        return;
    }
    made.dir(&home, NOBODY, 0o755);
    made.dir(&store, NOBODY, 0o700);
    made.fifo(&store.join("containers.json"), NOBODY);
    let sleep = namespaced_sleep();
    let inner = sleep.inner;
    acts_finish_and_show_the_host(inner);
}

#[test]
#[ignore = "needs root"]
fn a_record_symlinked_to_dev_zero_does_not_grow_rm() {
    let root = fake_root();
    let id = "feed".repeat(16);
    let run_dir = root.path().join("run/isotop").join(&id);
    std::fs::create_dir_all(&run_dir).expect("run dir");
    symlink("/dev/zero", run_dir.join("state.json")).expect("zero link");
    let name_dir = root.path().join("run/isotop/names");
    std::fs::create_dir_all(&name_dir).expect("names");
    symlink("/dev/zero", name_dir.join("web")).expect("claim link");
    let data_dir = root.path().join("var/lib/isotop/containers").join(&id);
    std::fs::create_dir_all(&data_dir).expect("data dir");
    symlink("/dev/zero", data_dir.join("config.json")).expect("config link");
    // Each rm runs in a memory cgroup of its own (limited to 192 MiB, so reading /dev/zero
    // cannot take the machine with it): its peak usage says how much it read.
    let cgroup = common::CgroupGuard::new("rm-zero");
    let memory = cgroup.dir("memory", "");
    let v2 = memory.join("memory.max").exists();
    let (limit_file, peak_file) = if v2 {
        ("memory.max", "memory.peak")
    } else {
        ("memory.limit_in_bytes", "memory.max_usage_in_bytes")
    };
    std::fs::write(memory.join(limit_file), (192u64 << 20).to_string()).expect("memory limit");
    let procs = memory.join("cgroup.procs");
    for args in [format!("rm {id}"), "rm web".to_string()] {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(format!(
                "echo $$ > \"$2\" && exec \"$0\" --root \"$1\" {args}"
            ))
            .arg(env!("CARGO_BIN_EXE_isotop"))
            .arg(root.path())
            .arg(&procs);
        let rm = run_bounded(cmd).unwrap_or_else(|| panic!("`isotop {args}` hung"));
        let peak: u64 = std::fs::read_to_string(memory.join(peak_file))
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(0);
        assert!(
            rm.status.code().is_some(),
            "`isotop {args}` was killed by a signal (out of memory, peak {} MiB): {:?} {}",
            peak >> 20,
            rm.status,
            rm.stderr
        );
        assert!(
            peak < 64 << 20,
            "`isotop {args}` used {} MiB: it read the record it should have refused",
            peak >> 20
        );
        assert!(
            rm.stderr.len() < 4096,
            "`isotop {args}` printed {} bytes of errors",
            rm.stderr.len()
        );
    }
    // The corrupt record's leftovers were removed by id; /dev/zero is untouched.
    assert!(std::fs::symlink_metadata(run_dir.join("state.json")).is_err());
    assert!(Path::new("/dev/zero").exists());
}

#[test]
#[ignore = "needs root"]
fn a_forged_rootless_claim_on_a_root_process_is_unverified_and_refused() {
    let _serial = serial();
    let mut made = Made::default();
    let runc = nobody_runc(&mut made);
    // The impostor: root's own process, which nobody names as the init of "their" container.
    let mut victim = ChildGuard::spawn(Command::new("sleep").arg("1000").stdin(Stdio::null()));
    let pid = victim.pid();
    let id = unique("forged");
    let dir = runc.join(&id);
    made.dir(&dir, NOBODY, 0o700);
    made.file(
        &dir.join("state.json"),
        NOBODY,
        &runc_state(&id, pid, start_ticks(pid)),
    );

    let kill = isotop_finishes(&["kill", &id, "--timeout", "2"]);
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        victim.0.try_wait().expect("wait").is_none(),
        "isotop kill killed root's process {pid} on the word of nobody's state file: {} {}",
        kill.stdout,
        kill.stderr
    );
    assert_eq!(
        kill.status.code(),
        Some(2),
        "refusal exits 2: {}",
        kill.stderr
    );
    assert!(kill.stderr.contains("unverified"), "{}", kill.stderr);

    let ls = isotop_finishes(&["ls", "--json", "--interval", "0"]);
    let row = rows(&ls.stdout)
        .into_iter()
        .find(|r| r["id"] == id.as_str())
        .unwrap_or_else(|| panic!("{id} not listed: {}", ls.stdout));
    assert_eq!(row["verified"], false, "{row}");
    assert_eq!(row["claimed_by_uid"], NOBODY, "{row}");
    assert_eq!(row["state"], "unverified", "{row}");
    let reason = row["unverified_reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains(&format!("pid {pid}")) && reason.contains("uid 0"),
        "{reason}"
    );

    let inspect = isotop_finishes(&["inspect", &id]);
    assert!(inspect.stdout.contains("UNVERIFIED"), "{}", inspect.stdout);
    let table = isotop_finishes(&["ls", "--interval", "0"]);
    assert!(table.stdout.contains(&format!("!{id}")), "{}", table.stdout);
    for act in [
        vec!["limit", id.as_str(), "--cpus", "0.5"],
        vec!["freeze", id.as_str()],
        vec!["enter", id.as_str(), "--", "true"],
    ] {
        let out = isotop_finishes(&act);
        assert_eq!(out.status.code(), Some(2), "{act:?}: {}", out.stderr);
        assert!(out.stderr.contains("unverified"), "{act:?}: {}", out.stderr);
    }
    assert!(victim.0.try_wait().expect("wait").is_none());
}

#[test]
#[ignore = "needs root"]
fn a_genuine_rootless_claim_verifies_and_can_be_acted_on() {
    if !common::require_program("setpriv") {
        return;
    }
    let _serial = serial();
    let mut made = Made::default();
    let runc = nobody_runc(&mut made);
    let mut init = ChildGuard::spawn(
        Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "sleep",
                "1000",
            ])
            .stdin(Stdio::null()),
    );
    let pid = init.pid();
    // setpriv execs sleep: wait until the process is nobody's.
    assert!(common::wait_until(Duration::from_secs(10), || {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .is_ok_and(|s| s.contains("Uid:\t65534\t65534\t65534\t65534"))
    }));
    let id = unique("genuine");
    let dir = runc.join(&id);
    made.dir(&dir, NOBODY, 0o700);
    made.file(
        &dir.join("state.json"),
        NOBODY,
        &runc_state(&id, pid, start_ticks(pid)),
    );

    let ls = isotop_finishes(&["ls", "--json", "--interval", "0"]);
    let row = rows(&ls.stdout)
        .into_iter()
        .find(|r| r["id"] == id.as_str())
        .unwrap_or_else(|| panic!("{id} not listed: {}", ls.stdout));
    assert_eq!(row["verified"], true, "{row}");
    assert_eq!(row["claimed_by_uid"], NOBODY, "{row}");
    assert_eq!(row["runtime"], "runc", "{row}");
    assert_eq!(row["pid"], pid, "{row}");
    assert_eq!(row["state"], "running", "{row}");

    let kill = isotop_finishes(&["kill", &id, "--timeout", "5"]);
    assert!(kill.status.success(), "{} {}", kill.stdout, kill.stderr);
    assert!(
        common::wait_until(Duration::from_secs(5), || init
            .0
            .try_wait()
            .ok()
            .flatten()
            .is_some()),
        "nobody's own init survived the kill"
    );
}

#[test]
#[ignore = "needs root"]
fn a_non_root_ls_says_how_many_containers_need_root() {
    if !common::require_program("setpriv") {
        return;
    }
    let sleep = namespaced_sleep();
    let inner = sleep.inner;
    let isotop = common::isotop_for_any_user();

    let as_root = isotop_finishes(&["ls", "--json", "--interval", "0"]);
    assert!(rows(&as_root.stdout).iter().any(|r| r["pid"] == inner));

    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(isotop.path())
        .args(["ls", "--interval", "0"])
        .current_dir("/")
        .env("HOME", "/nonexistent");
    let ls = run_bounded(cmd).expect("ls as nobody hung");
    assert!(ls.status.success(), "{}", ls.stderr);
    let line = ls
        .stderr
        .lines()
        .find(|l| l.contains("need root") || l.contains("needs root"))
        .unwrap_or_else(|| panic!("no 'need root' line in: {}", ls.stderr));
    // At least our namespaced sleep is hidden from nobody: a count of one or more.
    assert!(count_of(line) >= 1, "{line}");

    // A host whose runc state dir nobody may list the files of: each unreadable state is a
    // runc container, named so.
    let root = fake_root();
    std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    for sub in ["run", "var", "var/lib", "etc"] {
        std::fs::set_permissions(
            root.path().join(sub),
            std::fs::Permissions::from_mode(0o755),
        )
        .expect("chmod");
    }
    for id in ["a", "b", "c"] {
        let dir = root.path().join("run/runc").join(id);
        std::fs::create_dir_all(&dir).expect("state dir");
        std::fs::write(dir.join("state.json"), "{}").expect("state");
        std::fs::set_permissions(
            dir.join("state.json"),
            std::fs::Permissions::from_mode(0o600),
        )
        .expect("chmod");
    }
    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(isotop.path())
        .arg("--root")
        .arg(root.path())
        .args(["ls", "--interval", "0"])
        .current_dir("/");
    let ls = run_bounded(cmd).expect("ls --root as nobody hung");
    let line = ls
        .stderr
        .lines()
        .find(|l| l.contains("need root"))
        .unwrap_or_else(|| panic!("no 'need root' line in: {}", ls.stderr));
    assert!(count_of(line) >= 3, "{line}");
    assert!(line.contains(" of runc"), "{line}");
    assert!(line.contains("run/runc"), "{line}");
}

#[test]
#[ignore = "needs root"]
fn a_rootless_claim_takes_only_cgroups_its_user_was_given() {
    if !common::require_program("setpriv") {
        return;
    }
    let _serial = serial();
    let mut made = Made::default();
    let runc = nobody_runc(&mut made);
    let delegated = delegated_box();
    let pid = delegated.init.pid();

    // Claiming the parent (root's, holding the bystander): the claim is not taken, the
    // bystander stays out, nothing of root's becomes "the container's cgroup".
    let greedy = unique("greedy");
    let dir = runc.join(&greedy);
    made.dir(&dir, NOBODY, 0o700);
    made.file(
        &dir.join("state.json"),
        NOBODY,
        &runc_state_claiming(&greedy, pid, &delegated.guard.rel, &delegated.guard),
    );
    let ls = isotop_finishes(&["ls", "--json", "--interval", "0"]);
    let row = rows(&ls.stdout)
        .into_iter()
        .find(|r| r["id"] == greedy.as_str())
        .unwrap_or_else(|| panic!("{greedy} not listed: {}", ls.stdout));
    assert_eq!(row["pids"], 1, "the root bystander was pulled in: {row}");
    assert_eq!(row["cgroup_path"], serde_json::Value::Null, "{row}");
    assert_eq!(row["verified"], true, "nobody's own init checks out: {row}");
    let kill = isotop_finishes(&["kill", &greedy, "--timeout", "5"]);
    assert!(kill.status.success(), "{} {}", kill.stdout, kill.stderr);
    let mut bystander = delegated.bystander;
    assert!(
        bystander.0.try_wait().expect("wait").is_none(),
        "killing nobody's container killed root's bystander"
    );
    drop(made);

    // Claiming the cgroup nobody owns: taken as the container's own.
    let delegated = delegated_box();
    let pid = delegated.init.pid();
    let mut made = Made::default();
    let runc = nobody_runc(&mut made);
    let own = unique("own");
    let dir = runc.join(&own);
    made.dir(&dir, NOBODY, 0o700);
    made.file(
        &dir.join("state.json"),
        NOBODY,
        &runc_state_claiming(&own, pid, &delegated.box_path, &delegated.guard),
    );
    let ls = isotop_finishes(&["ls", "--json", "--interval", "0"]);
    let row = rows(&ls.stdout)
        .into_iter()
        .find(|r| r["id"] == own.as_str())
        .unwrap_or_else(|| panic!("{own} not listed: {}", ls.stdout));
    assert_eq!(row["verified"], true, "{row}");
    assert_eq!(row["cgroup_path"], delegated.box_path.as_str(), "{row}");
    assert_eq!(row["pid"], pid, "{row}");
}

#[test]
fn the_dashboard_marks_unverified_rows_and_says_what_needs_root() {
    use isotop::host::container::Trust;
    let history = isotop::sample::History::new(Duration::from_secs(600));
    let mut app = isotop::ui::App::new(Duration::from_secs(600));
    let mut frame = fixture::frame(1, true);
    let web = frame
        .containers
        .iter_mut()
        .find(|c| c.view.container.name == "web")
        .expect("the fixture has web");
    std::sync::Arc::make_mut(&mut web.view.container).trust = Trust::unverified(
        "/run/user/65534/runc/web/state.json belongs to uid 65534 but names pid 1".into(),
        Some(NOBODY),
    );
    app.on_frame(frame);
    let drawn = screen(&drive::render(&mut app, &history, 160, 48));
    assert!(
        drawn.contains("!web"),
        "no marker on the unverified row:\n{drawn}"
    );

    let mut app = isotop::ui::App::new(Duration::from_secs(600));
    let mut frame = fixture::frame_not_root(1);
    frame.host.hidden =
        Some("3 containers of runc, crun, containerd need root: run isotop as root".into());
    app.on_frame(frame);
    let drawn = screen(&drive::render(&mut app, &history, 160, 48));
    assert!(
        drawn.contains("3 containers of runc, crun, containerd need root"),
        "the status line does not say what is hidden:\n{drawn}"
    );
}
