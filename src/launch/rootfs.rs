//! The container's root file system on the host: the overlay mount (read-only layers + one
//! writable layer) and the default image used when the operator names none.
//!
//! Contract:
//! - [`mount_overlay`] mounts `lowerdir` (highest layer first, as overlayfs wants it),
//!   `upper` and `work` at `target` in the caller's mount namespace, creating the three
//!   writable directories when missing. Every failure names the directories involved.
//! - [`unmount_rootfs`] detaches whatever is mounted at `target` (stacked mounts included);
//!   nothing mounted there is success, so undo paths may call it blindly.
//! - [`default_image`] needs nothing but the host itself: a small skeleton layer generated once
//!   under `<var_lib>/isotop/default/<version>/` (see [`skeleton`]) plus read-only binds of the
//!   host's program directories. Everything the container writes lands in its own upper layer;
//!   the binds are read-only, so no write reaches the host.

pub mod skeleton;

use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags};

use super::error::LaunchError;
use super::spec::Volume;
use crate::host::HostRoot;

/// The default image: a generated skeleton layer plus read-only binds of the host's programs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultImage {
    /// The skeleton layer directory (lowest overlay layer).
    pub layer: PathBuf,
    /// Read-only host directories bound into the container (e.g. /usr).
    pub binds: Vec<Volume>,
    /// Shown as the container's image.
    pub label: String,
}

/// What the default image is called wherever a container's image is shown.
pub const DEFAULT_IMAGE_LABEL: &str = "default (host programs, read-only)";

/// The default image for this host: makes its skeleton layer on first use (atomically, through
/// a temporary directory and a rename) and lists the host's program directories to bind.
pub fn default_image(host: &HostRoot) -> Result<DefaultImage, LaunchError> {
    let layout = skeleton::HostLayout::read(host)?;
    let layer = skeleton::ensure(host, &layout)?;
    let binds = layout
        .bound_dirs()
        .map(|name| Volume {
            host: host.prefix.join(name),
            dest: format!("/{name}"),
            read_only: true,
        })
        .collect();
    Ok(DefaultImage {
        layer,
        binds,
        label: DEFAULT_IMAGE_LABEL.to_string(),
    })
}

/// Mounts overlay `lower` (lowest first) + `upper`/`work` at `target` in the caller's mount
/// namespace.
pub fn mount_overlay(
    lower: &[PathBuf],
    upper: &Path,
    work: &Path,
    target: &Path,
) -> Result<(), LaunchError> {
    if lower.is_empty() {
        return Err(LaunchError::Setup(format!(
            "overlay at {}: no lower layer was given",
            target.display()
        )));
    }
    for dir in [upper, work, target] {
        std::fs::create_dir_all(dir).map_err(|e| LaunchError::io("create", dir, e))?;
    }
    let data = overlay_options(lower, upper, work)?;
    nix::mount::mount(
        Some("overlay"),
        target,
        Some("overlay"),
        MsFlags::empty(),
        Some(data.as_str()),
    )
    .map_err(|errno| {
        let lowers: Vec<String> = lower.iter().map(|p| p.display().to_string()).collect();
        let hint = match errno {
            Errno::ENODEV => " (this kernel has no overlay file system: `modprobe overlay`)",
            Errno::EINVAL => {
                " (overlay refused these directories: is the upper/work directory on a file \
                 system overlay supports, and are upper and work on the same one?)"
            }
            _ => "",
        };
        LaunchError::Setup(format!(
            "mount overlay at {} (lower {}, upper {}, work {}): {}{hint}",
            target.display(),
            lowers.join(", "),
            upper.display(),
            work.display(),
            errno.desc()
        ))
    })
}

/// The overlay mount options, `lowerdir` highest layer first. Overlay separates layers with
/// `:` and options with `,`, and mount(2) takes at most one page of options: paths holding
/// those characters, or too many layers for one page, are refused with a clear message.
fn overlay_options(lower: &[PathBuf], upper: &Path, work: &Path) -> Result<String, LaunchError> {
    let text = |path: &Path| -> Result<String, LaunchError> {
        let s = path.to_str().ok_or_else(|| {
            LaunchError::Setup(format!(
                "overlay layer {} is not valid UTF-8",
                path.display()
            ))
        })?;
        if s.contains([':', ',', '\\']) || s.is_empty() {
            return Err(LaunchError::Setup(format!(
                "overlay layer {s:?}: overlay cannot take a directory whose path contains `:`, \
                 `,` or `\\`; move it"
            )));
        }
        Ok(s.to_string())
    };
    let mut layers = Vec::with_capacity(lower.len());
    for layer in lower.iter().rev() {
        layers.push(text(layer)?);
    }
    let data = format!(
        "lowerdir={},upperdir={},workdir={}",
        layers.join(":"),
        text(upper)?,
        text(work)?
    );
    // One page (4096 bytes, including the final NUL) is all mount(2) copies from user space.
    if data.len() >= 4096 {
        return Err(LaunchError::Setup(format!(
            "overlay of {} layers: the option text is {} bytes, over the kernel's 4095; use \
             an image with fewer layers or a shorter cache path",
            lower.len(),
            data.len()
        )));
    }
    Ok(data)
}

/// Unmounts `target` if mounted (detaching), idempotent.
pub fn unmount_rootfs(target: &Path) -> Result<(), LaunchError> {
    // Stacked mounts come off one per call; 16 is far more than isotop ever stacks there.
    for _ in 0..16 {
        match nix::mount::umount2(target, MntFlags::MNT_DETACH) {
            Ok(()) => continue,
            // Not a mount point (any more), or no such directory: nothing to undo.
            Err(Errno::EINVAL) | Err(Errno::ENOENT) => return Ok(()),
            Err(errno) => {
                return Err(LaunchError::kernel(
                    format!("unmount {}", target.display()),
                    errno,
                ));
            }
        }
    }
    Err(LaunchError::Setup(format!(
        "unmount {}: still mounted after 16 detaches",
        target.display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_options_put_the_highest_layer_first() {
        let lower = vec![PathBuf::from("/l/base"), PathBuf::from("/l/top")];
        let text = overlay_options(&lower, Path::new("/u"), Path::new("/w")).unwrap();
        assert_eq!(text, "lowerdir=/l/top:/l/base,upperdir=/u,workdir=/w");
    }

    #[test]
    fn overlay_options_refuse_separators_and_overflow() {
        let bad = vec![PathBuf::from("/l/a:b")];
        assert!(overlay_options(&bad, Path::new("/u"), Path::new("/w")).is_err());
        let comma = vec![PathBuf::from("/l/a")];
        assert!(overlay_options(&comma, Path::new("/u,x"), Path::new("/w")).is_err());
        let many: Vec<PathBuf> = (0..200)
            .map(|i| PathBuf::from(format!("/var/lib/isotop/layers/sha256/{i:064}")))
            .collect();
        let err = overlay_options(&many, Path::new("/u"), Path::new("/w")).unwrap_err();
        assert!(err.to_string().contains("4095"), "{err}");
    }
}
