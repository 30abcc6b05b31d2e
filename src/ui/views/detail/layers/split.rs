//! How the Layers pane shares its height between the root lines, the layer table, the total
//! and notes, and the growth chart: the layer rows before the notes, the chart at its least
//! before a long stack's tail.

/// Fewest rows the growth chart is drawn in (title, three of plot, axis, labels).
const CHART_ROWS: u16 = 6;

/// Fewest layer rows the growth chart leaves room for.
const LEAST_LAYER_ROWS: usize = 3;

/// How the pane's height is shared: the head lines, the table (its header included), the
/// foot lines, and whether the growth chart gets the rest.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Split {
    pub(super) head: u16,
    pub(super) table: u16,
    pub(super) foot: u16,
    pub(super) chart: bool,
}

impl Split {
    /// Everything, the chart below, when it fits. Else the chart at its least when the head,
    /// the table's header, [`LEAST_LAYER_ROWS`] layer rows and the total line fit above it
    /// (else no chart), the head, and the table with as many layer rows as fit above the total
    /// line; the notes only once every layer row fits.
    pub(super) fn of(
        height: u16,
        head: usize,
        rows: usize,
        foot: usize,
        chart_wanted: bool,
    ) -> Split {
        let at = |n: usize| u16::try_from(n).unwrap_or(u16::MAX);
        let (head, rows, foot) = (at(head), at(rows), at(foot));
        let text = head
            .saturating_add(1)
            .saturating_add(rows)
            .saturating_add(foot);
        let least = head
            .saturating_add(2)
            .saturating_add(at(LEAST_LAYER_ROWS).min(rows));
        let chart = chart_wanted
            && (height >= text.saturating_add(CHART_ROWS) || height >= least + CHART_ROWS);
        let room = if chart && height < text.saturating_add(CHART_ROWS) {
            height - CHART_ROWS
        } else {
            height
        };
        let head = head.min(room);
        let below = room - head;
        // The total line always (when there is room); notes only once every layer row fits.
        let table = rows.saturating_add(1);
        let foot = if below >= table.saturating_add(foot) {
            foot
        } else {
            foot.min(below.saturating_sub(table)).max(below.min(1))
        };
        let table = (below - foot).min(table);
        Split {
            head,
            table,
            foot,
            chart,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_fits_with_the_chart_below() {
        let s = Split::of(30, 1, 5, 2, true);
        assert_eq!(
            s,
            Split {
                head: 1,
                table: 6,
                foot: 2,
                chart: true
            }
        );
    }

    #[test]
    fn a_long_stack_keeps_the_chart_at_its_least_and_cuts_rows() {
        // 17 rows (80x24's pane), 40 layers: 1 head, 6 chart, 1 total line, the table the rest.
        let s = Split::of(17, 1, 40, 3, true);
        assert!(s.chart);
        assert_eq!(s.head, 1);
        assert_eq!(s.foot, 1, "the total line; notes give way to layer rows");
        assert_eq!(s.table, 17 - 6 - 1 - 1);
    }

    #[test]
    fn too_low_for_a_chart_gives_the_text_everything() {
        let s = Split::of(7, 1, 10, 2, true);
        assert!(!s.chart);
        assert_eq!(s.head + s.table + s.foot, 7);
        assert_eq!(s.foot, 1);
        let none = Split::of(0, 2, 3, 1, true);
        assert_eq!(none.head + none.table + none.foot, 0);
        assert!(!none.chart);
    }

    #[test]
    fn no_writable_layer_no_chart() {
        let s = Split::of(40, 1, 3, 1, false);
        assert!(!s.chart);
        assert_eq!(s.table, 4);
    }
}
