//! The life of a real isotop container (root): started detached, then stopped — its start,
//! its finish and the exit code its TERM handler chose come back through
//! `host::runtime::state::read_state` (on the live host), `isotop ls --json -a`,
//! `isotop inspect --json` and the dated events made of them. Real runc and crun containers:
//! the creation time their state file records is their start.

use crate::support::{bundle, common, containers};

use isotop::host::HostRoot;
use isotop::host::container::Container as Found;
use isotop::host::events::runtime::dated_events;
use isotop::host::runtime::state::{read_state, time_ms};
use isotop::host::scan::{ScanOptions, scan};
use isotop::units::now_ms;

use common::{isotop_json, unique_name};
use containers::{Container, assert_code, require_launch};

/// The container `id` as `isotop` finds it on the live host, running or stopped.
fn found(root: &HostRoot, id: &str) -> Found {
    let snapshot = scan(root, ScanOptions::TARGETS).unwrap();
    snapshot
        .containers
        .into_iter()
        .map(|v| std::sync::Arc::unwrap_or_clone(v.container))
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("{id} not found"))
}

/// Its row of `isotop ls --json -a`.
fn ls_row(id: &str) -> serde_json::Value {
    let rows = isotop_json(&["ls", "--json", "-a", "--interval", "0"]);
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("no row for {id} in {rows:#}"))
}

#[test]
#[ignore = "needs root"]
fn an_isotop_containers_start_exit_and_code_come_back() {
    if !require_launch() {
        return;
    }
    let before = now_ms();
    let name = unique_name("life");
    // TERM ends it with 7: the code is the container's, not a signal's.
    let c = Container::sh(&["--name", &name], "trap 'exit 7' TERM; sleep 60 & wait");
    let root = HostRoot::live();

    let running = read_state(&root, &found(&root, &c.id)).expect("a record");
    let started = running.started_at_ms.expect("a start time");
    assert!(before <= started && started <= now_ms(), "{running:?}");
    assert_eq!(running.exit_code, None);
    assert_eq!(running.finished_at_ms, None);
    assert_eq!(
        (running.restart_count, running.health.as_deref()),
        (None, None)
    );
    let row = ls_row(&c.id);
    assert_eq!(row["state"], "running", "{row:#}");
    assert_eq!(time_ms(row["started_at"].as_str().unwrap()), Some(started));
    assert!(
        row["exit_code"].is_null() && row["finished_at"].is_null(),
        "{row:#}"
    );

    let out = c.isotop(&["stop", "-t", "20"]);
    assert_code(&out, 0, "isotop stop");
    let after = now_ms();

    let stopped_container = found(&root, &c.id);
    let stopped = read_state(&root, &stopped_container).expect("a record");
    assert_eq!(stopped.exit_code, Some(7), "{stopped:?}");
    // `isotop stop` asked for it: the record says so, and the exit is no trouble.
    assert_eq!(stopped.stop_requested, Some(true), "{stopped:?}");
    assert_eq!(stopped.started_at_ms, Some(started));
    let finished = stopped.finished_at_ms.expect("a finish time");
    assert!(started <= finished && finished <= after, "{stopped:?}");

    // ls -a: the stopped container's row carries them, times as RFC 3339 to the ms.
    let row = ls_row(&c.id);
    assert_eq!(row["exit_code"], 7, "{row:#}");
    assert_eq!(time_ms(row["started_at"].as_str().unwrap()), Some(started));
    assert_eq!(
        time_ms(row["finished_at"].as_str().unwrap()),
        Some(finished)
    );
    assert!(row["restart_count"].is_null() && row["health"].is_null());

    // inspect: the same, with the record it was read from.
    let doc = isotop_json(&["inspect", &c.id, "--json"]);
    let life = &doc["runtime_state"];
    assert_eq!(life["exit_code"], 7, "{life:#}");
    assert_eq!(life["started_at_ms"], started);
    assert_eq!(life["finished_at_ms"], finished);
    let record = format!("/run/isotop/{}/state.json", c.id);
    assert_eq!(life["sources"][0], record.as_str(), "{life:#}");

    // The dated events: started, then exited with 7.
    let events = dated_events(&stopped_container, &stopped);
    let kinds: Vec<(&str, u64)> = events.iter().map(|e| (e.kind.name(), e.at_ms)).collect();
    assert_eq!(kinds, [("started", started), ("exited", finished)]);
    assert_eq!(
        serde_json::to_value(&events[1]).unwrap()["exit_code"],
        7,
        "{events:?}"
    );
    assert_eq!(
        serde_json::to_value(&events[1]).unwrap()["stop_requested"],
        true,
        "{events:?}"
    );
    assert!(!events[1].kind.is_trouble());
}

#[test]
#[ignore = "needs root"]
fn runc_and_crun_containers_started_when_their_state_says() {
    for tool in ["runc", "crun"] {
        if !common::require_program(tool)
            || !common::require_program("runc")
            || !std::path::Path::new(bundle::BUSYBOX).is_file()
        {
            continue;
        }
        let before = now_ms();
        let run = bundle::OciRun::start(tool);
        let after = now_ms();
        let doc = isotop_json(&["inspect", &run.id, "--json"]);
        let life = &doc["runtime_state"];
        let started = life["started_at_ms"]
            .as_u64()
            .unwrap_or_else(|| panic!("{tool}: no start in {life:#}"));
        eprintln!("{tool}: started {started} in [{before}, {after}]");
        assert!(before <= started && started <= after, "{tool}: {life:#}");
        assert!(
            life["exit_code"].is_null() && life["restart_count"].is_null(),
            "{tool}: {life:#}"
        );
        let state_file = life["sources"][0].as_str().unwrap_or_default();
        assert!(
            state_file.starts_with(&format!("/run/{tool}/{}/", run.id)),
            "{tool}: {life:#}"
        );
        assert_eq!(
            time_ms(ls_row(&run.id)["started_at"].as_str().unwrap()),
            Some(started)
        );
    }
}
