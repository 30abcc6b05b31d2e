//! Who a directory's group-write bit lets write: the members of its group as this host's
//! `/etc/group` (member lists) and `/etc/passwd` (primary groups) name them. Membership that
//! comes from elsewhere (LDAP, SSSD) is not seen, so a group other than root's with no member
//! found here is taken as unknown (anyone), never as nobody.

use std::collections::BTreeSet;

/// The uids known to be members of group `gid`, ascending; read afresh each time (users come
/// and go under a long-running dashboard; only group-writable directories ask).
pub(super) fn members(gid: u32) -> BTreeSet<u32> {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let group = std::fs::read_to_string("/etc/group").unwrap_or_default();
    members_in(gid, &passwd, &group)
}

/// [`members`] from the two files' contents.
pub(super) fn members_in(gid: u32, passwd: &str, group: &str) -> BTreeSet<u32> {
    // name → uid, and every user whose primary group is `gid`.
    let mut uid_of = foldhash::HashMap::default();
    let mut out = BTreeSet::new();
    for line in passwd.lines() {
        let fields: Vec<&str> = line.split(':').collect();
        let (Some(name), Some(uid), Some(primary)) = (
            fields.first(),
            fields.get(2).and_then(|u| u.parse::<u32>().ok()),
            fields.get(3).and_then(|g| g.parse::<u32>().ok()),
        ) else {
            continue;
        };
        uid_of.insert(*name, uid);
        if primary == gid {
            out.insert(uid);
        }
    }
    for line in group.lines() {
        let fields: Vec<&str> = line.split(':').collect();
        if fields.get(2).and_then(|g| g.parse::<u32>().ok()) != Some(gid) {
            continue;
        }
        let listed = fields.get(3).copied().unwrap_or("");
        for name in listed.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match uid_of.get(name) {
                Some(uid) => {
                    out.insert(*uid);
                }
                // A member this host cannot map to a uid: as unknown as a missing list.
                None => {
                    out.insert(u32::MAX);
                }
            }
        }
    }
    out
}
