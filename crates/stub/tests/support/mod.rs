//! A running stub and conformance-catalog targets for it (one per system,
//! as the demo accounts), whose request helpers the stub's own tests use.

#![allow(dead_code, unreachable_pub)]

#[path = "../../../conformance/tests/support/flows.rs"]
mod flows;

use std::ops::Deref;

use tokenprobe_conformance::target::{Reply, Target};
use tokenprobe_protocol::System;
use tokenprobe_stub::{Config, JwtAlgorithm, Stub, StubHandle};

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
