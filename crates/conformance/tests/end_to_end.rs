//! The client against the in-process stub over real HTTP (loopback only):
//! the five flows, the token cache, retries, and a property that client and
//! stub agree. TLS, connection reuse and timeouts are in `transports.rs`,
//! run on both transports.

mod support;

use support::route;

use std::sync::Arc;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use support::fast_config;
use tokenprobe_client::{
    CessConfig, CognitoConfig, ErrorKind, Flow, FlowConfig, HttpOptions, IdpConfig, RetryPolicy,
    TokenCache, Transport, VcdConfig, VcdFormat, VeevaConfig, VenafiConfig,
};
use tokenprobe_protocol::client_auth::ClientAuth;
use tokenprobe_protocol::taxid::TaxId;
use tokenprobe_protocol::{BaseUrl, GrantKind, Secret};
use tokenprobe_stub::{
    CessUser, CognitoClient, Config, DEMO_ID, DEMO_OTP, DEMO_PASSWORD, DEMO_SECRET, Stub,
    StubHandle,
};

fn cognito(base: &BaseUrl) -> CognitoConfig {
    CognitoConfig {
        base_url: Some(base.clone()),
        client_id: DEMO_ID.into(),
        client_secret: Some(DEMO_SECRET.into()),
        auth: ClientAuth::Basic,
        scopes: vec!["tokenprobe/read".into()],
        ..Default::default()
    }
}

/// The demo flow of each system against `base`.
fn flows(base: &BaseUrl) -> Vec<FlowConfig> {
    vec![
        FlowConfig::Cognito(cognito(base)),
        FlowConfig::Cess(CessConfig {
            base_url: Some(base.clone()),
            client_id: DEMO_ID.into(),
            client_secret: DEMO_SECRET.into(),
            username: "12345678909".into(),
            otp: DEMO_OTP.into(),
            scopes: vec![],
            lifetime: Some(3600),
            provider: None,
        }),
        FlowConfig::Venafi(venafi(base)),
        FlowConfig::Veeva(VeevaConfig {
            base_url: Some(base.clone()),
            profile_id: DEMO_ID.into(),
            client_id: Some("tokenprobe-e2e".into()),
            idp: IdpConfig::Cognito(Box::new(cognito(base))),
        }),
        FlowConfig::Vcd(VcdConfig {
            base_url: Some(base.clone()),
            org: "Finance".into(),
            provider: false,
            version: None,
            format: VcdFormat::Xml,
            idp: IdpConfig::Cognito(Box::new(cognito(base))),
        }),
    ]
}

fn venafi(base: &BaseUrl) -> VenafiConfig {
    VenafiConfig {
        base_url: Some(base.clone()),
        client_id: DEMO_ID.into(),
        username: "local:admin".into(),
        password: DEMO_PASSWORD.into(),
        scope: "certificate:manage".into(),
    }
}

fn transport() -> Transport {
    Transport::new(&HttpOptions::default()).unwrap()
}

/// A cache that refreshes 60 s ahead and keeps expiry-less grants 10 min.
fn cache(flow: Flow) -> TokenCache {
    TokenCache::new(
        flow,
        transport(),
        Duration::from_secs(60),
        Duration::from_secs(600),
    )
}

async fn start(config: Config) -> StubHandle {
    Stub::start(config).await.unwrap()
}

#[tokio::test]
async fn each_of_the_five_flows_acquires_a_conforming_grant_from_the_stub() {
    let stub = start(fast_config()).await;
    let t = transport();
    let mut kinds = Vec::new();
    for config in flows(&stub.base_url()) {
        let flow = Flow::new(&config).unwrap();
        let got = flow
            .acquire(&t)
            .await
            .unwrap_or_else(|e| panic!("{config:?}: {e}"));
        let steps: Vec<_> = got.steps.iter().map(|s| s.step).collect();
        assert_eq!(steps, flow.steps(), "{config:?}");
        assert!(got.grant.warnings.is_empty(), "{:?}", got.grant.warnings);
        kinds.push(got.grant.kind);
    }
    assert_eq!(
        kinds,
        [
            GrantKind::AccessToken,
            GrantKind::AccessToken,
            GrantKind::AccessToken,
            GrantKind::VaultSession,
            GrantKind::VcdSession
        ]
    );
}

#[tokio::test]
async fn a_cold_cache_makes_one_request_for_100_concurrent_callers() {
    let stub = start(fast_config()).await;
    let flow = Flow::new(&FlowConfig::Cognito(cognito(&stub.base_url()))).unwrap();
    let cache = Arc::new(cache(flow));
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let cache = cache.clone();
            tokio::spawn(async move { cache.get().await.map(|g| g.secret.expose().to_owned()) })
        })
        .collect();
    let mut tokens = Vec::new();
    for t in tasks {
        tokens.push(t.await.unwrap().unwrap());
    }
    tokens.dedup();
    assert_eq!(tokens.len(), 1, "every caller got the one grant");
    assert_eq!(stub.requests(route("cognito")), 1);
    assert_eq!(cache.requests(), 1);
}

#[tokio::test]
async fn venafi_refresh_is_used_when_the_access_token_nears_expiry() {
    let mut config = fast_config();
    config.venafi.applications[0].lifetime_secs = 30;
    let stub = start(config).await;
    let flow = Flow::new(&FlowConfig::Venafi(venafi(&stub.base_url()))).unwrap();
    // A 60 s margin on a 30 s token: every grant is already near expiry.
    let cache = cache(flow);
    let first = cache.get().await.unwrap();
    let second = cache.get().await.unwrap();
    assert_ne!(first.secret, second.secret);
    assert_eq!(stub.requests(route("venafi-authorize")), 1);
    assert_eq!(stub.requests(route("venafi-refresh")), 1);
}

#[tokio::test]
async fn an_invalidated_grant_is_replaced_and_a_live_one_is_reused() {
    let stub = start(fast_config()).await;
    let flow = Flow::new(&FlowConfig::Cognito(cognito(&stub.base_url()))).unwrap();
    let cache = cache(flow);
    let first = cache.get().await.unwrap();
    assert_eq!(cache.get().await.unwrap().secret, first.secret);
    cache.invalidate(&first).await;
    assert_ne!(cache.get().await.unwrap().secret, first.secret);
    assert_eq!(stub.requests(route("cognito")), 2);
}

#[tokio::test]
async fn retry_honours_retry_after_and_never_retries_a_401() {
    let config = tokenprobe_config::stub_config(
        "[jwt]\nalgorithm = \"ES256\"\n[faults.cess]\n\
         error = { probability = 1.0, status = 503, body = \"busy\", retry_after_secs = 1 }\n",
        "retry.toml",
    )
    .unwrap();
    let stub = start(config).await;
    let flows = flows(&stub.base_url());
    let policy = RetryPolicy {
        max_attempts: 2,
        base_delay_ms: 10,
        max_delay_ms: 5_000,
    };
    let (cess, t) = (Flow::new(&flows[1]).unwrap(), transport());
    let started = Instant::now();
    let e = policy.run(|| cess.acquire(&t)).await.unwrap_err();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(e.error.label().to_string(), "http_status(503)");
    assert_eq!(stub.requests(route("cess")), 2);

    let mut wrong = cognito(&stub.base_url());
    wrong.client_secret = Some("wrong".into());
    let wrong = Flow::new(&FlowConfig::Cognito(wrong)).unwrap();
    let policy = RetryPolicy {
        max_attempts: 5,
        ..RetryPolicy::default()
    };
    let e = policy.run(|| wrong.acquire(&t)).await.unwrap_err();
    assert_eq!(e.error.label().to_string(), "provider(invalid_client)");
    assert_eq!(stub.requests(route("cognito")), 1);
}

#[tokio::test]
async fn secrets_show_in_no_error_and_no_debug_string() {
    let stub = start(fast_config()).await;
    let mut wrong = cognito(&stub.base_url());
    wrong.client_secret = Some("hunter2-very-secret".into());
    let config = FlowConfig::Cognito(wrong);
    assert!(!format!("{config:?}").contains("hunter2"));
    let flow = Flow::new(&config).unwrap();
    assert!(!format!("{flow:?}").contains("hunter2"));
    let e = flow.acquire(&transport()).await.unwrap_err();
    assert!(!format!("{e} {e:?}").contains("hunter2"));
    let good = Flow::new(&flows(&stub.base_url())[0])
        .unwrap()
        .acquire(&transport())
        .await
        .unwrap();
    let token = good.grant.secret.expose().to_owned();
    assert!(!format!("{good:?}").contains(&token));
}

/// Client ids and secrets with the characters RFC 6749 §2.3.1 must carry.
fn credential() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9:+%/ é~._-]{1,20}"
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Any client the protocol accepts gets a grant from a stub that knows
    /// it; one the protocol refuses is never sent.
    #[test]
    fn client_and_stub_agree_on_client_credentials(id in credential(), secret in credential(), body in any::<bool>()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let mut config = fast_config();
            config.cognito.clients = vec![CognitoClient {
                id: id.clone(),
                secret: Some(Secret::new(secret.clone())),
                public_keys: vec![],
                jwks: None,
                scopes: vec![],
                lifetime_secs: 60,
                dpop_bound: false,
                tls_certificates: vec![],
                tls_client_ca: None,
            }];
            let stub = start(config).await;
            let flow = Flow::new(&FlowConfig::Cognito(CognitoConfig {
                base_url: Some(stub.base_url()),
                client_id: id,
                client_secret: Some(secret.as_str().into()),
                auth: if body { ClientAuth::Body } else { ClientAuth::Basic },
                ..Default::default()
            }));
            match flow {
                Ok(flow) => {
                    let got = flow.acquire(&transport()).await;
                    prop_assert!(got.is_ok(), "{:?}", got.err().map(|e| e.to_string()));
                }
                Err(e) => {
                    prop_assert_eq!(e.kind(), ErrorKind::Refused);
                    prop_assert_eq!(stub.requests(route("cognito")), 0);
                }
            }
            Ok(())
        })?;
    }

    /// Any valid CPF or CNPJ with a lifetime within its limit gets a grant
    /// whose `expires_in` is that lifetime; an invalid one is never sent.
    #[test]
    fn client_and_stub_agree_on_cess(
        base in prop_oneof!["[0-9]{9}", "[0-9A-Z]{8}[0-9]{4}"],
        corrupt in any::<bool>(),
        fraction in 0.0f64..=1.0,
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let valid = TaxId::complete(&base).unwrap();
            let limit = valid.max_lifetime();
            let lifetime = ((f64::from(limit) * fraction) as u32).max(1);
            let mut config = fast_config();
            config.cess.users = vec![CessUser { username: valid.clone(), otp: Secret::new("999"), provider: "P".into() }];
            let stub = start(config).await;
            let mut username = valid.as_str().to_owned();
            if corrupt {
                // Change the last check digit.
                let last = username.pop().unwrap();
                username.push(if last == '0' { '1' } else { '0' });
            }
            let flow = Flow::new(&FlowConfig::Cess(CessConfig {
                base_url: Some(stub.base_url()),
                client_id: DEMO_ID.into(),
                client_secret: DEMO_SECRET.into(),
                username,
                otp: "999".into(),
                scopes: vec![],
                lifetime: Some(lifetime),
                provider: None,
            }));
            match (corrupt, flow) {
                (false, Ok(flow)) => {
                    let got = flow.acquire(&transport()).await.map_err(|e| e.to_string());
                    prop_assert_eq!(got.map(|a| a.grant.expires_in), Ok(Some(Duration::from_secs(lifetime.into()))));
                }
                (true, Err(e)) => {
                    prop_assert_eq!(e.kind(), ErrorKind::Refused);
                    prop_assert_eq!(stub.requests(route("cess")), 0);
                }
                (c, f) => prop_assert!(false, "corrupt {c}: {:?}", f.map(|_| ()).map_err(|e| e.to_string())),
            }
            Ok(())
        })?;
    }
}
