//! Layer stores to mount from: the fixture stores of `tests/fixtures/layers` (Docker,
//! containers/storage, containerd: file trees copied from real ones) copied under a fresh temp
//! root, so a test may add a container's `diff`/`work` dirs and a runnable busybox to a
//! layer, mount real overlays from them, and read the result through a `HostRoot` injected at
//! that root — whose `proc` is a link to the live `/proc`, so the mounts are the kernel's.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use isotop::host::HostRoot;
use isotop::host::stack::{ContainerStack, LayerPosition};

/// A temp root holding copies of fixture stores (removed on drop; the tests' mounts live in
/// private mount namespaces that end with their processes).
pub struct StoreRoot {
    tmp: tempfile::TempDir,
}

impl StoreRoot {
    /// Copies `tests/fixtures/layers/<name>` of each of `stores` into one root.
    pub fn with(stores: &[&str]) -> StoreRoot {
        let tmp = tempfile::Builder::new()
            .prefix("isotop-test-stack-")
            .tempdir_in("/tmp")
            .expect("tempdir under /tmp");
        let root = tmp.path().join("root");
        fs::create_dir_all(&root).expect("root dir");
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/layers");
        for store in stores {
            // `cp -a` keeps the `l/` short links as the symlinks they are.
            let status = Command::new("cp")
                .arg("-a")
                .arg(fixtures.join(store).join("."))
                .arg(&root)
                .status()
                .expect("cp runs");
            assert!(status.success(), "copying the {store} fixture store");
        }
        std::os::unix::fs::symlink("/proc", root.join("proc")).expect("proc link");
        StoreRoot { tmp }
    }

    /// The injected root the copies are read through.
    pub fn host_root(&self) -> HostRoot {
        HostRoot::under(&self.root())
    }

    /// The root directory itself.
    pub fn root(&self) -> PathBuf {
        self.tmp.path().join("root")
    }

    /// `<root>/<rel>` (a store path as the injected host names it, `rel` without the `/`).
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root().join(rel)
    }

    /// `<root>/<rel>`, created.
    pub fn dir(&self, rel: &str) -> PathBuf {
        let dir = self.path(rel);
        fs::create_dir_all(&dir).expect("dir under the store root");
        dir
    }

    /// A directory of the temp dir outside the root (merged dirs, scratch).
    pub fn scratch(&self, name: &str) -> PathBuf {
        let dir = self.tmp.path().join(name);
        fs::create_dir_all(&dir).expect("scratch dir");
        dir
    }
}

/// Docker's fixture store, as the injected host names it.
pub const DOCKER: &str = "var/lib/docker";
/// The fixture's image layers (cache ids): the base (`owners-test/base:1`) and the app's
/// `COPY` layer above it.
pub const DOCKER_BASE: &str = "703a96f2adcd793593257ef644106f2f5ff0793f4ecac0c3737cba4c61f3e084";
pub const DOCKER_TOP: &str = "3d0881790bd335bef3ecacfd6e846017adf42f9fa52660a1158f634131702762";
/// The fixture container `owned-c`'s writable layer (mount id); its init layer is
/// `<MOUNT>-init`.
pub const DOCKER_MOUNT: &str = "1e3811fab236c53c8b18b6692ddd002a1ea6cd102bf80cfc58dcc5eb036ce9f6";
pub const DOCKER_CONTAINER: &str =
    "47f5d13ccd019188d0c01fb697ba5b5cc3160081b84007bbf74e90e1124cc6e0";
/// The short links (`overlay2/l/<name>`) of the init, top and base layers.
pub const DOCKER_LINKS: [&str; 3] = [
    "WOYF6KH2JNZJ67YDGAMLTNTGTH",
    "WXOK622JH4REJKGKBHVDNCS2DW",
    "YBFCPZHE6IRGKSFECI4IUCXKOT",
];

/// (position, dir) of each layer of `stack`, top first.
pub fn positions(stack: &ContainerStack) -> Vec<(LayerPosition, PathBuf)> {
    stack
        .layers
        .iter()
        .map(|l| (l.position, l.dir.clone()))
        .collect()
}

/// The positions [`positions`] should give for an overlay of `upper` (if any) on `lower`
/// (top first).
pub fn top_first(upper: Option<&Path>, lower: &[PathBuf]) -> Vec<(LayerPosition, PathBuf)> {
    let writable = upper.map(|u| (LayerPosition::Writable, u.to_path_buf()));
    writable
        .into_iter()
        .chain(
            lower
                .iter()
                .enumerate()
                .map(|(n, d)| (LayerPosition::Lower(n + 1), d.clone())),
        )
        .collect()
}
