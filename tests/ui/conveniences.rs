//! The operators' conveniences through `App::update`, without a terminal: the `y` copy menu
//! (what each row offers, picking by key and by Enter, walking, Esc, cleaning strangers'
//! text, copying when not root and read-only), `--read-only` refusing every act key at the
//! App (no prompt, no request), and pods as one row folding open to their containers (totals,
//! fold/unfold, Collapse from a member to its pod, Enter on a pod, the filter, acts refused on
//! the pod's row). Snapshots of the folded pod and the copy menu at 80×24.

use crate::support::{drive, fixture};

use isotop::ui::app::acts::{Prompt, READ_ONLY_ACT};
use isotop::ui::app::copy::{CopyField, clipboard_text};
use isotop::ui::{Action, App, Tab};

use drive::{container_row_names as row_names, render, select_by_filter, type_text};
use fixture::{MIB, app_with_history, frame, frame_not_root};

const WEB_ID: &str = "web";

fn copy_fields(app: &App) -> Vec<(CopyField, String)> {
    match app.prompt() {
        Some(Prompt::Copy(menu)) => menu.choices.clone(),
        other => panic!("expected the copy menu, got {other:?}"),
    }
}

#[test]
fn y_offers_a_containers_id_name_pid_and_cgroup_and_copies_the_pick() {
    let (mut app, _) = app_with_history(3);
    select_by_filter(&mut app, WEB_ID);
    app.update(Action::Copy);
    assert!(app.is_typing(), "the menu has the keys");
    assert_eq!(
        copy_fields(&app),
        vec![
            (CopyField::Id, "web".to_string()),
            (CopyField::Name, "web".to_string()),
            (CopyField::Pid, "200".to_string()),
            (CopyField::Cgroup, "/isotop-demo/web".to_string()),
        ]
    );
    assert_eq!(
        app.prompt().unwrap().line(),
        "copy web: [i id]  n name  p pid  c cgroup"
    );
    app.update(Action::TypeChar('c'));
    assert!(app.prompt().is_none());
    assert_eq!(app.take_clipboard().as_deref(), Some("/isotop-demo/web"));
    assert_eq!(app.take_clipboard(), None, "taken once");
    assert_eq!(
        app.message(),
        Some("copied cgroup of web: /isotop-demo/web")
    );
    // Walking and Enter: → twice from id is pid.
    app.update(Action::Copy);
    app.update(Action::Expand);
    app.update(Action::Expand);
    assert_eq!(
        app.prompt().unwrap().line(),
        "copy web: i id  n name  [p pid]  c cgroup"
    );
    app.update(Action::Open);
    assert_eq!(app.take_clipboard().as_deref(), Some("200"));
    // Esc copies nothing.
    app.update(Action::Copy);
    app.update(Action::Back);
    assert!(app.prompt().is_none());
    assert_eq!(app.take_clipboard(), None);
    assert_eq!(app.message(), Some("copy: cancelled"));
    assert!(app.take_request().is_none(), "copying is no act");
}

#[test]
fn y_on_other_views_offers_what_their_rows_have() {
    let (mut app, _) = app_with_history(0);
    app.update(Action::ShowTab(Tab::Cgroups));
    select_by_filter(&mut app, "/isotop-demo/web");
    app.update(Action::Copy);
    assert_eq!(
        copy_fields(&app),
        vec![
            (CopyField::Id, "web".to_string()),
            (CopyField::Name, "web".to_string()),
            (CopyField::Cgroup, "/isotop-demo/web".to_string()),
        ],
        "a cgroup has no pid; its id is its container's"
    );
    app.update(Action::Back); // closes the menu
    app.update(Action::Back); // clears the filter
    app.update(Action::ShowTab(Tab::Processes));
    select_by_filter(&mut app, "311");
    app.update(Action::Copy);
    app.update(Action::TypeChar('p'));
    assert_eq!(app.take_clipboard().as_deref(), Some("311"));
}

#[test]
fn copied_text_is_cleaned_of_what_a_terminal_would_act_on() {
    assert_eq!(
        clipboard_text("a\u{1b}]52;c;eA==\u{7}b\u{9b}c\u{202e}d"),
        "a]52;c;eA==bcd"
    );
    let (mut app, _) = app_with_history(0);
    let mut hostile = frame(1, true);
    for c in &mut hostile.containers {
        if c.view.container.id == WEB_ID {
            std::sync::Arc::make_mut(&mut c.view.container).name = "we\u{1b}[2Jb\u{7}".into();
        }
    }
    app.on_frame(hostile);
    select_by_filter(&mut app, WEB_ID);
    app.update(Action::Copy);
    app.update(Action::TypeChar('n'));
    assert_eq!(app.take_clipboard().as_deref(), Some("we[2Jb"));
}

#[test]
fn y_copies_when_not_root_and_when_read_only() {
    let mut app = App::new(std::time::Duration::from_secs(600));
    app.set_read_only(true);
    app.on_frame(frame_not_root(0));
    select_by_filter(&mut app, WEB_ID);
    app.update(Action::Copy);
    app.update(Action::TypeChar('i'));
    assert_eq!(app.take_clipboard().as_deref(), Some("web"));
}

#[test]
fn read_only_refuses_every_act_key_at_the_app() {
    for action in crate::support::drive::ACT_KEYS {
        let (mut app, _) = app_with_history(3);
        app.set_read_only(true);
        assert!(app.is_read_only());
        select_by_filter(&mut app, WEB_ID);
        app.update(action);
        assert_eq!(app.message(), Some(READ_ONLY_ACT), "{action:?}");
        assert!(app.prompt().is_none(), "{action:?}: no prompt opens");
        assert!(app.launch_form().is_none(), "{action:?}: no form opens");
        assert!(app.take_request().is_none(), "{action:?}: nothing to run");
        assert!(!app.act_running());
    }
    // Without it, the same key opens its prompt (so the refusal above can fail).
    let (mut app, _) = app_with_history(3);
    select_by_filter(&mut app, WEB_ID);
    app.update(Action::LimitCpu);
    assert!(matches!(app.prompt(), Some(Prompt::Limit { .. })));
}

#[test]
fn read_only_set_while_a_prompt_is_open_still_sends_nothing() {
    let (mut app, _) = app_with_history(3);
    select_by_filter(&mut app, WEB_ID);
    app.update(Action::Kill);
    assert!(matches!(app.prompt(), Some(Prompt::ConfirmKill { .. })));
    app.set_read_only(true);
    app.update(Action::TypeChar('y'));
    assert!(app.take_request().is_none(), "refused where requests leave");
    assert_eq!(app.message(), Some(READ_ONLY_ACT));
}

#[test]
fn a_pod_is_one_row_with_its_totals_that_folds_open() {
    let (mut app, _) = app_with_history(3);
    let f = app.frame().unwrap();
    assert_eq!(f.pods.len(), 1);
    let pod = &f.pods[0];
    let api = f
        .containers
        .iter()
        .find(|c| c.view.container.name == "api")
        .unwrap();
    let pause = f
        .containers
        .iter()
        .find(|c| c.view.container.name == "pause")
        .unwrap();
    assert_eq!(pod.key, "pod:0f0e");
    assert_eq!(pod.label, "default/api-7d9f");
    assert_eq!(
        pod.cpu_percent,
        Some(api.cpu_percent.unwrap() + pause.cpu_percent.unwrap())
    );
    assert_eq!(pod.memory_bytes, Some(96 * MIB + MIB));
    assert_eq!(pod.pids, 3);
    let shared: Vec<&str> = pod.shared.iter().map(|k| k.name()).collect();
    assert_eq!(shared, ["net", "ipc", "uts"], "the sandbox's namespaces");
    assert_eq!(pod.cgroup_path.as_deref(), Some("/kubepods/pod0f0e"));
    assert_eq!(
        row_names(&app),
        ["pod:default/api-7d9f", "api", "pause", "web", "scratch"]
    );
    assert_eq!(app.selected_key(), Some("pod:0f0e"));
    // Fold, unfold, toggle.
    app.update(Action::Collapse);
    assert!(app.is_collapsed("pod:0f0e"));
    assert_eq!(row_names(&app), ["pod:default/api-7d9f", "web", "scratch"]);
    app.update(Action::Expand);
    assert_eq!(row_names(&app).len(), 5);
    app.update(Action::Toggle);
    assert_eq!(row_names(&app).len(), 3);
    app.update(Action::Open);
    assert_eq!(row_names(&app).len(), 5, "Enter on a pod unfolds it");
    assert!(!app.detail_open(), "a pod has no detail pane of its own");
    // On a member, Collapse goes to the pod's row; the selection is kept across frames.
    app.update(Action::Down);
    app.update(Action::Down);
    assert_eq!(
        app.selected_key(),
        Some("pause0123456789abcdef0123456789abcdef0123456789abcdef0123456789")
    );
    app.update(Action::Collapse);
    assert_eq!(app.selected_key(), Some("pod:0f0e"));
    app.update(Action::Collapse);
    app.on_frame(frame(4, true));
    assert_eq!(app.selected_key(), Some("pod:0f0e"));
    assert!(app.is_collapsed("pod:0f0e"), "a fold outlives the frame");
    assert_eq!(row_names(&app).len(), 3);
}

#[test]
fn acts_on_a_pods_row_say_to_pick_a_container() {
    let (mut app, _) = app_with_history(3);
    assert_eq!(app.selected_key(), Some("pod:0f0e"));
    app.update(Action::LimitCpu);
    assert!(app.prompt().is_none());
    assert!(
        app.message()
            .unwrap()
            .starts_with("a pod: acts work on its containers")
    );
    // y on the pod: its uid, name and cgroup.
    app.update(Action::Copy);
    assert_eq!(
        copy_fields(&app),
        vec![
            (CopyField::Id, "0f0e".to_string()),
            (CopyField::Name, "api-7d9f".to_string()),
            (CopyField::Cgroup, "/kubepods/pod0f0e".to_string()),
        ]
    );
}

#[test]
fn filtering_by_a_pods_name_shows_the_pod_and_all_of_it() {
    let (mut app, _) = app_with_history(0);
    app.update(Action::Filter);
    type_text(&mut app, "api-7d9f");
    app.update(Action::Open);
    assert_eq!(row_names(&app), ["pod:default/api-7d9f", "api", "pause"]);
    // A member matching by itself is a flat row.
    app.update(Action::Back);
    app.update(Action::Filter);
    type_text(&mut app, "pause");
    assert_eq!(row_names(&app), ["pause"]);
}

#[test]
fn snapshot_folded_pod_and_copy_menu() {
    let (mut app, history) = app_with_history(30);
    app.update(Action::Collapse);
    let terminal = render(&mut app, &history, 80, 24);
    insta::assert_snapshot!("folded_pod_80x24", terminal.backend());
    app.update(Action::End);
    app.update(Action::Copy);
    let terminal = render(&mut app, &history, 80, 24);
    insta::assert_snapshot!("copy_menu_80x24", terminal.backend());
}
