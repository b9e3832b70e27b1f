//! Shared by the CLI tests.

#![allow(dead_code, unreachable_pub)]

use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

/// Sends SIGINT to `child` and waits (bounded) until it exits.
pub fn interrupt(child: &mut Child, within: Duration) -> ExitStatus {
    let pid = child.id().to_string();
    let sent = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(sent.success(), "kill -INT {pid}");
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "no exit within {within:?} of SIGINT"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
