//! What measuring the same containers tick after tick carries from one tick to the next: the
//! limits of each container's own cgroups, read on a cadence instead of every tick.
//!
//! Contract: a cgroup's limits (`cpu.cfs_quota_us`/`cpu.max`, `cpu.shares`/`cpu.weight`,
//! `memory.limit_in_bytes`/`memory.max`/`high`/`low`, `pids.max`, `cpuset.cpus` and
//! `cpuset.effective_cpus`, the I/O limit files) change only when someone writes them (the
//! effective cpuset also when the parent's changes or a CPU goes offline). [`Carry`] keeps the
//! limits each container's own cgroups had at their last full reading, and `measure` reads
//! those files again only when they are due:
//! - every `limits_every` ticks per container (staggered by its id, so a tick reads about
//!   1/`limits_every` of them and no tick reads them all): a limit written by anyone is seen
//!   within `limits_every` ticks;
//! - at once (the next tick) for every container when the caller says an act may have
//!   changed one ([`Carry::begin_tick`]: the sampler passes "isotop's audit log grew");
//! - at once for a container seen for the first time, or whose own cgroups changed;
//! - at once when the tick's counters show a limit biting that the carried limits call unset
//!   (`nr_throttled`, memory's `max` events or `failcnt`, refused forks grew:
//!   `KeptLimits::contradicted_by`): no frame pairs "throttled" with "no quota".
//!
//! The process count of an own cgroup (`cgroup.procs`, gathered and sorted by the kernel on
//! each read) is carried with the limits while that cgroup's `pids.current`, read every tick,
//! stays the same (`host::cgroup::KeptLimits`): a process forked, exited, or moved in or out
//! changes it and the count is read that tick; what leaves it unchanged (a process moved into
//! a child cgroup) is read with the limits. Without an own pids cgroup the count is read
//! every tick. The counters that move only while the cgroup's tasks run (v1
//! `cpuacct.usage_all`, `pids.events`, v1 `cpu.stat` without a quota) are carried with them
//! while the CPU usage, read every tick, stands (`host::cgroup` `read::still`), through the
//! limits' readings too (`KeptLimits::due`: limits and count read, those counters carried).
//! Every other figure (usage, memory, I/O, pressure, freezer state) is read every tick. A container not
//! measured during a tick is forgotten at [`Carry::end_tick`].
//!
//! Each container's ownership list (`ContainerView::ownership`, one entry per cgroup with its
//! reason) is carried too, to be handed out again while nothing in it changed
//! ([`Carry::ownership_like`]): every frame then shares one list per container instead of
//! holding a copy (~13 entries of 5 strings each on a hybrid host, 400 containers). While the
//! caller's snapshot ([`Carry::set_snapshot`]: the process table's generation, which moves
//! whenever a process comes or goes or one's namespaces, cgroups, parent or name change, and
//! the grouping's) is the one a list was judged on, the list is handed out without judging it
//! again ([`Carry::ownership_unchanged`]: the judging walked every process of every shared
//! cgroup, ~5–7 % of the dashboard's samples on a steady host).
//!
//! Each container's last reading of its own cgroups is kept too, and handed out again — the
//! same `Arc` — while this tick's reading equals it ([`Carry::share_reading`]): a quiet
//! container's usage, counts, limits and sources stand from tick to tick, so the frames hold
//! one copy, the cgroup tree's node shares it, dropping a frame frees nothing of it, and the
//! trouble ring fingerprints it once (`record::codec`).

use foldhash::HashMap;
use std::sync::Arc;

use super::cgroup_ownership::CgroupOwnership;
use crate::host::cgroup::{CgroupDirs, CgroupReading, KeptLimits};
use crate::host::process::CgroupMembership;

/// One container's carried limits.
#[derive(Debug)]
struct Kept {
    own: Vec<CgroupMembership>,
    limits: KeptLimits,
    /// The tick it was last measured in.
    seen: u64,
}

/// Limits carried between ticks, by container id (see the module).
#[derive(Debug)]
pub struct Carry {
    limits_every: u64,
    tick: u64,
    /// Every container's limits are read this tick.
    read_all: bool,
    kept: HashMap<String, Kept>,
    /// Each container's last ownership list.
    ownership: HashMap<String, KeptOwnership>,
    /// Each container's last reading of its own cgroups ([`Carry::share_reading`]).
    readings: HashMap<String, KeptReading>,
    /// What this tick's processes and grouping are ([`Carry::set_snapshot`]).
    snapshot: Option<Snapshot>,
    /// The own cgroups' directories, kept open between ticks (`host::cgroup::CgroupDirs`).
    dirs: CgroupDirs,
}

/// A container's last reading handed out and the tick it was.
#[derive(Debug)]
struct KeptReading {
    reading: Arc<CgroupReading>,
    seen: u64,
}

/// The process table's generation and the grouping's: while both hold, so does every
/// container's ownership list.
type Snapshot = (u64, u64);

/// A container's last ownership list, the tick it was handed out in and the snapshot it was
/// judged on.
#[derive(Debug)]
struct KeptOwnership {
    list: Arc<[CgroupOwnership]>,
    seen: u64,
    judged_on: Option<Snapshot>,
}

impl Carry {
    /// Limits are read again every `limits_every` ticks (1: every tick, nothing carried).
    pub fn new(limits_every: u64) -> Carry {
        Carry {
            limits_every: limits_every.max(1),
            tick: 0,
            read_all: true,
            kept: HashMap::default(),
            ownership: HashMap::default(),
            readings: HashMap::default(),
            snapshot: None,
            dirs: CgroupDirs::new(),
        }
    }

    /// Starts a tick; `read_all`: every container's limits are read in it (an act may have
    /// changed one).
    pub fn begin_tick(&mut self, read_all: bool) {
        self.tick += 1;
        self.read_all = read_all;
    }

    /// Ends a tick: forgets the containers not measured in it.
    pub fn end_tick(&mut self) {
        let tick = self.tick;
        self.kept.retain(|_, k| k.seen == tick);
        self.ownership.retain(|_, kept| kept.seen == tick);
        self.readings.retain(|_, kept| kept.seen == tick);
        self.dirs.end_tick();
    }

    /// The kept-open directories the tick's readings go through.
    pub fn dirs_mut(&mut self) -> &mut CgroupDirs {
        &mut self.dirs
    }

    /// How many containers' limits are carried.
    pub fn len(&self) -> usize {
        self.kept.len()
    }

    pub fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }

    /// The limits to carry into this tick's reading of container `id`'s own cgroups `own`;
    /// `None` for a container first seen or whose own cgroups changed; [`KeptLimits::due`]
    /// ones when they are due to be read (the run-only counters are still carried).
    pub(super) fn limits_for(&mut self, id: &str, own: &[CgroupMembership]) -> Option<KeptLimits> {
        let tick = self.tick;
        let due = self.read_all || (tick + stagger(id)).is_multiple_of(self.limits_every);
        let kept = self.kept.get_mut(id)?;
        kept.seen = tick;
        if kept.own != own {
            return None;
        }
        let limits = kept.limits.clone();
        Some(if due { limits.due() } else { limits })
    }

    /// Keeps the limits of `reading`, a full reading of container `id`'s own cgroups `own`.
    pub(super) fn keep(&mut self, id: &str, own: &[CgroupMembership], reading: &CgroupReading) {
        self.kept.insert(
            id.to_string(),
            Kept {
                own: own.to_vec(),
                limits: reading.kept_limits(),
                seen: self.tick,
            },
        );
    }

    /// Follows the process count of `reading`, this tick's reading of container `id`'s own
    /// cgroups with carried limits (`KeptLimits::follow_count`).
    pub(super) fn follow(&mut self, id: &str, reading: &CgroupReading) {
        if let Some(kept) = self.kept.get_mut(id) {
            kept.limits.follow_count(reading);
        }
    }

    /// Container `id`'s reading of its own cgroups this tick, shared: the one handed out last
    /// tick when equal (a quiet container's figures, limits and sources stand from tick to
    /// tick: the frames share one reading and the trouble ring prints it once), else `reading`
    /// (kept for the next tick).
    pub(super) fn share_reading(
        &mut self,
        id: &str,
        reading: Option<CgroupReading>,
    ) -> Option<Arc<CgroupReading>> {
        let tick = self.tick;
        let Some(reading) = reading else {
            self.readings.remove(id);
            return None;
        };
        if let Some(kept) = self.readings.get_mut(id) {
            kept.seen = tick;
            if *kept.reading != reading {
                kept.reading = Arc::new(reading);
            }
            return Some(Arc::clone(&kept.reading));
        }
        let reading = Arc::new(reading);
        let kept = KeptReading {
            reading: Arc::clone(&reading),
            seen: tick,
        };
        self.readings.insert(id.to_string(), kept);
        Some(reading)
    }

    /// Container `id`'s ownership list: the one handed out last tick when `matches` says it is
    /// still true, else the one `build` makes (kept for the next tick).
    pub(super) fn ownership_like(
        &mut self,
        id: &str,
        matches: impl FnOnce(&[CgroupOwnership]) -> bool,
        build: impl FnOnce() -> Vec<CgroupOwnership>,
    ) -> Arc<[CgroupOwnership]> {
        let tick = self.tick;
        let snapshot = self.snapshot;
        if let Some(kept) = self.ownership.get_mut(id)
            && matches(&kept.list)
        {
            kept.seen = tick;
            kept.judged_on = snapshot;
            return Arc::clone(&kept.list);
        }
        let list: Arc<[CgroupOwnership]> = build().into();
        let kept = KeptOwnership {
            list: Arc::clone(&list),
            seen: tick,
            judged_on: snapshot,
        };
        self.ownership.insert(id.to_string(), kept);
        list
    }

    /// Says what this tick's processes and grouping are (the process table's generation and
    /// the grouping's): a container's ownership list judged on the same is handed out again
    /// without judging it ([`Carry::ownership_unchanged`]). Without it, every list is judged.
    pub fn set_snapshot(&mut self, snapshot: Snapshot) {
        self.snapshot = Some(snapshot);
    }

    /// Container `id`'s ownership list when it was judged on this tick's snapshot.
    pub(super) fn ownership_unchanged(&mut self, id: &str) -> Option<Arc<[CgroupOwnership]>> {
        let tick = self.tick;
        let snapshot = self.snapshot?;
        let kept = self.ownership.get_mut(id)?;
        (kept.judged_on == Some(snapshot)).then(|| {
            kept.seen = tick;
            Arc::clone(&kept.list)
        })
    }

    /// Marks container `id` measured this tick without an own reading to keep.
    pub(super) fn forget(&mut self, id: &str) {
        self.kept.remove(id);
    }
}

/// A container's place in the cadence: the same every tick, spread over the ids (FNV-1a).
fn stagger(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::cgroup::CgroupLimits;

    fn reading() -> CgroupReading {
        CgroupReading {
            path: "/a".into(),
            cpu: None,
            memory: None,
            pids: None,
            pressure: None,
            io: None,
            limits: CgroupLimits::default(),
            freezer: None,
            nprocs: 0,
            sources: Default::default(),
            missing: Vec::new(),
            notes: Vec::new(),
        }
    }

    #[test]
    fn an_ownership_list_is_handed_out_unjudged_only_on_the_snapshot_it_was_judged_on() {
        let mut carry = Carry::new(5);
        let built = || Vec::<CgroupOwnership>::new();
        carry.begin_tick(false);
        // No snapshot said: every list is judged.
        assert!(carry.ownership_unchanged("a").is_none());
        carry.set_snapshot((1, 1));
        assert!(carry.ownership_unchanged("a").is_none(), "never judged");
        let first = carry.ownership_like("a", |_| false, built);
        carry.end_tick();
        carry.begin_tick(false);
        carry.set_snapshot((1, 1));
        let again = carry.ownership_unchanged("a").expect("same snapshot");
        assert!(Arc::ptr_eq(&first, &again));
        carry.end_tick();
        // A process came or went (the table's generation), or a regrouping: judged again.
        for snapshot in [(2, 1), (2, 2)] {
            carry.begin_tick(false);
            carry.set_snapshot(snapshot);
            assert!(carry.ownership_unchanged("a").is_none(), "{snapshot:?}");
            carry.ownership_like("a", |_| true, built);
            carry.end_tick();
        }
        // Not measured in a tick: forgotten.
        carry.begin_tick(false);
        carry.end_tick();
        carry.begin_tick(false);
        carry.set_snapshot((2, 2));
        assert!(carry.ownership_unchanged("a").is_none());
    }

    #[test]
    fn limits_are_due_every_n_ticks_per_container_and_at_once_when_asked() {
        let mut carry = Carry::new(5);
        let own = vec![CgroupMembership::default()];
        carry.begin_tick(false);
        // Never read: nothing to carry.
        assert!(carry.limits_for("a", &own).is_none());
        let full = reading();
        carry.keep("a", &own, &full);
        carry.end_tick();
        let mut carried = 0;
        let mut due = Vec::new();
        for t in 0..10 {
            carry.begin_tick(false);
            match carry.limits_for("a", &own) {
                Some(kept) if !kept.limits_due() => carried += 1,
                Some(_) => {
                    due.push(t);
                    carry.keep("a", &own, &full);
                }
                None => panic!("kept, the same own cgroups: never dropped"),
            }
            carry.end_tick();
        }
        assert_eq!(due.len(), 2, "due twice in 10 ticks at every 5: {due:?}");
        assert_eq!(due[1] - due[0], 5);
        assert_eq!(carried, 8);
        // Asked to read all: due whatever the cadence.
        carry.begin_tick(true);
        assert!(carry.limits_for("a", &own).unwrap().limits_due());
        carry.keep("a", &own, &full);
        carry.end_tick();
        // Other own cgroups: due even on a tick the old ones are not.
        let moved = vec![CgroupMembership {
            path: "/elsewhere".into(),
            ..CgroupMembership::default()
        }];
        let mut checked = false;
        for _ in 0..5 {
            carry.begin_tick(false);
            if carry.limits_for("a", &own).is_some_and(|k| !k.limits_due()) {
                assert!(carry.limits_for("a", &moved).is_none());
                checked = true;
            }
            carry.end_tick();
            if checked {
                break;
            }
        }
        assert!(checked, "carried on some tick of five");
        // Not measured in a tick: forgotten.
        carry.begin_tick(false);
        carry.end_tick();
        assert!(carry.is_empty());
    }

    #[test]
    fn a_reading_equal_to_the_last_is_the_last_shared() {
        let mut carry = Carry::new(5);
        carry.begin_tick(false);
        let first = carry.share_reading("a", Some(reading())).unwrap();
        carry.end_tick();
        carry.begin_tick(false);
        let same = carry.share_reading("a", Some(reading())).unwrap();
        assert!(Arc::ptr_eq(&first, &same), "equal: the last one");
        let mut moved = reading();
        moved.nprocs = 3;
        carry.end_tick();
        carry.begin_tick(false);
        let changed = carry.share_reading("a", Some(moved.clone())).unwrap();
        assert!(!Arc::ptr_eq(&first, &changed));
        assert_eq!(*changed, moved);
        assert_eq!(
            *first,
            reading(),
            "a frame's reading never changes in place"
        );
        // None read: nothing shared next time either.
        assert!(carry.share_reading("a", None).is_none());
        carry.end_tick();
        carry.begin_tick(false);
        let again = carry.share_reading("a", Some(moved.clone())).unwrap();
        assert!(
            !Arc::ptr_eq(&again, &changed),
            "forgotten when none was read"
        );
        carry.end_tick();
        // Not measured in a tick: forgotten.
        carry.begin_tick(false);
        carry.end_tick();
        carry.begin_tick(false);
        let later = carry.share_reading("a", Some(moved)).unwrap();
        assert!(!Arc::ptr_eq(&later, &again));
    }
}
