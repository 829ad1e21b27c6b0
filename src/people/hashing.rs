//! Password hashing off the request path, on a bounded pool. PBKDF2 at today's
//! cost keeps a core busy for a good fraction of a second: run unbounded, a burst
//! of sign-ins would queue far more work than there are cores and hold up
//! everything else. At most one check per core runs at a time; the rest wait
//! here — holding no database connection — for a turn.

use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::crypto::{self, PasswordCheck};

#[derive(Debug, Clone)]
pub struct PasswordHasher {
    turns: Arc<Semaphore>,
}

impl PasswordHasher {
    pub fn new(concurrent: usize) -> Self {
        Self {
            turns: Arc::new(Semaphore::new(concurrent.max(1))),
        }
    }

    /// One turn per core of this machine.
    pub fn per_core() -> Self {
        Self::new(std::thread::available_parallelism().map_or(1, usize::from))
    }

    pub async fn verify(&self, password: String, stored: String) -> PasswordCheck {
        self.run(move || crypto::verify_password(&password, &stored))
            .await
    }

    pub async fn hash(&self, password: String) -> String {
        self.run(move || crypto::hash_password(&password)).await
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> T {
        let _turn = self
            .turns
            .acquire()
            .await
            .expect("the semaphore is never closed");
        match tokio::task::spawn_blocking(work).await {
            Ok(done) => done,
            // A panic in the hash is a bug; carry it on rather than invent a result.
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
}
