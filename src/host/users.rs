//! User names for uids, from the host's `/etc/passwd` (under the injected root, so a host
//! mounted elsewhere shows its own names). Unknown uids print as numbers, like lsns.

use foldhash::HashMap;

use super::HostRoot;

/// uid → name table read once per scan.
#[derive(Debug, Clone, Default)]
pub struct UserNames {
    names: HashMap<u32, String>,
}

impl UserNames {
    /// Reads `etc/passwd`; a missing or unreadable file gives an empty table (numbers shown).
    pub fn read(root: &HostRoot) -> Self {
        let text = std::fs::read(root.etc.join("passwd"))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        Self::parse(&text)
    }

    pub fn parse(passwd: &str) -> Self {
        let mut names = HashMap::default();
        for line in passwd.lines() {
            let mut fields = line.split(':');
            let (Some(name), Some(_pw), Some(uid)) = (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            if let Ok(uid) = uid.parse::<u32>() {
                names
                    .entry(uid)
                    .or_insert_with(|| super::text::clean_str(name));
            }
        }
        UserNames { names }
    }

    /// The name for `uid`, or the number as text.
    pub fn name(&self, uid: u32) -> String {
        self.names
            .get(&uid)
            .cloned()
            .unwrap_or_else(|| uid.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_fallback() {
        let users =
            UserNames::parse("root:x:0:0::/root:/bin/sh\nbad line\nnobody:x:65534:65534::/:/x\n");
        assert_eq!(users.name(0), "root");
        assert_eq!(users.name(65534), "nobody");
        assert_eq!(users.name(1234), "1234");
    }
}
