//! The `n` form and the `x` menu through `App::update`, without a terminal or a host: the
//! form opens with every key going to it (typing, Tab/Shift-Tab/↑/↓ between fields, ←/→ and
//! space through the networks); a bad CPU, memory, name or command keeps the form open with
//! the error under its field and everything typed; a good one becomes a launch request whose
//! `RunSpec` equals the one `isotop run -d` would build; Esc cancels; the started container is
//! selected once a frame shows it (or given up on after 10 s of frames); a failed launch lets
//! `n` reopen what was typed; not root, the form says launching needs root. Both keys are in
//! the one keymap table. Snapshots of the form at 80×24 and 160×48. The `x` menu is tested in
//! `stop_remove.rs`.

use crate::support::{drive, fixture};

use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use isotop::host::cgroup::Limit;
use isotop::host::container::Runtime;
use isotop::launch::spec::LimitText;
use isotop::launch::{NetMode, RunSpec};
use isotop::sample::{ContainerSample, Frame};
use isotop::ui::acts::{Outcome, Request};
use isotop::ui::app::acts::NOT_ROOT_ACT;
use isotop::ui::app::launch::LAUNCH_NEEDS_ROOT;
use isotop::ui::app::launch_form::Field;
use isotop::ui::config::Config;
use isotop::ui::keymap::{DEFAULT_BINDINGS, Keymap};
use isotop::ui::{Action, App, Tab};

use drive::{render, type_text};
use fixture::{T0_MS, app_with_history, frame, frame_not_root};

const NEW_ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// Opens the form and fills it: image, command, name, CPU, memory, then bridge network.
fn fill_form(app: &mut App, cpu: &str) {
    app.update(Action::Launch);
    type_text(app, "/srv/images/alpine.tar");
    app.update(Action::NextTab);
    type_text(app, "sh -c 'echo \"hi there\"; sleep 300' x\\ y");
    app.update(Action::Down);
    type_text(app, "box-1");
    app.update(Action::NextTab);
    type_text(app, cpu);
    app.update(Action::NextTab);
    type_text(app, "256M");
    app.update(Action::NextTab);
    app.update(Action::Expand);
}

/// Frame `seq` plus a container `box-1` (isotop, id [`NEW_ID`]) made from `web`'s figures.
fn frame_with_new_container(seq: u64) -> Frame {
    let mut f = frame(seq, true);
    let mut new: ContainerSample = f
        .containers
        .iter()
        .find(|c| c.view.container.id == "web")
        .unwrap()
        .clone();
    std::sync::Arc::make_mut(&mut new.view.container).id = NEW_ID.into();
    std::sync::Arc::make_mut(&mut new.view.container).name = "box-1".into();
    std::sync::Arc::make_mut(&mut new.view.container).runtime = Runtime::Isotop;
    f.containers.push(new);
    f
}

#[test]
fn n_opens_the_form_and_every_key_goes_to_it() {
    let (mut app, _) = app_with_history(3);
    app.update(Action::Launch);
    let form = app.launch_form().expect("n opens the form");
    assert_eq!(form.focus, Field::Image);
    assert!(!form.needs_root);
    assert!(
        app.is_typing(),
        "characters are text while the form is open"
    );
    // Through the keymap: `q` is text, Tab and Shift-Tab move, Esc and Enter reach the form.
    let keymap = Keymap::default();
    let key = |code| KeyEvent::new(code, KeyModifiers::NONE);
    assert_eq!(
        keymap.action(&key(KeyCode::Char('q')), app.is_typing()),
        Some(Action::TypeChar('q'))
    );
    assert_eq!(
        keymap.action(&key(KeyCode::Char(' ')), app.is_typing()),
        Some(Action::TypeChar(' '))
    );
    assert_eq!(
        keymap.action(&key(KeyCode::Tab), app.is_typing()),
        Some(Action::NextTab)
    );
    assert_eq!(
        keymap.action(&key(KeyCode::BackTab), app.is_typing()),
        Some(Action::PreviousTab)
    );

    type_text(&mut app, "qx/img");
    app.update(Action::TypeBackspace);
    assert!(!app.should_quit(), "q typed into the form does not quit");
    assert_eq!(app.launch_form().unwrap().image, "qx/im");
    app.update(Action::NextTab);
    type_text(&mut app, "sleep 300");
    app.update(Action::PreviousTab);
    assert_eq!(app.launch_form().unwrap().focus, Field::Image);
    app.update(Action::Up);
    assert_eq!(app.launch_form().unwrap().focus, Field::Network);
    // ←/→ and space choose the network; text keys do nothing there.
    app.update(Action::Expand);
    assert_eq!(app.launch_form().unwrap().net, NetMode::Bridge);
    app.update(Action::TypeChar(' '));
    assert_eq!(app.launch_form().unwrap().net, NetMode::Host);
    app.update(Action::Collapse);
    app.update(Action::Collapse);
    assert_eq!(app.launch_form().unwrap().net, NetMode::None);
    app.update(Action::Down);
    assert_eq!(app.launch_form().unwrap().focus, Field::Image);
    let form = app.launch_form().unwrap();
    assert_eq!(
        (form.image.as_str(), form.command.as_str()),
        ("qx/im", "sleep 300")
    );
    // Keys that would act elsewhere do nothing here: no tab change, no request.
    app.update(Action::ShowTab(Tab::Processes));
    app.update(Action::Kill);
    assert_eq!(app.tab(), Tab::Containers);
    assert!(app.prompt().is_none() && app.take_request().is_none());
    assert!(app.launch_form().is_some());
}

#[test]
fn esc_cancels_and_sends_nothing() {
    let (mut app, _) = app_with_history(3);
    app.update(Action::Launch);
    type_text(&mut app, "/srv/img");
    app.update(Action::Back);
    assert!(app.launch_form().is_none());
    assert!(app.take_request().is_none());
    assert_eq!(app.message(), Some("launch: cancelled"));
    assert!(!app.is_typing());
    // A cancelled form is not kept: n starts empty.
    app.update(Action::Launch);
    assert_eq!(app.launch_form().unwrap().image, "");
}

#[test]
fn an_invalid_cpu_keeps_the_form_with_the_error_under_the_cpu_field() {
    let (mut app, _) = app_with_history(3);
    fill_form(&mut app, "-1");
    app.update(Action::Open);
    assert!(app.take_request().is_none(), "nothing is launched");
    assert!(!app.act_running());
    let form = app.launch_form().expect("the form stays open");
    assert_eq!(form.focus, Field::Cpu, "the cursor goes to the bad field");
    let error = form.error_for(Field::Cpu).expect("the error is under CPU");
    assert!(error.contains("-1"), "{error}");
    assert!(form.error_for(Field::Memory).is_none());
    // Everything typed is still there.
    assert_eq!(form.image, "/srv/images/alpine.tar");
    assert_eq!(form.name, "box-1");
    assert_eq!(form.memory, "256M");
    assert_eq!(form.net, NetMode::Bridge);
    // Editing the field clears its error; a good value then goes through.
    app.update(Action::TypeBackspace);
    app.update(Action::TypeBackspace);
    assert!(app.launch_form().unwrap().error.is_none());
    type_text(&mut app, "0.5");
    app.update(Action::Open);
    assert!(app.launch_form().is_none());
    assert!(matches!(app.take_request(), Some(Request::Launch { .. })));
}

#[test]
fn bad_memory_name_and_command_land_under_their_fields() {
    let (mut app, _) = app_with_history(3);
    // Memory.
    fill_form(&mut app, "0.5");
    app.update(Action::PreviousTab);
    for _ in 0..4 {
        app.update(Action::TypeBackspace);
    }
    type_text(&mut app, "12Q");
    app.update(Action::Open);
    let form = app.launch_form().unwrap();
    assert_eq!(form.focus, Field::Memory);
    assert!(form.error_for(Field::Memory).unwrap().contains("12Q"));
    // Name: the CLI's own rule (check_name).
    for _ in 0..2 {
        app.update(Action::Up);
    }
    assert_eq!(app.launch_form().unwrap().focus, Field::Name);
    type_text(&mut app, "/bad");
    app.update(Action::Open);
    let form = app.launch_form().unwrap();
    assert_eq!(form.focus, Field::Name, "{:?}", form.error);
    let error = form.error_for(Field::Name).unwrap();
    assert!(
        error.contains("--name") && error.contains("box-1/bad"),
        "{error}"
    );
    for _ in 0..4 {
        app.update(Action::TypeBackspace);
    }
    // Command: a quote left open.
    app.update(Action::Up);
    type_text(&mut app, " 'open");
    app.update(Action::Open);
    let form = app.launch_form().unwrap();
    assert_eq!(form.focus, Field::Command);
    assert!(
        form.error_for(Field::Command)
            .unwrap()
            .contains("not closed")
    );
    assert!(app.take_request().is_none());
}

#[test]
fn a_valid_form_sends_the_run_spec_isotop_run_would_build() {
    let (mut app, _) = app_with_history(3);
    fill_form(&mut app, "0.5");
    app.update(Action::Open);
    assert!(app.launch_form().is_none(), "the form closes");
    assert!(app.act_running());
    assert_eq!(app.message(), Some("launching box-1…"));
    let spec = match app.take_request() {
        Some(Request::Launch { spec }) => *spec,
        other => panic!("expected a launch request, got {other:?}"),
    };
    // What `isotop run -d --name box-1 --image … --cpus 0.5 --memory 256M --net bridge --
    // sh -c '…' 'x y'` builds, checked the same way.
    let mut want = RunSpec {
        name: Some("box-1".into()),
        image: Some(PathBuf::from("/srv/images/alpine.tar")),
        command: vec![
            "sh".into(),
            "-c".into(),
            "echo \"hi there\"; sleep 300".into(),
            "x y".into(),
        ],
        net: NetMode::Bridge,
        limit_text: LimitText {
            cpus: Some("0.5".into()),
            memory: Some("256M".into()),
            pids: None,
        },
        detach: true,
        ..RunSpec::default()
    };
    want.validate().unwrap();
    assert_eq!(spec, want);
    // The limits parsed as `isotop limit` parses them: 500 millicores, 256 MiB.
    assert_eq!(
        spec.limits.cpus.as_ref().map(|(limit, _)| *limit),
        Some(Limit::Value(500))
    );
    assert_eq!(spec.limits.memory, Some(Limit::Value(256 * 1024 * 1024)));
}

#[test]
fn an_empty_form_launches_the_default_image_and_command() {
    let (mut app, _) = app_with_history(3);
    app.update(Action::Launch);
    app.update(Action::Open);
    match app.take_request() {
        Some(Request::Launch { spec }) => {
            assert_eq!(spec.image, None);
            assert!(spec.command.is_empty());
            assert_eq!(spec.name, None);
            assert_eq!(spec.net, NetMode::None);
            assert_eq!(spec.limit_text, LimitText::default());
            assert!(spec.detach);
        }
        other => panic!("expected a launch request, got {other:?}"),
    }
}

#[test]
fn the_started_container_becomes_the_selection_once_a_frame_shows_it() {
    let (mut app, _) = app_with_history(3);
    // Launched from the Processes view, with a filter that would hide it.
    app.update(Action::ShowTab(Tab::Processes));
    app.update(Action::Filter);
    type_text(&mut app, "nginx");
    app.update(Action::Open);
    fill_form(&mut app, "0.5");
    app.update(Action::Open);
    assert!(app.take_request().is_some());
    app.on_outcome(Outcome::Started {
        id: NEW_ID.into(),
        name: "box-1".into(),
    });
    assert_eq!(app.message(), Some("started box-1 (0123456789ab)"));
    assert!(!app.act_running());
    // Not in the next frame yet: still waiting, nothing moved.
    app.on_frame(frame(4, true));
    assert_eq!(app.wanted().map(|w| w.id.as_str()), Some(NEW_ID));
    assert_eq!(app.tab(), Tab::Processes);
    // Then it shows: selected in the Containers view, the filter cleared so it is seen.
    app.on_frame(frame_with_new_container(5));
    assert!(app.wanted().is_none());
    assert_eq!(app.tab(), Tab::Containers);
    assert_eq!(app.filter(), "");
    assert_eq!(app.selected_key(), Some(NEW_ID));
    // It stays selected across frames (selection by identity).
    app.on_frame(frame_with_new_container(6));
    assert_eq!(app.selected_key(), Some(NEW_ID));
    // And the form starts empty again: the launch succeeded.
    app.update(Action::Launch);
    assert_eq!(app.launch_form().unwrap().image, "");
}

#[test]
fn a_container_that_never_shows_is_given_up_after_ten_seconds() {
    let (mut app, _) = app_with_history(3);
    app.update(Action::Down);
    let selected = app.selected_key().map(String::from);
    app.update(Action::Launch);
    app.update(Action::Open);
    app.take_request();
    app.on_outcome(Outcome::Started {
        id: NEW_ID.into(),
        name: "quick".into(),
    });
    for seq in 4..13 {
        app.on_frame(frame(seq, true));
        assert!(app.wanted().is_some(), "frame {seq}: still waiting");
    }
    // Frame 13 is 10 s after the start's frame (3).
    app.on_frame(frame(13, true));
    assert!(app.wanted().is_none());
    let message = app.message().unwrap();
    assert!(
        message.contains("quick has not shown up in 10 s"),
        "{message}"
    );
    assert_eq!(app.selected_key().map(String::from), selected);
    assert_eq!(T0_MS + 13_000, app.frame().unwrap().taken_at_ms);
}

#[test]
fn a_failed_launch_says_why_and_n_reopens_what_was_typed() {
    let (mut app, _) = app_with_history(3);
    fill_form(&mut app, "0.5");
    app.update(Action::Open);
    app.take_request();
    app.on_outcome(Outcome::Failed(
        "launch failed: the name \"box-1\" is already in use".into(),
    ));
    let message = app.message().unwrap();
    assert!(
        message.contains("already in use") && message.contains("n reopens the form"),
        "{message}"
    );
    assert!(app.wanted().is_none());
    app.update(Action::Launch);
    let form = app.launch_form().unwrap();
    assert_eq!(form.name, "box-1");
    assert_eq!(form.image, "/srv/images/alpine.tar");
    assert_eq!(form.net, NetMode::Bridge);
    assert!(form.error.is_none());
}

#[test]
fn not_root_the_form_says_launching_needs_root_and_sends_nothing() {
    let (mut app, _) = app_with_history(3);
    app.on_frame(frame_not_root(4));
    app.update(Action::Launch);
    assert!(app.launch_form().unwrap().needs_root);
    type_text(&mut app, "/srv/img");
    app.update(Action::Open);
    assert!(app.take_request().is_none());
    let form = app.launch_form().expect("the form stays open");
    assert_eq!(form.error.as_ref().unwrap().text, LAUNCH_NEEDS_ROOT);
    assert_eq!(form.image, "/srv/img");
    // x says what every act key says.
    app.update(Action::Back);
    app.update(Action::StopRemove);
    assert_eq!(app.message(), Some(NOT_ROOT_ACT));
}

#[test]
fn n_waits_for_a_running_act() {
    let (mut app, _) = app_with_history(3);
    app.update(Action::Launch);
    app.update(Action::Open);
    assert!(app.take_request().is_some());
    app.update(Action::Launch);
    assert!(app.launch_form().is_none());
    assert!(app.message().unwrap().contains("still running"));
}

#[test]
fn n_and_x_are_in_the_one_keymap_table() {
    let find = |name: &str| DEFAULT_BINDINGS.iter().find(|b| b.name == name).unwrap();
    assert_eq!(find("launch").action, Action::Launch);
    assert_eq!(find("launch").keys, ["n"]);
    assert_eq!(find("stop_remove").action, Action::StopRemove);
    assert_eq!(find("stop_remove").keys, ["x"]);
    let keymap = Keymap::default();
    let help = keymap.help();
    assert!(help.iter().any(|(k, w)| k == "n" && w.contains("launch")));
    assert!(
        help.iter()
            .any(|(k, w)| k == "x" && w.contains("stop / remove"))
    );
    let key = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
    assert_eq!(keymap.action(&key('n'), false), Some(Action::Launch));
    assert_eq!(keymap.action(&key('x'), false), Some(Action::StopRemove));
    // A user keymap rebinds them like any other action.
    let config = Config::parse(
        "[keymap]\nlaunch = \"N\"\nstop_remove = [\"X\"]\n",
        std::path::Path::new("c.toml"),
    )
    .unwrap();
    let shifted = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::SHIFT);
    assert_eq!(
        config.keymap.action(&shifted('N'), false),
        Some(Action::Launch)
    );
    assert_eq!(
        config.keymap.action(&shifted('X'), false),
        Some(Action::StopRemove)
    );
    assert_eq!(config.keymap.action(&key('n'), false), None);
}

#[test]
fn snapshot_launch_form() {
    for (width, height) in [(80, 24), (160, 48)] {
        let (mut app, history) = app_with_history(30);
        fill_form(&mut app, "lots");
        app.update(Action::Open);
        let terminal = render(&mut app, &history, width, height);
        insta::assert_snapshot!(format!("launch_form_{width}x{height}"), terminal.backend());
    }
}

#[test]
fn snapshot_empty_launch_form_not_root() {
    let (mut app, history) = app_with_history(30);
    app.on_frame(frame_not_root(31));
    app.update(Action::Launch);
    let terminal = render(&mut app, &history, 80, 24);
    insta::assert_snapshot!("launch_form_not_root_80x24", terminal.backend());
}
