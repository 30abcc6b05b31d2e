//! isotop's data directory as a whole (`/var/lib/isotop` under the host root): the container
//! store ([`crate::launch::store`]) and the layer cache ([`crate::launch::image`]) made or
//! repaired together, at the start of every `isotop run` and `isotop image` command.
//!
//! It sits above both so that neither imports the other for it: the store knows its own
//! directories, the cache its own, and only this function knows a launch needs both.

use crate::host::HostRoot;
use crate::launch::error::LaunchError;
use crate::launch::image::LayerCache;
use crate::launch::store::dirs::ensure_store_dirs;

/// Makes or repairs `/var/lib/isotop` (0711), `containers/` (0711), `default/` (0700) and the
/// layer cache (0700) with its `sha256/`, `tmp/` and `meta/` (0700) under the host root.
/// Cheap: a few syscalls per directory.
pub fn ensure_data_dirs(host: &HostRoot) -> Result<(), LaunchError> {
    ensure_store_dirs(host)?;
    LayerCache::for_host(host).ensure_dirs()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::launch::store::dirs::{PRIVATE_MODE, TRAVERSE_MODE};
    use std::os::unix::fs::MetadataExt;
    use std::path::Path;

    fn mode(path: &Path) -> u32 {
        std::fs::symlink_metadata(path).map_or(0, |m| m.mode() & 0o7777)
    }

    #[test]
    fn the_data_dirs_are_made_with_their_modes() {
        let tmp = tempfile::tempdir().unwrap();
        let host = HostRoot::under(tmp.path());
        ensure_data_dirs(&host).unwrap();
        let root = tmp.path().join("var/lib/isotop");
        assert_eq!(mode(&root), TRAVERSE_MODE);
        assert_eq!(mode(&root.join("containers")), TRAVERSE_MODE);
        for private in [
            "default",
            "layers",
            "layers/sha256",
            "layers/tmp",
            "layers/meta",
        ] {
            assert_eq!(mode(&root.join(private)), PRIVATE_MODE, "{private}");
        }
    }
}
