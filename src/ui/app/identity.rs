//! Row identity: which row is which from one frame to the next. A row is known by its key
//! (a container id or pod key, a cgroup path, a namespace inode, a pid, an event's arrival
//! number), so the selection
//! stays on the same thing when rows come, go or re-sort, and the detail pane follows it.

use foldhash::HashSet;

use super::App;
use super::rows::ContainerRow;
use super::rows::network;
use super::selection::Target;
use crate::sample::pods::POD_KEY_PREFIX;
use crate::ui::action::Tab;

impl App {
    /// The identity of row `row` of `tab`.
    pub fn row_key(&self, tab: Tab, row: usize) -> Option<String> {
        let frame = self.frame.as_ref()?;
        match tab {
            Tab::Containers => match self.rows.containers.get(row)? {
                ContainerRow::Live(i) => Some(frame.containers[*i].view.container.id.clone()),
                ContainerRow::Pod(p) => Some(frame.pods[*p].key.clone()),
                ContainerRow::Gone => self
                    .gone
                    .as_ref()
                    .map(|g| g.sample.view.container.id.clone()),
            },
            Tab::Cgroups => Some(
                frame.cgroups[self.rows.cgroups.get(row)?.index]
                    .path
                    .clone(),
            ),
            Tab::Namespaces => Some(
                frame.namespaces.namespaces[*self.rows.namespaces.get(row)?]
                    .inode
                    .to_string(),
            ),
            Tab::Processes => Some(
                frame.processes[self.rows.processes.get(row)?.index]
                    .process
                    .pid
                    .to_string(),
            ),
            Tab::Network => network::key(frame.net_map.as_deref()?, *self.rows.network.get(row)?),
            Tab::Events => Some(
                self.events
                    .get(*self.rows.events.get(row)?)?
                    .seq
                    .to_string(),
            ),
        }
    }

    /// The cgroups whose history a view can show soon: the cgroups tab's rows from a page
    /// above its first row shown to a page below its last (a scroll finds history), and the
    /// detail pane's cgroup. The loop keeps history only for these
    /// ([`History::record_only`](crate::sample::History::record_only)).
    pub fn watched_cgroups(&self) -> HashSet<&str> {
        let Some(frame) = self.frame.as_ref() else {
            return HashSet::default();
        };
        let page = self.page_rows();
        let first = self.lists[Tab::Cgroups.index()].offset.saturating_sub(page);
        let mut watched: HashSet<&str> = self
            .rows
            .cgroups
            .iter()
            .skip(first)
            .take(page * 3)
            .filter_map(|row| frame.cgroups.get(row.index))
            .map(|g| g.path.as_str())
            .collect();
        if let Some(Target::Cgroup(path)) = self.detail_target()
            && let Some(&at) = self.rows.cgroup_by_path.get(&path)
            && let Some(g) = frame.cgroups.get(at)
        {
            watched.insert(g.path.as_str());
        }
        watched
    }

    /// What the detail pane shows for the current selection.
    pub fn detail_target(&self) -> Option<Target> {
        let frame = self.frame.as_ref()?;
        let key = self.selected_key()?;
        match self.tab {
            // A pod row has no detail pane of its own: its members do.
            Tab::Containers if key.starts_with(POD_KEY_PREFIX) => None,
            Tab::Containers => Some(Target::Container(key.to_string())),
            Tab::Cgroups => Some(Target::Cgroup(key.to_string())),
            Tab::Namespaces => key.parse().ok().map(Target::Namespace),
            Tab::Processes => {
                let pid: i32 = key.parse().ok()?;
                let p = frame.process(pid)?;
                if let Some(id) = &p.container_id {
                    return Some(Target::Container(id.to_string()));
                }
                p.process
                    .cgroups
                    .iter()
                    .find(|m| self.rows.cgroup_by_path.contains_key(&m.path))
                    .map(|m| Target::Cgroup(m.path.clone()))
            }
            // Its own pane, of a namespace's interfaces: `App::network_target`.
            Tab::Network => None,
            // The event's fields show beside the list; Enter goes to its container.
            Tab::Events => None,
        }
    }

    pub(super) fn restore_selection(&mut self, tab: Tab) {
        let len = self.rows.len(tab);
        if tab == Tab::Network && len == 0 {
            // No map in this frame (not read yet after switching back): the selection waits
            // for the next one.
            return;
        }
        let list = &self.lists[tab.index()];
        if let Some(key) = &list.key
            && let Some(found) = self.find_row(tab, key)
        {
            self.lists[tab.index()].selected = found;
            return;
        }
        let selected = list.selected.min(len.saturating_sub(1));
        let key = self.row_key(tab, selected);
        let list = &mut self.lists[tab.index()];
        list.selected = selected;
        list.key = key;
    }

    /// The row of `tab` whose identity is `key`, compared without building each row's key
    /// (the Processes view can hold tens of thousands of rows, searched every frame).
    pub(super) fn find_row(&self, tab: Tab, key: &str) -> Option<usize> {
        let frame = self.frame.as_ref()?;
        match tab {
            Tab::Containers => (0..self.rows.containers.len())
                .find(|&i| self.row_key(tab, i).as_deref() == Some(key)),
            Tab::Cgroups => self
                .rows
                .cgroups
                .iter()
                .position(|r| frame.cgroups[r.index].path == key),
            Tab::Namespaces => {
                let inode: u64 = key.parse().ok()?;
                self.rows
                    .namespaces
                    .iter()
                    .position(|&i| frame.namespaces.namespaces[i].inode == inode)
            }
            Tab::Processes => {
                let pid: i32 = key.parse().ok()?;
                self.rows
                    .processes
                    .iter()
                    .position(|r| frame.processes[r.index].process.pid == pid)
            }
            Tab::Network => {
                let map = frame.net_map.as_deref()?;
                self.rows
                    .network
                    .iter()
                    .position(|&row| network::key(map, row).as_deref() == Some(key))
            }
            Tab::Events => {
                let seq: u64 = key.parse().ok()?;
                let at = self.events.position(seq)?;
                self.rows.events.iter().position(|&i| i == at)
            }
        }
    }

    pub(super) fn remember_selected_container(&mut self) {
        let selected = self.lists[Tab::Containers.index()].selected;
        if let (Some(frame), Some(ContainerRow::Live(i))) =
            (&self.frame, self.rows.containers.get(selected))
        {
            self.last_selected = Some(frame.containers[*i].clone());
        }
    }
}
