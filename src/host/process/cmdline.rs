//! [`Cmdline`]: a process's arguments, cleaned, held as one shared `Arc<str>` — each argument
//! followed by a NUL, which no cleaned argument holds (`host::text::clean` turns control
//! characters into `?`). One allocation a command line instead of a `Vec` and a `String` per
//! argument (~150 bytes for `sleep 1000`, 27 now), and the sampler keeps one copy of each
//! distinct line for all the processes that run it (`sample::processes`' interning: thousands
//! of identical workers). It reads as a list of `&str` ([`Cmdline::args`]) and its wire form is
//! a list of strings: recordings, JSON and remote agents see no difference.

use std::fmt;
use std::sync::Arc;

use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::host::text::clean;

/// A process's arguments (see the module).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Cmdline(Arc<str>);

/// Ends each argument in the joined text.
const END: char = '\0';

impl Cmdline {
    /// The arguments of a `/proc/PID/cmdline` (NUL-separated, usually NUL-terminated), each
    /// cleaned for display; none for an empty file (kernel threads, zombies).
    pub fn parse(bytes: &[u8]) -> Cmdline {
        let trimmed = bytes.strip_suffix(&[0]).unwrap_or(bytes);
        if trimmed.is_empty() {
            return Cmdline::default();
        }
        Cmdline::from_args(trimmed.split(|b| *b == 0).map(clean))
    }

    /// Joins already cleaned arguments. A NUL inside one (which cleaning never leaves) is
    /// turned into `?`, so the list reads back as given otherwise.
    pub fn from_args<S: AsRef<str>>(args: impl IntoIterator<Item = S>) -> Cmdline {
        let mut joined = String::new();
        for arg in args {
            joined.extend(arg.as_ref().chars().map(|c| if c == END { '?' } else { c }));
            joined.push(END);
        }
        Cmdline(Arc::from(joined))
    }

    /// The arguments, in order.
    pub fn args(&self) -> impl DoubleEndedIterator<Item = &str> + Clone {
        self.0.split_terminator(END)
    }

    /// No arguments (a kernel thread, a zombie, an unreadable file).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The arguments joined by `separator` (lsns' COMMAND with a space).
    pub fn joined(&self, separator: &str) -> String {
        let mut out = String::with_capacity(self.0.len());
        for (i, arg) in self.args().enumerate() {
            if i > 0 {
                out.push_str(separator);
            }
            out.push_str(arg);
        }
        out
    }

    /// The arguments as owned strings.
    pub fn to_vec(&self) -> Vec<String> {
        self.args().map(str::to_string).collect()
    }

    /// True when no other copy of this one exists (its last holder is this one).
    pub fn is_unshared(&self) -> bool {
        Arc::strong_count(&self.0) == 1
    }

    /// True when both are the same allocation (shared, not merely equal).
    pub fn shares(&self, other: &Cmdline) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Default for Cmdline {
    fn default() -> Cmdline {
        Cmdline(Arc::from(""))
    }
}

impl fmt::Debug for Cmdline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.args()).finish()
    }
}

impl<S: AsRef<str>> PartialEq<[S]> for Cmdline {
    fn eq(&self, other: &[S]) -> bool {
        self.args().eq(other.iter().map(AsRef::as_ref))
    }
}

impl<S: AsRef<str>, const N: usize> PartialEq<[S; N]> for Cmdline {
    fn eq(&self, other: &[S; N]) -> bool {
        *self == other[..]
    }
}

impl<S: AsRef<str>> PartialEq<Vec<S>> for Cmdline {
    fn eq(&self, other: &Vec<S>) -> bool {
        *self == other[..]
    }
}

impl<S: AsRef<str>> From<&[S]> for Cmdline {
    fn from(args: &[S]) -> Cmdline {
        Cmdline::from_args(args)
    }
}

impl From<Vec<String>> for Cmdline {
    fn from(args: Vec<String>) -> Cmdline {
        Cmdline::from_args(args)
    }
}

impl Serialize for Cmdline {
    fn serialize<Z: Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
        let mut seq = s.serialize_seq(Some(self.args().count()))?;
        for arg in self.args() {
            seq.serialize_element(arg)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for Cmdline {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Cmdline, D::Error> {
        Vec::<String>::deserialize(d).map(Cmdline::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cleans_and_reads_back_each_argument() {
        let line = Cmdline::parse(b"sh\0-c\0echo \x1b]0;x\x07\0");
        assert_eq!(line, ["sh", "-c", "echo ?]0;x?"]);
        assert_eq!(line.joined(" "), "sh -c echo ?]0;x?");
        assert!(Cmdline::parse(b"").is_empty() && Cmdline::parse(b"\0").is_empty());
        assert_eq!(Cmdline::parse(b"a\xff"), ["a\u{fffd}"]);
        // Empty arguments stay arguments, also the last one.
        assert_eq!(Cmdline::parse(b"a\0\0b\0"), ["a", "", "b"]);
        assert_eq!(Cmdline::from_args([""]), [""]);
        assert_eq!(Cmdline::from_args(["a", ""]), ["a", ""]);
        assert_ne!(Cmdline::from_args([""]), Cmdline::default());
        assert_eq!(Cmdline::default().args().count(), 0);
        // A stray NUL in a given argument cannot split it.
        assert_eq!(Cmdline::from_args(["a\0b"]), ["a?b"]);
    }

    #[test]
    fn travels_as_a_list_of_strings() {
        let line = Cmdline::from_args(["sleep", "1000"]);
        assert_eq!(serde_json::to_string(&line).unwrap(), r#"["sleep","1000"]"#);
        let back: Cmdline = serde_json::from_str(r#"["sleep","1000"]"#).unwrap();
        assert_eq!(back, line);
        assert!(!back.shares(&line) && line.clone().shares(&line));
        assert_eq!(format!("{line:?}"), r#"["sleep", "1000"]"#);
        let empty: Cmdline = serde_json::from_str("[]").unwrap();
        assert!(empty.is_empty());
        assert_eq!(line.to_vec(), vec!["sleep".to_string(), "1000".to_string()]);
    }
}
