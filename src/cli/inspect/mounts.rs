//! The Root and Mounts sections of `isotop inspect`'s text (the Layers section,
//! [`super::layers`], sits between them): the root's type, source and host path, an overlay's
//! work dir and options; then each volume, bind and tmpfs
//! (the kernel's own file systems counted, listed in `--json`). Every path is a stranger's,
//! cleaned by `mounts::shown::display`.

use super::Inspection;
use crate::host::mounts::shown::display;
use crate::host::mounts::{ContainerMount, MountKind, OverlayLayers};
use crate::host::text::clean;

use std::os::unix::ffi::OsStrExt;

/// The Root section: the root mount, an overlay's work dir and options, the notes.
pub(super) fn render_root(i: &Inspection) -> String {
    let mut out = String::new();
    match &i.root {
        Some(root) => {
            let m = &root.mount;
            out.push_str(&format!(
                "{:<14} {} {}  {}{}\n",
                "Root",
                m.fs_type,
                clean(m.source.as_bytes()),
                if m.read_only { "ro" } else { "rw" },
                host_suffix(m),
            ));
            if let Some(overlay) = &root.overlay {
                out.push_str(&render_overlay(overlay));
            }
        }
        None => out.push_str(&format!("{:<14} -\n", "Root")),
    }
    for note in &i.mount_notes {
        out.push_str(&format!("  note: {}\n", clean(note.as_bytes())));
    }
    out
}

/// The Mounts section: volumes, binds, tmpfs; the kernel's own counted.
pub(super) fn render_mounts(i: &Inspection) -> String {
    let mut out = String::new();
    let (kernel, shown): (Vec<&ContainerMount>, Vec<&ContainerMount>) =
        i.mounts.iter().partition(|m| m.kind == MountKind::Kernel);
    if shown.is_empty() && kernel.is_empty() {
        return out;
    }
    out.push_str("Mounts\n");
    for m in shown {
        out.push_str(&format!(
            "  {:<20} {:<8} {:<12} {} {}{}\n",
            display(&m.destination),
            m.fs_type,
            clean(m.source.as_bytes()),
            if m.read_only { "ro" } else { "rw" },
            m.propagation_mode,
            host_suffix(m),
        ));
    }
    if !kernel.is_empty() {
        out.push_str(&format!(
            "  + {} of the kernel's own (proc, sysfs, cgroup, devpts, …: see --json)\n",
            kernel.len()
        ));
    }
    out
}

fn host_suffix(m: &ContainerMount) -> String {
    match &m.host_path {
        Some(p) => format!("  host {}", display(p)),
        None => String::new(),
    }
}

fn render_overlay(o: &OverlayLayers) -> String {
    let mut out = String::new();
    let mut row = |label: String, path: String| out.push_str(&format!("  {label:<12} {path}\n"));
    if let Some(work) = &o.work {
        row("work".into(), display(work));
    }
    let options = &o.options;
    let mut words: Vec<String> = Vec::new();
    let on_off = |b: bool| if b { "on" } else { "off" };
    if let Some(index) = options.index {
        words.push(format!("index={}", on_off(index)));
    }
    if let Some(metacopy) = options.metacopy {
        words.push(format!("metacopy={}", on_off(metacopy)));
    }
    if let Some(redirect) = &options.redirect_dir {
        words.push(format!("redirect_dir={redirect}"));
    }
    for (set, word) in [
        (options.volatile, "volatile"),
        (options.userxattr, "userxattr"),
        (options.read_only, "ro"),
    ] {
        if set {
            words.push(word.into());
        }
    }
    words.extend(options.other.iter().cloned());
    if !words.is_empty() {
        row("options".into(), clean(words.join(" ").as_bytes()));
    }
    out
}
