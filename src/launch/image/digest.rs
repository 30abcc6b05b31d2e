//! sha256 digests: the cache key of a layer, and a reader that hashes what passes through it.
//!
//! A [`Digest`] is always 64 lowercase hex characters, validated on parse, because a digest
//! from a stranger's manifest becomes a path component in the cache.

use std::fmt;
use std::io::{self, Read};

use sha2::{Digest as _, Sha256};

/// A sha256 digest, held as 64 lowercase hex characters (no `sha256:` prefix).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Digest(String);

impl Digest {
    /// Parses `sha256:<64 hex>` (the OCI form) or a bare 64-hex string; `None` for anything
    /// else, including other algorithms.
    pub fn parse(text: &str) -> Option<Self> {
        let hex_part = text.strip_prefix("sha256:").unwrap_or(text);
        crate::units::container_id::is_lower_hex64(hex_part).then(|| Digest(hex_part.to_string()))
    }

    /// The 64 hex characters, as used for the cache directory name.
    pub fn hex(&self) -> &str {
        &self.0
    }

    /// Hashes a whole byte slice.
    pub fn of_bytes(bytes: &[u8]) -> Self {
        Digest(hex::encode(Sha256::digest(bytes)))
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.0)
    }
}

/// Wraps a reader and hashes (and counts, in bytes) everything read through it, so a layer is
/// digested in the same pass that unpacks it.
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    bytes: u64,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// The wrapped reader.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// Reads the rest of the stream (hashing it) and returns the digest and the byte count.
    pub fn finish(mut self) -> io::Result<(Digest, u64)> {
        io::copy(&mut self, &mut io::sink())?;
        Ok((Digest(hex::encode(self.hasher.finalize())), self.bytes))
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}
