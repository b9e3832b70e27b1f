//! A running stub and conformance-catalog targets for it (one per system,
//! as the demo accounts), whose request helpers the stub's own tests use.

#![allow(dead_code, unreachable_pub)]

#[path = "../../../conformance/tests/support/flows.rs"]
mod flows;

use std::ops::Deref;

use tokenprobe_conformance::endpoint::{Reply, Target};
use tokenprobe_protocol::System;
use tokenprobe_protocol::jwt::Algorithm as JwtAlgorithm;
use tokenprobe_stub::{Config, Stub, StubHandle};

/// A stub and a client for it: a target per system; as a `Deref`, the
/// `cognito` one.
pub struct Harness {
    pub stub: StubHandle,
    targets: Vec<Target>,
}

/// A demo configuration that starts fast (ES256 keys).
pub fn fast_config() -> Config {
    let mut c = Config::default();
    c.jwt.algorithm = JwtAlgorithm::ES256;
    c
}

impl Harness {
    pub async fn start(config: Config) -> Harness {
        let stub = Stub::start(config).await.expect("the stub starts");
        let targets = System::ALL
            .iter()
            .map(|s| flows::target_at(&stub.base_url(), &flows::demo(*s)))
            .collect();
        Harness { stub, targets }
    }

    /// The target of `system`.
    pub fn on(&self, system: System) -> &Target {
        self.targets
            .iter()
            .find(|t| t.system == system)
            .expect("a target per system")
    }

    /// The demo CESS grant, sent.
    pub async fn cess_grant(&self) -> Reply {
        let cess = self.on(System::Cess);
        cess.cess(&cess.cess_body().unwrap()).await.unwrap()
    }
}

impl Deref for Harness {
    type Target = Target;
    fn deref(&self) -> &Target {
        self.on(System::Cognito)
    }
}

/// One token request on a connection of its own (raw HTTP/1.1, so that
/// nothing on the client's side is measured), read to the end: the status.
pub async fn raw_token(addr: std::net::SocketAddr) -> u16 {
    use base64::Engine as _;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        tokenprobe_stub::DEMO_ID,
        tokenprobe_stub::DEMO_SECRET
    ));
    let body = "grant_type=client_credentials";
    let request = format!(
        "POST /oauth2/token HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic {basic}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        s.read_to_end(&mut answer),
    )
    .await
    .expect("an answer within 10 s")
    .unwrap();
    String::from_utf8_lossy(&answer)
        .get(9..12)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// The stub's route configuration calls `name`.
pub fn route(name: &str) -> tokenprobe_stub::Route {
    tokenprobe_stub::Route::named(name).expect("a route of the stub")
}
