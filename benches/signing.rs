//! The cost of one client assertion per method, as `client_secret_jwt` and
//! `private_key_jwt` sign one for every acquisition, and of one DPoP proof
//! (RFC 9449), made for every request of a DPoP flow: tokenprobe's signer
//! (aws-lc-rs, the key parsed once, the header encoded once) against
//! jsonwebtoken signing the same claims with a key it also parsed once.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use http::Method;
use jsonwebtoken::{EncodingKey, Header};
use tokenprobe_client::{ClientKey, DpopKey};
use tokenprobe_protocol::Secret;
use tokenprobe_protocol::client_auth::{AssertionClaims, AssertionSigner};
use tokenprobe_protocol::dpop::{self, ProofClaims, ProofKey};
use tokenprobe_protocol::jwt::Algorithm;

fn pem(name: &str) -> String {
    let path = format!(
        "{}/../crates/stub/demo-keys/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn signing(c: &mut Criterion) {
    let claims = AssertionClaims::new(
        "tokenprobe-demo",
        "https://idp.example.com/oauth2/token",
        1_700_000_000,
        "0123456789abcdef0123456789abcdef".into(),
    );
    let secret = Secret::new("demo-secret-of-thirty-two-bytes!");
    let (es, rs, ed) = (
        pem("client-es256.pem"),
        pem("client-rs256.pem"),
        pem("client-ed25519.pem"),
    );
    let ours = [
        ("HS256", ClientKey::hmac(&secret, None).unwrap()),
        (
            "ES256",
            ClientKey::from_pem(&Secret::new(es.clone()), Some(Algorithm::ES256), None).unwrap(),
        ),
        (
            "RS256",
            ClientKey::from_pem(&Secret::new(rs.clone()), Some(Algorithm::RS256), None).unwrap(),
        ),
        (
            "EdDSA",
            ClientKey::from_pem(&Secret::new(ed.clone()), Some(Algorithm::EdDSA), None).unwrap(),
        ),
    ];
    let theirs = [
        (
            jsonwebtoken::Algorithm::HS256,
            EncodingKey::from_secret(secret.expose().as_bytes()),
        ),
        (
            jsonwebtoken::Algorithm::ES256,
            EncodingKey::from_ec_pem(es.as_bytes()).unwrap(),
        ),
        (
            jsonwebtoken::Algorithm::RS256,
            EncodingKey::from_rsa_pem(rs.as_bytes()).unwrap(),
        ),
        (
            jsonwebtoken::Algorithm::EdDSA,
            EncodingKey::from_ed_pem(ed.as_bytes()).unwrap(),
        ),
    ];
    let mut group = c.benchmark_group("assertion");
    for ((name, key), (alg, encoding)) in ours.iter().zip(&theirs) {
        group.bench_function(format!("{name} tokenprobe"), |b| {
            b.iter(|| key.sign(black_box(&claims)).unwrap());
        });
        let header = Header::new(*alg);
        group.bench_function(format!("{name} jsonwebtoken"), |b| {
            b.iter(|| jsonwebtoken::encode(&header, black_box(&claims), encoding).unwrap());
        });
    }
    group.finish();

    // A DPoP proof: fresh claims (jti, iat, the nonce) and a signature per
    // request. jsonwebtoken is given the same header (typ, jwk) and claims.
    let uri: http::Uri = "https://idp.example.com/oauth2/token".parse().unwrap();
    let mut group = c.benchmark_group("dpop proof");
    for (name, alg, pem, theirs) in [
        (
            "ES256",
            Algorithm::ES256,
            &es,
            jsonwebtoken::Algorithm::ES256,
        ),
        (
            "EdDSA",
            Algorithm::EdDSA,
            &ed,
            jsonwebtoken::Algorithm::EdDSA,
        ),
    ] {
        let key = DpopKey::from_pem(&Secret::new(pem.clone()), Some(alg)).unwrap();
        let key = ProofKey::new(std::sync::Arc::new(key), false);
        group.bench_function(format!("{name} tokenprobe"), |b| {
            b.iter(|| {
                key.proof(black_box(&Method::POST), black_box(&uri))
                    .unwrap()
            });
        });
        let encoding = match theirs {
            jsonwebtoken::Algorithm::ES256 => EncodingKey::from_ec_pem(pem.as_bytes()).unwrap(),
            _ => EncodingKey::from_ed_pem(pem.as_bytes()).unwrap(),
        };
        let mut header = Header::new(theirs);
        header.typ = Some(dpop::TYP.into());
        header.jwk =
            Some(serde_json::from_value(serde_json::to_value(key.signer.jwk()).unwrap()).unwrap());
        group.bench_function(format!("{name} jsonwebtoken"), |b| {
            b.iter(|| {
                let claims = ProofClaims::new(
                    &Method::POST,
                    &uri,
                    key.signer.now(),
                    key.signer.unique_id(),
                    key.signer.nonce(),
                );
                jsonwebtoken::encode(&header, black_box(&claims), &encoding).unwrap()
            });
        });
    }
    group.finish();
}

criterion_group!(benches, signing);
criterion_main!(benches);
