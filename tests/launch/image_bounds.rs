//! What an image may not make isotop do, with archives built here: pass the operator's
//! decompressed-size and entry limits (`ISOTOP_MAX_LAYER_BYTES` / `ISOTOP_MAX_LAYER_FILES`,
//! raisable), block or spin on a layer blob that is a FIFO, `/dev/zero` or a symlink to one
//! (each run under a timeout, so a hang fails the test instead of hanging it), slip a layer
//! past its config's `rootfs.diff_ids`, fail on a layer listed twice, or make an error quote
//! the file given as `--image` (`/etc/shadow`).

use crate::support::{archives, common, containers};

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use archives::{
    Item, assert_cache_clean, diff_id, docker_archive, docker_archive_raw, gzip, oci_layout_raw,
    sha256_hex, tar_of, with_diff_ids,
};
use common::{isotop, unique_name};
use containers::{APPLETS, assert_code, busybox_bytes, isotop_out, require_launch, text};
use isotop::launch::LayerCache;

const LAYERS: &str = "/var/lib/isotop/layers";
/// How long a refusal may take before the test calls it a hang (generous: a loaded machine).
const HANG: Duration = Duration::from_secs(60);

fn busybox_layer(busybox: &[u8], marker: &str, extra: &[(String, Vec<u8>)]) -> Vec<u8> {
    let links: Vec<String> = APPLETS.iter().map(|a| format!("./bin/{a}")).collect();
    let mut items = vec![
        Item::Dir("./"),
        Item::Dir("./bin/"),
        Item::Dir("./etc/"),
        Item::FileMode("./bin/busybox", busybox, 0o755),
        Item::File("./etc/img", marker.as_bytes()),
    ];
    items.extend(links.iter().map(|l| Item::Symlink(l, "busybox")));
    items.extend(extra.iter().map(|(n, d)| Item::File(n, d)));
    tar_of(&items)
}

/// Removes a test's layer from the live cache on drop (old code caches what it should not).
struct CachedLayer(String);

impl Drop for CachedLayer {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(Path::new(LAYERS).join("sha256").join(&self.0));
        let _ = fs::remove_file(Path::new(LAYERS).join(format!("meta/{}.json", self.0)));
    }
}

/// Asserts the live cache holds neither the layer `hex` nor a temporary copy of it.
fn assert_not_cached(hex: &str) {
    assert!(
        !Path::new(LAYERS).join("sha256").join(hex).exists(),
        "layer {hex} was cached"
    );
    let temps: Vec<String> = archives::names_in(&Path::new(LAYERS).join("tmp"))
        .into_iter()
        .filter(|n| n.starts_with(hex))
        .collect();
    assert!(temps.is_empty(), "temporary copies left: {temps:?}");
}

fn run_with_env(image: &Path, env: &[(&str, &str)]) -> std::process::Output {
    isotop()
        .args(["run", "--rm", "--image"])
        .arg(image)
        .args(["--", "/bin/cat", "/etc/img"])
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
#[ignore = "needs root"]
fn layer_limits_refuse_big_and_crowded_layers_and_can_be_raised() {
    let Some(busybox) = busybox_bytes() else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    // 3 MiB of data: over a 2 MiB bound (and busybox alone is about 2 MiB).
    let big = vec![
        ("./big0".to_string(), vec![1u8; 1 << 20]),
        ("./big1".to_string(), vec![2u8; 1 << 20]),
        ("./big2".to_string(), vec![3u8; 1 << 20]),
    ];
    let marker = unique_name("big");
    let layer = gzip(&busybox_layer(&busybox, &marker, &big));
    let hex = sha256_hex(&layer);
    let _cached = CachedLayer(hex.clone());
    let image = work.path().join("big.tar.gz");
    fs::write(&image, &layer).unwrap();
    // The same layer in a plain docker archive: refused while it is unpacked.
    let docker = work.path().join("big-docker.tar");
    fs::write(
        &docker,
        docker_archive(CONFIG, std::slice::from_ref(&layer)),
    )
    .unwrap();
    for refused in [&image, &docker] {
        let out = run_with_env(refused, &[("ISOTOP_MAX_LAYER_BYTES", "4M")]);
        assert_code(&out, 1, "a layer over ISOTOP_MAX_LAYER_BYTES");
        let said = text(&out.stderr);
        assert!(
            said.contains("layer size limit of 4 MiB (4194304 bytes)"),
            "{said}"
        );
        assert!(said.contains("ISOTOP_MAX_LAYER_BYTES="), "{said}");
        assert_not_cached(&hex);
    }
    // Raised: it runs.
    let out = run_with_env(&image, &[("ISOTOP_MAX_LAYER_BYTES", "64M")]);
    assert_code(&out, 0, "the same layer under a raised limit");
    assert_eq!(text(&out.stdout), marker);

    // 200 small files against a 100-entry bound.
    let many: Vec<(String, Vec<u8>)> = (0..200)
        .map(|i| (format!("./many/f{i}"), vec![b'x']))
        .collect();
    let marker = unique_name("many");
    let layer = busybox_layer(&busybox, &marker, &many);
    let hex = sha256_hex(&layer);
    let _cached_many = CachedLayer(hex.clone());
    let image = work.path().join("many.tar");
    fs::write(&image, &layer).unwrap();
    let out = run_with_env(&image, &[("ISOTOP_MAX_LAYER_FILES", "100")]);
    assert_code(&out, 1, "a layer over ISOTOP_MAX_LAYER_FILES");
    let said = text(&out.stderr);
    assert!(said.contains("layer entry limit of 100"), "{said}");
    assert!(said.contains("ISOTOP_MAX_LAYER_FILES="), "{said}");
    assert_not_cached(&hex);
    let out = run_with_env(&image, &[("ISOTOP_MAX_LAYER_FILES", "max")]);
    assert_code(&out, 0, "the same layer with no entry limit");
    assert_eq!(text(&out.stdout), marker);

    // A setting that is not a size is the operator's mistake, before anything is made.
    let out = run_with_env(&image, &[("ISOTOP_MAX_LAYER_BYTES", "lots")]);
    assert_code(&out, 2, "a bad ISOTOP_MAX_LAYER_BYTES");
    assert!(text(&out.stderr).contains("ISOTOP_MAX_LAYER_BYTES"));
}

/// Runs `f` on a thread and waits up to [`HANG`] for it: `None` when it hung.
fn within<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(HANG).ok()
}

/// Prepares `image` into a fresh cache under `work` on a thread: its error text, `Ok` as
/// "prepared", or `None` when it hung.
fn prepare_error(work: &Path, image: &Path) -> Option<String> {
    let cache = work.join(format!("cache-{}", unique_name("c")));
    let image = image.to_path_buf();
    within(move || match LayerCache::new(&cache).prepare_path(&image) {
        Ok(_) => "prepared".to_string(),
        Err(e) => {
            assert_cache_clean(&cache);
            e.to_string()
        }
    })
}

/// A FIFO that a blocked reader is released from on drop (old code opens it and waits).
struct Fifo(PathBuf);

impl Fifo {
    fn make(path: &Path) -> Fifo {
        nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
        Fifo(path.to_path_buf())
    }
}

impl Drop for Fifo {
    fn drop(&mut self) {
        use std::os::unix::fs::OpenOptionsExt;
        // A writer that opens and closes at once: a reader blocked in open() sees EOF.
        let _ = fs::OpenOptions::new()
            .write(true)
            .custom_flags(nix::libc::O_NONBLOCK)
            .open(&self.0);
    }
}

const CONFIG: &str =
    r#"{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[]}}"#;

#[test]
fn layer_blobs_that_are_not_regular_files_are_refused_promptly() {
    let work = tempfile::tempdir().unwrap();
    let layer = tar_of(&[Item::Dir("./"), Item::File("./a", b"a")]);
    let config = with_diff_ids(CONFIG, std::slice::from_ref(&layer));
    let layout = |name: &str| -> (PathBuf, PathBuf) {
        let dir = work.path().join(name);
        let hex = oci_layout_raw(&dir, &[(layer.clone(), false)], &config).remove(0);
        let blob = dir.join("blobs/sha256").join(hex);
        fs::remove_file(&blob).unwrap();
        (dir, blob)
    };
    let mut guards = Vec::new();
    let mut cases: Vec<(&str, PathBuf, &str)> = Vec::new();
    // The layer blob is a FIFO nobody writes to.
    let (fifo_layout, blob) = layout("fifo");
    guards.push(Fifo::make(&blob));
    cases.push(("a FIFO blob", fifo_layout, "FIFO"));
    // ... a symlink to /dev/zero (endless zeros).
    let (zero_layout, blob) = layout("zero");
    std::os::unix::fs::symlink("/dev/zero", &blob).unwrap();
    cases.push((
        "a blob linked to /dev/zero",
        zero_layout,
        "out of the image",
    ));
    // ... a symlink to a FIFO inside the layout.
    let (linked_layout, blob) = layout("linked");
    guards.push(Fifo::make(&linked_layout.join("pipe")));
    std::os::unix::fs::symlink("../../pipe", &blob).unwrap();
    cases.push(("a blob linked to a FIFO inside", linked_layout, "FIFO"));
    // An unpacked `docker save` whose layer.tar is a FIFO.
    let docker = work.path().join("docker");
    fs::create_dir_all(docker.join("layer0")).unwrap();
    fs::write(docker.join("config.json"), &config).unwrap();
    fs::write(
        docker.join("manifest.json"),
        r#"[{"Config":"config.json","Layers":["layer0/layer.tar"]}]"#,
    )
    .unwrap();
    guards.push(Fifo::make(&docker.join("layer0/layer.tar")));
    cases.push(("a docker layer.tar FIFO", docker, "FIFO"));

    for (what, image, says) in cases {
        let error = prepare_error(work.path(), &image)
            .unwrap_or_else(|| panic!("{what}: isotop hung on it (no answer in {HANG:?})"));
        assert!(error.contains(says), "{what}: {error}");
    }
    drop(guards);
}

#[test]
#[ignore = "needs root"]
fn an_image_path_that_is_a_device_or_fifo_is_refused_promptly() {
    if !require_launch() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let fifo = Fifo::make(&work.path().join("image.fifo"));
    for (image, says) in [
        (Path::new("/dev/zero").to_path_buf(), "a character device"),
        (fifo.0.clone(), "a FIFO"),
    ] {
        let out = within(move || isotop_out(&["run", "--rm", "--image", image.to_str().unwrap()]))
            .unwrap_or_else(|| panic!("isotop run --image hung"));
        assert_code(&out, 2, says);
        let said = text(&out.stderr);
        assert!(
            said.contains(says) && said.contains("OCI image layout"),
            "{said}"
        );
    }
}

/// A runnable two-layer image: `a` (busybox, `/etc/img` = a) and `b` (`/etc/img` = b, `/etc/b`).
fn two_layers(busybox: &[u8], marker: &str) -> (Vec<u8>, Vec<u8>) {
    let a = busybox_layer(busybox, &format!("a-{marker}"), &[]);
    let b = tar_of(&[
        Item::Dir("./etc/"),
        Item::File("./etc/img", b"b"),
        Item::File("./etc/b", b"from b"),
    ]);
    (a, b)
}

#[test]
#[ignore = "needs root"]
fn a_layer_listed_twice_stacks_and_runs() {
    let Some(busybox) = busybox_bytes() else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let marker = unique_name("twice");
    let (a, b) = two_layers(&busybox, &marker);
    let _cached = [CachedLayer(sha256_hex(&a)), CachedLayer(sha256_hex(&b))];
    let stacked = [a.clone(), b.clone(), a.clone()];
    let config = with_diff_ids(CONFIG, &stacked);
    // docker save: the same member listed twice.
    let files = vec![
        ("a/layer.tar".to_string(), a.clone()),
        ("b/layer.tar".to_string(), b.clone()),
        ("config.json".to_string(), config.clone().into_bytes()),
    ];
    let docker = work.path().join("twice.tar");
    fs::write(
        &docker,
        docker_archive_raw(
            &files,
            "config.json",
            &["a/layer.tar", "b/layer.tar", "a/layer.tar"],
        ),
    )
    .unwrap();
    // OCI: the same descriptor twice.
    let oci = work.path().join("twice-oci");
    let stacked_blobs: Vec<(Vec<u8>, bool)> = stacked.iter().map(|l| (l.clone(), false)).collect();
    oci_layout_raw(&oci, &stacked_blobs, &config);
    for image in [&docker, &oci] {
        let out = isotop_out(&[
            "run",
            "--rm",
            "--image",
            image.to_str().unwrap(),
            "--",
            "/bin/sh",
            "-c",
            "cat /etc/img; echo; cat /etc/b",
        ]);
        assert_code(
            &out,
            0,
            &format!("a layer listed twice in {}", image.display()),
        );
        // The top `a` hides `b`'s /etc/img; `b`'s own file shows through.
        assert_eq!(text(&out.stdout), format!("a-{marker}\nfrom b"));
    }
}

#[test]
fn layers_are_checked_against_the_configs_diff_ids() {
    let work = tempfile::tempdir().unwrap();
    let (a, b) = (
        tar_of(&[Item::Dir("./"), Item::File("./a", b"a")]),
        tar_of(&[Item::Dir("./"), Item::File("./b", b"b")]),
    );
    let config_with = |ids: &[String]| {
        serde_json::json!({"architecture": "amd64", "os": "linux", "config": {},
                           "rootfs": {"type": "layers", "diff_ids": ids}})
        .to_string()
    };
    // `b`'s checksum where `a`'s belongs (a swapped or altered layer).
    let swapped = config_with(&[diff_id(&b), diff_id(&b)]);
    let docker = work.path().join("swapped.tar");
    fs::write(&docker, docker_archive(&swapped, &[a.clone(), b.clone()])).unwrap();
    let oci = work.path().join("swapped-oci");
    oci_layout_raw(&oci, &[(gzip(&a), true), (gzip(&b), true)], &swapped);
    for image in [&docker, &oci] {
        let error = prepare_error(work.path(), image).expect("no hang");
        assert!(
            error.contains("diff_ids")
                && error.contains(&diff_id(&b))
                && error.contains(&diff_id(&a)),
            "{}: {error}",
            image.display()
        );
    }
    // Too few checksums, and none at all.
    let short = work.path().join("short.tar");
    fs::write(
        &short,
        docker_archive(&config_with(&[diff_id(&a)]), &[a.clone(), b.clone()]),
    )
    .unwrap();
    let error = prepare_error(work.path(), &short).expect("no hang");
    assert!(
        error.contains("lists 1 layer checksums for the manifest's 2"),
        "{error}"
    );
    let files = vec![
        ("a.tar".to_string(), a.clone()),
        ("config.json".to_string(), br#"{"config":{}}"#.to_vec()),
    ];
    let bare = work.path().join("bare.tar");
    fs::write(&bare, docker_archive_raw(&files, "config.json", &["a.tar"])).unwrap();
    let error = prepare_error(work.path(), &bare).expect("no hang");
    assert!(error.contains("no rootfs.diff_ids"), "{error}");

    // A layer already cached is still checked: a second image naming the same blob with
    // another checksum is refused.
    let cache_dir = work.path().join("shared-cache");
    let good = work.path().join("good.tar");
    fs::write(&good, docker_archive(CONFIG, std::slice::from_ref(&a))).unwrap();
    LayerCache::new(&cache_dir).prepare_path(&good).unwrap();
    let lying = work.path().join("lying.tar");
    fs::write(
        &lying,
        docker_archive(&config_with(&[diff_id(&b)]), std::slice::from_ref(&a)),
    )
    .unwrap();
    let error = LayerCache::new(&cache_dir)
        .prepare_path(&lying)
        .unwrap_err()
        .to_string();
    assert!(error.contains("diff_ids"), "{error}");
}

#[test]
#[ignore = "needs root"]
fn an_image_that_is_not_an_image_never_quotes_its_content() {
    if !require_launch() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let secret = "root:$6$SECRETSALT$SECRETHASHSECRETHASH:19000:0:99999:7:::";
    let shadow_like = format!("{secret}\ndaemon:*:19000:0:99999:7:::\n").repeat(20);
    let plain = work.path().join("shadow");
    fs::write(&plain, &shadow_like).unwrap();
    let gzipped = work.path().join("shadow.gz");
    fs::write(&gzipped, gzip(shadow_like.as_bytes())).unwrap();
    // A directory image whose index.json holds the text where a list belongs.
    let oci = work.path().join("oci");
    fs::create_dir(&oci).unwrap();
    fs::write(oci.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    fs::write(
        oci.join("index.json"),
        format!(r#"{{"manifests":"{secret}"}}"#),
    )
    .unwrap();
    let mut images = vec![plain, gzipped, oci];
    let real_shadow = fs::read_to_string("/etc/shadow").unwrap_or_default();
    if !real_shadow.is_empty() {
        images.push(PathBuf::from("/etc/shadow"));
    }
    for image in images {
        let out = isotop_out(&[
            "run",
            "--rm",
            "--image",
            image.to_str().unwrap(),
            "--",
            "true",
        ]);
        assert!(!out.status.success(), "{} ran", image.display());
        let said = text(&out.stderr);
        assert!(
            !said.contains("SECRET") && !said.contains("root:"),
            "{}: {said}",
            image.display()
        );
        for line in real_shadow.lines().filter(|l| l.len() > 4) {
            assert!(
                !said.contains(line),
                "{} quoted /etc/shadow: {said}",
                image.display()
            );
            let first = line.split(':').next().unwrap_or_default();
            assert!(
                !said.contains(&format!("{first}:")),
                "{}: {said}",
                image.display()
            );
        }
        assert!(said.contains("isotop:"), "{said}");
    }
}
