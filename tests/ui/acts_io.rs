//! The `i` key through `App::update`: on a container (and on the Cgroups view, on the cgroup
//! itself) it opens the I/O limit prompt prefilled with the device limits in force, Enter
//! sends the line typed — `isotop limit`'s `--device-*` and `--io-weight` options, `for` — as
//! a limit request whose parse is the `LimitRequest` the CLI would build; bad input sends
//! nothing and says what the prompt takes; read-only and not-root refuse it; the help lists it.

use crate::support::{drive, fixture};

use isotop::control::limits::io::IoKnob;
use isotop::host::cgroup::Limit;
use isotop::ui::acts::{LimitKind, Request};
use isotop::ui::app::acts::{NOT_ROOT_ACT, Prompt, READ_ONLY_ACT};
use isotop::ui::keymap::Keymap;
use isotop::ui::{Action, App, Tab};

use drive::{select_by_filter, type_text};
use fixture::{app_with_history, frame_not_root};

const WEB_CG: &str = "/isotop-demo/web";

/// web's limits as the prompt starts: 10 MiB/s written to loop3, 500 reads/s from vda.
const WEB_IO: &str = "--device-write-bps 7:3=10M --device-read-iops 253:0=500";

fn prompt_of(app: &App) -> (LimitKind, String, String, String) {
    match app.prompt() {
        Some(Prompt::Limit {
            kind,
            id,
            name,
            text,
        }) => (*kind, id.clone(), name.clone(), text.clone()),
        other => panic!("expected a limit prompt, got {other:?}"),
    }
}

/// Empties the prompt, then types `text`.
fn retype(app: &mut App, text: &str) {
    let len = prompt_of(app).3.chars().count();
    for _ in 0..len {
        app.update(Action::TypeBackspace);
    }
    type_text(app, text);
}

#[test]
fn i_on_a_container_prompts_with_its_io_limits_and_enter_sends_the_line() {
    let (mut app, _) = app_with_history(30);
    select_by_filter(&mut app, "web");
    app.update(Action::LimitIo);
    let (kind, id, name, text) = prompt_of(&app);
    assert_eq!(
        (kind, id.as_str(), name.as_str()),
        (LimitKind::Io, "web", "web")
    );
    assert_eq!(text, WEB_IO);
    assert_eq!(
        app.prompt().unwrap().line(),
        format!("web I/O limits: {WEB_IO}")
    );
    assert!(
        app.take_request().is_none(),
        "opening the prompt acts on nothing"
    );

    retype(
        &mut app,
        "--device-write-bps /dev/loop3=5M --io-weight 200 for 10m",
    );
    app.update(Action::Open);
    assert!(app.prompt().is_none());
    let text = match app.take_request() {
        Some(Request::Limit { view, kind, text }) => {
            assert_eq!(view.container.id, "web");
            assert_eq!(kind, LimitKind::Io);
            text
        }
        other => panic!("expected a limit request, got {other:?}"),
    };
    // What the loop will run: the CLI's request for the same options.
    let request = LimitKind::Io.parse(&text).unwrap();
    assert_eq!(request.io.len(), 1);
    assert_eq!(request.io[0].device, "/dev/loop3");
    assert_eq!(request.io[0].knob, IoKnob::WriteBps);
    assert_eq!(request.io[0].limit, Limit::Value(5 << 20));
    assert_eq!(request.io_weight, Some(200));
    assert_eq!((request.cpus.is_none(), request.memory), (true, None));
    assert!(app.act_running());
    assert!(app.message().unwrap().contains("setting I/O limits to"));
}

#[test]
fn i_on_a_container_without_io_limits_starts_empty() {
    let (mut app, _) = app_with_history(30);
    let api = app.frame().unwrap().containers[0].view.container.id.clone();
    select_by_filter(&mut app, &api);
    app.update(Action::LimitIo);
    assert_eq!(prompt_of(&app).3, "", "api's limits are not known");
    app.update(Action::Open);
    assert!(app.take_request().is_none());
    assert!(
        app.message()
            .unwrap()
            .contains("I/O limits: no value given")
    );
}

#[test]
fn i_on_the_cgroups_view_limits_the_cgroup_itself() {
    let (mut app, _) = app_with_history(30);
    app.update(Action::ShowTab(Tab::Cgroups));
    select_by_filter(&mut app, WEB_CG);
    app.update(Action::LimitIo);
    let (kind, id, name, text) = prompt_of(&app);
    assert_eq!(kind, LimitKind::Io);
    assert_eq!(id, format!("cgroup:{WEB_CG}"));
    assert_eq!(name, WEB_CG);
    assert_eq!(text, WEB_IO);
    // Enter on the prefilled line: the limits in force, written again.
    app.update(Action::Open);
    match app.take_request() {
        Some(Request::LimitCgroup { path, kind, text }) => {
            assert_eq!((path.as_str(), kind), (WEB_CG, LimitKind::Io));
            let request = LimitKind::Io.parse(&text).unwrap();
            let asked: Vec<_> = request
                .io
                .iter()
                .map(|d| (d.device.as_str(), d.knob, d.limit))
                .collect();
            assert_eq!(
                asked,
                [
                    ("7:3", IoKnob::WriteBps, Limit::Value(10 << 20)),
                    ("253:0", IoKnob::ReadIops, Limit::Value(500)),
                ]
            );
        }
        other => panic!("expected a cgroup limit request, got {other:?}"),
    }
}

#[test]
fn bad_io_lines_send_nothing_and_say_what_the_prompt_takes() {
    let (mut app, _) = app_with_history(30);
    select_by_filter(&mut app, "web");
    for (bad, says) in [
        ("10M", "takes options only"),
        ("--device-write-bps /dev/loop3", "DEV=VALUE"),
        ("--device-write-bps 7:3=fast", "bytes per second"),
        ("--device-read-iops 7:3=lots", "operations per second"),
        ("--cpus 1", "--device-read-bps DEV=RATE"),
        ("--io-weight 100 for soon", "soon"),
    ] {
        app.update(Action::LimitIo);
        retype(&mut app, bad);
        app.update(Action::Open);
        assert!(app.take_request().is_none(), "{bad} must send nothing");
        assert!(!app.act_running());
        let message = app.message().unwrap_or_default().to_string();
        assert!(
            message.contains(says) && message.contains("nothing changed"),
            "{bad}: {message}"
        );
    }
    // Esc: nothing changed either.
    app.update(Action::LimitIo);
    app.update(Action::Back);
    assert!(app.prompt().is_none() && app.take_request().is_none());
    assert_eq!(app.message(), Some("I/O limits: nothing changed"));
}

#[test]
fn i_is_refused_read_only_and_not_root() {
    let (mut app, _) = app_with_history(3);
    app.set_read_only(true);
    select_by_filter(&mut app, "web");
    app.update(Action::LimitIo);
    assert_eq!(app.message(), Some(READ_ONLY_ACT));
    assert!(app.prompt().is_none());

    let mut app = App::new(std::time::Duration::from_secs(600));
    app.on_frame(frame_not_root(1));
    select_by_filter(&mut app, "web");
    app.update(Action::LimitIo);
    assert_eq!(app.message(), Some(NOT_ROOT_ACT));
    assert!(app.prompt().is_none() && app.take_request().is_none());
}

#[test]
fn the_keymap_maps_i_and_the_help_lists_it() {
    let keymap = Keymap::default();
    let i = crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char('i'));
    assert_eq!(keymap.action(&i, false), Some(Action::LimitIo));
    // While typing, `i` is text.
    assert_eq!(keymap.action(&i, true), Some(Action::TypeChar('i')));
    assert!(
        keymap
            .help()
            .iter()
            .any(|(keys, what)| keys == "i" && what.contains("I/O limits")),
        "{:?}",
        keymap.help()
    );
}
