//! The sessions the checks open on a server, so that the run can end them.
//! A request helper that opens one (a Venafi grant or refresh, a VCD login)
//! notes it from its own answer; the one that ends it (a revoke, a logout)
//! forgets it. Nothing is inferred from paths.

use std::sync::Mutex;

use tokenprobe_protocol::Secret;

/// A session a check opened on the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Session {
    /// A Venafi grant, ended by revoking its access token.
    Venafi(Secret),
    /// A VCD session, ended by logging out: its `Authorization` value.
    Vcd(Secret),
}

/// The sessions still open.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    open: Mutex<Vec<Session>>,
}

impl Sessions {
    fn open(&self) -> std::sync::MutexGuard<'_, Vec<Session>> {
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A session opened.
    pub(crate) fn opened(&self, session: Session) {
        self.open().push(session);
    }

    /// A session ended.
    pub(crate) fn ended(&self, session: &Session) {
        self.open().retain(|s| s != session);
    }

    /// Every session still open, forgotten here.
    pub(crate) fn take(&self) -> Vec<Session> {
        std::mem::take(&mut *self.open())
    }
}
