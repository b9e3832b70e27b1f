//! The small public surface the other crates build on: system names, the
//! typed requests' accessors, a grant's `Authorization` value and expiry,
//! secrets' equality and display. Each returns what was put in (found by
//! mutation testing: `scripts/mutants.sh protocol`).

use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use http::Request;
use tokenprobe_protocol::client_auth::ClientAuth;
use tokenprobe_protocol::{BaseUrl, Secret, System, cess, veeva, venafi};

#[test]
fn systems_are_named_as_scenarios_name_them() {
    let names: Vec<&str> = System::ALL.iter().map(|s| s.name()).collect();
    assert_eq!(names, ["cognito", "cess", "venafi", "veeva", "vcd"]);
    for s in System::ALL {
        assert_eq!(System::from_name(s.name()), Some(s));
        assert_eq!(s.to_string(), s.name());
    }
    assert_eq!(System::from_name("kerberos"), None);
    assert_eq!(System::from_name(""), None);
}

#[test]
fn a_cess_request_gives_back_what_it_was_given() {
    let r = cess::TokenRequest::new(
        "app-1",
        Secret::new("app-secret"),
        "52998224725",
        Secret::new("123456"),
    )
    .unwrap();
    assert_eq!(r.client_id(), "app-1");
    assert_eq!((r.scope(), r.provider(), r.lifetime()), (None, None, None));
    let r = r
        .with_scopes(["signature_session", "service_2fa"])
        .unwrap()
        .with_provider("SOLUTIHOM")
        .unwrap()
        .with_lifetime(3600)
        .unwrap();
    assert_eq!(r.scope(), Some("signature_session service_2fa"));
    assert_eq!(r.provider(), Some("SOLUTIHOM"));
    assert_eq!(r.lifetime(), Some(3600));
}

/// CE-03 on the server side: a username sent as a JSON number is a CPF
/// or CNPJ whose leading zeros a number cannot hold; any other number is
/// refused as not a string.
#[test]
fn a_numeric_username_is_padded_and_other_numbers_are_refused() {
    let req = |username: &str| {
        let mut req = Request::new(Bytes::from(format!(
            r#"{{"client_id":"a","client_secret":"s","username":{username},"password":"1","grant_type":"password"}}"#
        )));
        *req.method_mut() = http::Method::POST;
        *req.uri_mut() = "/oauth".parse().unwrap();
        req.headers_mut()
            .insert("content-type", "application/json".parse().unwrap());
        req
    };
    // 04252305039 is a CPF with a leading zero.
    let r = cess::parse_request(&req("4252305039")).unwrap();
    assert_eq!(r.username().to_string(), "04252305039");
    for bad in ["-52998224725", "52998224725.0"] {
        let e = cess::parse_request(&req(bad)).unwrap_err();
        assert_eq!(
            e.error.description.as_deref(),
            Some("username must be a string"),
            "{bad}"
        );
    }
}

/// What each method holds and sends, as RFC 6749 §2.3.1, RFC 7523 §2.2,
/// OpenID Connect Core §9 and RFC 8705 §2 name them.
#[test]
fn each_method_holds_a_secret_or_a_key_and_sends_it_or_an_assertion() {
    use tokenprobe_protocol::client_auth::Material;
    let methods: Vec<(&str, Material, bool)> = ClientAuth::ALL
        .iter()
        .map(|a| (a.method_name(), a.material(), a.signs()))
        .collect();
    assert_eq!(
        methods,
        [
            ("client_secret_basic", Material::Secret, false),
            ("client_secret_post", Material::Secret, false),
            ("client_secret_jwt", Material::Secret, true),
            ("private_key_jwt", Material::PrivateKey, true),
            ("tls_client_auth", Material::Certificate, false),
            ("self_signed_tls_client_auth", Material::Certificate, false),
        ]
    );
}

#[test]
fn secrets_compare_by_value_and_display_redacted() {
    assert_eq!(Secret::new("a"), Secret::new("a"));
    assert_ne!(Secret::new("a"), Secret::new("b"));
    assert_eq!(Secret::new("hunter2").to_string(), "[redacted]");
    assert_eq!(
        format!("{:?}", Secret::new("hunter2")),
        "Secret([redacted])"
    );
}

#[test]
fn a_url_with_credentials_is_refused_without_echoing_them() {
    for url in [
        "https://user:pa55word@idp.example.com",
        "https://pa55word@idp.example.com/path",
    ] {
        let e = url.parse::<BaseUrl>().unwrap_err().to_string();
        assert!(!e.contains("pa55word"), "{e}");
        assert!(e.contains("https://***@idp.example.com"), "{e}");
    }
    // An `@` but no scheme: said without the text.
    let e = "pa55word@idp".parse::<BaseUrl>().unwrap_err().to_string();
    assert!(!e.contains("pa55word"), "{e}");
    assert!(e.contains("(a URL with credentials)"), "{e}");
    // An `@` in the path only, after the host: the URL is shown whole.
    let e = "ftp://idp.example.com/a@b"
        .parse::<BaseUrl>()
        .unwrap_err()
        .to_string();
    assert!(e.contains("ftp://"), "{e}");
}

#[test]
fn a_vault_session_is_its_own_authorization() {
    let req = veeva::SessionRequest::new("p", Secret::new("idp-token")).unwrap();
    let body = br#"{"responseStatus":"SUCCESS","sessionId":"3B3C45FD","userId":1,"vaultIds":[],"vaultId":1}"#;
    let grant = req
        .decode_response(http::StatusCode::OK, &http::HeaderMap::new(), body)
        .unwrap();
    assert_eq!(grant.authorization().expose(), "3B3C45FD");
}

#[test]
fn a_grant_expires_at_the_earlier_of_its_two_lifetimes() {
    let req = venafi::AuthorizeRequest::new("app", "local:admin", Secret::new("pw"), "certificate")
        .unwrap();
    let received = UNIX_EPOCH + Duration::from_secs(1_000_000);
    let grant = |expires_in: u64, expires: u64| {
        let body = format!(
            r#"{{"access_token":"t","token_type":"Bearer","expires_in":{expires_in},"expires":{expires},"scope":"certificate"}}"#
        );
        req.decode_response(
            http::StatusCode::OK,
            &http::HeaderMap::new(),
            body.as_bytes(),
        )
        .unwrap()
    };
    // The absolute expiry first.
    let g = grant(3600, 1_000_100);
    assert_eq!(
        g.expiry(received),
        Some(UNIX_EPOCH + Duration::from_secs(1_000_100))
    );
    // The relative one first.
    let g = grant(60, 1_003_600);
    assert_eq!(g.expiry(received), Some(received + Duration::from_secs(60)));
    assert_eq!(g.authorization().expose(), "Bearer t");
}

/// RFC 7523 §3, at its edges: the rule the stub applies to assertions.
#[test]
fn assertion_claims_are_refused_exactly_past_each_limit() {
    use tokenprobe_protocol::client_auth::{
        ASSERTION_MAX_LIFETIME_SECS, ASSERTION_SKEW_SECS, AssertionClaims,
    };
    let here = ["https://as.example/oauth2/token".to_owned()];
    let now = 1_700_000_000;
    let fresh = || AssertionClaims::new("c", &here[0], now, "j-1".into());
    assert_eq!(fresh().problem("c", &here, now), None);
    let problem = |edit: &dyn Fn(&mut AssertionClaims)| {
        let mut c = fresh();
        edit(&mut c);
        c.problem("c", &here, now)
    };
    // iss and sub, each alone.
    assert!(problem(&|c| c.iss = "x".into()).is_some());
    assert!(problem(&|c| c.sub = "x".into()).is_some());
    assert!(problem(&|c| c.aud = vec!["https://other".into()]).is_some());
    assert_eq!(
        problem(&|c| c.aud = vec!["https://other".into(), here[0].clone()]),
        None
    );
    // exp: expired at now, fine a second later, too far past the maximum.
    assert!(problem(&|c| c.exp = now).is_some());
    assert_eq!(problem(&|c| c.exp = now + 1), None);
    assert_eq!(
        problem(&|c| c.exp = now + ASSERTION_MAX_LIFETIME_SECS),
        None
    );
    assert!(problem(&|c| c.exp = now + ASSERTION_MAX_LIFETIME_SECS + 1).is_some());
    // iat: up to the skew ahead is a clock's error, past it a mistake.
    assert_eq!(problem(&|c| c.iat = now + ASSERTION_SKEW_SECS), None);
    assert!(problem(&|c| c.iat = now + ASSERTION_SKEW_SECS + 1).is_some());
    assert!(problem(&|c| c.jti = String::new()).is_some());
}

/// A signer that signs with `alg` and holds `material`.
#[derive(Debug)]
struct Fixed(tokenprobe_protocol::jwt::Algorithm, Secret);

impl tokenprobe_protocol::client_auth::AssertionSigner for Fixed {
    fn algorithm(&self) -> tokenprobe_protocol::jwt::Algorithm {
        self.0
    }
    fn material(&self) -> &Secret {
        &self.1
    }
    fn sign(
        &self,
        _: &tokenprobe_protocol::client_auth::AssertionClaims,
    ) -> Result<Secret, tokenprobe_protocol::client_auth::SignError> {
        Ok(Secret::new("x.y.z"))
    }
    fn unique_id(&self) -> String {
        "1".into()
    }
    fn now(&self) -> u64 {
        0
    }
}

/// A secret for Basic and body; an HS256 signer for client_secret_jwt, a
/// key's for private_key_jwt, never the other; an assertion for either.
/// Whatever it is, every secret it holds is listed for scrubbing.
#[test]
fn a_credential_fits_its_methods_only_and_lists_what_it_holds() {
    use std::sync::Arc;
    use tokenprobe_protocol::client_auth::{Credential, Signer};
    use tokenprobe_protocol::jwt::Algorithm;
    let secret = Credential::Secret(Secret::new("s"));
    let assertion = Credential::Assertion(Secret::new("a.b.c"));
    let signer =
        |alg, material: &str| Credential::Key(Signer(Arc::new(Fixed(alg, Secret::new(material)))));
    let hmac = signer(Algorithm::HS256, "the-secret");
    let key = signer(Algorithm::ES256, "-----BEGIN PRIVATE KEY-----");
    let fits = |c: &Credential| -> Vec<&str> {
        ClientAuth::ALL
            .into_iter()
            .filter(|a| c.fits(*a))
            .map(ClientAuth::method_name)
            .collect()
    };
    assert_eq!(fits(&secret), ["client_secret_basic", "client_secret_post"]);
    assert_eq!(fits(&hmac), ["client_secret_jwt"]);
    assert_eq!(fits(&key), ["private_key_jwt"]);
    assert_eq!(fits(&signer(Algorithm::RS256, "k")), ["private_key_jwt"]);
    assert_eq!(fits(&assertion), ["client_secret_jwt", "private_key_jwt"]);
    let held = |c: &Credential| -> Vec<String> {
        c.secrets().iter().map(|s| s.expose().to_owned()).collect()
    };
    assert_eq!(held(&secret), ["s"]);
    assert_eq!(held(&hmac), ["the-secret"]);
    assert_eq!(held(&key), ["-----BEGIN PRIVATE KEY-----"]);
    assert_eq!(held(&assertion), ["a.b.c"]);
}

#[test]
fn a_signer_is_equal_only_to_itself() {
    use std::sync::Arc;
    use tokenprobe_protocol::client_auth::{AssertionClaims, AssertionSigner, Signer};
    #[derive(Debug)]
    struct Own;
    impl AssertionSigner for Own {
        fn algorithm(&self) -> tokenprobe_protocol::jwt::Algorithm {
            tokenprobe_protocol::jwt::Algorithm::ES256
        }
        fn material(&self) -> &Secret {
            unreachable!("not asked")
        }
        fn sign(
            &self,
            _: &AssertionClaims,
        ) -> Result<Secret, tokenprobe_protocol::client_auth::SignError> {
            Ok(Secret::new("x.y.z"))
        }
        fn unique_id(&self) -> String {
            "1".into()
        }
        fn now(&self) -> u64 {
            0
        }
    }
    let a = Signer(Arc::new(Own));
    let b = Signer(Arc::new(Own));
    assert_eq!(a, a.clone());
    assert_ne!(a, b);
}

/// A key client's request: what the assertion is addressed to, a path of
/// its own, the scope, the method; on the wire, the assertion in the form.
#[test]
fn a_key_clients_request_carries_its_assertion_to_its_audience() {
    use std::sync::Arc;
    use tokenprobe_protocol::client_auth::{AssertionClaims, AssertionSigner, Credential, Signer};
    use tokenprobe_protocol::cognito;
    /// Signs as a JWS whose claims are the claims, so the test can read them.
    #[derive(Debug)]
    struct Plain(Secret);
    impl AssertionSigner for Plain {
        fn algorithm(&self) -> tokenprobe_protocol::jwt::Algorithm {
            tokenprobe_protocol::jwt::Algorithm::ES256
        }
        fn material(&self) -> &Secret {
            &self.0
        }
        fn sign(
            &self,
            claims: &AssertionClaims,
        ) -> Result<Secret, tokenprobe_protocol::client_auth::SignError> {
            let header = tokenprobe_protocol::jwt::JwtHeader {
                alg: "ES256".into(),
                kid: None,
                typ: Some("JWT".into()),
            };
            Ok(Secret::new(tokenprobe_protocol::jwt::compact(
                &header.encoded(),
                claims,
                |_| b"sig".to_vec(),
            )))
        }
        fn unique_id(&self) -> String {
            "jti-1".into()
        }
        fn now(&self) -> u64 {
            1_700_000_000
        }
    }
    let base: BaseUrl = "https://as.example".parse().unwrap();
    let r = cognito::TokenRequest::new(
        "client-1",
        Credential::Key(Signer(Arc::new(Plain(Secret::new("pem"))))),
        ClientAuth::PrivateKeyJwt,
    )
    .unwrap()
    .with_path("/realms/x/token")
    .unwrap()
    .with_scopes(["a", "b"])
    .unwrap();
    assert_eq!(r.path(), "/realms/x/token");
    assert_eq!(r.scope(), Some("a b"));
    assert_eq!(r.auth(), ClientAuth::PrivateKeyJwt);
    assert_eq!(
        r.audience(&base).unwrap(),
        "https://as.example/realms/x/token"
    );
    let req = r.encode(&base).unwrap();
    assert!(req.headers().get("authorization").is_none());
    let form: Vec<(String, String)> = form_urlencoded::parse(req.body()).into_owned().collect();
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("client_id"), Some("client-1"));
    assert_eq!(
        get("client_assertion_type"),
        Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    );
    let jwt =
        tokenprobe_protocol::jwt::decode_unverified(get("client_assertion").unwrap()).unwrap();
    assert_eq!(jwt.header.alg, "ES256");
    assert_eq!(jwt.claims.sub.as_deref(), Some("client-1"));
    assert!(get("client_assertion").unwrap().ends_with(".c2ln"));
    // Its claims, read independently: the audience is the endpoint, and
    // it was issued at the signer's time.
    let payload = get("client_assertion").unwrap().split('.').nth(1).unwrap();
    let payload: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
            .unwrap(),
    )
    .unwrap();
    let aud = &payload["aud"];
    assert!(
        aud == "https://as.example/realms/x/token" || aud[0] == "https://as.example/realms/x/token",
        "{aud}"
    );
    assert_eq!(payload["iat"], 1_700_000_000);
    assert!(payload["exp"].as_u64().unwrap() > 1_700_000_000);
    // A given audience wins over the endpoint's URL.
    let r = r.with_audience("https://issuer.example");
    assert_eq!(r.audience(&base).unwrap(), "https://issuer.example");
    // Paths that are not absolute, or hold spaces, are refused.
    for bad in ["token", "/a b", "/a\tb"] {
        let r = cognito::TokenRequest::new("c", Secret::new("s"), ClientAuth::Basic).unwrap();
        assert!(r.with_path(bad).is_err(), "{bad}");
    }
    // The server side reads the assertion back, and names the client by
    // the body's id or else the assertion's `sub`, refusing a mismatch.
    let server = |form: &str| {
        let mut req = http::Request::new(bytes::Bytes::from(form.to_owned()));
        *req.method_mut() = http::Method::POST;
        *req.uri_mut() = "/oauth2/token".parse().unwrap();
        req.headers_mut().insert(
            "content-type",
            "application/x-www-form-urlencoded".parse().unwrap(),
        );
        cognito::parse_request(&req)
    };
    let assertion = get("client_assertion").unwrap();
    let with = |id: Option<&str>| {
        let mut s = form_urlencoded::Serializer::new(String::new());
        s.append_pair("grant_type", "client_credentials");
        if let Some(id) = id {
            s.append_pair("client_id", id);
        }
        s.append_pair(
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        );
        s.append_pair("client_assertion", assertion);
        s.finish()
    };
    for id in [None, Some("client-1")] {
        let got = server(&with(id)).unwrap();
        assert_eq!(
            (got.client_id(), got.auth()),
            ("client-1", ClientAuth::PrivateKeyJwt)
        );
        assert_eq!(
            got.credential(),
            &Credential::Assertion(Secret::new(assertion))
        );
    }
    let e = server(&with(Some("someone-else"))).unwrap_err();
    assert_eq!(e.status, http::StatusCode::UNAUTHORIZED);
    // An assertion beside a secret is two methods at once.
    let e = server(&format!("{}&client_secret=s", with(None))).unwrap_err();
    assert_eq!(e.status, http::StatusCode::BAD_REQUEST);
    // And beside Basic credentials.
    let mut req = http::Request::new(bytes::Bytes::from(with(None)));
    *req.method_mut() = http::Method::POST;
    *req.uri_mut() = "/oauth2/token".parse().unwrap();
    for (k, v) in [
        ("content-type", "application/x-www-form-urlencoded"),
        ("authorization", "Basic Y2xpZW50LTE6cw=="),
    ] {
        req.headers_mut().insert(k, v.parse().unwrap());
    }
    let e = cognito::parse_request(&req).unwrap_err();
    assert_eq!(e.status, http::StatusCode::BAD_REQUEST);
    // Half an assertion (no type, or no assertion) is a bad assertion,
    // not a client without authentication.
    let form = |pairs: &[(&str, &str)]| {
        let mut s = form_urlencoded::Serializer::new(String::new());
        s.append_pair("grant_type", "client_credentials");
        s.extend_pairs(pairs);
        s.finish()
    };
    let untyped = server(&form(&[("client_assertion", assertion)])).unwrap_err();
    let said = untyped.error.to_string();
    assert!(
        said.contains("client_assertion_type must be jwt-bearer"),
        "{said}"
    );
    let typed = form(&[(
        "client_assertion_type",
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    )]);
    let said = server(&typed).unwrap_err().error.to_string();
    assert!(said.contains("no client_assertion"), "{said}");
}

#[test]
fn metadata_is_served_as_json_and_read_back() {
    use tokenprobe_protocol::discovery::Metadata;
    let body = br#"{"issuer":"https://as.example","token_endpoint":"https://as.example/token","grant_types_supported":["client_credentials"]}"#;
    let m = Metadata::parse("https://as.example", body).unwrap();
    let res = m.to_response();
    assert_eq!(res.status(), http::StatusCode::OK);
    assert_eq!(
        res.headers()["content-type"],
        "application/json;charset=UTF-8"
    );
    assert_eq!(
        Metadata::parse("https://as.example", res.body()).unwrap(),
        m
    );
}

#[test]
fn a_venafi_request_gives_back_what_it_was_given() {
    let r = venafi::AuthorizeRequest::new("app", "local:admin", Secret::new("pw"), "certificate")
        .unwrap();
    assert_eq!(
        (r.client_id(), r.username(), r.state()),
        ("app", "local:admin", None)
    );
    assert_eq!(r.with_state("s-1").state(), Some("s-1"));
}

/// VE-03 and VE-04 at their edges: a skew of exactly the limit is fine,
/// one second more is a warning; `refresh_until` equal to `expires` is
/// fine, one second before it a warning.
#[test]
fn venafi_expiry_and_refresh_rules_at_their_edges() {
    let req = venafi::AuthorizeRequest::new("app", "u", Secret::new("pw"), "certificate").unwrap();
    let decode = |extra: &str| {
        let body = format!(
            r#"{{"access_token":"t","token_type":"Bearer","expires_in":3600,"expires":1003600{extra}}}"#
        );
        req.decode_response(
            http::StatusCode::OK,
            &http::HeaderMap::new(),
            body.as_bytes(),
        )
        .unwrap()
    };
    let g = decode("");
    let skew = venafi::EXPIRY_SKEW_SECS;
    assert!(venafi::check_expiry_skew(&g, 1_000_000 + skew).is_none());
    assert!(venafi::check_expiry_skew(&g, 1_000_000 + skew + 1).is_some());
    assert!(venafi::check_expiry_skew(&g, 1_000_000 - skew - 1).is_some());
    let ve04 = |g: &tokenprobe_protocol::Grant| g.warnings.iter().any(|w| w.check == "VE-04");
    assert!(!ve04(&decode(
        r#","refresh_token":"r","refresh_until":1003600"#
    )));
    assert!(ve04(&decode(
        r#","refresh_token":"r","refresh_until":1003599"#
    )));
    assert!(ve04(&decode(r#","refresh_token":"r""#)));
}

/// VE-05: each documented message becomes its variant, whatever member
/// carries it; an unknown text is typed by its status.
#[test]
fn venafi_errors_are_read_from_any_member_and_typed_by_status() {
    use http::StatusCode;
    use venafi::VenafiError;
    let from = |status, body: &str| VenafiError::decode(status, body.as_bytes());
    assert_eq!(
        from(
            StatusCode::BAD_REQUEST,
            r#"{"error":"Application identifier is missing"}"#
        ),
        VenafiError::ApplicationIdMissing
    );
    assert_eq!(
        from(
            StatusCode::BAD_REQUEST,
            r#"{"error":"x","error_description":"Application identifier is missing"}"#
        ),
        VenafiError::ApplicationIdMissing
    );
    assert_eq!(
        from(StatusCode::FORBIDDEN, "no entry"),
        VenafiError::ScopeNotAllowed("no entry".into())
    );
    assert_eq!(
        from(StatusCode::BAD_REQUEST, "odd"),
        VenafiError::InvalidRequest("odd".into())
    );
    assert_eq!(
        from(StatusCode::CONFLICT, "odd"),
        VenafiError::Other("odd".into())
    );
    let e = from(
        StatusCode::UNAUTHORIZED,
        "Failed to issue grant: user locked",
    );
    assert_eq!(e, VenafiError::FailedToIssueGrant("user locked".into()));
    assert_eq!(
        (e.code(), e.to_string().as_str()),
        ("invalid_grant", "Failed to issue grant: user locked")
    );
    for (e, code) in [
        (VenafiError::ApplicationIdMissing, "invalid_request"),
        (VenafiError::PasswordAuthNotEnabled, "unauthorized_client"),
        (VenafiError::InvalidCredentials, "invalid_grant"),
        (
            VenafiError::ScopeNotAllowed("admin".into()),
            "invalid_scope",
        ),
        (VenafiError::InvalidToken, "invalid_token"),
    ] {
        assert_eq!(e.code(), code, "{e:?}");
        // What a server sends reads back as the same error.
        let res = e.to_response();
        assert_eq!(VenafiError::decode(res.status(), res.body()), e);
    }
}

#[test]
fn venafi_server_answers_carry_their_bodies() {
    use venafi::{TokenBody, VerifyBody};
    let body = TokenBody {
        access_token: Secret::new("t"),
        refresh_token: None,
        expires_in: None,
        expires: Some(5),
        token_type: "Bearer".into(),
        scope: Some("certificate".into()),
        identity: None,
        refresh_until: None,
    };
    let res = body.to_response();
    assert_eq!(res.status(), http::StatusCode::OK);
    let back: serde_json::Value = serde_json::from_slice(res.body()).unwrap();
    assert_eq!(back["access_token"], "t");
    assert_eq!(back["expires"], 5);
    let v = VerifyBody {
        application: "app".into(),
        identity: "local:{1}".into(),
        scope: "certificate".into(),
        expires_unix_time: 9,
        valid_for: 3,
    };
    let back: VerifyBody = serde_json::from_slice(v.to_response().body()).unwrap();
    assert_eq!(back, v);
    let revoked = venafi::revoke_response();
    assert_eq!(revoked.status(), http::StatusCode::OK);
    assert_eq!(revoked.headers()["cache-control"], "no-store");
}

#[test]
fn rfc_6749_errors_display_their_code_and_description() {
    use tokenprobe_protocol::rfc6749::{ErrorCode, OAuthError};
    assert_eq!(ErrorCode::InvalidScope.to_string(), "invalid_scope");
    assert_eq!(
        OAuthError::new(ErrorCode::InvalidClient).to_string(),
        "invalid_client"
    );
    assert_eq!(
        OAuthError::new(ErrorCode::InvalidClient)
            .describe("no such client")
            .to_string(),
        "invalid_client: no such client"
    );
}

/// RFC-06: a JSON number of seconds may come as a float with no fraction;
/// anything else is not a lifetime.
#[test]
fn expires_in_as_a_float_is_taken_only_when_whole() {
    use tokenprobe_protocol::rfc6749::ExpiresIn;
    let read = |json: &str| serde_json::from_str::<ExpiresIn>(json).map(ExpiresIn::seconds);
    assert_eq!(read("3600.0").unwrap(), 3600);
    assert_eq!(read("0.0").unwrap(), 0);
    for bad in ["3600.5", "-1.0", "1.9e19", "1.8e19", "-0.5"] {
        assert!(read(bad).is_err(), "{bad}");
    }
    let e = read("true").unwrap_err().to_string();
    assert!(
        e.contains("expected a non-negative number of seconds"),
        "{e}"
    );
}

/// RFC-08 read as RFC 9110 §11.6.1 writes challenges: quoted commas and
/// escaped quotes do not split, parameters join the challenge before them.
#[test]
fn challenges_are_split_as_rfc_9110_writes_them() {
    use tokenprobe_protocol::rfc6749::BasicChallenge;
    let of = |v: &str| {
        let mut h = http::HeaderMap::new();
        h.insert("www-authenticate", v.parse().unwrap());
        BasicChallenge::of(&h)
    };
    assert_eq!(
        of(r#"Bearer realm="a\", Basic realm=b""#),
        BasicChallenge::OtherScheme
    );
    assert_eq!(
        of(r#"Bearer error="x", realm="y", Basic"#),
        BasicChallenge::NoRealm
    );
    assert_eq!(of("Basic charset=UTF-8, realm=x"), BasicChallenge::Complete);
    assert_eq!(of("Basic   realm=x"), BasicChallenge::Complete);
    assert_eq!(of("Basic, realm=x"), BasicChallenge::Complete);
    // A parameter whose quoted value holds a space is still a parameter.
    assert_eq!(
        of(r#"Basic, title="a b", realm=x"#),
        BasicChallenge::Complete
    );
    // A backslash escapes only inside a quoted string.
    assert_eq!(
        of(r"Newauth realm=x\, Basic realm=y"),
        BasicChallenge::Complete
    );
}

#[test]
fn a_request_as_another_client_or_method_carries_it() {
    use tokenprobe_protocol::client_auth::Credential;
    use tokenprobe_protocol::cognito;
    let r = cognito::TokenRequest::new("c1", Secret::new("s1"), ClientAuth::Basic).unwrap();
    let other = r
        .clone()
        .with_client("c2", Credential::Secret(Secret::new("s2")))
        .unwrap();
    assert_eq!(other.client_id(), "c2");
    assert_eq!(other.client_secret(), Some(&Secret::new("s2")));
    let body = r.with_auth(ClientAuth::Body).unwrap();
    assert_eq!(body.auth(), ClientAuth::Body);
    let req = body.encode(&"https://as.example".parse().unwrap()).unwrap();
    assert!(req.headers().get("authorization").is_none());
    assert!(
        String::from_utf8_lossy(req.body()).contains("client_secret=s1"),
        "{:?}",
        req.body()
    );
}

/// CG-05 at its edge: `exp − iat` may differ from `expires_in` by the
/// tolerance, not a second more; a JWT without them is a warning only when
/// there is an `expires_in` to compare with.
#[test]
fn cg_05_lifetime_tolerance_at_its_edge() {
    use base64::Engine as _;
    use tokenprobe_protocol::cognito;
    let r = cognito::TokenRequest::new("c1", Secret::new("s1"), ClientAuth::Basic).unwrap();
    let jwt = |claims: &str| {
        let e = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.c2ln", e(r#"{"alg":"RS256"}"#), e(claims))
    };
    let warned = |claims: &str, expires_in: Option<u64>| {
        let expires = expires_in.map_or(String::new(), |e| format!(r#","expires_in":{e}"#));
        let body = format!(
            r#"{{"access_token":"{}","token_type":"Bearer"{expires}}}"#,
            jwt(claims)
        );
        let g = r
            .decode_response(
                http::StatusCode::OK,
                &http::HeaderMap::new(),
                body.as_bytes(),
            )
            .unwrap();
        g.warnings
            .iter()
            .any(|w| w.check == "CG-05" && w.message.contains("exp"))
    };
    let t = cognito::CLAIMS_TOLERANCE_SECS;
    let claims = |lifetime: u64| {
        format!(
            r#"{{"iat":1000,"exp":{},"token_use":"access","client_id":"c1"}}"#,
            1000 + lifetime
        )
    };
    assert!(!warned(&claims(3600 + t), Some(3600)));
    assert!(warned(&claims(3600 + t + 1), Some(3600)));
    let bare = r#"{"token_use":"access","client_id":"c1"}"#;
    assert!(!warned(bare, None));
    assert!(warned(bare, Some(3600)));
}

/// A URL with `@` before its scheme is not shown at all: the part before
/// the `@` may be a password.
#[test]
fn an_at_sign_before_the_scheme_hides_the_whole_url() {
    let e = "pa55word@x://host"
        .parse::<BaseUrl>()
        .unwrap_err()
        .to_string();
    assert!(!e.contains("pa55word"), "{e}");
}

/// Excerpts are cut past 200 bytes, and marked so only then.
#[test]
fn an_excerpt_is_marked_only_when_cut() {
    use tokenprobe_protocol::wire;
    assert!(!wire::excerpt(&[b'a'; 200]).contains('…'));
    assert!(wire::excerpt(&[b'a'; 201]).ends_with('…'));
    let mut h = http::HeaderMap::new();
    h.insert("content-type", "text/html; charset=utf-8".parse().unwrap());
    assert!(!wire::media_type_is(&h, wire::FORM));
    assert!(wire::media_type_is(&h, "TEXT/HTML"));
    assert!(!wire::media_type_is(&http::HeaderMap::new(), wire::FORM));
}

/// CE-03: a CNPJ may carry letters in its 12 base positions only, and
/// `complete` appends the check digits the Receita Federal rule gives.
#[test]
fn tax_ids_take_letters_only_in_a_cnpj_base() {
    use tokenprobe_protocol::taxid::TaxId;
    assert_eq!(
        TaxId::complete("112223330001").unwrap().to_string(),
        "11222333000181"
    );
    assert_eq!(
        TaxId::complete("529982247").unwrap().to_string(),
        "52998224725"
    );
    let lettered = TaxId::complete("12ABC34501DE").unwrap().to_string();
    assert!(TaxId::parse(&lettered).is_ok(), "{lettered}");
    // A letter in a check digit's place is refused.
    use tokenprobe_protocol::taxid::TaxIdError;
    let mut late = lettered[..12].to_owned();
    late.push_str("A1");
    assert_eq!(
        TaxId::parse(&late).unwrap_err(),
        TaxIdError::Character { position: 13 }
    );
    assert_eq!(
        TaxId::parse("5299822472A").unwrap_err(),
        TaxIdError::Character { position: 11 }
    );
}

/// A metadata document is read up to its limit (real ones are a few KiB;
/// one of 200 KiB is odd but valid), and refused past it by its size.
#[test]
fn metadata_documents_are_read_up_to_their_limit() {
    use tokenprobe_protocol::discovery::{DiscoveryError, MAX_DOCUMENT_BYTES, Metadata};
    let issuer = "https://as.example";
    let padded = |bytes: usize| {
        let head = format!(r#"{{"issuer":"{issuer}","token_endpoint":"{issuer}/token","x":""#);
        let pad = bytes - head.len() - 2;
        format!("{head}{}\"}}", "a".repeat(pad))
    };
    assert_eq!(MAX_DOCUMENT_BYTES, 256 * 1024);
    let fits = padded(200 * 1024);
    assert_eq!(fits.len(), 200 * 1024);
    let m = Metadata::parse(issuer, fits.as_bytes()).unwrap();
    assert_eq!(
        m.token_endpoint.as_deref(),
        Some("https://as.example/token")
    );
    assert!(Metadata::parse(issuer, padded(MAX_DOCUMENT_BYTES).as_bytes()).is_ok());
    let err = Metadata::parse(issuer, padded(MAX_DOCUMENT_BYTES + 1).as_bytes()).unwrap_err();
    assert_eq!(err, DiscoveryError::TooLarge(MAX_DOCUMENT_BYTES + 1));
    assert!(err.to_string().contains("262145 bytes"), "{err}");
}

/// A system and a client authentication method read by their names; an
/// unknown name is refused with the names known.
#[test]
fn systems_and_methods_parse_by_name() {
    use tokenprobe_protocol::System;
    for s in System::ALL {
        assert_eq!(s.name().parse::<System>(), Ok(s));
    }
    for a in ClientAuth::ALL {
        assert_eq!(a.method_name().parse::<ClientAuth>(), Ok(a));
    }
    let e = "keycloak".parse::<System>().unwrap_err();
    assert_eq!(
        e.to_string(),
        "\"keycloak\" is not one of cognito, cess, venafi, veeva, vcd"
    );
    let e = "basic".parse::<ClientAuth>().unwrap_err();
    assert_eq!(e.known.len(), 6);
}
