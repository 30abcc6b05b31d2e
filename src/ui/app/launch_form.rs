//! The `n` form's contents: six fields (image, command, name, CPU, memory, network), which one
//! has the keys, and the check that turns them into a [`RunSpec`] with the same parsers
//! `isotop run` uses (`check_name`, `NetMode`, the limit parsers through
//! [`RunSpec::validate`]). A check that fails names the field it is about, so the form can show
//! the error under it and keep everything typed. Pure data: nothing here reads the host.

use std::path::PathBuf;

use crate::launch::spec::{LimitText, NetMode, RunSpec, check_name};

/// One field of the form, in the order Tab walks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Image,
    Command,
    Name,
    Cpu,
    Memory,
    Network,
}

impl Field {
    pub const ALL: [Field; 6] = [
        Field::Image,
        Field::Command,
        Field::Name,
        Field::Cpu,
        Field::Memory,
        Field::Network,
    ];

    /// The label the form shows.
    pub fn label(self) -> &'static str {
        match self {
            Field::Image => "image",
            Field::Command => "command",
            Field::Name => "name",
            Field::Cpu => "CPU",
            Field::Memory => "memory",
            Field::Network => "network",
        }
    }

    /// What the field takes, and what empty means (shown under it, dim).
    pub fn hint(self) -> &'static str {
        match self {
            Field::Image => "rootfs dir, tarball, docker-archive, OCI; empty: default",
            Field::Command => "split like a shell ('…', \"…\"); empty: /bin/sh or the image's",
            Field::Name => "optional: letters, digits, _ . - (default: program-id)",
            Field::Cpu => "optional: CPUs, e.g. 0.5, 50%, 500m",
            Field::Memory => "optional: bytes, e.g. 256M, 1.5G",
            Field::Network => "←/→ or space: none (lo only), bridge (isotop0), host",
        }
    }

    fn index(self) -> usize {
        Field::ALL.iter().position(|&f| f == self).unwrap_or(0)
    }

    pub fn next(self) -> Field {
        Field::ALL[(self.index() + 1) % Field::ALL.len()]
    }

    pub fn previous(self) -> Field {
        Field::ALL[(self.index() + Field::ALL.len() - 1) % Field::ALL.len()]
    }
}

/// Why the form was not submitted: about one field, or the whole form (`field` None).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormError {
    pub field: Option<Field>,
    pub text: String,
}

/// The launch form as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchForm {
    pub image: String,
    pub command: String,
    pub name: String,
    pub cpu: String,
    pub memory: String,
    pub net: NetMode,
    /// The field that has the keys.
    pub focus: Field,
    /// The last submit's error, shown under its field until that field is edited.
    pub error: Option<FormError>,
    /// isotop is not root: the form says launching needs root and submits nothing.
    pub needs_root: bool,
}

impl Default for LaunchForm {
    fn default() -> Self {
        LaunchForm {
            image: String::new(),
            command: String::new(),
            name: String::new(),
            cpu: String::new(),
            memory: String::new(),
            net: NetMode::None,
            focus: Field::Image,
            error: None,
            needs_root: false,
        }
    }
}

/// The networks in the order ←/→ cycle them.
const NETS: [NetMode; 3] = [NetMode::None, NetMode::Bridge, NetMode::Host];

impl LaunchForm {
    /// The text of a text field (`None` for the network, which is a choice).
    pub fn text(&self, field: Field) -> Option<&str> {
        match field {
            Field::Image => Some(&self.image),
            Field::Command => Some(&self.command),
            Field::Name => Some(&self.name),
            Field::Cpu => Some(&self.cpu),
            Field::Memory => Some(&self.memory),
            Field::Network => None,
        }
    }

    fn text_mut(&mut self, field: Field) -> Option<&mut String> {
        match field {
            Field::Image => Some(&mut self.image),
            Field::Command => Some(&mut self.command),
            Field::Name => Some(&mut self.name),
            Field::Cpu => Some(&mut self.cpu),
            Field::Memory => Some(&mut self.memory),
            Field::Network => None,
        }
    }

    /// The error shown under `field`, if any.
    pub fn error_for(&self, field: Field) -> Option<&str> {
        self.error
            .as_ref()
            .filter(|e| e.field == Some(field))
            .map(|e| e.text.as_str())
    }

    /// A typed character: text for a text field; space cycles the network. Control characters
    /// never go in (they would reach the terminal when the form is drawn).
    pub fn type_char(&mut self, c: char) {
        if c.is_control() {
            return;
        }
        let focus = self.focus;
        match self.text_mut(focus) {
            Some(text) => text.push(c),
            None if c == ' ' => self.net = cycle(self.net, true),
            None => return,
        }
        self.edited(focus);
    }

    pub fn backspace(&mut self) {
        let focus = self.focus;
        if let Some(text) = self.text_mut(focus) {
            text.pop();
            self.edited(focus);
        }
    }

    /// ←/→ on the network field choose the previous/next network; elsewhere nothing.
    pub fn cycle_net(&mut self, forward: bool) {
        if self.focus == Field::Network {
            self.net = cycle(self.net, forward);
            self.edited(Field::Network);
        }
    }

    fn edited(&mut self, field: Field) {
        if self.error.as_ref().is_some_and(|e| e.field == Some(field)) {
            self.error = None;
        }
    }

    /// The [`RunSpec`] the form asks for (detached), or the first error with its field.
    pub fn to_spec(&self) -> Result<RunSpec, FormError> {
        let at = |field: Field| {
            move |text: String| FormError {
                field: Some(field),
                text,
            }
        };
        let optional = |text: &str| Some(text.trim().to_string()).filter(|t| !t.is_empty());
        let image = optional(&self.image).map(PathBuf::from);
        let command = split_command(&self.command).map_err(at(Field::Command))?;
        let name = optional(&self.name);
        if let Some(name) = &name {
            check_name(name).map_err(|e| at(Field::Name)(e.to_string()))?;
        }
        // Each limit alone first, so its error lands under its own field.
        let cpus = optional(&self.cpu);
        let memory = optional(&self.memory);
        for (field, text) in [
            (
                Field::Cpu,
                LimitText {
                    cpus: cpus.clone(),
                    ..LimitText::default()
                },
            ),
            (
                Field::Memory,
                LimitText {
                    memory: memory.clone(),
                    ..LimitText::default()
                },
            ),
        ] {
            if text != LimitText::default() {
                text.parse().map_err(|e| at(field)(e.to_string()))?;
            }
        }
        let mut spec = RunSpec {
            name,
            image,
            command,
            net: self.net,
            limit_text: LimitText {
                cpus,
                memory,
                pids: None,
            },
            detach: true,
            ..RunSpec::default()
        };
        if spec.limit_text == LimitText::default() {
            // `RunSpec::validate` parses the limits with `isotop limit`'s parser, which
            // refuses an empty request ("nothing to change"); without limits, the one check
            // of it that applies to the form is the command's.
            if spec.command.first().is_some_and(|c| c.is_empty()) {
                return Err(at(Field::Command)("the command is empty".to_string()));
            }
            return Ok(spec);
        }
        spec.validate().map_err(|e| FormError {
            field: Some(Field::Command),
            text: e.to_string(),
        })?;
        Ok(spec)
    }
}

fn cycle(net: NetMode, forward: bool) -> NetMode {
    let i = NETS.iter().position(|&n| n == net).unwrap_or(0);
    let step = if forward { 1 } else { NETS.len() - 1 };
    NETS[(i + step) % NETS.len()]
}

/// Splits a command line into words as a POSIX shell would for quoting (spaces, `'…'`,
/// `"…"`, backslash escapes); no variables, globs or redirections: the words go to `exec`
/// as they are. Empty text is an empty command (the image's own, else `/bin/sh`).
pub fn split_command(text: &str) -> Result<Vec<String>, String> {
    shlex::split(text).ok_or_else(|| {
        format!("cannot split {text:?}: a quote is not closed, or it ends in a lone backslash")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_split_like_a_shell() {
        assert_eq!(split_command("").unwrap(), Vec::<String>::new());
        assert_eq!(split_command("  sleep   300 ").unwrap(), ["sleep", "300"]);
        assert_eq!(
            split_command(r#"sh -c 'echo "a b"; exit 3' "x y" z\ w"#).unwrap(),
            ["sh", "-c", r#"echo "a b"; exit 3"#, "x y", "z w"]
        );
        assert!(split_command("echo 'open").is_err());
        assert!(split_command("echo \"open").is_err());
    }

    #[test]
    fn network_cycles_both_ways_and_space_steps_it() {
        let mut form = LaunchForm {
            focus: Field::Network,
            ..LaunchForm::default()
        };
        form.cycle_net(true);
        assert_eq!(form.net, NetMode::Bridge);
        form.type_char(' ');
        assert_eq!(form.net, NetMode::Host);
        form.cycle_net(true);
        assert_eq!(form.net, NetMode::None);
        form.cycle_net(false);
        assert_eq!(form.net, NetMode::Host);
        form.type_char('x');
        assert_eq!(form.net, NetMode::Host);
    }

    #[test]
    fn fields_walk_in_a_ring() {
        let mut f = Field::Image;
        for _ in 0..Field::ALL.len() {
            f = f.next();
        }
        assert_eq!(f, Field::Image);
        assert_eq!(Field::Image.previous(), Field::Network);
    }
}
