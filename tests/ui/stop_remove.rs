//! The `x` menu through `App::update`, without a terminal or a host: on another runtime's
//! container it says plainly that it manages only isotop's own (and that `K` kills); on one of
//! isotop's own it offers stop / remove / cancel (←/→, letters, Enter, Esc), then `y/N`, and
//! only `y` sends a stop or remove request; a vanished isotop container (its command exited)
//! can still be removed. A snapshot of the menu at 80×24.

use crate::support::{drive, fixture};

use isotop::host::container::Runtime;
use isotop::sample::Frame;
use isotop::ui::acts::{Outcome, Request};
use isotop::ui::app::acts::Prompt;
use isotop::ui::app::stop_remove::{StopRemoveChoice, StopRemoveMenu};
use isotop::ui::{Action, App, Tab};

use drive::{render, select_by_filter};
use fixture::{app_with_history, frame};

/// Frame `seq` with `web` made one of isotop's own containers.
fn frame_with_isotop_web(seq: u64, with_web: bool) -> Frame {
    let mut f = frame(seq, with_web);
    for c in &mut f.containers {
        if c.view.container.id == "web" {
            std::sync::Arc::make_mut(&mut c.view.container).runtime = Runtime::Isotop;
        }
    }
    f
}

/// An app on `web` (made an isotop container), filtered to it.
fn app_on_isotop_web() -> App {
    let (mut app, _) = app_with_history(3);
    app.on_frame(frame_with_isotop_web(4, true));
    select_by_filter(&mut app, "web");
    app
}

#[test]
fn x_on_another_runtimes_container_says_it_manages_only_its_own() {
    let (mut app, _) = app_with_history(3);
    select_by_filter(&mut app, "web");
    app.update(Action::StopRemove);
    assert!(app.prompt().is_none() && app.take_request().is_none());
    let message = app.message().unwrap();
    assert!(
        message.contains("only isotop's own containers")
            && message.contains("runc")
            && message.contains("K kills it"),
        "{message}"
    );
    // Not a container at all.
    app.update(Action::ShowTab(Tab::Cgroups));
    app.update(Action::StopRemove);
    assert!(app.message().unwrap().contains("select a container"));
}

#[test]
fn x_menu_stops_after_a_yes() {
    let mut app = app_on_isotop_web();
    app.update(Action::StopRemove);
    assert_eq!(
        app.prompt(),
        Some(&Prompt::StopRemove(StopRemoveMenu {
            id: "web".into(),
            name: "web".into(),
            running: true,
            choice: StopRemoveChoice::Stop,
        }))
    );
    assert_eq!(
        app.prompt().unwrap().line(),
        "web: [s stop]  r remove  c cancel"
    );
    // Enter on the highlighted entry asks; anything but y cancels.
    app.update(Action::Open);
    assert_eq!(
        app.prompt().unwrap().line(),
        "stop web (TERM, KILL after 10 s)? y/N"
    );
    app.update(Action::TypeChar('n'));
    assert!(app.prompt().is_none() && app.take_request().is_none());
    assert_eq!(app.message(), Some("web: nothing stopped or removed"));
    // The letter picks directly.
    app.update(Action::StopRemove);
    app.update(Action::TypeChar('s'));
    app.update(Action::TypeChar('y'));
    match app.take_request() {
        Some(Request::Stop { id, name }) => {
            assert_eq!((id.as_str(), name.as_str()), ("web", "web"))
        }
        other => panic!("expected a stop request, got {other:?}"),
    }
    assert_eq!(app.message(), Some("stopping web…"));
    app.on_outcome(Outcome::Done("stopped web, exit code 143".into()));
    assert_eq!(app.message(), Some("stopped web, exit code 143"));
}

#[test]
fn x_menu_removes_and_cancels() {
    let mut app = app_on_isotop_web();
    // → walks to remove, Enter asks, y sends a remove of a running container.
    app.update(Action::StopRemove);
    app.update(Action::Expand);
    assert!(app.prompt().unwrap().line().contains("[r remove"));
    app.update(Action::Open);
    assert_eq!(
        app.prompt().unwrap().line(),
        "remove web (stopping it first)? y/N"
    );
    app.update(Action::TypeChar('y'));
    match app.take_request() {
        Some(Request::Remove { id, running, .. }) => {
            assert_eq!(id, "web");
            assert!(running);
        }
        other => panic!("expected a remove request, got {other:?}"),
    }
    app.on_outcome(Outcome::Done("removed web".into()));

    // Esc, c and the cancel entry all cancel.
    for keys in [
        vec![Action::Back],
        vec![Action::TypeChar('c')],
        vec![Action::Collapse, Action::Open],
    ] {
        app.update(Action::StopRemove);
        for key in keys.iter() {
            app.update(*key);
        }
        assert!(app.prompt().is_none(), "{keys:?}");
        assert!(app.take_request().is_none(), "{keys:?}");
        assert_eq!(app.message(), Some("web: nothing stopped or removed"));
    }
}

#[test]
fn x_on_a_vanished_isotop_container_offers_remove() {
    let mut app = app_on_isotop_web();
    // Its command exited: the row stays as a gone row, and x can still remove it.
    app.on_frame(frame_with_isotop_web(5, false));
    assert!(app.gone().is_some());
    app.update(Action::StopRemove);
    match app.prompt() {
        Some(Prompt::StopRemove(menu)) => {
            assert!(!menu.running);
            assert_eq!(menu.choice, StopRemoveChoice::Remove);
        }
        other => panic!("expected the menu, got {other:?}"),
    }
    app.update(Action::Open);
    assert_eq!(app.prompt().unwrap().line(), "remove web? y/N");
    app.update(Action::TypeChar('y'));
    match app.take_request() {
        Some(Request::Remove { id, running, .. }) => {
            assert_eq!(id, "web");
            assert!(!running, "nothing to stop first");
        }
        other => panic!("expected a remove request, got {other:?}"),
    }
}

#[test]
fn snapshot_stop_remove_menu() {
    let (mut app, history) = app_with_history(30);
    app.on_frame(frame_with_isotop_web(31, true));
    select_by_filter(&mut app, "web");
    app.update(Action::StopRemove);
    app.update(Action::Expand);
    let terminal = render(&mut app, &history, 80, 24);
    insta::assert_snapshot!("stop_remove_menu_80x24", terminal.backend());
}
