//! The walk on real temporary trees: figures against `du`, hard links, symlinks, sparse files,
//! a nested mount, entries deleted or swapped mid-walk, the cap on a virtual clock, cancel,
//! depth, and the cache's freshness rules.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::*;

fn tree() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn write(path: &Path, bytes: usize) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(path, vec![b'x'; bytes]).unwrap();
}

/// `count` one-byte files spread over `dirs` subdirectories of `root`.
fn spread(root: &Path, count: usize, dirs: usize) {
    for i in 0..count {
        write(&root.join(format!("d{}", i % dirs)).join(i.to_string()), 1);
    }
}

/// `du -s -x` of `path` in bytes, allocated (`-B1`) or apparent (`-b`).
fn du(path: &Path, apparent: bool) -> u64 {
    let unit = if apparent { "-b" } else { "-B1" };
    let out = Command::new("du")
        .args(["-s", "-x", unit])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "du failed: {out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    text.split_whitespace().next().unwrap().parse().unwrap()
}

/// An observer made of closures, on the real clock.
struct Hooks<E: FnMut(&Path), P: FnMut(&Usage)> {
    on_enter: E,
    on_progress: P,
}

impl<E: FnMut(&Path), P: FnMut(&Usage)> Observer for Hooks<E, P> {
    fn entering(&mut self, dir: &Path) {
        (self.on_enter)(dir)
    }
    fn progress(&mut self, so_far: &Usage) {
        (self.on_progress)(so_far)
    }
}

fn on_enter(f: impl FnMut(&Path)) -> Hooks<impl FnMut(&Path), impl FnMut(&Usage)> {
    Hooks {
        on_enter: f,
        on_progress: |_: &Usage| {},
    }
}

/// A clock that only moves when the walk pauses: the cap's waits are counted, not timed.
struct VirtualClock {
    start: Instant,
    offset: Duration,
    pauses: u64,
    /// (entries, virtual time) at each progress call.
    seen: Vec<(u64, Duration)>,
    cancel_after_pauses: Option<(u64, Cancel)>,
}

impl VirtualClock {
    fn new() -> Self {
        VirtualClock {
            start: Instant::now(),
            offset: Duration::ZERO,
            pauses: 0,
            seen: Vec::new(),
            cancel_after_pauses: None,
        }
    }
}

impl Observer for VirtualClock {
    fn now(&mut self) -> Instant {
        self.start + self.offset
    }
    fn pause(&mut self, duration: Duration) {
        assert!(duration <= pace::MAX_PAUSE && !duration.is_zero());
        self.offset += duration;
        self.pauses += 1;
        if let Some((after, cancel)) = &self.cancel_after_pauses
            && self.pauses >= *after
        {
            cancel.cancel();
        }
    }
    fn progress(&mut self, so_far: &Usage) {
        self.seen.push((so_far.entries, self.offset));
    }
}

#[test]
fn figures_match_du_on_a_mixed_tree() {
    let dir = tree();
    let root = dir.path();
    write(&root.join("a/small"), 10);
    write(&root.join("a/b/c/big"), 300_000);
    write(&root.join("empty"), 0);
    fs::create_dir_all(root.join("d/e")).unwrap();
    symlink("a/small", root.join("link")).unwrap();
    fs::hard_link(root.join("a/b/c/big"), root.join("d/big-again")).unwrap();
    nix::unistd::mkfifo(
        &root.join("fifo"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();

    let usage = dir_usage(root, &Budget::unlimited()).unwrap();
    assert_eq!(usage.allocated_bytes, du(root, false));
    assert_eq!(usage.apparent_bytes, du(root, true));
    // small, big (once), empty, link, fifo; root, a, a/b, a/b/c, d, d/e.
    assert_eq!((usage.files, usage.dirs), (5, 6));
    assert_eq!(
        usage.entries, 11,
        "every name examined, the second link too"
    );
    assert!(usage.is_complete());
}

#[test]
fn hard_links_are_counted_once() {
    let dir = tree();
    write(&dir.path().join("one"), 100_000);
    for name in ["two", "three", "sub/four"] {
        fs::create_dir_all(dir.path().join("sub")).unwrap();
        fs::hard_link(dir.path().join("one"), dir.path().join(name)).unwrap();
    }
    let usage = dir_usage(dir.path(), &Budget::unlimited()).unwrap();
    assert_eq!(usage.files, 1);
    let dirs_apparent = fs::metadata(dir.path()).unwrap().len()
        + fs::metadata(dir.path().join("sub")).unwrap().len();
    assert_eq!(usage.apparent_bytes, 100_000 + dirs_apparent);
}

#[test]
fn symlinks_are_not_followed_inside_or_at_the_root() {
    let outside = tree();
    write(&outside.path().join("huge"), 1_000_000);
    let dir = tree();
    let target = outside.path().to_str().unwrap().to_string();
    symlink(&target, dir.path().join("to-outside")).unwrap();
    let usage = dir_usage(dir.path(), &Budget::unlimited()).unwrap();
    assert_eq!((usage.files, usage.dirs), (1, 1));
    let root_size = fs::metadata(dir.path()).unwrap().len();
    assert_eq!(usage.apparent_bytes, root_size + target.len() as u64);

    let err = dir_usage(&dir.path().join("to-outside"), &Budget::unlimited()).unwrap_err();
    assert!(matches!(err, UsageError::NotADirectory { .. }), "{err}");
}

#[test]
fn a_sparse_file_has_few_blocks_and_its_full_length() {
    let dir = tree();
    let file = fs::File::create(dir.path().join("sparse")).unwrap();
    file.set_len(1 << 30).unwrap();
    let usage = dir_usage(dir.path(), &Budget::unlimited()).unwrap();
    assert!(usage.apparent_bytes >= 1 << 30);
    assert!(usage.allocated_bytes < 1 << 20, "{usage:?}");
    assert_eq!(usage.allocated_bytes, du(dir.path(), false));
}

#[test]
fn missing_root_and_file_root_are_clear_errors() {
    let dir = tree();
    let gone = dir_usage(&dir.path().join("nope"), &Budget::unlimited()).unwrap_err();
    assert!(matches!(gone, UsageError::Gone { .. }), "{gone}");
    assert!(gone.to_string().contains("nope"));
    write(&dir.path().join("file"), 1);
    let file = dir_usage(&dir.path().join("file"), &Budget::unlimited()).unwrap_err();
    assert!(matches!(file, UsageError::NotADirectory { .. }), "{file}");
}

#[test]
#[ignore = "needs root"]
fn a_nested_mount_is_not_crossed() {
    let dir = tree();
    let root = dir.path().to_path_buf();
    write(&root.join("here"), 5000);
    fs::create_dir(root.join("mnt")).unwrap();
    // A mount namespace of this thread alone, private, so the tmpfs never reaches the host's
    // and goes away with the thread.
    let usage = std::thread::spawn(move || {
        use nix::mount::{MsFlags, mount};
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS).unwrap();
        let none: Option<&str> = None;
        mount(none, "/", none, MsFlags::MS_REC | MsFlags::MS_PRIVATE, none).unwrap();
        mount(
            Some("tmpfs"),
            &root.join("mnt"),
            Some("tmpfs"),
            MsFlags::empty(),
            None::<&str>,
        )
        .unwrap();
        write(&root.join("mnt/inside"), 1_000_000);
        dir_usage(&root, &Budget::unlimited()).unwrap()
    })
    .join()
    .unwrap();
    assert_eq!(usage.skipped.other_fs, 1);
    assert_eq!((usage.files, usage.dirs), (1, 1), "{usage:?}");
    assert!(usage.apparent_bytes < 1_000_000);
}

#[test]
fn a_subdirectory_deleted_before_it_is_read_is_skipped() {
    let dir = tree();
    for sub in ["x", "y"] {
        for i in 0..5 {
            write(&dir.path().join(sub).join(i.to_string()), 10);
        }
    }
    let root = dir.path().to_path_buf();
    let mut deleted = None;
    let mut hooks = on_enter(|rel: &Path| {
        // Entering the first subdirectory: delete the other one, already listed by the root.
        if deleted.is_none() && rel.components().count() == 1 {
            let other = if rel == Path::new("x") { "y" } else { "x" };
            fs::remove_dir_all(root.join(other)).unwrap();
            deleted = Some(other);
        }
    });
    let usage = dir_usage_observed(dir.path(), &Budget::unlimited(), &mut hooks).unwrap();
    assert_eq!(usage.skipped.vanished, 1);
    assert_eq!((usage.files, usage.dirs), (5, 2));
}

#[test]
fn a_directory_deleted_while_it_is_read_is_skipped() {
    let dir = tree();
    for i in 0..5 {
        write(&dir.path().join("keep").join(i.to_string()), 10);
        write(&dir.path().join("doomed").join(i.to_string()), 10);
    }
    let root = dir.path().to_path_buf();
    let mut hooks = on_enter(|rel: &Path| {
        if rel == Path::new("doomed") {
            // Open, not yet listed: listing a removed directory fails with ENOENT.
            fs::remove_dir_all(root.join(rel)).unwrap();
        }
    });
    let usage = dir_usage_observed(dir.path(), &Budget::unlimited(), &mut hooks).unwrap();
    assert_eq!(usage.skipped.vanished, 1);
    assert_eq!(usage.files, 5, "only keep's files");
    assert_eq!(
        usage.dirs, 3,
        "root, keep, and doomed's own inode (opened before it went)"
    );
}

#[test]
fn the_root_deleted_while_it_is_sized_is_gone() {
    let dir = tree();
    let root = dir.path().join("layer");
    for i in 0..5 {
        write(&root.join("sub").join(i.to_string()), 10);
    }
    let doomed = root.clone();
    let mut hooks = on_enter(|rel: &Path| {
        if rel == Path::new("sub") {
            fs::remove_dir_all(&doomed).unwrap();
        }
    });
    let err = dir_usage_observed(&root, &Budget::unlimited(), &mut hooks).unwrap_err();
    assert!(matches!(err, UsageError::Gone { .. }), "{err}");
    assert!(err.to_string().contains("layer"), "{err}");
}

#[test]
fn a_directory_swapped_for_a_symlink_mid_walk_is_not_followed() {
    let outside = tree();
    for i in 0..50 {
        write(&outside.path().join(i.to_string()), 1000);
    }
    let dir = tree();
    write(&dir.path().join("a/file"), 10);
    write(&dir.path().join("b/file"), 10);
    let root = dir.path().to_path_buf();
    let target = outside.path().to_path_buf();
    let mut swapped = false;
    let mut hooks = on_enter(|rel: &Path| {
        if !swapped && rel.components().count() == 1 {
            let other = root.join(if rel == Path::new("a") { "b" } else { "a" });
            fs::remove_dir_all(&other).unwrap();
            symlink(&target, &other).unwrap();
            swapped = true;
        }
    });
    let usage = dir_usage_observed(dir.path(), &Budget::unlimited(), &mut hooks).unwrap();
    drop(hooks);
    assert!(swapped);
    // One real file, the symlink as a file; outside's 50 files never seen.
    assert_eq!((usage.files, usage.dirs), (2, 2), "{usage:?}");
}

#[test]
fn the_cap_holds_entries_to_the_rate_on_a_virtual_clock() {
    let dir = tree();
    spread(dir.path(), 3000, 10);
    let mut clock = VirtualClock::new();
    let usage = dir_usage_observed(dir.path(), &Budget::capped(1000), &mut clock).unwrap();
    assert_eq!(usage.entries, 3010);
    let burst = 100;
    // The last entry is due (3010 - burst) / 1000 s after the start.
    assert!(
        clock.offset >= Duration::from_millis(2910),
        "{:?}",
        clock.offset
    );
    assert!(
        clock.offset < Duration::from_millis(3000),
        "no more waiting than needed"
    );
    assert_eq!(clock.seen.len(), 3);
    for (entries, at) in &clock.seen {
        let allowed = burst + (at.as_secs_f64() * 1000.0).floor() as u64;
        assert!(*entries <= allowed + 1, "{entries} entries at {at:?}");
    }

    let mut free = VirtualClock::new();
    dir_usage_observed(dir.path(), &Budget::unlimited(), &mut free).unwrap();
    assert_eq!(free.pauses, 0, "no cap, no waiting");
}

#[test]
fn cancel_stops_the_walk_at_progress_and_while_it_waits() {
    let dir = tree();
    spread(dir.path(), 2500, 5);
    let budget = Budget::unlimited();
    let cancel = budget.cancel.clone();
    let mut hooks = Hooks {
        on_enter: |_: &Path| {},
        on_progress: |_: &Usage| cancel.cancel(),
    };
    match dir_usage_observed(dir.path(), &budget, &mut hooks) {
        Err(UsageError::Cancelled { entries, .. }) => assert_eq!(entries, PROGRESS_EVERY),
        other => panic!("not cancelled: {other:?}"),
    }

    let budget = Budget::capped(10);
    let mut clock = VirtualClock::new();
    clock.cancel_after_pauses = Some((3, budget.cancel.clone()));
    match dir_usage_observed(dir.path(), &budget, &mut clock) {
        // A burst of 1, then each 0.1 s pause admits one more entry; the third pause raises
        // the flag and the next entry sees it.
        Err(UsageError::Cancelled { entries, .. }) => assert_eq!(entries, 4),
        other => panic!("not cancelled: {other:?}"),
    }
    assert_eq!(clock.pauses, 3);
}

#[test]
fn depth_is_bounded() {
    let dir = tree();
    let deep: PathBuf = ["1", "2", "3", "4", "5"].iter().collect();
    write(&dir.path().join(&deep).join("file"), 10);
    let budget = Budget {
        max_depth: 2,
        ..Budget::unlimited()
    };
    let usage = dir_usage(dir.path(), &budget).unwrap();
    // root, 1, 2 read; 3 counted but not entered.
    assert_eq!((usage.dirs, usage.files, usage.skipped.too_deep), (4, 0, 1));
    let whole = dir_usage(dir.path(), &Budget::unlimited()).unwrap();
    assert_eq!((whole.dirs, whole.files), (6, 1));
}

#[test]
fn the_cache_keeps_lower_layers_until_they_change_and_upper_ones_for_a_while() {
    let dir = tree();
    let layer = dir.path().join("layer");
    write(&layer.join("f"), 10);
    let policy = CachePolicy {
        upper_every: Duration::from_secs(60),
        capacity: 2,
    };
    let mut cache = UsageCache::new(policy);
    let now = Instant::now();
    let key = LayerKey::of(&layer).unwrap();
    assert_eq!(cache.lookup(&key, LayerKind::Lower, now), Lookup::Missing);
    let usage = dir_usage(&layer, &Budget::unlimited()).unwrap();
    cache.store(key, usage, now);

    let same = LayerKey::of(&layer).unwrap();
    let later = now + Duration::from_secs(3600);
    assert!(
        matches!(cache.lookup(&same, LayerKind::Lower, later), Lookup::Fresh(m) if m.usage == usage)
    );

    std::thread::sleep(Duration::from_millis(20));
    write(&layer.join("g"), 10);
    let changed = LayerKey::of(&layer).unwrap();
    assert_ne!(changed, key);
    assert!(matches!(
        cache.lookup(&changed, LayerKind::Lower, now),
        Lookup::Stale(_)
    ));

    // Upper: fresh by age only (its deep changes do not touch its own times).
    let soon = now + Duration::from_secs(59);
    assert!(matches!(
        cache.lookup(&changed, LayerKind::Upper, soon),
        Lookup::Fresh(_)
    ));
    let due = now + Duration::from_secs(60);
    assert!(matches!(
        cache.lookup(&changed, LayerKind::Upper, due),
        Lookup::Stale(_)
    ));

    // Capacity 2: a third layer evicts the least recently looked-up.
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    fs::create_dir(&a).unwrap();
    fs::create_dir(&b).unwrap();
    let (key_a, key_b) = (LayerKey::of(&a).unwrap(), LayerKey::of(&b).unwrap());
    cache.store(key_a, Usage::default(), due);
    cache.lookup(&changed, LayerKind::Lower, due + Duration::from_secs(1));
    cache.store(key_b, Usage::default(), due + Duration::from_secs(2));
    assert_eq!(cache.len(), 2);
    assert_eq!(cache.lookup(&key_a, LayerKind::Lower, due), Lookup::Missing);
    assert!(matches!(
        cache.lookup(&changed, LayerKind::Lower, due),
        Lookup::Stale(_)
    ));

    cache.forget(&changed);
    assert_eq!(
        cache.lookup(&changed, LayerKind::Lower, due),
        Lookup::Missing
    );
}
