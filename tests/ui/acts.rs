//! The act keys' flows through `App::update`, without a terminal or a host: the input line a
//! limit key opens (prefilled with the fixture's current value), editing, Esc, Enter → a
//! `Request` with the text typed; a bad value's error with no request; the kill confirmation
//! (y sends, anything else cancels) and the KILL offered after the init ignored TERM; freeze
//! toggling by the row's state; refusals with nothing selected, on a gone container and when
//! not root. Snapshots of the input line and the kill confirmation at 80×24.

use crate::support::{drive, fixture};

use isotop::host::scan::ContainerState;
use isotop::sample::History;
use isotop::ui::acts::{KillSignal, LimitKind, Outcome, Request};
use isotop::ui::app::acts::{NOT_ROOT_ACT, Prompt, cpu_text, size_text};
use isotop::ui::keymap::Keymap;
use isotop::ui::{Action, App, Tab};

use drive::{render, select_by_filter, type_text};
use fixture::{app_with_history, frame, frame_not_root};

/// An app with the `web` container selected (filtered to it).
fn app_on_web() -> (App, History) {
    let (mut app, history) = app_with_history(30);
    select_by_filter(&mut app, "web");
    (app, history)
}

fn clear_prompt(app: &mut App) {
    for _ in 0..20 {
        app.update(Action::TypeBackspace);
    }
}

fn prompt_text(app: &App) -> String {
    match app.prompt() {
        Some(Prompt::Limit { text, .. }) => text.clone(),
        other => panic!("expected a limit prompt, got {other:?}"),
    }
}

#[test]
fn limit_keys_open_an_input_prefilled_with_the_current_value() {
    for (action, kind, current) in [
        (Action::LimitCpu, LimitKind::Cpu, "0.50"),
        (Action::LimitMemory, LimitKind::Memory, "256M"),
        (Action::LimitPids, LimitKind::Pids, "100"),
    ] {
        let (mut app, _) = app_on_web();
        app.update(action);
        assert!(app.is_typing());
        match app.prompt() {
            Some(Prompt::Limit {
                kind: k,
                name,
                text,
                ..
            }) => {
                assert_eq!(*k, kind);
                assert_eq!(name, "web");
                assert_eq!(text, current);
            }
            other => panic!("{action:?}: expected a limit prompt, got {other:?}"),
        }
        assert!(
            app.take_request().is_none(),
            "opening the input acts on nothing"
        );
    }
}

#[test]
fn enter_sends_the_edited_value() {
    let (mut app, _) = app_on_web();
    app.update(Action::LimitCpu);
    clear_prompt(&mut app);
    assert_eq!(prompt_text(&app), "");
    type_text(&mut app, "0.25");
    assert_eq!(prompt_text(&app), "0.25");
    app.update(Action::TypeBackspace);
    type_text(&mut app, "5");
    app.update(Action::Open);
    assert!(app.prompt().is_none());
    match app.take_request() {
        Some(Request::Limit { view, kind, text }) => {
            assert_eq!(view.container.id, "web");
            assert_eq!(kind, LimitKind::Cpu);
            assert_eq!(text, "0.25");
        }
        other => panic!("expected a limit request, got {other:?}"),
    }
    assert!(app.act_running());
    // A second act waits for the first one's outcome.
    app.update(Action::LimitPids);
    assert!(app.prompt().is_none());
    assert!(app.message().unwrap().contains("still running"));
    app.on_outcome(Outcome::Done("web: cpu.cfs_quota_us 50000 → 25000".into()));
    assert!(!app.act_running());
    assert_eq!(app.message(), Some("web: cpu.cfs_quota_us 50000 → 25000"));
}

#[test]
fn esc_cancels_and_a_bad_value_sends_nothing() {
    let (mut app, _) = app_on_web();
    app.update(Action::LimitMemory);
    type_text(&mut app, "x");
    app.update(Action::Back);
    assert!(app.prompt().is_none());
    assert!(app.take_request().is_none());
    assert!(app.message().unwrap().contains("nothing changed"));
    // Esc only closed the prompt: the filter and selection stay.
    assert_eq!(app.filter(), "web");

    for (action, bad) in [
        (Action::LimitCpu, "-1"),
        (Action::LimitCpu, "abc"),
        (Action::LimitMemory, "1Q"),
        (Action::LimitPids, "many"),
    ] {
        app.update(action);
        clear_prompt(&mut app);
        type_text(&mut app, bad);
        app.update(Action::Open);
        assert!(app.take_request().is_none(), "{bad} must send nothing");
        let message = app.message().unwrap_or_default().to_string();
        assert!(
            message.contains(bad) && message.contains("nothing changed"),
            "{bad}: {message}"
        );
    }
    app.update(Action::LimitPids);
    clear_prompt(&mut app);
    app.update(Action::Open);
    assert!(app.take_request().is_none());
    assert!(app.message().unwrap().contains("no value given"));
}

#[test]
fn keys_typed_into_the_prompt_are_text_not_acts() {
    let (mut app, _) = app_on_web();
    app.update(Action::LimitPids);
    clear_prompt(&mut app);
    // `q`, `K` and `f` come in as characters while typing (the keymap sees `is_typing`).
    let keymap = Keymap::default();
    let q = crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char('q'));
    assert_eq!(
        keymap.action(&q, app.is_typing()),
        Some(Action::TypeChar('q'))
    );
    app.update(Action::TypeChar('q'));
    assert!(!app.should_quit());
    assert_eq!(prompt_text(&app), "q");
}

#[test]
fn kill_asks_first_and_only_y_sends() {
    let (mut app, _) = app_on_web();
    app.update(Action::Kill);
    assert_eq!(
        app.prompt(),
        Some(&Prompt::ConfirmKill {
            id: "web".into(),
            name: "web".into(),
            signal: KillSignal::Term
        })
    );
    assert_eq!(app.prompt().unwrap().line(), "kill web with TERM? y/N");
    app.update(Action::TypeChar('n'));
    assert!(app.prompt().is_none());
    assert!(app.take_request().is_none());
    assert_eq!(app.message(), Some("kill web: cancelled"));

    app.update(Action::Kill);
    app.update(Action::Open);
    assert!(app.take_request().is_none(), "Enter is not a yes");

    app.update(Action::Kill);
    app.update(Action::TypeChar('y'));
    match app.take_request() {
        Some(Request::Kill { view, signal }) => {
            assert_eq!(view.container.id, "web");
            assert_eq!(signal, KillSignal::Term);
        }
        other => panic!("expected a kill request, got {other:?}"),
    }
    // The init ignored TERM: say so, and the next K offers KILL.
    app.on_outcome(Outcome::InitIgnoredTerm {
        id: "web".into(),
        name: "web".into(),
    });
    let message = app.message().unwrap();
    assert!(message.contains("ignored TERM") && message.contains("press K again for KILL"));
    app.update(Action::Kill);
    assert_eq!(app.prompt().unwrap().line(), "kill web with KILL? y/N");
    app.update(Action::TypeChar('y'));
    match app.take_request() {
        Some(Request::Kill { signal, .. }) => assert_eq!(signal, KillSignal::Kill),
        other => panic!("expected a KILL request, got {other:?}"),
    }
}

#[test]
fn freeze_toggles_by_the_rows_state_and_undo_and_enter_are_requests() {
    let (mut app, _) = app_on_web();
    app.update(Action::FreezeToggle);
    match app.take_request() {
        Some(Request::Freeze { view, frozen }) => {
            assert_eq!(view.container.id, "web");
            assert_eq!(view.state, ContainerState::Running);
            assert!(frozen, "a running container is frozen");
        }
        other => panic!("expected a freeze request, got {other:?}"),
    }
    app.on_outcome(Outcome::Done("froze web".into()));
    // The next frame says it is frozen: `f` thaws.
    let mut f = frame(31, true);
    for c in &mut f.containers {
        if c.view.container.id == "web" {
            c.view.state = ContainerState::Frozen;
        }
    }
    app.on_frame(f);
    app.update(Action::FreezeToggle);
    match app.take_request() {
        Some(Request::Freeze { frozen, .. }) => assert!(!frozen, "a frozen container is thawed"),
        other => panic!("expected a thaw request, got {other:?}"),
    }
    app.on_outcome(Outcome::Done("thawed web".into()));

    app.update(Action::Undo);
    assert!(matches!(app.take_request(), Some(Request::Undo)));
    app.on_outcome(Outcome::Failed("undo: nothing to undo".into()));
    // An outcome can quote what a container or an image said: no escape reaches the screen.
    app.on_outcome(Outcome::Failed(
        "launch failed: exec /bin/\x1b[2Jevil: not found".into(),
    ));
    assert_eq!(
        app.message(),
        Some("launch failed: exec /bin/?[2Jevil: not found")
    );

    app.update(Action::Enter);
    match app.take_request() {
        Some(Request::Enter { view }) => assert_eq!(view.container.id, "web"),
        other => panic!("expected an enter request, got {other:?}"),
    }
}

#[test]
fn acts_need_a_live_container_and_root() {
    // A namespace row is not a container (a cgroup row is its own target: `acts_cgroups`).
    let (mut app, _) = app_with_history(3);
    app.update(Action::ShowTab(Tab::Namespaces));
    app.update(Action::Home);
    app.update(Action::FreezeToggle);
    assert!(app.take_request().is_none());
    assert!(app.message().unwrap().contains("select a container"));

    // A selected container that vanished.
    let (mut app, _) = app_on_web();
    app.on_frame(frame(31, false));
    assert!(app.gone().is_some());
    for action in [
        Action::LimitCpu,
        Action::Kill,
        Action::FreezeToggle,
        Action::Enter,
    ] {
        app.update(action);
        assert!(app.prompt().is_none() && app.take_request().is_none());
        assert_eq!(app.message(), Some("web is gone: nothing to act on"));
    }

    // Not root: every act key says so and does nothing.
    let (mut app, _) = app_on_web();
    app.on_frame(frame_not_root(31));
    for action in [
        Action::LimitCpu,
        Action::LimitMemory,
        Action::LimitPids,
        Action::Undo,
        Action::FreezeToggle,
        Action::Kill,
        Action::Enter,
    ] {
        app.update(action);
        assert!(app.prompt().is_none(), "{action:?} opened a prompt");
        assert!(app.take_request().is_none(), "{action:?} sent a request");
        assert_eq!(app.message(), Some(NOT_ROOT_ACT));
    }
}

#[test]
fn prefill_texts() {
    use isotop::host::cgroup::Limit;
    assert_eq!(cpu_text(Some(Limit::Value(1.5))), "1.50");
    assert_eq!(cpu_text(Some(Limit::Max)), "max");
    assert_eq!(cpu_text(None), "");
    assert_eq!(size_text(Some(Limit::Value(1536 * 1024 * 1024))), "1536M");
    assert_eq!(size_text(Some(Limit::Value(2 << 30))), "2G");
    assert_eq!(size_text(Some(Limit::Value(4097))), "4097");
    assert_eq!(size_text(Some(Limit::Max)), "max");
    // Each prefill parses back to the same limit (what Enter on an unedited line sends).
    for text in ["1.50", "max", "1536M", "2G", "4097"] {
        let kind = if text.contains('.') {
            LimitKind::Cpu
        } else {
            LimitKind::Memory
        };
        assert!(kind.parse(text).is_ok(), "{text}");
    }
}

#[test]
fn snapshot_cpu_input_line() {
    let (mut app, history) = app_on_web();
    app.update(Action::LimitCpu);
    clear_prompt(&mut app);
    type_text(&mut app, "0.25");
    let terminal = render(&mut app, &history, 80, 24);
    insta::assert_snapshot!("cpu_input_80x24", terminal.backend());
}

#[test]
fn snapshot_kill_confirm() {
    let (mut app, history) = app_on_web();
    app.update(Action::Kill);
    let terminal = render(&mut app, &history, 80, 24);
    insta::assert_snapshot!("kill_confirm_80x24", terminal.backend());
}
