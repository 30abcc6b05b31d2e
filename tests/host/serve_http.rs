//! The exporter's listener against hostile and careless clients, in this process on the
//! hand-made frame with short limits: a hundred clients at once are all answered from one
//! encoding, a client that never reads cannot keep the only connection slot, a head sent a
//! byte at a time is cut off, oversized heads and bodies, unknown paths and other methods are
//! refused with their codes, the bearer token is asked for, and `/healthz` says when frames go
//! stale.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use isotop::serve::http::Limits;
use isotop::serve::latest::Latest;

use crate::serve_process::{InProcess, exchange, get};
use crate::support::fixture;

const OPENMETRICS: &str = "Accept: application/openmetrics-text; version=1.0.0";

/// A latest frame (the fixture's) for a sampler ticking every `interval`.
fn latest_with_frame(interval: Duration) -> Arc<Latest> {
    let latest = Arc::new(Latest::new(interval));
    latest.publish(fixture::net::with_networks(fixture::frame(0, true)));
    latest
}

fn limits() -> Limits {
    Limits {
        max_connections: 4,
        header_timeout: Duration::from_secs(2),
        write_timeout: Duration::from_secs(1),
        max_head_bytes: 16 * 1024,
        lifetime: Duration::from_secs(600),
    }
}

#[test]
fn a_hundred_clients_at_once_are_answered_from_one_encoding() {
    let server = InProcess::start(latest_with_frame(Duration::from_secs(60)), limits(), None);
    let addr = server.addr;
    let clients: Vec<_> = (0..100)
        .map(|_| std::thread::spawn(move || get(addr, "/metrics", &[OPENMETRICS])))
        .collect();
    for client in clients {
        let answer = client.join().unwrap();
        assert_eq!(answer.status, 200, "{answer:?}");
        assert!(answer.body.ends_with("# EOF\n"), "a whole text");
        assert!(answer.body.contains("container_cpu_usage_seconds_total{"));
        assert_eq!(
            answer.header("content-type"),
            Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
        );
    }
    // One frame, one format: encoded once for the hundred.
    assert_eq!(server.latest.encodings(), 1);
    let plain = get(addr, "/metrics", &[]);
    assert_eq!(
        plain.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    assert!(!plain.body.contains("# EOF"));
    assert_eq!(server.latest.encodings(), 2);
}

#[test]
fn a_client_that_never_reads_loses_its_slot() {
    let server = InProcess::start(
        latest_with_frame(Duration::from_secs(60)),
        Limits {
            max_connections: 1,
            ..limits()
        },
        None,
    );
    // Two thousand pipelined scrapes, never read: megabytes of answers fill the socket buffers
    // and the exporter's writes stall.
    let mut greedy = TcpStream::connect(server.addr).unwrap();
    let request = "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n".repeat(2000);
    greedy.write_all(request.as_bytes()).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // The one slot is the greedy client's until its write times out (1 s); then this one is
    // served.
    let started = Instant::now();
    let answer = get(server.addr, "/healthz", &[]);
    assert_eq!(answer.status, 200, "{answer:?}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "served after {:?}",
        started.elapsed()
    );
    drop(greedy);
}

#[test]
fn a_head_sent_a_byte_at_a_time_is_cut_off() {
    let server = InProcess::start(latest_with_frame(Duration::from_secs(60)), limits(), None);
    let mut slow = TcpStream::connect(server.addr).unwrap();
    slow.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let started = Instant::now();
    let head = b"GET /metrics HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let mut closed_after = None;
    for byte in head.iter().cycle().take(200) {
        // A write fails or a read sees the end once the exporter has closed the connection.
        if slow.write_all(&[*byte]).is_err() {
            closed_after = Some(started.elapsed());
            break;
        }
        let mut buf = [0u8; 256];
        match slow.read(&mut buf) {
            Ok(0) | Err(_) if started.elapsed() > Duration::from_millis(50) => {
                if matches!(slow.read(&mut buf), Ok(0)) {
                    closed_after = Some(started.elapsed());
                    break;
                }
            }
            _ => {}
        }
        if started.elapsed() > Duration::from_secs(15) {
            break;
        }
    }
    let closed_after = closed_after.expect("the exporter kept a slow head's connection open");
    // The header timeout is 2 s: not before, and not much after.
    assert!(
        closed_after >= Duration::from_millis(1900),
        "closed after {closed_after:?}"
    );
    assert!(
        closed_after < Duration::from_secs(10),
        "closed after {closed_after:?}"
    );
}

#[test]
fn refusals_have_their_codes() {
    let server = InProcess::start(latest_with_frame(Duration::from_secs(60)), limits(), None);
    let addr = server.addr;
    let big = format!("X-Big: {}", "a".repeat(32 * 1024));
    assert_eq!(get(addr, "/metrics", &[&big]).status, 431);
    let post = exchange(
        addr,
        b"POST /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));
    let with_body = exchange(
        addr,
        b"GET /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
    );
    assert_eq!(with_body.status, 413);
    assert_eq!(get(addr, "/nothing", &[]).status, 404);
    let index = get(addr, "/", &[]);
    assert_eq!(index.status, 200);
    assert!(index.body.contains("href=\"/metrics\""), "{}", index.body);
    assert_eq!(get(addr, "/healthz", &[]).status, 200);
    let head = exchange(
        addr,
        b"HEAD /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    assert_eq!((head.status, head.body.as_str()), (200, ""));
    // A garbage request line is a bad request, not a crash.
    assert_eq!(exchange(addr, b"\x00\x01garbage\r\n\r\n").status, 400);
}

#[test]
fn the_bearer_token_guards_the_metrics() {
    let server = InProcess::start(
        latest_with_frame(Duration::from_secs(60)),
        limits(),
        Some("t0k3n-for-tests"),
    );
    let addr = server.addr;
    let none = get(addr, "/metrics", &[]);
    assert_eq!(none.status, 401);
    assert_eq!(
        none.header("www-authenticate"),
        Some("Bearer realm=\"isotop\"")
    );
    assert!(!none.body.contains("container_"));
    assert_eq!(
        get(addr, "/metrics", &["Authorization: Bearer t0k3n-for-test"]).status,
        401
    );
    assert_eq!(
        get(addr, "/metrics", &["Authorization: Basic t0k3n-for-tests"]).status,
        401
    );
    let ok = get(addr, "/metrics", &["Authorization: Bearer t0k3n-for-tests"]);
    assert_eq!(ok.status, 200);
    assert!(ok.body.contains("container_memory_usage_bytes{"));
    // Health and the index page are not secrets.
    assert_eq!(get(addr, "/healthz", &[]).status, 200);
}

#[test]
fn health_says_when_frames_are_missing_or_stale() {
    let latest = Arc::new(Latest::new(Duration::from_millis(100)));
    let server = InProcess::start(Arc::clone(&latest), limits(), None);
    let none = get(server.addr, "/healthz", &[]);
    assert_eq!(none.status, 503);
    assert!(none.body.contains("no frame yet"), "{}", none.body);
    assert_eq!(get(server.addr, "/metrics", &[]).status, 503);
    latest.publish(fixture::frame(0, true));
    assert_eq!(get(server.addr, "/healthz", &[]).status, 200);
    // Three intervals of 100 ms pass without a frame.
    std::thread::sleep(Duration::from_millis(400));
    let stale = get(server.addr, "/healthz", &[]);
    assert_eq!(stale.status, 503);
    assert!(stale.body.contains("old"), "{}", stale.body);
    // Still served, with its age.
    let metrics = get(server.addr, "/metrics", &[]);
    assert_eq!(metrics.status, 200);
    let age = metrics
        .body
        .lines()
        .find_map(|l| l.strip_prefix("isotop_scrape_frame_age_seconds "))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap();
    assert!(age >= 0.4, "age {age}");
    latest.close("sampling stopped: test".to_string());
    let closed = get(server.addr, "/healthz", &[]);
    assert_eq!(closed.status, 503);
    assert!(closed.body.contains("sampling stopped: test"));
}
