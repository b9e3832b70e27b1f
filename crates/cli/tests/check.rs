//! `tokenprobe check` as a user runs it against the built-in stub: the
//! table, exit statuses, config mistakes, the JSON and JUnit files, no
//! secret anywhere, and Ctrl-C. Traffic goes only to the in-process stub
//! on loopback.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

mod support;

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "tokenprobe-cli-check-{name}-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn config(name: &str, body: &str) -> PathBuf {
    let path = dir(name).join(format!("{name}.toml"));
    std::fs::write(&path, body).unwrap();
    path
}

fn check(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
        .arg("check")
        .args(args)
        .output()
        .unwrap()
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const COGNITO: &str = "target = \"stub\"\n[[flows]]\nsystem = \"cognito\"\nclient_id = \"tokenprobe-demo\"\n\
                       client_secret = { value = \"demo-secret\" }\n";

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/demo.toml")
}

#[test]
fn the_demo_scenario_passes_with_negative_checks_skipped() {
    let d = dir("demo");
    let (json, junit) = (d.join("check.json"), d.join("check.xml"));
    let out = check(&[
        demo().to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.starts_with("ID      SYSTEM   RESULT"), "{stdout}");
    assert!(
        stdout.contains("65 checks: 44 pass, 0 fail, 0 warn, 21 skip, 0 error"),
        "{stdout}"
    );
    let skipped: Vec<&str> = stdout.lines().filter(|l| l.contains(" skip ")).collect();
    assert_eq!(skipped.len(), 21, "{stdout}");
    assert!(
        skipped.iter().all(|l| l.contains("--include-negative")
            || l.contains("names no issuer")
            || l.contains("sends no DPoP proof")
            || l.contains("does not authenticate with a certificate")),
        "{skipped:?}"
    );
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(doc["summary"]["pass"], 44);
    assert!(
        std::fs::read_to_string(&junit)
            .unwrap()
            .contains("<testsuites name=\"tokenprobe check\" tests=\"65\"")
    );
}

#[test]
fn a_quirk_fails_its_check_and_the_run_exits_1() {
    let path = config(
        "quirk",
        &format!(
            "{COGNITO}[stub.jwt]\nalgorithm = \"ES256\"\n[stub.faults.cognito]\nquirks = [\"no-cache-control\"]\n"
        ),
    );
    let out = check(&[path.to_str().unwrap()]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let failed: Vec<&str> = stdout.lines().filter(|l| l.contains(" fail ")).collect();
    assert_eq!(failed.len(), 1, "{stdout}");
    assert!(
        failed[0].starts_with("CG-07   cognito  fail"),
        "{}",
        failed[0]
    );
    assert!(
        failed[0].contains("Cache-Control: no-store"),
        "{}",
        failed[0]
    );
}

#[test]
fn only_and_system_narrow_the_run() {
    let out = check(&[
        demo().to_str().unwrap(),
        "--system",
        "cess",
        "--only",
        "ce-08,RFC-02",
    ]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let rows: Vec<&str> = stdout
        .lines()
        .skip(1)
        .take_while(|l| !l.contains("checks:"))
        .collect();
    assert_eq!(rows.len(), 2, "{stdout}");
    assert!(rows.iter().all(|r| r.contains(" cess ")), "{rows:?}");
}

#[test]
fn usage_and_config_mistakes_exit_2() {
    let demo = demo();
    let demo = demo.to_str().unwrap();
    for (args, says) in [
        (vec![demo, "--only", "XX-99"], "--only XX-99"),
        (vec![demo, "--system", "nope"], "is not one of"),
        (
            vec![demo, "--only", "VE-08", "--system", "cess"],
            "no such check for the systems checked (cess)",
        ),
    ] {
        let out = check(&args);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    let only_cognito = config("nosys", COGNITO);
    let out = check(&[only_cognito.to_str().unwrap(), "--system", "vcd"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("the config has no flow for it"));

    let typo = config("typo", &format!("{COGNITO}[check]\nmdoe = \"rfc6749\"\n"));
    let out = check(&[typo.to_str().unwrap()]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("typo.toml:7:1"), "{stderr}");
    assert!(stdout.is_empty(), "nothing ran: {stdout}");

    let unset = config(
        "unset",
        &COGNITO.replace("demo-secret", "${TOKENPROBE_NEVER_SET}"),
    );
    let out = check(&[unset.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).1.contains("TOKENPROBE_NEVER_SET is not set"),
        "{}",
        text(&out).1
    );
}

#[test]
fn no_secret_reaches_stdout_stderr_or_the_files() {
    const SECRET: &str = "PLANTED-cli-secret-4e8b1d";
    const PASSWORD: &str = "PLANTED-cli-password-77aa";
    let body = format!(
        r#"target = "stub"
[stub.jwt]
algorithm = "ES256"
[[stub.cognito.clients]]
id = "tokenprobe-demo"
secret = "{SECRET}"
scopes = ["tokenprobe/read"]
lifetime_secs = 3600
[[stub.venafi.users]]
username = "local:admin"
password = "{PASSWORD}"
identity = "local:{{3a6c5d2e-1f0b-4c47-9a53-6d2b8e1f4c7a}}"
[stub.faults.venafi-authorize]
quirks = ["any-password-accepted"]

[[flows]]
system = "cognito"
client_id = "tokenprobe-demo"
client_secret = {{ env = "TP_TEST_SECRET" }}

[[flows]]
system = "venafi"
client_id = "tokenprobe-demo"
username = "local:admin"
password = {{ env = "TP_TEST_PASSWORD" }}
scope = "certificate:manage"

[[flows]]
system = "vcd"
org = "Finance"
[flows.idp.cognito]
client_id = "tokenprobe-demo"
client_secret = {{ env = "TP_TEST_SECRET" }}
"#
    );
    let path = config("secret", &body);
    let d = dir("secret");
    let (json, junit) = (d.join("check.json"), d.join("check.xml"));
    let out = Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
        .args(["check", "--include-negative", "--spacing", "10ms", "--json"])
        .arg(&json)
        .arg("--junit")
        .arg(&junit)
        .arg(&path)
        .env("TP_TEST_SECRET", SECRET)
        .env("TP_TEST_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    // VE-08 fails (the stub takes any password): the secrets were used.
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("VE-08   venafi   fail")),
        "{stdout}"
    );
    assert!(stdout.contains("0 error"), "{stdout}");
    let files = [
        ("stdout", stdout),
        ("stderr", stderr),
        ("json", std::fs::read_to_string(&json).unwrap()),
        ("junit", std::fs::read_to_string(&junit).unwrap()),
    ];
    for (name, text) in &files {
        for secret in [SECRET, PASSWORD] {
            assert!(!text.contains(secret), "{secret} in {name}");
        }
    }
}

#[test]
fn ctrl_c_stops_after_the_check_in_flight_and_keeps_the_reports() {
    let d = dir("sigint");
    let json = d.join("check.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
        .args(["check", "--include-negative", "--spacing", "60s", "--json"])
        .arg(&json)
        .arg(demo())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    // CG-08 is the first negative check; CG-09 waits 60 s behind it.
    while !seen.lines().any(|l| l.starts_with("CG-08")) {
        let mut line = String::new();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "ended early: {seen}"
        );
        seen.push_str(&line);
    }
    let status = support::interrupt(&mut child, Duration::from_secs(20));
    assert_eq!(status.code(), Some(1));
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert!(rest.contains("interrupted"), "{rest}");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(doc["report"]["interrupted"], true);
    assert_eq!(doc["summary"]["checks"], 65, "every check is accounted for");
    assert!(
        doc["report"]["sessions_left"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

/// The staging template, pointed at a stub on loopback through its
/// environment variables, runs clean.
#[test]
fn the_staging_template_runs_against_a_base_url() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut config = tokenprobe_stub::Config::default();
    config.jwt.algorithm = tokenprobe_protocol::jwt::Algorithm::ES256;
    let stub = rt.block_on(tokenprobe_stub::Stub::start(config)).unwrap();
    let template = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/check-staging.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
        .arg("check")
        .arg(template)
        .env("STAGING_URL", stub.base_url().to_string())
        .env("CLIENT_ID", tokenprobe_stub::DEMO_ID)
        .env("CLIENT_SECRET", tokenprobe_stub::DEMO_SECRET)
        .env("CESS_USER", "12345678909")
        .env("CESS_OTP", tokenprobe_stub::DEMO_OTP)
        .env("VENAFI_USER", "local:admin")
        .env("VENAFI_PASSWORD", tokenprobe_stub::DEMO_PASSWORD)
        .env("VAULT_PROFILE", tokenprobe_stub::DEMO_ID)
        .env("VCD_ORG", "Finance")
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("44 pass, 0 fail, 0 warn, 21 skip, 0 error"),
        "{stdout}"
    );
    assert!(
        !stderr.contains("built-in stub"),
        "a base URL, not the embedded stub: {stderr}"
    );
}

/// The generic template parses; against a dead port every check is an
/// `error` (not a pass), and the exit status says so.
#[test]
fn the_rfc6749_template_reports_a_dead_server_as_errors() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let template = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/check-rfc6749.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
        .args(["check", "--verbose"])
        .arg(template)
        .env("IDP_URL", format!("http://127.0.0.1:{port}"))
        .env("IDP_CLIENT_ID", "svc")
        .env("IDP_SECRET", "PLANTED-rfc-secret-31")
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("0 pass, 0 fail, 0 warn, 19 skip, 14 error"),
        "{stdout}"
    );
    assert!(
        stdout.contains("/realms/demo/protocol/openid-connect/token"),
        "{stdout}"
    );
    assert!(!stdout.contains("PLANTED-rfc-secret-31") && !stderr.contains("PLANTED-rfc-secret-31"));
}

#[test]
fn list_prints_the_catalog() {
    let out = check(&["--list"]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(0));
    let ids = stdout.lines().filter(|l| !l.starts_with(' ')).count();
    assert_eq!(
        ids,
        tokenprobe_conformance::catalog::ENTRIES.len(),
        "{stdout}"
    );
    assert!(
        stdout.contains("CG-08   cognito              doc      negative"),
        "{stdout}"
    );
}
