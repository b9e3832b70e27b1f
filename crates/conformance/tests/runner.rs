//! The live runner end to end against the stub and wiremock: negative
//! checks only when asked for and spaced out, sessions ended, reports that
//! parse back, no secret in any output, generic RFC 6749 mode, and a dead
//! server reported as `error`.

mod support;

use support::route;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use tokenprobe_conformance::catalog::{ENTRIES, System};
use tokenprobe_conformance::endpoint::{Options, Target};
use tokenprobe_conformance::report;
use tokenprobe_conformance::run::{Outcome, Report, Selection, run};
use tokenprobe_protocol::BaseUrl;
use tokenprobe_stub::{Config, Stub, StubHandle};
use wiremock::matchers::{body_string_contains, header_exists, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn all(include_negative: bool) -> Selection {
    Selection {
        include_negative,
        spacing: Duration::ZERO,
        ..Selection::default()
    }
}

/// Only the checks `ids`, negatives left out.
fn only(ids: &[&str]) -> Selection {
    Selection {
        only: Some(ids.iter().map(|id| (*id).to_owned()).collect()),
        ..all(false)
    }
}

fn quirked(route: &str, quirk: &str) -> Config {
    let text = format!("[jwt]\nalgorithm = \"ES256\"\n[faults.{route}]\nquirks = [\"{quirk}\"]\n");
    tokenprobe_config::stub_config(&text, "quirk.toml").unwrap()
}

async fn run_on(config: Config, selection: &Selection) -> (StubHandle, Report) {
    let stub = Stub::start(config).await.unwrap();
    let r = run(&support::targets(&stub), selection, |_| {}).await;
    (stub, r)
}

fn outcome(r: &Report, id: &str, system: System) -> (Outcome, String) {
    let v = r
        .verdicts
        .iter()
        .find(|v| v.id == id && v.system == system)
        .unwrap_or_else(|| panic!("no verdict for {id} on {system}"));
    (v.outcome, v.reason.clone())
}

#[tokio::test]
async fn negative_checks_are_skipped_unless_asked_for() {
    // The stub takes any password: only a negative check can see it.
    let config = quirked("cognito", "any-password-accepted");
    let (_stub, r) = run_on(config.clone(), &all(false)).await;
    let negative: Vec<_> = r
        .verdicts
        .iter()
        .filter(|v| ENTRIES.iter().any(|e| e.id == v.id && e.negative))
        .collect();
    assert_eq!(negative.len(), 7, "{}", report::table(&r));
    for v in negative {
        assert_eq!(v.outcome, Outcome::Skip, "{}", report::line(v));
        assert!(v.reason.contains("--include-negative"), "{}", v.reason);
        assert!(v.evidence.is_empty(), "{} sent something", v.id);
    }
    assert!(r.ok(), "{}", report::table(&r));

    let (_stub, r) = run_on(config, &all(true)).await;
    let (o, reason) = outcome(&r, "CG-08", System::Cognito);
    assert_eq!(o, Outcome::Fail, "{reason}");
    assert!(reason.starts_with("200"), "{reason}");
    assert!(!r.ok());
}

#[tokio::test]
async fn negative_checks_run_last_once_each_and_spaced_out() {
    let selection = Selection {
        spacing: Duration::from_millis(150),
        ..all(true)
    };
    let started = Instant::now();
    let (_stub, r) = run_on(support::fast_config(), &selection).await;
    let elapsed = started.elapsed();
    let negatives: Vec<&str> = r
        .verdicts
        .iter()
        .filter(|v| ENTRIES.iter().any(|e| e.id == v.id && e.negative))
        .map(|v| v.id)
        .collect();
    assert_eq!(
        negatives,
        [
            "CG-08", "CG-09", "PK-01", "PK-02", "PK-03", "CE-09", "VE-08"
        ]
    );
    // The demo client has a secret: the assertion checks send nothing.
    for v in r.verdicts.iter().filter(|v| v.id.starts_with("PK-")) {
        assert_eq!(v.outcome, Outcome::Skip, "{}", report::line(v));
        assert!(v.evidence.is_empty() && v.reason.contains("secret"));
    }
    let negatives: Vec<&str> = negatives
        .into_iter()
        .filter(|id| !id.starts_with("PK-"))
        .collect();
    // The spacing is between each negative check and the next: from the
    // end of one to the start of the other, never less.
    assert!(elapsed >= Duration::from_millis(450), "{elapsed:?}");
    let timed: Vec<(&str, Duration, Duration)> = r
        .verdicts
        .iter()
        .filter(|v| negatives.contains(&v.id))
        .map(|v| (v.id, v.started, v.started + v.elapsed))
        .collect();
    assert_eq!(timed.len(), 4);
    for pair in timed.windows(2) {
        let gap = pair[1].1 - pair[0].2;
        assert!(
            gap >= Duration::from_millis(150),
            "{} began {gap:?} after {} ended",
            pair[1].0,
            pair[0].0
        );
    }
    // Each sends one wrong credential, beside the working request it
    // varies (asked once for all, so shared here).
    for v in r.verdicts.iter().filter(|v| negatives.contains(&v.id)) {
        let wrong = v.evidence.iter().filter(|e| !e.shared).count();
        assert_eq!(wrong, 1, "{} sent {wrong} requests", v.id);
        assert!(v.evidence.iter().any(|e| e.shared), "{}: no control", v.id);
    }
    // After every other check, of every system.
    let last: Vec<&str> = r.verdicts[r.verdicts.len() - 7..]
        .iter()
        .map(|v| v.id)
        .filter(|id| !id.starts_with("PK-"))
        .collect();
    assert_eq!(last, negatives);
}

#[tokio::test]
async fn sessions_the_checks_open_are_ended() {
    let (stub, r) = run_on(support::fast_config(), &all(false)).await;
    assert!(r.sessions_left.is_empty(), "{:?}", r.sessions_left);
    // Venafi: the shared grant and its refresh, VE-10's grant and refresh;
    // VCD: the shared working session and VCD-09's (VE-11 and VCD-11 end
    // their own).
    assert!(r.sessions_ended >= 4, "{}", r.sessions_ended);
    let logouts = r
        .cleanup
        .iter()
        .filter(|e| e.request.starts_with("DELETE") && e.status == Some(204))
        .count();
    assert_eq!(logouts, 2, "{:?}", r.cleanup);
    let revokes = r
        .cleanup
        .iter()
        .filter(|e| e.request.contains("/vedauth/revoke/token"))
        .count();
    assert!(revokes >= 2, "{:?}", r.cleanup);
    // VE-11 revokes its own grant, besides the cleanup.
    assert!(stub.requests(route("venafi-revoke")) > revokes as u64);
    assert!(stub.requests(route("vcd-current")) >= 4);
}

const PLANTED: [&str; 3] = [
    "PLANTED-client-secret-7f3a9c",
    "PLANTED-otp-5521",
    "PLANTED-password-93d1",
];

fn planted_stub() -> Config {
    let text = format!(
        r#"
[jwt]
algorithm = "ES256"
[[cognito.clients]]
id = "tokenprobe-demo"
secret = "{0}"
scopes = ["tokenprobe/read"]
lifetime_secs = 3600
[[cess.clients]]
id = "tokenprobe-demo"
secret = "{0}"
[[cess.users]]
username = "12345678909"
otp = "{1}"
provider = "SOLUTIHOM"
[[venafi.users]]
username = "local:admin"
password = "{2}"
identity = "local:{{3a6c5d2e-1f0b-4c47-9a53-6d2b8e1f4c7a}}"
[faults.cess]
quirks = ["any-grant-type-accepted"]
[faults.venafi-authorize]
quirks = ["scope-widened"]
"#,
        PLANTED[0], PLANTED[1], PLANTED[2]
    );
    tokenprobe_config::stub_config(&text, "planted.toml").unwrap()
}

fn planted_targets(stub: &StubHandle) -> Vec<Target> {
    System::ALL
        .iter()
        .map(|s| {
            let planted = [
                ("demo-secret", PLANTED[0]),
                ("\"123456\"", &format!("\"{}\"", PLANTED[1])),
                ("demo-password", PLANTED[2]),
            ];
            support::target_at(&stub.base_url(), &support::demo_replacing(*s, &planted))
        })
        .collect()
}

#[tokio::test]
async fn no_secret_reaches_any_output() {
    let stub = Stub::start(planted_stub()).await.unwrap();
    let targets = planted_targets(&stub);
    let mut streamed = String::new();
    let r = run(&targets, &all(true), |v| {
        streamed.push_str(&report::line(v));
        streamed.push('\n');
    })
    .await;
    // The secrets worked, and a break echoing a token was reported (CE-10
    // is inferred, so a warning).
    let (o, reason) = outcome(&r, "CE-10", System::Cess);
    assert_eq!(o, Outcome::Warn, "{}", report::table(&r));
    assert!(reason.contains("[redacted]"), "{reason}");
    assert_eq!(r.count(Outcome::Error), 0, "{}", report::table(&r));

    let outputs = [
        ("table", report::table(&r)),
        ("streamed", streamed),
        ("json", report::json(&r)),
        ("junit", report::junit(&r).unwrap()),
        ("report debug", format!("{r:?}")),
        ("targets debug", format!("{targets:?}")),
    ];
    for (name, text) in &outputs {
        for secret in PLANTED {
            assert!(!text.contains(secret), "{secret} in the {name}");
        }
    }
    // Every token the server issued was redacted wherever it appeared.
    let json: serde_json::Value = serde_json::from_str(&outputs[2].1).unwrap();
    let mut values = Vec::new();
    collect_members(&json, &mut values);
    assert!(values.len() > 10, "{values:?}");
    for v in values {
        assert_eq!(v, "[redacted]");
    }
}

/// The values of every credential member inside evidence bodies.
fn collect_members(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => m.values().for_each(|v| collect_members(v, out)),
        serde_json::Value::Array(a) => a.iter().for_each(|v| collect_members(v, out)),
        serde_json::Value::String(s) => {
            if let Ok(inner) = serde_json::from_str::<serde_json::Value>(s) {
                for key in [
                    "access_token",
                    "refresh_token",
                    "Authorization",
                    "sessionId",
                ] {
                    if let Some(t) = inner.get(key).and_then(|t| t.as_str()) {
                        out.push(t.to_owned());
                    }
                }
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn the_json_and_junit_reports_parse_back() {
    let (_stub, r) = run_on(quirked("venafi-authorize", "scope-widened"), &all(false)).await;
    let failed = r.count(Outcome::Fail) + r.count(Outcome::Error);
    let skipped = r.count(Outcome::Skip);
    assert_eq!(
        r.count(Outcome::Warn),
        1,
        "VE-12 is inferred: {}",
        report::table(&r)
    );

    let json: serde_json::Value = serde_json::from_str(&report::json(&r)).unwrap();
    assert_eq!(json["schema"], "tokenprobe.check/1");
    let verdicts = json["report"]["verdicts"].as_array().unwrap();
    assert_eq!(verdicts.len(), r.verdicts.len());
    assert_eq!(json["summary"]["skip"], skipped);
    for v in verdicts {
        for key in [
            "id",
            "system",
            "title",
            "mark",
            "sends",
            "expects",
            "outcome",
            "elapsed_ms",
        ] {
            assert!(!v[key].is_null(), "{key} missing in {v}");
        }
        if v["outcome"] != "skip" {
            let e = &v["evidence"][0];
            assert!(e["request"].as_str().unwrap().contains("http://127.0.0.1"));
            assert!(e["status"].is_u64() && e["elapsed_ms"].is_f64(), "{e}");
        }
    }

    let xml = report::junit(&r).unwrap();
    let junit = parse_junit(&xml);
    assert_eq!(junit.root["tests"], r.verdicts.len().to_string());
    assert_eq!(junit.root["failures"], r.count(Outcome::Fail).to_string());
    assert_eq!(junit.root["errors"], r.count(Outcome::Error).to_string());
    assert_eq!(junit.root["skipped"], skipped.to_string());
    assert_eq!(junit.cases.len(), r.verdicts.len());
    assert_eq!(junit.failures, failed);
    assert_eq!(junit.skipped, skipped);
    let names: BTreeSet<(String, String)> = junit.cases.iter().cloned().collect();
    assert_eq!(
        names.len(),
        r.verdicts.len(),
        "a testcase per id and system"
    );
    for v in &r.verdicts {
        let class = format!("tokenprobe.{}", v.system);
        assert!(
            junit
                .cases
                .iter()
                .any(|(c, n)| *c == class && n.starts_with(v.id)),
            "no testcase for {} on {}",
            v.id,
            v.system
        );
    }
    assert_eq!(junit.suites, 5);
}

#[derive(Default)]
struct Junit {
    root: std::collections::HashMap<String, String>,
    suites: usize,
    cases: Vec<(String, String)>,
    failures: usize,
    skipped: usize,
}

/// Reads the JUnit structure back: `testsuites` > `testsuite` > `testcase`
/// with `failure`/`error`/`skipped` children.
fn parse_junit(xml: &str) -> Junit {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut out = Junit::default();
    let mut stack: Vec<String> = Vec::new();
    loop {
        let event = reader.read_event().expect("well-formed XML");
        let (e, empty) = match &event {
            Event::Start(e) => (e.clone(), false),
            Event::Empty(e) => (e.clone(), true),
            Event::End(_) => {
                stack.pop();
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
        let attrs: std::collections::HashMap<String, String> = e
            .attributes()
            .map(|a| {
                let a = a.unwrap();
                (
                    String::from_utf8(a.key.as_ref().to_vec()).unwrap(),
                    a.unescape_value().unwrap().into_owned(),
                )
            })
            .collect();
        let parent = stack.last().map(String::as_str);
        match (name.as_str(), parent) {
            ("testsuites", None) => out.root = attrs,
            ("testsuite", Some("testsuites")) => out.suites += 1,
            ("testcase", Some("testsuite")) => {
                out.cases
                    .push((attrs["classname"].clone(), attrs["name"].clone()));
            }
            ("failure" | "error", Some("testcase")) => {
                assert!(attrs.contains_key("message") && attrs.contains_key("type"));
                out.failures += 1;
            }
            ("skipped", Some("testcase")) => out.skipped += 1,
            ("system-out" | "system-err", Some("testcase" | "testsuite")) => {}
            (other, parent) => panic!("unexpected <{other}> in {parent:?}"),
        }
        if !empty {
            stack.push(name);
        }
    }
    out
}

const GENERIC_TOKEN_PATH: &str = "/realms/demo/protocol/openid-connect/token";

/// A client-credentials flow on the generic server's token path.
const GENERIC_FLOW: &str = r#"system = "cognito"
client_id = "svc"
client_secret = { value = "svc-secret" }
token_path = "/realms/demo/protocol/openid-connect/token""#;

fn generic_target(server: &MockServer, generic: bool) -> Target {
    let config = support::flow(GENERIC_FLOW);
    let base: BaseUrl = server.uri().parse().unwrap();
    support::target_at(&base, &config).with_options(Options {
        generic,
        jwks_path: None,
    })
}

#[tokio::test]
async fn generic_mode_runs_against_any_client_credentials_server() {
    let server = MockServer::start().await;
    let token_path = GENERIC_TOKEN_PATH;
    Mock::given(method("POST"))
        .and(path(token_path))
        .and(header_exists("authorization"))
        .and(body_string_contains("grant_type=client_credentials"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("cache-control", "no-store")
                .insert_header("pragma", "no-cache")
                .set_body_raw(
                    r#"{"access_token":"opaque-1a2b3c","token_type":"Bearer","expires_in":300}"#,
                    "application/json",
                ),
        )
        .mount(&server)
        .await;
    let selection = only(&["CG-05", "CG-07", "CG-14", "CG-15", "RFC-06", "RFC-09"]);

    let r = run(&[generic_target(&server, true)], &selection, |_| {}).await;
    assert_eq!(r.verdicts.len(), 6);
    for (id, want) in [
        ("CG-05", Outcome::Skip),
        ("CG-15", Outcome::Skip),
        ("CG-07", Outcome::Pass),
        ("CG-14", Outcome::Pass),
        ("RFC-06", Outcome::Pass),
        ("RFC-09", Outcome::Pass),
    ] {
        let (o, reason) = outcome(&r, id, System::Cognito);
        assert_eq!(o, want, "{id}: {reason}");
    }
    assert!(outcome(&r, "CG-05", System::Cognito).1.contains("opaque"));
    // One token request for all six checks.
    let token_requests = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|q| q.url.path() == token_path)
        .count();
    assert_eq!(token_requests, 1);

    // Held to Cognito's contract, an opaque token breaks CG-05.
    let r = run(&[generic_target(&server, false)], &selection, |_| {}).await;
    assert_eq!(outcome(&r, "CG-05", System::Cognito).0, Outcome::Fail);
}

/// A success no flow can read (idpy-oidc 5.0.0 answers `token_type`
/// "access_token") passes every check that judges one rule of the
/// success, and fails CG-04, which reads it as a load run's flow does. A
/// 2xx that is not 200 fails without quoting the body (its token). A
/// success without `expires_in` reads: RFC-06 alone warns of it.
#[tokio::test]
async fn cg_04_fails_a_success_no_flow_can_read_that_the_other_checks_pass() {
    let selection = only(&["CG-04", "CG-05", "CG-07", "CG-14", "RFC-06", "RFC-09"]);
    for (status, body, want) in [
        (
            200,
            r#"{"access_token":"a.b.c","token_type":"access_token","scope":"api:read","expires_in":3600}"#,
            Outcome::Fail,
        ),
        (
            201,
            r#"{"access_token":"opaque-1a2b3c","token_type":"Bearer","expires_in":300,"note":"PLANTED-7"}"#,
            Outcome::Fail,
        ),
        (
            200,
            r#"{"access_token":"opaque-1a2b3c","token_type":"bearer"}"#,
            Outcome::Pass,
        ),
        (
            200,
            r#"{"access_token":"opaque-1a2b3c","token_type":"Bearer","expires_in":300}"#,
            Outcome::Pass,
        ),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(GENERIC_TOKEN_PATH))
            .respond_with(
                ResponseTemplate::new(status)
                    .insert_header("cache-control", "no-store")
                    .set_body_raw(body, "application/json"),
            )
            .mount(&server)
            .await;
        let r = run(&[generic_target(&server, true)], &selection, |_| {}).await;
        let (o, reason) = outcome(&r, "CG-04", System::Cognito);
        assert_eq!(o, want, "{body}: {reason}");
        assert!(!reason.contains("PLANTED"), "{reason}");
        if status == 201 {
            assert_eq!(reason, "HTTP 201, not 200");
        }
        let (rfc06, _) = outcome(&r, "RFC-06", System::Cognito);
        let warned = !body.contains("expires_in");
        assert_eq!(rfc06 == Outcome::Warn, warned, "{body}: RFC-06 {rfc06:?}");
        if status == 200 && want == Outcome::Fail {
            assert!(
                reason.contains("access_token") && reason.contains("Bearer"),
                "{reason}"
            );
            // What the load flow says of the same answer: it cannot read it.
            let mut table = format!("{GENERIC_FLOW}\n");
            table.push_str(&format!("base_url = \"{}\"", server.uri()));
            let flow = tokenprobe_client::Flow::new(&support::flow(&table)).unwrap();
            let transport = tokenprobe_client::Transport::new(&Default::default()).unwrap();
            assert!(flow.acquire(&transport).await.is_err());
            // And every other check of the success let it pass.
            for id in ["CG-07", "CG-14", "RFC-06", "RFC-09"] {
                let (o, reason) = outcome(&r, id, System::Cognito);
                assert_eq!(o, Outcome::Pass, "{id}: {reason}");
            }
        }
    }
}

#[tokio::test]
async fn a_dead_server_is_an_error_per_check_not_a_pass() {
    // A port nothing listens on: bind, note it, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base: BaseUrl = format!("http://127.0.0.1:{port}").parse().unwrap();
    let target = support::target_at(&base, &support::demo(System::Cess));
    let r = run(&[target], &all(false), |_| {}).await;
    assert!(!r.verdicts.is_empty());
    for v in &r.verdicts {
        let skipped_negative = v.outcome == Outcome::Skip && v.id == "CE-09";
        assert!(
            v.outcome == Outcome::Error || skipped_negative,
            "{}",
            report::line(v)
        );
        assert!(!v.reason.is_empty());
    }
    assert!(!r.ok());
}

/// Each entry is in the reference with the same mark, so `inferred` there
/// means `warn` here.
#[test]
fn every_catalog_entry_is_in_the_reference() {
    let reference = include_str!("../../../docs/contracts.md");
    for e in ENTRIES.iter() {
        let row = reference
            .lines()
            .find(|l| l.starts_with(&format!("| {} |", e.id)))
            .unwrap_or_else(|| panic!("{} is not in docs/contracts.md", e.id));
        let mark = row.split('|').nth(3).unwrap().trim();
        let ours = serde_json::to_value(e.mark).unwrap();
        assert_eq!(ours, mark, "{}: the reference says {mark}", e.id);
        assert!(!e.systems.is_empty() && !e.title.is_empty() && !e.expects.is_empty());
        assert!(
            e.title.chars().count() <= 48,
            "{}: the table's column is 48 wide",
            e.id
        );
    }
}

/// A client that authenticates in the body: every `cognito` check sends
/// its credentials that way, and the stub (which takes both) passes them.
#[tokio::test]
async fn body_authentication_is_used_by_every_cognito_check() {
    let stub = Stub::start(support::fast_config()).await.unwrap();
    let config = support::flow(
        r#"system = "cognito"
client_id = "tokenprobe-demo"
client_secret = { value = "demo-secret" }
auth = "body""#,
    );
    let target = support::target_at(&stub.base_url(), &config);
    let r = run(&[target], &all(true), |_| {}).await;
    support::assert_holds(&r.verdicts);
    for v in r.verdicts.iter().filter(|v| v.id != "RFC-08") {
        for e in &v.evidence {
            let basic = e.request_headers.iter().any(|(k, _)| k == "authorization");
            let body = e.request_body.as_deref().unwrap_or_default();
            let jwks = e.request.ends_with("/.well-known/jwks.json");
            assert!(
                jwks || (!basic && body.contains("client_secret=[redacted]")),
                "{}: {e:?}",
                v.id
            );
            // Each member whole: the credentials are not glued onto the
            // check's own last member (a server that authenticates before
            // it reads the grant type would see no client).
            let id = form_urlencoded::parse(body.as_bytes())
                .any(|(k, v)| k == "client_id" && v.starts_with("tokenprobe-"));
            assert!(jwks || id, "{}: {body}", v.id);
        }
    }
}

/// CG-10 in `rfc6749` mode: a server that has the password grant answers
/// `grant_type=password` with `invalid_request` (no `username`), which says
/// nothing of unsupported grants. The check sends a grant type no server
/// knows instead, and such a server passes. (It used to fail it.)
#[tokio::test]
async fn cg_10_in_generic_mode_sends_a_grant_no_server_knows() {
    let server = MockServer::start().await;
    let token_path = "/realms/demo/protocol/openid-connect/token";
    Mock::given(method("POST"))
        .and(path(token_path))
        .and(body_string_contains("grant_type=password"))
        .respond_with(ResponseTemplate::new(400).set_body_raw(
            r#"{"error":"invalid_request","error_description":"Missing 'username'"}"#,
            "application/json",
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(token_path))
        .and(body_string_contains(
            "grant_type=urn%3Atokenprobe%3Aunsupported",
        ))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_raw(r#"{"error":"unsupported_grant_type"}"#, "application/json"),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(token_path))
        .and(body_string_contains("grant_type=client_credentials"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"access_token":"at-1","token_type":"Bearer","expires_in":300}"#,
            "application/json",
        ))
        .mount(&server)
        .await;
    let selection = only(&["CG-10"]);
    let r = run(&[generic_target(&server, true)], &selection, |_| {}).await;
    let (o, reason) = outcome(&r, "CG-10", System::Cognito);
    assert_eq!(o, Outcome::Pass, "{reason}");
    // Cognito's own mode still sends `password`, which Cognito lacks.
    let r = run(&[generic_target(&server, false)], &selection, |_| {}).await;
    let (o, _) = outcome(&r, "CG-10", System::Cognito);
    assert_eq!(o, Outcome::Fail);
}
