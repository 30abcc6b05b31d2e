//! `isotop agent` on its own, driven over pipes as ssh would: its hello, frames that show a
//! cgroup the test made, an act on that cgroup that changes its kernel file and lands in the
//! audit log, the end with status 0 when stdin closes; `--read-only` refusing the act; a
//! dashboard of another protocol version told so on stderr, the agent ending.

use crate::support::common;

use std::io::{BufReader, BufWriter};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use common::{CgroupGuard, ChildGuard, read_text, wait_until};
use isotop::remote::request::{RemoteRequest, WireLimitKind, WireLogMessage, WireOutcome};
use isotop::remote::wire::{self, AgentMessage, ClientMessage, Hello, PROTOCOL_VERSION, Peer};

/// An agent with its audit log and state under `state`, an empty config, pipes on both ends.
struct Agent {
    child: Child,
    input: BufWriter<ChildStdin>,
    output: BufReader<ChildStdout>,
}

impl Agent {
    fn start(state: &Path, extra: &[&str]) -> Agent {
        let config = state.join("config.toml");
        std::fs::write(&config, "").unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_isotop"))
            .args(extra)
            .arg("--config")
            .arg(&config)
            .arg("agent")
            .env("ISOTOP_AUDIT_LOG", state.join("audit.jsonl"))
            .env("ISOTOP_STATE_DIR", state.join("state"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("isotop agent starts");
        let input = BufWriter::new(child.stdin.take().unwrap());
        let output = BufReader::new(child.stdout.take().unwrap());
        Agent {
            child,
            input,
            output,
        }
    }

    fn hello(&mut self) -> Hello {
        wire::write_hello(&mut self.input, &Hello::ours(false)).unwrap();
        wire::read_hello(&mut self.output, Peer::Remote).expect("the agent's hello")
    }

    fn send(&mut self, message: &ClientMessage) {
        wire::write_message(&mut self.input, message).unwrap();
    }

    fn next(&mut self) -> AgentMessage {
        wire::read_message(&mut self.output).expect("a message from the agent")
    }

    /// Reads messages until `want` picks one (30 s at most).
    fn until<T>(&mut self, what: &str, mut want: impl FnMut(AgentMessage) -> Option<T>) -> T {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(found) = want(self.next()) {
                return found;
            }
        }
        panic!("{what}: not sent within 30 s");
    }

    fn outcome(&mut self, id: u64) -> WireOutcome {
        self.until("the act's outcome", |m| match m {
            AgentMessage::Outcome { id: got, outcome } if got == id => Some(outcome),
            _ => None,
        })
    }

    /// Closes stdin and waits for the exit status (10 s at most).
    fn close(mut self) -> std::process::ExitStatus {
        drop(self.input);
        // Drain stdout so a frame being written cannot hold the agent up.
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut self.output, &mut std::io::sink());
        });
        let mut status = None;
        wait_until(Duration::from_secs(10), || {
            status = self.child.try_wait().ok().flatten();
            status.is_some()
        });
        status.unwrap_or_else(|| {
            let _ = self.child.kill();
            panic!("the agent did not end within 10 s of stdin closing")
        })
    }
}

#[test]
#[ignore = "needs root"]
fn the_agent_streams_frames_applies_an_act_and_ends_when_stdin_closes() {
    let v2 = Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    let guard = CgroupGuard::new("agent");
    let path = guard.child("work");
    let sleeper = ChildGuard::spawn(Command::new("sleep").arg("1000").stdin(Stdio::null()));
    guard.add_pid("work", sleeper.pid());
    let (quota, tenth) = if v2 {
        (guard.dirs[0].join("work/cpu.max"), "10000 100000")
    } else {
        (guard.dir("cpu", "work").join("cpu.cfs_quota_us"), "10000")
    };
    let state = tempfile::tempdir().unwrap();
    let mut agent = Agent::start(state.path(), &[]);
    let hello = agent.hello();
    assert_eq!(hello.protocol, PROTOCOL_VERSION);
    assert!(!hello.read_only);
    // One frame is proof enough, and on a host of many processes a frame is megabytes to
    // decode: after the first, the next comes in an hour (the act's outcome is not held up).
    agent.send(&ClientMessage::SetInterval(3600.0));
    let seq = agent.until("a frame with the test's cgroup", |m| match m {
        AgentMessage::Frame(frame) if frame.cgroups.iter().any(|c| c.path == path) => {
            Some(frame.seq)
        }
        _ => None,
    });
    assert!(seq < 2, "the first frames have it (seq {seq})");

    agent.send(&ClientMessage::Act {
        id: 1,
        request: RemoteRequest::LimitCgroup {
            path: path.clone(),
            kind: WireLimitKind::Cpu,
            text: "0.1".to_string(),
        },
    });
    match agent.outcome(1) {
        WireOutcome::Done(text) => assert!(text.contains("→"), "{text}"),
        other => panic!("the limit failed: {other:?}"),
    }
    assert_eq!(read_text(&quota).trim(), tenth, "{}", quota.display());
    let audit = std::fs::read_to_string(state.path().join("audit.jsonl")).unwrap_or_default();
    let label = format!("\"target\":\"cgroup:{path}\"");
    assert!(
        audit
            .lines()
            .any(|l| l.contains(&label) && l.contains("\"limit.cpu\"")),
        "the agent's host audited the act:\n{audit}"
    );
    // A container id the agent does not know is refused by the agent, not guessed.
    agent.send(&ClientMessage::Act {
        id: 2,
        request: RemoteRequest::Freeze {
            container: "0".repeat(64),
            frozen: true,
        },
    });
    match agent.outcome(2) {
        WireOutcome::Failed(text) => assert!(text.contains("no container"), "{text}"),
        other => panic!("{other:?}"),
    }
    // A log of a container it does not know: the pane is told, nothing else is read.
    agent.send(&ClientMessage::OpenLog {
        id: 9,
        container: "f".repeat(64),
        since_ms: None,
    });
    let said = agent.until("the log's answer", |m| match m {
        AgentMessage::Log { id: 9, message } => Some(message),
        _ => None,
    });
    assert!(
        matches!(&said, WireLogMessage::Stopped(why) if why.contains("no container")),
        "{said:?}"
    );
    let status = agent.close();
    assert_eq!(status.code(), Some(0), "stdin closed: a clean end");
}

#[test]
#[ignore = "needs root"]
fn a_read_only_agent_refuses_acts() {
    let guard = CgroupGuard::new("agent-ro");
    let path = guard.child("work");
    let state = tempfile::tempdir().unwrap();
    let mut agent = Agent::start(state.path(), &["--read-only"]);
    assert!(agent.hello().read_only, "the hello says read-only");
    agent.send(&ClientMessage::Act {
        id: 5,
        request: RemoteRequest::FreezeCgroup { path, frozen: true },
    });
    match agent.outcome(5) {
        WireOutcome::Failed(text) => assert!(text.starts_with("read-only"), "{text}"),
        other => panic!("{other:?}"),
    }
    agent.send(&ClientMessage::Bye);
    assert_eq!(agent.close().code(), Some(0));
}

#[test]
fn an_agent_tells_a_dashboard_of_another_version_and_ends() {
    let state = tempfile::tempdir().unwrap();
    let mut agent = Agent::start(state.path(), &[]);
    let theirs = Hello {
        protocol: PROTOCOL_VERSION + 1,
        ..Hello::ours(false)
    };
    wire::write_hello(&mut agent.input, &theirs).unwrap();
    let ours = wire::read_hello(&mut agent.output, Peer::Remote).unwrap();
    assert_eq!(
        ours.protocol, PROTOCOL_VERSION,
        "the agent says its own first"
    );
    let mut stderr = agent.child.stderr.take().unwrap();
    let status = agent.close();
    assert_ne!(status.code(), Some(0));
    let mut said = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut said).unwrap();
    assert!(
        said.contains(&format!(
            "client isotop {} speaks protocol {}, this one {PROTOCOL_VERSION}: install the same \
             version on both hosts",
            env!("CARGO_PKG_VERSION"),
            PROTOCOL_VERSION + 1
        )),
        "{said}"
    );
}
