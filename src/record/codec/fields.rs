//! An item's fields one by one: each field's fingerprint, and the MessagePack of the fields that
//! changed — so a container whose uptime alone moved is written as that one field, the rest
//! copied from its keyframe's item (`patch`'s nested operation).
//!
//! Contract: an item that serializes as a struct or a map (named fields, flattened ones
//! included) has fields, in the order it writes them — field `i` here is entry `i` of its
//! MessagePack map; anything else has none ([`fingerprints`] says `false`). A field's fingerprint
//! is of its key and its value (`fingerprint::Incremental`); [`changed_bytes`] writes the
//! entries (key, value) of the fields `changed` marks, one after another, noting where each ends.
//! [`FieldTable`] keeps a keyframe's items' fields' fingerprints, item after item.

use super::HashMap;
use super::fingerprint::Keys as RandomState;

use serde::Serialize;
use serde::ser::{self, Impossible, SerializeMap, SerializeStruct};

use super::fingerprint::{Incremental, Refused};

/// Fills `out` with `value`'s fields' fingerprints; `false` when it has no fields.
pub(crate) fn fingerprints<T: Serialize + ?Sized>(
    keys: &RandomState,
    value: &T,
    out: &mut Vec<u64>,
) -> bool {
    out.clear();
    let mut splitter = Splitter {
        keys,
        fingerprints: Some(out),
        emit: None,
        index: 0,
        pending: None,
    };
    value.serialize(&mut splitter).is_ok()
}

/// Writes into `out` the entries of the fields `changed` marks, their ends into `ends`.
pub(crate) fn changed_bytes<T: Serialize + ?Sized>(
    keys: &RandomState,
    value: &T,
    changed: &[bool],
    out: &mut Vec<u8>,
    ends: &mut Vec<usize>,
) -> Result<(), String> {
    out.clear();
    ends.clear();
    let mut splitter = Splitter {
        keys,
        fingerprints: None,
        emit: Some(Emit { changed, out, ends }),
        index: 0,
        pending: None,
    };
    value.serialize(&mut splitter).map_err(|e| e.to_string())
}

struct Emit<'a> {
    changed: &'a [bool],
    out: &'a mut Vec<u8>,
    ends: &'a mut Vec<usize>,
}

struct Splitter<'a> {
    keys: &'a RandomState,
    fingerprints: Option<&'a mut Vec<u64>>,
    emit: Option<Emit<'a>>,
    index: usize,
    /// A map's key seen, its value not yet: the fingerprint begun.
    pending: Option<Incremental>,
}

fn refuse(what: &str) -> Refused {
    <Refused as ser::Error>::custom(format!("{what}: not a map"))
}

impl Splitter<'_> {
    fn wanted(&self) -> bool {
        self.emit
            .as_ref()
            .is_some_and(|e| e.changed.get(self.index).copied().unwrap_or(true))
    }

    fn key<K: Serialize + ?Sized>(&mut self, key: &K) -> Result<(), Refused> {
        if self.fingerprints.is_some() {
            let mut hash = Incremental::new(self.keys);
            hash.add(key).map_err(<Refused as ser::Error>::custom)?;
            self.pending = Some(hash);
        }
        if self.wanted()
            && let Some(emit) = self.emit.as_mut()
        {
            key.serialize(&mut rmp_serde::Serializer::new(&mut *emit.out).with_struct_map())
                .map_err(<Refused as ser::Error>::custom)?;
        }
        Ok(())
    }

    fn value<V: Serialize + ?Sized>(&mut self, value: &V) -> Result<(), Refused> {
        if let Some(fingerprints) = self.fingerprints.as_mut() {
            let mut hash = self
                .pending
                .take()
                .ok_or_else(|| refuse("a value without its key"))?;
            hash.add(value).map_err(<Refused as ser::Error>::custom)?;
            fingerprints.push(hash.finish());
        }
        if self.wanted()
            && let Some(emit) = self.emit.as_mut()
        {
            value
                .serialize(&mut rmp_serde::Serializer::new(&mut *emit.out).with_struct_map())
                .map_err(<Refused as ser::Error>::custom)?;
            emit.ends.push(emit.out.len());
        }
        self.index += 1;
        Ok(())
    }
}

impl ser::Serializer for &mut Splitter<'_> {
    type Ok = ();
    type Error = Refused;
    type SerializeSeq = Impossible<(), Refused>;
    type SerializeTuple = Impossible<(), Refused>;
    type SerializeTupleStruct = Impossible<(), Refused>;
    type SerializeTupleVariant = Impossible<(), Refused>;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), Refused>;

    fn serialize_map(self, _len: Option<usize>) -> Result<Self, Refused> {
        Ok(self)
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self, Refused> {
        Ok(self)
    }

    fn serialize_bool(self, _: bool) -> Result<(), Refused> {
        Err(refuse("a bool"))
    }
    fn serialize_i8(self, _: i8) -> Result<(), Refused> {
        Err(refuse("a number"))
    }
    fn serialize_i16(self, _: i16) -> Result<(), Refused> {
        Err(refuse("a number"))
    }
    fn serialize_i32(self, _: i32) -> Result<(), Refused> {
        Err(refuse("a number"))
    }
    fn serialize_i64(self, _: i64) -> Result<(), Refused> {
        Err(refuse("a number"))
    }
    fn serialize_u8(self, _: u8) -> Result<(), Refused> {
        Err(refuse("a number"))
    }
    fn serialize_u16(self, _: u16) -> Result<(), Refused> {
        Err(refuse("a number"))
    }
    fn serialize_u32(self, _: u32) -> Result<(), Refused> {
        Err(refuse("a number"))
    }
    fn serialize_u64(self, _: u64) -> Result<(), Refused> {
        Err(refuse("a number"))
    }
    fn serialize_f32(self, _: f32) -> Result<(), Refused> {
        Err(refuse("a number"))
    }
    fn serialize_f64(self, _: f64) -> Result<(), Refused> {
        Err(refuse("a number"))
    }
    fn serialize_char(self, _: char) -> Result<(), Refused> {
        Err(refuse("a char"))
    }
    fn serialize_str(self, _: &str) -> Result<(), Refused> {
        Err(refuse("a string"))
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Refused> {
        Err(refuse("bytes"))
    }
    fn serialize_none(self) -> Result<(), Refused> {
        Err(refuse("an option"))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Refused> {
        // MessagePack writes `Some(v)` as `v`: a present map's fields are its entries.
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Refused> {
        Err(refuse("a unit"))
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Refused> {
        Err(refuse("a unit"))
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<(), Refused> {
        Err(refuse("a variant"))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<(), Refused> {
        Err(refuse("a newtype"))
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Refused> {
        Err(refuse("a variant"))
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Refused> {
        Err(refuse("a list"))
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Refused> {
        Err(refuse("a tuple"))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Refused> {
        Err(refuse("a tuple"))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Refused> {
        Err(refuse("a variant"))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Refused> {
        Err(refuse("a variant"))
    }
}

impl SerializeStruct for &mut Splitter<'_> {
    type Ok = ();
    type Error = Refused;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Refused> {
        // A struct's field names are written as a map's string keys are.
        self.key(key)?;
        self.value(value)
    }
    fn end(self) -> Result<(), Refused> {
        Ok(())
    }
}

impl SerializeMap for &mut Splitter<'_> {
    type Ok = ();
    type Error = Refused;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Refused> {
        self.key(key)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Refused> {
        self.value(value)
    }
    fn end(self) -> Result<(), Refused> {
        Ok(())
    }
}

/// The keyframe items' fields' fingerprints, item after item in one allocation (a `Vec` per
/// item cost 40 bytes of header and allocator slack beside a process's 136 bytes).
///
/// A changed item is written as its changed fields when the keyframe has an item of its
/// identity, the others copied from that item (`patch`'s nested operation): a changed item
/// changes a little (a container's uptime, a process's cpu time and rate: 3 of its 17 fields,
/// ~40 of its ~800 bytes; the head's host summary), and written whole it is its command line,
/// namespaces and cgroup list again — on a small host whole items made a delta near its
/// keyframe's size. The cost is these fingerprints. Most fields hold what many items hold (a
/// user, a command line, a namespace set, a cpu time of 0): 11,688 processes had 198,696
/// fields of 14,156 distinct fingerprints, so each distinct fingerprint is kept once and a
/// field is its index there — 2 bytes while there are at most 65,536 of them, else 4 (~0.5 MB
/// where 8 bytes a field were 1.6 MB).
#[derive(Debug, Default)]
pub(super) struct FieldTable {
    /// Where each item's fields begin in `fields`; the next item's start ends them.
    pub(super) starts: Vec<u32>,
    /// Each field, as its fingerprint's index in `distinct`.
    fields: Indexes,
    /// Each distinct fingerprint once.
    distinct: Vec<u64>,
    /// While the keyframe is made: each fingerprint's index in `distinct` (emptied by
    /// [`FieldTable::finish`]).
    index_of: HashMap<u64, u32>,
}

/// The fields' indexes into the distinct fingerprints: narrow while they fit.
#[derive(Debug)]
enum Indexes {
    Narrow(Vec<u16>),
    Wide(Vec<u32>),
}

impl Default for Indexes {
    fn default() -> Self {
        Indexes::Narrow(Vec::new())
    }
}

impl Indexes {
    fn len(&self) -> usize {
        match self {
            Indexes::Narrow(indexes) => indexes.len(),
            Indexes::Wide(indexes) => indexes.len(),
        }
    }

    fn get(&self, at: usize) -> Option<u32> {
        match self {
            Indexes::Narrow(indexes) => indexes.get(at).copied().map(u32::from),
            Indexes::Wide(indexes) => indexes.get(at).copied(),
        }
    }

    fn push(&mut self, index: u32) {
        match self {
            Indexes::Narrow(indexes) => match u16::try_from(index) {
                Ok(narrow) => indexes.push(narrow),
                Err(_) => {
                    let mut wide: Vec<u32> = indexes.iter().copied().map(u32::from).collect();
                    wide.push(index);
                    *self = Indexes::Wide(wide);
                }
            },
            Indexes::Wide(indexes) => indexes.push(index),
        }
    }

    fn shrink_to_fit(&mut self) {
        match self {
            Indexes::Narrow(indexes) => indexes.shrink_to_fit(),
            Indexes::Wide(indexes) => indexes.shrink_to_fit(),
        }
    }

    #[cfg(test)]
    fn held_bytes(&self) -> usize {
        match self {
            Indexes::Narrow(indexes) => indexes.capacity() * 2,
            Indexes::Wide(indexes) => indexes.capacity() * 4,
        }
    }
}

/// One item's fields' fingerprints in a [`FieldTable`].
#[derive(Debug, Clone, Copy)]
pub(super) struct Fields<'a> {
    table: &'a FieldTable,
    start: usize,
    end: usize,
}

impl Fields<'_> {
    pub(super) fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Field `n`'s fingerprint, if the item has that many fields.
    pub(super) fn get(&self, n: usize) -> Option<u64> {
        let at = self.start.checked_add(n).filter(|at| *at < self.end)?;
        let index = self.table.fields.get(at)?;
        self.table.distinct.get(index as usize).copied()
    }
}

impl FieldTable {
    pub(super) fn push(&mut self, fields: &[u64]) -> Result<(), String> {
        let start = u32::try_from(self.fields.len()).map_err(|e| e.to_string())?;
        self.starts.push(start);
        for fingerprint in fields {
            let index = match self.index_of.get(fingerprint) {
                Some(index) => *index,
                None => {
                    let index = u32::try_from(self.distinct.len()).map_err(|e| e.to_string())?;
                    self.distinct.push(*fingerprint);
                    self.index_of.insert(*fingerprint, index);
                    index
                }
            };
            self.fields.push(index);
        }
        Ok(())
    }

    /// The keyframe's section is made: the look-up of distinct fingerprints goes, and the room
    /// left by growing (the table is kept as it is until the next keyframe).
    pub(super) fn finish(&mut self) {
        self.index_of = HashMap::default();
        self.starts.shrink_to_fit();
        self.fields.shrink_to_fit();
        self.distinct.shrink_to_fit();
    }

    /// Bytes held (capacity), for tests of its bound.
    #[cfg(test)]
    pub(super) fn held_bytes(&self) -> usize {
        self.starts.capacity() * std::mem::size_of::<u32>()
            + self.fields.held_bytes()
            + self.distinct.capacity() * std::mem::size_of::<u64>()
            + self.index_of.capacity() * (std::mem::size_of::<(u64, u32)>() + 1)
    }

    /// Fields held: their count and the distinct fingerprints among them (tests).
    #[cfg(test)]
    pub(super) fn counts(&self) -> (usize, usize) {
        (self.fields.len(), self.distinct.len())
    }

    /// Item `index`'s fields' fingerprints.
    pub(super) fn get(&self, index: usize) -> Option<Fields<'_>> {
        let start = *self.starts.get(index)? as usize;
        let end = self
            .starts
            .get(index + 1)
            .map_or(self.fields.len(), |end| *end as usize);
        (start <= end && end <= self.fields.len()).then_some(Fields {
            table: self,
            start,
            end,
        })
    }
}
