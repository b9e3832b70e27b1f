//! The protocol crate's decoders against baselines on the same bytes: an
//! untyped `serde_json::Value` parse, the `oauth2` crate's typed responses
//! (for RFC 6749 bodies), a bare quick-xml event scan (for the VCD
//! Session); and request encoding, JWT claims, Venafi scopes, CPF/CNPJ.
//!
//! `cargo bench -p tokenprobe-benches --bench parsers`

use std::hint::black_box;

use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use http::header::{CACHE_CONTROL, CONTENT_TYPE, PRAGMA};
use http::{HeaderMap, HeaderValue, StatusCode};
use tokenprobe_protocol::client_auth::ClientAuth;
use tokenprobe_protocol::taxid::TaxId;
use tokenprobe_protocol::venafi::Scope;
use tokenprobe_protocol::{BaseUrl, Secret, cess, cognito, jwt, vcd, veeva, venafi};

const CESS_OK: &[u8] = include_bytes!("../tests/fixtures/cess/token-success.json");
const VEEVA_OK: &[u8] = include_bytes!("../tests/fixtures/veeva/session-success.json");
const VCD_XML: &[u8] = include_bytes!("../tests/fixtures/vcd/session.xml");
const VCD_JSON: &[u8] = br#"{"id":"urn:vcloud:session:4f0b","user":{"name":"bob","id":"urn:vcloud:user:fe50b0b5"},"org":{"name":"Finance","id":"urn:vcloud:org:7d4e"},"roles":["Organization Administrator"],"location":"site1"}"#;
/// A Cognito access token of the usual size (RS256, 2048-bit signature).
const JWT: &str = "eyJraWQiOiJrMSIsImFsZyI6IlJTMjU2In0.eyJzdWIiOiJ0b2tlbnByb2JlLWRlbW8iLCJ0b2tlbl91c2UiOiJhY2Nlc3MiLCJzY29wZSI6InRva2VucHJvYmUvcmVhZCIsImF1dGhfdGltZSI6MTcwMDAwMDAwMCwiaXNzIjoiaHR0cHM6Ly9jb2duaXRvLWlkcC51cy1lYXN0LTEuYW1hem9uYXdzLmNvbS91cy1lYXN0LTFfdG9rZW5wcm9iZSIsImV4cCI6MTcwMDAwMzYwMCwiaWF0IjoxNzAwMDAwMDAwLCJ2ZXJzaW9uIjoyLCJqdGkiOiI5ODAyZmRjY2FlMzZhN2MyOGQ5MmQ2NThhYWExZGM0ZiIsImNsaWVudF9pZCI6InRva2VucHJvYmUtZGVtbyJ9.tGNmV8SNs2uLmqxM5lpRJsKfSf861vSJU-1TQkxTIGnK1Idbs7dG0vT-Od7yeW3oQUNnHG-lurQdu5trAhrfZIMm9Tv1Gx6qKeX2QNhoWfRUS_9JYzSH7TLNxP0--EsUbs4JQFB4POAbExAUpEFZPTl1BG-Fle3Uct42O3GmbQqXRIFjZ3Kl94msfFieLRt3QyQP-AJBRd3W2jaHSjYv0fk2rFIsBpStJrCRfnJDaDLTEd_GVfPKMq23g3HWnaQTb42KwLFKXfuQZTO_s2tjFBc-QPa2GDVIXBGI1VNc0DrKnYOHe4Dt9BxB6U160l7ycqx_6GM7CotKMp7zNW0nQQ";
const OAUTH_ERROR: &[u8] =
    br#"{"error":"invalid_client","error_description":"client authentication failed"}"#;

fn json_headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    h
}

fn value(g: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>, body: &'static [u8]) {
    g.bench_function("serde_json::Value (baseline)", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(body)))
    });
}

fn cognito(c: &mut Criterion) {
    let ok = format!(r#"{{"access_token":"{JWT}","expires_in":3600,"token_type":"Bearer"}}"#)
        .into_bytes();
    let ok: &'static [u8] = Box::leak(ok.into_boxed_slice());
    let req =
        cognito::TokenRequest::new("tokenprobe-demo", Secret::new("s"), ClientAuth::Basic).unwrap();
    let headers = json_headers();
    assert!(
        req.decode_response(StatusCode::OK, &headers, ok)
            .is_ok_and(|g| g.warnings.is_empty())
    );
    let mut g = c.benchmark_group("cognito success");
    g.throughput(Throughput::Bytes(ok.len() as u64));
    g.bench_function("tokenprobe (claims checked)", |b| {
        b.iter(|| req.decode_response(StatusCode::OK, &headers, black_box(ok)))
    });
    value(&mut g, ok);
    g.bench_function("oauth2 BasicTokenResponse (baseline)", |b| {
        b.iter(|| serde_json::from_slice::<oauth2::basic::BasicTokenResponse>(black_box(ok)))
    });
    g.finish();

    let mut g = c.benchmark_group("rfc6749 error");
    g.throughput(Throughput::Bytes(OAUTH_ERROR.len() as u64));
    g.bench_function("tokenprobe", |b| {
        b.iter(|| req.decode_response(StatusCode::UNAUTHORIZED, &headers, black_box(OAUTH_ERROR)))
    });
    value(&mut g, OAUTH_ERROR);
    g.bench_function("oauth2 BasicErrorResponse (baseline)", |b| {
        b.iter(|| {
            serde_json::from_slice::<oauth2::basic::BasicErrorResponse>(black_box(OAUTH_ERROR))
        })
    });
    g.finish();
}

fn cess_and_venafi(c: &mut Criterion) {
    let headers = json_headers();
    let req =
        cess::TokenRequest::new("a", Secret::new("s"), "12345678909", Secret::new("1")).unwrap();
    assert!(
        req.decode_response(StatusCode::OK, &headers, CESS_OK)
            .is_ok()
    );
    let mut g = c.benchmark_group("cess success");
    g.throughput(Throughput::Bytes(CESS_OK.len() as u64));
    g.bench_function("tokenprobe (VCSchema checked)", |b| {
        b.iter(|| req.decode_response(StatusCode::OK, &headers, black_box(CESS_OK)))
    });
    value(&mut g, CESS_OK);
    g.finish();

    let body: &'static [u8] = br#"{"access_token":"pDHKiwU1P0mJZsy6sUiC5g==","refresh_token":"QrC1GQnbwI3Hm3KBXZq9Xg==","expires_in":3600,"expires":1700003600,"token_type":"Bearer","scope":"certificate:manage","identity":"local:{3a6c5d2e-1f0b-4c47-9a53-6d2b8e1f4c7a}","refresh_until":1707776000}"#;
    let req =
        venafi::AuthorizeRequest::new("a", "u", Secret::new("p"), "certificate:manage").unwrap();
    assert!(req.decode_response(StatusCode::OK, &headers, body).is_ok());
    let mut g = c.benchmark_group("venafi success");
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("tokenprobe (scope checked)", |b| {
        b.iter(|| req.decode_response(StatusCode::OK, &headers, black_box(body)))
    });
    value(&mut g, body);
    g.bench_function("oauth2 BasicTokenResponse (baseline)", |b| {
        b.iter(|| serde_json::from_slice::<oauth2::basic::BasicTokenResponse>(black_box(body)))
    });
    g.finish();
}

fn veeva_and_vcd(c: &mut Criterion) {
    let headers = json_headers();
    let req = veeva::SessionRequest::new("p", Secret::new("t")).unwrap();
    assert!(
        req.decode_response(StatusCode::OK, &headers, VEEVA_OK)
            .is_ok()
    );
    let mut g = c.benchmark_group("veeva success");
    g.throughput(Throughput::Bytes(VEEVA_OK.len() as u64));
    g.bench_function("tokenprobe", |b| {
        b.iter(|| req.decode_response(StatusCode::OK, &headers, black_box(VEEVA_OK)))
    });
    value(&mut g, VEEVA_OK);
    g.finish();

    let mut vcd_headers = HeaderMap::new();
    vcd_headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.vmware.vcloud.session+xml;version=38.0"),
    );
    vcd_headers.insert(
        vcd::ACCESS_TOKEN_HEADER,
        HeaderValue::from_static("vcd-token"),
    );
    vcd_headers.insert(vcd::TOKEN_TYPE_HEADER, HeaderValue::from_static("Bearer"));
    let req = vcd::SessionRequest::new(Secret::new("t"), "Finance").unwrap();
    assert!(
        req.decode_response(StatusCode::OK, &vcd_headers, VCD_XML)
            .is_ok()
    );
    let mut g = c.benchmark_group("vcd session xml");
    g.throughput(Throughput::Bytes(VCD_XML.len() as u64));
    g.bench_function("tokenprobe", |b| {
        b.iter(|| req.decode_response(StatusCode::OK, &vcd_headers, black_box(VCD_XML)))
    });
    g.bench_function("quick-xml event scan (lower bound)", |b| {
        b.iter(|| {
            let mut r = quick_xml::Reader::from_reader(black_box(VCD_XML));
            let mut n = 0usize;
            loop {
                match r.read_event() {
                    Ok(quick_xml::events::Event::Eof) | Err(_) => break,
                    Ok(_) => n += 1,
                }
            }
            n
        })
    });
    g.finish();

    let mut json_headers = vcd_headers.clone();
    json_headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json;version=38.0"),
    );
    assert!(
        req.decode_response(StatusCode::OK, &json_headers, VCD_JSON)
            .is_ok()
    );
    let mut g = c.benchmark_group("vcd session json");
    g.throughput(Throughput::Bytes(VCD_JSON.len() as u64));
    g.bench_function("tokenprobe", |b| {
        b.iter(|| req.decode_response(StatusCode::OK, &json_headers, black_box(VCD_JSON)))
    });
    value(&mut g, VCD_JSON);
    g.finish();
}

fn encoding_and_rules(c: &mut Criterion) {
    let base: BaseUrl = "https://auth.example.com".parse().unwrap();
    let mut g = c.benchmark_group("request encoding");
    let cognito =
        cognito::TokenRequest::new("tokenprobe-demo", Secret::new("s3cret"), ClientAuth::Basic)
            .unwrap()
            .with_scopes(["api/read"])
            .unwrap();
    g.bench_function("cognito", |b| b.iter(|| black_box(&cognito).encode(&base)));
    let cess = cess::TokenRequest::new("a", Secret::new("s"), "12345678909", Secret::new("1"))
        .unwrap()
        .with_lifetime(3600)
        .unwrap();
    g.bench_function("cess", |b| b.iter(|| black_box(&cess).encode(&base)));
    let venafi =
        venafi::AuthorizeRequest::new("a", "u", Secret::new("p"), "certificate:manage").unwrap();
    g.bench_function("venafi", |b| b.iter(|| black_box(&venafi).encode(&base)));
    let veeva = veeva::SessionRequest::new("profile", Secret::new(JWT)).unwrap();
    g.bench_function("veeva", |b| b.iter(|| black_box(&veeva).encode(&base)));
    let vcd = vcd::SessionRequest::new(Secret::new(JWT), "Finance").unwrap();
    g.bench_function("vcd", |b| b.iter(|| black_box(&vcd).encode(&base)));
    g.finish();

    let mut g = c.benchmark_group("rules");
    g.throughput(Throughput::Bytes(JWT.len() as u64));
    g.bench_function("jwt claims (unverified)", |b| {
        b.iter(|| jwt::decode_unverified(black_box(JWT)))
    });
    g.finish();
    let mut g = c.benchmark_group("rules (no throughput)");
    g.bench_function("venafi scope", |b| {
        b.iter(|| {
            black_box("certificate:discover,manage,delete;configuration:manage;ssh")
                .parse::<Scope>()
        })
    });
    g.bench_function("cpf", |b| b.iter(|| TaxId::parse(black_box("12345678909"))));
    let cnpj = TaxId::complete("12ABC34501DE").unwrap();
    let cnpj = cnpj.as_str().to_owned();
    assert!(TaxId::parse(&cnpj).is_ok() && TaxId::parse("12345678909").is_ok());
    g.bench_function("cnpj (alphanumeric)", |b| {
        b.iter(|| TaxId::parse(black_box(&cnpj)))
    });
    g.finish();
}

criterion_group!(
    benches,
    cognito,
    cess_and_venafi,
    veeva_and_vcd,
    encoding_and_rules
);
criterion_main!(benches);
