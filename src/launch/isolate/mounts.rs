//! The container's mount namespace, set up by the child (see [`super::child`]'s rules: system
//! calls on prepared data only).
//!
//! Contract: [`mounts`] makes `/` a slave tree (nothing propagates back to the host), binds
//! the root onto itself, runs every [`MountStep`] of the plan, then `pivot_root`s. Every
//! destination is opened inside the root with `openat2(RESOLVE_IN_ROOT)` — the image's
//! symlinks and `..` resolve as if the root were `/` — and mounted on through its descriptor
//! (`/proc/self/fd/N`), so no path the image controls is ever walked on the host. Missing
//! components are created one at a time in their resolved parent. A cgroup hierarchy the
//! kernel refuses to mount is skipped (see [`MountStep::Cgroup`]); every other step's failure
//! ends the setup.

use std::ffi::CStr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags};
use rustix::fs::{Mode, OFlags, ResolveFlags};

use super::child::Step;
use super::plan::{Create, Dest, MountStep, Plan};
use crate::sys::mount::set_read_only_recursive;

/// The mount namespace: nothing propagates back to the host; the root is bound onto itself
/// (pivot_root needs a mount point); every step of the plan; then pivot_root.
pub(super) fn mounts(plan: &Plan) -> Result<(), (Step, u32, Errno)> {
    nix::mount::mount(
        None::<&CStr>,
        c"/",
        None::<&CStr>,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None::<&CStr>,
    )
    .map_err(|e| (Step::Propagation, 0, e))?;
    let rootfs = plan.rootfs.as_c_str();
    bind(rootfs, rootfs).map_err(|e| (Step::RootBind, 0, e))?;
    let root = rustix::fs::open(
        rootfs,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| (Step::RootOpen, 0, Errno::from_raw(e.raw_os_error())))?;
    for (i, step) in plan.mounts.iter().enumerate() {
        mount_step(root.as_fd(), &plan.fd_prefix, step).map_err(|(s, e)| (s, i as u32, e))?;
    }
    // pivot_root(".", ".") stacks the old root under the new one at "/"; detaching it leaves
    // only the container's tree (no put_old directory needed in the image).
    nix::unistd::fchdir(root.as_fd())
        .and_then(|()| nix::unistd::pivot_root(c".", c"."))
        .and_then(|()| nix::mount::umount2(c".", MntFlags::MNT_DETACH))
        .and_then(|()| nix::unistd::chdir(c"/"))
        .map_err(|e| (Step::Pivot, 0, e))
}

type MountResult = Result<(), (Step, Errno)>;

fn mount_step(root: BorrowedFd<'_>, fd_prefix: &[u8], step: &MountStep) -> MountResult {
    let mut buf = [0u8; 128];
    let resolve_err = |e| (Step::MountResolve, e);
    let attach_err = |e| (Step::MountAttach, e);
    match step {
        MountStep::Bind {
            source,
            dest,
            create,
            read_only,
            ..
        } => {
            let fd = resolve(root, dest, *create).map_err(resolve_err)?;
            let target = fd_path(fd_prefix, raw(&fd), &mut buf).map_err(resolve_err)?;
            bind(source, target).map_err(attach_err)?;
            drop(fd);
            if *read_only {
                read_only_tree(root, fd_prefix, dest)?;
            }
        }
        MountStep::Fresh {
            fstype,
            flags,
            data,
            dest,
        } => {
            let fd = resolve(root, dest, Create::Dir).map_err(resolve_err)?;
            let target = fd_path(fd_prefix, raw(&fd), &mut buf).map_err(resolve_err)?;
            nix::mount::mount(
                Some(fstype.as_c_str()),
                target,
                Some(fstype.as_c_str()),
                *flags,
                data.as_deref(),
            )
            .map_err(attach_err)?;
        }
        MountStep::Sysfs { host_sys, dest } => {
            let fd = resolve(root, dest, Create::Dir).map_err(resolve_err)?;
            let target = fd_path(fd_prefix, raw(&fd), &mut buf).map_err(resolve_err)?;
            let flags =
                MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
            match nix::mount::mount(Some(c"sysfs"), target, Some(c"sysfs"), flags, None::<&CStr>) {
                Ok(()) => {}
                // sysfs belongs to the network namespace's owner; a user namespace sharing the
                // host's network may not mount it, but may bind the host's, read-only.
                Err(Errno::EPERM) => {
                    bind(host_sys, target).map_err(attach_err)?;
                    drop(fd);
                    read_only_tree(root, fd_prefix, dest)?;
                }
                Err(e) => return Err(attach_err(e)),
            }
        }
        MountStep::Cgroup {
            fstype,
            flags,
            data,
            dest,
        } => {
            let fd = resolve(root, dest, Create::Dir).map_err(resolve_err)?;
            // Refused (e.g. a hierarchy this namespace may not mount): skipped, see
            // `MountStep::Cgroup` for why that is right.
            let _ = mount_cgroup(root, fd_prefix, fd, dest, fstype, *flags, data.as_deref());
        }
        MountStep::Seal { dest } => read_only_tree(root, fd_prefix, dest)?,
        MountStep::Symlink { target, dest } => {
            // The parent (inside the fresh /dev tmpfs) exists already; a one-part name sits
            // in the root itself.
            let n = dest.prefixes.len();
            let parent = match n.checked_sub(2) {
                Some(p) => Some(open_in_root(root, &dest.prefixes[p]).map_err(resolve_err)?),
                None => None,
            };
            let dir = parent.as_ref().map_or(root, |p| p.as_fd());
            let name = dest.names.last().map(|n| n.as_c_str()).unwrap_or(c".");
            match nix::unistd::symlinkat(target.as_c_str(), dir, name) {
                Ok(()) | Err(Errno::EEXIST) => {}
                Err(e) => return Err(attach_err(e)),
            }
        }
        MountStep::Mask { dev_null, dest } => {
            let fd = match resolve(root, dest, Create::Skip) {
                Ok(fd) => fd,
                Err(Errno::ENOENT) => return Ok(()),
                Err(e) => return Err(resolve_err(e)),
            };
            let is_dir = rustix::fs::fstat(&fd)
                .map(|st| rustix::fs::FileType::from_raw_mode(st.st_mode).is_dir())
                .map_err(|e| resolve_err(Errno::from_raw(e.raw_os_error())))?;
            let target = fd_path(fd_prefix, raw(&fd), &mut buf).map_err(resolve_err)?;
            if is_dir {
                nix::mount::mount(
                    Some(c"tmpfs"),
                    target,
                    Some(c"tmpfs"),
                    MsFlags::MS_RDONLY
                        | MsFlags::MS_NOSUID
                        | MsFlags::MS_NODEV
                        | MsFlags::MS_NOEXEC,
                    None::<&CStr>,
                )
            } else {
                nix::mount::mount(
                    Some(dev_null.as_c_str()),
                    target,
                    None::<&CStr>,
                    MsFlags::MS_BIND,
                    None::<&CStr>,
                )
            }
            .map_err(attach_err)?;
        }
        MountStep::ReadOnly { dest } => {
            let fd = match resolve(root, dest, Create::Skip) {
                Ok(fd) => fd,
                Err(Errno::ENOENT) => return Ok(()),
                Err(e) => return Err(resolve_err(e)),
            };
            let target = fd_path(fd_prefix, raw(&fd), &mut buf).map_err(resolve_err)?;
            bind(target, target).map_err(attach_err)?;
            drop(fd);
            read_only_tree(root, fd_prefix, dest)?;
        }
        MountStep::Workdir { dest } => {
            resolve(root, dest, Create::Dir).map_err(resolve_err)?;
        }
    }
    Ok(())
}

/// Mounts a cgroup file system on the directory `fd` (at `dest`). Where that directory is
/// already the root of a cgroup mount — `/sys` is then the host's, bound with its submounts
/// (`--net host --userns`), and the host's cgroup2 sits on `/sys/fs/cgroup` — an empty
/// read-only tmpfs goes in between first: the kernel refuses to mount a file system on a mount
/// of the same superblock (EBUSY), and the host's whole tree must not show through anyway.
fn mount_cgroup(
    root: BorrowedFd<'_>,
    fd_prefix: &[u8],
    fd: OwnedFd,
    dest: &Dest,
    fstype: &CStr,
    flags: MsFlags,
    data: Option<&CStr>,
) -> nix::Result<()> {
    let mut buf = [0u8; 128];
    let kind = nix::sys::statfs::fstatfs(&fd)?.filesystem_type();
    let fd = if kind == nix::sys::statfs::CGROUP2_SUPER_MAGIC
        || kind == nix::sys::statfs::CGROUP_SUPER_MAGIC
    {
        let target = fd_path(fd_prefix, raw(&fd), &mut buf)?;
        nix::mount::mount(
            Some(c"tmpfs"),
            target,
            Some(c"tmpfs"),
            MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            Some(c"mode=755"),
        )?;
        drop(fd);
        // Opened afresh: the descriptor must name the tmpfs now on top, not the directory
        // under it.
        resolve(root, dest, Create::Skip)?
    } else {
        fd
    };
    let target = fd_path(fd_prefix, raw(&fd), &mut buf)?;
    nix::mount::mount(Some(fstype), target, Some(fstype), flags, data)
}

fn raw(fd: &OwnedFd) -> RawFd {
    std::os::fd::AsRawFd::as_raw_fd(fd)
}

fn bind(source: &CStr, target: &CStr) -> nix::Result<()> {
    nix::mount::mount(
        Some(source),
        target,
        None::<&CStr>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&CStr>,
    )
}

/// Makes the mount now at `dest` read-only, with everything below it. Opened afresh so the
/// descriptor names the new mount, not the directory under it.
fn read_only_tree(root: BorrowedFd<'_>, fd_prefix: &[u8], dest: &Dest) -> MountResult {
    let err = |e| (Step::MountReadOnly, e);
    let fd = resolve(root, dest, Create::Skip).map_err(err)?;
    match set_read_only_recursive(fd.as_fd()) {
        Ok(()) => Ok(()),
        // Before Linux 5.12: remount the top mount read-only, keeping the flags it has (in a
        // user namespace, dropping a locked nosuid/nodev/noexec would be refused).
        Err(Errno::ENOSYS) => {
            let flags = nix::sys::statvfs::fstatvfs(&fd).map_err(err)?.flags();
            let mut keep = MsFlags::empty();
            for (st, ms) in [
                (nix::sys::statvfs::FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
                (nix::sys::statvfs::FsFlags::ST_NODEV, MsFlags::MS_NODEV),
                (nix::sys::statvfs::FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
                (nix::sys::statvfs::FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
                (
                    nix::sys::statvfs::FsFlags::ST_RELATIME,
                    MsFlags::MS_RELATIME,
                ),
            ] {
                if flags.contains(st) {
                    keep |= ms;
                }
            }
            let mut buf = [0u8; 128];
            let target = fd_path(fd_prefix, raw(&fd), &mut buf).map_err(err)?;
            nix::mount::mount(
                None::<&CStr>,
                target,
                None::<&CStr>,
                MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | keep,
                None::<&CStr>,
            )
            .map_err(err)
        }
        Err(e) => Err(err(e)),
    }
}

/// `openat2` inside the container root: symlinks and `..` resolve as if `root` were `/`, so a
/// hostile image cannot point a destination at the host.
fn open_in_root(root: BorrowedFd<'_>, path: &CStr) -> nix::Result<OwnedFd> {
    rustix::fs::openat2(
        root,
        path,
        OFlags::PATH | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
    )
    .map_err(|e| Errno::from_raw(e.raw_os_error()))
}

/// Opens `dest` inside the root (`O_PATH`), creating missing components as directories (the
/// last one as `create` says). Each missing component is made in its resolved parent by name,
/// so creation cannot leave the root either.
fn resolve(root: BorrowedFd<'_>, dest: &Dest, create: Create) -> nix::Result<OwnedFd> {
    match open_in_root(root, &dest.full) {
        Err(Errno::ENOENT) if create != Create::Skip => {}
        other => return other,
    }
    let mut parent: Option<OwnedFd> = None;
    let last = dest.prefixes.len().saturating_sub(1);
    for (i, (prefix, name)) in dest.prefixes.iter().zip(&dest.names).enumerate() {
        let fd = match open_in_root(root, prefix) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => {
                let dir = parent.as_ref().map_or(root, |p| p.as_fd());
                let made = if i == last && create == Create::File {
                    nix::fcntl::openat(
                        dir,
                        name.as_c_str(),
                        nix::fcntl::OFlag::O_CREAT
                            | nix::fcntl::OFlag::O_EXCL
                            | nix::fcntl::OFlag::O_WRONLY
                            | nix::fcntl::OFlag::O_NOFOLLOW
                            | nix::fcntl::OFlag::O_CLOEXEC,
                        nix::sys::stat::Mode::from_bits_truncate(0o644),
                    )
                    .map(drop)
                } else {
                    nix::sys::stat::mkdirat(
                        dir,
                        name.as_c_str(),
                        nix::sys::stat::Mode::from_bits_truncate(0o755),
                    )
                };
                match made {
                    Ok(()) | Err(Errno::EEXIST) => {}
                    Err(e) => return Err(e),
                }
                open_in_root(root, prefix)?
            }
            Err(e) => return Err(e),
        };
        parent = Some(fd);
    }
    parent.ok_or(Errno::ENOENT)
}

/// `<prefix><fd>\0` in `buf` (e.g. `/proc/self/fd/7`), as a C string naming the file `fd`
/// is open on. `prefix` is checked by the plan to leave room for the digits.
pub(super) fn fd_path<'b>(
    prefix: &[u8],
    fd: RawFd,
    buf: &'b mut [u8; 128],
) -> nix::Result<&'b CStr> {
    let mut digits = [0u8; 12];
    let mut n = fd.unsigned_abs();
    let mut len = 0;
    loop {
        digits[len] = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let total = prefix.len() + len;
    if total + 1 > buf.len() {
        return Err(Errno::ENAMETOOLONG);
    }
    buf[..prefix.len()].copy_from_slice(prefix);
    for i in 0..len {
        buf[prefix.len() + i] = digits[len - 1 - i];
    }
    buf[total] = 0;
    CStr::from_bytes_with_nul(&buf[..=total]).map_err(|_| Errno::EINVAL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fd_paths_are_formatted_on_the_stack() {
        let mut buf = [0u8; 128];
        assert_eq!(
            fd_path(b"/proc/self/fd/", 7, &mut buf).unwrap(),
            c"/proc/self/fd/7"
        );
        assert_eq!(fd_path(b"/p/", 1234567, &mut buf).unwrap(), c"/p/1234567");
        assert!(fd_path(&[b'x'; 120], 12345678, &mut buf).is_err());
    }
}
