//! No false pass: a check that expects a refusal proves its rule only when
//! its probe differs from a request that succeeds in exactly the property
//! the rule is about.
//!
//! - Every such check is run alone behind a recording proxy in front of the
//!   stub; each refused request it sent is compared, member by member and
//!   header by header, with the successful requests of the same run, and
//!   must differ from the nearest in exactly the properties this file
//!   expects for that check (written here from `docs/contracts.md`, not
//!   read from the catalog). The catalog's `change` ids must be this
//!   file's, so a new negative check without a stated change fails.
//! - A server that breaks a rule but refuses anything lacking what the
//!   working request has (the stub's demand quirks) never yields `pass`.
//! - Without a working request, a negative check errors, never passes.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokenprobe_client::{FlowConfig, HttpOptions, Transport};
use tokenprobe_conformance::catalog::{ENTRIES, System};
use tokenprobe_conformance::endpoint::Target;
use tokenprobe_conformance::report;
use tokenprobe_conformance::run::{Outcome, Report, Selection, run};
use tokenprobe_protocol::BaseUrl;
use tokenprobe_stub::Stub;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request as the server saw it, and whether it was refused.
#[derive(Debug, Clone)]
struct Seen {
    /// `method`, `path`, `header:NAME` and `member:NAME` (query, form and
    /// top-level JSON members alike), each with its value.
    parts: BTreeMap<String, String>,
    refused: bool,
}

impl Seen {
    fn parse(request: &[u8], response: &[u8]) -> Option<Seen> {
        let split = |b: &[u8]| {
            let end = b.windows(4).position(|w| w == b"\r\n\r\n")?;
            Some((
                String::from_utf8_lossy(&b[..end]).into_owned(),
                b[end + 4..].to_vec(),
            ))
        };
        let (head, body) = split(request)?;
        let mut lines = head.lines();
        let mut first = lines.next()?.split(' ');
        let method = first.next()?.to_owned();
        let target = first.next()?.to_owned();
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let mut parts = BTreeMap::from([
            ("method".to_owned(), method),
            ("path".to_owned(), path.to_owned()),
        ]);
        for line in lines {
            let (name, value) = line.split_once(':')?;
            let name = name.trim().to_ascii_lowercase();
            if [
                "authorization",
                "accept",
                "content-type",
                "x-vaultapi-clientid",
                "dpop",
            ]
            .contains(&name.as_str())
            {
                parts.insert(format!("header:{name}"), value.trim().to_owned());
            }
        }
        let mut members: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        match serde_json::from_slice::<serde_json::Value>(&body) {
            Ok(serde_json::Value::Object(map)) => {
                members.extend(map.into_iter().map(|(k, v)| (k, v.to_string())));
            }
            _ => members.extend(form_urlencoded::parse(&body).into_owned()),
        }
        for (k, v) in members {
            parts.insert(format!("member:{k}"), v);
        }
        let (status_line, answer) = split(response)?;
        let status: u16 = status_line.split(' ').nth(1)?.parse().ok()?;
        // Vault refuses with HTTP 200 and a FAILURE body.
        let failure = String::from_utf8_lossy(&answer).contains("\"FAILURE\"");
        Some(Seen {
            parts,
            refused: !(200..300).contains(&status) || failure,
        })
    }

    /// The properties in which two requests differ.
    fn diff(&self, other: &Seen) -> BTreeSet<String> {
        let keys: BTreeSet<&String> = self.parts.keys().chain(other.parts.keys()).collect();
        keys.into_iter()
            .filter(|k| self.parts.get(*k) != other.parts.get(*k))
            .cloned()
            .collect()
    }
}

/// Reads one HTTP/1.1 message with a `content-length` body (or none).
async fn read_message(s: &mut TcpStream, until_eof: bool) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if !until_eof && buf.len() >= end + 4 + length {
                return Some(buf);
            }
        }
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut chunk))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            return (!buf.is_empty()).then_some(buf);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// A proxy on loopback that sends each request to `upstream` on a
/// connection of its own and keeps what it saw, in order.
async fn recording_proxy(upstream: SocketAddr) -> (BaseUrl, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base: BaseUrl = format!("http://{}", listener.local_addr().unwrap())
        .parse()
        .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                while let Some(request) = read_message(&mut client, false).await {
                    // One connection per request upstream, closed by it.
                    let text = String::from_utf8_lossy(&request).replacen(
                        "\r\n",
                        "\r\nconnection: close\r\n",
                        1,
                    );
                    let Ok(mut up) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    if up.write_all(text.as_bytes()).await.is_err() {
                        return;
                    }
                    let Some(response) = read_message(&mut up, true).await else {
                        return;
                    };
                    if let Some(s) = Seen::parse(&request, &response) {
                        log.lock().unwrap().push(s);
                    }
                    if client.write_all(&response).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (base, seen)
}

/// What each negative check's probe must differ in from the working
/// request, per system: read from `docs/contracts.md`, not the catalog.
fn expected() -> BTreeMap<(&'static str, System), BTreeSet<&'static str>> {
    use System::*;
    let auth = "header:authorization";
    [
        ("RFC-01", Cognito, vec!["member:grant_type"]),
        ("RFC-01", Cess, vec!["member:grant_type"]),
        ("RFC-01", Venafi, vec!["member:client_id"]),
        ("RFC-05", Cognito, vec!["member:grant_type"]),
        ("RFC-05", Cess, vec!["member:grant_type"]),
        ("RFC-05", Venafi, vec!["member:client_id"]),
        ("RFC-08", Cognito, vec![auth]),
        ("VV-07", Veeva, vec![auth]),
        ("VV-09", Veeva, vec![auth]),
        ("VV-10", Veeva, vec![auth]),
        ("VV-11", Veeva, vec!["path"]),
        ("CE-09", Cess, vec!["member:password"]),
        ("CE-10", Cess, vec!["member:grant_type"]),
        ("CE-11", Cess, vec!["member:lifetime"]),
        ("VE-06", Venafi, vec!["member:client_id"]),
        ("VE-07", Venafi, vec!["member:password"]),
        ("VE-08", Venafi, vec!["member:password"]),
        ("VE-09", Venafi, vec!["member:scope"]),
        ("VE-11", Venafi, vec![]),
        ("CG-08", Cognito, vec![auth]),
        ("CG-09", Cognito, vec![auth]),
        ("CG-10", Cognito, vec!["member:grant_type"]),
        ("CG-11", Cognito, vec!["member:grant_type"]),
        ("CG-12", Cognito, vec!["member:scope"]),
        ("CG-13", Cognito, vec!["method"]),
        ("DS-04", Cognito, vec!["member:grant_type"]),
        ("PK-01", Cognito, vec!["member:client_assertion"]),
        ("PK-02", Cognito, vec!["member:client_assertion"]),
        ("PK-03", Cognito, vec![]),
        ("DP-02", Cognito, vec![]),
        ("DP-03", Cognito, vec!["header:dpop"]),
        ("DP-04", Cognito, vec!["header:dpop"]),
        ("DP-05", Cognito, vec!["header:dpop"]),
        ("DP-06", Cognito, vec!["header:dpop"]),
        ("DP-07", Cognito, vec!["header:dpop"]),
        // The TLS handshake, not the HTTP request: see `FOR_TLS_ONLY`.
        ("MT-02", Cognito, vec![]),
        ("VCD-07", Vcd, vec![auth]),
        ("VCD-08", Vcd, vec![auth]),
        ("VCD-10", Vcd, vec!["header:accept"]),
        ("VCD-11", Vcd, vec![]),
    ]
    .into_iter()
    .map(|(id, system, keys)| ((id, system), keys.into_iter().collect()))
    .collect()
}

/// The negative checks whose one change is in the TLS handshake.
const FOR_TLS_ONLY: &[&str] = &["MT-02"];

fn only(id: &str) -> Selection {
    Selection {
        only: Some([id.to_owned()].into()),
        include_negative: true,
        spacing: Duration::ZERO,
        ..Selection::default()
    }
}

const KEY_CLIENT: &str = "system = \"cognito\"\nclient_id = \"tokenprobe-demo-key\"\nauth = \"private_key_jwt\"\n\
    private_key = { file = \"../../crates/stub/demo-keys/client-es256.pem\" }\nscopes = [\"tokenprobe/read\"]\n";

/// The flow a check's recording runs as: the demo account, or, for the
/// assertion and discovery checks, the demo key client found by its issuer.
fn flow_for(id: &str, system: System, base: &BaseUrl) -> FlowConfig {
    match id {
        "PK-01" | "PK-02" | "PK-03" | "DS-04" => {
            support::flow(&format!("{KEY_CLIENT}issuer = \"{base}\"\n"))
        }
        id if id.starts_with("DP-") => support::flow(support::DPOP_FLOW),
        _ => support::demo(system),
    }
}

#[tokio::test]
async fn every_negative_check_varies_one_thing_of_a_working_request() {
    let expected = expected();
    let stated: BTreeSet<&str> = ENTRIES
        .iter()
        .filter(|e| e.change.is_some())
        .map(|e| e.id)
        .collect();
    let here: BTreeSet<&str> = expected.keys().map(|(id, _)| *id).collect();
    assert_eq!(
        stated, here,
        "catalog entries with a stated change, against this file's"
    );

    let mut wrong = Vec::new();
    for ((id, system), keys) in &expected {
        // MT-02 changes the handshake (no client certificate), which a
        // proxy of plain HTTP cannot see; `mtls.rs` shows the same request
        // with the certificate gets a token and without it is refused.
        if FOR_TLS_ONLY.contains(id) {
            continue;
        }
        let stub = Stub::start(support::fast_config()).await.unwrap();
        let (base, seen) = recording_proxy(stub.addr()).await;
        let transport = Transport::new(&HttpOptions::default()).unwrap();
        let flow = flow_for(id, *system, &base);
        let target = Target::discover(&flow, &base, transport).await.unwrap();
        let r = run(&[target], &only(id), |_| {}).await;
        let v = &r.verdicts[0];
        assert_eq!(v.outcome, Outcome::Pass, "{}", report::line(v));
        let mut seen = seen.lock().unwrap().clone();
        // The cleanup (ending sessions) comes last and is no probe.
        seen.truncate(seen.len() - r.cleanup.len());
        let (refused, ok): (Vec<&Seen>, Vec<&Seen>) = seen.iter().partition(|s| s.refused);
        if refused.is_empty() || ok.is_empty() {
            wrong.push(format!(
                "{id} on {system}: {} refused, {} ok",
                refused.len(),
                ok.len()
            ));
            continue;
        }
        let keys: BTreeSet<String> = keys.iter().map(|k| (*k).to_owned()).collect();
        for probe in refused {
            let mut nearest = ok
                .iter()
                .map(|c| probe.diff(c))
                .min_by_key(BTreeSet::len)
                .unwrap();
            // A key client signs a fresh assertion for every request, the
            // working one included.
            if !keys.contains("member:client_assertion") {
                nearest.remove("member:client_assertion");
            }
            // A DPoP flow signs a fresh proof for every request too.
            if !keys.contains("header:dpop") {
                nearest.remove("header:dpop");
            }
            if nearest != keys {
                wrong.push(format!(
                    "{id} on {system}: differs in {nearest:?}, expected {keys:?}"
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// A stub with `quirks` on `route`, for `flow`, running every check.
async fn verdicts_with(route: &str, quirks: &[&str], flow: &str) -> Report {
    let list: Vec<String> = quirks.iter().map(|q| format!("\"{q}\"")).collect();
    let text = format!(
        "[jwt]\nalgorithm = \"ES256\"\n[faults.{route}]\nquirks = [{}]\n",
        list.join(", ")
    );
    let stub = Stub::start(tokenprobe_config::stub_config(&text, "q.toml").unwrap())
        .await
        .unwrap();
    let target = support::target_at(&stub.base_url(), &support::flow(flow));
    let selection = Selection {
        include_negative: true,
        spacing: Duration::ZERO,
        ..Selection::default()
    };
    run(&[target], &selection, |_| {}).await
}

const COGNITO_WITH_SCOPE: &str = "system = \"cognito\"\nclient_id = \"tokenprobe-demo\"\n\
    client_secret = { value = \"demo-secret\" }\nscopes = [\"tokenprobe/read\"]\n";
const CESS_WITH_PROVIDER: &str = "system = \"cess\"\nclient_id = \"tokenprobe-demo\"\n\
    client_secret = { value = \"demo-secret\" }\nusername = \"12345678909\"\notp = { value = \"123456\" }\n\
    provider = \"tokenprobe\"\n";
const VEEVA_WITH_CLIENT_ID: &str = "system = \"veeva\"\nprofile_id = \"tokenprobe-demo\"\n\
    client_id = \"tokenprobe-tests\"\n[flows.idp.cognito]\nclient_id = \"tokenprobe-demo\"\n\
    client_secret = { value = \"demo-secret\" }\n";

#[tokio::test]
async fn a_refusal_for_another_reason_never_passes() {
    // (route, the quirk that breaks the check, the demand, the flow that
    // meets the demand, the check).
    let cases = [
        (
            "cognito",
            "any-password-accepted",
            "scope-required",
            COGNITO_WITH_SCOPE,
            "CG-08",
        ),
        (
            "cognito",
            "unknown-client-accepted",
            "scope-required",
            COGNITO_WITH_SCOPE,
            "CG-09",
        ),
        (
            "cognito",
            "any-grant-type-accepted",
            "scope-required",
            COGNITO_WITH_SCOPE,
            "CG-10",
        ),
        (
            "cognito",
            "missing-grant-unsupported",
            "scope-required",
            COGNITO_WITH_SCOPE,
            "CG-11",
        ),
        (
            "cognito",
            "unlisted-scope-granted",
            "scope-required",
            COGNITO_WITH_SCOPE,
            "CG-12",
        ),
        (
            "cognito",
            "get-accepted",
            "scope-required",
            COGNITO_WITH_SCOPE,
            "CG-13",
        ),
        (
            "cognito",
            "get-with-query-issues-token",
            "scope-required",
            COGNITO_WITH_SCOPE,
            "CG-13",
        ),
        (
            "cognito",
            "no-www-authenticate",
            "scope-required",
            COGNITO_WITH_SCOPE,
            "RFC-08",
        ),
        (
            "cognito",
            "basic-challenge-without-realm",
            "scope-required",
            COGNITO_WITH_SCOPE,
            "RFC-08",
        ),
        (
            "cognito",
            "wrong-content-type",
            "scope-required",
            COGNITO_WITH_SCOPE,
            "RFC-01",
        ),
        (
            "cess",
            "any-password-accepted",
            "provider-required",
            CESS_WITH_PROVIDER,
            "CE-09",
        ),
        (
            "cess",
            "any-grant-type-accepted",
            "provider-required",
            CESS_WITH_PROVIDER,
            "CE-10",
        ),
        (
            "veeva",
            "failure-without-errors",
            "client-id-required",
            VEEVA_WITH_CLIENT_ID,
            "VV-07",
        ),
        (
            "veeva",
            "invalid-token-accepted",
            "client-id-required",
            VEEVA_WITH_CLIENT_ID,
            "VV-10",
        ),
        (
            "veeva",
            "unknown-profile-accepted",
            "client-id-required",
            VEEVA_WITH_CLIENT_ID,
            "VV-11",
        ),
    ];
    let mut passed = Vec::new();
    for (route, breaks, demand, flow, id) in cases {
        let r = verdicts_with(route, &[breaks, demand], flow).await;
        let v = r.verdicts.iter().find(|v| v.id == id).unwrap();
        if !matches!(v.outcome, Outcome::Fail | Outcome::Warn) {
            passed.push(format!("{breaks} + {demand}: {}", report::line(v)));
        }
        // The demand alone, met by the working request, breaks nothing.
        let r = verdicts_with(route, &[demand], flow).await;
        for v in &r.verdicts {
            assert!(
                matches!(v.outcome, Outcome::Pass | Outcome::Skip),
                "{demand}: {}",
                report::line(v)
            );
        }
    }
    assert!(passed.is_empty(), "{}", passed.join("\n"));
}

#[tokio::test]
async fn cg_13_names_the_form_that_got_a_token() {
    let r = verdicts_with(
        "cognito",
        &["get-with-query-issues-token"],
        COGNITO_WITH_SCOPE,
    )
    .await;
    let v = r.verdicts.iter().find(|v| v.id == "CG-13").unwrap();
    assert_eq!(v.outcome, Outcome::Fail);
    assert_eq!(
        v.reason,
        "GET with the form in the query string gave 200 OK and a token"
    );
    let r = verdicts_with("cognito", &["get-accepted"], COGNITO_WITH_SCOPE).await;
    let v = r.verdicts.iter().find(|v| v.id == "CG-13").unwrap();
    assert_eq!(
        v.reason,
        "GET with the form in the body gave 200 OK and a token"
    );
}

#[tokio::test]
async fn a_basic_challenge_without_realm_is_a_warning() {
    let r = verdicts_with(
        "cognito",
        &["basic-challenge-without-realm"],
        COGNITO_WITH_SCOPE,
    )
    .await;
    let v = r.verdicts.iter().find(|v| v.id == "RFC-08").unwrap();
    assert_eq!(v.outcome, Outcome::Warn, "{}", report::line(v));
    assert!(v.reason.contains("no realm"), "{}", v.reason);
}

#[tokio::test]
async fn without_a_working_request_no_negative_check_passes() {
    // The demand unmet: the working request itself is refused.
    for (route, demand, system) in [
        ("cognito", "scope-required", System::Cognito),
        ("cess", "provider-required", System::Cess),
        ("veeva", "client-id-required", System::Veeva),
    ] {
        let text =
            format!("[jwt]\nalgorithm = \"ES256\"\n[faults.{route}]\nquirks = [\"{demand}\"]\n");
        let stub = Stub::start(tokenprobe_config::stub_config(&text, "q.toml").unwrap())
            .await
            .unwrap();
        let target = support::target_at(&stub.base_url(), &support::demo(system));
        let selection = Selection {
            include_negative: true,
            spacing: Duration::ZERO,
            ..Selection::default()
        };
        let r = run(&[target], &selection, |_| {}).await;
        for v in r
            .verdicts
            .iter()
            .filter(|v| ENTRIES.iter().any(|e| e.id == v.id && e.change.is_some()))
        {
            assert_ne!(v.outcome, Outcome::Pass, "{demand}: {}", report::line(v));
            // Those that read the success themselves say so in its words.
            if v.outcome == Outcome::Error {
                assert!(
                    v.reason.contains("no working request to vary")
                        || v.reason.contains("no successful token response"),
                    "{}",
                    report::line(v)
                );
            }
        }
    }
}
