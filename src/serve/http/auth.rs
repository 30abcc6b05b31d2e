//! Bearer-token auth: the token is read once from a file only its owner may read, and a
//! request's token is compared with it in constant time (both hashed with SHA-256 first, so
//! neither the content nor the length of the secret shows in the time an answer takes).

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::serve::error::ServeError;

/// Longest token file read, bytes: a token is a line, not a document.
const MAX_TOKEN_BYTES: u64 = 4096;

/// The token requests must bear, kept as its hash.
#[derive(Clone)]
pub struct Token {
    digest: [u8; 32],
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(..)")
    }
}

impl Token {
    /// The token in `path`: its text without the trailing line break. Refused when the file
    /// is readable or writable by its group or others (the fix: `chmod 600`), empty, larger
    /// than 4 KiB, or holds what an `Authorization` header cannot carry.
    pub fn from_file(path: &Path) -> Result<Token, ServeError> {
        let refuse = |reason: String| ServeError::Token {
            path: path.to_path_buf(),
            reason,
        };
        let file = std::fs::File::open(path).map_err(|e| refuse(e.to_string()))?;
        // The mode of the file opened, not of a path that could be swapped meanwhile.
        let meta = file.metadata().map_err(|e| refuse(e.to_string()))?;
        if !meta.is_file() {
            return Err(refuse("not a regular file".to_string()));
        }
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(refuse(format!(
                "its mode {mode:04o} lets its group or others read or change it; make it the \
                 owner's alone: chmod 600 {}",
                path.display()
            )));
        }
        let mut text = String::new();
        file.take(MAX_TOKEN_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(|e| refuse(format!("not readable as text: {e}")))?;
        if text.len() as u64 > MAX_TOKEN_BYTES {
            return Err(refuse(format!("longer than {MAX_TOKEN_BYTES} bytes")));
        }
        let token = text.trim_end_matches(['\n', '\r']);
        if token.is_empty() {
            return Err(refuse("empty".to_string()));
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(refuse(
                "holds spaces, control or non-ASCII characters, which an Authorization header \
                 cannot carry"
                    .to_string(),
            ));
        }
        Ok(Token::new(token))
    }

    /// A token given as text (tests).
    pub fn new(token: &str) -> Token {
        Token {
            digest: Sha256::digest(token.as_bytes()).into(),
        }
    }

    /// True when `authorization` (the header's value) is `Bearer <the token>`.
    pub fn admits(&self, authorization: Option<&[u8]>) -> bool {
        let Some(value) = authorization else {
            return false;
        };
        let Some((scheme, given)) = split_scheme(value) else {
            return false;
        };
        if !scheme.eq_ignore_ascii_case(b"bearer") {
            return false;
        }
        let digest: [u8; 32] = Sha256::digest(given).into();
        digest.ct_eq(&self.digest).into()
    }
}

/// `SCHEME TOKEN` split at the first run of spaces.
fn split_scheme(value: &[u8]) -> Option<(&[u8], &[u8])> {
    let space = value.iter().position(|b| *b == b' ')?;
    let (scheme, rest) = value.split_at(space);
    let token = rest.trim_ascii_start();
    (!token.is_empty()).then_some((scheme, token))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn file_with(mode: u32, text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        (dir, path)
    }

    #[test]
    fn bearer_token_only() {
        let token = Token::new("s3cret-Token");
        assert!(token.admits(Some(b"Bearer s3cret-Token")));
        assert!(token.admits(Some(b"bearer   s3cret-Token")));
        assert!(!token.admits(Some(b"Bearer s3cret-Toke")));
        assert!(!token.admits(Some(b"Bearer s3cret-Token2")));
        assert!(!token.admits(Some(b"Basic s3cret-Token")));
        assert!(!token.admits(Some(b"s3cret-Token")));
        assert!(!token.admits(Some(b"Bearer ")));
        assert!(!token.admits(None));
    }

    #[test]
    fn the_file_is_the_owners_alone() {
        let (_dir, path) = file_with(0o600, "abc123\n");
        assert!(
            Token::from_file(&path)
                .unwrap()
                .admits(Some(b"Bearer abc123"))
        );
        for mode in [0o640, 0o604, 0o644, 0o660] {
            let (_dir, path) = file_with(mode, "abc123\n");
            let err = Token::from_file(&path).unwrap_err().to_string();
            assert!(err.contains("chmod 600"), "{mode:o}: {err}");
        }
        let (_dir, path) = file_with(0o600, "\n");
        assert!(
            Token::from_file(&path)
                .unwrap_err()
                .to_string()
                .contains("empty")
        );
        let (_dir, path) = file_with(0o600, "two words\n");
        assert!(Token::from_file(&path).is_err());
        let (_dir, path) = file_with(0o600, &"x".repeat(5000));
        assert!(Token::from_file(&path).is_err());
    }
}
