//! isotop's own containers (launched by `control::launch`): cgroup `/isotop/<id>`.
//!
//! The launcher puts each container it starts in `/isotop/<id>` in every hierarchy. Its state
//! dir `/run/isotop/<id>/` will hold the human name once the launcher exists; until then the
//! name is the id.

/// The container id a cgroup path segment names, given its parent segment: `<id>` directly
/// below a segment `isotop`.
pub fn id_from_segment(parent: Option<&str>, segment: &str) -> Option<String> {
    (parent == Some("isotop") && !segment.is_empty()).then(|| segment.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_children_of_isotop_match() {
        assert_eq!(id_from_segment(Some("isotop"), "abc"), Some("abc".into()));
        assert_eq!(id_from_segment(Some("isotop-test-x"), "abc"), None);
        assert_eq!(id_from_segment(None, "isotop"), None);
    }
}
