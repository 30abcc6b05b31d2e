//! `isotop inspect TARGET --at TIME --from DIR`: one container as a recorded frame holds it.
//!
//! Contract: TARGET is resolved among the frame's containers by the live `target::resolve`;
//! the inspection is built by the live parts — the container view as measured then, its init
//! (the frame's process table), its namespaces and who shared them (the frame's containers and
//! host reference), `KernelFigures::of` its cgroup reading, its I/O limits, its runtime's
//! record (`runtime_state`, no `sources`: a frame keeps the state, not the files), and its root,
//! mounts and layers from the stack the sampler read (`layers::of_stack`; a note when the frame
//! has none) — and drawn by the live `render`. What a frame does not hold is null and named in
//! `not_recorded`: `network` (its interfaces, peers and routes: `ls --at` has its traffic).
//! `--size` is refused: a layer is walked now, not then.

use super::namespaces::{host_reference_text, namespace_detail};
use super::{Inspection, KernelFigures, init_entry, layers, life, render};
use crate::cli::recorded::{RecordedFrame, refuse};
use crate::cli::{CliError, InspectArgs, ShortIds, print_json, print_text, target};
use crate::host::HostRoot;
use crate::host::scan::ContainerView;

/// `inspect` from `recorded` (see the module contract).
pub(super) fn run(
    root: &HostRoot,
    recorded: &RecordedFrame,
    args: &InspectArgs,
) -> Result<(), CliError> {
    if args.size {
        return Err(refuse(
            "--size",
            "layers are walked now, not as they were (`ls --size --at` shows the sizes a \
             recorder kept)",
        ));
    }
    let frame = &recorded.frame;
    let views: Vec<ContainerView> = frame.containers.iter().map(|c| c.view.clone()).collect();
    let view = target::resolve(&views, &args.target.target)?;
    let Some(sample) = frame
        .containers
        .iter()
        .find(|s| s.view.container.id == view.container.id)
    else {
        return Err(CliError::Usage("the target is not in the frame".into()));
    };
    let c = &view.container;
    let fs = match &sample.stack {
        Some(stack) => layers::of_stack(stack.as_ref().clone()),
        None => layers::FileSystems::none(
            "not in the recording: the sampler had not read its mounts".into(),
            "not in the recording: no layers",
        ),
    };
    let host = &frame.namespaces.host;
    let inspection = Inspection {
        view,
        init: init_entry(root, c, |pid| {
            frame.process(pid).map(|p| p.process.command())
        }),
        namespace_detail: namespace_detail(root, c, host, &views),
        host_reference: host_reference_text(host),
        kernel: KernelFigures::of(view.cgroup.as_deref()),
        root: fs.root,
        mounts: fs.mounts,
        mount_notes: fs.mount_notes,
        layers: fs.layers,
        layer_notes: fs.layer_notes,
        io_limits: sample.io_limits.clone(),
        network: None,
        runtime_state: sample
            .runtime_state
            .as_ref()
            .map(|s| life::RuntimeStateSection::of(s, Vec::new())),
    };
    if args.target.json {
        let mut shown = recorded.wrap(&inspection);
        shown.not_recorded.insert(
            "network",
            "a frame holds its traffic (`isotop ls --at`), not its interfaces, peers and routes",
        );
        return print_json(&shown);
    }
    let shown = ShortIds::new(views.iter().map(|v| v.container.id.as_str()));
    print_text(&format!(
        "{}{}",
        recorded.header(),
        render(&inspection, &shown)
    ))
}
