//! The live checks against servers that mean harm or are broken: one that
//! echoes the client secret where a reason is cut, one that sends terminal
//! escapes, and key sets built to confuse a signature check. Loopback
//! (wiremock) only.

mod support;

use std::collections::BTreeSet;

use tokenprobe_conformance::endpoint::{Options, Target};
use tokenprobe_conformance::report;
use tokenprobe_conformance::run::{Outcome, Report, Selection, run};
use tokenprobe_protocol::BaseUrl;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const TOKEN_PATH: &str = "/oauth2/token";
const SECRET: &str = "Zq7-xK9w-Pm2v-Lt8r-Hy4j";

fn target(server: &MockServer) -> Target {
    let config = support::flow(&format!(
        "system = \"cognito\"\nclient_id = \"svc\"\n\
         client_secret = {{ value = \"{SECRET}\" }}\ntoken_path = \"{TOKEN_PATH}\""
    ));
    let base: BaseUrl = server.uri().parse().unwrap();
    support::target_at(&base, &config).with_options(Options {
        generic: true,
        jwks_path: None,
    })
}

fn only(ids: &[&str]) -> Selection {
    Selection {
        only: Some(ids.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>()),
        ..Selection::default()
    }
}

/// Every output a person or CI reads.
fn outputs(r: &Report) -> Vec<(&'static str, String)> {
    let mut verbose = String::new();
    for v in &r.verdicts {
        verbose.push_str(&report::line(v));
        verbose.push('\n');
        verbose.push_str(&report::evidence_text(v));
    }
    vec![
        ("table", report::table(r)),
        ("--verbose", verbose),
        ("JSON", report::json(r)),
        ("JUnit", report::junit(r).unwrap()),
    ]
}

/// Grants the working request; answers anything else 400 with the
/// request's form echoed in `error_description`, padded so that the secret
/// starts at byte `at` of the body.
struct Echo {
    at: usize,
}

impl Respond for Echo {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        if req.body == b"grant_type=client_credentials" {
            return ResponseTemplate::new(200).set_body_raw(
                r#"{"access_token":"at-1","token_type":"Bearer","expires_in":3600}"#,
                "application/json",
            );
        }
        let head = r#"{"error":"invalid_request","error_description":""#;
        let field = "client_secret=";
        let pad = ".".repeat(self.at - head.len() - field.len());
        let form = String::from_utf8_lossy(&req.body);
        let body = format!("{head}{pad}{field}{SECRET}&{form}\"}}");
        assert_eq!(body.find(SECRET), Some(self.at));
        ResponseTemplate::new(400).set_body_raw(body, "application/json")
    }
}

#[tokio::test]
async fn a_secret_echoed_across_a_cut_leaves_no_piece_in_any_output() {
    let pieces: Vec<String> = SECRET
        .as_bytes()
        .windows(4)
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect();
    // Where the cuts are (200 bytes for a reason, 600 for evidence), and
    // around them: the secret straddles each.
    for at in [185, 190, 195, 199, 590, 595] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(TOKEN_PATH))
            .respond_with(Echo { at })
            .mount(&server)
            .await;
        let r = run(&[target(&server)], &only(&["CG-10", "RFC-08"]), |_| {}).await;
        assert!(r.verdicts.iter().any(|v| v.outcome == Outcome::Fail));
        // The reasons (cut at 200) and the evidence (cut at 600) do quote
        // the echo, up to where the secret was.
        let quoted = if at < 200 {
            report::table(&r)
        } else {
            report::json(&r)
        };
        assert!(quoted.contains("client_secret="), "{quoted}");
        for (name, text) in outputs(&r) {
            for p in &pieces {
                assert!(
                    !text.contains(p.as_str()),
                    "at {at}: {p:?} in the {name}:\n{text}"
                );
            }
        }
    }
}

#[tokio::test]
async fn server_text_cannot_drive_the_terminal() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(502).set_body_raw(
            "\u{1b}[2J\u{1b}]0;owned\u{7}bad gateway \u{202e}olleh",
            "text/plain",
        ))
        .mount(&server)
        .await;
    let r = run(&[target(&server)], &only(&["CG-07", "CG-11"]), |_| {}).await;
    for (name, text) in outputs(&r) {
        if name == "JSON" {
            continue; // JSON escapes control characters itself.
        }
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}') && !text.contains('\u{202e}'),
            "raw control characters in the {name}:\n{text:?}"
        );
    }
    let verbose = report::evidence_text(&r.verdicts[0]);
    assert!(verbose.contains("\\x1b[2J"), "{verbose}");
}

/// A token endpoint that hands out `token`, and a key set.
async fn jwt_server(token: &str, jwks: serde_json::Value) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("cache-control", "no-store")
                .insert_header("pragma", "no-cache")
                .set_body_json(serde_json::json!({
                    "access_token": token,
                    "token_type": "Bearer",
                    "expires_in": 3600,
                })),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(tokenprobe_protocol::cognito::JWKS_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(jwks))
        .mount(&server)
        .await;
    server
}

fn hs256(kid: &str, key: &[u8]) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some(kid.into());
    let claims = serde_json::json!({"sub": "svc", "iat": now, "exp": now + 3600});
    jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(key),
    )
    .unwrap()
}

async fn cg15(server: &MockServer) -> (Outcome, String) {
    let r = run(&[target(server)], &only(&["CG-15"]), |_| {}).await;
    (r.verdicts[0].outcome, r.verdicts[0].reason.clone())
}

#[tokio::test]
async fn a_symmetric_key_in_the_key_set_fails_cg15() {
    use base64::Engine as _;
    let key = b"a shared secret anyone can read";
    let k = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key);
    let server = jwt_server(
        &hs256("k1", key),
        serde_json::json!({"keys": [{"kty": "oct", "kid": "k1", "k": k}]}),
    )
    .await;
    let (outcome, reason) = cg15(&server).await;
    assert_eq!(outcome, Outcome::Fail, "{reason}");
    assert!(reason.contains("symmetric"), "{reason}");
}

#[tokio::test]
async fn a_token_header_cannot_choose_the_algorithm_cg15() {
    // An EC P-256 public key; the token claims HS256 under its kid.
    let server = jwt_server(
        &hs256("ec1", b"anything"),
        serde_json::json!({"keys": [{
            "kty": "EC", "kid": "ec1", "crv": "P-256", "use": "sig",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
        }]}),
    )
    .await;
    let (outcome, reason) = cg15(&server).await;
    assert_eq!(outcome, Outcome::Fail, "{reason}");
    assert!(
        reason.contains("HS256") && reason.contains("ES256"),
        "{reason}"
    );
}
