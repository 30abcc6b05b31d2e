use super::*;

#[test]
fn only_links_into_the_same_store_resolve() {
    let id = |t: &str| link_target_id(Path::new(t));
    assert_eq!(id("../abc/diff").as_deref(), Some("abc"));
    assert_eq!(id("../abc-init/diff").as_deref(), Some("abc-init"));
    assert_eq!(id("/etc"), None);
    assert_eq!(id("../../../etc/diff"), None);
    assert_eq!(id("../l/diff"), None);
    assert_eq!(id("../abc/merged"), None);
    assert_eq!(id("abc/diff"), None);
}
