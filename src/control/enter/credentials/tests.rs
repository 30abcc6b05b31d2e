use super::*;

/// A `status` as Linux 6.x writes it (trimmed to the lines around the credentials).
const STATUS: &str = "Name:\tsleep\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t4242\n\
Uid:\t1000\t1001\t1002\t1003\nGid:\t2000\t2001\t2002\t2003\nFDSize:\t64\n\
Groups:\t10 2000 30 \nNStgid:\t4242\t1\nCapInh:\t0000000000000400\n\
CapPrm:\t0000000000000421\nCapEff:\t0000000000000021\nCapBnd:\t000001ffffffffff\n\
CapAmb:\t0000000000000400\nNoNewPrivs:\t1\nSeccomp:\t0\n";

fn parsed() -> ProcessCredentials {
    parse_status(STATUS).unwrap()
}

#[test]
fn status_fields_are_read() {
    let c = parsed();
    assert_eq!(c.uid, [1000, 1001, 1002, 1003]);
    assert_eq!(c.gid, [2000, 2001, 2002, 2003]);
    assert_eq!(c.groups, vec![10, 2000, 30]);
    assert_eq!(
        c.caps,
        CapSets {
            inheritable: 0x400,
            permitted: 0x421,
            effective: 0x21,
            bounding: 0x1ff_ffff_ffff,
            ambient: 0x400,
        }
    );
    assert!(c.no_new_privs);
    // No groups at all: `Groups:` with nothing after it.
    let none = STATUS.replace("Groups:\t10 2000 30 ", "Groups:\t");
    assert!(parse_status(&none).unwrap().groups.is_empty());
}

#[test]
fn odd_status_contents_are_refused_with_the_field() {
    let cases: [(&str, &str, &str); 12] = [
        ("Uid:\t1000\t1001\t1002\t1003", "", "Uid"),
        (
            "Uid:\t1000\t1001\t1002\t1003",
            "Uid:\t1000\t1001\t1002",
            "Uid",
        ),
        (
            "Uid:\t1000\t1001\t1002\t1003",
            "Uid:\t1000 1001 1002 1003 7",
            "Uid",
        ),
        ("Uid:\t1000\t1001\t1002\t1003", "Uid:\t-1\t0\t0\t0", "Uid"),
        // (uid_t)-1 means "unchanged" to setresuid: never accepted as an id.
        (
            "Uid:\t1000\t1001\t1002\t1003",
            "Uid:\t4294967295\t0\t0\t0",
            "Uid",
        ),
        (
            "Gid:\t2000\t2001\t2002\t2003",
            "Gid:\t99999999999\t0\t0\t0",
            "Gid",
        ),
        ("Groups:\t10 2000 30 ", "Groups:\tten", "Groups"),
        (
            "CapPrm:\t0000000000000421",
            "CapPrm:\t00000000000000421",
            "CapPrm",
        ),
        ("CapEff:\t0000000000000021", "CapEff:\t0x21", "CapEff"),
        ("CapAmb:\t0000000000000400", "CapAmb:\t", "CapAmb"),
        ("NoNewPrivs:\t1", "NoNewPrivs:\t2", "NoNewPrivs"),
        (
            "NoNewPrivs:\t1",
            "NoNewPrivs:\t1\nNoNewPrivs:\t0",
            "NoNewPrivs",
        ),
    ];
    for (line, replacement, field) in cases {
        let text = STATUS.replace(line, replacement);
        let fault = parse_status(&text).unwrap_err();
        let shown = fault.to_string();
        assert!(shown.contains(field), "{replacement:?}: {shown}");
    }
    for garbage in ["", "\0\0\0", "Uid:", "Name:\tx\n", "Uid:\t\u{1F600}"] {
        assert!(parse_status(garbage).is_err(), "{garbage:?}");
    }
    // A huge value is cut in the message.
    let long = STATUS.replace(
        "NoNewPrivs:\t1",
        &format!("NoNewPrivs:\t{}", "9".repeat(500)),
    );
    let shown = parse_status(&long).unwrap_err().to_string();
    assert!(shown.len() < 200, "{shown}");
}

#[test]
fn too_many_groups_are_refused() {
    let groups: Vec<String> = (0..=MAX_GROUPS as u32).map(|g| g.to_string()).collect();
    let text = STATUS.replace(
        "Groups:\t10 2000 30 ",
        &format!("Groups:\t{}", groups.join(" ")),
    );
    assert!(
        parse_status(&text)
            .unwrap_err()
            .to_string()
            .contains("65536")
    );
}

#[test]
fn id_maps_translate_host_ids_to_the_namespace() {
    let map = IdMap::parse("         0     100000      65536\n 70000 5 1\n", "uid_map").unwrap();
    assert_eq!(map.to_inside(100000), Some(0));
    assert_eq!(map.to_inside(101000), Some(1000));
    assert_eq!(map.to_inside(165535), Some(65535));
    assert_eq!(map.to_inside(165536), None);
    assert_eq!(map.to_inside(5), Some(70000));
    assert_eq!(map.to_inside(0), None);
    // The initial namespace's own map.
    let all = IdMap::parse("0 0 4294967295\n", "uid_map").unwrap();
    assert_eq!(all.to_inside(4294967294), Some(4294967294));
    for bad in [
        "0 0",
        "0 0 0",
        "a b c",
        "0 4294967295 2",
        "0 0 1 1",
        "-1 0 1",
    ] {
        assert!(IdMap::parse(bad, "gid_map").is_err(), "{bad:?}");
    }
    let too_many: String = (0..341).map(|i| format!("{i} {i} 1\n")).collect();
    assert!(IdMap::parse(&too_many, "uid_map").is_err());
    assert_eq!(IdMap::parse("", "uid_map").unwrap().to_inside(0), None);
}

#[test]
fn confinement_follows_where_the_command_runs() {
    let init = parsed();
    let shared = confine(&init, !0, &UserNsView::Shared, None).unwrap();
    assert_eq!(shared.uid, init.uid);
    assert_eq!(shared.gid, init.gid);
    assert_eq!(shared.groups, init.groups);
    assert_eq!(shared.caps, init.caps);
    assert!(shared.no_new_privs);

    let entered = UserNsView::Entered {
        uid_map: IdMap::parse("0 1000 10", "uid_map").unwrap(),
        gid_map: IdMap::parse("0 2000 4", "gid_map").unwrap(),
        uid_map_path: "/proc/9/uid_map".into(),
        gid_map_path: "/proc/9/gid_map".into(),
    };
    let inside = confine(&init, !0, &entered, None).unwrap();
    assert_eq!(inside.uid, [0, 1, 2, 3]);
    assert_eq!(inside.gid, [0, 1, 2, 3]);
    // Groups stay in isotop's ids: they are set before the namespace is joined.
    assert_eq!(inside.groups, init.groups);
    assert_eq!(inside.caps, init.caps);

    let narrow = UserNsView::Entered {
        uid_map: IdMap::parse("0 1000 2", "uid_map").unwrap(),
        gid_map: IdMap::parse("0 2000 4", "gid_map").unwrap(),
        uid_map_path: "/proc/9/uid_map".into(),
        gid_map_path: "/proc/9/gid_map".into(),
    };
    let err = confine(&init, !0, &narrow, None).unwrap_err().to_string();
    assert!(
        err.contains("uid 1002") && err.contains("/proc/9/uid_map"),
        "{err}"
    );

    // Outside the init's user namespace it holds no capability; the bounding set still
    // limits what exec may grant.
    let outside = confine(&init, !0, &UserNsView::NotEntered, None).unwrap();
    assert_eq!(outside.uid, init.uid);
    assert_eq!(
        outside.caps,
        CapSets {
            bounding: init.caps.bounding,
            ..CapSets::default()
        }
    );
}

#[test]
fn exec_never_grants_more_than_the_init_holds() {
    const FULL: u64 = 0x1ff_ffff_ffff;
    let docker = 0xa80425fb;
    // Root with Docker's set (prm = eff = bnd): exec gives the same back, no securebits.
    let root_init = CapSets {
        permitted: docker,
        effective: docker,
        bounding: docker,
        ..CapSets::default()
    };
    let (sets, no_root) = exec_sets(root_init, [0; 4], FULL, FULL);
    assert_eq!(sets, root_init);
    assert!(!no_root);

    // Root that dropped its permitted set after exec, keeping the bounding set: exec would
    // give root the bounding set back, so root's fix-up is switched off.
    let dropped = CapSets {
        bounding: FULL,
        ..CapSets::default()
    };
    assert!(exec_sets(dropped, [0; 4], FULL, FULL).1);
    // Real uid 0 alone is enough for the fix-up.
    assert!(exec_sets(dropped, [0, 1000, 1000, 1000], FULL, FULL).1);
    // Not root: exec gives the ambient set only, within permitted.
    let user = CapSets {
        inheritable: 0x400,
        permitted: 0x400,
        effective: 0x400,
        bounding: FULL,
        ambient: 0x400,
    };
    let (sets, no_root) = exec_sets(user, [1000; 4], FULL, FULL);
    assert_eq!(sets, user);
    assert!(!no_root);

    // What the child does not hold, or isotop's bounding set lacks, is not kept.
    let (sets, _) = exec_sets(root_init, [0; 4], docker & !1, docker & !2);
    assert_eq!(sets.permitted, docker & !1);
    assert_eq!(sets.effective, docker & !1);
    assert_eq!(sets.bounding, docker & !2);
    let (sets, _) = exec_sets(user, [1000; 4], 0, FULL);
    assert_eq!((sets.permitted, sets.effective, sets.ambient), (0, 0, 0));
    assert_eq!(sets.inheritable, 0x400);
}
