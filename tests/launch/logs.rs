//! A real isotop container's output through `isotop logs`, read by `host::logs` from the
//! supervisor's `container.log` as every runtime's log is: a line written in two pieces
//! (`printf` then, later, its end) joined, each line's time the time its end was logged
//! (`--timestamps`), `--since`/`--until` at those times, `--stream`, `-n`, `-f` returning
//! at the exit, and the container found by its name like any other.

use crate::support::{common, containers};

use common::unique_name;
use containers::{Container, assert_code, require_launch, text};
use isotop::host::logs::time::{format_rfc3339_ns, parse_rfc3339_ns};

/// The time and text of a `--timestamps` line.
fn stamped(line: &str) -> (u64, &str) {
    let (time, text) = line.split_once(' ').expect("a time, a space, the text");
    (parse_rfc3339_ns(time).expect("RFC 3339"), text)
}

#[test]
#[ignore = "needs root"]
fn an_isotop_containers_log_by_time_stream_and_count() {
    if !require_launch() {
        return;
    }
    let name = unique_name("logs");
    let c = Container::sh(
        &["--name", &name],
        "echo one; echo oops >&2; printf 'no '; sleep 1.5; echo end; echo two",
    );
    let follow = c.isotop(&["logs", "-f"]);
    assert_code(&follow, 0, "logs -f");
    assert_eq!(text(&follow.stdout), "one\nno end\ntwo\n");
    assert_eq!(text(&follow.stderr), "oops\n");

    let by_name = common::isotop()
        .args(["logs", "--timestamps", &name])
        .output()
        .unwrap();
    assert_code(&by_name, 0, "logs --timestamps NAME");
    let out = text(&by_name.stdout);
    let lines: Vec<(u64, &str)> = out.lines().map(stamped).collect();
    let texts: Vec<&str> = lines.iter().map(|(_, t)| *t).collect();
    assert_eq!(texts, ["one", "no end", "two"]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let (one, no_end, two) = (lines[0].0, lines[1].0, lines[2].0);
    assert!(one <= no_end && no_end <= two && two <= now, "{out}");
    assert!(
        no_end - one >= 1_000_000_000,
        "the joined line's time is its end's: {out}"
    );

    let midway = format_rfc3339_ns(one + 500_000_000);
    let since = c.isotop(&["logs", "--since", &midway]);
    assert_eq!(text(&since.stdout), "no end\ntwo\n");
    assert_eq!(text(&since.stderr), "", "oops came before");
    let until = c.isotop(&["logs", "--until", &midway]);
    assert_eq!(text(&until.stdout), "one\n");
    assert_eq!(text(&until.stderr), "oops\n");
    let stderr_only = c.isotop(&["logs", "--stream", "stderr"]);
    assert_eq!(text(&stderr_only.stdout), "");
    assert_eq!(text(&stderr_only.stderr), "oops\n");
    let last = c.isotop(&["logs", "-n", "2"]);
    assert_eq!(text(&last.stdout), "no end\ntwo\n");
}
