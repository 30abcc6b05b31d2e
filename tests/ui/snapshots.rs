//! Pictures of every view, drawn with ratatui's TestBackend from fixture frames (fixed clocks
//! and names) at 80×24 and 160×48, compared with the committed insta snapshots in
//! `tests/ui/snapshots/`. A changed drawing fails the test (insta writes a `.snap.new` beside the
//! old one to review); CI (`CI=true`) also fails on a missing snapshot.

use crate::support::{drive, fixture};

use isotop::ui::theme::{Theme, ThemeName};
use isotop::ui::{Action, Tab};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use drive::{render, render_with};
use fixture::{app_with_history, frame};

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

fn snapshot_each_size(name: &str, actions: &[Action]) {
    for (width, height) in SIZES {
        let (mut app, history) = app_with_history(30);
        for action in actions {
            app.update(*action);
        }
        let terminal = render(&mut app, &history, width, height);
        insta::assert_snapshot!(format!("{name}_{width}x{height}"), terminal.backend());
    }
}

#[test]
fn containers_view() {
    // web selected, under the pod's row and its two containers.
    snapshot_each_size("containers", &[Action::Down, Action::Down, Action::Down]);
}

/// At 230 columns every column is drawn: pressure and refused forks, network and block I/O
/// too.
#[test]
fn containers_view_at_230_columns() {
    let (mut app, history) = app_with_history(30);
    let terminal = render(&mut app, &history, 230, 30);
    insta::assert_snapshot!("containers_230x30", terminal.backend());
}

/// The config's `[containers] hide` columns are not drawn (the rest take their room), and
/// `s` steps over them.
#[test]
fn containers_view_with_hidden_columns() {
    let config = isotop::ui::config::Config::parse(
        "[containers]\nhide = [\"thr%\", \"RUNTIME\"]\n",
        std::path::Path::new("c.toml"),
    )
    .unwrap();
    let (mut app, history) = app_with_history(30);
    app.hide_container_columns(config.hidden_container_columns);
    // RUNTIME is sort index 2: from ID (0), NAME (1), `s` goes to PID (3).
    for _ in 0..3 {
        app.update(Action::SortNext);
    }
    let terminal = render(&mut app, &history, 200, 30);
    insta::assert_snapshot!("containers_hidden_columns_200x30", terminal.backend());
}

#[test]
fn cgroups_view() {
    snapshot_each_size(
        "cgroups",
        &[
            Action::ShowTab(Tab::Cgroups),
            Action::End,
            Action::Up,
            Action::Up,
            Action::Collapse,
        ],
    );
}

#[test]
fn namespaces_view() {
    // The pod's shared net namespace: api and pause are highlighted in the matrix.
    let mut actions = vec![Action::ShowTab(Tab::Namespaces), Action::Filter];
    actions.extend("4026532103".chars().map(Action::TypeChar));
    actions.push(Action::Open);
    snapshot_each_size("namespaces", &actions);
}

#[test]
fn processes_view() {
    snapshot_each_size(
        "processes",
        &[Action::ShowTab(Tab::Processes), Action::Down, Action::Down],
    );
}

#[test]
fn detail_pane() {
    // web: CPU with its 50% quota line, memory with its 256M limit line, pids with 100.
    snapshot_each_size(
        "detail",
        &[
            Action::Down,
            Action::Down,
            Action::Down,
            Action::Open,
            Action::ZoomIn,
            Action::ZoomIn,
            Action::ZoomIn,
        ],
    );
}

#[test]
fn layers_pane() {
    // api: containerd snapshots, one being sized, one failed, one shared with pause; the
    // writable layer's growth over the last minute.
    snapshot_each_size(
        "layers",
        &[
            Action::Down,
            Action::DetailPane,
            Action::ZoomIn,
            Action::ZoomIn,
            Action::ZoomIn,
        ],
    );
}

#[test]
fn mounts_pane() {
    // api: its overlay root, a volume, /etc/hosts, /dev/shm, a secret; the kernel's counted.
    snapshot_each_size(
        "mounts",
        &[Action::Down, Action::DetailPane, Action::DetailPane],
    );
}

#[test]
fn help_overlay() {
    snapshot_each_size("help", &[Action::Help]);
}

#[test]
fn gone_container_in_table_and_detail() {
    let (mut app, mut history) = app_with_history(10);
    app.update(Action::Down);
    app.update(Action::Down);
    app.update(Action::Down);
    let vanished = frame(11, false);
    history.record(&vanished);
    app.on_frame(vanished);
    let table = render(&mut app, &history, 80, 24);
    insta::assert_snapshot!("gone_table_80x24", table.backend());
    app.update(Action::Open);
    let detail = render(&mut app, &history, 80, 24);
    insta::assert_snapshot!("gone_detail_80x24", detail.backend());
}

#[test]
fn no_color_draws_no_colour() {
    use ratatui::style::Color;
    let theme = Theme::new(ThemeName::Dark, true);
    for tab in Tab::ALL {
        let (mut app, history) = app_with_history(30);
        app.update(Action::ShowTab(tab));
        if tab == Tab::Containers {
            app.update(Action::Down); // off the pod's row (Enter folds it) to a container
        }
        app.update(Action::Open);
        let terminal = render_with(&mut app, &history, &theme, 160, 48);
        let buffer = terminal.backend().buffer();
        let coloured = buffer
            .content()
            .iter()
            .filter(|c| c.fg != Color::Reset || c.bg != Color::Reset)
            .count();
        assert_eq!(coloured, 0, "{tab:?}: cells with a colour under NO_COLOR");
    }
    // And the coloured theme does colour (so the check above can fail).
    let (mut app, history) = app_with_history(30);
    let terminal = render(&mut app, &history, 160, 48);
    assert!(
        terminal
            .backend()
            .buffer()
            .content()
            .iter()
            .any(|c| c.fg != Color::Reset)
    );
}

#[test]
fn tiny_and_huge_terminals_do_not_panic() {
    for (w, h) in [(1, 1), (20, 5), (40, 10), (80, 24), (400, 120)] {
        for tab in Tab::ALL {
            for open in [false, true] {
                let (mut app, history) = app_with_history(5);
                app.update(Action::ShowTab(tab));
                if open {
                    app.update(Action::Open);
                }
                app.update(Action::Help);
                render(&mut app, &history, w, h);
                app.update(Action::Help);
                render(&mut app, &history, w, h);
            }
        }
    }
}

#[test]
fn status_line_says_what_root_would_add_and_shows_warnings() {
    let status = |terminal: &Terminal<TestBackend>| {
        let buffer = terminal.backend().buffer();
        let y = buffer.area.height - 1;
        (0..buffer.area.width)
            .map(|x| buffer[(x, y)].symbol().to_string())
            .collect::<String>()
    };
    let (mut app, history) = app_with_history(0);
    let mut f = frame(1, true);
    f.warnings = vec!["cgroups not shown: no mount".into(), "second".into()];
    app.on_frame(f.clone());
    let terminal = render(&mut app, &history, 160, 48);
    assert!(
        status(&terminal).contains("cgroups not shown: no mount (+1 more)"),
        "{}",
        status(&terminal)
    );
    f.host.is_root = false;
    app.on_frame(f);
    let terminal = render(&mut app, &history, 160, 48);
    let line = status(&terminal);
    assert!(
        line.contains("not root: read-only — root would add"),
        "{line}"
    );
    let header = terminal.backend().buffer().content()[..160]
        .iter()
        .map(|c| c.symbol())
        .collect::<String>();
    assert!(header.contains("not root (read-only)"), "{header}");
}
