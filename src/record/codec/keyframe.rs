//! The keyframe's writer: each section's items into a zstd stream of their own, each item's
//! fingerprint, its fields' and its identity noted for the deltas against it (see the parent
//! module's contract).

use super::*;

/// Writes a keyframe: each section's items into a zstd stream of their own, each item's
/// fingerprint noted.
pub(super) struct KeyframeSink<'a> {
    pub(super) payload: Vec<u8>,
    pub(super) items: [HashMap<u64, u32>; SECTIONS],
    pub(super) fields: [FieldTable; SECTIONS],
    pub(super) identity: [HashMap<u64, u32>; SECTIONS],
    /// The sections' MessagePack while it is small ([`SMALL_KEYFRAME_RAW`]); `None` past that.
    pub(super) raw: Option<[Vec<u8>; SECTIONS]>,
    /// One item's fields' fingerprints, kept between items.
    pub(super) scratch: Vec<u64>,
    pub(super) section: Section,
    pub(super) stream: Option<zstd::stream::write::Encoder<'static, Vec<u8>>>,
    pub(super) keys: &'a RandomState,
    pub(super) item: &'a mut Vec<u8>,
    pub(super) prints: &'a mut ProcessPrints,
    pub(super) part_prints: &'a mut PartPrints,
}

impl KeyframeSink<'_> {
    /// Appends the bytes just made (`item`) to `section`'s raw copy while the keyframe is small.
    fn keep_raw(&mut self, section: Section) {
        let kept: usize = self.raw.iter().flatten().map(Vec::len).sum();
        if kept + self.item.len() > SMALL_KEYFRAME_RAW {
            self.raw = None;
        } else if let Some(raw) = self.raw.as_mut() {
            raw[section as usize].extend_from_slice(self.item);
        }
    }
}

impl Sink for KeyframeSink<'_> {
    fn begin(&mut self, section: Section, shape: Shape, count: usize) -> Result<(), String> {
        use std::io::Write;
        use zstd::zstd_safe::CParameter;
        let mut stream =
            zstd::stream::write::Encoder::new(Vec::new(), ZSTD_LEVEL).map_err(|e| e.to_string())?;
        for parameter in [
            CParameter::ChecksumFlag(true),
            CParameter::WindowLog(KEYFRAME_WINDOW_LOG),
        ] {
            stream.set_parameter(parameter).map_err(|e| e.to_string())?;
        }
        self.item.clear();
        patch::write_header(self.item, shape, count)?;
        stream.write_all(self.item).map_err(|e| e.to_string())?;
        self.keep_raw(section);
        self.items[section as usize] = HashMap::with_capacity_and_hasher(count, Default::default());
        self.identity[section as usize] =
            HashMap::with_capacity_and_hasher(count, Default::default());
        self.fields[section as usize].starts.reserve(count);
        self.section = section;
        self.stream = Some(stream);
        Ok(())
    }

    fn item<T: Serialize + ?Sized>(&mut self, key: Option<&str>, value: &T) -> Result<(), String> {
        let fingerprint = item_print(self.keys, key, value, &mut self.scratch)?;
        self.item_printed(fingerprint, true, key, value)
    }

    fn process(&mut self, sample: &ProcessSample) -> Result<(), String> {
        let fingerprint = self.prints.fingerprint(self.keys, sample)?;
        self.item_printed(fingerprint, false, None, sample)
    }

    fn cgroup(&mut self, sample: &CgroupSample) -> Result<(), String> {
        let fingerprint = cgroup_print(self.part_prints, self.keys, sample, &mut self.scratch)?;
        self.item_printed(fingerprint, true, None, sample)
    }

    fn container(&mut self, sample: &ContainerSample) -> Result<(), String> {
        let fingerprint = container_print(self.part_prints, self.keys, sample, &mut self.scratch)?;
        self.item_printed(fingerprint, true, None, sample)
    }

    fn end(&mut self) -> Result<(), String> {
        let stream = self.stream.take().ok_or("a section ended twice")?;
        let compressed = stream.finish().map_err(|e| e.to_string())?;
        // Kept until the next keyframe: no room left from growing, no look-up table.
        self.fields[self.section as usize].finish();
        push_section(&mut self.payload, &compressed)
    }
}

impl KeyframeSink<'_> {
    /// The section's next item, its fingerprint known.
    /// `fields_known`: `scratch` holds the item's fields' fingerprints already.
    fn item_printed<T: Serialize + ?Sized>(
        &mut self,
        fingerprint: u64,
        fields_known: bool,
        key: Option<&str>,
        value: &T,
    ) -> Result<(), String> {
        use std::io::Write;
        // Every item counts (the fingerprints' map keeps the first of equal items only).
        let index = u32::try_from(self.fields[self.section as usize].starts.len())
            .map_err(|e| e.to_string())?;
        self.items[self.section as usize]
            .entry(fingerprint)
            .or_insert(index);
        let fields = &mut self.scratch;
        if !fields_known && !fields::fingerprints(self.keys, value, fields) {
            fields.clear();
        }
        if let Some(identity) = identity(self.keys, key, fields)? {
            self.identity[self.section as usize]
                .entry(identity)
                .or_insert(index);
        }
        self.fields[self.section as usize].push(fields)?;
        item_bytes(self.item, key, value)?;
        self.keep_raw(self.section);
        self.stream
            .as_mut()
            .ok_or("an item outside a section")?
            .write_all(self.item)
            .map_err(|e| e.to_string())
    }
}
