//! Everything `run` does before the supervisor starts: checks (root, the spec, limits known to
//! be impossible), a new id, the run dir, the name claim, the image (unpacked into the layer
//! cache, or the default image), the data dirs, `config.json` and the record in state
//! `created`. On any failure what was made is removed again: nothing half-created stays.
//!
//! Every run first makes or repairs the modes of isotop's directories (`store::dirs`: the
//! layer cache root-only) and sweeps what killed unpacks left. SIGINT, SIGTERM and SIGHUP are
//! held for the whole preparation (`layer::interrupt`): one that arrives stops the unpack,
//! everything made is removed, then the signal is delivered as usual. The cache's shared lock
//! is held from the image's lookup until the record names its layers, so `isotop image prune`
//! never removes a layer this run is about to use.

use std::path::Path;

use super::config::{
    BridgeSetting, LaunchConfig, resolve_argv, resolve_cwd, resolve_env, resolve_user,
};
use super::teardown::remove_files;
use crate::control::limits::LimitRequest;
use crate::host::HostRoot;
use crate::launch::fail::LaunchError;
use crate::launch::layer::{interrupt, limits_from_env, lock};
use crate::launch::net::BridgeConfig;
use crate::launch::spec::{LimitText, NetMode, RunSpec};
use crate::launch::store::dirs::{self, CONTAINER_DIR_MODE, ensure_data_dirs};
use crate::launch::store::{
    self, ContainerPaths, ContainerRecord, claim_name, data_root, new_id, write_record,
};
use crate::launch::unpack::UnpackLimits;
use crate::launch::{ImageError, LayerCache, cgroup, isolate, rootfs};

/// A container recorded and ready for its supervisor.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub config: LaunchConfig,
    pub record: ContainerRecord,
    pub paths: ContainerPaths,
}

/// Parses the spec's limits; none given is no limit (not an error, unlike `isotop limit`).
pub fn parse_limits(text: &LimitText) -> Result<LimitRequest, LaunchError> {
    if *text == LimitText::default() {
        Ok(LimitRequest::default())
    } else {
        text.parse()
    }
}

/// `RunSpec::validate`, except that no limits at all is fine: `validate` parses the limit
/// text with `LimitRequest::parse`, which refuses an empty request ("nothing to change").
pub fn validate(spec: &mut RunSpec) -> Result<(), LaunchError> {
    if spec.limit_text == LimitText::default() {
        let mut probe = spec.clone();
        probe.limit_text.pids = Some("max".into());
        probe.validate()?;
        spec.limits = LimitRequest::default();
        return Ok(());
    }
    spec.validate()
}

/// Checks, records and lays out a new container (see the module contract).
pub fn prepare(host: &HostRoot, spec: RunSpec) -> Result<Prepared, LaunchError> {
    let watch = interrupt::Watch::start();
    let result = prepare_watched(host, spec);
    // The last look: a signal after the last read still undoes the container (the watch
    // delivers it when dropped, after this).
    match (result, watch.caught()) {
        (Ok(prepared), Some(signal)) => {
            let _ = remove_files(host, &prepared.config.id);
            Err(ImageError::Interrupted {
                signal: signal.as_str().to_string(),
            }
            .into())
        }
        (result, _) => result,
    }
}

/// Makes or repairs isotop's directories and removes what killed unpacks left (cheap: a few
/// syscalls per directory and a listing of two temporary directories).
pub fn repair_dirs(host: &HostRoot) -> Result<(), LaunchError> {
    ensure_data_dirs(host)?;
    LayerCache::for_host(host).sweep_temp();
    lock::sweep(&data_root(host).join("default"), "tmp-");
    Ok(())
}

fn prepare_watched(host: &HostRoot, mut spec: RunSpec) -> Result<Prepared, LaunchError> {
    if !nix::unistd::geteuid().is_root() {
        return Err(LaunchError::NeedsRoot {
            what: "isotop run".into(),
        });
    }
    validate(&mut spec)?;
    cgroup::check_limits(&spec.limits)?;
    if let Some(image) = &spec.image
        && !image.exists()
    {
        return Err(LaunchError::invalid(
            "--image",
            &image.display().to_string(),
            "no such file or directory: give a root-filesystem directory, a rootfs tarball, \
             a `docker save` archive or an OCI image layout",
        ));
    }
    // Checked before anything is made: a bad ISOTOP_SUBNET or layer limit is the operator's
    // to fix.
    let bridge = match spec.net {
        NetMode::Bridge => Some(BridgeSetting::of(&BridgeConfig::from_env()?)),
        _ => None,
    };
    let limits = limits_from_env()?;
    let image_max = crate::launch::manifest::image_bytes_from_env()?;
    repair_dirs(host)?;
    let id = new_id()?;
    let name = spec.name_or_default(&id);
    let paths = ContainerPaths::new(host, &id);
    // The run dir first: a concurrent claim of the same name then sees ours as alive.
    std::fs::create_dir_all(&paths.run_dir)
        .map_err(|e| LaunchError::io("create", &paths.run_dir, e))?;
    if let Err(e) = claim_name(host, &name, &id) {
        let _ = std::fs::remove_dir(&paths.run_dir);
        return Err(e);
    }
    match lay_out(
        host,
        spec,
        bridge,
        (limits, image_max),
        (&id, &name),
        &paths,
    ) {
        Ok(prepared) => Ok(prepared),
        Err(e) => {
            let _ = remove_files(host, &id);
            Err(e)
        }
    }
}

fn lay_out(
    host: &HostRoot,
    spec: RunSpec,
    bridge: Option<BridgeSetting>,
    (limits, image_max): (UnpackLimits, Option<u64>),
    (id, name): (&str, &str),
    paths: &ContainerPaths,
) -> Result<Prepared, LaunchError> {
    let cache = LayerCache::for_host(host)
        .with_limits(limits)
        .with_image_max_bytes(image_max);
    // Held until the record below names the layers (see the module contract).
    let _cache_lock = match &spec.image {
        Some(_) => Some(cache.lock_shared()?),
        None => None,
    };
    let (image_label, lower_layers, image_binds, image_config) = match &spec.image {
        Some(path) => {
            let image = cache.prepare_path(path)?;
            let label = std::fs::canonicalize(path)
                .unwrap_or_else(|_| path.clone())
                .display()
                .to_string();
            (label, image.layers, Vec::new(), image.config)
        }
        None => {
            let default = rootfs::default_image(host)?;
            (default.label, vec![default.layer], default.binds, None)
        }
    };
    // The data dir holds the container's files (its writable layer, the mounted root with the
    // image's setuid files): root's alone, like Docker's (0710), made so before anything is
    // in it (its parent `containers/` is 0711, see `store::dirs`). With --userns its group is
    // the container's root group on the host, whose setup passes through it (search only).
    dirs::make_dir(&paths.data_dir, CONTAINER_DIR_MODE)?;
    for dir in [&paths.upper, &paths.work, &paths.rootfs] {
        std::fs::create_dir(dir).map_err(|e| LaunchError::io("create", dir, e))?;
    }
    if spec.userns {
        // The overlay's root directory takes the upper dir's owner: the container's root
        // owns its `/` as it would without a user namespace.
        let map = isolate::default_idmap(host);
        let (uid, gid) = (
            nix::unistd::Uid::from_raw(map.host_uid),
            nix::unistd::Gid::from_raw(map.host_gid),
        );
        let chown = |dir: &Path, uid: Option<nix::unistd::Uid>| {
            nix::unistd::chown(dir, uid, Some(gid))
                .map_err(|e| LaunchError::kernel(format!("chown {}", dir.display()), e))
        };
        chown(&paths.data_dir, None)?;
        chown(&paths.upper, Some(uid))?;
    }
    let hostname = spec
        .hostname
        .clone()
        .unwrap_or_else(|| id[..12].to_string());
    let user = resolve_user(spec.user.as_deref(), image_config.as_ref())?;
    let config = LaunchConfig {
        id: id.into(),
        name: name.into(),
        argv: resolve_argv(&spec.command, image_config.as_ref()),
        env: resolve_env(image_config.as_ref(), &spec.env, &hostname, spec.tty),
        cwd: resolve_cwd(image_config.as_ref()),
        image: image_label,
        lower_layers,
        image_binds,
        hostname,
        user,
        seccomp: spec.seccomp,
        spec,
        bridge,
    };
    config.write(&paths.config)?;
    let record = ContainerRecord {
        image: config.image.clone(),
        command: config.argv.clone(),
        net: config.spec.net,
        lower_layers: config.lower_layers.clone(),
        remove_on_exit: config.spec.remove,
        hostname: config.hostname.clone(),
        ..ContainerRecord::created(host, id, name)
    };
    write_record(host, &record)?;
    Ok(Prepared {
        config,
        record,
        paths: paths.clone(),
    })
}

/// The record of `id`, which `prepare` made.
pub fn record_of(host: &HostRoot, id: &str) -> Result<ContainerRecord, LaunchError> {
    store::read_record(host, id)?.ok_or_else(|| LaunchError::NoSuchContainer { target: id.into() })
}

/// Reads `config.json` of `id`.
pub fn config_of(host: &HostRoot, id: &str) -> Result<LaunchConfig, LaunchError> {
    LaunchConfig::read(&ContainerPaths::new(host, id).config)
}
