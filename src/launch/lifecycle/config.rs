//! `config.json`: what the supervisor needs to start one container, written by `run` before
//! the supervisor starts and never changed after. It holds the operator's [`RunSpec`] and the
//! image resolved against it: the overlay's lower layers, the default image's read-only binds,
//! the final argv, environment, working directory and hostname.
//!
//! The resolution follows Docker: the command given replaces the image's `Cmd` and keeps its
//! `Entrypoint`; with neither, `/bin/sh`. The environment is the image's, then the operator's
//! `-e` pairs (a key given twice keeps the last), with a default `PATH` when the image sets
//! none, `HOSTNAME`, and `TERM=xterm` with a terminal (`HOME` is added at start, from the
//! user's passwd entry in the image). The user is the operator's `--user`, else the image's
//! `User`, else root. `seccomp` records the filter the container runs under.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::launch::ImageConfig;
use crate::launch::error::LaunchError;
use crate::launch::isolate::UserRequest;
use crate::launch::net::BridgeConfig;
use crate::launch::seccomp::SeccompMode;
use crate::launch::spec::{RunSpec, Volume};
use crate::launch::store::write_json;

/// `PATH` when the image sets none (Docker's default).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The resolved launch, stored as `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LaunchConfig {
    pub id: String,
    pub name: String,
    pub spec: RunSpec,
    /// What the image was, for display (its path, or the default image's label).
    pub image: String,
    /// Overlay lower layers, lowest first.
    pub lower_layers: Vec<PathBuf>,
    /// Read-only binds of the default image, mounted before the operator's volumes.
    pub image_binds: Vec<Volume>,
    pub argv: Vec<String>,
    /// `KEY=VALUE`.
    pub env: Vec<String>,
    pub cwd: String,
    pub hostname: String,
    /// Bridge mode: the bridge and subnet in force when the container was made
    /// (`ISOTOP_BRIDGE`/`ISOTOP_SUBNET` then), so start and clean-up use the same ones.
    #[serde(default)]
    pub bridge: Option<BridgeSetting>,
    /// `USER[:GROUP]` to run as (`--user`, else the image's `User`); `None`: root.
    #[serde(default)]
    pub user: Option<String>,
    /// The seccomp filter applied (`"docker-default"` or `"unconfined"`). A config written
    /// before isotop had filters reads as unconfined, which is what that container ran with.
    #[serde(default = "unrecorded_seccomp")]
    pub seccomp: SeccompMode,
}

fn unrecorded_seccomp() -> SeccompMode {
    SeccompMode::Unconfined
}

/// A bridge and its subnet, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BridgeSetting {
    pub bridge: String,
    pub subnet: String,
}

impl BridgeSetting {
    pub fn of(config: &BridgeConfig) -> BridgeSetting {
        BridgeSetting {
            bridge: config.bridge.clone(),
            subnet: config.subnet.clone(),
        }
    }

    /// The checked configuration (a stored file is checked again before use).
    pub fn config(&self) -> Result<BridgeConfig, LaunchError> {
        BridgeConfig::new(&self.bridge, &self.subnet)
    }
}

impl LaunchConfig {
    /// Every bind mount in the order the container gets them.
    pub fn volumes(&self) -> Vec<Volume> {
        let mut all = self.image_binds.clone();
        all.extend(self.spec.volumes.iter().cloned());
        all
    }

    pub fn write(&self, path: &std::path::Path) -> Result<(), LaunchError> {
        write_json(path, self)
    }

    /// The bridge to attach to: the stored one, else the environment's.
    pub fn bridge_config(&self) -> Result<BridgeConfig, LaunchError> {
        match &self.bridge {
            Some(setting) => setting.config(),
            None => BridgeConfig::from_env(),
        }
    }

    /// The user to resolve at start, named after the option it came from (for messages).
    pub fn user_request(&self) -> Option<UserRequest> {
        let option = if self.spec.user.is_some() {
            "--user"
        } else {
            "the image's User"
        };
        self.user.clone().map(|spec| UserRequest {
            spec,
            option: option.into(),
        })
    }

    /// Reads the stored config: a regular file of at most [`Cap::STATE`](crate::host::runtime::file::Cap::STATE) bytes, never through a
    /// symlink (see `host::runtime::file`).
    pub fn read(path: &std::path::Path) -> Result<LaunchConfig, LaunchError> {
        use crate::host::runtime::file::{Cap, read_capped};
        let bytes = read_capped(path, Cap::STATE)
            .map_err(|e| LaunchError::io("read", path, e.into_io()))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| LaunchError::io("parse", path, std::io::Error::other(e)))
    }
}

/// The command to run: the image's entrypoint, then the operator's command or else the
/// image's cmd; `/bin/sh` when all are empty.
pub fn resolve_argv(command: &[String], image: Option<&ImageConfig>) -> Vec<String> {
    let mut argv: Vec<String> = image.map(|c| c.entrypoint.clone()).unwrap_or_default();
    if command.is_empty() {
        argv.extend(image.map(|c| c.cmd.clone()).unwrap_or_default());
    } else {
        argv.extend(command.iter().cloned());
    }
    if argv.is_empty() {
        argv.push("/bin/sh".into());
    }
    argv
}

/// The container's environment (see the module contract).
pub fn resolve_env(
    image: Option<&ImageConfig>,
    operator: &[(String, String)],
    hostname: &str,
    tty: bool,
) -> Vec<String> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut set = |key: &str, value: &str| {
        match pairs.iter_mut().find(|(k, _)| k == key) {
            Some(pair) => pair.1 = value.to_string(),
            None => pairs.push((key.to_string(), value.to_string())),
        };
    };
    set("PATH", DEFAULT_PATH);
    set("HOSTNAME", hostname);
    if tty {
        set("TERM", "xterm");
    }
    for entry in image.map(|c| c.env.as_slice()).unwrap_or_default() {
        match entry.split_once('=') {
            Some((key, value)) if !key.is_empty() => set(key, value),
            _ => {}
        }
    }
    for (key, value) in operator {
        set(key, value);
    }
    pairs.into_iter().map(|(k, v)| format!("{k}={v}")).collect()
}

/// The user: the operator's `--user`, else the image's `User`, else none (root). Its form is
/// checked here (names are looked up in the image at start).
pub fn resolve_user(
    operator: Option<&str>,
    image: Option<&ImageConfig>,
) -> Result<Option<String>, LaunchError> {
    let (user, option) = match (operator, image.and_then(|c| c.user.as_deref())) {
        (Some(user), _) => (user, "--user"),
        (None, Some(user)) => (user, "the image's User"),
        (None, None) => return Ok(None),
    };
    crate::launch::isolate::user::check_spec(user)
        .map_err(|hint| LaunchError::invalid(option, user, hint))?;
    Ok(Some(user.to_string()))
}

/// The working directory: the image's, else `/`.
pub fn resolve_cwd(image: Option<&ImageConfig>) -> String {
    image
        .and_then(|c| c.working_dir.clone())
        .filter(|d| d.starts_with('/'))
        .unwrap_or_else(|| "/".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image() -> ImageConfig {
        ImageConfig {
            env: vec!["PATH=/opt/bin".into(), "A=image".into(), "junk".into()],
            cmd: vec!["serve".into(), "--port=80".into()],
            entrypoint: vec!["/entry".into()],
            working_dir: Some("/srv".into()),
            user: None,
        }
    }

    #[test]
    fn argv_follows_docker() {
        let cmd = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            resolve_argv(&[], Some(&image())),
            cmd(&["/entry", "serve", "--port=80"])
        );
        assert_eq!(
            resolve_argv(&cmd(&["x"]), Some(&image())),
            cmd(&["/entry", "x"])
        );
        assert_eq!(resolve_argv(&cmd(&["ls", "-l"]), None), cmd(&["ls", "-l"]));
        assert_eq!(resolve_argv(&[], None), cmd(&["/bin/sh"]));
    }

    #[test]
    fn env_layers_image_then_operator() {
        let env = resolve_env(
            Some(&image()),
            &[("A".into(), "op".into()), ("B".into(), "2".into())],
            "box",
            true,
        );
        assert_eq!(
            env,
            vec!["PATH=/opt/bin", "HOSTNAME=box", "TERM=xterm", "A=op", "B=2"]
        );
        let plain = resolve_env(None, &[], "h", false);
        assert_eq!(
            plain,
            vec![format!("PATH={DEFAULT_PATH}"), "HOSTNAME=h".into()]
        );
        assert_eq!(resolve_cwd(Some(&image())), "/srv");
        assert_eq!(resolve_cwd(None), "/");
    }

    #[test]
    fn the_operators_user_wins_over_the_images() {
        let with_user = ImageConfig {
            user: Some("app:app".into()),
            ..image()
        };
        assert_eq!(
            resolve_user(None, Some(&with_user)).unwrap().as_deref(),
            Some("app:app")
        );
        assert_eq!(
            resolve_user(Some("1000"), Some(&with_user))
                .unwrap()
                .as_deref(),
            Some("1000")
        );
        assert_eq!(resolve_user(None, Some(&image())).unwrap(), None);
        let hostile = ImageConfig {
            user: Some("a:b:c".into()),
            ..image()
        };
        let err = resolve_user(None, Some(&hostile)).unwrap_err();
        assert!(err.to_string().contains("the image's User"), "{err}");
        assert!(err.is_usage());
    }

    #[test]
    fn configs_without_a_filter_record_read_as_unconfined() {
        let json = r#"{"id":"x","name":"n","spec":{"name":null,"image":null,"command":[],
            "env":[],"volumes":[],"hostname":null,"net":"none","limit_text":{"cpus":null,
            "memory":null,"pids":null},"detach":false,"interactive":false,"tty":false,
            "remove":false,"userns":false},"image":"i","lower_layers":[],"image_binds":[],
            "argv":["sh"],"env":[],"cwd":"/","hostname":"h"}"#;
        let config: LaunchConfig = serde_json::from_str(json).unwrap();
        assert_eq!(config.seccomp, SeccompMode::Unconfined);
        assert_eq!(config.user, None);
        let text = serde_json::to_string(&LaunchConfig {
            seccomp: SeccompMode::DockerDefault,
            ..config
        })
        .unwrap();
        assert!(text.contains(r#""seccomp":"docker-default""#), "{text}");
    }
}
