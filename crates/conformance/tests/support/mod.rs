//! The in-process stub and a catalog target for it.

#![allow(dead_code, unreachable_pub)]

use tokenprobe_client::{HttpOptions, Transport};
use tokenprobe_conformance::catalog::{Accounts, Target};
use tokenprobe_stub::{Config, JwtAlgorithm, Stub, StubHandle};

/// The demo configuration with ES256 keys (fast to make).
pub fn fast_config() -> Config {
    let mut c = Config::default();
    c.jwt.algorithm = JwtAlgorithm::ES256;
    c
}

/// A running stub and a target for it.
pub async fn stub(config: Config) -> (StubHandle, Target) {
    let stub = Stub::start(config).await.expect("the stub starts");
    let target = Target {
        base: stub.base_url(),
        transport: Transport::new(&HttpOptions::default()).unwrap(),
        accounts: Accounts::default(),
    };
    (stub, target)
}
