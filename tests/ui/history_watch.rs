//! The dashboard keeps history only for the cgroups a view can show (the cgroups tab's page,
//! a page either side, and the detail pane's): a cgroup far down the tree gets points from
//! the moment it comes on screen, containers always get theirs, and a cgroup that leaves the
//! screen keeps what it has.

use foldhash::HashSet;
use std::time::Duration;

use crate::support::fixture;
use isotop::sample::{Frame, History, SeriesKey};
use isotop::ui::app::{ListLayout, ScreenLayout};
use isotop::ui::{Action, App, Tab};
use ratatui::layout::Rect;

/// Extra leaf cgroups under one parent: many more than three pages of 10 rows.
const EXTRA: usize = 200;

/// The fixture's frame `seq` with [`EXTRA`] more cgroups.
fn crowded(seq: u64) -> Frame {
    let mut f = fixture::frame(seq, true);
    let mut parent = f.cgroups[1].clone();
    parent.path = "/isotop-many".into();
    parent.name = "isotop-many".into();
    parent.depth = 1;
    parent.has_children = true;
    parent.container_id = None;
    let mut extra = vec![parent.clone()];
    for i in 0..EXTRA {
        let mut g = parent.clone();
        g.path = format!("/isotop-many/c{i:03}");
        g.name = format!("c{i:03}");
        g.depth = 2;
        g.has_children = false;
        extra.push(g);
    }
    f.cgroups = f.cgroups.iter().cloned().chain(extra).collect();
    f.host.cgroups = f.cgroups.len();
    f
}

/// One tick as the loop runs it: history for the watched cgroups, then the App.
fn tick(app: &mut App, history: &mut History, seq: u64) {
    let f = crowded(seq);
    let watched: HashSet<String> = app
        .watched_cgroups()
        .into_iter()
        .map(String::from)
        .collect();
    history.record_only(&f, |path| watched.contains(path));
    app.on_frame(f);
}

fn points(history: &History, path: &str) -> usize {
    history.points(&SeriesKey::Cgroup(path.to_string())).count()
}

/// The path of the cgroups tab's row `row`.
fn path_at(app: &App, row: usize) -> String {
    let frame = app.frame().unwrap();
    frame.cgroups[app.rows().cgroups[row].index].path.clone()
}

/// What a drawing of the cgroups tab with 10 rows from `offset` tells the App.
fn drawn_at(app: &mut App, offset: usize) {
    app.set_layout(ScreenLayout {
        tabs: Vec::new(),
        list: Some(ListLayout {
            header: Rect::new(0, 5, 160, 1),
            rows: Rect::new(0, 6, 160, 10),
            offset,
            columns: Vec::new(),
        }),
    });
}

#[test]
fn a_cgroup_gets_history_from_when_it_comes_on_screen() {
    let mut app = App::new(Duration::from_secs(600));
    let mut history = History::new(Duration::from_secs(600));
    app.update(Action::ShowTab(Tab::Cgroups));
    tick(&mut app, &mut history, 0);
    drawn_at(&mut app, 0);
    for seq in 1..=5 {
        tick(&mut app, &mut history, seq);
    }
    let rows = app.rows().cgroups.len();
    assert!(rows > EXTRA, "every cgroup has a row ({rows})");
    let first = path_at(&app, 0);
    let last_row = rows - 1;
    let last = path_at(&app, last_row);
    assert_eq!(
        points(&history, &first),
        5,
        "on the page since the first drawing"
    );
    assert_eq!(
        points(&history, &last),
        0,
        "far below the page: no history kept"
    );
    let watched = app.watched_cgroups();
    assert_eq!(
        watched.len(),
        30,
        "three pages of 10 rows from the top: the page and one below"
    );
    assert!(
        history.len() < 40,
        "series kept: {} (of {rows} cgroups)",
        history.len()
    );
    for c in &app.frame().unwrap().containers {
        let key = SeriesKey::Container(c.view.container.id.clone());
        assert_eq!(
            history.points(&key).count(),
            6,
            "containers always get points"
        );
    }

    // The operator goes to the last row: the detail pane's cgroup is watched at once, and the
    // page drawn there too.
    app.update(Action::End);
    assert_eq!(app.list(Tab::Cgroups).selected, last_row);
    for seq in 6..=8 {
        tick(&mut app, &mut history, seq);
        drawn_at(&mut app, last_row - 9);
    }
    assert_eq!(
        points(&history, &last),
        3,
        "from the tick it came on screen"
    );
    let mid = path_at(&app, last_row - 5);
    assert_eq!(
        points(&history, &mid),
        2,
        "on the page from the first drawing there"
    );
    // The top row left the screen: it keeps its points (they age out), and gets no more.
    assert_eq!(points(&history, &first), 6);
}
