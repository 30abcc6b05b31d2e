//! The Network view's side of [`App`]: asking the sampler for the network map only while the
//! view is shown (reading every namespace's links, addresses and routes costs a netlink walk;
//! see `SamplerControl::set_net_map`), what the selected row's detail pane shows, `e` on a row
//! whose far end is one container's namespace (entering it as on the Containers view; the
//! other act keys say they work elsewhere), and what `y` offers to copy of a row. Pure state:
//! the app loop carries the request to the sampler ([`App::take_net_map_wanted`]).

use super::App;
use super::copy::{CopyField, Offer};
use super::rows::network::facts::{Traffic, facts, namespace};
use super::rows::network::{self, NetRow, NetTarget};
use crate::host::net::InterfaceKind;
use crate::ui::action::{Action, Tab};
use crate::ui::acts::Request;

impl App {
    /// Takes the pending change of whether frames should carry the network map: `Some(true)`
    /// once the Network view is shown, `Some(false)` once it is left, for the app loop to hand
    /// to the sampler.
    pub fn take_net_map_wanted(&mut self) -> Option<bool> {
        self.net_map_wanted.take()
    }

    /// Called on every change of view: the map is wanted exactly while the Network view shows.
    pub(super) fn ask_net_map(&mut self, from: Tab, to: Tab) {
        if (from == Tab::Network) != (to == Tab::Network) {
            self.net_map_wanted = Some(to == Tab::Network);
        }
    }

    /// The selected row of the Network view.
    pub fn network_row(&self) -> Option<NetRow> {
        self.rows
            .network
            .get(self.lists[Tab::Network.index()].selected)
            .copied()
    }

    /// The namespace (and interface) the Network view's detail pane shows: the selected row's
    /// far end (a bridge: its own namespace); `None` on a heading or without a map.
    pub fn network_target(&self) -> Option<NetTarget> {
        let map = self.frame.as_ref()?.net_map.as_deref()?;
        network::target(map, self.network_row()?)
    }

    /// An act key on the Network view (after the root and running-act checks): `e` enters the
    /// one container whose namespace the selected row reaches; the rest belong to the
    /// Containers and Cgroups views.
    pub(super) fn act_on_network(&mut self, action: Action) {
        if action != Action::Enter {
            self.message = Some(
                "acts work on containers and cgroups: select one on the Containers or Cgroups \
                 view (here e enters the container at the selected end)"
                    .to_string(),
            );
            return;
        }
        let found = self.frame.as_ref().and_then(|frame| {
            let map = frame.net_map.as_deref()?;
            let target = self.network_target()?;
            Some((target.netns, namespace(map, target.netns)?))
        });
        let Some((netns, ns)) = found else {
            self.message =
                Some("select a port, a pair or a namespace: e enters the container there".into());
            return;
        };
        let why = match ns.containers.as_slice() {
            // Containers that share the host's namespace are listed in it, but it is not
            // theirs (`host::net::own_netns`).
            _ if ns.host => "the host's network namespace: no container to enter".to_string(),
            [one] => match self.live_container(&one.id) {
                Some(sample) => {
                    let view = Box::new(sample.view.clone());
                    self.send(Request::Enter { view });
                    return;
                }
                None => format!("{} is gone: nothing to enter", one.name),
            },
            [] => format!("no container in netns {netns}: e enters containers"),
            many => format!(
                "{} containers share netns {netns}: enter one from the Containers view",
                many.len()
            ),
        };
        self.message = Some(why);
    }

    /// `y` on the Network view: the row's namespace inode (its id), interface name, holder
    /// pid and first address (without its prefix length, as one pastes it).
    pub(super) fn network_copy_choices(&self) -> Option<(String, Offer)> {
        let frame = self.frame.as_ref()?;
        let map = frame.net_map.as_deref()?;
        let row = self.network_row()?;
        let target = network::target(map, row)?;
        let ns = namespace(map, target.netns);
        let interfaces = ns.map(|ns| ns.interfaces.as_slice()).unwrap_or_default();
        let address = interfaces
            .iter()
            .filter(|i| match &target.interface {
                Some(name) => &i.name == name,
                None => i.kind != InterfaceKind::Loopback,
            })
            .flat_map(|i| &i.addresses)
            .find(|a| a.scope != "link")
            .map(|a| a.address.to_string());
        let title = facts(map, &Traffic::new(&frame.networks), row).name;
        Some((
            title,
            vec![
                (CopyField::Id, Some(target.netns.to_string())),
                (CopyField::Name, target.interface.clone()),
                (
                    CopyField::Pid,
                    ns.and_then(|ns| ns.holder.as_ref())
                        .map(|h| h.pid.to_string()),
                ),
                (CopyField::Address, address),
            ],
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn switching_to_the_network_view_and_away_asks_for_the_map_and_stops_it() {
        let mut app = App::new(Duration::from_secs(60));
        assert_eq!(app.take_net_map_wanted(), None);
        app.update(Action::ShowTab(Tab::Cgroups));
        assert_eq!(app.take_net_map_wanted(), None, "not the Network view");
        app.update(Action::ShowTab(Tab::Network));
        assert_eq!(app.take_net_map_wanted(), Some(true));
        assert_eq!(app.take_net_map_wanted(), None, "taken once");
        app.update(Action::ShowTab(Tab::Network));
        assert_eq!(app.take_net_map_wanted(), None, "already shown");
        app.update(Action::NextTab);
        assert_eq!(app.tab(), Tab::Events);
        assert_eq!(app.take_net_map_wanted(), Some(false));
        app.update(Action::PreviousTab);
        assert_eq!(app.take_net_map_wanted(), Some(true));
    }
}
