//! The act keys on the Cgroups view: the selected cgroup itself is the target (`c` `m` `p` `i`
//! open the same prompts as on a container, prefilled with the cgroup's current values; `f`
//! freezes or thaws it by its freezer state; `K` asks first), as `isotop limit|freeze|kill
//! /path` would. The prompts carry the cgroup as `cgroup:/path` in their `id`, so Enter and
//! the kill confirmation send the cgroup requests. Pure state: nothing here reads the host.

use super::{Prompt, count_text, cpu_text, size_text};
use crate::control::cgroup_target::{PREFIX, label};
use crate::host::cgroup::FreezerState;
use crate::sample::CgroupSample;
use crate::ui::action::Action;
use crate::ui::acts::limit_line::io_text;
use crate::ui::acts::{KillSignal, LimitKind, Request};
use crate::ui::app::App;
use crate::ui::app::selection::Target;

/// The cgroup path a prompt's `id` names, when the prompt is for a cgroup.
pub(super) fn cgroup_of(id: &str) -> Option<&str> {
    id.strip_prefix(PREFIX)
}

impl App {
    /// An act key on the Cgroups view (after the root and running-act checks).
    pub(super) fn act_on_cgroup(&mut self, action: Action) {
        let sample = match self.selected_cgroup() {
            Ok(sample) => sample.clone(),
            Err(why) => {
                self.message = Some(why);
                return;
            }
        };
        let path = sample.path.clone();
        if path == "/" && action != Action::Enter {
            // Refused before any prompt (`control::cgroup_target` refuses it too).
            self.message = Some(
                "cgroup / is the root cgroup: an act there would reach every process of the host"
                    .to_string(),
            );
            return;
        }
        let limits = &sample.reading.limits;
        let limit = |kind, text| Prompt::Limit {
            kind,
            id: label(&path),
            name: path.clone(),
            text,
        };
        match action {
            Action::LimitCpu => {
                self.prompt = Some(limit(LimitKind::Cpu, cpu_text(limits.cpu_limit_cpus())))
            }
            Action::LimitMemory => {
                self.prompt = Some(limit(LimitKind::Memory, size_text(limits.memory_max_bytes)))
            }
            Action::LimitPids => {
                self.prompt = Some(limit(LimitKind::Pids, count_text(limits.pids_max)))
            }
            Action::LimitIo => {
                self.prompt = Some(limit(LimitKind::Io, io_text(limits.io.as_ref())))
            }
            Action::FreezeToggle => {
                let frozen = sample.reading.freezer != Some(FreezerState::Frozen);
                self.send(Request::FreezeCgroup { path, frozen });
            }
            Action::Kill => {
                let id = label(&path);
                let signal = if self.kill_again.as_deref() == Some(id.as_str()) {
                    KillSignal::Kill
                } else {
                    KillSignal::Term
                };
                self.prompt = Some(Prompt::ConfirmKill {
                    id,
                    name: format!("every process of cgroup {path}"),
                    signal,
                });
            }
            Action::Enter => {
                self.message =
                    Some("enter works on containers: select one on the Containers view".to_string())
            }
            _ => {}
        }
    }

    /// The selected row of the Cgroups view, live in the last frame.
    fn selected_cgroup(&self) -> Result<&CgroupSample, String> {
        let Some(Target::Cgroup(path)) = self.detail_target() else {
            return Err("nothing selected: select a cgroup to act on".to_string());
        };
        self.frame
            .as_ref()
            .and_then(|f| f.cgroups.iter().find(|g| g.path == path))
            .ok_or_else(|| format!("cgroup {path} is gone: nothing to act on"))
    }
}
