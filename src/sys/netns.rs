//! Joining network namespaces on a thread made for it, which exits afterwards.
//!
//! `setns(fd, CLONE_NEWNET)` moves only the calling thread: every socket it opens afterwards
//! belongs to that namespace, while the process's other threads stay where they were. A thread
//! that has joined a foreign namespace must therefore never run anything else — not a task of
//! a pool, not the caller's next request — or that work would silently read the wrong network.
//! [`on_own_thread`] is the only way to call [`Inside::join`]: it starts a dedicated thread,
//! runs the caller's work there with the [`Inside`] token, and joins it; the thread exits with
//! whatever namespace it last joined, so no state leaks back to the host's threads.
//!
//! Contract: the work may join any number of namespaces in turn (one walk over many costs one
//! thread); descriptors are borrowed, never closed here; a panic in the work becomes an
//! `io::Error`, never a panic of the caller. Needs CAP_SYS_ADMIN over the target namespace's
//! owner and over our own user namespace: without it `join` fails with `EPERM`.

use std::io;
use std::marker::PhantomData;
use std::os::fd::BorrowedFd;

use nix::sched::{CloneFlags, setns};

/// The right to move the current (dedicated) thread into a network namespace. Only
/// [`on_own_thread`] makes one, and it cannot leave that thread (it is neither `Send` nor
/// `Sync`).
pub struct Inside {
    _this_thread_only: PhantomData<*const ()>,
}

impl Inside {
    /// Moves the dedicated thread into the network namespace open as `netns`
    /// (`setns(CLONE_NEWNET)`; the kernel checks that `netns` is one).
    pub fn join(&self, netns: BorrowedFd<'_>) -> io::Result<()> {
        setns(netns, CloneFlags::CLONE_NEWNET).map_err(io::Error::from)
    }
}

/// Runs `work` on a new thread named `isotop-netns`, waits for it and returns its result. The
/// thread ends when `work` returns, in whatever namespace it joined last.
pub fn on_own_thread<T, F>(work: F) -> io::Result<T>
where
    T: Send,
    F: FnOnce(&Inside) -> T + Send,
{
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .name("isotop-netns".to_string())
            .spawn_scoped(scope, move || {
                let inside = Inside {
                    _this_thread_only: PhantomData,
                };
                work(&inside)
            })?;
        handle
            .join()
            .map_err(|_| io::Error::other("the network namespace reader thread panicked"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;

    fn own_net_inode() -> u64 {
        std::fs::metadata("/proc/thread-self/ns/net").unwrap().ino()
    }

    #[test]
    fn work_runs_on_another_thread_and_returns_its_value() {
        let caller = std::thread::current().id();
        let (thread, name) = on_own_thread(|_| {
            let me = std::thread::current();
            (me.id(), me.name().map(str::to_string))
        })
        .unwrap();
        assert_ne!(thread, caller);
        assert_eq!(name.as_deref(), Some("isotop-netns"));
    }

    #[test]
    fn joining_our_own_namespace_leaves_the_caller_where_it_was() {
        // Joining one's own namespace needs CAP_SYS_ADMIN too; as a user it is refused with
        // EPERM, which is the error the read side turns into "run as root".
        let before = own_net_inode();
        let own = std::fs::File::open("/proc/self/ns/net").unwrap();
        let inside_inode = on_own_thread(|inside| {
            inside.join(own.as_fd())?;
            Ok::<_, io::Error>(own_net_inode())
        })
        .unwrap();
        match inside_inode {
            Ok(ino) => assert_eq!(ino, before),
            Err(e) => assert_eq!(e.raw_os_error(), Some(nix::libc::EPERM), "{e}"),
        }
        assert_eq!(own_net_inode(), before);
    }

    #[test]
    fn a_panic_in_the_work_is_an_error() {
        let result: io::Result<()> = on_own_thread(|_| panic!("boom"));
        assert!(result.is_err());
    }
}
