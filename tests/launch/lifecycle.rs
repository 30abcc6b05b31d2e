//! The life of an isotop container through the real binary (root): a detached container
//! outlives the CLI that started it (and a foreground one the CLI killed under it), stdout,
//! stderr and exit codes are right in the foreground and in `isotop logs` (`-f` too, escape
//! sequences cleaned), `stop` ends an init that handles TERM with TERM and one that ignores it
//! with KILL, `rm` refuses a running container without `-f` and leaves no mount, cgroup,
//! veth, process or file behind, `--rm` neither, and `isotop ls --json` shows the container
//! with runtime `isotop` and its name.

use crate::support::{common, containers};

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{ChildGuard, isotop, unique_name, wait_until};
use containers::{
    Container, RUN_ROOT, assert_code, assert_gone, isotop_out, mountinfo, require_launch, run_sh,
    text,
};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// The fields of `/proc/<pid>/stat` after the command name (state, ppid, pgrp, session, ...);
/// empty once the process is gone.
fn stat_fields(pid: i32) -> Vec<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The name is in parentheses and may hold spaces: the fields start after the last ") ".
    stat.rsplit_once(") ")
        .map(|(_, rest)| rest.split(' ').map(str::to_string).collect())
        .unwrap_or_default()
}

fn alive(pid: i32) -> bool {
    // Signal 0 checks existence only; a zombie counts as gone.
    kill(Pid::from_raw(pid), None).is_ok()
        && stat_fields(pid).first().map(String::as_str) != Some("Z")
}

/// `isotop stop --json -t SECONDS` on `c`; returns its answer for `c`.
fn stop_json(c: &Container, seconds: &str) -> serde_json::Value {
    let out = c.isotop(&["stop", "--json", "-t", seconds]);
    assert_code(&out, 0, "stop");
    let stopped: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    stopped[0].clone()
}

#[test]
#[ignore = "needs root"]
fn a_detached_container_outlives_the_cli_in_its_own_session() {
    if !require_launch() {
        return;
    }
    let name = unique_name("detached");
    // A shell that starts the container and exits: the container's parents are all gone.
    let bin = env!("CARGO_BIN_EXE_isotop");
    let out = Command::new("sh")
        .args([
            "-c",
            &format!("{bin} run -d --name {name} -- sleep 30; exit"),
        ])
        .output()
        .unwrap();
    assert_code(&out, 0, "sh -c 'isotop run -d ...'");
    let c = Container::adopt(text(&out.stdout).trim());
    let record = c.record().unwrap();
    assert_eq!(record["status"], "running");
    assert_eq!(record["name"], name.as_str());
    let (pid, supervisor) = (c.pid(), c.supervisor_pid());
    std::thread::sleep(Duration::from_millis(300));
    assert!(alive(pid) && alive(supervisor));
    // The supervisor leads its own session: no terminal hang-up or Ctrl-C reaches it.
    assert_eq!(
        stat_fields(supervisor)[3],
        supervisor.to_string(),
        "session id (stat field 6)"
    );
    // The init is the supervisor's child.
    assert_eq!(stat_fields(pid)[1], supervisor.to_string(), "ppid");
}

#[test]
#[ignore = "needs root"]
fn a_foreground_run_whose_cli_is_killed_runs_on_and_logs() {
    if !require_launch() {
        return;
    }
    let name = unique_name("orphan");
    let mut cli = ChildGuard::spawn(
        isotop()
            .args(["run", "--name", &name, "--", "sh", "-c"])
            .arg("echo before; sleep 2; echo after; exit 4")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let id_path = Path::new(RUN_ROOT).join("names").join(&name);
    let mut id = String::new();
    assert!(wait_until(Duration::from_secs(20), || {
        id = std::fs::read_to_string(&id_path).unwrap_or_default();
        id.trim().len() == 64
    }));
    let c = Container::adopt(id.trim());
    assert!(wait_until(Duration::from_secs(20), || {
        c.status().as_deref() == Some("running")
    }));
    let _ = cli.0.kill();
    let _ = cli.0.wait();
    let record = c.wait_exited(Duration::from_secs(30)).unwrap();
    assert_eq!(record["exit_code"], 4, "{record}");
    assert_eq!(record["stop_requested"], false, "its own exit: {record}");
    let logs = c.isotop(&["logs"]);
    assert_eq!(text(&logs.stdout), "before\nafter\n");
}

#[test]
#[ignore = "needs root"]
fn foreground_streams_and_exit_code_pass_through() {
    if !require_launch() {
        return;
    }
    let out = run_sh(&[], "echo out; echo err >&2; exit 3");
    assert_code(&out, 3, "foreground run");
    assert_eq!(text(&out.stdout), "out\n");
    assert_eq!(text(&out.stderr), "err\n");
    // stdin with -i reaches the command; its end closes the container's stdin.
    let mut child = isotop()
        .args([
            "run",
            "--rm",
            "-i",
            "--",
            "sh",
            "-c",
            "read line; echo got:$line; cat",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"hello\nrest\n").unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert_code(&out, 0, "run -i");
    assert_eq!(text(&out.stdout), "got:hello\nrest\n");
}

#[test]
#[ignore = "needs root"]
fn logs_keep_the_streams_apart_follow_and_clean_escapes() {
    if !require_launch() {
        return;
    }
    let c = Container::sh(
        &[],
        "echo out; echo err >&2; printf 'esc\\033[2J\\tend\\n'; sleep 1; echo late; exit 3",
    );
    // -f returns once the container exits, with everything it wrote.
    let follow = c.isotop(&["logs", "-f"]);
    assert_code(&follow, 0, "logs -f");
    assert_eq!(text(&follow.stdout), "out\nesc?[2J\tend\nlate\n");
    assert_eq!(text(&follow.stderr), "err\n");
    let record = c.record().unwrap();
    assert_eq!(record["status"], "exited");
    assert_eq!(record["exit_code"], 3);
    assert!(record["exit_signal"].is_null());
    let tail = c.isotop(&["logs", "-n", "1"]);
    assert_eq!(text(&tail.stdout), "late\n");
}

#[test]
#[ignore = "needs root"]
fn stop_uses_term_when_the_init_handles_it() {
    if !require_launch() {
        return;
    }
    let c = Container::sh(
        &[],
        "trap 'echo bye; exit 0' TERM; echo ready; sleep 100 & wait",
    );
    c.wait_logged("ready");
    let stopped = stop_json(&c, "20");
    assert_eq!(stopped["killed"], false, "{stopped}");
    assert_eq!(stopped["exit_code"], 0);
    assert_eq!(c.status().as_deref(), Some("exited"));
    assert!(text(&c.isotop(&["logs"]).stdout).contains("bye"));
}

#[test]
#[ignore = "needs root"]
fn stop_kills_an_init_that_ignores_term() {
    if !require_launch() {
        return;
    }
    let c = Container::sh(&[], "trap '' TERM; echo ready; sleep 100 & wait");
    let pid = c.pid();
    let stopped = stop_json(&c, "1");
    assert_eq!(stopped["killed"], true, "{stopped}");
    assert_eq!(stopped["exit_code"], 137);
    let record = c.record().unwrap();
    assert_eq!(record["exit_signal"], 9);
    // Asked for: the 137 is the stop's KILL, which `inspect` and the events say (no trouble).
    assert_eq!(record["stop_requested"], true, "{record}");
    let json = common::isotop_json(&["inspect", &c.id, "--json"]);
    assert_eq!(json["runtime_state"]["stop_requested"], true, "{json}");
    assert_eq!(json["runtime_state"]["exit_code"], 137, "{json}");
    let inspect = text(&c.isotop(&["inspect"]).stdout);
    assert!(
        inspect.contains("137 (128 + signal 9), stopped on request"),
        "{inspect}"
    );
    assert!(!alive(pid));
    // Stopping again is a no-op that still answers.
    assert_code(&c.isotop(&["stop"]), 0, "second stop");
}

#[test]
#[ignore = "needs root"]
fn rm_refuses_a_running_container_then_leaves_nothing() {
    if !require_launch() {
        return;
    }
    let name = unique_name("rm");
    let c = Container::detached(&["--name", &name, "--", "sleep", "100"]);
    let pid = c.pid();
    let refused = isotop_out(&["rm", &name]);
    assert_code(&refused, 2, "rm of a running container");
    assert!(
        text(&refused.stderr).contains("isotop stop"),
        "{}",
        text(&refused.stderr)
    );
    assert!(alive(pid), "a refused rm touched the container");
    assert!(
        mountinfo().contains(&c.id),
        "its overlay shows in the host's mountinfo"
    );
    let out = isotop_out(&["rm", "-f", &name]);
    assert_code(&out, 0, "rm -f");
    assert_eq!(text(&out.stdout).trim(), c.id);
    assert!(!alive(pid));
    assert_gone(&c.id);
    // Gone means gone: a second rm is the operator's mistake.
    assert_code(&isotop_out(&["rm", &name]), 2, "rm of a removed container");
}

#[test]
#[ignore = "needs root"]
fn stop_then_rm_leaves_nothing() {
    if !require_launch() {
        return;
    }
    let c = Container::detached(&["--", "sleep", "100"]);
    assert_code(&c.isotop(&["stop", "-t", "1"]), 0, "stop");
    // After stop the runtime is released already: no cgroup, no mount; files stay for logs.
    assert!(!mountinfo().contains(&c.id));
    assert!(!c.cgroup_dir("memory").exists());
    assert!(c.data_dir().join("upper").exists());
    assert_code(&c.isotop(&["rm"]), 0, "rm");
    assert_gone(&c.id);
}

#[test]
#[ignore = "needs root"]
fn run_rm_leaves_nothing() {
    if !require_launch() {
        return;
    }
    // Foreground: the default hostname is the id's first 12 digits.
    let out = isotop_out(&["run", "--rm", "--", "hostname"]);
    assert_code(&out, 0, "run --rm");
    let prefix = text(&out.stdout).trim().to_string();
    assert_eq!(prefix.len(), 12);
    for root in [RUN_ROOT, containers::DATA_ROOT] {
        let left: Vec<String> = std::fs::read_dir(root)
            .map(|e| {
                e.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.starts_with(&prefix))
                    .collect()
            })
            .unwrap_or_default();
        assert!(left.is_empty(), "{left:?} left in {root}");
    }
    // Detached: the supervisor removes everything when the command ends.
    let c = Container::sh(&["--rm"], "sleep 0.5");
    // The supervisor removes the data dir, then the run dir (its record first, the directory
    // a moment later): wait for the last of them, then check everything.
    let run_dir = Path::new(RUN_ROOT).join(&c.id);
    assert!(wait_until(Duration::from_secs(20), || c.record().is_none()));
    assert!(wait_until(Duration::from_secs(10), || !c
        .data_dir()
        .exists()
        && !run_dir.exists()));
    assert_gone(&c.id);
}

#[test]
#[ignore = "needs root"]
fn ls_shows_the_container_with_runtime_isotop() {
    if !require_launch() {
        return;
    }
    let name = unique_name("ls");
    let c = Container::detached(&["--name", &name, "--", "sleep", "30"]);
    let out = isotop_out(&["ls", "--json", "--interval", "0"]);
    assert_code(&out, 0, "ls");
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == c.id.as_str())
        .unwrap_or_else(|| panic!("{} not in {rows}", c.id));
    assert_eq!(row["runtime"], "isotop");
    assert_eq!(row["name"], name.as_str());
    assert_eq!(row["pid"], c.pid());
}

#[test]
#[ignore = "needs root"]
fn detached_json_names_the_container() {
    if !require_launch() {
        return;
    }
    let name = unique_name("json");
    let out = isotop_out(&["run", "-d", "--json", "--name", &name, "--", "sleep", "30"]);
    assert_code(&out, 0, "run -d --json");
    let started: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let c = Container::adopt(started["id"].as_str().unwrap());
    assert_eq!(started["name"], name.as_str());
    assert_eq!(started["pid"], c.pid());
}

#[test]
#[ignore = "needs root"]
fn a_terminal_with_t_and_the_operators_window_size_with_it() {
    if !require_launch() {
        return;
    }
    // No terminal here: the container still gets one, at the default 24x80.
    let out = run_sh(&["-t"], "[ -t 0 ] && [ -t 1 ] && echo tty; stty size");
    assert_code(&out, 0, "run -t");
    assert_eq!(text(&out.stdout), "tty\r\n24 80\r\n");
    if !common::require_program("script") {
        return;
    }
    // In a terminal (script's pty) of 33x101: raw mode, the size, typed input, the exit code.
    let bin = env!("CARGO_BIN_EXE_isotop");
    let inner = format!(
        "stty rows 33 cols 101; {bin} run -it --rm -- sh -c 'stty size; read x; echo got:$x; exit 7'"
    );
    let mut child = Command::new("script")
        .args(["-qec", &inner, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Collect the terminal's output as it comes; type only once the size line is there.
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut stdout = child.stdout.take().unwrap();
    let reader = {
        let seen = seen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 1024];
            while let Ok(n) = std::io::Read::read(&mut stdout, &mut buf) {
                if n == 0 {
                    break;
                }
                seen.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        })
    };
    let shown = || text(&seen.lock().unwrap());
    assert!(
        wait_until(Duration::from_secs(30), || shown().contains("33 101\r\n")),
        "the container's terminal size: {:?}",
        shown()
    );
    let mut stdin = child.stdin.take().unwrap();
    std::io::Write::write_all(&mut stdin, b"hello\n").unwrap();
    let status = child.wait().unwrap();
    drop(stdin);
    reader.join().unwrap();
    assert_eq!(status.code(), Some(7), "{:?}", shown());
    assert!(shown().contains("got:hello\r\n"), "{:?}", shown());
}

#[test]
#[ignore = "needs root"]
fn term_to_the_supervisor_or_the_cli_reaches_the_init() {
    if !require_launch() {
        return;
    }
    let script = "trap 'exit 5' TERM; echo ready; sleep 100 & wait";
    let c = Container::sh(&[], script);
    let supervisor = c.supervisor_pid();
    c.wait_logged("ready");
    kill(Pid::from_raw(supervisor), Signal::SIGTERM).unwrap();
    let record = c.wait_exited(Duration::from_secs(20)).unwrap();
    assert_eq!(record["exit_code"], 5, "{record}");

    // The foreground CLI forwards TERM too, and exits with the container's code.
    let mut cli = isotop()
        .args(["run", "--rm", "--", "sh", "-c", script])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = cli.stdout.take().unwrap();
    let mut first = [0u8; 6];
    std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
    assert_eq!(&first, b"ready\n");
    kill(Pid::from_raw(cli.id() as i32), Signal::SIGTERM).unwrap();
    assert_eq!(cli.wait().unwrap().code(), Some(5));
}

#[test]
#[ignore = "needs root"]
fn run_stop_and_rm_are_audited() {
    if !require_launch() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let audit_text = audit.to_str().unwrap();
    let env = [("ISOTOP_AUDIT_LOG", audit_text)];
    let c = Container::detached_with_env(&["--memory", "32M", "--", "sleep", "30"], &env);
    assert_code(&c.isotop(&["stop", "-t", "5"]), 0, "stop");
    assert_code(&c.isotop(&["rm"]), 0, "rm");
    let entries: Vec<serde_json::Value> = std::fs::read_to_string(&audit)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let acts: Vec<&str> = entries
        .iter()
        .filter(|e| e["target"] == c.id.as_str())
        .map(|e| e["what"].as_str().unwrap())
        .collect();
    // The limit is written (and audited) by the supervisor before the command starts.
    assert_eq!(acts, ["limit.memory", "run", "stop", "rm"], "{entries:?}");
    let stop = entries.iter().find(|e| e["what"] == "stop").unwrap();
    assert_eq!(stop["new"], "KILL", "sleep as PID 1 ignores TERM: {stop}");
    assert!(entries.iter().all(|e| e["result"] == "ok"), "{entries:?}");
}
