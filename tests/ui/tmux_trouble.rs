//! End to end, as root: the dump on trouble seen in the real dashboard. `isotop -d 0.5` runs in
//! tmux with a config file whose `[trouble]` dumps into a temporary directory (its parent
//! 0700), on `oom_kill` and `exit` only (a busy host's throttling would open a dump and merge
//! ours into it), with a cooldown of one second. Trouble is made for real: one of isotop's own
//! containers (`isotop run -d --memory 16M`) has its `tail` OOM-killed reading 64 MiB, then
//! exits with code 3. The status line says each dump's line (`OOM kill in NAME: the last …
//! written; isotop replay DIR`, then `exit code 3 in NAME: …`), naming the directory that is on
//! disk: 0700, read by `Recording::open` without a warning, a keyframe first, two frames at
//! least, the trigger's event of this container in it. `isotop replay DIR` of the OOM kill's
//! dump, in a second tmux window beside the live dashboard, draws its time bar on the dump's
//! last frame and the container's row as it was, and `q` exits 0. Needs root, tmux and a
//! writable `/var/lib/isotop` (skips with the reason otherwise); the container is removed
//! (`isotop rm -f`), the tmux server killed and the directories removed by drop guards even
//! when an assertion fails.

use crate::support::{common, containers, tmux};

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::{require_program, unique_name};
use containers::{Container, require_launch};
use isotop::host::events::{Event, EventKind};
use isotop::record::Recording;
use tmux::Tmux;

/// The dump's directory the status line names: what follows `isotop replay ` on the line that
/// starts with `what in NAME: `.
fn dump_named_on(screen: &str, what: &str, name: &str) -> Option<PathBuf> {
    let line = screen
        .lines()
        .find(|l| l.contains(&format!("{what} in {name}: the last ")))?;
    let (_, dir) = line.split_once("isotop replay ")?;
    Some(PathBuf::from(dir.split_whitespace().next()?))
}

/// Checks the dump in `dir` as `isotop replay` would read it; returns its frame count.
fn check_dump(dir: &Path, kind: &str, id: &str, is_trigger: impl Fn(&Event) -> bool) -> usize {
    let file_name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    assert!(
        file_name.contains(&format!("-{kind}-")),
        "named after the trouble: {}",
        dir.display()
    );
    let mode = std::fs::metadata(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700, "{} is 0700", dir.display());
    let recording = Recording::open(dir).expect("the dump opens as a recording");
    assert!(
        recording.warnings().is_empty(),
        "{}: {:?}",
        dir.display(),
        recording.warnings()
    );
    let entries = recording.entries();
    assert!(entries.len() >= 2, "{} frames only", entries.len());
    assert!(entries[0].is_keyframe(), "the first frame is a keyframe");
    let with_trigger = (0..entries.len())
        .filter(|&i| {
            let frame = recording.frame(i).expect("each frame decodes");
            frame
                .events
                .iter()
                .any(|e| e.subject.container_id.as_deref() == Some(id) && is_trigger(e))
        })
        .count();
    // One kill may be followed by another within the cooldown: the dump takes it in too.
    assert!(with_trigger >= 1, "the trigger's event is in the dump");
    entries.len()
}

#[test]
#[ignore = "needs root"]
fn the_dashboard_dumps_an_oom_kill_and_an_exit_and_the_dump_replays() {
    if !require_program("tmux") || !require_launch() {
        return;
    }
    // tempfile makes it 0700: the dumps' directory's parent only root may write.
    let base = tempfile::tempdir().expect("a temporary directory");
    let dumps = base.path().join("trouble");
    let config = base.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[trouble]\ndir = \"{}\"\ncooldown_seconds = 1\non = [\"oom_kill\", \"exit\"]\n",
            dumps.display()
        ),
    )
    .expect("the config file");
    let name = unique_name("ui-trouble");
    let isotop = env!("CARGO_BIN_EXE_isotop");
    let env = format!(
        "ISOTOP_AUDIT_LOG={} ISOTOP_STATE_DIR={}",
        base.path().join("audit.jsonl").display(),
        base.path().join("state").display()
    );
    let config = config.display();
    let container;
    // Wide enough for the whole status line (its directory is long).
    let tmux = Tmux::start(
        250,
        40,
        &format!("{env} {isotop} --config {config} -d 0.5; echo EXITED $?; sleep 60"),
    );
    tmux.expect("1 Containers", "the dashboard starts");
    tmux.expect("processes ", "the first frame arrives");
    // A few frames in the ring before the trouble.
    std::thread::sleep(std::time::Duration::from_secs(2));

    // 16 MiB and a tail holding 64 MiB of a line with no end: the kernel kills it; then 3.
    container = Container::sh(
        &["--name", &name, "--memory", "16M"],
        "sleep 2; head -c 64M /dev/zero | tail > /dev/null; sleep 4; exit 3",
    );
    let id = container.id.clone();
    let screen = tmux.expect_screen("the OOM kill's dump on the status line", |s| {
        dump_named_on(s, "OOM kill", &name).is_some()
    });
    let oom_dump = dump_named_on(&screen, "OOM kill", &name).expect("the line names its dir");
    assert_eq!(oom_dump.parent(), Some(dumps.as_path()), "{screen}");
    let screen = tmux.expect_screen("the exit's dump on the status line", |s| {
        dump_named_on(s, "exit code 3", &name).is_some()
    });
    let exit_dump = dump_named_on(&screen, "exit code 3", &name).expect("the line names its dir");
    assert_eq!(exit_dump.parent(), Some(dumps.as_path()), "{screen}");
    assert_ne!(oom_dump, exit_dump, "after the cooldown, a dump of its own");

    // The dumps' directory is made 0700 too; each dump reads as a recording.
    let mode = std::fs::metadata(&dumps).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700, "the dumps' directory is 0700");
    let oom_frames = check_dump(&oom_dump, "oom_kill", &id, |e| {
        matches!(e.kind, EventKind::OomKill { .. })
    });
    check_dump(&exit_dump, "exited", &id, |e| {
        e.kind
            == EventKind::Exited {
                exit_code: Some(3),
                stop_requested: false,
            }
    });

    // The replay of the OOM kill's dump, in a second window beside the live dashboard (the
    // session's current window: what `screen` reads and `keys` types into).
    let status = tmux
        .command()
        .args(["new-window", "-t", &tmux.name])
        .arg(format!(
            "{env} {isotop} --config {config} replay {}; echo EXITED $?; sleep 60",
            oom_dump.display()
        ))
        .status()
        .expect("tmux new-window");
    assert!(status.success(), "tmux new-window failed");
    tmux.expect("REPLAY", "the replay's time bar");
    tmux.expect(
        &format!("frame {oom_frames} of {oom_frames}"),
        "the dump's last frame first",
    );
    tmux.expect_screen("the container's row, as dumped", |s| {
        s.lines()
            .any(|l| l.contains(&name) && l.contains(" isotop ") && l.contains("running"))
    });
    tmux.keys(&["q"]);
    tmux.expect("EXITED 0", "the replay exits with status 0 on q");
    drop(tmux);
    drop(container);
}
