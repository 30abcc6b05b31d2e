//! `isotop serve` as users start it: a public address is refused without TLS or
//! `--insecure-listen` (and served with it), a token file others can read is refused, and TLS
//! with a self-signed certificate (openssl) answers `curl --cacert` over HTTPS with the live
//! host's metrics (`--root /`), the token asked for.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Duration;

use crate::serve_process::{Served, refused};
use crate::support::common::{require_program, wait_until};

#[test]
fn a_public_address_needs_tls_or_insecure_listen() {
    let (code, said) = refused(&["--listen", "0.0.0.0:0"]);
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("--tls-cert FILE --tls-key FILE"), "{said}");
    assert!(said.contains("--insecure-listen"), "{said}");
    let (code, said) = refused(&["--listen", "[::]:0"]);
    assert_eq!(code, Some(2), "{said}");
    // Said in so many words, it serves.
    let served = Served::start(&[
        "--listen",
        "0.0.0.0:0",
        "--insecure-listen",
        "--interval",
        "60",
    ]);
    assert_eq!(served.scheme, "http");
    assert!(served.addr.ip().is_unspecified());
}

#[test]
fn options_that_cannot_be_served_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "secret\n").unwrap();
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o644)).unwrap();
    let path = token.to_str().unwrap();
    let (code, said) = refused(&["--listen", "127.0.0.1:0", "--bearer-token-file", path]);
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains(&format!("chmod 600 {path}")), "{said}");
    let (code, said) = refused(&["--metrics-path", "/healthz"]);
    assert_eq!(code, Some(2), "{said}");
    let (code, said) = refused(&["--interval", "0"]);
    assert_eq!(code, Some(2), "{said}");
    let missing = dir.path().join("missing.pem");
    let missing = missing.to_str().unwrap();
    let (code, said) = refused(&["--tls-cert", missing, "--tls-key", missing]);
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("missing.pem"), "{said}");
    // The port is taken: the host's refusal, exit 1.
    let first = Served::start(&["--listen", "127.0.0.1:0", "--interval", "60"]);
    let taken = first.addr.to_string();
    let (code, said) = refused(&["--listen", &taken]);
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains(&taken), "{said}");
}

/// `curl -s ARGS URL`: (HTTP status, body); status 0 when curl could not connect.
fn curl(args: &[&str], url: &str) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-s", "--max-time", "20", "-w", "\n%{http_code}"])
        .args(args)
        .arg(url)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

#[test]
fn tls_with_a_self_signed_certificate() {
    if !require_program("openssl") || !require_program("curl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "1", "-subj", "/CN=isotop-test"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let token = dir.path().join("token");
    std::fs::write(&token, "tls-test-token\n").unwrap();
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    let served = Served::start(&[
        "--root",
        "/",
        "--listen",
        "127.0.0.1:0",
        "--interval",
        "1",
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
        "--bearer-token-file",
        token.to_str().unwrap(),
    ]);
    assert_eq!(served.scheme, "https");
    let cacert = ["--cacert", cert.to_str().unwrap()];
    let (status, body) = curl(&cacert, &served.url("/"));
    assert_eq!(status, 200, "{body}");
    // Without the certificate to trust, curl refuses the server; plain HTTP gets no answer.
    assert_eq!(curl(&[], &served.url("/")).0, 0);
    let plain = format!("http://{}/", served.addr);
    assert_ne!(curl(&[], &plain).0, 200);
    let (status, _) = curl(&cacert, &served.url("/metrics"));
    assert_eq!(status, 401);
    // The live host's frames (a debug build on a busy machine: allow a while); the CPU count
    // comes with the second, the first per-core shares.
    let bearer = "Authorization: Bearer tls-test-token";
    let mut last = (0, String::new());
    let fresh = wait_until(Duration::from_secs(180), || {
        last = curl(
            &[cacert[0], cacert[1], "-H", bearer],
            &served.url("/metrics"),
        );
        last.0 == 200 && last.1.contains("machine_cpu_cores ")
    });
    assert!(fresh, "no metrics over TLS: {} {}", last.0, last.1);
    assert!(last.1.contains("isotop_build_info{"), "{}", last.1);
    let (status, said) = curl(&cacert, &served.url("/healthz"));
    assert_eq!(status, 200, "{said}");
}
