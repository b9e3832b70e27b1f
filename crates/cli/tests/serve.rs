//! `tokenprobe serve` as a user runs it: the banner names the address and
//! curl lines, each request is logged in one line without secrets, and
//! SIGINT stops it cleanly.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

mod support;

#[test]
fn serve_prints_its_address_logs_requests_and_stops_on_sigint() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no address in {first:?}"));
    let addr = url.trim_start_matches("http://").to_owned();
    let mut banner = String::new();
    // The banner ends with the venafi curl line.
    while !banner.contains("/vedauth/authorize/oauth") {
        let mut line = String::new();
        assert_ne!(
            stdout.read_line(&mut line).unwrap(),
            0,
            "the banner ended early:\n{banner}"
        );
        banner.push_str(&line);
    }
    for system in ["# cognito", "# veeva", "# vcd", "# cess", "# venafi"] {
        assert!(banner.contains(system), "{system} missing from\n{banner}");
    }

    // One token request over plain HTTP/1.1.
    let mut s = TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let body = "grant_type=client_credentials";
    write!(
        s,
        "POST /oauth2/token HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Basic dG9rZW5wcm9iZS1kZW1vOmRlbW8tc2VjcmV0\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");

    let status = support::interrupt(&mut child, Duration::from_secs(20));
    assert!(status.success(), "{status}");
    let mut log = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(log.contains("POST /oauth2/token cognito 200"), "{log}");
    assert!(
        !log.contains("demo-secret") && !log.contains("eyJ"),
        "a secret in the log:\n{log}"
    );
}

#[test]
fn a_bad_configuration_file_is_refused_with_its_place() {
    let dir = std::env::temp_dir().join(format!("tokenprobe-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("stub.toml");
    std::fs::write(&file, "[faults.cess]\nreset = { probability = 2 }\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{}:2:", file.display())), "{err}");
    assert!(err.contains("between 0 and 1"), "{err}");
}
