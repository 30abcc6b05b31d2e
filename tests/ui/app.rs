//! `App::update` without a terminal: navigation, tabs, filter, sort, folds, selection kept by
//! identity and through a vanishing container, help, the detail pane, mouse clicks.

use crate::support::{drive, fixture};

use isotop::ui::app::Target;
use isotop::ui::app::rows::ContainerRow;
use isotop::ui::{Action, Tab};

use fixture::{app_with_history, frame};

/// The fixture's pod row, as [`selected_name`] names it.
const POD: &str = "pod:default/api-7d9f";

fn selected_name(app: &isotop::ui::App) -> String {
    let frame = app.frame().unwrap();
    match app.rows().containers[app.list(Tab::Containers).selected] {
        ContainerRow::Live(i) => frame.containers[i].view.container.name.clone(),
        ContainerRow::Pod(p) => format!("pod:{}", frame.pods[p].label),
        ContainerRow::Gone => format!("gone:{}", app.gone().unwrap().sample.view.container.name),
    }
}

#[test]
fn navigation_moves_and_clamps() {
    let (mut app, _) = app_with_history(0);
    assert_eq!(app.tab(), Tab::Containers);
    // The pod's row first, its containers under it.
    assert_eq!(selected_name(&app), POD);
    app.update(Action::Up);
    assert_eq!(selected_name(&app), POD, "Up at the top stays");
    app.update(Action::Down);
    assert_eq!(selected_name(&app), "api");
    app.update(Action::Down);
    assert_eq!(selected_name(&app), "pause");
    app.update(Action::End);
    assert_eq!(selected_name(&app), "scratch");
    app.update(Action::Down);
    assert_eq!(selected_name(&app), "scratch", "Down at the bottom stays");
    app.update(Action::Home);
    assert_eq!(selected_name(&app), POD);
    app.update(Action::PageDown);
    assert_eq!(
        selected_name(&app),
        "scratch",
        "a page (10 rows before drawing) clamps to the end"
    );
    app.update(Action::PageUp);
    assert_eq!(selected_name(&app), POD);
}

#[test]
fn tabs_cycle_and_jump() {
    let (mut app, _) = app_with_history(0);
    app.update(Action::NextTab);
    assert_eq!(app.tab(), Tab::Cgroups);
    app.update(Action::PreviousTab);
    app.update(Action::PreviousTab);
    assert_eq!(app.tab(), Tab::Events, "before the first view: the last");
    app.update(Action::PreviousTab);
    assert_eq!(app.tab(), Tab::Network);
    app.update(Action::ShowTab(Tab::Namespaces));
    assert_eq!(app.tab(), Tab::Namespaces);
    app.update(Action::NextTab);
    assert_eq!(app.tab(), Tab::Processes);
    app.update(Action::NextTab);
    app.update(Action::NextTab);
    app.update(Action::NextTab);
    assert_eq!(app.tab(), Tab::Containers, "after the last view: the first");
}

#[test]
fn filter_matches_name_id_runtime_and_pid() {
    let (mut app, _) = app_with_history(0);
    app.update(Action::Filter);
    assert!(app.is_editing_filter());
    for c in "runc".chars() {
        app.update(Action::TypeChar(c));
    }
    assert_eq!(app.rows().containers.len(), 1);
    assert_eq!(selected_name(&app), "web");
    app.update(Action::TypeChar('\u{1b}'));
    assert_eq!(app.filter(), "runc", "control characters are not text");
    app.update(Action::Open);
    assert!(
        !app.is_editing_filter(),
        "Enter keeps the filter and closes the prompt"
    );
    assert_eq!(app.filter(), "runc");
    // Pid: 311 is api's worker.
    app.update(Action::Filter);
    for _ in 0..4 {
        app.update(Action::TypeBackspace);
    }
    for c in "311".chars() {
        app.update(Action::TypeChar(c));
    }
    assert_eq!(app.rows().containers.len(), 1);
    assert_eq!(selected_name(&app), "api");
    // Id prefix.
    app.update(Action::Back);
    assert_eq!(app.filter(), "", "Esc in the prompt clears the filter");
    assert_eq!(
        app.rows().containers.len(),
        5,
        "four containers and the pod"
    );
    app.update(Action::Filter);
    for c in "pause01".chars() {
        app.update(Action::TypeChar(c));
    }
    assert_eq!(app.rows().containers.len(), 1);
    assert_eq!(selected_name(&app), "pause");
    // The processes view is filtered by the same text (the container's id).
    app.update(Action::Open);
    app.update(Action::ShowTab(Tab::Processes));
    let frame = app.frame().unwrap();
    let pids: Vec<i32> = app
        .rows()
        .processes
        .iter()
        .map(|r| frame.processes[r.index].process.pid)
        .collect();
    assert_eq!(pids, vec![300]);
    // Esc outside the prompt clears it too.
    app.update(Action::Back);
    assert_eq!(app.filter(), "");
}

#[test]
fn sort_cycles_columns_and_reverses() {
    let (mut app, _) = app_with_history(3);
    // Natural order: runtime, name (kubernetes api, pause; runc web; unknown scratch).
    app.update(Action::SortNext); // ID
    app.update(Action::SortNext); // NAME
    assert_eq!(app.sort(Tab::Containers).column, Some(1));
    let names = drive::container_row_names;
    // A pod sits where its first member sorts, its members after it in the same order.
    assert_eq!(names(&app), [POD, "api", "pause", "scratch", "web"]);
    app.update(Action::SortReverse);
    assert_eq!(names(&app), ["web", "scratch", POD, "pause", "api"]);
    app.update(Action::SortBy(4)); // CPU%, largest first
    assert_eq!(names(&app), ["web", POD, "api", "pause", "scratch"]);
    app.update(Action::SortBy(4)); // again: reversed
    assert_eq!(names(&app), [POD, "pause", "api", "scratch", "web"]);
    for _ in 0..20 {
        app.update(Action::SortNext);
        if app.sort(Tab::Containers).column.is_none() {
            break;
        }
    }
    assert_eq!(
        app.sort(Tab::Containers).column,
        None,
        "after the last column: natural order"
    );
    assert_eq!(names(&app), [POD, "api", "pause", "web", "scratch"]);
}

#[test]
fn selection_follows_identity_across_frames_and_sorts() {
    let (mut app, _) = app_with_history(0);
    app.update(Action::Down);
    app.update(Action::Down);
    app.update(Action::Down);
    assert_eq!(selected_name(&app), "web");
    app.update(Action::SortBy(1)); // by name: web moves to the end
    assert_eq!(selected_name(&app), "web");
    app.on_frame(frame(1, true));
    assert_eq!(selected_name(&app), "web");
    assert_eq!(app.selected_key(), Some("web"));
}

#[test]
fn vanished_selected_container_is_shown_gone_then_released() {
    let (mut app, history) = app_with_history(5);
    app.update(Action::Down);
    app.update(Action::Down);
    app.update(Action::Down);
    assert_eq!(selected_name(&app), "web");
    app.update(Action::Open);
    assert!(app.detail_open());
    app.on_frame(frame(6, false));
    // Still selected, as a gone row where it was, with its last figures and its history.
    assert_eq!(app.rows().containers.len(), 5);
    assert_eq!(app.rows().containers[3], ContainerRow::Gone);
    assert_eq!(selected_name(&app), "gone:web");
    assert_eq!(app.gone().unwrap().since_ms, fixture::T0_MS + 6000);
    assert_eq!(app.detail_target(), Some(Target::Container("web".into())));
    let series = app.detail_target().unwrap().series().unwrap();
    assert_eq!(history.points(&series).count(), 6);
    // Later frames keep it.
    app.on_frame(frame(7, false));
    assert_eq!(selected_name(&app), "gone:web");
    assert_eq!(
        app.gone().unwrap().since_ms,
        fixture::T0_MS + 6000,
        "first missed frame is kept"
    );
    // Moving off lets it go.
    app.update(Action::Back);
    app.update(Action::Up);
    assert_eq!(selected_name(&app), "pause");
    assert!(app.gone().is_none());
    assert_eq!(app.rows().containers.len(), 4);
}

#[test]
fn filtered_out_is_not_gone() {
    let (mut app, _) = app_with_history(0);
    app.update(Action::End); // scratch
    app.update(Action::Filter);
    for c in "runc".chars() {
        app.update(Action::TypeChar(c));
    }
    assert!(app.gone().is_none(), "filtered out, not vanished");
    assert_eq!(selected_name(&app), "web");
    assert_eq!(app.rows().containers.len(), 1);
}

#[test]
fn a_filter_hides_a_vanished_container_too() {
    // The selected container vanishes, then the operator filters for another one: the gone row
    // must not stay selected behind the filter (`l` opened the vanished one's log).
    let (mut app, _) = app_with_history(5);
    for _ in 0..3 {
        app.update(Action::Down);
    }
    assert_eq!(selected_name(&app), "web");
    app.on_frame(frame(6, false));
    assert_eq!(selected_name(&app), "gone:web");
    app.update(Action::Filter);
    for c in "pause".chars() {
        app.update(Action::TypeChar(c));
    }
    assert!(app.gone().is_none(), "web does not match the filter");
    assert_eq!(app.rows().containers.len(), 1);
    assert_eq!(selected_name(&app), "pause");
}

#[test]
fn cgroup_tree_folds_and_goes_to_parent() {
    let (mut app, _) = app_with_history(0);
    app.update(Action::ShowTab(Tab::Cgroups));
    assert_eq!(app.rows().cgroups.len(), 7);
    app.update(Action::Down); // /isotop-demo
    assert_eq!(app.selected_key(), Some("/isotop-demo"));
    app.update(Action::Collapse);
    assert!(app.is_collapsed("/isotop-demo"));
    assert_eq!(app.rows().cgroups.len(), 6);
    app.update(Action::Expand);
    assert_eq!(app.rows().cgroups.len(), 7);
    app.update(Action::Down); // web (a leaf)
    assert_eq!(app.selected_key(), Some("/isotop-demo/web"));
    app.update(Action::Collapse); // a leaf: go to the parent
    assert_eq!(app.selected_key(), Some("/isotop-demo"));
    app.update(Action::Toggle);
    app.update(Action::Toggle);
    assert!(!app.is_collapsed("/isotop-demo"));
    // Sorting sorts siblings: by memory, /isotop-demo (130M) before /kubepods (97M).
    app.update(Action::SortBy(4));
    let f = app.frame().unwrap();
    let paths: Vec<&str> = app
        .rows()
        .cgroups
        .iter()
        .map(|r| f.cgroups[r.index].path.as_str())
        .collect();
    assert_eq!(paths[..3], ["/", "/isotop-demo", "/isotop-demo/web"]);
}

#[test]
fn process_tree_has_parents_before_children() {
    let (mut app, _) = app_with_history(0);
    app.update(Action::ShowTab(Tab::Processes));
    let f = app.frame().unwrap().clone();
    let rows: Vec<(i32, usize)> = app
        .rows()
        .processes
        .iter()
        .map(|r| (f.processes[r.index].process.pid, r.depth))
        .collect();
    assert_eq!(
        rows,
        vec![
            (1, 0),
            (150, 1),
            (151, 2),
            (400, 3),
            (200, 1),
            (201, 2),
            (202, 2),
            (300, 1),
            (310, 1),
            (311, 2),
            (2, 0)
        ]
    );
    // Enter on a container's process opens that container's detail.
    app.update(Action::End);
    app.update(Action::Up); // 311, api's worker
    assert_eq!(app.selected_key(), Some("311"));
    assert_eq!(
        app.detail_target(),
        Some(Target::Container(f.containers[0].view.container.id.clone()))
    );
}

/// The Processes view's rows are built only while it is shown; its selection (by pid) waits
/// for it across frames seen on other views.
#[test]
fn process_rows_are_built_only_for_the_processes_view() {
    let (mut app, _) = app_with_history(0);
    assert!(!app.rows().processes_built && app.rows().processes.is_empty());
    app.update(Action::ShowTab(Tab::Processes));
    assert!(app.rows().processes_built);
    assert_eq!(app.rows().processes.len(), 11);
    app.update(Action::End);
    app.update(Action::Up);
    assert_eq!(app.selected_key(), Some("311"));
    app.update(Action::ShowTab(Tab::Containers));
    app.on_frame(frame(1, true));
    assert!(!app.rows().processes_built && app.rows().processes.is_empty());
    app.update(Action::ShowTab(Tab::Processes));
    assert_eq!(app.rows().processes.len(), 11);
    assert_eq!(app.selected_key(), Some("311"), "the same process, by pid");
}

#[test]
fn help_opens_scrolls_and_closes() {
    let (mut app, _) = app_with_history(0);
    app.update(Action::Help);
    assert!(app.help_open());
    app.update(Action::Down);
    assert_eq!(
        selected_name(&app),
        POD,
        "keys scroll the help, not the table"
    );
    app.update(Action::Back);
    assert!(!app.help_open());
    app.update(Action::Help);
    app.update(Action::Help);
    assert!(!app.help_open());
    app.update(Action::Help);
    app.update(Action::Quit);
    assert!(app.should_quit());
}

#[test]
fn detail_zoom_is_bounded_by_the_history() {
    let (mut app, _) = app_with_history(0);
    app.update(Action::Down); // api, under the pod's row
    app.update(Action::Open);
    assert!(app.detail_open());
    assert_eq!(
        app.chart_span().as_secs(),
        600,
        "starts at the whole window"
    );
    app.update(Action::ZoomOut);
    assert_eq!(app.chart_span().as_secs(), 600);
    app.update(Action::ZoomIn);
    assert_eq!(app.chart_span().as_secs(), 300);
    for _ in 0..10 {
        app.update(Action::ZoomIn);
    }
    assert_eq!(app.chart_span().as_secs(), 60);
    app.update(Action::NextTab);
    assert!(!app.detail_open(), "switching views closes the pane");
}

#[test]
fn suspend_and_quit_are_requests() {
    let (mut app, _) = app_with_history(0);
    app.update(Action::Suspend);
    assert!(app.take_suspend());
    assert!(!app.take_suspend(), "taken once");
    assert!(!app.should_quit());
    app.update(Action::Quit);
    assert!(app.should_quit());
}

#[test]
fn clicks_select_tabs_rows_and_sort_headers() {
    use isotop::ui::app::{ListLayout, ScreenLayout};
    use ratatui::layout::Rect;
    let (mut app, _) = app_with_history(0);
    app.set_layout(ScreenLayout {
        tabs: vec![
            (Rect::new(0, 4, 14, 1), Tab::Containers),
            (Rect::new(15, 4, 11, 1), Tab::Cgroups),
        ],
        list: Some(ListLayout {
            header: Rect::new(0, 5, 80, 1),
            rows: Rect::new(0, 6, 80, 10),
            offset: 0,
            columns: vec![(0, 20, 1), (21, 10, 2)],
        }),
    });
    app.update(Action::Click { column: 5, row: 9 });
    assert_eq!(
        selected_name(&app),
        "web",
        "fourth row (after the pod's and its two)"
    );
    app.update(Action::Click { column: 5, row: 15 });
    assert_eq!(
        selected_name(&app),
        "web",
        "a click below the rows selects nothing"
    );
    app.update(Action::Click { column: 22, row: 5 });
    assert_eq!(app.sort(Tab::Containers).column, Some(2));
    app.update(Action::Click { column: 16, row: 4 });
    assert_eq!(app.tab(), Tab::Cgroups);
}

#[test]
fn the_app_keeps_the_frame_it_is_given_not_a_copy() {
    let (mut app, _) = app_with_history(0);
    let shared = std::sync::Arc::new(frame(8, true));
    app.on_frame(std::sync::Arc::clone(&shared));
    assert!(std::ptr::eq(app.frame().unwrap(), &*shared));
    assert_eq!(std::sync::Arc::strong_count(&shared), 2);
}

#[test]
fn the_loop_draws_only_for_what_can_change_the_screen() {
    use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};
    use isotop::ui::event_loop::{action_for, needs_draw};
    use isotop::ui::keymap::Keymap;
    let keymap = Keymap::default();
    let (app, _) = app_with_history(0);
    let draws = |event: Event| needs_draw(&event, action_for(&event, &app, &keymap).as_ref());
    let key = |code| Event::Key(KeyEvent::new(code, KeyModifiers::NONE));
    let mouse = |kind| {
        Event::Mouse(MouseEvent {
            kind,
            column: 3,
            row: 4,
            modifiers: KeyModifiers::NONE,
        })
    };
    assert!(draws(key(KeyCode::Down)), "a bound key");
    assert!(draws(Event::Resize(100, 30)), "a resize");
    assert!(draws(mouse(MouseEventKind::ScrollDown)), "the wheel");
    assert!(!draws(key(KeyCode::F(12))), "an unbound key");
    assert!(!draws(mouse(MouseEventKind::Moved)), "a mouse move");
    assert!(!draws(Event::FocusGained), "focus");
}
