//! A section as a list of items, and a delta's section as a patch of its keyframe's items.
//!
//! A section of format 3 is one MessagePack array (its items the elements) or map (its items
//! the key-and-value pairs). A **patch** says how a frame's section is made of the keyframe's
//! same section: the new item count (a varint), then operations until that many items are
//! made — `0, start, count` copies `count` items of the keyframe from item `start` on, `1,
//! length, bytes` is one item written out (MessagePack), `2, index, count, operations` is the
//! keyframe's item `index` (a map; in a map section, the item's value, its key kept) patched
//! the same way one level down: `count` entries made
//! of its entries and of entries written out (`fields`: a container whose uptime alone
//! changed is that one field). Applied, it gives the section's bytes
//! exactly as encoding the whole frame would (a MessagePack container is its header and its
//! items one after another), so a delta decodes to the byte-equal frame. A patch that names an
//! item the keyframe does not have, or ends short, is an error, never a panic.

/// The shape of a section: an array of `n` elements or a map of `n` pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Array,
    Map,
}

/// MessagePack nesting deeper than this is refused (no frame nests past a dozen levels).
const MAX_DEPTH: usize = 128;

const OP_COPY: u8 = 0;
const OP_ITEM: u8 = 1;
const OP_PATCHED: u8 = 2;

/// One entry of a patched item: the keyframe item's entry `n`, or bytes written out.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Entry<'a> {
    Copy(u32),
    Bytes(&'a [u8]),
}

/// Appends a container header of `shape` holding `count` items (as rmp writes it: the smallest
/// form).
pub(crate) fn write_header(out: &mut Vec<u8>, shape: Shape, count: usize) -> Result<(), String> {
    let count32 =
        u32::try_from(count).map_err(|_| format!("{count} items do not fit a section"))?;
    let (fix, sixteen, thirty_two) = match shape {
        Shape::Array => (0x90u8, 0xdcu8, 0xddu8),
        Shape::Map => (0x80, 0xde, 0xdf),
    };
    match count32 {
        0..=15 => out.push(fix | count32 as u8),
        16..=0xffff => {
            out.push(sixteen);
            out.extend_from_slice(&(count32 as u16).to_be_bytes());
        }
        _ => {
            out.push(thirty_two);
            out.extend_from_slice(&count32.to_be_bytes());
        }
    }
    Ok(())
}

/// Appends `text` as a MessagePack string (a map item's key).
pub(crate) fn write_str(out: &mut Vec<u8>, text: &str) {
    let len = text.len();
    if len < 32 {
        out.push(0xa0 | len as u8);
    } else if len <= 0xff {
        out.extend_from_slice(&[0xd9, len as u8]);
    } else if len <= 0xffff {
        out.push(0xda);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0xdb);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
    out.extend_from_slice(text.as_bytes());
}

/// A section's items: its shape and each item's bytes.
pub(crate) fn items(section: &[u8]) -> Result<(Shape, Vec<&[u8]>), String> {
    let mut reader = Reader {
        bytes: section,
        at: 0,
    };
    let (shape, count) = reader.header()?;
    let per_item = match shape {
        Shape::Array => 1,
        Shape::Map => 2,
    };
    let mut items = Vec::with_capacity(count.min(section.len()));
    for _ in 0..count {
        let start = reader.at;
        for _ in 0..per_item {
            reader.skip(0)?;
        }
        items.push(&section[start..reader.at]);
    }
    if reader.at != section.len() {
        return Err(format!(
            "{} bytes after the section's last item",
            section.len() - reader.at
        ));
    }
    Ok((shape, items))
}

/// Writes a patch as [`Patch::copy`] and [`Patch::item`] are called, in the new order.
#[derive(Debug, Default)]
pub(crate) struct Patch {
    ops: Vec<u8>,
    /// A run of copies not yet written: its first item and its length.
    run: Option<(u32, u32)>,
    count: usize,
}

impl Patch {
    /// Starts over (the buffer kept).
    pub(crate) fn clear(&mut self) {
        self.ops.clear();
        self.run = None;
        self.count = 0;
    }

    /// The next item is the keyframe's item `index`.
    pub(crate) fn copy(&mut self, index: u32) {
        self.count += 1;
        match &mut self.run {
            Some((start, len)) if *start + *len == index => *len += 1,
            _ => {
                self.flush_run();
                self.run = Some((index, 1));
            }
        }
    }

    /// The next item is `bytes` (MessagePack).
    pub(crate) fn item(&mut self, bytes: &[u8]) {
        self.count += 1;
        self.flush_run();
        self.ops.push(OP_ITEM);
        varint(&mut self.ops, bytes.len() as u64);
        self.ops.extend_from_slice(bytes);
    }

    /// The next item is the keyframe's item `index` with its entries made of `entries`.
    pub(crate) fn patched(&mut self, index: u32, entries: &[Entry<'_>]) {
        self.count += 1;
        self.flush_run();
        self.ops.push(OP_PATCHED);
        varint(&mut self.ops, index.into());
        varint(&mut self.ops, entries.len() as u64);
        let mut inner = Patch {
            ops: std::mem::take(&mut self.ops),
            run: None,
            count: 0,
        };
        for entry in entries {
            match entry {
                Entry::Copy(n) => inner.copy(*n),
                Entry::Bytes(bytes) => inner.item(bytes),
            }
        }
        inner.flush_run();
        self.ops = inner.ops;
    }

    /// Where the next item's operation begins (a run of copies before it written first).
    pub(crate) fn next_op(&mut self) -> usize {
        self.flush_run();
        self.ops.len()
    }

    /// Gives back the room of its buffer past `bytes` (a busy tick's is not kept for the quiet
    /// ones).
    pub(crate) fn shrink_to(&mut self, bytes: usize) {
        self.ops.shrink_to(bytes);
    }

    /// Swaps the operations made with `other` (made by [`Patch::finish`] into its bytes: they
    /// are kept elsewhere, and the patch goes on with `other`'s buffer, emptied at the next
    /// [`Patch::clear`]).
    pub(crate) fn swap_ops(&mut self, other: &mut Vec<u8>) {
        std::mem::swap(&mut self.ops, other);
    }

    /// The next item is `op`, one item's operation as an earlier patch of the same keyframe wrote
    /// it (from [`Patch::next_op`] before the item to it after).
    pub(crate) fn again(&mut self, op: &[u8]) {
        self.count += 1;
        self.flush_run();
        self.ops.extend_from_slice(op);
    }

    fn flush_run(&mut self) {
        if let Some((start, len)) = self.run.take() {
            self.ops.push(OP_COPY);
            varint(&mut self.ops, start.into());
            varint(&mut self.ops, len.into());
        }
    }

    /// The patch's bytes (the count, then the operations) into `out`.
    pub(crate) fn finish(&mut self, out: &mut Vec<u8>) {
        self.flush_run();
        out.clear();
        varint(out, self.count as u64);
        out.extend_from_slice(&self.ops);
    }
}

/// The section `patch` makes of `base` (the keyframe's same section).
pub(crate) fn apply(base: &[u8], patch: &[u8]) -> Result<Vec<u8>, String> {
    let (shape, base_items) = items(base)?;
    let mut reader = Reader {
        bytes: patch,
        at: 0,
    };
    // Never more than the patch and the base could hold: a hostile count cannot reserve more.
    let mut out = Vec::with_capacity(base.len().min(patch.len().saturating_mul(64)) + 8);
    run(&mut reader, shape, &base_items, &mut out, true)?;
    if reader.at != patch.len() {
        return Err(format!("{} bytes after the patch", patch.len() - reader.at));
    }
    Ok(out)
}

/// Reads a count and its operations from `reader`, writing the container they make of
/// `base_items` into `out`; `nested`: a patched item may be among them (one level only).
fn run(
    reader: &mut Reader<'_>,
    shape: Shape,
    base_items: &[&[u8]],
    out: &mut Vec<u8>,
    nested: bool,
) -> Result<(), String> {
    let count = usize::try_from(reader.varint()?).map_err(|e| e.to_string())?;
    write_header(out, shape, count)?;
    let mut made = 0usize;
    while made < count {
        match reader.byte()? {
            OP_COPY => {
                let start = usize::try_from(reader.varint()?).map_err(|e| e.to_string())?;
                let len = usize::try_from(reader.varint()?).map_err(|e| e.to_string())?;
                let copied = start
                    .checked_add(len)
                    .and_then(|end| base_items.get(start..end))
                    .ok_or_else(|| {
                        format!(
                            "a patch copies items {start}+{len} of a keyframe of {}",
                            base_items.len()
                        )
                    })?;
                for item in copied {
                    out.extend_from_slice(item);
                }
                made = made.saturating_add(len);
            }
            OP_ITEM => {
                let len = usize::try_from(reader.varint()?).map_err(|e| e.to_string())?;
                out.extend_from_slice(reader.take(len)?);
                made += 1;
            }
            OP_PATCHED if nested => {
                let index = usize::try_from(reader.varint()?).map_err(|e| e.to_string())?;
                let item = base_items.get(index).ok_or_else(|| {
                    format!(
                        "a patch names item {index} of a keyframe of {}",
                        base_items.len()
                    )
                })?;
                // A map's item is its key, then its value: the value is what is patched.
                let item = match shape {
                    Shape::Array => item,
                    Shape::Map => {
                        let mut key = Reader { bytes: item, at: 0 };
                        key.skip(0)?;
                        out.extend_from_slice(&item[..key.at]);
                        &item[key.at..]
                    }
                };
                let (item_shape, entries) = items(item)?;
                run(reader, item_shape, &entries, out, false)?;
                made += 1;
            }
            other => return Err(format!("a patch operation {other}")),
        }
    }
    if made != count {
        return Err(format!("a patch made {made} of {count} items"));
    }
    Ok(())
}

fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Reads MessagePack and patches, bounds checked.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize) -> Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(len)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| format!("cut short at byte {} (wanted {len} more)", self.at))?;
        let taken = &self.bytes[self.at..end];
        self.at = end;
        Ok(taken)
    }

    fn byte(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn be(&mut self, len: usize) -> Result<u64, String> {
        Ok(self
            .take(len)?
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("a varint longer than 64 bits".to_string())
    }

    /// A container header: its shape and item count.
    fn header(&mut self) -> Result<(Shape, usize), String> {
        let marker = self.byte()?;
        let (shape, count) = match marker {
            0x90..=0x9f => (Shape::Array, u64::from(marker & 0x0f)),
            0xdc => (Shape::Array, self.be(2)?),
            0xdd => (Shape::Array, self.be(4)?),
            0x80..=0x8f => (Shape::Map, u64::from(marker & 0x0f)),
            0xde => (Shape::Map, self.be(2)?),
            0xdf => (Shape::Map, self.be(4)?),
            other => return Err(format!("a section beginning with {other:#04x}")),
        };
        Ok((shape, usize::try_from(count).map_err(|e| e.to_string())?))
    }

    /// Skips one MessagePack value.
    fn skip(&mut self, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(format!("MessagePack nested deeper than {MAX_DEPTH}"));
        }
        let marker = self.byte()?;
        let (skip, values) = match marker {
            0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => (0, 0),
            0x80..=0x8f => (0, 2 * u64::from(marker & 0x0f)),
            0x90..=0x9f => (0, u64::from(marker & 0x0f)),
            0xa0..=0xbf => (u64::from(marker & 0x1f), 0),
            0xc4 | 0xd9 => (self.be(1)?, 0),
            0xc5 | 0xda => (self.be(2)?, 0),
            0xc6 | 0xdb => (self.be(4)?, 0),
            0xc7 => (self.be(1)? + 1, 0),
            0xc8 => (self.be(2)? + 1, 0),
            0xc9 => (self.be(4)? + 1, 0),
            0xcc | 0xd0 => (1, 0),
            0xcd | 0xd1 => (2, 0),
            0xca | 0xce | 0xd2 => (4, 0),
            0xcb | 0xcf | 0xd3 => (8, 0),
            0xd4 => (2, 0),
            0xd5 => (3, 0),
            0xd6 => (5, 0),
            0xd7 => (9, 0),
            0xd8 => (17, 0),
            0xdc => (0, self.be(2)?),
            0xdd => (0, self.be(4)?),
            0xde => (0, 2 * self.be(2)?),
            0xdf => (0, 2 * self.be(4)?),
            0xc1 => return Err("MessagePack marker 0xc1 (never used)".to_string()),
        };
        self.take(usize::try_from(skip).map_err(|e| e.to_string())?)?;
        for _ in 0..values {
            self.skip(depth + 1)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(items: &[serde_json::Value]) -> (Vec<u8>, Vec<Vec<u8>>) {
        let whole = rmp_serde::to_vec_named(items).expect("encodes");
        let each = items
            .iter()
            .map(|i| rmp_serde::to_vec_named(i).expect("encodes"))
            .collect();
        (whole, each)
    }

    #[test]
    fn a_patch_rebuilds_the_section_byte_for_byte() {
        let value = |n: u64| {
            serde_json::json!({"pid": n, "cmd": ["sleep", "x".repeat(n as usize % 40)],
                "cpu": n as f64 / 3.0, "none": null, "big": u64::MAX - n, "neg": -(n as i64)})
        };
        let old: Vec<_> = (0..40).map(value).collect();
        let (base, _) = section(&old);
        let (shape, base_items) = items(&base).expect("splits");
        assert_eq!((shape, base_items.len()), (Shape::Array, 40));
        // Removed 3..6, changed 10, added 100 at the end, moved 20 before 0.
        let mut new: Vec<_> = old.clone();
        new.drain(3..6);
        new[7] = value(1000);
        new.push(value(100));
        new.insert(0, value(20));
        let (want, new_items) = section(&new);
        let mut patch = Patch::default();
        for item in &new_items {
            match base_items.iter().position(|b| b == item) {
                Some(i) => patch.copy(i as u32),
                None => patch.item(item),
            }
        }
        let mut bytes = Vec::new();
        patch.finish(&mut bytes);
        assert_eq!(apply(&base, &bytes).expect("applies"), want);
        // Cut anywhere or pointing past the keyframe: an error, not a panic.
        for cut in 0..bytes.len() {
            assert!(apply(&base, &bytes[..cut]).is_err(), "cut at {cut}");
        }
        // The keyframe's item 8 with its "cpu" entry written anew, the rest copied.
        let mut changed = old[8].clone();
        changed["cpu"] = serde_json::json!(99.5);
        let changed_bytes = rmp_serde::to_vec_named(&changed).expect("encodes");
        let (_, old_entries) = items(base_items[8]).expect("a map");
        let (_, new_entries) = items(&changed_bytes).expect("a map");
        let entries: Vec<Entry<'_>> = new_entries
            .iter()
            .enumerate()
            .map(|(n, e)| {
                if old_entries[n] == *e {
                    Entry::Copy(n as u32)
                } else {
                    Entry::Bytes(e)
                }
            })
            .collect();
        assert!(entries.iter().any(|e| matches!(e, Entry::Bytes(_))));
        let mut nested = Patch::default();
        nested.copy(0);
        nested.patched(8, &entries);
        nested.finish(&mut bytes);
        let want = rmp_serde::to_vec_named(&vec![old[0].clone(), changed]).expect("encodes");
        assert_eq!(apply(&base, &bytes).expect("applies"), want);
        for cut in 0..bytes.len() {
            assert!(apply(&base, &bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut far = Patch::default();
        far.copy(39);
        far.copy(40);
        far.finish(&mut bytes);
        assert!(apply(&base, &bytes).is_err());
        for cut in 0..base.len() {
            assert!(items(&base[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn headers_are_the_ones_rmp_writes() {
        for count in [0usize, 15, 16, 65_535, 65_536] {
            let list = vec![0u8; count];
            let whole = rmp_serde::to_vec(&list).expect("encodes");
            let mut header = Vec::new();
            write_header(&mut header, Shape::Array, count).expect("fits");
            assert_eq!(whole[..header.len()], header[..], "{count}");
        }
        for text in [
            "",
            "pid",
            &"k".repeat(40),
            &"k".repeat(300),
            &"k".repeat(70_000),
        ] {
            let mut mine = Vec::new();
            write_str(&mut mine, text);
            assert_eq!(mine, rmp_serde::to_vec(text).expect("encodes"));
        }
    }
}
