//! `Limit<T>`: a cgroup limit is either unlimited (`Max`) or a value — never `-1` or a magic
//! huge number. Serialized as the string `"max"` or the bare number, the way cgroup v2 writes it.
//! Shown (`Display`: `max` or the value) by [`crate::units::limit`], the showing side, so this
//! reader depends on nothing that draws.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A limit of a cgroup a container shares with other processes (the host's root, or a
/// cgroup others are in too): it binds the container together with them, so it is shown as
/// inherited (`max (host)`, `1.0GiB (shared)`), never as the container's own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InheritedLimit<T> {
    pub limit: Limit<T>,
    /// The shared cgroup's path (`/` for the root).
    pub cgroup: String,
}

/// A limit as the kernel enforces it: unlimited or a value in the unit its field name says.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub enum Limit<T> {
    /// No limit (v2 `max`; v1 `-1` or the page-counter maximum).
    Max,
    Value(T),
}

impl<T> Limit<T> {
    /// The value, or `None` when unlimited.
    pub fn value(&self) -> Option<&T> {
        match self {
            Limit::Max => None,
            Limit::Value(v) => Some(v),
        }
    }

    pub fn is_max(&self) -> bool {
        matches!(self, Limit::Max)
    }

    /// Converts the value, keeping `Max`.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Limit<U> {
        match self {
            Limit::Max => Limit::Max,
            Limit::Value(v) => Limit::Value(f(v)),
        }
    }
}

impl<T: Serialize> Serialize for Limit<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Limit::Max => serializer.serialize_str("max"),
            Limit::Value(v) => v.serialize(serializer),
        }
    }
}

/// The inverse of [`Serialize`]: `"max"` or the value (frames read back from a remote agent
/// or a recording).
impl<'de, T: Deserialize<'de>> Deserialize<'de> for Limit<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Shown<T> {
            Word(String),
            Value(T),
        }
        match Shown::deserialize(deserializer)? {
            Shown::Value(v) => Ok(Limit::Value(v)),
            Shown::Word(w) if w == "max" => Ok(Limit::Max),
            Shown::Word(w) => Err(serde::de::Error::custom(format!(
                "a limit is \"max\" or a number, not {w:?}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_as_max_or_number() {
        assert_eq!(
            serde_json::to_string(&Limit::<u64>::Max).unwrap(),
            "\"max\""
        );
        assert_eq!(
            serde_json::to_string(&Limit::Value(20_000u64)).unwrap(),
            "20000"
        );
        assert_eq!(Limit::Value(3u64).map(|v| v * 2), Limit::Value(6));
        assert!(Limit::<u64>::Max.map(|v| v * 2).is_max());
        assert_eq!(Limit::Value(5u64).value(), Some(&5));
    }
}
