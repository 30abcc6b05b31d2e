use std::process::{Child, Command};

use super::*;

fn sleeper() -> Child {
    Command::new("sleep")
        .arg("60")
        .spawn()
        .expect("spawn sleep")
}

/// Kills and reaps on drop, whatever the test did.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_pid_no_longer_in_the_cgroup_after_its_pidfd_opens_is_not_signalled() {
    // A cgroup listing (a plain `cgroup.procs`: the function reads only that) holding `member`;
    // the earlier listing also named `reused`, as when a listed process exits and its pid is
    // handed to a process elsewhere before the pidfds are opened.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut member = Reaped(sleeper());
    let mut reused = Reaped(sleeper());
    let (member_pid, reused_pid) = (member.0.id() as i32, reused.0.id() as i32);
    std::fs::write(dir.path().join("cgroup.procs"), format!("{member_pid}\n")).expect("procs");
    let sent = signal_listed(
        dir.path(),
        &[member_pid, reused_pid],
        Signal::SIGTERM,
        &|_| Ok(()),
    )
    .expect("signal");
    assert_eq!(
        sent.iter().map(|fd| fd.pid()).collect::<Vec<_>>(),
        vec![member_pid]
    );
    assert!(
        reused.0.try_wait().expect("try_wait").is_none(),
        "the process that took a listed pid was signalled"
    );
    let status = member.0.wait().expect("wait");
    assert!(!status.success(), "the member got the signal");
}

#[test]
fn a_listing_that_fails_its_check_after_the_open_signals_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut member = Reaped(sleeper());
    let pid = member.0.id() as i32;
    std::fs::write(dir.path().join("cgroup.procs"), format!("{pid}\n")).expect("procs");
    let calls = std::cell::Cell::new(0);
    let refuse_second = |_: &[i32]| {
        calls.set(calls.get() + 1);
        if calls.get() > 1 {
            Err(ControlError::Refused {
                target: "test".into(),
                reason: "a stranger joined".into(),
            })
        } else {
            Ok(())
        }
    };
    // The first call is the caller's own check of `listed`.
    refuse_second(&[pid]).expect("first");
    assert!(signal_listed(dir.path(), &[pid], Signal::SIGTERM, &refuse_second).is_err());
    assert!(member.0.try_wait().expect("try_wait").is_none());
}
