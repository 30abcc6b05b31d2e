//! The `5 Network` view through `App::update` and drawn on ratatui's `TestBackend`, on the
//! fixture's networks (`tests/shared/fixture/net.rs`: `docker0` with ports to `web`, to the pod
//! `api`+`pause` and to a namespace held by `dnsmasq`, a veth pair to `/run/netns/blue`, the
//! host's namespace and a sandbox's with only `lo`): the rows and their order, the map asked
//! of the sampler exactly while the view shows, the selection kept by identity when the map
//! changes, the filter and a sort, the detail pane of the selected row's namespace, `e` and
//! `y` on its rows, the view before the map arrives; snapshots at 80, 120 and 200 columns.

use crate::support::{drive, fixture};

use isotop::sample::Frame;
use isotop::ui::acts::Request;
use isotop::ui::app::acts::Prompt;
use isotop::ui::app::copy::CopyField;
use isotop::ui::app::rows::network::facts::{Traffic, facts};
use isotop::ui::{Action, App, Tab};

use drive::{render, type_text};
use fixture::net::{HOST_NET, POD_NET, WEB_NET};
use fixture::{app_with_history, frame};

/// The Network view's rows as their INTERFACE cell names them.
fn row_names(app: &App) -> Vec<String> {
    let frame = app.frame().unwrap();
    let map = frame.net_map.as_deref().expect("the fixture carries a map");
    let traffic = Traffic::new(&frame.networks);
    app.rows()
        .network
        .iter()
        .map(|&row| facts(map, &traffic, row).name)
        .collect()
}

/// The app on the Network view with `name`'s row selected.
fn network_app_at(name: &str) -> App {
    let (mut app, _) = app_with_history(5);
    app.update(Action::ShowTab(Tab::Network));
    let at = row_names(&app)
        .iter()
        .position(|n| n == name)
        .unwrap_or_else(|| panic!("no row {name} in {:?}", row_names(&app)));
    app.update(Action::Home);
    for _ in 0..at {
        app.update(Action::Down);
    }
    app
}

fn screen(app: &mut App, width: u16, height: u16) -> String {
    let (_, history) = app_with_history(0);
    render(app, &history, width, height).backend().to_string()
}

#[test]
fn rows_are_bridges_with_their_ports_then_pairs_then_unlinked_namespaces() {
    let (mut app, _) = app_with_history(3);
    app.update(Action::ShowTab(Tab::Network));
    assert_eq!(
        row_names(&app),
        vec![
            "docker0",
            "veth1a2b3c4",
            "veth4d5e6f7",
            "veth7a8b9c0",
            "veth pairs on no bridge (1)",
            "veth-blue",
            "namespaces: the host's, and those on no bridge or pair",
            &format!("netns {HOST_NET}"),
            "netns 4026532703",
        ],
        "the namespaces at ports' and pairs' far ends are their rows, not listed again"
    );
    let frame = app.frame().unwrap();
    let map = frame.net_map.as_deref().unwrap();
    let traffic = Traffic::new(&frame.networks);
    let port = |i: usize| facts(map, &traffic, app.rows().network[i]);
    assert_eq!(port(1).peer, "eth0");
    assert_eq!(port(1).who, "web");
    assert_eq!(port(1).address, "172.17.0.2/16");
    assert_eq!(
        port(2).who,
        "pod default/api-7d9f: api, pause",
        "a pod once"
    );
    assert_eq!(port(3).who, "pid 520 dnsmasq", "no container: its holder");
    assert_eq!(port(5).who, "/run/netns/blue", "no process: its mount");
    assert_eq!(port(8).peer, "lo only");
    // Rates from `Frame::networks`: the far end's, as it sees them (web receives 180 KiB/s).
    assert_eq!(port(1).rx_bytes_per_second, Some(180.0 * 1024.0));
    assert_eq!(port(1).tx_bytes_per_second, Some(2.0 * 1024.0 * 1024.0));
}

#[test]
fn the_map_is_asked_for_exactly_while_the_view_shows() {
    let (mut app, _) = app_with_history(0);
    assert_eq!(
        app.take_net_map_wanted(),
        None,
        "not asked on the Containers view"
    );
    app.update(Action::ShowTab(Tab::Network));
    assert_eq!(app.take_net_map_wanted(), Some(true));
    assert_eq!(app.take_net_map_wanted(), None, "taken once");
    app.update(Action::ShowTab(Tab::Network));
    app.update(Action::Down);
    assert_eq!(
        app.take_net_map_wanted(),
        None,
        "staying on it asks nothing more"
    );
    app.update(Action::NextTab);
    assert_eq!(app.tab(), Tab::Events);
    assert_eq!(
        app.take_net_map_wanted(),
        Some(false),
        "leaving it stops the map"
    );
    app.update(Action::ShowTab(Tab::Cgroups));
    assert_eq!(
        app.take_net_map_wanted(),
        None,
        "between other views: nothing"
    );
    // There and back before the loop takes it: the last word counts.
    app.update(Action::ShowTab(Tab::Network));
    app.update(Action::ShowTab(Tab::Processes));
    assert_eq!(app.take_net_map_wanted(), Some(false));
    app.update(Action::NextTab);
    assert_eq!(app.tab(), Tab::Network);
    assert_eq!(
        app.take_net_map_wanted(),
        Some(true),
        "Tab onto it asks too"
    );
}

#[test]
fn a_click_on_its_tab_asks_for_the_map() {
    let (mut app, history) = app_with_history(0);
    render(&mut app, &history, 120, 30);
    // The tab bar is the line under the header: find the tab's cell in the drawing.
    let drawn = render(&mut app, &history, 120, 30).backend().to_string();
    let (row, line) = drawn
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains("5 Network"))
        .expect("the tab bar shows 5 Network");
    let column = line.trim_start_matches('"').find("5 Network").unwrap();
    app.update(Action::Click {
        column: column as u16,
        row: row as u16,
    });
    assert_eq!(app.tab(), Tab::Network);
    assert_eq!(app.take_net_map_wanted(), Some(true));
}

#[test]
fn the_selection_stays_on_its_row_when_the_map_changes() {
    let mut app = network_app_at("veth7a8b9c0");
    let before = app.selected_key().map(String::from);
    assert_eq!(
        before.as_deref(),
        Some(format!("port:{HOST_NET}:docker0:veth7a8b9c0").as_str())
    );
    // The next map has the dnsmasq port first (say a bridge's ports came back in another
    // order): the selection follows the port, not the index.
    let mut next: Frame = frame(6, true);
    let mut map = (*next.net_map.take().unwrap()).clone();
    map.bridges[0].ports.reverse();
    next.net_map = Some(std::sync::Arc::new(map));
    app.on_frame(next);
    assert_eq!(app.selected_key().map(String::from), before);
    assert_eq!(
        row_names(&app)[app.list(Tab::Network).selected],
        "veth7a8b9c0"
    );
    // A frame without the map (the sampler has not read it yet): no rows, and the selection
    // comes back with the map.
    let mut bare = frame(7, true);
    bare.net_map = None;
    app.on_frame(bare);
    assert!(app.rows().network.is_empty());
    app.on_frame(frame(8, true));
    assert_eq!(
        row_names(&app)[app.list(Tab::Network).selected],
        "veth7a8b9c0"
    );
}

#[test]
fn the_filter_keeps_matching_rows_with_their_bridge_and_heading() {
    let (mut app, _) = app_with_history(0);
    app.update(Action::ShowTab(Tab::Network));
    app.update(Action::Filter);
    type_text(&mut app, "dnsmasq");
    assert_eq!(row_names(&app), vec!["docker0", "veth7a8b9c0"]);
    app.update(Action::Back);
    app.update(Action::Filter);
    type_text(&mut app, "blue");
    assert_eq!(
        row_names(&app),
        vec!["veth pairs on no bridge (1)", "veth-blue"]
    );
    app.update(Action::Back);
    app.update(Action::Filter);
    type_text(&mut app, &POD_NET.to_string());
    assert_eq!(
        row_names(&app),
        vec!["docker0", "veth4d5e6f7"],
        "a namespace's inode finds the port leading to it"
    );
    app.update(Action::Back);
    app.update(Action::Filter);
    type_text(&mut app, "docker0");
    assert_eq!(
        row_names(&app).len(),
        4,
        "a bridge that matches keeps all its ports"
    );
}

#[test]
fn sorting_by_rx_orders_each_bridges_ports() {
    let (mut app, _) = app_with_history(3);
    app.update(Action::ShowTab(Tab::Network));
    app.update(Action::SortBy(6));
    let names = row_names(&app);
    // web receives 180 KiB/s, the pod 40 KiB/s, dnsmasq 600 B/s.
    assert_eq!(&names[1..4], ["veth1a2b3c4", "veth4d5e6f7", "veth7a8b9c0"]);
    app.update(Action::SortReverse);
    let names = row_names(&app);
    assert_eq!(&names[1..4], ["veth7a8b9c0", "veth4d5e6f7", "veth1a2b3c4"]);
    assert_eq!(
        names[7],
        format!("netns {HOST_NET}"),
        "the host's namespace heads its section in any order"
    );
}

#[test]
fn the_detail_pane_is_the_far_ends_namespace() {
    let mut app = network_app_at("veth1a2b3c4");
    let target = app.network_target().unwrap();
    assert_eq!(target.netns, WEB_NET);
    assert_eq!(target.interface.as_deref(), Some("eth0"));
    let drawn = screen(&mut app, 120, 40);
    for expected in [
        &format!("netns {WEB_NET} · web"),
        "contains  web (runc web)",
        "eth0  veth up  mtu 1500  02:42:ac:11:00:02  ↔ veth1a2b3c4",
        "172.17.0.2/16",
        "default via 172.17.0.1 dev eth0",
        "172.17.0.0/16 dev eth0 proto kernel scope link src 172.17.0.2",
    ] {
        assert!(drawn.contains(expected), "`{expected}` not in:\n{drawn}");
    }
    // The bridge's row: the host's namespace, docker0 first.
    app.update(Action::Home);
    assert_eq!(app.network_target().unwrap().netns, HOST_NET);
    // Enter gives it the whole screen, Esc takes it back.
    app.update(Action::Open);
    assert!(app.detail_open());
    let drawn = screen(&mut app, 120, 40);
    assert!(drawn.contains("default via 10.0.2.2 dev eth0 proto dhcp src 10.0.2.15 metric 100"));
    assert!(
        !drawn.contains("AT THE OTHER END"),
        "the list is not drawn:\n{drawn}"
    );
    app.update(Action::Back);
    assert!(!app.detail_open());
    // A heading has no namespace: Enter says so, its pane tells the map's notes.
    let mut app = network_app_at("veth pairs on no bridge (1)");
    app.update(Action::Open);
    assert!(!app.detail_open());
    let drawn = screen(&mut app, 120, 40);
    assert!(drawn.contains("netns 4026532803 (pid 777): gone before it could be read"));
}

#[test]
fn e_enters_the_one_container_at_a_rows_far_end() {
    let mut app = network_app_at("veth1a2b3c4");
    app.update(Action::Enter);
    match app.take_request() {
        Some(Request::Enter { view }) => assert_eq!(view.container.name, "web"),
        other => panic!("expected entering web, got {other:?}"),
    }
    let cases = [
        ("veth4d5e6f7", "2 containers share netns"),
        ("veth7a8b9c0", "no container in netns"),
        (
            &format!("netns {HOST_NET}") as &str,
            "the host's network namespace",
        ),
    ];
    for (row, said) in cases {
        let mut app = network_app_at(row);
        app.update(Action::Enter);
        assert!(app.take_request().is_none(), "{row}: nothing to enter");
        assert!(
            app.message().is_some_and(|m| m.contains(said)),
            "{row}: {:?}",
            app.message()
        );
    }
    let mut app = network_app_at("veth1a2b3c4");
    for key in [Action::LimitCpu, Action::FreezeToggle, Action::Kill] {
        app.update(key);
        assert!(app.take_request().is_none() && app.prompt().is_none());
        assert!(
            app.message()
                .unwrap()
                .contains("acts work on containers and cgroups")
        );
    }
}

#[test]
fn y_offers_the_namespace_interface_holder_and_address() {
    let mut app = network_app_at("veth1a2b3c4");
    app.update(Action::Copy);
    let choices = match app.prompt() {
        Some(Prompt::Copy(menu)) => menu.choices.clone(),
        other => panic!("expected the copy menu, got {other:?}"),
    };
    assert_eq!(
        choices,
        vec![
            (CopyField::Id, WEB_NET.to_string()),
            (CopyField::Name, "eth0".to_string()),
            (CopyField::Pid, "200".to_string()),
            (CopyField::Address, "172.17.0.2".to_string()),
        ]
    );
    app.update(Action::TypeChar('a'));
    assert_eq!(app.take_clipboard().as_deref(), Some("172.17.0.2"));
}

#[test]
fn before_the_map_arrives_the_view_says_it_is_read() {
    let (mut app, _) = app_with_history(0);
    let mut bare = frame(1, true);
    bare.net_map = None;
    app.on_frame(bare.clone());
    app.update(Action::ShowTab(Tab::Network));
    let drawn = screen(&mut app, 80, 24);
    assert!(drawn.contains("reading the network map…"), "{drawn}");
    insta::assert_snapshot!("network_waiting_80x24", drawn);
    // Not root, with the sampler's word on it: both said.
    bare.host.is_root = false;
    bare.warnings = vec!["network map: run isotop as root to read other namespaces".into()];
    app.on_frame(bare);
    let drawn = screen(&mut app, 80, 24);
    assert!(drawn.contains("not root: isotop reads only its own network namespace"));
    assert!(drawn.contains("network map: run isotop as root"), "{drawn}");
}

#[test]
fn snapshots_at_80_120_and_200_columns() {
    for (width, height) in [(80, 24), (120, 40), (200, 50)] {
        let (mut app, history) = app_with_history(30);
        app.update(Action::ShowTab(Tab::Network));
        // The pod's port: its namespace (api and pause) below.
        app.update(Action::Down);
        app.update(Action::Down);
        let terminal = render(&mut app, &history, width, height);
        insta::assert_snapshot!(format!("network_{width}x{height}"), terminal.backend());
    }
    let (mut app, history) = app_with_history(30);
    app.update(Action::ShowTab(Tab::Network));
    app.update(Action::Open);
    let terminal = render(&mut app, &history, 120, 40);
    insta::assert_snapshot!("network_host_detail_120x40", terminal.backend());
}

#[test]
fn a_map_with_nothing_read_shows_its_notes_not_an_empty_network() {
    let (mut app, _) = app_with_history(0);
    let mut refused = frame(1, true);
    refused.net_map = Some(std::sync::Arc::new(isotop::host::net::map::NetMap {
        host_netns: None,
        bridges: Vec::new(),
        pairs: Vec::new(),
        namespaces: Vec::new(),
        notes: vec!["netns 4026532003 (pid 200): not read: run isotop as root".into()],
    }));
    app.on_frame(refused);
    app.update(Action::ShowTab(Tab::Network));
    assert!(app.rows().network.is_empty());
    let drawn = screen(&mut app, 100, 30);
    assert!(
        drawn.contains("0 network namespaces on the host"),
        "{drawn}"
    );
    assert!(drawn.contains("netns 4026532003 (pid 200): not read: run isotop as root"));
}
