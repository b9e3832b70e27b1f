//! The sessions the checks open on a server, so that the run can end them,
//! each known by the credential that ends it (a Venafi access token, a VCD
//! session's `Authorization` value). A request helper that opens one (a
//! grant, a login) notes it from its own answer; the one that ends it (a
//! revoke, a logout) forgets it. Nothing is inferred from paths.

use std::sync::Mutex;

use tokenprobe_protocol::Secret;

/// The sessions still open.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    open: Mutex<Vec<Secret>>,
}

impl Sessions {
    fn open(&self) -> std::sync::MutexGuard<'_, Vec<Secret>> {
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A session opened.
    pub(crate) fn opened(&self, session: Secret) {
        self.open().push(session);
    }

    /// A session ended.
    pub(crate) fn ended(&self, session: &Secret) {
        self.open().retain(|s| s != session);
    }

    /// Every session still open, forgotten here.
    pub(crate) fn take(&self) -> Vec<Secret> {
        std::mem::take(&mut *self.open())
    }
}
