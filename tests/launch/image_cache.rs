//! The layer cache on the live host, through the real binary (root): the cache and container
//! directories are root-only after a run and `nobody` cannot reach an image's setuid file,
//! a loosened cache is repaired by the next command, a `--userns` container still reads its
//! layers, temporary directories of killed unpacks (a real SIGKILL) are swept by the next
//! start, SIGTERM and SIGINT in the middle of an unpack leave nothing, and `isotop image ls` /
//! `prune` (under `--root`, so the live cache of other tests is never pruned) report and
//! remove exactly the layers no container uses — waiting for a launch that holds the lock.

use crate::support::{archives, common, containers};

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use archives::{Item, sha256_hex, tar_of};
use common::{isotop, require_program, unique_name, wait_until};
use containers::{
    APPLETS, Container, assert_code, busybox_bytes, isotop_out, require_launch, text,
};
use isotop::host::HostRoot;
use isotop::launch::LayerCache;
use isotop::launch::store::{ContainerRecord, new_id, write_record};

const DATA: &str = "/var/lib/isotop";
const LAYERS: &str = "/var/lib/isotop/layers";

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// A busybox root file system with a marker (unique per test, so its digest is new to the
/// cache) and a setuid-root program `bin/suid`.
fn busybox_layer(busybox: &[u8], marker: &str) -> Vec<u8> {
    let links: Vec<String> = APPLETS.iter().map(|a| format!("./bin/{a}")).collect();
    let mut items = vec![
        Item::Dir("./"),
        Item::Dir("./bin/"),
        Item::Dir("./etc/"),
        Item::Dir("./tmp/"),
        Item::FileMode("./bin/busybox", busybox, 0o755),
        Item::FileMode("./bin/suid", b"#!/bin/sh\nid\n", 0o4755),
        Item::File("./etc/img", marker.as_bytes()),
    ];
    items.extend(links.iter().map(|l| Item::Symlink(l, "busybox")));
    tar_of(&items)
}

/// Removes a test's layer (and its meta) from the live cache on drop.
struct CachedLayer(String);

impl Drop for CachedLayer {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(Path::new(LAYERS).join("sha256").join(&self.0));
        let _ = fs::remove_file(Path::new(LAYERS).join(format!("meta/{}.json", self.0)));
    }
}

/// `CMD ARGS` as `nobody` (uid/gid 65534, no groups).
fn as_nobody(cmd: &str, args: &[&str]) -> std::process::Output {
    Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
            cmd,
        ])
        .args(args)
        .output()
        .unwrap()
}

#[test]
#[ignore = "needs root"]
fn cache_and_container_dirs_are_root_only_and_nobody_cannot_reach_a_setuid_file() {
    let Some(busybox) = busybox_bytes() else {
        return;
    };
    if !require_program("setpriv") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let layer = busybox_layer(&busybox, &unique_name("private"));
    let hex = sha256_hex(&layer);
    let _cached = CachedLayer(hex.clone());
    let image = work.path().join("suid.tar");
    fs::write(&image, &layer).unwrap();
    let container = Container::sh(&["--image", image.to_str().unwrap()], "sleep 300");
    let layer_dir = Path::new(LAYERS).join("sha256").join(&hex);
    let data_dir = container.data_dir();
    // Root sees the setuid file where it was unpacked and in the mounted root.
    let suid_in_layer = layer_dir.join("bin/suid");
    let suid_in_rootfs = data_dir.join("rootfs/bin/suid");
    assert_eq!(mode(&suid_in_layer), 0o4755);
    assert_eq!(mode(&suid_in_rootfs), 0o4755);

    for path in [&suid_in_layer, &suid_in_rootfs, &layer_dir.join("etc/img")] {
        let path = path.to_str().unwrap();
        let stat = as_nobody("stat", &[path]);
        assert!(
            !stat.status.success() && text(&stat.stderr).contains("Permission denied"),
            "nobody reached {path}: {:?} {}",
            stat.status,
            text(&stat.stdout)
        );
        let exec = as_nobody(path, &[]);
        assert!(!exec.status.success(), "nobody ran {path}");
    }

    // Search-only where a --userns container's setup must pass, root's alone elsewhere.
    assert_eq!(mode(Path::new(DATA)), 0o711, "{DATA}");
    assert_eq!(mode(&Path::new(DATA).join("containers")), 0o711);
    assert_eq!(mode(&data_dir), 0o710, "{}", data_dir.display());
    for private in ["", "sha256", "tmp", "meta"] {
        let dir = Path::new(LAYERS).join(private);
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
    }
    assert_eq!(mode(&Path::new(DATA).join("default")), 0o700);
}

#[test]
#[ignore = "needs root"]
fn a_loosened_cache_is_repaired_by_the_next_command() {
    if !require_launch() {
        return;
    }
    // A cache as older isotops left it: everything 0755.
    let loosen = || {
        for dir in ["", "containers", "layers", "layers/sha256", "layers/tmp"] {
            let dir = Path::new(DATA).join(dir);
            fs::create_dir_all(&dir).unwrap();
            set_mode(&dir, 0o755);
        }
    };
    let check = |after: &str| {
        assert_eq!(mode(Path::new(DATA)), 0o711, "after {after}");
        assert_eq!(
            mode(&Path::new(DATA).join("containers")),
            0o711,
            "after {after}"
        );
        for dir in ["layers", "layers/sha256", "layers/tmp"] {
            assert_eq!(
                mode(&Path::new(DATA).join(dir)),
                0o700,
                "{dir} after {after}"
            );
        }
    };
    loosen();
    let out = isotop_out(&["run", "--rm", "--", "true"]);
    assert_code(&out, 0, "run --rm -- true");
    check("isotop run");
    loosen();
    let out = isotop_out(&["image", "ls"]);
    assert_code(&out, 0, "image ls");
    check("isotop image ls");
}

#[test]
#[ignore = "needs root"]
fn a_userns_container_still_reads_its_image_layers() {
    let Some(busybox) = busybox_bytes() else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let marker = unique_name("userns");
    let layer = busybox_layer(&busybox, &marker);
    let _cached = CachedLayer(sha256_hex(&layer));
    let image = work.path().join("userns.tar");
    fs::write(&image, &layer).unwrap();
    let out = isotop_out(&[
        "run",
        "--rm",
        "--userns",
        "--image",
        image.to_str().unwrap(),
        "--",
        "/bin/sh",
        "-c",
        "cat /etc/img; echo; ls /bin/suid",
    ]);
    assert_code(&out, 0, "run --userns with an image");
    assert_eq!(text(&out.stdout), format!("{marker}\n/bin/suid\n"));
    // And the default image (the skeleton under the root-only default/).
    let out = isotop_out(&["run", "--rm", "--userns", "--", "cat", "/etc/hostname"]);
    assert_code(&out, 0, "run --userns with the default image");
}

/// Writes a gzipped layer that takes seconds to unpack (640 MiB of zeros in 40 files, a few
/// hundred KiB compressed) with a unique marker; returns its digest hex.
fn big_layer(path: &Path, marker: &str) -> String {
    archives::write_big_gzip_layer(path, 40, 16 << 20, marker);
    sha256_hex(&fs::read(path).unwrap())
}

/// Names in the live cache's `tmp/` that belong to process `pid`.
fn temp_entries_of(pid: u32) -> Vec<String> {
    archives::names_in(&Path::new(LAYERS).join("tmp"))
        .into_iter()
        .filter(|name| name.contains(&format!("-{pid}-")))
        .collect()
}

/// Starts `isotop run` of `image` in the foreground, waits until it is unpacking (its
/// temporary layer exists) and returns it.
fn unpacking(image: &Path, name: &str) -> common::ChildGuard {
    let child = common::ChildGuard::spawn(
        isotop()
            .args(["run", "--rm", "--name", name, "--image"])
            .arg(image)
            .args(["--", "/bin/true"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped()),
    );
    let pid = child.0.id();
    assert!(
        wait_until(Duration::from_secs(60), || !temp_entries_of(pid).is_empty()),
        "isotop run never started unpacking"
    );
    child
}

#[test]
#[ignore = "needs root"]
fn a_temp_dir_left_by_a_killed_unpack_is_removed_on_the_next_start() {
    if !require_launch() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let image = work.path().join("big.tar.gz");
    let hex = big_layer(&image, &unique_name("killed"));
    let _cached = CachedLayer(hex.clone());
    let mut child = unpacking(&image, &unique_name("killed"));
    let pid = child.0.id();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    child.0.wait().unwrap();
    let left = temp_entries_of(pid);
    assert!(!left.is_empty(), "SIGKILL left nothing to sweep?");
    // A spool file of a process that is gone, and one of a live process (this test's).
    let tmp = Path::new(LAYERS).join("tmp");
    let dead_spool = tmp.join("spool-4194399-0.tar");
    let live_spool = tmp.join(format!("spool-{}-0.tar", std::process::id()));
    fs::write(&dead_spool, "x").unwrap();
    fs::write(&live_spool, "x").unwrap();
    let out = isotop_out(&["run", "--rm", "--", "true"]);
    assert_code(&out, 0, "the next run");
    let _ = fs::remove_file(&live_spool);
    assert!(
        temp_entries_of(pid).is_empty(),
        "left: {:?}",
        temp_entries_of(pid)
    );
    assert!(!dead_spool.exists(), "a dead process's spool file stayed");
    assert!(
        !Path::new(LAYERS).join("sha256").join(&hex).exists(),
        "a half layer was cached"
    );
}

#[test]
#[ignore = "needs root"]
fn sigterm_and_sigint_mid_unpack_clean_up_then_end_the_run() {
    if !require_launch() {
        return;
    }
    for signal in [
        nix::sys::signal::Signal::SIGTERM,
        nix::sys::signal::Signal::SIGINT,
    ] {
        let work = tempfile::tempdir().unwrap();
        let image = work.path().join("big.tar.gz");
        let hex = big_layer(&image, &unique_name("signal"));
        let _cached = CachedLayer(hex.clone());
        let name = unique_name("signal");
        let mut child = unpacking(&image, &name);
        let pid = child.0.id();
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), signal).unwrap();
        let status = child.0.wait().unwrap();
        assert_eq!(status.signal(), Some(signal as i32), "{signal}: {status:?}");
        assert!(
            temp_entries_of(pid).is_empty(),
            "{signal} left {:?}",
            temp_entries_of(pid)
        );
        assert!(
            !Path::new(LAYERS).join("sha256").join(&hex).exists(),
            "{signal}: the interrupted layer was cached"
        );
        containers::assert_nothing_named(&name);
    }
}

/// A fake host under a temporary directory: the layer cache of `--root DIR`.
struct FakeHost {
    dir: tempfile::TempDir,
}

impl FakeHost {
    fn new() -> FakeHost {
        FakeHost {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn host(&self) -> HostRoot {
        HostRoot::under(self.dir.path())
    }

    fn cache(&self) -> LayerCache {
        LayerCache::new(self.dir.path().join("var/lib/isotop/layers"))
    }

    /// Caches a one-file layer and returns its directory.
    fn layer(&self, marker: &str) -> PathBuf {
        let tar = tar_of(&[Item::Dir("./"), Item::File("./marker", marker.as_bytes())]);
        let path = self.dir.path().join(format!("{marker}.tar"));
        fs::write(&path, tar).unwrap();
        self.cache().prepare_path(&path).unwrap().layers.remove(0)
    }

    /// Records a stopped container that uses `layers`; returns its id.
    fn container(&self, name: &str, layers: &[PathBuf]) -> String {
        let host = self.host();
        let id = new_id().unwrap();
        let mut record = ContainerRecord::created(&host, &id, name);
        record.lower_layers = layers.to_vec();
        write_record(&host, &record).unwrap();
        id
    }

    fn isotop(&self, args: &[&str], audit: &Path) -> std::process::Output {
        isotop()
            .arg("--root")
            .arg(self.dir.path())
            .args(args)
            .env("ISOTOP_AUDIT_LOG", audit)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }
}

fn digest_of(layer: &Path) -> String {
    format!("sha256:{}", layer.file_name().unwrap().to_str().unwrap())
}

fn json(out: &std::process::Output, what: &str) -> serde_json::Value {
    assert_code(out, 0, what);
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{what}: {e}"))
}

#[test]
#[ignore = "needs root"]
fn image_ls_shows_layers_and_users_and_prune_keeps_what_is_used() {
    let fake = FakeHost::new();
    let audit = fake.dir.path().join("audit.jsonl");
    let used = fake.layer("used");
    let shared = fake.layer("shared");
    let unused = fake.layer("unused");
    let web = fake.container("web", &[used.clone(), shared.clone()]);
    let db = fake.container("db", std::slice::from_ref(&shared));

    let listed = json(&fake.isotop(&["image", "ls", "--json"], &audit), "image ls");
    let layers = listed.as_array().unwrap();
    assert_eq!(layers.len(), 3, "{listed:#}");
    let find = |layer: &Path| {
        layers
            .iter()
            .find(|l| l["digest"] == digest_of(layer))
            .unwrap_or_else(|| panic!("{} not listed: {listed:#}", layer.display()))
    };
    let users = |layer: &Path| -> Vec<String> {
        let mut ids: Vec<String> = find(layer)["used_by"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(users(&used), vec![web.clone()]);
    let mut both = vec![web.clone(), db.clone()];
    both.sort();
    assert_eq!(users(&shared), both);
    assert!(users(&unused).is_empty());
    let entry = find(&used);
    assert_eq!(entry["path"], used.to_str().unwrap());
    assert_eq!(entry["entries"], 1, "{entry:#}");
    assert_eq!(entry["whiteouts"], 0);
    assert!(entry["disk_bytes"].as_u64().unwrap() > 0);
    assert!(entry["created_ms"].as_u64().unwrap() > 1_600_000_000_000);
    assert!(entry["diff_id"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(find(&used)["used_by"][0]["name"], "web");
    // The table says the same.
    let table = fake.isotop(&["image", "ls"], &audit);
    assert_code(&table, 0, "image ls");
    assert!(text(&table.stdout).contains(&format!("web ({})", &web[..12])));

    let pruned = json(
        &fake.isotop(&["image", "prune", "--json"], &audit),
        "image prune",
    );
    let removed: Vec<&str> = pruned["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap())
        .collect();
    assert_eq!(removed, vec![digest_of(&unused)]);
    assert_eq!(pruned["kept"].as_array().unwrap().len(), 2);
    assert!(!unused.exists() && used.exists() && shared.exists());
    let log = fs::read_to_string(&audit).unwrap();
    assert!(
        log.lines()
            .any(|l| l.contains("image.prune") && l.contains(&digest_of(&unused))),
        "{log}"
    );
    // Nothing left to prune.
    let again = json(
        &fake.isotop(&["image", "prune", "--json"], &audit),
        "prune again",
    );
    assert_eq!(again["removed"].as_array().unwrap().len(), 0);
}

#[test]
#[ignore = "needs root"]
fn prune_waits_for_a_launch_that_holds_the_cache() {
    let fake = FakeHost::new();
    let audit = fake.dir.path().join("audit.jsonl");
    let layer = fake.layer("about-to-be-used");
    // A launch between its layer lookup and its record: it holds the cache's lock shared.
    let lock_path = fake.cache().root().join("lock");
    let lock = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .unwrap();
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockShared).unwrap();
    let mut prune = common::ChildGuard::spawn(
        isotop()
            .arg("--root")
            .arg(fake.dir.path())
            .args(["image", "prune", "--json"])
            .env("ISOTOP_AUDIT_LOG", &audit)
            .stdout(Stdio::piped()),
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        prune.0.try_wait().unwrap().is_none(),
        "prune did not wait for the lock"
    );
    assert!(
        layer.exists(),
        "prune removed a layer a launch was about to use"
    );
    // The launch records its container and lets go: the layer is in use, prune keeps it.
    fake.container("late", std::slice::from_ref(&layer));
    drop(lock);
    let status = prune.0.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(layer.exists(), "a layer in use was pruned");
}
