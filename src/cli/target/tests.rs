use std::collections::BTreeMap;

use super::*;
use crate::host::container::Runtime;
use crate::host::namespace::NsSet;

fn hex(prefix: &str, fill: char) -> String {
    let mut id = prefix.to_string();
    while id.len() < 64 {
        id.push(fill);
    }
    id
}

fn view(id: &str, name: &str, runtime: Runtime, pids: &[i32]) -> ContainerView {
    ContainerView {
        container: Container {
            id: id.into(),
            name: name.into(),
            runtime,
            image: None,
            init_pid: pids.first().copied(),
            pids: pids.to_vec(),
            cgroups: std::sync::Arc::from([]),
            cgroup_path: Some(format!("/test/{name}")),
            namespaces: NsSet::default(),
            shared_with_host: Vec::new(),
            pod: None,
            labels: BTreeMap::new(),
            metadata: None,
            start_ticks: None,
            running: true,
            trust: crate::host::container::claim::Trust::root(),
        }
        .into(),
        state: crate::host::scan::ContainerState::Running,
        uptime_seconds: None,
        cgroup: None,
        ownership: std::sync::Arc::from([]),
        inherited_limits: Default::default(),
        sources: Default::default(),
    }
}

fn usage(result: Result<&ContainerView, CliError>) -> String {
    match result {
        Err(CliError::Usage(text)) => text,
        Err(other) => panic!("not a usage error: {other}"),
        Ok(v) => panic!("resolved to {}", v.container.id),
    }
}

#[test]
fn a_process_named_like_a_short_id_does_not_capture_it() {
    let docker = hex("8d36a66111ac", '7');
    let containers = [
        view("pidns-4026532845", "8d36a66111ac", Runtime::Unknown, &[900]),
        view(&docker, "web", Runtime::Docker, &[100, 101]),
    ];
    assert!(containers[0].container.name_is_process_chosen());
    let found = resolve(&containers, "8d36a66111ac").unwrap();
    assert_eq!(found.container.id, docker);
    // Its name still finds it when it names nothing else.
    let impostor = view("pidns-4026532846", "lonely", Runtime::Unknown, &[901]);
    let found = resolve(std::slice::from_ref(&impostor), "lonely").unwrap();
    assert_eq!(found.container.id, "pidns-4026532846");
}

#[test]
fn a_name_that_is_another_containers_id_prefix_is_ambiguous() {
    let docker = hex("cafe01", '2');
    let containers = [
        view(&hex("beef", '1'), "cafe01", Runtime::Podman, &[300]),
        view(&docker, "web", Runtime::Docker, &[100]),
    ];
    let text = usage(resolve(&containers, "cafe01"));
    assert!(text.contains("ambiguous"), "{text}");
    assert!(
        text.contains("name: beef11111111  cafe01  (podman, pid 300)"),
        "{text}"
    );
    assert!(
        text.contains("id prefix: cafe01222222  web  (docker, pid 100)"),
        "{text}"
    );
}

#[test]
fn a_pid_that_is_an_id_prefix_is_ambiguous() {
    let containers = [
        view(&hex("0273", 'a'), "db", Runtime::Runc, &[900]),
        view(&hex("ffff", 'b'), "web", Runtime::Docker, &[270, 273]),
    ];
    let text = usage(resolve(&containers, "0273"));
    assert!(
        text.contains("pid 273 is its process: ffffbbbbbbbb  web"),
        "{text}"
    );
    assert!(text.contains("id prefix: 0273aaaaaaaa  db"), "{text}");
    // Without the collision the pid is enough.
    let found = resolve(&containers, "270").unwrap();
    assert_eq!(found.container.name, "web");
}

#[test]
fn a_users_runc_id_equal_to_a_short_id_is_ambiguous_not_a_capture() {
    // A whole id of one is the shown form (a prefix) of another: neither wins.
    let docker = hex("8d36a66111ac", '5');
    let containers = [
        view("8d36a66111ac", "8d36a66111ac", Runtime::Runc, &[500]),
        view(&docker, "web", Runtime::Docker, &[100]),
    ];
    let text = usage(resolve(&containers, "8d36a66111ac"));
    assert!(
        text.contains("id: 8d36a66111ac  8d36a66111ac  (runc"),
        "{text}"
    );
    assert!(text.contains("id prefix: 8d36a66111ac5  web"), "{text}");
    // The forms `ls` shows tell them apart.
    assert_eq!(
        resolve(&containers, "8d36a66111ac5").unwrap().container.id,
        docker
    );
    assert_eq!(resolve(&containers, &docker).unwrap().container.id, docker);
}

#[test]
fn shown_forms_of_ids_sharing_a_prefix_each_resolve() {
    let a = hex("1234567890abcdef", 'a');
    let b = hex("1234567890abcdef", 'b');
    let containers = [
        view(&a, "one", Runtime::Docker, &[10]),
        view(&b, "two", Runtime::Docker, &[20]),
        view("pidns-4026532845", "x", Runtime::Unknown, &[30]),
        view("pidns-4026532846", "x", Runtime::Unknown, &[40]),
    ];
    let shown = ShortIds::new(containers.iter().map(|c| c.container.id.as_str()));
    for c in &containers {
        let form = shown.get(&c.container.id);
        assert_eq!(
            resolve(&containers, &form).unwrap().container.id,
            c.container.id,
            "{form}"
        );
    }
    assert!(usage(resolve(&containers, "1234567890ab")).contains("ambiguous"));
    // Two process-chosen names alike: ambiguous too, listed with their distinct ids.
    let text = usage(resolve(&containers, "x"));
    assert!(text.contains("pidns-4026532845") && text.contains("pidns-4026532846"));
}

#[test]
fn the_same_container_by_several_kinds_is_not_ambiguous() {
    // LXC: the id is the name.
    let containers = [
        view("web", "web", Runtime::Lxc, &[10]),
        view("web2", "web2", Runtime::Lxc, &[20]),
    ];
    assert_eq!(resolve(&containers, "web").unwrap().container.id, "web");
    assert_eq!(
        resolve(&containers, "/test/web2/").unwrap().container.id,
        "web2"
    );
}

#[test]
fn prefixes_of_name_like_ids_come_after_whole_matches() {
    let containers = [
        view("web1", "web1", Runtime::Lxc, &[10]),
        view("web10", "web10", Runtime::Lxc, &[20]),
        view(
            "isotop-test-runc-1234",
            "isotop-test-runc-1234",
            Runtime::Runc,
            &[30],
        ),
        view("pidns-4026532845", "a", Runtime::Unknown, &[40]),
        view("pidns-4026532846", "isotop-test", Runtime::Unknown, &[50]),
    ];
    assert_eq!(resolve(&containers, "web1").unwrap().container.id, "web1");
    assert_eq!(resolve(&containers, "web10").unwrap().container.id, "web10");
    assert!(usage(resolve(&containers, "web")).contains("ambiguous"));
    // A unique prefix of a name-like id beats a process-chosen name.
    assert_eq!(
        resolve(&containers, "isotop-test").unwrap().container.id,
        "isotop-test-runc-1234"
    );
    assert!(usage(resolve(&containers, "pidns-")).contains("ambiguous"));
}

#[test]
fn only_generated_ids_are_prefix_matched_in_the_first_tier() {
    // A runc id a user chose that happens to be hex, and a 64-digit one in upper case, are
    // name-like ids (no runtime generates either): a whole name elsewhere comes first.
    let upper = hex("CAFE", 'A');
    let containers = [
        view("cafe01", "cafe01", Runtime::Runc, &[10]),
        view(&upper, "up", Runtime::Runc, &[20]),
        view(&hex("beef", '0'), "cafe", Runtime::Docker, &[30]),
    ];
    assert_eq!(resolve(&containers, "cafe").unwrap().container.name, "cafe");
    assert_eq!(resolve(&containers, "CAFE").unwrap().container.id, upper);
    assert_eq!(
        resolve(&containers, "cafe0").unwrap().container.id,
        "cafe01"
    );
    // A generated id's prefix competes with the name in the first tier.
    let generated = hex("cafe", '2');
    let containers = [
        view(&generated, "web", Runtime::Docker, &[10]),
        view(&hex("beef", '0'), "cafe", Runtime::Docker, &[30]),
    ];
    let text = usage(resolve(&containers, "cafe"));
    assert!(text.contains("id prefix: cafe22222222  web"), "{text}");
}

#[test]
fn unknown_targets_say_why() {
    let containers = [view(&hex("ab", '0'), "web", Runtime::Docker, &[10])];
    assert!(usage(resolve(&containers, "77")).contains("pid 77 is not a process"));
    assert!(usage(resolve(&containers, "/nope")).contains("no container has the cgroup"));
    assert!(usage(resolve(&containers, "db")).contains("ab0000000000  web"));
    assert!(usage(resolve(&[], "db")).contains("no containers are running"));
    assert!(usage(resolve(&containers, "  ")).contains("empty target"));
}

/// `view` as a stranger's claim: a user's Podman index or rootless runc state.
fn strangers(mut v: ContainerView, verified: bool) -> ContainerView {
    std::sync::Arc::make_mut(&mut v.container).trust = if verified {
        crate::host::container::claim::Trust::verified_for(65534)
    } else {
        crate::host::container::claim::Trust::unverified("a user's file".into(), Some(65534))
    };
    v
}

#[test]
fn a_strangers_forged_name_or_id_never_makes_a_root_container_ambiguous() {
    let docker = hex("8d36a66111ac", '7');
    let containers = [
        view(&docker, "web", Runtime::Docker, &[100]),
        // A user's Podman entry named `web`, and a rootless runc state whose id is Docker's.
        strangers(view(&hex("beef", 'b'), "web", Runtime::Podman, &[]), false),
        strangers(view(&docker, "forged", Runtime::Runc, &[]), false),
        strangers(
            view("alices-own", "alices-own", Runtime::Runc, &[300]),
            true,
        ),
    ];
    for target in ["web", docker.as_str(), "8d36a66111ac", "8d36"] {
        let found = resolve(&containers, target).unwrap_or_else(|e| panic!("{target}: {e}"));
        assert_eq!(found.container.runtime, Runtime::Docker, "{target}");
    }
    // A stranger's container is still found when nothing root-written matches.
    assert_eq!(
        resolve(&containers, "alices-own").unwrap().container.id,
        "alices-own"
    );
    assert_eq!(
        resolve(&containers, "forged").unwrap().container.runtime,
        Runtime::Runc
    );
}

#[test]
fn two_root_written_or_two_strangers_matches_stay_ambiguous() {
    let containers = [
        view(&hex("aa", '1'), "web", Runtime::Docker, &[100]),
        view(&hex("bb", '2'), "web", Runtime::Podman, &[200]),
        strangers(view(&hex("cc", '3'), "db", Runtime::Podman, &[]), false),
        strangers(view(&hex("dd", '4'), "db", Runtime::Podman, &[]), true),
    ];
    let web = usage(resolve(&containers, "web"));
    assert!(web.contains("ambiguous") && web.contains("docker") && web.contains("podman"));
    let db = usage(resolve(&containers, "db"));
    assert!(
        db.contains("ambiguous") && db.contains("cc3333") && db.contains("dd4444"),
        "{db}"
    );
}
