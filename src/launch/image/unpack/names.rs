//! A tar entry's name turned into a path inside the layer: plain names only. A leading `/` and
//! `.` components are dropped (an absolute name is taken relative to the layer root, as docker
//! does), `..` is refused, and so is anything no real image holds and the kernel would refuse
//! or mangle later: a NUL byte (a PAX record can carry one), a name longer than `PATH_MAX`, a
//! component longer than `NAME_MAX`, or more than [`MAX_DEPTH`] levels.

/// Longest name in bytes a tar entry may have (Linux `PATH_MAX`): docker and containerd write
/// layers with path-based calls that fail past it, so no image that runs elsewhere has one.
const PATH_MAX: usize = 4096;
/// Longest single component in bytes (Linux `NAME_MAX`).
const NAME_MAX: usize = 255;
/// Deepest path in components. Removing a tree keeps one open directory per level, here and
/// in `std::fs::remove_dir_all` (which cleans a failed layer up), so the depth must stay well
/// inside the usual 1024 open-file limit; real images stay far below it.
pub(super) const MAX_DEPTH: usize = 256;

/// A path beneath the layer root: one or more plain names, none empty, `.`, `..`, with a `/`
/// or a NUL. Ordered component-wise, so a directory sorts right before everything inside it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct LayerPath {
    parts: Vec<Vec<u8>>,
}

impl LayerPath {
    /// The path a raw entry name stands for; `Ok(None)` for the layer root itself (`./`).
    pub(super) fn parse(raw: &[u8]) -> Result<Option<LayerPath>, String> {
        if raw.contains(&0) {
            return Err("its name holds a NUL byte".into());
        }
        if raw.len() > PATH_MAX {
            return Err(format!(
                "its name is longer than {PATH_MAX} bytes (PATH_MAX)"
            ));
        }
        let mut parts = Vec::new();
        for part in raw.split(|&byte| byte == b'/') {
            match part {
                b"" | b"." => continue,
                b".." => return Err("a `..` component would leave the layer".into()),
                _ if part.len() > NAME_MAX => {
                    return Err(format!(
                        "a component of its name is longer than {NAME_MAX} bytes (NAME_MAX)"
                    ));
                }
                _ => parts.push(part.to_vec()),
            }
        }
        if parts.len() > MAX_DEPTH {
            return Err(format!(
                "it is nested more than {MAX_DEPTH} directories deep"
            ));
        }
        Ok((!parts.is_empty()).then_some(LayerPath { parts }))
    }

    /// The path of these components (each already checked by [`LayerPath::parse`]).
    pub(super) fn from_parts(parts: Vec<Vec<u8>>) -> LayerPath {
        LayerPath { parts }
    }

    /// The last component: what the entry creates inside its parent.
    pub(super) fn name(&self) -> &[u8] {
        self.parts.last().map(Vec::as_slice).unwrap_or_default()
    }

    /// The components of the parent directory (empty for an entry at the layer root).
    pub(super) fn parent_parts(&self) -> &[Vec<u8>] {
        &self.parts[..self.parts.len().saturating_sub(1)]
    }

    pub(super) fn parts(&self) -> &[Vec<u8>] {
        &self.parts
    }

    /// The path of `name` in the same directory (what a whiteout hides).
    pub(super) fn sibling(&self, name: &[u8]) -> LayerPath {
        let mut parts = self.parent_parts().to_vec();
        parts.push(name.to_vec());
        LayerPath { parts }
    }

    /// Whether `self` is `ancestor` or lies inside it.
    pub(super) fn is_within(&self, ancestor: &LayerPath) -> bool {
        self.parts.starts_with(&ancestor.parts)
    }

    /// For messages: the path with `/` between components, cleaned for the terminal.
    pub(super) fn shown(&self) -> String {
        shown_parts(&self.parts)
    }
}

/// `parts` joined with `/`: a relative path for one `openat2` call.
pub(super) fn joined(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.join(&b'/')
}

/// For messages: `parts` joined with `/`, cleaned for the terminal; `.` for the layer root.
pub(super) fn shown_parts(parts: &[Vec<u8>]) -> String {
    if parts.is_empty() {
        return ".".into();
    }
    crate::host::text::clean_str(&String::from_utf8_lossy(&joined(parts)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(raw: &str) -> Vec<String> {
        LayerPath::parse(raw.as_bytes())
            .unwrap()
            .unwrap()
            .parts()
            .iter()
            .map(|p| String::from_utf8(p.clone()).unwrap())
            .collect()
    }

    #[test]
    fn absolute_and_dot_components_are_dropped() {
        assert_eq!(parts("/etc//./passwd"), ["etc", "passwd"]);
        assert_eq!(parts("./a/b/"), ["a", "b"]);
        assert_eq!(LayerPath::parse(b"./").unwrap(), None);
        assert_eq!(LayerPath::parse(b"/").unwrap(), None);
    }

    #[test]
    fn dotdot_nul_and_overlong_names_are_refused() {
        assert!(LayerPath::parse(b"a/../../b").unwrap_err().contains(".."));
        assert!(LayerPath::parse(b"a\0b").unwrap_err().contains("NUL"));
        let long_component = "x".repeat(256);
        assert!(
            LayerPath::parse(long_component.as_bytes())
                .unwrap_err()
                .contains("NAME_MAX")
        );
        let long_path = "abcdefg/".repeat(600);
        assert!(
            LayerPath::parse(long_path.as_bytes())
                .unwrap_err()
                .contains("PATH_MAX")
        );
        let deep = "a/".repeat(MAX_DEPTH + 1);
        assert!(
            LayerPath::parse(deep.as_bytes())
                .unwrap_err()
                .contains("deep")
        );
        assert!(LayerPath::parse("a/".repeat(MAX_DEPTH).as_bytes()).is_ok());
    }

    #[test]
    fn a_directory_sorts_right_before_its_contents() {
        let dir = LayerPath::parse(b"a").unwrap().unwrap();
        let inside = LayerPath::parse(b"a/z").unwrap().unwrap();
        let beside = LayerPath::parse(b"a0").unwrap().unwrap();
        assert!(dir < inside && inside < beside);
        assert!(inside.is_within(&dir) && !beside.is_within(&dir));
        assert_eq!(inside.sibling(b"y").shown(), "a/y");
        assert_eq!(inside.name(), b"z");
    }
}
