//! Fingerprints of the parts the sampler shares from frame to frame by `Arc` (a process's
//! record, a container's stack), kept by part (see [`SharedPrints`], [`ProcessPrints`]), and the namespaces
//! section of the last delta, kept while the frames share their namespace table
//! ([`LastSection`]).

use super::*;
use crate::host::cgroup::CgroupReading;
use crate::host::container::measure::CgroupOwnership;
use crate::host::namespace::NamespaceTable;
use crate::host::stack::ContainerStack;

/// The fingerprints of the shared parts of the last frame encoded, by part: the sampler shares
/// a container's stack (`Arc<ContainerStack>`, its root's mounts: ~10 KB of paths each) from
/// frame to frame while it does not change, so a part seen last tick is not walked again (400
/// containers' stacks, cleaned path by path as they serialize, were most of the ring thread's
/// walk once the processes' records were remembered — see [`ProcessPrints`]). Each entry
/// holds a `Weak` of its part: its allocation cannot be reused by another part while the entry
/// lives, and a part cannot change in place while a `Weak` of it exists (`Arc::make_mut` moves
/// it, `get_mut` refuses), so an equal pointer is the same, unchanged part.
#[derive(Debug)]
pub(super) struct SharedPrints<T: ?Sized> {
    last: HashMap<usize, (Weak<T>, u64)>,
    this: HashMap<usize, (Weak<T>, u64)>,
}

impl<T: ?Sized> Default for SharedPrints<T> {
    fn default() -> Self {
        SharedPrints {
            last: HashMap::default(),
            this: HashMap::default(),
        }
    }
}

impl<T: Serialize + ?Sized> SharedPrints<T> {
    /// `part`'s fingerprint: remembered when the last frame had the same part, else walked.
    /// (A part two samples of a frame share — a container's reading and its cgroup's node — is
    /// walked once.)
    pub(super) fn part(&mut self, keys: &RandomState, part: &Arc<T>) -> Result<u64, String> {
        let address = Arc::as_ptr(part).cast::<()>() as usize;
        let same = |seen: &(Weak<T>, u64)| std::ptr::eq(seen.0.as_ptr(), Arc::as_ptr(part));
        if let Some(seen) = self.this.get(&address).filter(|seen| same(seen)) {
            return Ok(seen.1);
        }
        let print = match self.last.get(&address) {
            Some(seen) if same(seen) => seen.1,
            _ => fingerprint::fingerprint(keys, &**part)?,
        };
        self.this.insert(address, (Arc::downgrade(part), print));
        Ok(print)
    }

    /// The frame is encoded: its parts are the ones the next frame's are looked up in.
    pub(super) fn tick_done(&mut self) {
        std::mem::swap(&mut self.last, &mut self.this);
        self.this.clear();
    }
}

/// Process records' fingerprints, as [`SharedPrints`] keeps them but in the frame's order
/// (ascending pid) rather than hashed: a tick looks each of 11,700 records up in last tick's
/// list by walking both lists side by side, and moves an unchanged record's `Weak` over instead
/// of taking a new one (two maps of 11,700 entries rebuilt every tick: `DeltaSink::process`,
/// `ProcessPrints::fingerprint`, `RawTable::clear` and std's hashing were ~15 % of the ring
/// thread's samples).
#[derive(Debug, Default)]
pub(super) struct ProcessPrints {
    last: Vec<SeenRecord>,
    this: Vec<SeenRecord>,
    /// Where in `last` the walk is.
    cursor: usize,
}

#[derive(Debug)]
struct SeenRecord {
    pid: i32,
    record: Weak<Process>,
    print: u64,
}

impl ProcessPrints {
    /// A process sample's fingerprint: its record's (remembered when the last frame had the
    /// same record) with its own fields'.
    pub(super) fn fingerprint(
        &mut self,
        keys: &RandomState,
        sample: &ProcessSample,
    ) -> Result<u64, String> {
        let pid = sample.process.pid;
        while self
            .last
            .get(self.cursor)
            .is_some_and(|seen| seen.pid < pid)
        {
            self.cursor += 1;
        }
        let same = self.last.get_mut(self.cursor).filter(|seen| {
            seen.pid == pid && std::ptr::eq(seen.record.as_ptr(), Arc::as_ptr(&sample.process))
        });
        let (record, print) = match same {
            // (Taken: an unsorted frame's second sample of the pid is walked.)
            Some(seen) => (std::mem::take(&mut seen.record), seen.print),
            None => (
                Arc::downgrade(&sample.process),
                fingerprint::fingerprint(keys, &*sample.process)?,
            ),
        };
        self.this.push(SeenRecord { pid, record, print });
        fingerprint::fingerprint(
            keys,
            &(
                print,
                sample.cpu_percent,
                &*sample.user,
                sample.container_id.as_deref(),
            ),
        )
    }

    /// The frame is encoded: its records are the ones the next frame's are looked up in.
    pub(super) fn tick_done(&mut self) {
        std::mem::swap(&mut self.last, &mut self.this);
        self.this.clear();
        self.cursor = 0;
        // Two lists of 11,700 records, 24 bytes each: room for the next frame's.
        let records = self.last.len();
        crate::units::room::keep_room(&mut self.last, records);
        crate::units::room::keep_room(&mut self.this, records);
    }
}

/// The parts container and cgroup samples share by `Arc` from frame to frame (and with each
/// other: a container's own cgroup's node holds the container's reading), fingerprinted once
/// a part.
#[derive(Debug, Default)]
pub(super) struct PartPrints {
    stacks: SharedPrints<ContainerStack>,
    readings: SharedPrints<CgroupReading>,
    ownerships: SharedPrints<[CgroupOwnership]>,
}

impl PartPrints {
    /// The frame is encoded (see [`SharedPrints::tick_done`]).
    pub(super) fn tick_done(&mut self) {
        self.stacks.tick_done();
        self.readings.tick_done();
        self.ownerships.tick_done();
    }
}

/// A container sample's fields' fingerprints into `fields`, and its own: its stack, its cgroup
/// reading and its ownership list stand as their fingerprints (remembered by `Arc`), the other
/// fields as they serialize. The keyframe and its deltas both print containers so, so their
/// fields compare alike.
pub(super) fn container_print(
    prints: &mut PartPrints,
    keys: &RandomState,
    sample: &ContainerSample,
    fields: &mut Vec<u64>,
) -> Result<u64, String> {
    let stack = sample
        .stack
        .as_ref()
        .map(|stack| prints.stacks.part(keys, stack))
        .transpose()?;
    let cgroup = sample
        .view
        .cgroup
        .as_ref()
        .map(|reading| prints.readings.part(keys, reading))
        .transpose()?;
    let ownership = prints.ownerships.part(keys, &sample.view.ownership)?;
    item_print(
        keys,
        None,
        &sample.with_parts_as(stack, cgroup, ownership),
        fields,
    )
}

/// A cgroup sample's fields' fingerprints into `fields`, and its own: its reading stands as
/// the reading's fingerprint (remembered by `Arc`), the other fields as they serialize.
pub(super) fn cgroup_print(
    prints: &mut PartPrints,
    keys: &RandomState,
    sample: &CgroupSample,
    fields: &mut Vec<u64>,
) -> Result<u64, String> {
    let reading = prints.readings.part(keys, &sample.reading)?;
    item_print(keys, None, &sample.with_reading_as(reading), fields)
}

/// The namespaces section of the last delta, with the table it was made of (held `Weak`, as
/// in [`SharedPrints`]): the sampler builds its namespace table again only when processes came
/// or went or every few ticks, and shares it between frames meanwhile, so a delta whose frame
/// has the same table against the same keyframe has the same section, bytes and all (2,809
/// namespaces were walked for it every tick).
#[derive(Debug)]
pub(super) struct LastSection {
    table: Weak<NamespaceTable>,
    /// The payload bytes of the section: its mode byte, length and zstd frame.
    bytes: Vec<u8>,
}

impl LastSection {
    pub(super) fn new(table: &Arc<NamespaceTable>, bytes: &[u8]) -> LastSection {
        LastSection {
            table: Arc::downgrade(table),
            bytes: bytes.to_vec(),
        }
    }

    /// The section's bytes, when made of `table`.
    pub(super) fn of(&self, table: &Arc<NamespaceTable>) -> Option<&[u8]> {
        std::ptr::eq(self.table.as_ptr(), Arc::as_ptr(table)).then_some(&self.bytes[..])
    }
}
