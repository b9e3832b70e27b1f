//! Every `srv` check id of the contract reference (and the response-side
//! ids a server can break) against the stub over real HTTP. The id is in
//! each test's name.

#![allow(non_snake_case)]

mod support;

use support::{assert_holds, fast_config, verdicts};
use tokenprobe_conformance::catalog::entry_for;

macro_rules! srv {
    ($($name:ident => $id:literal,)*) => {$(
        #[tokio::test]
        #[allow(non_snake_case)]
        async fn $name() {
            let v = verdicts(fast_config(), $id).await;
            assert!(!v.is_empty(), "{} ran nowhere", $id);
            assert_holds(&v);
        }
    )*};
}

srv! {
    RFC_01_json_media_types => "RFC-01",
    RFC_02_success_is_not_cached => "RFC-02",
    RFC_05_error_bodies_have_the_rfc_shape => "RFC-05",
    RFC_06_expires_in_is_a_number => "RFC-06",
    RFC_08_basic_401_challenges => "RFC-08",
    RFC_09_tokens_are_b64tokens => "RFC-09",
    VV_07_failures_carry_errors => "VV-07",
    VV_09_no_authorization_no_session => "VV-09",
    VV_10_invalid_token_no_session => "VV-10",
    VV_11_unknown_profile_no_session => "VV-11",
    CE_06_vcschema_names_the_token => "CE-06",
    CE_08_default_scope => "CE-08",
    CE_09_wrong_otp_no_token => "CE-09",
    CE_10_other_grant_type_refused => "CE-10",
    CE_11_too_long_lifetime_refused => "CE-11",
    CE_12_expires_in_within_lifetime => "CE-12",
    VE_06_no_client_id => "VE-06",
    VE_07_no_password => "VE-07",
    VE_08_wrong_password => "VE-08",
    VE_09_scope_not_allowed => "VE-09",
    VE_10_refresh_gives_a_new_token => "VE-10",
    VE_11_revoked_token_does_not_verify => "VE-11",
    VE_12_granted_scope_within_asked => "VE-12",
    CG_05_jwt_claims_match => "CG-05",
    CG_07_no_store => "CG-07",
    CG_08_wrong_secret_invalid_client => "CG-08",
    CG_09_unknown_client_invalid_client => "CG-09",
    CG_10_unsupported_grant_type => "CG-10",
    CG_11_missing_grant_type => "CG-11",
    CG_12_unlisted_scope_refused => "CG-12",
    CG_13_get_gives_no_token => "CG-13",
    CG_14_no_refresh_token => "CG-14",
    CG_15_jwks_verifies_the_signature => "CG-15",
    VCD_07_no_authorization_403 => "VCD-07",
    VCD_08_invalid_token_401 => "VCD-08",
    VCD_09_session_org_is_the_asked_org => "VCD-09",
    VCD_10_unsupported_version_406 => "VCD-10",
    VCD_11_logout_ends_the_session => "VCD-11",
}

/// RS256, as Cognito signs: the JWKS verifies it too.
#[tokio::test]
async fn CG_15_rs256_verifies_with_the_jwks() {
    for id in ["CG-15", "CG-05"] {
        assert_holds(&verdicts(tokenprobe_stub::Config::default(), id).await);
    }
}

/// The reference lists every srv id; each one has a check here.
#[test]
fn every_srv_id_of_the_reference_has_a_check() {
    let reference = include_str!("../../../docs/contracts.md");
    let srv: Vec<&str> = reference
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells.len() > 3 && cells[2] == "srv").then(|| cells[1])
        })
        .collect();
    assert!(
        srv.len() >= 30,
        "the reference parses ({} srv ids)",
        srv.len()
    );
    for id in srv {
        assert!(entry_for(id).is_some(), "{id} has no catalog entry");
    }
}

/// VCD answers the Session in the form `Accept` asks for.
#[tokio::test]
async fn vcd_session_is_json_when_accept_asks_for_json() {
    use tokenprobe_protocol::vcd::{ApiVersion, VcdSession};
    let stub = tokenprobe_stub::Stub::start(fast_config()).await.unwrap();
    let config = support::demo_replacing(
        tokenprobe_protocol::System::Vcd,
        &[("org = \"Finance\"", "org = \"Finance\"\nformat = \"json\"")],
    );
    let h = support::target_at(&stub.base_url(), &config);
    let token = h.idp_token().await.unwrap();
    let (_, r) = h.vcd_login(&token, ApiVersion::DEFAULT).await.unwrap();
    assert_eq!(r.status, 200);
    assert!(
        tokenprobe_protocol::wire::is_json(&r.headers),
        "{:?}",
        r.headers
    );
    let session = VcdSession::from_json(&r.body).unwrap();
    assert_eq!(
        (session.user.as_str(), session.org.as_str()),
        ("bob", "Finance")
    );
}
