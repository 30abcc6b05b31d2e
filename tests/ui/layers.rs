//! The Layers part of a container's detail pane (`v`), drawn with ratatui's TestBackend from
//! fixture frames whose containers carry stacks and layer sizes (`fixture::stacks`): the stack
//! top to bottom with positions, owners of every store, sizes in each state, sharing and the
//! total; a root that is not overlay; a stack not read; strangers' text cleaned; a stack too
//! long for the screen; the writable layer's growth chart from the history. And `v` itself.

use crate::support::{drive, fixture};

use std::sync::Arc;

use isotop::sample::{Frame, History, LayerSize, SeriesKey};
use isotop::ui::app::DetailPane;
use isotop::ui::{Action, App, Tab};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use drive::{render, select_by_filter};
use fixture::stacks::{self, FAILED_REASON, SHOP_ID, snapshot};
use fixture::{app_with_history, app_with_layers, frame};

/// The screen's text, one string per row.
pub fn rows(terminal: &Terminal<TestBackend>) -> Vec<String> {
    let buffer = terminal.backend().buffer();
    (0..buffer.area.height)
        .map(|y| {
            (0..buffer.area.width)
                .map(|x| buffer[(x, y)].symbol().to_string())
                .collect()
        })
        .collect()
}

/// The id of the container named `name` in the app's frame.
pub fn id_of(app: &App, name: &str) -> String {
    app.frame()
        .and_then(|f| f.containers.iter().find(|c| c.view.container.name == name))
        .map(|c| c.view.container.id.clone())
        .unwrap_or_else(|| panic!("no container {name}"))
}

/// Opens `name`'s detail pane at `pane` (with `v`) and draws it at `width`×`height`.
pub fn pane_of(
    app: &mut App,
    history: &History,
    name: &str,
    pane: DetailPane,
    width: u16,
    height: u16,
) -> Vec<String> {
    let id = id_of(app, name);
    if app.detail_open() {
        app.update(Action::Back);
    }
    app.update(Action::Back); // the last filter
    select_by_filter(app, &id);
    app.update(Action::Open);
    for _ in 0..DetailPane::ALL.len() {
        if app.detail_pane() == pane {
            break;
        }
        app.update(Action::DetailPane);
    }
    assert_eq!(app.detail_pane(), pane);
    rows(&render(app, history, width, height))
}

/// The index of the first row containing every one of `parts`; panics with the screen.
pub fn row_with(screen: &[String], parts: &[&str]) -> usize {
    screen
        .iter()
        .position(|row| parts.iter().all(|p| row.contains(p)))
        .unwrap_or_else(|| panic!("no row with {parts:?} in\n{}", screen.join("\n")))
}

#[test]
fn layers_pane_draws_the_stack_top_to_bottom_with_owners_sizes_and_sharing() {
    for (width, height) in [(80, 24), (160, 48)] {
        let (mut app, history) = app_with_history(30);
        let screen = pane_of(&mut app, &history, "api", DetailPane::Layers, width, height);
        let title = row_with(&screen, &["api (kubernetes)", "layers (v)"]);
        let root = row_with(&screen, &["root", "overlay rw  host ", "/57/merged"]);
        let header = row_with(&screen, &["LAYER", "OWNER", "SIZE", "SHARED"]);
        // writable = snapshot 57 grown to (4 + 30) MiB by frame 30, then the lowers, top first.
        let writable = row_with(
            &screen,
            &["writable", "containerd snapshot 57 api", "34M 210 files"],
        );
        let lower1 = row_with(
            &screen,
            &["lower 1", "containerd snapshot 52", "sizing… 3120 files"],
        );
        let lower2 = row_with(
            &screen,
            &["lower 2", "containerd snapshot 51", "failed: permission"],
        );
        let lower3 = row_with(
            &screen,
            &[
                "lower 3",
                "containerd snapshot 50",
                "5.5M 480 files",
                "shared ×2",
            ],
        );
        assert!(title < root && root < header && header < writable);
        assert!(writable < lower1 && lower1 < lower2 && lower2 < lower3);
        for row in [writable, lower1, lower2] {
            assert!(!screen[row].contains("shared"), "{}", screen[row]);
        }
        let total = row_with(
            &screen,
            &["total", "writable 34M · image ≥5.5M (1 of 3 layers sized)"],
        );
        assert!(total > lower3);
        // The whole reason, cleaned of the escape a stranger's path carried.
        let failed = row_with(&screen, &["lower 2 not sized: permission denied"]);
        assert!(screen[failed].contains("/var/lib/containerd/x?[2J"));
        assert!(!screen.concat().contains('\u{1b}'));
        // containerd's names are in its bolt db: said once.
        let notes = screen
            .iter()
            .filter(|r| r.contains("bolt db (metadata.db)"))
            .count();
        assert_eq!(notes, 1);
        row_with(&screen, &["writable layer on disk (now 34M)"]);
    }
}

#[test]
fn a_queued_layer_and_the_shared_snapshot_from_the_other_side() {
    let (mut app, history) = app_with_history(3);
    let screen = pane_of(&mut app, &history, "pause", DetailPane::Layers, 80, 24);
    row_with(
        &screen,
        &["writable", "containerd snapshot 60 pause", "queued"],
    );
    row_with(
        &screen,
        &["lower 1", "snapshot 50", "5.5M 480 files", "shared ×2"],
    );
    row_with(&screen, &["total", "writable queued · image 5.5M"]);
    row_with(&screen, &["writable layer on disk (not sized yet)"]);
}

#[test]
fn docker_containers_storage_and_isotop_owners() {
    let (mut app, history) = app_with_layers(2);
    let shop = pane_of(&mut app, &history, "shop", DetailPane::Layers, 160, 48);
    let short = &SHOP_ID[..12];
    row_with(
        &shop,
        &["writable", &format!("docker {short} shop"), "12M 340 files"],
    );
    row_with(
        &shop,
        &[
            "lower 1",
            &format!("docker {short} shop init"),
            "8.0K 6 files",
        ],
    );
    // nginx's layers: its first tag and how many more names, shared with `cart`.
    row_with(
        &shop,
        &[
            "lower 2",
            "docker a1b2c3000000 nginx:1.25 +1",
            "60M 1500 files",
            "shared ×2",
        ],
    );
    // A walk that left something out is a floor.
    row_with(&shop, &["lower 3", "≥70M 4200 files", "shared ×2"]);
    row_with(&shop, &["total", "writable 12M · image 130M"]);
    assert!(
        !shop.concat().contains("bolt db"),
        "no containerd layer here"
    );

    let cart = pane_of(&mut app, &history, "cart", DetailPane::Layers, 160, 48);
    row_with(
        &cart,
        &["writable", "docker ca2700000000 cart", "sizing… 77 files"],
    );
    row_with(
        &cart,
        &[
            "total",
            "writable sizing… · image ≥130M (2 of 3 layers sized)",
        ],
    );

    // Rootless Podman: names from a store under a home are that user's claims.
    let db = pane_of(&mut app, &history, "db", DetailPane::Layers, 160, 48);
    row_with(&db, &["writable", "c/storage c0ffee111111 !db"]);
    row_with(
        &db,
        &[
            "lower 1",
            "c/storage d00dad111111 !docker.io/library/postgres:16",
        ],
    );
    row_with(&db, &["data 1", "c/storage da7a00111111"]);
    row_with(
        &db,
        &["!: names from files another user could have written"],
    );
    row_with(&db, &["total", "writable - · image not sized"]);

    let demo = pane_of(&mut app, &history, "demo", DetailPane::Layers, 160, 48);
    row_with(&demo, &["writable", "isotop de7000000000 demo"]);
    // isotop names an image by its path: shown whole, not cut like a digest.
    row_with(
        &demo,
        &["lower 1", "isotop eeeeeeeeeeee /srv/images/busybox.tar"],
    );
}

#[test]
fn a_root_that_is_not_overlay_says_it_has_no_layers() {
    let (mut app, history) = app_with_history(3);
    let screen = pane_of(&mut app, &history, "web", DetailPane::Layers, 80, 24);
    row_with(
        &screen,
        &["root", "ext4 /dev/sda1 ro", "host /srv/bundles/web/rootfs"],
    );
    row_with(&screen, &["not overlay: its root (ext4) has no layers"]);
    assert!(!screen.concat().contains("LAYER"), "no layer table");
    assert!(
        !screen.concat().contains("writable layer on disk"),
        "no chart"
    );
}

#[test]
fn a_stack_not_read_says_why() {
    let (mut app, history) = app_with_history(3);
    for pane in [DetailPane::Layers, DetailPane::Mounts] {
        let screen = pane_of(&mut app, &history, "scratch", pane, 80, 24);
        row_with(&screen, &["root and mounts not read yet"]);
    }
    // A stopped container has no mount namespace to read.
    let mut stopped = frame(4, true);
    let web = stopped
        .containers
        .iter_mut()
        .find(|c| c.view.container.name == "web")
        .unwrap();
    web.stack = None;
    web.view.state = isotop::host::scan::ContainerState::Stopped;
    app.on_frame(stopped);
    let screen = pane_of(&mut app, &history, "web", DetailPane::Layers, 80, 24);
    row_with(&screen, &["stopped: no process, so no mount namespace"]);
}

/// A frame whose `api` has `lowers` lower layers named by a stranger's tags.
fn long_stack(lowers: usize) -> Frame {
    let mut f = frame(5, true);
    let api = f
        .containers
        .iter_mut()
        .find(|c| c.view.container.name == "api")
        .unwrap();
    let mut stack = (**api.stack.as_ref().unwrap()).clone();
    let template = stack.layers[1].clone();
    stack.layers.truncate(1);
    for n in 1..=lowers {
        let mut layer = template.clone();
        layer.dir = snapshot(1000 + n as u32);
        layer.position = isotop::host::stack::LayerPosition::Lower(n);
        if let Some(owner) = layer.owner.as_mut() {
            owner.dir = layer.dir.clone();
            owner.id = Some((1000 + n).to_string());
            owner.images = vec![isotop::host::layers::ImageName {
                id: "x".into(),
                tags: vec![format!("evil\u{1b}]52;c;AAAA\u{7}\u{202e}:{n}")],
            }];
        }
        stack.layers.push(layer);
    }
    api.stack = Some(Arc::new(stack));
    f
}

#[test]
fn a_stack_too_long_for_the_screen_says_how_many_more_and_text_is_cleaned() {
    let (mut app, history) = app_with_history(3);
    app.on_frame(long_stack(40));
    let screen = pane_of(&mut app, &history, "api", DetailPane::Layers, 80, 24);
    row_with(&screen, &["writable", "snapshot 57"]);
    row_with(&screen, &["lower 1", "snapshot 1001", "evil?]52;c;AAAA"]);
    let more = row_with(&screen, &["more: isotop inspect api012345678"]);
    let shown = screen
        .iter()
        .filter(|r| r.contains("lower ") && r.contains("snapshot 10"))
        .count();
    assert!(shown >= 3, "some lowers shown: {shown}");
    assert!(
        screen[more].contains(&format!("… {} more:", 40 - shown)),
        "{}",
        screen[more]
    );
    // The total line stays; the chart keeps its least rows below.
    let total = row_with(&screen, &["total", "writable"]);
    assert!(total > more);
    row_with(&screen, &["writable layer on disk"]);
    let text = screen.concat();
    assert!(!text.contains('\u{1b}') && !text.contains('\u{202e}') && !text.contains('\u{7}'));
    // Wide, the whole tag: each control and the bidi override one `?`.
    let screen = pane_of(&mut app, &history, "api", DetailPane::Layers, 160, 48);
    row_with(
        &screen,
        &["lower 2", "snapshot 1002", "evil?]52;c;AAAA??:2"],
    );
}

/// The chart's area: the rows from its title down.
fn chart_rows(screen: &[String]) -> Vec<String> {
    let title = row_with(screen, &["writable layer on disk"]);
    screen[title + 1..].to_vec()
}

fn braille(rows: &[String]) -> usize {
    rows.concat()
        .chars()
        .filter(|c| ('\u{2801}'..='\u{28ff}').contains(c))
        .count()
}

#[test]
fn the_growth_chart_plots_the_writable_layer_from_the_history_on_the_charts_span() {
    let (app, history) = app_with_history(30);
    let api = SeriesKey::Container(id_of(&app, "api"));
    let points: Vec<Option<u64>> = history.points(&api).map(|p| p.writable_bytes).collect();
    assert_eq!(points.len(), 31);
    assert_eq!(points[0], Some(4 << 20));
    assert_eq!(points[30], Some(34 << 20));
    // Zoomed to one minute as the other charts: the axis says so, the line fills it.
    let (mut zoomed, _) = app_with_history(0);
    for _ in 0..3 {
        zoomed.update(Action::ZoomIn);
    }
    zoomed.on_frame(frame(30, true));
    let screen = pane_of(&mut zoomed, &history, "api", DetailPane::Layers, 80, 24);
    let chart = chart_rows(&screen);
    row_with(&chart, &["-1m", "now"]);
    let plotted = braille(&chart);
    assert!(plotted > 10, "a line of the growth:\n{}", chart.join("\n"));
    // The top of the y axis is above the last point (34M).
    assert!(chart[0].starts_with("39M"), "{}", chart[0]);
    // Without history there is nothing to plot.
    let empty = History::new(std::time::Duration::from_secs(600));
    let screen = pane_of(&mut zoomed, &empty, "api", DetailPane::Layers, 80, 24);
    let chart = chart_rows(&screen);
    assert_eq!(braille(&chart), 0);
    row_with(&chart, &["no samples yet"]);
}

#[test]
fn v_steps_charts_layers_mounts_and_opens_a_closed_pane_at_the_layers() {
    let (mut app, _) = app_with_history(3);
    let api = id_of(&app, "api");
    select_by_filter(&mut app, &api);
    assert!(!app.detail_open());
    app.update(Action::DetailPane);
    assert!(app.detail_open());
    assert_eq!(app.detail_pane(), DetailPane::Layers);
    app.update(Action::DetailPane);
    assert_eq!(app.detail_pane(), DetailPane::Mounts);
    app.update(Action::DetailPane);
    assert_eq!(app.detail_pane(), DetailPane::Charts);
    app.update(Action::DetailPane);
    // Closing and reopening keeps the operator's choice; so does another container.
    app.update(Action::Back);
    app.update(Action::Open);
    assert_eq!(app.detail_pane(), DetailPane::Layers);
    // A cgroup has no layers: `v` says so and changes nothing.
    app.update(Action::ShowTab(Tab::Cgroups));
    app.update(Action::Open);
    app.update(Action::DetailPane);
    assert_eq!(app.detail_pane(), DetailPane::Layers);
    assert!(
        app.message().is_some_and(|m| m.contains("a container's")),
        "{:?}",
        app.message()
    );
    // The cgroup's pane draws its charts whatever `v` chose for containers.
    let (_, history) = app_with_history(3);
    let screen = rows(&render(&mut app, &history, 80, 24));
    row_with(&screen, &["CPU%"]);
    assert!(!screen.concat().contains("layers (v)"));
}

#[test]
fn the_help_lists_v_from_the_keymap() {
    let keymap = isotop::ui::Keymap::default();
    assert!(
        keymap
            .help()
            .iter()
            .any(|(keys, what)| keys == "v" && *what == "detail: charts / layers / mounts")
    );
}

#[test]
fn layer_sizes_are_looked_up_by_the_layer_key() {
    // A Docker layer mounted by its `l/` link is sized under the owner's resolved dir.
    let (mut app, history) = app_with_layers(1);
    let mut f = fixture::layers_frame(2);
    let shop = f
        .containers
        .iter_mut()
        .find(|c| c.view.container.name == "shop")
        .unwrap();
    let mut stack = (**shop.stack.as_ref().unwrap()).clone();
    stack.layers[2].dir = format!("{}/l/ABCDEF", stacks::DOCKER).into();
    shop.stack = Some(Arc::new(stack));
    let key = f
        .containers
        .iter()
        .find(|c| c.view.container.name == "shop")
        .unwrap();
    let key = key.stack.as_ref().unwrap().layers[2].key().to_path_buf();
    let mut sizes = (*f.layer_sizes).clone();
    sizes.insert(
        key,
        LayerSize::Failed {
            reason: FAILED_REASON.into(),
        },
    );
    f.layer_sizes = Arc::new(sizes);
    app.on_frame(f);
    let screen = pane_of(&mut app, &history, "shop", DetailPane::Layers, 160, 48);
    row_with(&screen, &["lower 2", "nginx:1.25", "failed: permission"]);
    row_with(&screen, &["lower 2 not sized: permission denied"]);
}
