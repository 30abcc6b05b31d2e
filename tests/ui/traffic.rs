//! Network and block I/O in the views (issue 13): the Containers view's NET RX/s, NET TX/s
//! (from 180 columns) and IO R/s, IO W/s (from 200), names keeping 40 cells; a shared
//! namespace's figures marked `=` on its containers and counted once on the pod's row; hidden
//! by the config, sorted by `s`; the Cgroups view's IO R/s, IO W/s (from 140), sorted; the
//! detail pane's network and disk I/O charts — the I/O limit drawn as a line, the limited
//! devices named — in a third row on tall panes, a fourth column on wide ones, left out on
//! small ones; a cgroup's pane has the disk chart only.

use crate::layers::rows;
use crate::rw_size::{cell_of, column, column_by};
use crate::support::{drive, fixture};

use std::path::Path;
use std::time::Duration;

use isotop::sample::{Frame, History};
use isotop::ui::config::Config;
use isotop::ui::{Action, App, Tab};

use drive::{container_row_names, render, select_by_filter};
use fixture::{app_with_history, frame};

fn header_has(screen: &[String], title: &str) -> bool {
    screen.iter().any(|r| r.contains(title))
}

#[test]
fn traffic_columns_come_in_as_the_screen_widens_names_keeping_their_room() {
    for (width, net, io, psi, refused) in [
        (80, false, false, false, false),
        (120, false, false, false, false),
        (179, false, false, false, false),
        (180, true, false, false, false),
        (199, true, false, false, false),
        (200, true, true, false, false),
        (210, true, true, true, false),
        (230, true, true, true, true),
    ] {
        let (mut app, history) = app_with_history(30);
        let screen = rows(&render(&mut app, &history, width, 30));
        let at = format!("at {width} columns");
        assert!(
            header_has(&screen, "CPU%") && header_has(&screen, "MEM"),
            "{at}"
        );
        assert_eq!(header_has(&screen, "NET RX/s"), net, "{at}");
        assert_eq!(header_has(&screen, "NET TX/s"), net, "{at}");
        assert_eq!(header_has(&screen, "IO R/s"), io, "{at}");
        assert_eq!(header_has(&screen, "IO W/s"), io, "{at}");
        assert_eq!(header_has(&screen, "PSI CPU"), psi, "{at}");
        assert_eq!(header_has(&screen, "REFUSED"), refused, "{at}");
        // Once traffic comes in, names keep their room: a pod's whole label (its `shares`
        // note may give way to the EVENT column, which keeps the longest name whole).
        if net {
            assert!(screen.concat().contains("▾ default/api-7d9f "), "{at}");
        }
    }
}

#[test]
fn a_shared_namespace_is_marked_on_its_containers_and_counted_once_on_the_pod() {
    let (mut app, history) = app_with_history(30);
    let screen = rows(&render(&mut app, &history, 230, 30));
    let rx = column(&screen, "NET RX/s", 8);
    let tx = column(&screen, "NET TX/s", 8);
    // api and pause share the sandbox's namespace: 2 MiB/s in between them, not each.
    assert_eq!(cell_of(&rx, "api"), "=2.0M/s");
    assert_eq!(cell_of(&rx, "pause"), "=2.0M/s");
    assert_eq!(cell_of(&rx, "default/api-7d9f"), "2.0M/s");
    assert_eq!(cell_of(&tx, "default/api-7d9f"), "640K/s");
    // A namespace of its own, and the host's (no figure of its own).
    assert_eq!(cell_of(&rx, "web"), "1.2M/s");
    assert_eq!(cell_of(&tx, "web"), "300K/s");
    assert_eq!(cell_of(&rx, "scratch"), "-");
    // Block I/O: each container's own cgroup; the pod's is the sum; no cgroup, no figure.
    let read = column(&screen, "IO R/s", 7);
    let write = column(&screen, "IO W/s", 7);
    assert_eq!(cell_of(&write, "web"), "6.0M/s");
    assert_eq!(cell_of(&read, "web"), "256K/s");
    assert_eq!(cell_of(&read, "api"), "1.0M/s");
    assert_eq!(cell_of(&write, "pause"), "0B/s");
    assert_eq!(cell_of(&read, "default/api-7d9f"), "1.0M/s");
    assert_eq!(cell_of(&write, "default/api-7d9f"), "128K/s");
    assert_eq!(cell_of(&write, "scratch"), "-");
}

#[test]
fn the_config_hides_traffic_columns_and_s_sorts_by_the_others() {
    let config = Config::parse(
        "[containers]\nhide = [\"net tx/s\", \"IO R/s\"]\n",
        Path::new("c.toml"),
    )
    .unwrap();
    let (mut app, history) = app_with_history(30);
    app.hide_container_columns(config.hidden_container_columns);
    let screen = rows(&render(&mut app, &history, 230, 30));
    assert!(!header_has(&screen, "NET TX/s") && !header_has(&screen, "IO R/s"));
    assert!(header_has(&screen, "NET RX/s") && header_has(&screen, "IO W/s"));

    // Received, largest first: the pod's namespace (its row where its first member sorts),
    // then web's, then scratch with none.
    app.update(Action::SortBy(16));
    assert_eq!(
        container_row_names(&app),
        ["pod:default/api-7d9f", "api", "pause", "web", "scratch"]
    );
    // Written, largest first: web's 6 MiB/s before api's 128 KiB/s and pause's nothing.
    app.update(Action::SortBy(19));
    assert_eq!(
        container_row_names(&app),
        ["web", "pod:default/api-7d9f", "api", "pause", "scratch"]
    );
    // `s` from NET RX/s steps over the two hidden ones to IO W/s.
    app.update(Action::SortBy(16));
    app.update(Action::SortNext);
    assert_eq!(app.sort(Tab::Containers).column, Some(19));
}

#[test]
fn the_cgroups_view_shows_io_from_140_columns_sorted_by_it() {
    let (mut app, history) = app_with_history(30);
    app.update(Action::ShowTab(Tab::Cgroups));
    let narrow = rows(&render(&mut app, &history, 139, 24));
    assert!(!header_has(&narrow, "IO R/s") && !header_has(&narrow, "IO W/s"));
    let screen = rows(&render(&mut app, &history, 140, 30));
    let read = column_by(&screen, "CGROUP", "IO R/s", 7);
    let write = column_by(&screen, "CGROUP", "IO W/s", 7);
    assert_eq!(cell_of(&write, "web"), "6.0M/s");
    assert_eq!(cell_of(&read, "api"), "1.0M/s");
    // A parent counts its children's: the pod's cgroup is api's and pause's.
    assert_eq!(cell_of(&read, "pod0f0e"), "1.0M/s");
    assert_eq!(cell_of(&write, "pod0f0e"), "128K/s");

    // Siblings by bytes read, most first: kubepods (1 MiB/s) before isotop-demo (256 KiB/s).
    let paths = |app: &App| -> Vec<String> {
        let f = app.frame().unwrap();
        app.rows()
            .cgroups
            .iter()
            .map(|r| f.cgroups[r.index].path.clone())
            .collect()
    };
    assert_eq!(paths(&app)[1], "/isotop-demo", "the natural order first");
    app.update(Action::SortBy(6));
    assert_eq!(
        paths(&app),
        [
            "/",
            "/kubepods",
            "/kubepods/pod0f0e",
            "/kubepods/pod0f0e/api",
            "/kubepods/pod0f0e/pause",
            "/isotop-demo",
            "/isotop-demo/web",
        ]
    );
    app.update(Action::SortBy(7));
    assert_eq!(paths(&app)[1], "/isotop-demo", "6 MiB/s written below it");
}

/// The row and column where `text` starts on the screen.
fn find(screen: &[String], text: &str) -> Option<(usize, usize)> {
    screen
        .iter()
        .enumerate()
        .find_map(|(y, row)| row.find(text).map(|at| (y, row[..at].chars().count())))
}

/// The most braille cells on one line of the chart whose title starts at (`y`, `x`), between
/// its title and its x axis, over the chart's `width` cells.
fn longest_braille_line(screen: &[String], (y, x): (usize, usize), width: usize) -> usize {
    screen[y + 1..]
        .iter()
        .take_while(|row| !row.chars().skip(x).take(width).any(|c| c == '└'))
        .map(|row| {
            row.chars()
                .skip(x)
                .take(width)
                .filter(|c| ('\u{2801}'..='\u{28ff}').contains(c))
                .count()
        })
        .max()
        .unwrap_or(0)
}

/// An app fed frames 0..=30, each changed by `edit`, with web's detail pane open.
fn web_detail(edit: impl Fn(&mut Frame)) -> (App, History) {
    let mut app = App::new(Duration::from_secs(600));
    let mut history = History::new(Duration::from_secs(600));
    for seq in 0..=30 {
        let mut f = frame(seq, true);
        edit(&mut f);
        history.record(&f);
        app.on_frame(f);
    }
    select_by_filter(&mut app, "web");
    app.update(Action::Open);
    (app, history)
}

#[test]
fn the_disk_chart_draws_the_io_limit_as_a_line_and_names_the_devices() {
    let (mut app, history) = web_detail(|_| {});
    let screen = rows(&render(&mut app, &history, 160, 48));
    let title = "disk I/O (loop3 w≤10M/s, vda r≤500io/s) read write";
    let at = find(&screen, title).unwrap_or_else(|| panic!("no {title:?}:\n{}", screen.join("\n")));
    let width = 160 - at.1;
    // The 10 MiB/s write limit: a line across the whole plot, and the axis above it.
    assert!(
        longest_braille_line(&screen, at, width) * 10 >= (width - 8) * 9,
        "no limit line under {title:?}:\n{}",
        screen.join("\n")
    );
    assert!(screen[at.0 + 1].contains("12M/s"), "{}", screen[at.0 + 1]);
    assert!(
        find(&screen, "network rx tx").is_some(),
        "web's own namespace"
    );

    // Without limits: no such line (the rates vary), the axis fits the rates, the title says so.
    let (mut app, history) = web_detail(|f| {
        for c in &mut f.containers {
            c.io_limits = Some(Default::default());
        }
    });
    let screen = rows(&render(&mut app, &history, 160, 48));
    let at = find(&screen, "disk I/O (no limit) read write").expect("the title without limits");
    let width = 160 - at.1;
    assert!(
        longest_braille_line(&screen, at, width) * 2 < width,
        "a line across an unlimited chart:\n{}",
        screen.join("\n")
    );
    assert!(screen[at.0 + 1].contains("11M/s"), "{}", screen[at.0 + 1]);
}

#[test]
fn a_pod_members_network_chart_says_the_namespace_is_shared() {
    let (mut app, history) = app_with_history(30);
    let api = app.frame().unwrap().containers[0].view.container.id.clone();
    select_by_filter(&mut app, &api);
    app.update(Action::Open);
    let screen = rows(&render(&mut app, &history, 160, 48));
    assert!(find(&screen, "network (netns shared by 2) rx tx").is_some());
    assert!(find(&screen, "rx 2.0M/s tx 640K/s (netns shared by 2)").is_some());
}

#[test]
fn traffic_charts_take_a_third_row_a_fourth_column_or_wait_for_room() {
    let place = |width, height| {
        let (mut app, history) = web_detail(|_| {});
        let screen = rows(&render(&mut app, &history, width, height));
        (
            find(&screen, "CPU% (quota 50%)"),
            find(&screen, "memory (limit 256M)"),
            find(&screen, "network rx"),
            find(&screen, "disk I/O"),
            find(&screen, "disk io   read").is_some(),
        )
    };
    // Tall: a third row, network and disk side by side under the memory row.
    let (cpu, memory, network, disk, facts) = place(160, 48);
    let (cpu, memory, network, disk) = (
        cpu.unwrap(),
        memory.unwrap(),
        network.unwrap(),
        disk.unwrap(),
    );
    assert!(network.0 > memory.0 && network.0 == disk.0 && disk.1 > network.1);
    assert_eq!(network.1, cpu.1, "the row starts where the others do");
    assert!(facts);
    // Wide but short: a fourth column, network beside CPU, disk beside memory.
    let (cpu, memory, network, disk, _) = place(160, 30);
    let (cpu, memory, network, disk) = (
        cpu.unwrap(),
        memory.unwrap(),
        network.unwrap(),
        disk.unwrap(),
    );
    assert_eq!((network.0, disk.0), (cpu.0, memory.0));
    assert!(network.1 > cpu.1 && disk.1 == network.1);
    // Neither: the six charts as they were, the figures in the facts.
    for (width, height) in [(120, 30), (80, 24)] {
        let (cpu, _, network, disk, facts) = place(width, height);
        assert!(
            cpu.is_some() && network.is_none() && disk.is_none(),
            "{width}x{height}"
        );
        assert!(facts, "{width}x{height}");
    }
}

#[test]
fn a_cgroups_pane_has_the_disk_chart_alone_with_its_limits() {
    let (mut app, history) = app_with_history(30);
    app.update(Action::ShowTab(Tab::Cgroups));
    select_by_filter(&mut app, "/isotop-demo/web");
    app.update(Action::Open);
    let screen = rows(&render(&mut app, &history, 160, 48));
    let disk = find(
        &screen,
        "disk I/O (loop3 w≤10M/s, vda r≤500io/s) read write",
    )
    .expect("the cgroup's disk chart");
    let memory = find(&screen, "memory (limit 256M)").expect("the memory chart");
    assert!(
        disk.0 > memory.0 && disk.1 == memory.1,
        "the whole third row"
    );
    assert!(
        find(&screen, "network").is_none(),
        "a cgroup has no network"
    );
    assert!(find(&screen, "io limit  loop3 w≤10M/s, vda r≤500io/s").is_some());
    assert!(find(&screen, "disk io   read 256K/s write 6.0M/s").is_some());
}
