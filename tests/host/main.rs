//! Tests of what isotop reads from the host: namespaces, cgroups (fixture trees, live v1,
//! and the `v2_*` set that runs on a cgroup v2 kernel: `vm/run-tests.sh`), other runtimes'
//! containers and state files, the sampler, and the read-only subcommands.
//!
//! Tests that create namespaces, cgroups or containers are `#[ignore = "needs root"]`: run
//! them as root with `cargo test --locked -- --include-ignored`.

mod support;

mod cgroup_fixtures_v1;
mod cgroup_fixtures_v2;
mod cgroup_io;
mod cgroup_io_limits;
mod cgroup_live;
mod cgroup_namespace;
mod cgroup_tempdir;
mod cli_containers;
mod cli_oci;
mod cli_traffic;
mod container_containerd;
mod container_docker;
mod container_lxc_nspawn;
mod container_oci;
mod container_podman;
mod container_pods;
mod container_shared_cgroup;
mod container_unknown;
mod container_unknown_cgroup;
mod deploy_caps;
mod deploy_grafana;
mod deploy_manifests;
mod deploy_package;
mod deploy_root;
mod events;
mod events_cli;
mod events_config;
mod events_psi;
mod frame_serde;
mod kernel_events;
mod layers_hostile;
mod layers_owners;
mod logs_cli;
mod logs_follow;
mod logs_layout;
mod logs_locate;
mod mounts_live;
mod mounts_oci;
mod net_cli;
mod net_counters;
mod net_peers;
mod net_vanishing;
mod ns_cli;
mod ns_lsns;
mod ns_nsfs;
mod overlay_diff;
mod record_crash;
mod record_deltas;
mod record_store;
mod remote_agent;
mod runtime_hostile_files;
mod runtime_hostile_index;
mod runtime_oci;
mod runtime_state;
mod runtime_state_live;
mod runtime_unknown;
mod sample_history;
mod sample_io;
mod sample_live;
mod sample_net;
mod sample_processes;
mod sample_sizer;
mod sample_stacks;
mod sample_stacks_config;
mod sample_stacks_off;
mod sample_task;
mod serve_cli;
mod serve_http;
mod serve_metrics;
mod serve_process;
mod serve_prometheus;
mod stack_namespaces;
mod stack_oci;
mod stack_overlay;
mod stack_stores;
mod v2_cgroups;
mod v2_kernel;
mod v2_unshare;
