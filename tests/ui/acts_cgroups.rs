//! The act keys on the Cgroups view through `App::update`: the selected cgroup itself is the
//! target — `c` `m` `p` open the same prompts as on a container, prefilled with the cgroup's
//! current values, and Enter sends a cgroup request with the line typed (the CLI's options
//! included); `f` freezes or thaws by the cgroup's freezer state; `K` asks, `y` sends TERM and
//! KILL is offered when processes survive it; `--force` asks first; the root cgroup is refused
//! before any prompt. The limit prompt's options work on the Containers view too.

use crate::support::{drive, fixture};

use isotop::host::cgroup::FreezerState;
use isotop::ui::acts::{KillSignal, LimitKind, Outcome, Request};
use isotop::ui::app::acts::Prompt;
use isotop::ui::{Action, App, Tab};

use drive::{select_by_filter, type_text};
use fixture::{app_with_history, frame};

const WEB_CG: &str = "/isotop-demo/web";

/// An app on the Cgroups view with web's cgroup selected.
fn app_on_web_cgroup() -> App {
    let (mut app, _) = app_with_history(30);
    app.update(Action::ShowTab(Tab::Cgroups));
    select_by_filter(&mut app, WEB_CG);
    app
}

fn clear_prompt(app: &mut App) {
    for _ in 0..20 {
        app.update(Action::TypeBackspace);
    }
}

#[test]
fn limit_keys_prompt_for_the_cgroup_prefilled_with_its_values() {
    for (action, kind, current) in [
        (Action::LimitCpu, LimitKind::Cpu, "0.50"),
        (Action::LimitMemory, LimitKind::Memory, "256M"),
        (Action::LimitPids, LimitKind::Pids, "100"),
    ] {
        let mut app = app_on_web_cgroup();
        app.update(action);
        match app.prompt() {
            Some(Prompt::Limit {
                kind: k,
                id,
                name,
                text,
            }) => {
                assert_eq!(*k, kind);
                assert_eq!(id, &format!("cgroup:{WEB_CG}"));
                assert_eq!(name, WEB_CG);
                assert_eq!(text, current, "{action:?}");
            }
            other => panic!("{action:?}: expected a limit prompt, got {other:?}"),
        }
        assert!(app.take_request().is_none());
    }
}

#[test]
fn enter_sends_a_cgroup_limit_with_the_clis_options() {
    let mut app = app_on_web_cgroup();
    app.update(Action::LimitCpu);
    clear_prompt(&mut app);
    type_text(&mut app, "0.25 for 10m --period 50000");
    app.update(Action::Open);
    match app.take_request() {
        Some(Request::LimitCgroup { path, kind, text }) => {
            assert_eq!(path, WEB_CG);
            assert_eq!(kind, LimitKind::Cpu);
            assert_eq!(text, "0.25 for 10m --period 50000");
        }
        other => panic!("expected a cgroup limit request, got {other:?}"),
    }
    assert!(app.message().unwrap().contains(WEB_CG));
    app.on_outcome(Outcome::Done("cgroup /isotop-demo/web: …".into()));

    // An option the prompt does not take: said, nothing sent.
    app.update(Action::LimitCpu);
    clear_prompt(&mut app);
    type_text(&mut app, "0.5 --memory-high 1G");
    app.update(Action::Open);
    assert!(app.take_request().is_none());
    let message = app.message().unwrap();
    assert!(
        message.contains("--memory-high") && message.contains("nothing changed"),
        "{message}"
    );
}

#[test]
fn force_asks_first_and_only_y_sends_it() {
    let mut app = app_on_web_cgroup();
    for (answer, sent) in [('n', false), ('y', true)] {
        app.update(Action::LimitMemory);
        clear_prompt(&mut app);
        type_text(&mut app, "100M --force");
        app.update(Action::Open);
        match app.prompt() {
            Some(p @ Prompt::ConfirmForce { .. }) => {
                assert!(p.line().contains("OOM-kills"), "{}", p.line())
            }
            other => panic!("expected the --force confirmation, got {other:?}"),
        }
        assert!(app.take_request().is_none(), "sent before the answer");
        app.update(Action::TypeChar(answer));
        assert!(app.prompt().is_none());
        match app.take_request() {
            Some(Request::LimitCgroup { path, kind, text }) => {
                assert!(sent, "{answer}: sent");
                assert_eq!((path.as_str(), kind), (WEB_CG, LimitKind::Memory));
                assert_eq!(text, "100M --force");
                app.on_outcome(Outcome::Done("done".into()));
            }
            None => assert!(!sent, "{answer}: nothing sent"),
            other => panic!("unexpected request {other:?}"),
        }
    }
}

#[test]
fn freeze_follows_the_cgroups_state_and_kill_asks_then_offers_kill() {
    let mut app = app_on_web_cgroup();
    app.update(Action::FreezeToggle);
    match app.take_request() {
        Some(Request::FreezeCgroup { path, frozen }) => {
            assert_eq!(path, WEB_CG);
            assert!(frozen, "a thawed cgroup is frozen");
        }
        other => panic!("expected a cgroup freeze, got {other:?}"),
    }
    app.on_outcome(Outcome::Done("froze".into()));
    // The next frame shows it frozen: f thaws.
    let mut next = frame(31, true);
    if let Some(g) = std::sync::Arc::make_mut(&mut next.cgroups)
        .iter_mut()
        .find(|g| g.path == WEB_CG)
    {
        std::sync::Arc::make_mut(&mut g.reading).freezer = Some(FreezerState::Frozen);
    }
    app.on_frame(next);
    app.update(Action::FreezeToggle);
    assert!(matches!(
        app.take_request(),
        Some(Request::FreezeCgroup { frozen: false, .. })
    ));
    app.on_outcome(Outcome::Done("thawed".into()));

    app.update(Action::Kill);
    assert!(
        app.prompt().unwrap().line().contains(WEB_CG),
        "{:?}",
        app.prompt()
    );
    app.update(Action::TypeChar('x'));
    assert!(app.take_request().is_none(), "any other key cancels");
    app.update(Action::Kill);
    app.update(Action::TypeChar('y'));
    match app.take_request() {
        Some(Request::KillCgroup { path, signal }) => {
            assert_eq!((path.as_str(), signal), (WEB_CG, KillSignal::Term))
        }
        other => panic!("expected a cgroup kill, got {other:?}"),
    }
    app.on_outcome(Outcome::SurvivedTerm {
        id: format!("cgroup:{WEB_CG}"),
        text: "2 process(es) still running after TERM — press K again for KILL".into(),
    });
    assert!(app.message().unwrap().contains("K again"));
    app.update(Action::Kill);
    app.update(Action::TypeChar('y'));
    assert!(matches!(
        app.take_request(),
        Some(Request::KillCgroup {
            signal: KillSignal::Kill,
            ..
        })
    ));
}

#[test]
fn the_root_cgroup_is_refused_before_any_prompt() {
    let (mut app, _) = app_with_history(3);
    app.update(Action::ShowTab(Tab::Cgroups));
    app.update(Action::Home);
    assert_eq!(app.selected_key(), Some("/"));
    for action in [
        Action::LimitCpu,
        Action::LimitMemory,
        Action::FreezeToggle,
        Action::Kill,
    ] {
        app.update(action);
        assert!(app.prompt().is_none() && app.take_request().is_none());
        assert!(app.message().unwrap().contains("root cgroup"), "{action:?}");
    }
    // e stays a container's act.
    select_by_filter(&mut app, WEB_CG);
    app.update(Action::Enter);
    assert!(app.take_request().is_none());
    assert!(app.message().unwrap().contains("enter works on containers"));
}

#[test]
fn a_containers_limit_prompt_takes_the_options_too() {
    let (mut app, _) = app_with_history(30);
    select_by_filter(&mut app, "web");
    app.update(Action::LimitMemory);
    clear_prompt(&mut app);
    type_text(&mut app, "512M --memory-high 400M for 90s");
    app.update(Action::Open);
    match app.take_request() {
        Some(Request::Limit { view, kind, text }) => {
            assert_eq!(view.container.id, "web");
            assert_eq!(kind, LimitKind::Memory);
            assert_eq!(text, "512M --memory-high 400M for 90s");
        }
        other => panic!("expected a limit request, got {other:?}"),
    }
}
