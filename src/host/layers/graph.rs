//! The layout Docker's `overlay2` and containers/storage's `overlay` drivers share: a layer is
//! `<root>/<driver>/<id>/diff`, reachable too as `<root>/<driver>/l/<short>`, a symlink whose
//! text is `../<id>/diff` (mounts name the short links to fit more layers in a page of
//! options). A short link is resolved by its text only, never followed.

use std::path::{Component, Path, PathBuf};

use super::{LayerOwner, Store, StorePath, Trust, join_absolute};

/// A path recognised as a graph driver's layer: the store's root and how the path names it.
pub(super) struct Found {
    pub(super) root: PathBuf,
    driver: &'static str,
    dir: PathBuf,
    name: Named,
}

enum Named {
    /// `<driver>/<id>/diff`.
    Dir(String),
    /// `<driver>/l/<short>`.
    Link(String),
}

/// `<root>/<driver>/<id>/diff` or `<root>/<driver>/l/<short>`.
pub(super) fn parse(names: &[String], driver: &'static str) -> Option<Found> {
    let [prefix @ .., dir, a, b] = names else {
        return None;
    };
    if dir != driver || prefix.is_empty() {
        return None;
    }
    let name = match (a.as_str(), b.as_str()) {
        ("l", short) if is_short_name(short) => Named::Link(short.to_string()),
        (id, "diff") if id != "l" => Named::Dir(id.to_string()),
        _ => return None,
    };
    Some(Found {
        root: join_absolute(prefix),
        driver,
        dir: join_absolute(names),
        name,
    })
}

impl Found {
    /// The owner the path gives (a short link resolved to its id and `<id>/diff`), starting
    /// from the store index's trust and notes; with the trust after the link was read.
    pub(super) fn owner(
        self,
        kind: Store,
        store: &StorePath,
        trust: &Trust,
        notes: &[String],
    ) -> (LayerOwner, Trust) {
        let mut trust = trust.clone();
        let mut notes = notes.to_vec();
        let id = match self.name {
            Named::Dir(id) => Some(id),
            Named::Link(short) => {
                let rel = format!("{}/l/{short}", self.driver);
                resolve_link(store, &rel, &mut trust, &mut notes)
            }
        };
        let dir = match &id {
            Some(id) => self.root.join(self.driver).join(id).join("diff"),
            None => self.dir,
        };
        let mut owner = LayerOwner::from_path(kind, self.root, dir, id);
        owner.notes = notes;
        (owner, trust)
    }
}

/// True for a `l/` link's name as Docker and containers/storage make them: 26 base32 digits
/// (upper case letters and 2-7), accepted here as any run of upper case letters and digits.
fn is_short_name(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// The layer id the short link `<store>/<rel>` points at, when its text is `../<id>/diff`
/// (the only thing Docker and containers/storage write there); anything else is refused with a
/// note.
fn resolve_link(
    store: &StorePath,
    rel: &str,
    trust: &mut Trust,
    notes: &mut Vec<String>,
) -> Option<String> {
    let target = match store.read_link(rel, trust) {
        Ok(target) => target,
        Err(e) => {
            notes.push(format!("short link not resolved: {e}"));
            return None;
        }
    };
    let id = link_target_id(&target);
    if id.is_none() {
        notes.push(format!(
            "{} points to {}, not to a layer of its store: not followed",
            store.shown(rel),
            crate::host::text::clean_str(&target.to_string_lossy())
        ));
    }
    id
}

/// `<id>` of a link text `../<id>/diff` (a plain name, not `l`), else `None`.
pub(super) fn link_target_id(target: &Path) -> Option<String> {
    let parts: Vec<Component> = target.components().collect();
    match parts.as_slice() {
        [
            Component::ParentDir,
            Component::Normal(id),
            Component::Normal(diff),
        ] if *diff == "diff" && *id != "l" => id.to_str().map(str::to_string),
        _ => None,
    }
}
