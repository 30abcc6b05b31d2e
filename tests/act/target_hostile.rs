//! Names strangers choose never capture a target (root, real containers): a process in its own
//! pid + mount namespaces naming itself like a runc container's short id, a container name
//! that is another container's id prefix, a pid that is an id prefix, ids sharing a long
//! prefix (runc ids a user picks; `pidns-<inode>` of namespaces made one after another), and
//! bidirectional controls in a process name. Containers are real: runc (busybox bundle,
//! `tests/shared/bundle.rs`), `isotop run -d`, and `unshare --pid --mount` around a copy of `sleep`
//! whose file name is its comm. Everything is removed by drop guards even when a check fails.

use crate::support::{bundle, common, containers, tmux};

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use bundle::OciRun;
use common::{ChildGuard, require_program, wait_until};

const BIDI: [char; 12] = [
    '\u{061C}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}',
    '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
];

fn runc_ready() -> bool {
    require_program("runc") && require_program("unshare") && Path::new(bundle::BUSYBOX).is_file()
}

/// `len` random hex digits (from the kernel's pool): ids no other test or run can share.
fn random_hex(len: usize) -> String {
    let mut bytes = vec![0u8; len.div_ceil(2)];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .expect("/dev/urandom");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    hex[..len].to_string()
}

/// A copy of coreutils `sleep` called `name` (a process's comm is its file name, 15 bytes).
fn named_sleep(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let sleep = ["/usr/bin/sleep", "/bin/sleep"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("coreutils sleep");
    std::fs::copy(sleep, &path).expect("copy sleep");
    path
}

/// A process in its own pid and mount namespaces (an `unknown` container to isotop).
struct Unshared {
    _guard: ChildGuard,
    /// Host pid of the program inside.
    pid: i32,
}

impl Unshared {
    fn start(program: &Path) -> Unshared {
        let guard = ChildGuard::spawn(
            Command::new("unshare")
                .args(["--fork", "--pid", "--mount", "--mount-proc", "--kill-child"])
                .arg(program)
                .arg("300"),
        );
        let comm = program
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut pid = 0;
        let started = wait_until(Duration::from_secs(10), || {
            pid = children_of(guard.pid()).first().copied().unwrap_or(0);
            // Exec'd: the comm is the copy's name (cut to 15 bytes by the kernel).
            pid > 0
                && std::fs::read(format!("/proc/{pid}/comm"))
                    .is_ok_and(|c| comm.as_bytes().starts_with(c.trim_ascii_end()))
        });
        assert!(started, "the unshared {program:?} started");
        Unshared { _guard: guard, pid }
    }

    /// `pidns-<inode>`: the id isotop gives it.
    fn id(&self) -> String {
        let link = std::fs::read_link(format!("/proc/{}/ns/pid", self.pid)).expect("ns link");
        let text = link.to_string_lossy();
        let inode = text
            .trim_start_matches("pid:[")
            .trim_end_matches(']')
            .to_string();
        format!("pidns-{inode}")
    }
}

fn children_of(pid: i32) -> Vec<i32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

fn isotop(args: &[&str]) -> Output {
    common::isotop()
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("isotop starts")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The id `inspect TARGET` resolves to, or its exit code and stderr.
fn inspected_id(target: &str) -> Result<String, (Option<i32>, String)> {
    let out = isotop(&["inspect", target, "--json"]);
    if !out.status.success() {
        return Err((out.status.code(), text(&out.stderr)));
    }
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).expect("inspect JSON");
    Ok(value["id"].as_str().unwrap_or_default().to_string())
}

/// Asserts `inspect TARGET` exits 2 as ambiguous and lists every one of `lines`.
fn assert_ambiguous(target: &str, lines: &[String]) {
    match inspected_id(target) {
        Ok(id) => panic!("{target:?} is ambiguous, yet resolved to {id}"),
        Err((code, stderr)) => {
            assert_eq!(code, Some(2), "exit 2 for {target:?}: {stderr}");
            assert!(stderr.contains("ambiguous"), "{stderr}");
            for line in lines {
                assert!(stderr.contains(line.as_str()), "{line:?} not in:\n{stderr}");
            }
        }
    }
}

/// `isotop ls` rows (text) holding `needle`: their first column (the short id).
fn ls_ids_of_rows_with(needle: &str) -> Vec<String> {
    let out = isotop(&["ls", "--interval", "0"]);
    assert!(out.status.success(), "ls: {}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .filter(|l| l.contains(needle))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

#[test]
#[ignore = "needs root"]
fn a_process_named_like_a_short_id_does_not_capture_it() {
    if !runc_ready() {
        return;
    }
    let id = random_hex(64);
    let short = &id[..12];
    let real = OciRun::start_with_id("runc", &id);
    let dir = tempfile::tempdir().unwrap();
    let impostor = Unshared::start(&named_sleep(dir.path(), short));
    let impostor_id = impostor.id();

    assert_eq!(
        inspected_id(short),
        Ok(id.clone()),
        "inspect {short} is the runc container, not the process named so"
    );
    let out = isotop(&["ps", short, "--json"]);
    let ps: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert_eq!(ps["id"], id.as_str(), "ps {short}: {}", text(&out.stderr));
    // The impostor is still found by what is its own: its pid and its id.
    assert_eq!(
        inspected_id(&impostor.pid.to_string()),
        Ok(impostor_id.clone())
    );
    assert_eq!(inspected_id(&impostor_id), Ok(impostor_id));
    drop(real);
}

#[test]
#[ignore = "needs root"]
fn a_name_that_is_another_containers_id_prefix_is_ambiguous() {
    if !runc_ready() || !containers::require_launch() {
        return;
    }
    let id = random_hex(64);
    let runc = OciRun::start_with_id("runc", &id);
    let name = &id[..10];
    let named = containers::Container::detached(&["--name", name, "--", "sleep", "300"]);

    assert_ambiguous(
        name,
        &[
            format!("name: {}  {name}  (isotop", &named.id[..12]),
            format!("id prefix: {}", &id[..12]),
        ],
    );
    // The whole id and the shown one still pick each.
    assert_eq!(inspected_id(&id[..12]), Ok(id.clone()));
    assert_eq!(inspected_id(&named.id[..12]), Ok(named.id.clone()));
    drop(runc);
}

#[test]
#[ignore = "needs root"]
fn a_pid_that_is_an_id_prefix_is_ambiguous() {
    if !runc_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let process = Unshared::start(&named_sleep(dir.path(), "isopid"));
    // `0<pid>`: a pid to the parser (leading zero), and the start of this runc id.
    let target = format!("0{}", process.pid);
    let mut id = target.clone();
    id.push_str(&random_hex(64 - id.len()));
    let runc = OciRun::start_with_id("runc", &id);

    assert_ambiguous(
        &target,
        &[
            format!("pid {} is its process: {}", process.pid, process.id()),
            format!("id prefix: {}", &id[..12]),
        ],
    );
    assert_eq!(inspected_id(&process.pid.to_string()), Ok(process.id()));
    drop(runc);
}

#[test]
#[ignore = "needs root"]
fn ids_sharing_a_long_prefix_show_apart_and_each_resolves() {
    if !runc_ready() {
        return;
    }
    // A user's runc ids may share any prefix with another container's id.
    let shared = random_hex(20);
    let ids = [
        format!("{shared}{}", "a".repeat(44)),
        format!("{shared}{}", "b".repeat(44)),
    ];
    let runs: Vec<OciRun> = ids
        .iter()
        .map(|id| OciRun::start_with_id("runc", id))
        .collect();
    let shown = ls_ids_of_rows_with(&shared[..12]);
    assert_eq!(shown.len(), 2, "two rows: {shown:?}");
    assert_ne!(shown[0], shown[1], "two containers, two short ids");
    for form in &shown {
        let id = inspected_id(form).unwrap_or_else(|e| panic!("{form}: {e:?}"));
        assert!(
            id.starts_with(form.as_str()) && ids.contains(&id),
            "{form} → {id}"
        );
    }
    assert_ambiguous(
        &shared[..12],
        &[ids[0][..21].to_string(), ids[1][..21].to_string()],
    );
    drop(runs);
}

#[test]
#[ignore = "needs root"]
fn unknown_containers_show_their_whole_pidns_ids_in_ls_and_the_dashboard() {
    if !require_program("unshare") || !require_program("tmux") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tag = format!("isoid{}", std::process::id() % 100_000);
    let boxes: Vec<Unshared> = ["a", "b"]
        .iter()
        .map(|s| Unshared::start(&named_sleep(dir.path(), &format!("{tag}{s}"))))
        .collect();
    let ids: Vec<String> = boxes.iter().map(Unshared::id).collect();
    assert_ne!(ids[0], ids[1]);

    let mut shown = ls_ids_of_rows_with(&tag);
    shown.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(shown, expected, "ls shows each whole id");
    for (b, id) in boxes.iter().zip(&ids) {
        assert_eq!(inspected_id(id), Ok(id.clone()), "{id} resolves");
        assert_eq!(inspected_id(&b.pid.to_string()), Ok(id.clone()));
    }

    // The dashboard, wide enough for its ID column: both rows, each with its whole id.
    let isotop = env!("CARGO_BIN_EXE_isotop");
    let tmux = tmux::Tmux::start(150, 30, &format!("{isotop} -d 0.5; sleep 60"));
    tmux.expect("processes ", "the first frame arrives");
    tmux.filter(&tag);
    tmux.expect_screen("a row per container, each with its whole pidns id", |s| {
        ids.iter().zip(["a", "b"]).all(|(id, s2)| {
            s.lines()
                .any(|l| l.contains(&format!("{tag}{s2}")) && l.starts_with(id.as_str()))
        })
    });
    // The detail pane's title names the id too.
    tmux.keys(&["Enter"]);
    tmux.expect_screen("the detail title with the id", |s| {
        ids.iter()
            .any(|id| s.contains(&format!("(unknown) {id} — running")))
    });
    tmux.keys(&["q"]);
}

#[test]
#[ignore = "needs root"]
fn bidi_controls_in_a_process_name_never_reach_the_terminal() {
    if !require_program("unshare") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tag = std::process::id() % 100_000;
    // 2 + 3 + 5 + 3 bytes: the whole name fits a comm (15 bytes).
    let name = format!("bd\u{202e}{tag:05}\u{2066}");
    let process = Unshared::start(&named_sleep(dir.path(), &name));
    let cleaned = format!("bd?{tag:05}?");
    let has_bidi = |s: &str| s.chars().any(|c| BIDI.contains(&c));

    let ls = isotop(&["ls", "--interval", "0"]);
    let ls_text = text(&ls.stdout);
    let row = ls_text.lines().find(|l| l.contains(&format!("{tag:05}")));
    assert!(!has_bidi(&ls_text), "ls prints bidi controls: {row:?}");
    assert!(row.is_some_and(|r| r.contains(&cleaned)), "ls row {row:?}");

    let ps = isotop(&["ps", &process.pid.to_string()]);
    let ps_text = text(&ps.stdout);
    assert!(ps.status.success(), "ps: {}", text(&ps.stderr));
    assert!(!has_bidi(&ps_text), "ps prints bidi controls:\n{ps_text}");
    assert!(ps_text.contains(&cleaned), "ps:\n{ps_text}");

    // JSON keeps exact text but escapes what a terminal would act on.
    let json = isotop(&["ls", "--json", "--interval", "0"]);
    let json_text = text(&json.stdout);
    assert!(!has_bidi(&json_text), "ls --json prints bidi controls raw");
    let rows: serde_json::Value = serde_json::from_str(&json_text).expect("ls JSON");
    assert!(
        rows.as_array()
            .is_some_and(|r| r.iter().any(|c| c["name"] == cleaned.as_str())),
        "the name is stored cleaned"
    );
}
