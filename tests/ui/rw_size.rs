//! The Containers view's RW SIZE column: the writable layer's size on disk
//! (`Frame::writable_bytes`), `…` while it is queued or walked, `failed`, `-` without one;
//! drawn from 160 columns, hidden by `[containers] hide`, sortable.

use crate::layers::rows;
use crate::support::{drive, fixture};

use std::path::Path;
use std::sync::Arc;

use isotop::sample::LayerSize;
use isotop::ui::Action;
use isotop::ui::config::Config;

use drive::{container_row_names, render};
use fixture::stacks::snapshot;
use fixture::{app_with_history, app_with_layers, frame};

/// The text under the column titled `title` (right-aligned, `width` cells) on each row after
/// the header, by name (the NAME column's first word on the row).
pub(crate) fn column(screen: &[String], title: &str, width: usize) -> Vec<(String, String)> {
    column_by(screen, "NAME", title, width)
}

/// [`column`] of a table whose rows are named by the column titled `names` (`CGROUP`: the
/// last part of a path, as the tree shows it).
pub(crate) fn column_by(
    screen: &[String],
    names: &str,
    title: &str,
    width: usize,
) -> Vec<(String, String)> {
    cells_under(screen, names, title, width, true)
}

/// [`column`] of a left-aligned column (the cell starts where the title does).
pub(crate) fn column_left(screen: &[String], title: &str, width: usize) -> Vec<(String, String)> {
    cells_under(screen, "NAME", title, width, false)
}

fn cells_under(
    screen: &[String],
    names: &str,
    title: &str,
    width: usize,
    right: bool,
) -> Vec<(String, String)> {
    let header_row = screen
        .iter()
        .position(|r| r.starts_with("ID ") || r.starts_with(&format!("{names} ")))
        .expect("the table's header");
    let header = &screen[header_row];
    let Some(at) = header.find(title) else {
        return Vec::new();
    };
    // Right-aligned: the title ends where the cell does.
    let start = match right {
        true => (header[..at].chars().count() + title.chars().count()).saturating_sub(width),
        false => header[..at].chars().count(),
    };
    let name_at = header[..header.find(names).unwrap()].chars().count();
    screen[header_row + 1..]
        .iter()
        .filter(|r| !r.trim().is_empty())
        .map(|r| {
            let chars: Vec<char> = r.chars().collect();
            let name: String = chars[name_at..].iter().collect();
            let name = name
                .split_whitespace()
                .find(|w| *w != "▾" && *w != "▸")
                .unwrap_or_default()
                .to_string();
            let cell: String = chars[start..(start + width).min(chars.len())]
                .iter()
                .collect();
            (name, cell.trim().to_string())
        })
        .collect()
}

pub(crate) fn cell_of(cells: &[(String, String)], name: &str) -> String {
    cells
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, c)| c.clone())
        .unwrap_or_else(|| panic!("no row {name} in {cells:?}"))
}

#[test]
fn rw_size_shows_the_writable_bytes_or_why_not() {
    let (mut app, history) = app_with_history(30);
    let screen = rows(&render(&mut app, &history, 160, 48));
    let cells = column(&screen, "RW SIZE", 7);
    assert_eq!(cell_of(&cells, "api"), "34M", "(4 + 30) MiB at frame 30");
    assert_eq!(cell_of(&cells, "pause"), "…", "queued");
    assert_eq!(cell_of(&cells, "web"), "-", "a bind root has no layers");
    assert_eq!(cell_of(&cells, "scratch"), "-", "not read");
    assert_eq!(cell_of(&cells, "default/api-7d9f"), "", "a pod has none");

    // Being walked; failed.
    let (mut app, history) = app_with_layers(1);
    let mut f = fixture::layers_frame(2);
    let mut sizes = (*f.layer_sizes).clone();
    sizes.insert(
        snapshot(57),
        LayerSize::Failed {
            reason: "gone".into(),
        },
    );
    f.layer_sizes = Arc::new(sizes);
    app.on_frame(f);
    let screen = rows(&render(&mut app, &history, 200, 40));
    let cells = column(&screen, "RW SIZE", 7);
    assert_eq!(cell_of(&cells, "cart"), "…", "sizing");
    assert_eq!(cell_of(&cells, "shop"), "12M");
    assert_eq!(cell_of(&cells, "api"), "failed");
}

#[test]
fn rw_size_comes_in_at_160_columns_and_the_config_hides_it() {
    for (width, shown) in [
        (80, false),
        (120, false),
        (159, false),
        (160, true),
        (200, true),
    ] {
        let (mut app, history) = app_with_history(3);
        let screen = rows(&render(&mut app, &history, width, 30));
        assert_eq!(
            screen.iter().any(|r| r.contains("RW SIZE")),
            shown,
            "at {width} columns"
        );
    }
    let config =
        Config::parse("[containers]\nhide = [\"rw size\"]\n", Path::new("c.toml")).unwrap();
    let (mut app, history) = app_with_history(3);
    app.hide_container_columns(config.hidden_container_columns);
    // Wide enough for every column.
    let screen = rows(&render(&mut app, &history, 230, 30));
    assert!(!screen.concat().contains("RW SIZE"));
    assert!(screen.concat().contains("REFUSED"), "the others stay");
    // `s` steps over it: after REFUSED (14) comes NET RX/s (16).
    for _ in 0..15 {
        app.update(Action::SortNext);
    }
    assert_eq!(app.sort(isotop::ui::Tab::Containers).column, Some(14));
    app.update(Action::SortNext);
    assert_eq!(app.sort(isotop::ui::Tab::Containers).column, Some(16));
    // An unknown title names the known ones, RW SIZE among them.
    let err = Config::parse("[containers]\nhide = [\"RW\"]\n", Path::new("c.toml")).unwrap_err();
    assert!(err.to_string().contains("\"RW SIZE\""), "{err}");
}

#[test]
fn rw_size_sorts_largest_first_unknown_last() {
    let (mut app, _) = app_with_layers(2);
    app.update(Action::SortBy(15));
    let names = container_row_names(&app);
    let at = |n: &str| names.iter().position(|x| x == n).unwrap();
    // At frame 2: shop 12M, api (4 + 2) = 6M, the rest without a figure.
    assert!(at("shop") < at("api"), "{names:?}");
    assert!(at("api") < at("web") && at("api") < at("cart"), "{names:?}");
    app.update(Action::SortBy(15));
    let names = container_row_names(&app);
    let at = |n: &str| names.iter().position(|x| x == n).unwrap();
    assert!(at("api") < at("shop"), "reversed: {names:?}");
    // Without sizes every row ties: the natural order stays.
    let mut f = frame(3, true);
    f.layer_sizes = Default::default();
    let (mut plain, _) = app_with_history(0);
    plain.on_frame(f);
    let natural = container_row_names(&plain);
    plain.update(Action::SortBy(15));
    assert_eq!(container_row_names(&plain), natural);
}
