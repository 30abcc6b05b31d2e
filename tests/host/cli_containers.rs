//! The container subcommands (`ls`, `inspect`, `ps`) on real containers made with `unshare`,
//! and TARGET resolution errors. Root only: creating pid and mount namespaces needs it.

use crate::support::common;

use common::isotop_json as json;

use std::process::Command;
use std::time::Duration;

use common::{ChildGuard, require_program, run_isotop, wait_until};
use serde_json::Value;

/// An `unshare` container: new pid, mount and uts namespaces, `/proc` remounted, running
/// `script` under bash as its init. `--kill-child` ends the container when the guard kills
/// unshare.
struct UnshareContainer {
    guard: ChildGuard,
    /// Host pid of the container's init (unshare's child).
    init: i32,
}

impl UnshareContainer {
    fn start(script: &str) -> UnshareContainer {
        let guard = ChildGuard::spawn(
            Command::new("unshare")
                .args([
                    "--fork",
                    "--pid",
                    "--mount-proc",
                    "--mount",
                    "--uts",
                    "--kill-child",
                ])
                .args(["bash", "-c", script])
                .stdin(std::process::Stdio::null()),
        );
        let unshare = guard.pid();
        let mut init = 0;
        let started = wait_until(Duration::from_secs(10), || {
            let children =
                std::fs::read_to_string(format!("/proc/{unshare}/task/{unshare}/children"))
                    .unwrap_or_default();
            match children
                .split_whitespace()
                .next()
                .and_then(|p| p.parse().ok())
            {
                Some(pid) => {
                    init = pid;
                    // Wait until the child has its own pid namespace (unshare forked after it).
                    ns_link(pid, "pid") != ns_link(std::process::id() as i32, "pid")
                }
                None => false,
            }
        });
        assert!(started, "unshare container did not start");
        // A script that ends in `exec` replaces bash: wait for it, or a read may still see
        // bash (seen on the slow emulated v2 kernel) — or unshare itself, whose forked child
        // has not exec'd bash yet (seen here, 1 run in 4).
        if script.contains("exec ") {
            let execed = wait_until(Duration::from_secs(20), || {
                std::fs::read(format!("/proc/{init}/cmdline"))
                    .map(|c| !c.starts_with(b"bash\0") && !c.starts_with(b"unshare\0"))
                    .unwrap_or(false)
            });
            assert!(execed, "the container's init did not exec");
        }
        UnshareContainer { guard, init }
    }

    /// Pids of the init's children (waits until `count` exist).
    fn wait_children(&self, count: usize) -> Vec<i32> {
        let mut pids = Vec::new();
        wait_until(Duration::from_secs(10), || {
            let text = std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", self.init))
                .unwrap_or_default();
            pids = text
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect();
            pids.len() >= count
        });
        pids
    }
}

fn ns_link(pid: i32, kind: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/{kind}"))
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

fn ls_entry(init: i32) -> Option<Value> {
    let list = json(&["ls", "--json", "--interval", "0.2"]);
    list.as_array()?
        .iter()
        .find(|c| c["pid"].as_i64() == Some(init as i64))
        .cloned()
}

#[test]
#[ignore = "needs root"]
fn ls_lists_an_unshare_container_with_its_processes() {
    let c = UnshareContainer::start("sleep 1000 & exec sleep 1001");
    let children = c.wait_children(1);
    assert_eq!(children.len(), 1);
    let entry = ls_entry(c.init).expect("the container is listed with its init pid");
    assert_eq!(entry["runtime"], "unknown");
    assert_eq!(entry["pids"], 2, "init and its one child: {entry}");
    assert_eq!(entry["state"], "running");
    let pidns = ns_link(c.init, "pid");
    let inode = pidns.trim_start_matches("pid:[").trim_end_matches(']');
    assert_eq!(entry["id"], format!("pidns-{inode}"));
    assert!(
        entry["cpu_percent"].as_f64().is_some(),
        "two samples give a CPU%: {entry}"
    );
    assert!(entry["memory_bytes"].as_u64().unwrap_or(0) > 0);
    assert!(entry["uptime_seconds"].as_f64().is_some());

    // The table shows the same container.
    let out = run_isotop(&["ls", "--interval", "0"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().next().unwrap_or("").starts_with("ID"));
    assert!(text.contains(&format!("pidns-{inode}")), "{text}");
    drop(c.guard);
}

#[test]
#[ignore = "needs root"]
fn inspect_names_namespaces_and_their_sources() {
    let c = UnshareContainer::start("exec sleep 1002");
    let doc = json(&["inspect", &c.init.to_string(), "--json"]);
    assert_eq!(doc["init_pid"], c.init);
    assert_eq!(doc["init"]["command"], "sleep 1002");
    let detail = doc["namespace_detail"].as_array().expect("namespace list");
    let me = std::process::id() as i32;
    for entry in detail {
        let kind = entry["type"].as_str().expect("type");
        let link = ns_link(c.init, kind);
        assert_eq!(
            link,
            format!("{kind}:[{}]", entry["inode"]),
            "inode of {kind}"
        );
        assert_eq!(
            entry["source"].as_str(),
            Some(format!("/proc/{}/ns/{kind}", c.init).as_str())
        );
        // The test runs in the host's namespaces except for what unshare made new.
        let new = matches!(kind, "pid" | "mnt" | "uts");
        assert_eq!(
            entry["shared_with_host"],
            !new && link == ns_link(me, kind),
            "{kind}"
        );
    }
    assert_eq!(detail.len(), 8, "all eight kinds on this kernel");

    // The text form shows the same figures.
    let out = run_isotop(&["inspect", &c.init.to_string()]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("/proc/{}/ns/pid", c.init)), "{text}");
    assert!(text.contains("Runtime        unknown"), "{text}");
}

#[test]
#[ignore = "needs root"]
fn ps_shows_the_tree_with_pids_inside_the_container() {
    let c = UnshareContainer::start("sleep 1003 & sleep 1004 & wait");
    let children = c.wait_children(2);
    assert_eq!(children.len(), 2);
    let doc = json(&["ps", &c.init.to_string(), "--json"]);
    let roots = doc["processes"].as_array().expect("process list");
    assert_eq!(roots.len(), 1, "one root: the init");
    assert_eq!(roots[0]["pid"], c.init);
    assert_eq!(roots[0]["container_pid"], 1, "init is pid 1 inside");
    let mut kids: Vec<i64> = roots[0]["children"]
        .as_array()
        .expect("children")
        .iter()
        .filter_map(|k| k["pid"].as_i64())
        .collect();
    kids.sort();
    let mut expected: Vec<i64> = children.iter().map(|p| *p as i64).collect();
    expected.sort();
    assert_eq!(kids, expected);

    let out = run_isotop(&["ps", &c.init.to_string()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("├─ sleep 1003") || text.contains("└─ sleep 1003"),
        "{text}"
    );
}

#[test]
#[ignore = "needs root"]
fn control_characters_from_a_container_never_reach_the_terminal() {
    if !require_program("bash") {
        return;
    }
    let c = UnshareContainer::start("exec -a $'evil\\e[2J\\e]0;title\\a' sleep 1005");
    // A cgroup whose name carries escape sequences (whoever makes a cgroup names it).
    let cgroups = common::CgroupGuard::new("ctl");
    let evil = "evil\u{1b}[2J\u{7}";
    cgroups.child(evil);
    cgroups.add_pid(evil, c.init);
    for args in [
        vec!["ps".to_string(), c.init.to_string()],
        vec!["inspect".to_string(), c.init.to_string()],
        vec!["ls".to_string(), "--interval".into(), "0".into()],
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run_isotop(&args);
        assert!(out.status.success(), "{args:?}");
        assert!(
            !out.stdout.iter().any(|b| *b == 0x1b || *b == 0x07),
            "{args:?} printed a control character"
        );
    }
    let out = run_isotop(&["ps", &c.init.to_string()]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("evil?[2J?]0;title?"));
    let out = run_isotop(&["inspect", &c.init.to_string()]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("evil?[2J?"),
        "the cgroup path is shown, cleaned"
    );
}

#[test]
#[ignore = "needs root"]
fn unknown_and_ambiguous_targets_are_usage_errors_listing_candidates() {
    let a = UnshareContainer::start("exec sleep 1006");
    let b = UnshareContainer::start("exec sleep 1007");

    let out = run_isotop(&["inspect", "no-such-container"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no container matches \"no-such-container\""),
        "{err}"
    );

    // "pidns-" prefixes both (and any other unknown container on the host).
    let out = run_isotop(&["ps", "pidns-"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ambiguous"), "{err}");

    // A pid outside every container.
    let me = std::process::id().to_string();
    let out = run_isotop(&["inspect", &me]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a process of any container"));

    // Each resolves by its full id.
    for c in [&a, &b] {
        let pidns = ns_link(c.init, "pid");
        let id = format!(
            "pidns-{}",
            pidns.trim_start_matches("pid:[").trim_end_matches(']')
        );
        let doc = json(&["inspect", &id, "--json"]);
        assert_eq!(doc["init_pid"], c.init);
    }
}

#[test]
#[ignore = "needs root"]
fn a_non_root_user_sees_what_is_visible_and_is_told_what_is_not() {
    if !require_program("setpriv") {
        return;
    }
    let c = UnshareContainer::start("exec sleep 1008");
    let isotop = common::isotop_for_any_user();
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(isotop.path())
        .args(["ls", "--interval", "0"])
        .output()
        .expect("setpriv runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "non-root ls must not fail: {err}"
    );
    assert!(
        err.contains("run as root"),
        "says what root would add: {err}"
    );
    drop(c);
}
