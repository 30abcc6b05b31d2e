//! [`Comm`]: a process's `comm`, cleaned, held as a shared `Arc<str>` so a record's copy (the
//! sampler copies a record a frame still holds when it changes) costs no string allocation and
//! the sampler keeps one string per distinct name (thousands of `sleep`s, `kworker/…`s). It
//! reads as a `&str` (deref, `==` with string types, `Display`) and its wire form is a plain
//! string: recordings, JSON and remote agents see no difference.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A process's `comm` (see the module).
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Comm(Arc<str>);

impl Comm {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when no other copy of this one exists (its last holder is this one).
    pub fn is_unshared(&self) -> bool {
        Arc::strong_count(&self.0) == 1
    }

    /// True when both are the same allocation (shared, not merely equal).
    pub fn shares(&self, other: &Comm) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Deref for Comm {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Comm {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Comm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Comm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl From<String> for Comm {
    fn from(text: String) -> Comm {
        Comm(Arc::from(text))
    }
}

impl From<&str> for Comm {
    fn from(text: &str) -> Comm {
        Comm(Arc::from(text))
    }
}

impl From<Comm> for String {
    fn from(comm: Comm) -> String {
        comm.0.to_string()
    }
}

impl PartialEq<str> for Comm {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for Comm {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for Comm {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<Comm> for String {
    fn eq(&self, other: &Comm) -> bool {
        **self == *other.0
    }
}

impl PartialEq<Comm> for &str {
    fn eq(&self, other: &Comm) -> bool {
        **self == *other.0
    }
}

impl Serialize for Comm {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Comm {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Comm, D::Error> {
        String::deserialize(d).map(Comm::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_travels_as_a_plain_string() {
        let comm = Comm::from("sleep");
        assert_eq!(comm, "sleep");
        assert_eq!(comm, *"sleep");
        assert_eq!(comm, "sleep".to_string());
        assert_eq!("sleep".to_string(), comm);
        assert_eq!(format!("[{comm}] {comm:?}"), "[sleep] \"sleep\"");
        assert!(comm.starts_with("sl") && Comm::default().is_empty() && !comm.is_empty());
        assert_eq!(serde_json::to_string(&comm).unwrap(), "\"sleep\"");
        let back: Comm = serde_json::from_str("\"sleep\"").unwrap();
        assert_eq!(back, comm);
        assert!(!back.shares(&comm) && comm.clone().shares(&comm));
        assert_eq!(String::from(comm), "sleep");
    }
}
