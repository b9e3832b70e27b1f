//! TLS with the generated CA, and configuration errors with their place.

use std::io::Write;

use tokenprobe_protocol::jwt::Algorithm as JwtAlgorithm;
use tokenprobe_stub::{Config, Stub, Tls};

#[tokio::test]
async fn tls_works_with_the_generated_ca_and_fails_without_it() {
    let mut config = Config::default();
    config.jwt.algorithm = JwtAlgorithm::ES256;
    let stub = Stub::builder(config)
        .tls(Tls::SelfSigned)
        .start()
        .await
        .unwrap();
    let url = format!(
        "{}/.well-known/jwks.json",
        stub.base_url().to_string().trim_end_matches('/')
    );
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let ca = reqwest::Certificate::from_pem(stub.ca_pem().unwrap().as_bytes()).unwrap();
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let trusting = reqwest::Client::builder()
        .add_root_certificate(ca)
        .build()
        .unwrap();
    let r = trusting.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);

    let stranger = reqwest::Client::builder().build().unwrap();
    let e = stranger.get(&url).send().await.unwrap_err();
    let chain = format!("{:?}", e);
    assert!(
        chain.contains("UnknownIssuer") || chain.to_lowercase().contains("certificate"),
        "{chain}"
    );
}

fn refused(text: &str) -> String {
    tokenprobe_config::stub_config(text, "stub.toml")
        .unwrap_err()
        .to_string()
}

#[test]
fn unknown_keys_and_bad_values_are_refused_with_file_line_and_column() {
    assert!(
        refused("max_body_bytes = 10\nlisten = \"x\"\n")
            .starts_with("stub.toml:2:1: unknown field `listen`")
    );
    assert!(
        refused("[faults.cess]\nerror = { probability = 1.5, status = 503 }\n")
            .starts_with("stub.toml:2:")
    );
    assert!(
        refused("[faults.cess]\nerror = { probability = 1.5, status = 503 }\n")
            .contains("between 0 and 1")
    );
    assert!(
        refused("[faults.cess]\nerror = { probability = 0.5, status = 1000 }\n")
            .contains("expected a final HTTP status")
    );
    // The route names are listed; the value found is not echoed.
    let e = refused("[faults.nowhere]\n");
    assert!(
        e.contains("unknown route …; expected `all`") && !e.contains("nowhere"),
        "{e}"
    );
    assert!(
        refused("[[cess.users]]\nusername = \"12345678900\"\notp = \"1\"\n")
            .starts_with("stub.toml:2:12:")
    );
    assert!(
        refused("[[venafi.applications]]\nclient_id = \"a\"\nscope = \"certificate:fly\"\n")
            .starts_with("stub.toml:3:9:")
    );
    assert!(refused("[jwt]\nalgorithm = \"HS256\"\n").starts_with("stub.toml:2:13:"));
    assert!(
        refused("[faults.all]\nstall_window = { from_ms = 5, until_ms = 5 }\n")
            .contains("until_ms must be after from_ms")
    );
    assert!(
        refused("[faults.all]\nlatency = { distribution = \"normal\", mean_ms = 5 }\n")
            .contains("stddev_ms")
    );
}

#[test]
fn an_empty_file_is_the_demo_and_a_file_replaces_what_it_names() {
    let empty = tokenprobe_config::stub_config("", "empty.toml").unwrap();
    assert_eq!(
        empty.cognito.clients.len(),
        5,
        "a client with a secret, a DPoP-bound one, two with certificates, one with keys"
    );
    let no_credential =
        tokenprobe_config::stub_config("[[cognito.clients]]\nid = \"a\"\n", "c.toml").unwrap_err();
    assert!(
        no_credential.to_string().contains("give a secret"),
        "{no_credential}"
    );
    let c = tokenprobe_config::stub_config(
        "[[cognito.clients]]\nid = \"a\"\nsecret = \"s\"\nscopes = [\"x\"]\nlifetime_secs = 60\n",
        "c.toml",
    )
    .unwrap();
    assert_eq!(c.cognito.clients[0].id, "a");
    assert_eq!(c.cess.users.len(), 1, "other sections keep their defaults");
}

#[test]
fn secrets_in_the_configuration_do_not_show_in_debug() {
    let c = tokenprobe_config::stub_config(
        "[[cognito.clients]]\nid = \"a\"\nsecret = \"hunter2-secret\"\n",
        "c.toml",
    )
    .unwrap();
    assert!(!format!("{c:?}").contains("hunter2"));
}

#[test]
fn a_missing_file_names_itself() {
    let e = tokenprobe_config::load_stub_config(std::path::Path::new("/nonexistent/stub.toml"))
        .unwrap_err();
    assert!(e.to_string().starts_with("/nonexistent/stub.toml: "), "{e}");
}

#[tokio::test]
async fn a_given_es256_key_file_is_used_and_a_bad_one_is_refused() {
    let key = p256_pem();
    let mut f = tempfile_in_target("key.pem");
    f.1.write_all(key.as_bytes()).unwrap();
    let mut config = Config::default();
    config.jwt.algorithm = JwtAlgorithm::ES256;
    config.jwt.key_file = Some(f.0.clone());
    config.jwt.kid = Some("given".into());
    let stub = Stub::start(config.clone()).await.unwrap();
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let jwks = reqwest::get(format!("http://{}/.well-known/jwks.json", stub.addr()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(jwks.contains("\"kid\":\"given\""), "{jwks}");
    config.jwt.algorithm = JwtAlgorithm::RS256;
    let e = Stub::start(config).await.err().unwrap();
    assert!(e.to_string().starts_with("JWT key"), "{e}");
}

/// A P-256 PKCS#8 key, made with the same crypto library the stub uses.
fn p256_pem() -> String {
    let pair = aws_lc_rs::signature::EcdsaKeyPair::generate(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
    )
    .unwrap();
    let der = pair.to_pkcs8v1().unwrap();
    let b64 = base64_encode(der.as_ref());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    )
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn tempfile_in_target(name: &str) -> (std::path::PathBuf, std::fs::File) {
    let dir = std::env::temp_dir().join(format!("tokenprobe-stub-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let f = std::fs::File::create(&path).unwrap();
    (path, f)
}

#[tokio::test]
async fn the_annotated_example_configuration_loads_and_serves() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/stub.toml");
    let c = tokenprobe_config::load_stub_config(&path).unwrap();
    assert_eq!(c.jwt.algorithm, JwtAlgorithm::ES256);
    assert_eq!(c.veeva.profiles[0].vaults.len(), 2);
    assert_eq!(c.faults.len(), 2);
    assert_eq!(c.cognito.clients.len(), 2);
    // Its keys (the key client's PEM) are read at start.
    tokenprobe_stub::Stub::start(c).await.unwrap();
}

#[tokio::test]
async fn tls_from_certificate_and_key_files() {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let (cert_path, mut f) = tempfile_in_target("cert.pem");
    f.write_all(cert.pem().as_bytes()).unwrap();
    let (key_path, mut f) = tempfile_in_target("tls-key.pem");
    f.write_all(key.serialize_pem().as_bytes()).unwrap();
    let mut config = Config::default();
    config.jwt.algorithm = JwtAlgorithm::ES256;
    let stub = Stub::builder(config)
        .tls(Tls::Files {
            cert: cert_path,
            key: key_path,
        })
        .start()
        .await
        .unwrap();
    assert!(stub.ca_pem().is_none(), "no generated CA for given files");
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let trusting = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.pem().as_bytes()).unwrap())
        .build()
        .unwrap();
    let url = format!("https://{}/.well-known/jwks.json", stub.addr());
    assert_eq!(trusting.get(&url).send().await.unwrap().status(), 200);

    let missing = Tls::Files {
        cert: "/nonexistent/cert.pem".into(),
        key: "/nonexistent/key.pem".into(),
    };
    let e = Stub::builder(Config::default())
        .tls(missing)
        .start()
        .await
        .err()
        .unwrap();
    assert!(e.to_string().contains("/nonexistent/cert.pem"), "{e}");
}
