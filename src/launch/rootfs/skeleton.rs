//! The default image's skeleton layer: the top-level directories, the merged-/usr symlinks
//! this host has, and a minimal `/etc`, generated once per host layout.
//!
//! Contract: [`ensure`] returns `<var_lib>/isotop/default/<version>/`, making it first when
//! missing. The version names the skeleton format and a digest of the host layout it mirrors
//! (which of `/bin`, `/lib`... are symlinks, and to what), so a host that changes layout gets a
//! new layer instead of a wrong one. The layer is built in a temporary sibling and renamed into
//! place: readers see no layer or a whole one, and a concurrent builder that loses the rename
//! drops its copy and uses the winner's.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::super::error::LaunchError;
use super::super::image::Digest;
use super::super::store::data_root;
use crate::host::HostRoot;
use crate::launch::store::dirs::unique_suffix;

/// Bump when the skeleton's content changes, so hosts regenerate it.
const FORMAT: u32 = 1;

/// Top-level directories every container root has (mode 0755 unless listed in [`MODES`]).
const DIRS: [&str; 14] = [
    "proc", "sys", "dev", "tmp", "run", "root", "home", "var", "var/tmp", "etc", "mnt", "opt",
    "srv", "usr",
];

/// Directories whose mode is not 0755: sticky world-writable temp dirs, root's private home.
const MODES: [(&str, u32); 3] = [("tmp", 0o1777), ("var/tmp", 0o1777), ("root", 0o700)];

/// Host program directories that are either bound read-only (real directories) or mirrored as
/// the same symlink (merged /usr: `bin -> usr/bin`).
const PROGRAM_DIRS: [&str; 6] = ["bin", "sbin", "lib", "lib32", "lib64", "libx32"];

/// `/etc` files: name, content, mode 0644.
const ETC_FILES: [(&str, &str); 6] = [
    (
        "passwd",
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
    ),
    ("group", "root:x:0:\nnobody:x:65534:\nnogroup:x:65534:\n"),
    (
        "hosts",
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n",
    ),
    ("hostname", "localhost\n"),
    (
        "nsswitch.conf",
        "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\n\
         protocols: files\nservices: files\n",
    ),
    // Empty on purpose: the default network has no DNS; bridge mode may bind a real one.
    ("resolv.conf", ""),
];

/// How one of [`PROGRAM_DIRS`] looks on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A real directory: bound read-only, with an empty mount point in the skeleton.
    Dir,
    /// A symlink with this target text: mirrored as is.
    Link(PathBuf),
}

/// The parts of the host's root layout the skeleton mirrors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostLayout {
    /// Each present [`PROGRAM_DIRS`] entry, in that order.
    pub entries: Vec<(&'static str, Entry)>,
    /// The host has a real `/usr` directory (bound read-only).
    pub usr: bool,
}

impl HostLayout {
    /// Looks at `/usr`, `/bin`, `/sbin`, `/lib*` under the host prefix. Absent ones are
    /// skipped; anything else than a directory or symlink is ignored too.
    pub fn read(host: &HostRoot) -> Result<HostLayout, LaunchError> {
        let mut entries = Vec::new();
        for name in PROGRAM_DIRS {
            let path = host.prefix.join(name);
            let meta = match fs::symlink_metadata(&path) {
                Ok(meta) => meta,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(LaunchError::io("inspect", &path, e)),
            };
            if meta.file_type().is_symlink() {
                let target = fs::read_link(&path).map_err(|e| LaunchError::io("read", &path, e))?;
                entries.push((name, Entry::Link(target)));
            } else if meta.is_dir() {
                entries.push((name, Entry::Dir));
            }
        }
        let usr = fs::symlink_metadata(host.prefix.join("usr")).is_ok_and(|m| m.is_dir());
        Ok(HostLayout { entries, usr })
    }

    /// The top-level names to bind read-only from the host: `usr` and the real program dirs.
    pub fn bound_dirs(&self) -> impl Iterator<Item = &'static str> + '_ {
        let usr = self.usr.then_some("usr");
        usr.into_iter().chain(
            self.entries
                .iter()
                .filter(|(_, e)| *e == Entry::Dir)
                .map(|(name, _)| *name),
        )
    }

    /// `v<FORMAT>-<first 16 hex of the layout's digest>`.
    pub fn version(&self) -> String {
        let mut text = format!("format {FORMAT}\nusr {}\n", self.usr);
        for (name, entry) in &self.entries {
            match entry {
                Entry::Dir => text.push_str(&format!("{name} dir\n")),
                Entry::Link(target) => text.push_str(&format!("{name} -> {}\n", target.display())),
            }
        }
        let digest = Digest::of_bytes(text.as_bytes());
        format!("v{FORMAT}-{}", &digest.hex()[..16])
    }
}

/// The skeleton layer for `layout`, generated when missing.
pub fn ensure(host: &HostRoot, layout: &HostLayout) -> Result<PathBuf, LaunchError> {
    let base = data_root(host).join("default");
    let layer = base.join(layout.version());
    if fs::symlink_metadata(&layer).is_ok_and(|m| m.is_dir()) {
        return Ok(layer);
    }
    // `default/` is root-only like the layer cache, made so before the skeleton lands in it.
    crate::launch::data::ensure_data_dirs(host)?;
    let temp = TempDir(base.join(format!("tmp-{}-{}", std::process::id(), unique_suffix())));
    build(&temp.0, layout)?;
    match fs::rename(&temp.0, &layer) {
        Ok(()) => {
            std::mem::forget(temp);
            Ok(layer)
        }
        // Another builder won the race: its layer is as good as ours (TempDir removes ours).
        Err(_) if fs::symlink_metadata(&layer).is_ok_and(|m| m.is_dir()) => Ok(layer),
        Err(e) => Err(LaunchError::io("rename into place", &layer, e)),
    }
}

/// Removed on drop unless forgotten (renamed into place).
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Writes the skeleton into the empty-or-missing directory `root`.
fn build(root: &Path, layout: &HostLayout) -> Result<(), LaunchError> {
    make_dir(root, 0o755)?;
    for name in DIRS {
        let mode = MODES
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(0o755, |(_, m)| *m);
        make_dir(&root.join(name), mode)?;
    }
    for (name, entry) in &layout.entries {
        let path = root.join(name);
        match entry {
            Entry::Dir => make_dir(&path, 0o755)?,
            Entry::Link(target) => std::os::unix::fs::symlink(target, &path)
                .map_err(|e| LaunchError::io("create symlink", &path, e))?,
        }
    }
    for (name, content) in ETC_FILES {
        let path = root.join("etc").join(name);
        fs::write(&path, content).map_err(|e| LaunchError::io("write", &path, e))?;
        set_mode(&path, 0o644)?;
    }
    Ok(())
}

fn make_dir(path: &Path, mode: u32) -> Result<(), LaunchError> {
    match fs::create_dir(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(LaunchError::io("create", path, e)),
    }
    // Explicitly, because the umask trims what create_dir asked for (1777 would become 1755).
    set_mode(path, mode)
}

fn set_mode(path: &Path, mode: u32) -> Result<(), LaunchError> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(|e| LaunchError::io("chmod", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_host(dir: &Path) -> HostRoot {
        fs::create_dir_all(dir.join("usr/bin")).unwrap();
        fs::create_dir_all(dir.join("lib64")).unwrap();
        std::os::unix::fs::symlink("usr/bin", dir.join("bin")).unwrap();
        HostRoot::under(dir)
    }

    #[test]
    fn skeleton_mirrors_the_host_layout_once() {
        let tmp = tempfile::tempdir().unwrap();
        let host = fake_host(tmp.path());
        let layout = HostLayout::read(&host).unwrap();
        assert_eq!(
            layout.entries,
            vec![
                ("bin", Entry::Link(PathBuf::from("usr/bin"))),
                ("lib64", Entry::Dir)
            ]
        );
        assert_eq!(layout.bound_dirs().collect::<Vec<_>>(), ["usr", "lib64"]);
        let layer = ensure(&host, &layout).unwrap();
        assert!(layer.starts_with(tmp.path().join("var/lib/isotop/default")));
        assert_eq!(
            fs::read_link(layer.join("bin")).unwrap(),
            PathBuf::from("usr/bin")
        );
        assert!(layer.join("lib64").is_dir() && layer.join("usr").is_dir());
        let tmp_mode = fs::metadata(layer.join("tmp"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(tmp_mode & 0o7777, 0o1777);
        let passwd = fs::read_to_string(layer.join("etc/passwd")).unwrap();
        assert!(passwd.starts_with("root:x:0:0:") && passwd.contains("\nnobody:"));
        assert_eq!(fs::read(layer.join("etc/resolv.conf")).unwrap(), b"");
        // A second call reuses the layer and leaves no temporary directory behind.
        fs::write(layer.join("marker"), "x").unwrap();
        assert_eq!(ensure(&host, &layout).unwrap(), layer);
        assert!(layer.join("marker").exists());
        let names: Vec<_> = fs::read_dir(layer.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn a_different_layout_is_a_different_version() {
        let tmp = tempfile::tempdir().unwrap();
        let host = fake_host(tmp.path());
        let merged = HostLayout::read(&host).unwrap();
        fs::remove_file(tmp.path().join("bin")).unwrap();
        fs::create_dir(tmp.path().join("bin")).unwrap();
        let split = HostLayout::read(&host).unwrap();
        assert_ne!(merged.version(), split.version());
        assert!(split.bound_dirs().any(|d| d == "bin"));
    }
}
