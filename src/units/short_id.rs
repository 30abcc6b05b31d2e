//! Container ids as people see them: the short form tables, lists and messages show, which is
//! also a target `isotop inspect`/`enter`/... accept (see `cli::target`).
//!
//! Contract: [`short_id`] is the form one id takes alone — its first [`SHOWN`] characters like
//! `docker ps` shows a 64-hex id, a shorter id whole, and an unknown container's
//! `pidns-<inode>` always whole (ids of namespaces made one after another differ only in the
//! last digits, so a cut one says nothing). [`ShortIds`] is the form among others: a cut id
//! grows, character by character, until no other id shares it, so two containers never show
//! the same short id — not even when a user picks a runc id sharing a Docker id's first 12
//! digits (ids are in every `/proc/<pid>/cgroup`, readable by all). Every shown form is cleaned
//! ([`crate::host::text::clean_str`]): ids taken from cgroup paths or users' state dirs are
//! chosen by whoever made them. A shown form is a prefix of the id; target resolution accepts
//! it exactly (and any prefix of a hexadecimal id).

use foldhash::HashMap;

use crate::host::container::UNKNOWN_ID_PREFIX;
use crate::host::text::clean_str;

/// Characters of an id shown when no other id shares them (Docker's short id: 12 hex digits).
pub const SHOWN: usize = 12;

/// The form `id` takes alone (a message about one container), cleaned.
pub fn short_id(id: &str) -> String {
    clean_str(cut(id, SHOWN))
}

/// `id`'s first `chars` characters; `pidns-<inode>` whole.
fn cut(id: &str, chars: usize) -> &str {
    if id.starts_with(UNKNOWN_ID_PREFIX) {
        return id;
    }
    match id.char_indices().nth(chars) {
        Some((end, _)) => &id[..end],
        None => id,
    }
}

/// The short forms of a set of ids, each distinct from every other id's.
#[derive(Debug, Clone, Default)]
pub struct ShortIds {
    /// Characters shown of each id that needs more than [`SHOWN`] to differ.
    longer: HashMap<String, usize>,
}

impl ShortIds {
    /// Computes the short forms for `ids` (duplicates allowed). Sorting puts the ids sharing
    /// the longest prefix with a given id next to it, so each id is compared with its two
    /// neighbours only: O(n log n) for the thousands of containers of a busy host.
    pub fn new<'a>(ids: impl IntoIterator<Item = &'a str>) -> ShortIds {
        let mut sorted: Vec<&str> = ids.into_iter().collect();
        sorted.sort_unstable();
        sorted.dedup();
        let mut longer = HashMap::default();
        for (i, id) in sorted.iter().enumerate() {
            let before = i.checked_sub(1).map(|j| sorted[j]);
            let after = sorted.get(i + 1).copied();
            let shared = [before, after]
                .into_iter()
                .flatten()
                .map(|other| common_prefix(id, other))
                .max()
                .unwrap_or(0);
            // One character past what any other id shares makes it differ from all of them.
            if shared + 1 > SHOWN {
                longer.insert((*id).to_string(), shared + 1);
            }
        }
        ShortIds { longer }
    }

    /// The short form of `id` (one of the ids given, else its form alone).
    pub fn get(&self, id: &str) -> String {
        match self.longer.get(id) {
            Some(&chars) => clean_str(cut(id, chars)),
            None => short_id(id),
        }
    }

    /// The widest short form, in characters (for a table column).
    pub fn widest<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> usize {
        ids.into_iter()
            .map(|id| self.get(id).chars().count())
            .max()
            .unwrap_or(0)
    }
}

/// Characters two ids share at their start.
fn common_prefix(a: &str, b: &str) -> usize {
    a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(prefix: &str, fill: char) -> String {
        let mut id = prefix.to_string();
        while id.len() < 64 {
            id.push(fill);
        }
        id
    }

    #[test]
    fn alone_ids_are_cut_to_12_but_pidns_ids() {
        let id = hex("8d36a66111ac", '0');
        assert_eq!(short_id(&id), "8d36a66111ac");
        assert_eq!(short_id("pidns-4026532845"), "pidns-4026532845");
        assert_eq!(short_id("web"), "web");
        assert_eq!(short_id("evil\x1b[2J\u{202e}"), "evil?[2J?");
        assert_eq!(short_id("a-long-lxc-container-name"), "a-long-lxc-c");
        assert_eq!(short_id("ünïcödé-ünïcödé"), "ünïcödé-ünïc");
    }

    #[test]
    fn ids_sharing_a_prefix_grow_until_they_differ() {
        let a = hex("8d36a66111ac77", 'a');
        let b = hex("8d36a66111ac77", 'b');
        let c = hex("0123456789ab", 'c');
        let ids = ShortIds::new([a.as_str(), b.as_str(), c.as_str()]);
        assert_eq!(ids.get(&a), "8d36a66111ac77a");
        assert_eq!(ids.get(&b), "8d36a66111ac77b");
        assert_eq!(ids.get(&c), "0123456789ab");
        assert_eq!(ids.widest([a.as_str(), c.as_str()]), 15);
    }

    #[test]
    fn a_short_id_that_is_another_ids_whole_id_is_passed() {
        // A user's runc container named like a Docker container's short id.
        let docker = hex("8d36a66111ac", 'f');
        let ids = ShortIds::new([docker.as_str(), "8d36a66111ac"]);
        assert_eq!(ids.get("8d36a66111ac"), "8d36a66111ac");
        assert_eq!(ids.get(&docker), "8d36a66111acf");
        // Names as ids (LXC, nspawn) too.
        let ids = ShortIds::new(["a-long-lxc-container-1", "a-long-lxc-container-2", "web"]);
        assert_eq!(ids.get("a-long-lxc-container-1"), "a-long-lxc-container-1");
        assert_eq!(ids.get("web"), "web");
    }

    #[test]
    fn shown_forms_are_all_distinct() {
        // Ids sharing 12..63 digits with each other, plus the unknowns' pidns ids.
        let mut ids: Vec<String> = (12..64)
            .map(|n| hex(&"7".repeat(n), 'e'))
            .chain((0..5).map(|n| format!("pidns-402653284{n}")))
            .collect();
        ids.push(hex("", '7'));
        let short = ShortIds::new(ids.iter().map(String::as_str));
        let mut shown: Vec<String> = ids.iter().map(|id| short.get(id)).collect();
        for (id, s) in ids.iter().zip(&shown) {
            assert!(id.starts_with(s.as_str()), "{s} is a prefix of {id}");
        }
        shown.sort();
        shown.dedup();
        assert_eq!(shown.len(), ids.len());
    }

    #[test]
    fn duplicates_and_unknown_ids_do_not_panic() {
        let a = hex("ab", '1');
        let ids = ShortIds::new([a.as_str(), a.as_str()]);
        assert_eq!(ids.get(&a), "ab1111111111");
        assert_eq!(ids.get("not-given"), "not-given");
        assert_eq!(ShortIds::default().widest([]), 0);
    }
}
