//! `deploy/grafana/isotop.json` is a Grafana dashboard that works on isotop's metrics: valid
//! JSON of schema 39 or later, its data source the `${DS_PROMETHEUS}` variable (asked for on
//! import), variables for node, namespace and container, the panels the README lists, and
//! every query naming only metrics `isotop serve` exports (the contract's list, below). Where
//! `promtool` is installed, every query also parses as PromQL (`promtool check rules`).

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::Value;

use crate::support::deploy::{repo_text, tool};

/// Every metric `isotop serve` exports (the issue 15 contract: cAdvisor's names and meanings,
/// then isotop's own).
const EXPORTED: &[&str] = &[
    "container_cpu_usage_seconds_total",
    "container_cpu_user_seconds_total",
    "container_cpu_system_seconds_total",
    "container_cpu_cfs_periods_total",
    "container_cpu_cfs_throttled_periods_total",
    "container_cpu_cfs_throttled_seconds_total",
    "container_spec_cpu_quota",
    "container_spec_cpu_period",
    "container_spec_cpu_shares",
    "container_memory_usage_bytes",
    "container_memory_working_set_bytes",
    "container_memory_rss",
    "container_memory_cache",
    "container_memory_swap",
    "container_memory_max_usage_bytes",
    "container_memory_failcnt",
    "container_spec_memory_limit_bytes",
    "container_spec_memory_reservation_limit_bytes",
    "container_oom_events_total",
    "container_processes",
    "container_threads",
    "container_start_time_seconds",
    "container_last_seen",
    "container_network_receive_bytes_total",
    "container_network_transmit_bytes_total",
    "container_network_receive_packets_total",
    "container_network_transmit_packets_total",
    "container_network_receive_errors_total",
    "container_network_transmit_errors_total",
    "container_network_receive_packets_dropped_total",
    "container_network_transmit_packets_dropped_total",
    "container_fs_reads_bytes_total",
    "container_fs_writes_bytes_total",
    "container_fs_reads_total",
    "container_fs_writes_total",
    "container_pressure_cpu_waiting_seconds_total",
    "container_pressure_cpu_stalled_seconds_total",
    "container_pressure_memory_waiting_seconds_total",
    "container_pressure_memory_stalled_seconds_total",
    "container_pressure_io_waiting_seconds_total",
    "container_pressure_io_stalled_seconds_total",
    "machine_cpu_cores",
    "machine_memory_bytes",
    "isotop_container_info",
    "isotop_container_pids_limit",
    "isotop_container_pids_refused_forks_total",
    "isotop_container_pressure_ratio",
    "isotop_container_throttled_ratio",
    "isotop_container_restarts",
    "isotop_container_health_info",
    "isotop_container_io_limit_bytes_per_second",
    "isotop_container_namespace_info",
    "isotop_namespaces",
    "isotop_events_total",
    "isotop_sampler_tick_seconds",
    "isotop_scrape_frame_age_seconds",
    "isotop_build_info",
];

/// What the dashboard is for (issue 15): each of these is queried by some panel.
const SHOWN: &[&str] = &[
    "container_cpu_usage_seconds_total",
    "container_spec_cpu_quota",
    "container_spec_cpu_period",
    "container_cpu_cfs_throttled_periods_total",
    "container_cpu_cfs_periods_total",
    "container_memory_working_set_bytes",
    "container_spec_memory_limit_bytes",
    "container_oom_events_total",
    "isotop_container_pids_limit",
    "isotop_container_pids_refused_forks_total",
    "container_pressure_cpu_waiting_seconds_total",
    "container_pressure_memory_waiting_seconds_total",
    "container_pressure_io_waiting_seconds_total",
    "container_network_receive_bytes_total",
    "container_network_transmit_bytes_total",
    "container_fs_reads_bytes_total",
    "container_fs_writes_bytes_total",
    "isotop_container_restarts",
    "isotop_container_health_info",
];

/// PromQL words that are not metric names where they stand.
const KEYWORDS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
    "inf",
    "nan",
];

/// PromQL's aggregations: `sum by (l) (x)` puts the label list between the word and its `(`.
const AGGREGATIONS: &[&str] = &[
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "limitk",
    "limit_ratio",
];

/// The metric names a PromQL expression reads: identifiers outside label matchers `{}`, ranges
/// `[]` and strings, that are neither functions or aggregations (followed by `(`), nor
/// keywords or aggregations, nor the label lists after `by`/`without`/`on`/`ignoring`/`group_*`, nor Grafana
/// variables (`$name`).
fn metric_names(expr: &str) -> BTreeSet<String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    let skip_to = |from: usize, close: char| {
        let mut j = from;
        let mut in_string = false;
        while j < chars.len() {
            match chars[j] {
                '"' => in_string = !in_string,
                '\\' if in_string => j += 1,
                c if c == close && !in_string => return j + 1,
                _ => {}
            }
            j += 1;
        }
        j
    };
    let mut label_list_next = false;
    while i < chars.len() {
        let c = chars[i];
        if c == '{' {
            i = skip_to(i + 1, '}');
        } else if c == '[' {
            i = skip_to(i + 1, ']');
        } else if c == '"' {
            i = skip_to(i + 1, '"');
        } else if c == '(' && label_list_next {
            label_list_next = false;
            i = skip_to(i + 1, ')');
        } else if c == '$' {
            i += 1;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
        } else if c.is_ascii_digit() || c == '.' {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || "_:".contains(chars[i])) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let next = chars[i..].iter().find(|c| !c.is_whitespace());
            if KEYWORDS.contains(&word.to_ascii_lowercase().as_str()) {
                label_list_next = matches!(
                    word.as_str(),
                    "by" | "without" | "on" | "ignoring" | "group_left" | "group_right"
                );
            } else if next != Some(&'(') && !AGGREGATIONS.contains(&word.as_str()) {
                names.insert(word);
            }
        } else {
            i += 1;
        }
    }
    names
}

fn dashboard() -> Value {
    serde_json::from_str(&repo_text("deploy/grafana/isotop.json")).expect("valid JSON")
}

/// Every panel, rows' nested panels included.
fn panels(dashboard: &Value) -> Vec<Value> {
    let mut all = Vec::new();
    for panel in dashboard["panels"].as_array().cloned().unwrap_or_default() {
        all.extend(panel["panels"].as_array().cloned().unwrap_or_default());
        all.push(panel);
    }
    all
}

/// Every PromQL expression: the panels' targets and the query variables (`label_values`'
/// first argument).
fn expressions(dashboard: &Value) -> Vec<String> {
    let mut exprs: Vec<String> = panels(dashboard)
        .iter()
        .flat_map(|p| p["targets"].as_array().cloned().unwrap_or_default())
        .filter_map(|t| t["expr"].as_str().map(str::to_string))
        .collect();
    for variable in dashboard["templating"]["list"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        if variable["type"] != "query" {
            continue;
        }
        let query = variable["query"]["query"]
            .as_str()
            .expect("a query variable's query");
        let inner = query
            .strip_prefix("label_values(")
            .and_then(|q| q.strip_suffix(')'))
            .and_then(|q| q.rsplit_once(','))
            .map(|(selector, _label)| selector.to_string())
            .unwrap_or_else(|| panic!("not label_values(SELECTOR, LABEL): {query}"));
        exprs.push(inner);
    }
    exprs
}

#[test]
fn metric_names_reads_promql_as_prometheus_does() {
    let expr = r#"sum by (instance, name) (rate(foo_total{name=~"$name", a="x{y}"}[$__rate_interval])) / on (name) group_left bar > 0.5 or vector(1)"#;
    let names: Vec<String> = metric_names(expr).into_iter().collect();
    assert_eq!(names, ["bar", "foo_total"]);
}

#[test]
fn the_dashboard_imports_and_asks_for_its_data_source_and_filters() {
    let dashboard = dashboard();
    assert!(dashboard["schemaVersion"].as_u64().unwrap_or(0) >= 39);
    assert_eq!(dashboard["__inputs"][0]["name"], "DS_PROMETHEUS");
    assert_eq!(dashboard["__inputs"][0]["pluginId"], "prometheus");
    let variables = dashboard["templating"]["list"]
        .as_array()
        .expect("variables");
    let named = |n: &str| variables.iter().find(|v| v["name"] == n).cloned();
    assert_eq!(
        named("DS_PROMETHEUS").map(|v| v["type"].clone()),
        Some("datasource".into())
    );
    for filter in ["instance", "namespace", "name"] {
        let variable = named(filter).unwrap_or_else(|| panic!("no ${filter} variable"));
        assert_eq!(variable["includeAll"], true, "{filter}");
        // Containers outside Kubernetes have no namespace label: "All" must match the empty one.
        assert_eq!(variable["allValue"], ".*", "{filter}");
    }

    let panels = panels(&dashboard);
    let mut ids = BTreeSet::new();
    for panel in &panels {
        assert!(
            ids.insert(panel["id"].as_u64().expect("id")),
            "duplicate id {}",
            panel["id"]
        );
        assert!(
            panel["gridPos"]["w"].as_u64().is_some(),
            "{}",
            panel["title"]
        );
        if panel["type"] == "row" {
            continue;
        }
        assert_eq!(
            panel["datasource"]["uid"], "${DS_PROMETHEUS}",
            "{}",
            panel["title"]
        );
        let targets = panel["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "{}", panel["title"]);
        for target in targets {
            assert_eq!(
                target["datasource"]["uid"], "${DS_PROMETHEUS}",
                "{}",
                panel["title"]
            );
            let expr = target["expr"].as_str().unwrap_or_default();
            if !expr.contains("machine_") && !expr.contains("isotop_scrape_frame_age") {
                for filter in ["$instance", "$namespace", "$name"] {
                    assert!(
                        expr.contains(filter),
                        "{}: {expr} ignores {filter}",
                        panel["title"]
                    );
                }
            }
        }
    }
}

#[test]
fn every_query_names_only_metrics_isotop_exports() {
    let dashboard = dashboard();
    let exported: BTreeSet<&str> = EXPORTED.iter().copied().collect();
    let mut used = BTreeSet::new();
    for expr in expressions(&dashboard) {
        let names = metric_names(&expr);
        assert!(!names.is_empty(), "no metric in {expr}");
        for name in names {
            assert!(
                exported.contains(name.as_str()),
                "{name} is not exported (in {expr})"
            );
            used.insert(name);
        }
    }
    for shown in SHOWN {
        assert!(used.contains(*shown), "no panel shows {shown}");
    }
}

#[test]
fn every_query_parses_as_promql() {
    let Some(promtool) = tool("promtool", "PromQL syntax") else {
        return;
    };
    // A rules file whose rules are the dashboard's queries, Grafana's variables given values.
    let mut rules = String::from("groups:\n  - name: isotop-dashboard\n    rules:\n");
    for (i, expr) in expressions(&dashboard()).iter().enumerate() {
        let expr = expr
            .replace("$__rate_interval", "1m")
            .replace("$instance", ".*")
            .replace("$namespace", ".*")
            .replace("$name", ".*");
        rules.push_str(&format!(
            "      - record: isotop_dashboard:query_{i}\n        expr: {}\n",
            serde_json::to_string(&expr).expect("a string")
        ));
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("dashboard-rules.yaml");
    std::fs::write(&file, &rules).expect("write rules");
    let out = Command::new(promtool)
        .args(["check", "rules"])
        .arg(&file)
        .output()
        .expect("promtool starts");
    assert!(
        out.status.success(),
        "promtool check rules: {}{}\n{rules}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
