//! A running stub and a conformance-catalog target for it, whose request
//! helpers the stub's own tests use.

#![allow(dead_code, unreachable_pub)]

use std::ops::Deref;

use tokenprobe_client::{HttpOptions, Transport};
use tokenprobe_conformance::catalog::System;
use tokenprobe_conformance::target::{Accounts, Target};
use tokenprobe_stub::{Config, JwtAlgorithm, Stub, StubHandle};

/// A stub and a client for it.
pub struct Harness {
    pub stub: StubHandle,
    pub target: Target,
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
        let target = Target::new(
            System::Cognito,
            stub.base_url(),
            Transport::new(&HttpOptions::default()).unwrap(),
            Accounts::default(),
        );
        Harness { stub, target }
    }
}

impl Deref for Harness {
    type Target = Target;
    fn deref(&self) -> &Target {
        &self.target
    }
}
