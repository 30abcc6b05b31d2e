//! Overlay options as the kernel shows them (shapes seen on 6.18), both escapings stacked.

use super::*;

fn paths(list: &[&str]) -> Vec<PathBuf> {
    list.iter().map(PathBuf::from).collect()
}

#[test]
fn docker_shape_lower_upper_work_and_options() {
    let raw = b"rw,lowerdir=/var/lib/docker/overlay2/l/AB:/var/lib/docker/overlay2/l/CD,\
upperdir=/var/lib/docker/overlay2/x/diff,workdir=/var/lib/docker/overlay2/x/work,\
index=off,metacopy=on,redirect_dir=follow,xino=off,nouserxattr";
    let o = parse_overlay_options(raw);
    assert_eq!(
        o.lower,
        paths(&[
            "/var/lib/docker/overlay2/l/AB",
            "/var/lib/docker/overlay2/l/CD"
        ])
    );
    assert!(o.data_only.is_empty() && !o.appended_layers);
    assert_eq!(o.upper, Some("/var/lib/docker/overlay2/x/diff".into()));
    assert_eq!(o.work, Some("/var/lib/docker/overlay2/x/work".into()));
    assert_eq!(o.options.index, Some(false));
    assert_eq!(o.options.metacopy, Some(true));
    assert_eq!(o.options.redirect_dir.as_deref(), Some("follow"));
    assert!(!o.options.volatile && !o.options.userxattr && !o.options.read_only);
    assert_eq!(o.options.other, vec!["xino=off", "nouserxattr"]);
}

/// What 6.18 showed for `lowerdir=/tmp/ovx/l 1:/tmp/ovx/l\,2:/tmp/ovx/l\:3:/tmp/ovx/l\\4`.
#[test]
fn legacy_lowerdir_with_space_comma_colon_backslash() {
    let raw = br"rw,lowerdir=/tmp/ovx/l\0401:/tmp/ovx/l\134\0542:/tmp/ovx/l\134:3:/tmp/ovx/l\134\1344,upperdir=/tmp/ovx/u\134\134b\134,x,workdir=/tmp/ovx/w\134:c,uuid=on";
    let o = parse_overlay_options(raw);
    assert_eq!(
        o.lower,
        paths(&[
            "/tmp/ovx/l 1",
            "/tmp/ovx/l,2",
            "/tmp/ovx/l:3",
            r"/tmp/ovx/l\4"
        ])
    );
    // upperdir's raw `\134\134b\134` + the bare comma: `\\b\` then a new option `x`.
    assert_eq!(o.upper, Some(PathBuf::from(r"/tmp/ovx/u\b")));
    assert_eq!(o.work, Some(PathBuf::from("/tmp/ovx/w:c")));
    assert_eq!(o.options.other, vec!["x", "uuid=on"]);
}

/// `lowerdir+=`/`datadir+=` (kernel ≥ 6.8): one option per layer, only octal escapes.
#[test]
fn appended_layers_are_not_overlay_escaped() {
    let raw = br"rw,lowerdir+=/tmp/ovx/l\0401,lowerdir+=/tmp/ovx/l:3,lowerdir+=/a\134b\054c\075d,datadir+=/tmp/ovx/d6,datadir+=/tmp/ovx/d\0407,upperdir=/tmp/ovx/u,workdir=/tmp/ovx/w,redirect_dir=on,metacopy=on";
    let o = parse_overlay_options(raw);
    assert!(o.appended_layers);
    assert_eq!(
        o.lower,
        paths(&["/tmp/ovx/l 1", "/tmp/ovx/l:3", r"/a\b,c=d"])
    );
    assert_eq!(o.data_only, paths(&["/tmp/ovx/d6", "/tmp/ovx/d 7"]));
    assert_eq!(o.options.redirect_dir.as_deref(), Some("on"));
    assert_eq!(o.options.metacopy, Some(true));
}

/// `lowerdir=a::b::c`: everything after the first `::` is data-only.
#[test]
fn data_only_layers_after_double_colon() {
    let raw = br"ro,lowerdir=/tmp/ovx/l\0401:/l2::/tmp/ovx/d6::/tmp/ovx/d\0407,redirect_dir=on,metacopy=on";
    let o = parse_overlay_options(raw);
    assert_eq!(o.lower, paths(&["/tmp/ovx/l 1", "/l2"]));
    assert_eq!(o.data_only, paths(&["/tmp/ovx/d6", "/tmp/ovx/d 7"]));
    assert!(o.options.read_only);
    assert_eq!((o.upper, o.work), (None, None));
}

#[test]
fn flags_index_volatile_userxattr() {
    let o = parse_overlay_options(b"rw,lowerdir=/l,upperdir=/u,workdir=/w,index=on,volatile,userxattr,redirect_dir=nofollow,metacopy=off");
    assert_eq!(o.options.index, Some(true));
    assert_eq!(o.options.metacopy, Some(false));
    assert!(o.options.volatile && o.options.userxattr);
    assert_eq!(o.options.redirect_dir.as_deref(), Some("nofollow"));
    assert!(o.options.other.is_empty());
}

#[test]
fn a_long_lower_list_keeps_its_order() {
    let layers: Vec<String> = (0..300).map(|i| format!("/var/lib/x/l/{i:04}")).collect();
    let raw = format!("rw,lowerdir={},upperdir=/u,workdir=/w", layers.join(":"));
    let o = parse_overlay_options(raw.as_bytes());
    assert_eq!(o.lower.len(), 300);
    assert_eq!(o.lower[0], PathBuf::from("/var/lib/x/l/0000"));
    assert_eq!(o.lower[299], PathBuf::from("/var/lib/x/l/0299"));
}

#[test]
fn odd_input_gives_no_phantom_layers() {
    // Empty pieces, a dangling escape, an unknown flag with no value, an `=` with nothing.
    let o = parse_overlay_options(br"rw,,lowerdir=:/a::,upperdir=/u\,index=maybe,lowerdir=,weird");
    assert_eq!(o.lower, paths(&["/a"]));
    assert!(o.data_only.is_empty());
    assert_eq!(o.upper, Some(PathBuf::from("/u")));
    assert_eq!(o.options.index, None);
    assert_eq!(o.options.other, vec!["weird"]);
    assert_eq!(parse_overlay_options(b""), OverlayLayers::default());
}

/// What 6.18 showed for `volatile,userxattr,index=off` (index=off is its default: not shown).
#[test]
fn fsync_volatile_is_volatile() {
    let o = parse_overlay_options(b"rw,lowerdir=/l,upperdir=/u,workdir=/w,redirect_dir=nofollow,uuid=on,fsync=volatile,userxattr");
    assert!(o.options.volatile && o.options.userxattr);
    assert_eq!(o.options.index, None);
    assert_eq!(o.options.other, vec!["uuid=on"]);
    let strict = parse_overlay_options(b"rw,lowerdir=/l,fsync=strict");
    assert!(!strict.options.volatile);
    assert_eq!(strict.options.other, vec!["fsync=strict"]);
}
