//! [`ContainerId`]: the ids container runtimes generate, and the ONE check that tells such an
//! id from anything else (a name, a path segment, a file a stranger put in a state dir).
//!
//! Contract: a container id is exactly [`ContainerId::LEN`] (64) lowercase hexadecimal digits
//! — 32 random bytes as Docker, Podman, CRI-O, containerd's CRI and isotop's own runtime write
//! them. Upper case is refused, not folded: every runtime encodes ids in lowercase (Go's
//! `hex.EncodeToString`, Rust's `hex::encode`), so the kernel's cgroup paths and the runtimes'
//! state dirs only ever hold the lowercase form. An upper-case id is therefore never one a
//! runtime made — it is a name someone chose (a runc id, a directory a user created) — and
//! accepting it would give the same 32 bytes two spellings, i.e. two directories, two cgroups
//! and two records for what reads as one id. A valid id is safe to join onto a path (no `/`,
//! no `..`, no control characters).

use std::fmt;

use serde::Serialize;

/// A runtime-generated container id: 64 lowercase hex digits (see the module contract).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ContainerId(String);

impl ContainerId {
    /// Characters of a container id (32 bytes in hex).
    pub const LEN: usize = 64;

    /// True when `text` is a container id: exactly 64 characters, each `0-9` or `a-f`.
    pub fn is_valid(text: &str) -> bool {
        is_lower_hex64(text)
    }

    /// `text` as a container id, or `None` when it is not one (see [`ContainerId::is_valid`]).
    pub fn parse(text: &str) -> Option<ContainerId> {
        Self::is_valid(text).then(|| ContainerId(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl AsRef<str> for ContainerId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ContainerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// True for exactly 64 lowercase hex digits: the form of a container id and of a sha256
/// digest alike (both 32 bytes, both written in lowercase by everything that makes them).
pub fn is_lower_hex64(text: &str) -> bool {
    text.len() == ContainerId::LEN
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn a_64_digit_lowercase_hex_id_parses() {
        let id = ContainerId::parse(ID).unwrap();
        assert_eq!(id.as_str(), ID);
        assert_eq!(id.to_string(), ID);
        assert_eq!(serde_json::to_string(&id).unwrap(), format!("\"{ID}\""));
        assert_eq!(id.clone().into_string(), ID);
        assert!(ContainerId::is_valid(&"f".repeat(64)));
        assert!(ContainerId::is_valid(&"0".repeat(64)));
    }

    #[test]
    fn upper_case_is_refused() {
        assert!(ContainerId::parse(&ID.to_uppercase()).is_none());
        // One upper-case digit is enough.
        let mut mixed = ID.to_string();
        mixed.replace_range(63.., "F");
        assert!(!ContainerId::is_valid(&mixed));
    }

    #[test]
    fn wrong_lengths_are_refused() {
        assert!(!ContainerId::is_valid(""));
        assert!(!ContainerId::is_valid(&ID[..63]));
        assert!(!ContainerId::is_valid(&format!("{ID}0")));
        assert!(!ContainerId::is_valid("8d36a66111ac"));
        // 64 bytes that are fewer characters: never an id.
        assert!(!ContainerId::is_valid(&"é".repeat(32)));
    }

    #[test]
    fn non_hex_is_refused() {
        for bad in ["g", "-", " ", "/", ".", "\0", "x"] {
            let text = format!("{}{bad}", &ID[..63]);
            assert!(!ContainerId::is_valid(&text), "{text:?}");
        }
        assert!(!ContainerId::is_valid(&format!("../{}", &ID[3..])));
        assert!(!ContainerId::is_valid(&format!("pidns-{}", &ID[6..])));
    }
}
