//! A value's fingerprint: a 64-bit keyed hash (foldhash's quality hasher, seeded at random per
//! encoder: a walk feeds it many small writes, where it costs a fraction of std's SipHash — the
//! SipHash walk was 58 % of the dump ring's thread on the 11,700-process population) of everything its `Serialize` says — every field, string, number, variant and length —
//! computed without writing the value anywhere. The encoder compares a frame's items with its
//! keyframe's by fingerprint, so an unchanged process costs one walk of its fields rather than
//! its MessagePack (a frame of 11,700 processes is 14 MB of it).
//!
//! Contract: two values that serialize alike (same fields, same values, in the same order) have
//! the same fingerprint; two that differ have the same one with odds of 2^-64 per pair (the keys
//! are random per encoder, so a stranger cannot craft a collision). Field names are not hashed:
//! the items compared are of one type. Every length and variant index is hashed before what it
//! counts, so `["ab"]` and `["a", "b"]` differ.

use std::hash::{BuildHasher, Hasher};

use serde::Serialize;
use serde::ser::{
    self, SerializeMap, SerializeSeq, SerializeStruct, SerializeStructVariant, SerializeTuple,
    SerializeTupleStruct, SerializeTupleVariant,
};

/// The encoder's random keys.
pub(crate) type Keys = foldhash::quality::RandomState;

/// The fingerprint of `value` under `keys` (see the module).
pub(crate) fn fingerprint<T: Serialize + ?Sized>(keys: &Keys, value: &T) -> Result<u64, String> {
    let mut walker = Walker(keys.build_hasher());
    value.serialize(&mut walker).map_err(|e| e.0)?;
    Ok(walker.0.finish())
}

/// Feeds what a value serializes into the hasher.
struct Walker(foldhash::quality::FoldHasher<'static>);

/// A value that refused to serialize (its own `Serialize` said so).
#[derive(Debug)]
pub(crate) struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

impl ser::Error for Refused {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Refused(msg.to_string())
    }
}

/// Tags that keep different shapes apart (an absent option from a unit, a map from a list).
mod tag {
    pub(super) const NONE: u8 = 0;
    pub(super) const SOME: u8 = 1;
    pub(super) const UNIT: u8 = 2;
    pub(super) const SEQ: u8 = 3;
    pub(super) const MAP: u8 = 4;
    pub(super) const UNKNOWN_LEN: u64 = u64::MAX;
}

impl Walker {
    fn len(&mut self, len: Option<usize>) {
        self.0.write_u64(len.map_or(tag::UNKNOWN_LEN, |l| l as u64));
    }
}

type Done = Result<(), Refused>;

/// `serialize_N(v: T) -> hasher.write_W(v widened)` for each integer type.
macro_rules! integers {
    ($($method:ident($ty:ty) => $write:ident),* $(,)?) => {
        $(fn $method(self, v: $ty) -> Done {
            self.0.$write(v.into());
            Ok(())
        })*
    };
}

impl ser::Serializer for &mut Walker {
    type Ok = ();
    type Error = Refused;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    fn serialize_bool(self, v: bool) -> Done {
        self.0.write_u8(u8::from(v));
        Ok(())
    }
    // Every integer widened: a field's type is the same in both items compared.
    integers! {
        serialize_i8(i8) => write_i64, serialize_i16(i16) => write_i64,
        serialize_i32(i32) => write_i64, serialize_i64(i64) => write_i64,
        serialize_i128(i128) => write_i128, serialize_u8(u8) => write_u64,
        serialize_u16(u16) => write_u64, serialize_u32(u32) => write_u64,
        serialize_u64(u64) => write_u64, serialize_u128(u128) => write_u128,
    }
    fn serialize_f32(self, v: f32) -> Done {
        self.0.write_u32(v.to_bits());
        Ok(())
    }
    fn serialize_f64(self, v: f64) -> Done {
        self.0.write_u64(v.to_bits());
        Ok(())
    }
    fn serialize_char(self, v: char) -> Done {
        self.0.write_u32(v.into());
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Done {
        self.serialize_bytes(v.as_bytes())
    }
    fn serialize_bytes(self, v: &[u8]) -> Done {
        self.len(Some(v.len()));
        self.0.write(v);
        Ok(())
    }
    fn serialize_none(self) -> Done {
        self.0.write_u8(tag::NONE);
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Done {
        self.0.write_u8(tag::SOME);
        value.serialize(self)
    }
    fn serialize_unit(self) -> Done {
        self.0.write_u8(tag::UNIT);
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Done {
        self.serialize_unit()
    }
    fn serialize_unit_variant(self, _name: &'static str, index: u32, _v: &'static str) -> Done {
        self.0.write_u32(index);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Done {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        index: u32,
        _variant: &'static str,
        value: &T,
    ) -> Done {
        self.0.write_u32(index);
        value.serialize(self)
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Self, Refused> {
        self.0.write_u8(tag::SEQ);
        self.len(len);
        Ok(self)
    }
    fn serialize_tuple(self, len: usize) -> Result<Self, Refused> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Self, Refused> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        index: u32,
        _variant: &'static str,
        len: usize,
    ) -> Result<Self, Refused> {
        self.0.write_u32(index);
        self.serialize_seq(Some(len))
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Self, Refused> {
        self.0.write_u8(tag::MAP);
        self.len(len);
        Ok(self)
    }
    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Self, Refused> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        index: u32,
        _variant: &'static str,
        len: usize,
    ) -> Result<Self, Refused> {
        self.0.write_u32(index);
        self.serialize_map(Some(len))
    }
}

impl SerializeSeq for &mut Walker {
    type Ok = ();
    type Error = Refused;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Done {
        value.serialize(&mut **self)
    }
    fn end(self) -> Done {
        self.0.write_u8(tag::SEQ);
        Ok(())
    }
}

impl SerializeTuple for &mut Walker {
    type Ok = ();
    type Error = Refused;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Done {
        value.serialize(&mut **self)
    }
    fn end(self) -> Done {
        self.0.write_u8(tag::SEQ);
        Ok(())
    }
}

impl SerializeTupleStruct for &mut Walker {
    type Ok = ();
    type Error = Refused;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Done {
        value.serialize(&mut **self)
    }
    fn end(self) -> Done {
        self.0.write_u8(tag::SEQ);
        Ok(())
    }
}

impl SerializeTupleVariant for &mut Walker {
    type Ok = ();
    type Error = Refused;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Done {
        value.serialize(&mut **self)
    }
    fn end(self) -> Done {
        self.0.write_u8(tag::SEQ);
        Ok(())
    }
}

impl SerializeMap for &mut Walker {
    type Ok = ();
    type Error = Refused;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Done {
        key.serialize(&mut **self)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Done {
        value.serialize(&mut **self)
    }
    fn end(self) -> Done {
        self.0.write_u8(tag::MAP);
        Ok(())
    }
}

impl SerializeStruct for &mut Walker {
    type Ok = ();
    type Error = Refused;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, _key: &'static str, value: &T) -> Done {
        value.serialize(&mut **self)
    }
    fn skip_field(&mut self, _key: &'static str) -> Done {
        // A field left out (`skip_serializing_if`) is not the same as one written empty.
        self.0.write_u8(tag::NONE);
        Ok(())
    }
    fn end(self) -> Done {
        self.0.write_u8(tag::MAP);
        Ok(())
    }
}

impl SerializeStructVariant for &mut Walker {
    type Ok = ();
    type Error = Refused;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, _key: &'static str, value: &T) -> Done {
        value.serialize(&mut **self)
    }
    fn skip_field(&mut self, _key: &'static str) -> Done {
        self.0.write_u8(tag::NONE);
        Ok(())
    }
    fn end(self) -> Done {
        self.0.write_u8(tag::MAP);
        Ok(())
    }
}

/// A fingerprint of several values one after another (a map entry's key, then its value).
pub(crate) struct Incremental(Walker);

impl Incremental {
    pub(crate) fn new(keys: &Keys) -> Incremental {
        Incremental(Walker(keys.build_hasher()))
    }

    /// Adds `value`'s walk.
    pub(crate) fn add<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), String> {
        value.serialize(&mut self.0).map_err(|e| e.0)
    }

    pub(crate) fn finish(&self) -> u64 {
        self.0.0.finish()
    }
}
