//! End to end, as root: the dashboard here on a remote host over real ssh (issue 15). Each test
//! starts its own `sshd -D -e` on a free loopback port with a generated host key and a
//! generated client key, all in a fresh 0700 directory under /tmp (never the checkout, never
//! /root), `AuthorizedKeysFile` pointing there; the dashboard's ssh gets its key and a
//! throw-away known-hosts file through `ISOTOP_SSH_OPTIONS`, and the remote command is this
//! build's isotop by absolute path (`ISOTOP_REMOTE_COMMAND`), with its own audit log.
//!
//! - `isotop --host ssh://root@127.0.0.1:PORT` in tmux shows the remote frames (a test cgroup),
//!   `c` on the Cgroups view sets its CPU limit over the wire (the kernel file changes; the
//!   agent's audit log has the line, the dashboard's own has none); killing the sshd process
//!   of the session (by pid) mid-stream puts "connection lost (…), retrying in Ns" on the
//!   status line and STALE in the header, then "reconnected".
//! - Two hosts: `H` shows the other (its place in the header) and back; `l` on a real isotop
//!   container on the remote host: its log, read by the agent, shows in the pane and keeps
//!   coming, stderr lines marked as such.
//! - A fake agent that answers with a hello of another protocol version: the status line says
//!   which versions, and the dashboard does not keep retrying.
//!
//! Skips with the reason when sshd, ssh, ssh-keygen or tmux are missing (`.ci/run` installs
//! openssh-server and openssh-client).

use crate::support::{common, containers, tmux};

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{
    CgroupGuard, ChildGuard, read_text, require_program, test_name, unique_name, wait_until,
};
use containers::{Container, require_launch};

use crate::tmux_cgroup_acts::wait_for;
use crate::tmux_logs::last_tick;
use tmux::Tmux;

const SSHD: &str = "/usr/sbin/sshd";

/// A private sshd on a loopback port, killed (its sessions first, by pid) on drop.
struct Sshd {
    dir: tempfile::TempDir,
    port: u16,
    daemon: ChildGuard,
}

impl Sshd {
    /// `None` (with the reason printed) when a program is missing.
    fn start() -> Option<Sshd> {
        if !Path::new(SSHD).is_file() {
            eprintln!(
                "skipping {}: {SSHD} is not installed (apt-get install openssh-server; .ci/run \
                 installs it)",
                test_name()
            );
            return None;
        }
        if !require_program("ssh") || !require_program("ssh-keygen") || !require_program("tmux") {
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("isotop-test-sshd-")
            .tempdir_in("/tmp")
            .expect("a directory under /tmp");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        for key in ["host_key", "client_key"] {
            let made = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(dir.path().join(key))
                .status()
                .expect("ssh-keygen runs");
            assert!(made.success(), "ssh-keygen {key}");
        }
        std::fs::copy(
            dir.path().join("client_key.pub"),
            dir.path().join("authorized_keys"),
        )
        .unwrap();
        // sshd refuses to start without its privilege separation directory (made at boot by
        // the distribution's service, which this host does not run).
        std::fs::create_dir_all("/run/sshd").expect("/run/sshd");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let d = dir.path().display();
        std::fs::write(
            dir.path().join("sshd_config"),
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\n\
                 PidFile {d}/sshd.pid\nAuthorizedKeysFile {d}/authorized_keys\n\
                 PermitRootLogin prohibit-password\nPasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\nStrictModes no\nUsePAM no\nLogLevel VERBOSE\n"
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("sshd.log")).unwrap();
        let daemon = ChildGuard::spawn(
            Command::new(SSHD)
                .args(["-D", "-e", "-f"])
                .arg(dir.path().join("sshd_config"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log),
        );
        let sshd = Sshd { dir, port, daemon };
        let listening = wait_until(Duration::from_secs(10), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        assert!(listening, "sshd did not listen:\n{}", sshd.log());
        Some(sshd)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.path("sshd.log")).unwrap_or_default()
    }

    /// `ISOTOP_SSH_OPTIONS`: no user config, this key, a throw-away known-hosts file.
    fn ssh_options(&self) -> String {
        format!(
            "-F /dev/null -i {} -o IdentitiesOnly=yes -o UserKnownHostsFile={} -o \
             StrictHostKeyChecking=no",
            self.path("client_key").display(),
            self.path("known_hosts").display()
        )
    }

    /// The processes sshd forked for sessions (its children).
    fn sessions(&self) -> Vec<i32> {
        let pid = self.daemon.pid();
        read_text(Path::new(&format!("/proc/{pid}/task/{pid}/children")))
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect()
    }

    /// Ends every session's sshd process by pid (TERM): the connection drops mid-stream.
    fn drop_sessions(&self) -> usize {
        let sessions = self.sessions();
        for pid in &sessions {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(*pid),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        sessions.len()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.drop_sessions();
    }
}

/// The dashboard on `sshd`'s host in tmux (as `ssh://root@127.0.0.1:PORT`, then as each of
/// `more` names it), the remote isotop run as `remote_command` (then `agent`).
fn dashboard(sshd: &Sshd, remote_command: &str, more: &[&str]) -> Tmux {
    let isotop = env!("CARGO_BIN_EXE_isotop");
    let empty = sshd.path("empty.toml");
    std::fs::write(&empty, "").unwrap();
    Tmux::start(
        220,
        40,
        &format!(
            "ISOTOP_AUDIT_LOG={local_audit} ISOTOP_SSH_OPTIONS='{options}' \
             ISOTOP_REMOTE_COMMAND='{remote_command}' {isotop} --config {empty} \
             --host ssh://root@127.0.0.1:{port}{more} -d 0.5; echo EXITED $?; sleep 60",
            local_audit = sshd.path("local-audit.jsonl").display(),
            options = sshd.ssh_options(),
            empty = empty.display(),
            port = sshd.port,
            more = more
                .iter()
                .map(|host| format!(" --host {host}"))
                .collect::<String>(),
        ),
    )
}

/// Waits for the first remote frame: up to 2 minutes, as on a host of many thousands of
/// processes a debug build's agent takes long to sample, encode and the dashboard to decode
/// its first frame (tens of megabytes before compression); later frames are waited for as
/// usual.
fn first_frame(tmux: &Tmux) {
    let mut last = String::new();
    let shown = wait_until(Duration::from_secs(120), || {
        last = tmux.screen();
        last.contains("processes ")
    });
    assert!(shown, "the first remote frame: not on screen:\n{last}");
}

#[test]
#[ignore = "needs root"]
fn the_remote_dashboard_shows_frames_acts_and_reconnects() {
    let Some(sshd) = Sshd::start() else {
        return;
    };
    let v2 = Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    let guard = CgroupGuard::new("remote");
    let path = guard.child("work");
    let sleeper = ChildGuard::spawn(
        Command::new("sleep")
            .arg("1000")
            .stdin(Stdio::null())
            .stdout(Stdio::null()),
    );
    guard.add_pid("work", sleeper.pid());
    let (quota, tenth) = if v2 {
        (guard.dirs[0].join("work/cpu.max"), "10000 100000")
    } else {
        (guard.dir("cpu", "work").join("cpu.cfs_quota_us"), "10000")
    };
    let remote_audit = sshd.path("remote-audit.jsonl");
    let remote_command = format!(
        "env ISOTOP_AUDIT_LOG={} ISOTOP_STATE_DIR={} {} --config {}",
        remote_audit.display(),
        sshd.path("remote-state").display(),
        env!("CARGO_BIN_EXE_isotop"),
        sshd.path("empty.toml").display()
    );
    let tmux = dashboard(&sshd, &remote_command, &[]);
    let label = format!("[ssh root@127.0.0.1:{}]", sshd.port);
    tmux.expect(&label, "the header names the remote host");
    first_frame(&tmux);

    // The Cgroups view, filtered to the test's cgroup: its row came in the remote frames.
    tmux.keys(&["2"]);
    tmux.filter(&path);
    tmux.expect("work", "the test cgroup's row");
    tmux.keys(&["c"]);
    tmux.expect(
        &format!("{path} CPU limit (CPUs): max"),
        "the prompt, prefilled from the remote frame",
    );
    for _ in 0..3 {
        tmux.keys(&["BSpace"]);
    }
    tmux.text("0.1");
    tmux.keys(&["Enter"]);
    wait_for("the CPU quota over the wire", &quota, tenth);
    tmux.expect("→", "the outcome came back to the status line");
    let audited = std::fs::read_to_string(&remote_audit).unwrap_or_default();
    let target = format!("\"target\":\"cgroup:{path}\"");
    assert!(
        audited
            .lines()
            .any(|l| l.contains(&target) && l.contains("\"limit.cpu\"")),
        "the agent's audit log has the act:\n{audited}"
    );
    let local = std::fs::read_to_string(sshd.path("local-audit.jsonl")).unwrap_or_default();
    assert!(
        !local.contains(&target),
        "the dashboard's side wrote no audit line of its own:\n{local}"
    );

    // The connection dropped mid-stream: said, retried, back.
    assert!(
        sshd.drop_sessions() > 0,
        "a session to end:\n{}",
        sshd.log()
    );
    let screen = tmux.expect_screen("the lost connection and the retry", |s| {
        s.contains("connection lost (") && s.contains("retrying in")
    });
    assert!(
        screen.contains("STALE"),
        "the last frame is marked:\n{screen}"
    );
    tmux.expect("reconnected", "the dashboard reconnects");
    let screen = tmux.expect_screen("frames flow again (no STALE)", |s| !s.contains("STALE"));
    assert!(screen.contains(&label), "{screen}");
}

#[test]
#[ignore = "needs root"]
fn the_log_pane_of_a_remote_container_comes_over_the_agent() {
    if !require_launch() {
        return;
    }
    let Some(sshd) = Sshd::start() else {
        return;
    };
    let name = unique_name("remotelog");
    let _container = Container::sh(
        &["--name", &name],
        // A stderr line with each: on screen whenever the pane opens.
        "n=0; while :; do echo tick-$n; echo oops-$n >&2; n=$((n+1)); sleep 0.3; done",
    );
    let remote_command = format!(
        "{} --config {}",
        env!("CARGO_BIN_EXE_isotop"),
        sshd.path("empty.toml").display()
    );
    // Two hosts (the same sshd, named twice): H shows the other and back.
    let other = format!("ssh://root@localhost:{}", sshd.port);
    let tmux = dashboard(&sshd, &remote_command, &[&other]);
    tmux.expect(
        &format!("[ssh root@127.0.0.1:{} 1/2]", sshd.port),
        "the first host and its place",
    );
    first_frame(&tmux);
    tmux.keys(&["H"]);
    tmux.expect_screen("the second host, with its frames", |s| {
        s.contains(&format!("[ssh root@localhost:{} 2/2]", sshd.port)) && s.contains("processes ")
    });
    tmux.keys(&["H"]);
    tmux.expect(
        &format!("[ssh root@127.0.0.1:{} 1/2]", sshd.port),
        "H cycles back to the first",
    );
    tmux.filter(&name);
    tmux.expect(&name, "the container's row");
    tmux.keys(&["l"]);
    tmux.expect(&format!("{name} (isotop) log"), "the log pane's title");
    let first = tmux.expect_screen("its output in the pane", |s| last_tick(s).is_some());
    let seen = last_tick(&first).unwrap_or(0);
    tmux.expect_screen("later lines over the connection", |s| {
        last_tick(s).is_some_and(|n| n >= seen + 3)
    });
    assert!(first.contains("oops-"), "stderr lines too: {first}");
    tmux.keys(&["s"]);
    tmux.expect_screen("stdout only: the stream came with each line", |s| {
        !s.contains("oops-") && last_tick(s).is_some()
    });
}

#[test]
#[ignore = "needs root"]
fn a_remote_isotop_of_another_protocol_version_is_told_plainly() {
    let Some(sshd) = Sshd::start() else {
        return;
    };
    // A fake agent: the magic, protocol 99, an empty hello body; then it waits for stdin.
    let fake = sshd.path("fake-agent");
    std::fs::write(
        &fake,
        "#!/bin/sh\nprintf 'ISOTOP\\000\\000\\000\\143\\000\\000\\000\\000'\ncat >/dev/null\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o700)).unwrap();
    let tmux = dashboard(&sshd, &fake.display().to_string(), &[]);
    let want = format!(
        "remote isotop speaks protocol 99, this one {}: install the same version on both hosts",
        isotop::remote::wire::PROTOCOL_VERSION
    );
    tmux.expect(&want, "the version mismatch on the status line");
    // Not retried: a few seconds on, the same words and no retry countdown.
    std::thread::sleep(Duration::from_secs(3));
    let screen = tmux.screen();
    assert!(
        screen.contains(&want) && !screen.contains("retrying"),
        "{screen}"
    );
}
