//! The App's side of remote hosts (`isotop --host`), without a terminal: the header names the
//! host and its place, `H` asks for the next host only when there are several, a lost
//! connection marks the frame stale and the status line says why and when the next try is,
//! "reconnected" when it is back, a given-up connection says why; an agent started read-only
//! makes the dashboard read-only; `n` on a remote host is refused.

use crate::support::{drive, fixture};

use std::time::Duration;

use isotop::ui::Action;
use isotop::ui::app::hosts::Connection;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use drive::render;
use fixture::app_with_history;

fn line(terminal: &Terminal<TestBackend>, y: u16) -> String {
    let buffer = terminal.backend().buffer();
    (0..buffer.area.width)
        .map(|x| buffer[(x, y)].symbol().to_string())
        .collect()
}

fn last_line(terminal: &Terminal<TestBackend>) -> String {
    line(terminal, terminal.backend().buffer().area.height - 1)
}

#[test]
fn the_header_names_the_remote_host_and_the_status_line_its_connection() {
    let (mut app, history) = app_with_history(5);
    app.set_host(Some("root@db1:2222".to_string()), 1, 2);
    app.on_connection(Connection::Connected {
        reconnected: false,
        read_only: false,
    });
    let terminal = render(&mut app, &history, 160, 48);
    assert!(
        line(&terminal, 0).starts_with("isotop [ssh root@db1:2222 2/2] "),
        "{}",
        line(&terminal, 0)
    );
    assert!(!app.is_stale());
    assert!(!line(&terminal, 0).contains("STALE"));

    app.on_connection(Connection::Lost {
        why: "Connection to db1 closed by remote host.".to_string(),
        retry_in: Duration::from_millis(3_600),
    });
    assert!(app.is_stale(), "the last frame stays, marked stale");
    let terminal = render(&mut app, &history, 160, 48);
    assert!(
        line(&terminal, 0).contains("STALE"),
        "{}",
        line(&terminal, 0)
    );
    assert!(
        last_line(&terminal).starts_with(
            "host root@db1:2222: connection lost (Connection to db1 closed by remote host.), \
             retrying in 4s"
        ),
        "{}",
        last_line(&terminal)
    );
    // A key clears messages, not the connection's state.
    app.update(Action::Down);
    assert!(app.connection_line().is_some());

    app.on_connection(Connection::Connected {
        reconnected: true,
        read_only: false,
    });
    assert!(!app.is_stale());
    assert_eq!(app.message(), Some("host root@db1:2222: reconnected"));
    assert_eq!(app.connection_line(), None);

    app.on_connection(Connection::Failed(
        "remote isotop speaks protocol 2, this one 1: install the same version on both hosts"
            .to_string(),
    ));
    let terminal = render(&mut app, &history, 160, 48);
    assert!(
        last_line(&terminal).starts_with("host root@db1:2222: remote isotop speaks protocol 2"),
        "{}",
        last_line(&terminal)
    );
}

#[test]
fn this_host_has_no_label_and_is_never_stale() {
    let (mut app, history) = app_with_history(5);
    let terminal = render(&mut app, &history, 160, 48);
    assert!(
        !line(&terminal, 0).contains("[ssh"),
        "{}",
        line(&terminal, 0)
    );
    assert!(!app.is_stale());
    assert_eq!(app.connection_line(), None);
    app.update(Action::NextHost);
    assert!(!app.take_host_switch());
    assert!(
        app.message().is_some_and(|m| m.starts_with("one host")),
        "{:?}",
        app.message()
    );
}

#[test]
fn h_asks_for_the_next_host_when_there_are_several() {
    let (mut app, _) = app_with_history(5);
    app.set_host(Some("a".to_string()), 0, 2);
    app.update(Action::NextHost);
    assert!(app.take_host_switch());
    assert!(!app.take_host_switch(), "taken once");
}

#[test]
fn a_read_only_agent_makes_the_dashboard_read_only_and_launch_is_refused_remotely() {
    let (mut app, _) = app_with_history(5);
    app.set_host(Some("ops@db1".to_string()), 0, 1);
    app.update(Action::Launch);
    assert!(
        app.message()
            .is_some_and(|m| m.starts_with("launch works on this host only")),
        "{:?}",
        app.message()
    );
    assert!(app.launch_form().is_none());
    app.on_connection(Connection::Connected {
        reconnected: false,
        read_only: true,
    });
    assert!(app.is_read_only());
}

#[test]
fn a_notice_from_the_agent_is_cleaned() {
    let (mut app, _) = app_with_history(5);
    app.set_host(Some("db1".to_string()), 0, 1);
    app.on_notice("sampling stopped\u{1b}[2J: no procfs");
    let message = app.message().unwrap();
    assert!(!message.contains('\u{1b}'), "{message:?}");
    assert!(
        message.starts_with("host db1: sampling stopped"),
        "{message}"
    );
}
