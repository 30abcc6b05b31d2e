//! The delta's writer: each section of a frame as a patch of its keyframe's — an item the
//! keyframe holds copied by index, a changed one written as its changed fields when the keyframe
//! has an item of its identity, otherwise written out (see the parent module's contract).

use super::*;
use crate::host::namespace::NamespaceTable;

/// Writes a delta: each section a patch of the keyframe's (its unchanged items copied by
/// index, the others written out), compressed alone.
pub(super) struct DeltaSink<'a> {
    pub(super) payload: Vec<u8>,
    pub(super) base: &'a Base,
    pub(super) section: Section,
    pub(super) keys: &'a RandomState,
    pub(super) item: &'a mut Vec<u8>,
    pub(super) patch: &'a mut Patch,
    pub(super) patch_bytes: &'a mut Vec<u8>,
    pub(super) scratch: &'a mut FieldScratch,
    pub(super) compressor: &'a mut Option<PatchCompressor>,
    pub(super) prints: &'a mut ProcessPrints,
    pub(super) part_prints: &'a mut PartPrints,
    pub(super) namespaces: &'a mut Option<LastSection>,
    pub(super) written: &'a mut WrittenProcesses,
    /// Processes not copied from the keyframe (patched or written out).
    pub(super) processes_written: usize,
}

/// The processes section's items the last delta wrote (patched or whole), by fingerprint: a
/// process that changed since the keyframe but not since the last tick is written the same way
/// again (same fingerprint, same keyframe: same operation), so it is not walked field by field
/// every tick until the next keyframe (its command line, cgroup list and namespaces again).
/// The operations are not copied one by one: the last delta's processes section's operations
/// are kept whole (the patch's buffer, swapped out at the section's end) and each written
/// process is its range there — a copy per process (a `Vec` and its allocation, ~70 bytes of
/// operation beside ~70 of bookkeeping, in two maps) was ~1.5 MB on 11,700 processes whose
/// cpu rates had moved once. The encoder empties it at each keyframe.
#[derive(Debug, Default)]
pub(super) struct WrittenProcesses {
    /// The last delta's processes section's operations.
    last_ops: Vec<u8>,
    /// Where each process the last delta wrote has its operation in `last_ops`.
    last: HashMap<u64, OpRange>,
    /// Where each process this delta wrote has its operation in the patch being made.
    this: HashMap<u64, OpRange>,
}

/// One item's operation in a patch's operations: its first byte and its end.
#[derive(Debug, Clone, Copy)]
struct OpRange {
    start: u32,
    end: u32,
}

impl OpRange {
    fn new(start: usize, end: usize) -> Result<OpRange, String> {
        let at = |n: usize| u32::try_from(n).map_err(|e| e.to_string());
        Ok(OpRange {
            start: at(start)?,
            end: at(end)?,
        })
    }
}

impl WrittenProcesses {
    /// The processes section begins: nothing of an earlier section left half made counts.
    fn section_begun(&mut self) {
        self.this.clear();
    }

    /// The operation the last delta wrote for the item of `fingerprint`, if it wrote one.
    fn again(&self, fingerprint: u64) -> Option<&[u8]> {
        let range = self.last.get(&fingerprint)?;
        self.last_ops.get(range.start as usize..range.end as usize)
    }

    /// The processes section is made: its operations (taken from `patch`, which keeps the
    /// buffer they replace) are the ones the next delta's are looked up in.
    fn section_done(&mut self, patch: &mut Patch) {
        patch.swap_ops(&mut self.last_ops);
        // Kept for a tick: no room from growing (the patch grows the buffer it gets back).
        self.last_ops.shrink_to_fit();
        std::mem::swap(&mut self.last, &mut self.this);
        self.this.clear();
    }

    /// A keyframe: nothing written against the old one holds.
    pub(super) fn clear(&mut self) {
        self.last_ops.clear();
        self.last.clear();
        self.this.clear();
    }

    /// Bytes this holds (its buffer's and its maps' capacity), for tests of its bound.
    #[cfg(test)]
    pub(super) fn held_bytes(&self) -> usize {
        let entry = std::mem::size_of::<(u64, OpRange)>() + 1;
        self.last_ops.capacity() + (self.last.capacity() + self.this.capacity()) * entry
    }
}

/// Kept between items: a changed item's fields' fingerprints, which of them changed, their
/// MessagePack and where each ends.
#[derive(Debug, Default)]
pub(super) struct FieldScratch {
    pub(super) fingerprints: Vec<u64>,
    pub(super) changed: Vec<bool>,
    pub(super) ends: Vec<usize>,
}

impl DeltaSink<'_> {
    /// The section's next item, its fingerprint known: copied, patched or written out.
    /// `fields_known`: the scratch holds the item's fields' fingerprints already (empty: none).
    fn item_printed<T: Serialize + ?Sized>(
        &mut self,
        fingerprint: u64,
        fields_known: bool,
        key: Option<&str>,
        value: &T,
    ) -> Result<(), String> {
        if let Some(&index) = self.base.items[self.section as usize].get(&fingerprint) {
            self.patch.copy(index);
            return Ok(());
        }
        let processes = self.section == Section::Processes;
        let start = self.patch.next_op();
        let again = if processes {
            self.written.again(fingerprint)
        } else {
            None
        };
        if let Some(op) = again {
            self.patch.again(op);
        } else if !self.patch_fields(fields_known, key, value)? {
            item_bytes(self.item, key, value)?;
            self.patch.item(self.item);
        }
        if processes {
            self.processes_written += 1;
            let range = OpRange::new(start, self.patch.next_op())?;
            self.written.this.insert(fingerprint, range);
        }
        Ok(())
    }

    /// Writes a changed `value` as its keyframe item patched (its changed fields written, the
    /// others copied) when the keyframe has an item of its identity; `false` otherwise.
    fn patch_fields<T: Serialize + ?Sized>(
        &mut self,
        fields_known: bool,
        key: Option<&str>,
        value: &T,
    ) -> Result<bool, String> {
        let section = self.section as usize;
        let scratch = &mut *self.scratch;
        if !fields_known && !fields::fingerprints(self.keys, value, &mut scratch.fingerprints) {
            scratch.fingerprints.clear();
        }
        if scratch.fingerprints.is_empty() {
            return Ok(false);
        }
        let Some(&index) = identity(self.keys, key, &scratch.fingerprints)?
            .and_then(|identity| self.base.identity[section].get(&identity))
        else {
            return Ok(false);
        };
        // The keyframe's item had no fields (a `None`, say): it cannot be patched.
        let Some(base_fields) = self.base.fields[section]
            .get(index as usize)
            .filter(|fields| !fields.is_empty())
        else {
            return Ok(false);
        };
        scratch.changed.clear();
        scratch.changed.extend(
            scratch
                .fingerprints
                .iter()
                .enumerate()
                .map(|(n, f)| base_fields.get(n) != Some(*f)),
        );
        fields::changed_bytes(
            self.keys,
            value,
            &scratch.changed,
            self.item,
            &mut scratch.ends,
        )?;
        // Both walks see the same fields; should they not, the item is written whole.
        if scratch.ends.len() != scratch.changed.iter().filter(|c| **c).count() {
            return Ok(false);
        }
        let mut ends = scratch.ends.iter();
        let mut start = 0;
        let mut entries = Vec::with_capacity(scratch.changed.len());
        for (n, changed) in scratch.changed.iter().enumerate() {
            if *changed {
                let end = *ends.next().ok_or("a changed field not written")?;
                entries.push(Entry::Bytes(&self.item[start..end]));
                start = end;
            } else {
                entries.push(Entry::Copy(u32::try_from(n).map_err(|e| e.to_string())?));
            }
        }
        self.patch.patched(index, &entries);
        Ok(true)
    }
}

impl Sink for DeltaSink<'_> {
    fn begin(&mut self, section: Section, _shape: Shape, _count: usize) -> Result<(), String> {
        self.section = section;
        self.patch.clear();
        if section == Section::Processes {
            self.written.section_begun();
        }
        Ok(())
    }

    fn item<T: Serialize + ?Sized>(&mut self, key: Option<&str>, value: &T) -> Result<(), String> {
        let fingerprint = item_print(self.keys, key, value, &mut self.scratch.fingerprints)?;
        self.item_printed(fingerprint, true, key, value)
    }

    fn process(&mut self, sample: &ProcessSample) -> Result<(), String> {
        let fingerprint = self.prints.fingerprint(self.keys, sample)?;
        self.item_printed(fingerprint, false, None, sample)
    }

    fn cgroup(&mut self, sample: &CgroupSample) -> Result<(), String> {
        let fingerprints = &mut self.scratch.fingerprints;
        let fingerprint = cgroup_print(self.part_prints, self.keys, sample, fingerprints)?;
        self.item_printed(fingerprint, true, None, sample)
    }

    fn container(&mut self, sample: &ContainerSample) -> Result<(), String> {
        let fingerprints = &mut self.scratch.fingerprints;
        let fingerprint = container_print(self.part_prints, self.keys, sample, fingerprints)?;
        self.item_printed(fingerprint, true, None, sample)
    }

    fn namespaces(&mut self, table: &Arc<NamespaceTable>) -> Result<(), String> {
        // Same table, same keyframe (the encoder forgets the section at each keyframe): same
        // section.
        if let Some(bytes) = self.namespaces.as_ref().and_then(|last| last.of(table)) {
            self.payload.extend_from_slice(bytes);
            return Ok(());
        }
        let start = self.payload.len();
        sections::list(self, Section::Namespaces, &table.namespaces)?;
        let bytes = self
            .payload
            .get(start..)
            .ok_or("a section shorter than nothing")?;
        *self.namespaces = Some(LastSection::new(table, bytes));
        Ok(())
    }

    fn end(&mut self) -> Result<(), String> {
        self.patch.finish(self.patch_bytes);
        if self.section == Section::Processes {
            self.written.section_done(self.patch);
        }
        let compressor = match self.compressor {
            Some(compressor) => compressor,
            None => self.compressor.insert(PatchCompressor::new()?),
        };
        if let Some(raw) = self.base.raw.as_ref() {
            let prefix = &raw[self.section as usize];
            let compressed = compress_with_prefix(self.patch_bytes, prefix)?;
            self.payload.push(MODE_PATCH_PREFIX);
            return push_section(&mut self.payload, &compressed);
        }
        let compressed = compressor.compress(self.patch_bytes)?;
        self.payload.push(MODE_PATCH);
        push_section(&mut self.payload, &compressed)
    }
}

/// The deltas' patches' zstd context, kept from tick to tick, its match finder's tables
/// bounded: zstd sizes a context from the level and the source's size (level 3 on a patch of a
/// few hundred KB: 2^17 hash and 2^16 chain entries beside a 128 KiB block's buffers, ~1.3 MB
/// held for the encoder's life). A patch is mostly bytes seen once (changed fields, copy
/// runs): 2^14 entries each find its repeats as well — the same bytes within 1 % on the
/// population's patches (bench/profiles/ringmem.md) — in ~0.65 MB. The window stays 128 KiB:
/// 64 KiB made the networks' patches a quarter larger.
pub(super) struct PatchCompressor(zstd::zstd_safe::CCtx<'static>);

impl std::fmt::Debug for PatchCompressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatchCompressor")
            .field("bytes", &self.0.sizeof())
            .finish()
    }
}

/// The patch context's window and largest block, log2 bytes.
const PATCH_WINDOW_LOG: u32 = 17;
/// The patch context's match finder's tables, log2 entries (4 bytes each).
const PATCH_HASH_LOG: u32 = 14;
const PATCH_CHAIN_LOG: u32 = 14;

impl PatchCompressor {
    pub(super) fn new() -> Result<PatchCompressor, String> {
        use zstd::zstd_safe::{CCtx, CParameter, get_error_name};
        let mut context = CCtx::try_create().ok_or("zstd could not make a context")?;
        for parameter in [
            CParameter::CompressionLevel(ZSTD_LEVEL),
            CParameter::ChecksumFlag(true),
            CParameter::WindowLog(PATCH_WINDOW_LOG),
            CParameter::HashLog(PATCH_HASH_LOG),
            CParameter::ChainLog(PATCH_CHAIN_LOG),
        ] {
            context
                .set_parameter(parameter)
                .map_err(|code| get_error_name(code).to_string())?;
        }
        Ok(PatchCompressor(context))
    }

    /// `data` as one zstd frame (its content size and checksum written).
    pub(super) fn compress(&mut self, data: &[u8]) -> Result<Vec<u8>, String> {
        use zstd::zstd_safe::{ResetDirective, compress_bound, get_error_name};
        let mut out = Vec::with_capacity(compress_bound(data.len()));
        if let Err(code) = self.0.compress2(&mut out, data) {
            // A failed frame is left open; the next one starts afresh (parameters kept).
            let _ = self.0.reset(ResetDirective::SessionOnly);
            return Err(get_error_name(code).to_string());
        }
        Ok(out)
    }

    /// The context's bytes (`ZSTD_sizeof_CCtx`).
    #[cfg(test)]
    pub(super) fn bytes(&self) -> usize {
        self.0.sizeof()
    }
}

/// `data` compressed with `prefix` as zstd's prefix (its content size and checksum written).
fn compress_with_prefix(data: &[u8], prefix: &[u8]) -> Result<Vec<u8>, String> {
    use zstd::zstd_safe::{CCtx, CParameter, compress_bound, get_error_name};
    let mut context = CCtx::try_create().ok_or("zstd could not make a context")?;
    let zstd_err = |code| get_error_name(code).to_string();
    for parameter in [
        CParameter::CompressionLevel(ZSTD_LEVEL),
        CParameter::ChecksumFlag(true),
        CParameter::ContentSizeFlag(true),
    ] {
        context.set_parameter(parameter).map_err(zstd_err)?;
    }
    context.ref_prefix(prefix).map_err(zstd_err)?;
    let mut out = Vec::with_capacity(compress_bound(data.len()));
    context.compress2(&mut out, data).map_err(zstd_err)?;
    Ok(out)
}
