//! Helpers of the exporter's tests: a raw HTTP/1.1 client (every byte under the test's
//! control, no keep-alive), an in-process exporter on a fixture frame with chosen limits, and
//! `isotop serve` as a child process found by the address it prints, killed on drop.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::Duration;

use isotop::serve::http::auth::Token;
use isotop::serve::http::{App, Limits, serve};
use isotop::serve::latest::Latest;

use crate::support::common::isotop;

/// An answer: status, headers (names lowercase), body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses a whole HTTP/1.1 answer (the connection closed after it).
pub fn parse_answer(raw: &[u8]) -> Answer {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Answer {
        status,
        headers,
        body: body.to_string(),
    }
}

/// Sends `request` as is and reads the answer until the server closes (30 s at most).
pub fn exchange(addr: SocketAddr, request: &[u8]) -> Answer {
    let mut stream = TcpStream::connect(addr).expect("connect to the server");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    parse_answer(&raw)
}

/// `GET path` when the server listens, `None` while it does not (yet).
pub fn try_get(addr: SocketAddr, path: &str) -> Option<Answer> {
    TcpStream::connect(addr).ok()?;
    Some(get(addr, path, &[]))
}

/// `GET path` with `headers` (`Name: value` lines), the connection closed after.
pub fn get(addr: SocketAddr, path: &str, headers: &[&str]) -> Answer {
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n");
    for h in headers {
        request.push_str(h);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    exchange(addr, request.as_bytes())
}

/// An exporter in this process, on a loopback port, answering from `latest`; stopped on drop.
pub struct InProcess {
    pub addr: SocketAddr,
    pub latest: Arc<Latest>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl InProcess {
    pub fn start(latest: Arc<Latest>, limits: Limits, token: Option<&str>) -> InProcess {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .max_blocking_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Arc::new(App {
            latest: Arc::clone(&latest),
            metrics_path: "/metrics".to_string(),
            token: token.map(Token::new),
            tls: None,
            limits,
        });
        runtime.spawn(serve(listener, app));
        InProcess {
            addr,
            latest,
            runtime: Some(runtime),
        }
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// `isotop serve ARGS` as a child; killed (by its pid) and reaped on drop.
pub struct Served {
    pub child: Child,
    pub addr: SocketAddr,
    pub scheme: String,
}

impl Served {
    /// Starts it and waits (60 s at most) for the line saying where it serves.
    pub fn start(args: &[&str]) -> Served {
        let mut child = isotop()
            .arg("serve")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("isotop serve starts");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("isotop serve {args:?} said nothing"));
        let Some(rest) = line.strip_prefix("isotop: serving ") else {
            let _ = child.kill();
            panic!("isotop serve {args:?}: {line}");
        };
        let (scheme, rest) = rest.split_once("://").unwrap();
        let addr = rest.split('/').next().unwrap().parse().unwrap();
        Served {
            child,
            addr,
            scheme: scheme.to_string(),
        }
    }

    /// The URL of `path` on it.
    pub fn url(&self, path: &str) -> String {
        format!("{}://{}{path}", self.scheme, self.addr)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `isotop serve ARGS` expected to refuse: its exit code and stderr.
pub fn refused(args: &[&str]) -> (Option<i32>, String) {
    let out = isotop()
        .arg("serve")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
