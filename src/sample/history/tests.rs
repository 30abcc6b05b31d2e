//! The compressed history against a plain model: every point read back bit for bit across
//! chunk boundaries, ageing out exactly as a ring's `pop_front` did, and its memory over ten
//! minutes of ticks for an idle and a busy series.

use std::collections::VecDeque;

use super::Point;
use super::chunk::{CHUNK, Chunk};
use super::packed::{COLUMNS, Packed};
use super::series::Series;

/// xorshift64*: a reproducible stream without a crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn idle(t_ms: u64) -> Point {
    Point {
        t_ms,
        cpu_percent: Some(0.0),
        cpu_limit_percent: None,
        throttled_percent: Some(0.0),
        memory_bytes: Some(1_130_496),
        memory_limit_bytes: None,
        pids: Some(1),
        cpu_pressure_percent: None,
        memory_pressure_percent: None,
        io_pressure_percent: None,
        writable_bytes: Some(4096),
        net_rx_bytes_per_second: Some(0.0),
        net_tx_bytes_per_second: Some(0.0),
        io_read_bytes_per_second: Some(0.0),
        io_write_bytes_per_second: Some(0.0),
        io_read_limit_bps: None,
        io_write_limit_bps: None,
    }
}

/// A point whose every figure changes (or goes missing) at random: floats of any bits,
/// counts small and large.
fn busy(rng: &mut Rng, t_ms: u64) -> Point {
    let mut f = || match rng.below(8) {
        0 => None,
        1 => Some(-0.0),
        _ => Some(f64::from_bits(rng.next() >> 2)),
    };
    let floats: Vec<_> = (0..10).map(|_| f()).collect();
    let mut u = || match rng.below(8) {
        0 => None,
        1 => Some(rng.next() >> 1),
        _ => Some(rng.below(1 << 30)),
    };
    let counts: Vec<_> = (0..6).map(|_| u()).collect();
    Point {
        t_ms,
        cpu_percent: floats[0],
        cpu_limit_percent: floats[1],
        throttled_percent: floats[2],
        cpu_pressure_percent: floats[3],
        memory_pressure_percent: floats[4],
        io_pressure_percent: floats[5],
        net_rx_bytes_per_second: floats[6],
        net_tx_bytes_per_second: floats[7],
        io_read_bytes_per_second: floats[8],
        io_write_bytes_per_second: floats[9],
        memory_bytes: counts[0],
        memory_limit_bytes: counts[1],
        pids: counts[2],
        writable_bytes: counts[3],
        io_read_limit_bps: counts[4],
        io_write_limit_bps: counts[5],
    }
}

/// Bit for bit: `Point`'s `==` would call two NaNs different and 0.0 equal to -0.0.
fn words(p: &Packed) -> (u64, [u64; COLUMNS]) {
    (p.t_ms, p.columns())
}

fn assert_same(got: &[Packed], want: &[Packed]) {
    assert_eq!(got.len(), want.len(), "point count");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(words(g), words(w), "point {i}");
        assert_eq!(g.point().memory_bytes, w.point().memory_bytes);
    }
}

/// Ticks about a second apart with jitter, now and then a step back or a long gap.
fn next_time(rng: &mut Rng, t: u64) -> u64 {
    match rng.below(20) {
        0 => t.saturating_sub(rng.below(5_000)),
        1 => t + rng.below(1 << 40),
        _ => t + 990 + rng.below(20),
    }
}

#[test]
fn random_and_constant_series_round_trip_across_chunks() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for (name, length) in [("short", 5), ("one chunk", CHUNK), ("many", CHUNK * 7 + 13)] {
        let mut t = 1_700_000_000_000;
        let mut series = Series::default();
        let (mut random, mut constant) = (Vec::new(), Vec::new());
        let mut constant_series = Series::default();
        for i in 0..length {
            t = next_time(&mut rng, t);
            // Runs of repeats between changes, as real figures have.
            let point = if i % 5 == 0 || random.is_empty() {
                Packed::of(&busy(&mut rng, t))
            } else {
                let previous: &Packed = random.last().unwrap();
                Packed::from_columns(t, &previous.columns())
            };
            random.push(point);
            series.push(point);
            let still = Packed::of(&idle(t));
            constant.push(still);
            constant_series.push(still);
        }
        let got: Vec<_> = series.points().collect();
        assert_same(&got, &random);
        let got: Vec<_> = constant_series.points().collect();
        assert_same(&got, &constant);
        println!("{name}: {} bytes", series.heap_bytes());
    }
}

#[test]
fn a_chunk_of_missing_and_extreme_figures_round_trips() {
    let none = Point {
        cpu_percent: None,
        memory_bytes: None,
        pids: None,
        ..idle(0)
    };
    let extreme = Point {
        cpu_percent: Some(f64::INFINITY),
        throttled_percent: Some(f64::MIN_POSITIVE),
        memory_bytes: Some(u64::MAX - 1),
        pids: Some(0),
        ..idle(u64::MAX)
    };
    let points: Vec<_> = [none, extreme, none, idle(5), extreme]
        .iter()
        .map(Packed::of)
        .collect();
    let chunk = Chunk::encode(&points).unwrap();
    assert_same(&chunk.decode(), &points);
    // Columns zero or missing throughout cost their mode byte alone.
    let missing: Vec<_> = (0..CHUNK as u64)
        .map(|s| {
            Packed::of(&Point {
                t_ms: 1_000 + s * 1000,
                pids: Some(0),
                ..none
            })
        })
        .collect();
    let quiet = Chunk::encode(&missing).unwrap();
    assert_same(&quiet.decode(), &missing);
    assert!(
        quiet.heap_bytes() < 16 * 2 + CHUNK,
        "{} bytes",
        quiet.heap_bytes()
    );
    assert_eq!(
        chunk.times().collect::<Vec<_>>(),
        points.iter().map(|p| p.t_ms).collect::<Vec<_>>()
    );
    let back = chunk.decode()[0].point();
    assert_eq!(
        (back.cpu_percent, back.memory_bytes, back.pids),
        (None, None, None)
    );
    assert!(Chunk::encode(&[]).is_none());
}

#[test]
fn ageing_out_matches_a_ring() {
    let mut rng = Rng(42);
    let window_ms = 60_000;
    let mut series = Series::default();
    let mut ring: VecDeque<Packed> = VecDeque::new();
    let (mut t, mut newest) = (10_000_000, 0);
    for tick in 0..(CHUNK * 12) {
        t = match rng.below(30) {
            // The clock steps back: newer points may be older than the front.
            0 => t - 70_000,
            _ => t + 1000,
        };
        newest = newest.max(t);
        // Runs of repeated figures (shared in the open run) between changes.
        let point = match (rng.below(3), ring.back()) {
            (0, _) | (_, None) => Packed::of(&busy(&mut rng, t)),
            (_, Some(last)) => Packed::from_columns(t, &last.columns()),
        };
        series.push(point);
        ring.push_back(point);
        let oldest = t.saturating_sub(window_ms);
        while ring.front().is_some_and(|p| p.t_ms < oldest) {
            ring.pop_front();
        }
        let alive = series.age_out(oldest);
        assert_eq!(alive, !ring.is_empty(), "tick {tick}");
        let got: Vec<_> = series.points().collect();
        let want: Vec<_> = ring.iter().copied().collect();
        assert_same(&got, &want);
    }
    // The series stops (its container vanished): its points age out, then it is empty.
    assert!(series.age_out(t.saturating_sub(window_ms) + 1000));
    assert!(series.points().count() > 0);
    assert!(!series.age_out(newest + 1));
    assert_eq!(series.points().count(), 0);
}

/// Ten minutes of 1 s ticks (600 points live, 1,800 recorded), the bytes a series holds.
fn ten_minutes(mut point_at: impl FnMut(u64) -> Point) -> usize {
    let mut series = Series::default();
    let mut peak = 0;
    for s in 0..1800u64 {
        let t = 1_000_000 + s * 1000;
        series.push(Packed::of(&point_at(t)));
        assert!(series.age_out(t - 600_000));
        peak = peak.max(series.heap_bytes());
    }
    assert_eq!(series.points().count(), 601);
    peak
}

#[test]
fn ten_minutes_cost_a_few_kib_idle_and_no_more_than_packed_points_busy() {
    let idle_bytes = ten_minutes(idle);
    // 19 closed chunks of ~70 B (a word only for memory, pids and the writable layer), their
    // slots, and the open run: ≤ 32 times and one figure set (it was ≤ 32 × 136 B and chunks
    // of ~180 B, ~10 KiB in all).
    assert!(idle_bytes <= 3 * 1024, "idle series: {idle_bytes} bytes");
    let mut rng = Rng(7);
    let busy_bytes = ten_minutes(|t| busy(&mut rng, t));
    // What the packed ring held for the same span: 601 points × 136 B.
    let packed = 601 * std::mem::size_of::<Packed>();
    assert!(
        busy_bytes <= packed,
        "busy series: {busy_bytes} bytes, packed points {packed}"
    );
    println!("idle {idle_bytes} B, busy {busy_bytes} B, packed {packed} B");
}

#[test]
fn an_idle_open_run_keeps_one_figure_set_and_every_time() {
    let mut series = Series::default();
    let mut points = Vec::new();
    // A missing float is a NaN: repeats of it must still count as the same figures.
    let still = |t| {
        Packed::of(&Point {
            cpu_percent: None,
            ..idle(t)
        })
    };
    for s in 0..(CHUNK as u64 - 1) {
        let point = still(1_000_000 + s * 1000 + s % 3);
        series.push(point);
        points.push(point);
    }
    let held = series.heap_bytes();
    assert!(
        held < 2 * std::mem::size_of::<Packed>() + CHUNK * 8 + 64,
        "{held} bytes for {} repeated points",
        points.len()
    );
    let got: Vec<_> = series.points().collect();
    assert_same(&got, &points);
    // A change starts a new figure set; ageing out drops the front run's points one by one.
    let changed = Packed::of(&busy(&mut Rng(3), 2_000_000));
    series.push(changed);
    points.push(changed);
    assert!(series.age_out(points[10].t_ms));
    let got: Vec<_> = series.points().collect();
    assert_same(&got, &points[10..]);
    assert!(series.age_out(2_000_000));
    let got: Vec<_> = series.points().collect();
    assert_same(&got, &points[points.len() - 1..]);
}
