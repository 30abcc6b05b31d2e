//! The triggers' thread: it arms the triggers of the cgroups it is handed, sleeps in `poll()`
//! on all of them and an eventfd, and reports each fire, each cgroup gone and what is armed
//! (see `sample::pressure_triggers` for the contract).

use foldhash::HashMap;
use std::os::fd::OwnedFd;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{self, TryRecvError};

use rustix::event::{EventfdFlags, PollFd, PollFlags, eventfd, poll};
use rustix::fs::{Mode, OFlags, fstatfs, openat};
use rustix::io::Errno;

use super::{
    Fire, RESOURCES, TriggerRefusal, TriggerStatus, UNPRIVILEGED_WINDOW_US, WINDOW_US, WatchTarget,
    file_name, stall_us, trigger_line,
};
use crate::host::events::PressureResource;

/// `CGROUP2_SUPER_MAGIC` (`linux/magic.h`): `statfs` `f_type` of a cgroup2 file system.
const CGROUP2_SUPER_MAGIC: u64 = 0x6367_7270;

/// What the thread tells the sampler.
#[derive(Debug)]
pub(super) enum Report {
    Fired {
        key: String,
        resource: PressureResource,
        fire: Fire,
    },
    /// The cgroup was removed (or could not be found): its fds are closed.
    Gone(String),
    /// What is armed, after each change, and the keys of the cgroups with a trigger armed.
    Status(TriggerStatus, Vec<String>),
}

/// The sampler's handle on the thread; dropping it ends the thread without waiting for it: it
/// wakes at once (the eventfd) and closes its fds on its way out, and the kernel ends each
/// trigger after an RCU grace period (8–16 ms each measured here: seconds for a full budget).
#[derive(Debug)]
pub(super) struct Worker {
    targets: mpsc::Sender<Vec<WatchTarget>>,
    pub(super) reports: mpsc::Receiver<Report>,
    wake: Arc<OwnedFd>,
}

/// Wakes the thread's `poll()`.
fn wake(fd: &OwnedFd) {
    // Fails only when the counter would overflow: the thread is awake anyway.
    let _ = rustix::io::write(fd, &1u64.to_ne_bytes());
}

impl Worker {
    /// Starts the thread for the v2 hierarchy mounted at `mount`, triggers firing at
    /// `percent` % of the window.
    pub(super) fn spawn(mount: PathBuf, percent: f64) -> std::io::Result<Worker> {
        let wake_fd = Arc::new(eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?);
        let (targets, targets_rx) = mpsc::channel();
        let (reports_tx, reports) = mpsc::channel();
        let thread_wake = Arc::clone(&wake_fd);
        std::thread::Builder::new()
            .name("isotop-psi".into())
            .spawn(move || {
                let mut watcher = Watcher::new(mount, percent);
                watcher.run(&thread_wake, &targets_rx, &reports_tx);
            })?;
        Ok(Worker {
            targets,
            reports,
            wake: wake_fd,
        })
    }

    /// Hands the thread the cgroups to watch from now on.
    pub(super) fn watch(&self, targets: Vec<WatchTarget>) {
        if self.targets.send(targets).is_ok() {
            wake(&self.wake);
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // The thread sees the channel closed when it wakes, and ends.
        let (closed, _) = mpsc::channel();
        drop(std::mem::replace(&mut self.targets, closed));
        wake(&self.wake);
    }
}

/// One watched cgroup: its triggers per resource ([`RESOURCES`] order).
struct Watched {
    target: WatchTarget,
    fds: [Option<OwnedFd>; 3],
}

/// How arming one cgroup went.
enum Armed {
    Fds([Option<OwnedFd>; 3]),
    /// Its directory is not there (removed).
    Gone,
}

/// The thread's state.
struct Watcher {
    mount: PathBuf,
    percent: f64,
    /// The v2 mount's directory, opened on first need (`Err`: it cannot be, or is not cgroup2).
    mount_fd: Option<Result<OwnedFd, TriggerRefusal>>,
    watched: Vec<Watched>,
    refused: Option<TriggerRefusal>,
    /// A refusal that holds for every cgroup (no trigger of this process can work): no more
    /// tries.
    refuse_all: Option<TriggerRefusal>,
    made_one: bool,
}

impl Watcher {
    fn new(mount: PathBuf, percent: f64) -> Watcher {
        Watcher {
            mount,
            percent,
            mount_fd: None,
            watched: Vec::new(),
            refused: None,
            refuse_all: None,
            made_one: false,
        }
    }

    fn run(
        &mut self,
        wake_fd: &OwnedFd,
        targets: &mpsc::Receiver<Vec<WatchTarget>>,
        reports: &mpsc::Sender<Report>,
    ) {
        loop {
            let (woken, ready) = match self.wait(wake_fd) {
                Ok(ready) => ready,
                Err(_) => {
                    // poll() itself failed (ENOMEM): give the triggers up, sampling goes on.
                    self.watched.clear();
                    self.refused = Some(TriggerRefusal::Other);
                    let _ = reports.send(Report::Status(self.status(), Vec::new()));
                    return;
                }
            };
            let now_ms = crate::units::now_ms();
            let mut gone = Vec::new();
            for (at, resource, flags) in ready {
                if flags.intersects(PollFlags::ERR | PollFlags::HUP | PollFlags::NVAL) {
                    gone.push(at);
                } else if flags.contains(PollFlags::PRI) {
                    let fire = Fire {
                        at_ms: now_ms,
                        stall_us: stall_us(self.percent, WINDOW_US),
                        window_us: WINDOW_US,
                    };
                    let key = self.watched[at].target.key.clone();
                    let report = Report::Fired {
                        key,
                        resource: RESOURCES[resource],
                        fire,
                    };
                    if reports.send(report).is_err() {
                        return;
                    }
                }
            }
            gone.sort_unstable();
            gone.dedup();
            let changed = !gone.is_empty();
            for at in gone.into_iter().rev() {
                // Closing its fds ends its triggers (the kernel already dropped them).
                let watched = self.watched.remove(at);
                if reports.send(Report::Gone(watched.target.key)).is_err() {
                    return;
                }
            }
            let mut latest = None;
            if woken {
                let _ = rustix::io::read(wake_fd, &mut [0u8; 8]);
                loop {
                    match targets.try_recv() {
                        Ok(set) => latest = Some(set),
                        Err(TryRecvError::Empty) => break,
                        Err(TryRecvError::Disconnected) => return,
                    }
                }
            }
            if let Some(set) = latest {
                for key in self.reconcile(set) {
                    if reports.send(Report::Gone(key)).is_err() {
                        return;
                    }
                }
            } else if !changed {
                continue;
            }
            let armed = self
                .watched
                .iter()
                .filter(|w| w.fds.iter().any(Option::is_some))
                .map(|w| w.target.key.clone())
                .collect();
            if reports.send(Report::Status(self.status(), armed)).is_err() {
                return;
            }
        }
    }

    /// Sleeps until the eventfd or a trigger is ready: (woken by the eventfd, each ready
    /// trigger as (cgroup index, resource index, flags)).
    #[allow(clippy::type_complexity)]
    fn wait(&self, wake_fd: &OwnedFd) -> Result<(bool, Vec<(usize, usize, PollFlags)>), Errno> {
        let mut fds = Vec::with_capacity(1 + 3 * self.watched.len());
        let mut slots = Vec::with_capacity(3 * self.watched.len());
        fds.push(PollFd::new(wake_fd, PollFlags::IN));
        for (at, watched) in self.watched.iter().enumerate() {
            for (resource, fd) in watched.fds.iter().enumerate() {
                if let Some(fd) = fd {
                    fds.push(PollFd::new(fd, PollFlags::PRI));
                    slots.push((at, resource));
                }
            }
        }
        loop {
            match poll(&mut fds, None) {
                Ok(_) => break,
                Err(Errno::INTR) => continue,
                Err(e) => return Err(e),
            }
        }
        let woken = !fds[0].revents().is_empty();
        let ready = fds[1..]
            .iter()
            .zip(slots)
            .filter(|(fd, _)| !fd.revents().is_empty())
            .map(|(fd, (at, resource))| (at, resource, fd.revents()))
            .collect();
        Ok((woken, ready))
    }

    /// Watches exactly `set` from now on: keeps what it already watches, closes the rest,
    /// arms the new ones. Returns the keys whose cgroups are gone.
    fn reconcile(&mut self, set: Vec<WatchTarget>) -> Vec<String> {
        let mut old: HashMap<WatchTarget, Watched> = self
            .watched
            .drain(..)
            .map(|w| (w.target.clone(), w))
            .collect();
        let mut gone = Vec::new();
        for target in set {
            if let Some(kept) = old.remove(&target) {
                self.watched.push(kept);
                continue;
            }
            match self.arm(&target.relative) {
                Armed::Fds(fds) => self.watched.push(Watched { target, fds }),
                Armed::Gone => gone.push(target.key),
            }
        }
        gone
    }

    fn status(&self) -> TriggerStatus {
        let armed = |w: &Watched| w.fds.iter().flatten().count();
        TriggerStatus {
            armed: self.watched.iter().map(armed).sum(),
            cgroups: self.watched.iter().filter(|w| armed(w) > 0).count(),
            window_us: self.made_one.then_some(WINDOW_US),
            beyond_budget: 0,
            refused: self.refused,
        }
    }

    /// The v2 mount's directory, checked to be cgroup2 once.
    fn mount_fd(&mut self) -> Result<&OwnedFd, TriggerRefusal> {
        let mount = &self.mount;
        let opened = self.mount_fd.get_or_insert_with(|| {
            let fd = rustix::fs::open(
                mount,
                OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(refusal)?;
            on_cgroup2(&fd)?;
            Ok(fd)
        });
        opened.as_ref().map_err(|refused| *refused)
    }

    /// Opens cgroup `relative`'s directory beneath the mount and arms a trigger on each of its
    /// pressure files that takes one.
    fn arm(&mut self, relative: &Path) -> Armed {
        if let Some(refused) = self.refuse_all {
            self.refused = Some(refused);
            return Armed::Fds([None, None, None]);
        }
        let dir = match self
            .mount_fd()
            .and_then(|mount| open_beneath(mount, relative))
        {
            Ok(Some(dir)) => dir,
            Ok(None) => return Armed::Gone,
            Err(refused) => {
                self.refused = Some(refused);
                return Armed::Fds([None, None, None]);
            }
        };
        let mut fds: [Option<OwnedFd>; 3] = [None, None, None];
        for (slot, resource) in fds.iter_mut().zip(RESOURCES) {
            if self.refuse_all.is_some() {
                break;
            }
            match self.arm_file(&dir, file_name(resource)) {
                Ok(fd) => {
                    *slot = Some(fd);
                    self.made_one = true;
                }
                // No such file: that resource has no pressure file here (sampled: none).
                Err(None) => {}
                Err(Some(refused)) => self.refused = Some(refused),
            }
        }
        Armed::Fds(fds)
    }

    /// One trigger on `dir/name`; `Err(None)` when the file is not there.
    fn arm_file(&mut self, dir: &OwnedFd, name: &str) -> Result<OwnedFd, Option<TriggerRefusal>> {
        let flags = OFlags::RDWR | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOFOLLOW;
        let fd = match openat(dir, name, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => return Err(None),
            Err(e) => return Err(Some(refusal(e))),
        };
        if let Err(refused) = on_cgroup2(&fd) {
            self.refuse_all = Some(refused);
            return Err(Some(refused));
        }
        // Checked when made: the percent is in (0, 100].
        let line =
            trigger_line(self.percent, WINDOW_US).ok_or(Some(TriggerRefusal::Unsupported))?;
        match rustix::io::write(&fd, line.as_bytes()) {
            Ok(_) => Ok(fd),
            Err(Errno::INVAL) => {
                // The kernel (6.5 on) takes a 1 s window only with CAP_SYS_RESOURCE; without it
                // only multiples of 2 s, checked when the averages are folded — which any read
                // of the pressure file (isotop's own, each tick) does first, so such a trigger
                // misses the stalls it is for (measured here: none of three bursts fired with
                // the file read every 10 ms). Probe with 2 s: taken, it is that; give up.
                let probe = trigger_line(self.percent, UNPRIVILEGED_WINDOW_US);
                let unprivileged =
                    probe.is_some_and(|line| rustix::io::write(&fd, line.as_bytes()).is_ok());
                // Dropping the fd ends the probe's trigger.
                drop(fd);
                if unprivileged {
                    self.refuse_all = Some(TriggerRefusal::Unprivileged);
                    Err(Some(TriggerRefusal::Unprivileged))
                } else {
                    Err(Some(TriggerRefusal::Unsupported))
                }
            }
            Err(e) => Err(Some(refusal(e))),
        }
    }
}

/// Refuses what is not on a cgroup2 file system.
fn on_cgroup2(fd: &OwnedFd) -> Result<(), TriggerRefusal> {
    let fs = fstatfs(fd).map_err(refusal)?;
    #[allow(clippy::unnecessary_cast)] // `f_type`'s width differs between architectures.
    if fs.f_type as u64 == CGROUP2_SUPER_MAGIC {
        Ok(())
    } else {
        Err(TriggerRefusal::NotCgroup2)
    }
}

/// Opens directory `relative` (plain names only) beneath `mount`, one component at a time,
/// never following a symlink; `Ok(None)` when a component is not there.
fn open_beneath(mount: &OwnedFd, relative: &Path) -> Result<Option<OwnedFd>, TriggerRefusal> {
    let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mut dir: Option<OwnedFd> = None;
    for component in relative.components() {
        let Component::Normal(name) = component else {
            return Err(TriggerRefusal::Other);
        };
        let parent = dir.as_ref().unwrap_or(mount);
        match openat(parent, name, flags, Mode::empty()) {
            Ok(fd) => dir = Some(fd),
            Err(Errno::NOENT | Errno::NODEV) => return Ok(None),
            Err(e) => return Err(refusal(e)),
        }
    }
    // An empty path is the mount's root, whose pressure is the host's: never watched.
    dir.map(Some).ok_or(TriggerRefusal::Other)
}

fn refusal(e: Errno) -> TriggerRefusal {
    match e {
        Errno::ACCESS | Errno::PERM | Errno::ROFS => TriggerRefusal::NotPermitted,
        Errno::INVAL | Errno::OPNOTSUPP | Errno::NOSYS => TriggerRefusal::Unsupported,
        _ => TriggerRefusal::Other,
    }
}
