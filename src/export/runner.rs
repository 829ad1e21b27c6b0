//! The threads that build exports. A build may run for minutes inside one long
//! query, so it runs neither on an actix worker nor on the shared blocking pool
//! that every request's database work goes through, but on a few threads of
//! its own: [`CONCURRENT_BUILDS`] at most at once per process, the others
//! queued in order. A build that fails or panics fails its export; the thread
//! carries on with the next.
//!
//! The runner renews the heartbeat of the exports it has in hand (queued or
//! building; see `jobs`): an export nobody renews any more — its process
//! stopped, or its failure could not be recorded — is failed as interrupted.

use std::{
    collections::HashSet,
    panic::{AssertUnwindSafe, catch_unwind},
    sync::{Arc, Mutex, PoisonError, mpsc},
    thread,
};

use diesel::{
    PgConnection,
    connection::{Connection, TransactionManager},
};

use crate::{
    audit::{self, Change},
    db::{PgPool, lease},
    domain::actor::Actor,
};

use super::{
    CONCURRENT_BUILDS, ExportError, ExportId, ExportSpec, MAX_BYTES, Progress, store,
    store::Failure,
};

type Build = Box<dyn FnOnce(&mut PgConnection, &Progress) -> anyhow::Result<Vec<u8>> + Send>;

struct Job {
    id: ExportId,
    kind: String,
    build: Build,
}

/// Starts exports and runs them. Cheap to clone: clones share the threads.
#[derive(Clone)]
pub struct Runner {
    jobs: mpsc::Sender<Job>,
    /// Queued or building here.
    in_hand: Arc<Mutex<HashSet<ExportId>>>,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner").finish_non_exhaustive()
    }
}

impl Runner {
    /// Starts the build threads; they stop when the last clone is dropped.
    pub fn new(pool: &PgPool) -> Self {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let in_hand = Arc::new(Mutex::new(HashSet::new()));
        for n in 0..CONCURRENT_BUILDS {
            let queue = Arc::clone(&queue);
            let in_hand = Arc::clone(&in_hand);
            let pool = pool.clone();
            thread::Builder::new()
                .name(format!("export-{n}"))
                .spawn(move || {
                    loop {
                        // The lock is only held while waiting for the next job.
                        let next = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
                        let Ok(job) = next else { return };
                        let id = job.id;
                        run(&pool, job);
                        lock(&in_hand).remove(&id);
                    }
                })
                .expect("the operating system starts a thread");
        }
        Self { jobs, in_hand }
    }

    /// Records the export (queued, audited as `export.request` by `actor`) and
    /// queues `build`, which runs on a build thread with a connection of its
    /// own and returns the file's bytes. `conn` must not be in a transaction:
    /// the export is committed before a build thread may look for it.
    pub fn start(
        &self,
        conn: &mut PgConnection,
        actor: &Actor,
        spec: ExportSpec,
        build: impl FnOnce(&mut PgConnection, &Progress) -> anyhow::Result<Vec<u8>> + Send + 'static,
    ) -> Result<ExportId, ExportError> {
        let depth =
            <PgConnection as Connection>::TransactionManager::transaction_manager_status_mut(conn)
                .transaction_depth()?;
        if depth.is_some() {
            return Err(ExportError::InTransaction);
        }
        let id = conn.transaction(|conn| {
            let id = store::insert(conn, &spec, lease::holder())?;
            audit::record(
                conn,
                actor,
                Change::new("export.request", "report_export", id).after(serde_json::json!({
                    "kind": spec.kind,
                    "title": spec.title,
                    "params": spec.params,
                })),
            )?;
            diesel::QueryResult::Ok(id)
        })?;
        lock(&self.in_hand).insert(id);
        let sent = self.jobs.send(Job {
            id,
            kind: spec.kind,
            build: Box::new(build),
        });
        if sent.is_err() {
            lock(&self.in_hand).remove(&id);
            return Err(ExportError::RunnerStopped);
        }
        Ok(id)
    }

    /// Says that the exports this runner has in hand are still coming.
    pub fn heartbeat(&self, conn: &mut PgConnection) -> diesel::QueryResult<usize> {
        let ids: Vec<ExportId> = lock(&self.in_hand).iter().copied().collect();
        if ids.is_empty() {
            return Ok(0);
        }
        store::heartbeat(conn, &ids)
    }
}

/// The set is held for a moment and never across a build, so even a poisoned
/// lock guards a whole set.
fn lock(in_hand: &Mutex<HashSet<ExportId>>) -> std::sync::MutexGuard<'_, HashSet<ExportId>> {
    in_hand.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs one export to its end, done or failed.
fn run(pool: &PgPool, job: Job) {
    let Job { id, kind, build } = job;
    let span = tracing::info_span!("export", export = %id, kind = %kind);
    let _entered = span.enter();
    let outcome = (|| -> anyhow::Result<Result<(), Failure>> {
        if !store::mark_running(&mut *pool.get()?, id)? {
            // Failed as interrupted while it waited: nobody expects it any more.
            return Ok(Ok(()));
        }
        let progress = Progress::new(pool.clone(), id);
        let built = {
            let mut conn = pool.get()?;
            catch_unwind(AssertUnwindSafe(|| build(&mut conn, &progress)))
        };
        let failure = match built {
            Ok(Ok(bytes)) if bytes.len() > MAX_BYTES => {
                tracing::warn!(bytes = bytes.len(), "export too large");
                Failure::TooLarge
            }
            Ok(Ok(bytes)) => {
                store::finish(&mut *pool.get()?, id, &bytes, progress.counts())?;
                tracing::info!(bytes = bytes.len(), "export done");
                return Ok(Ok(()));
            }
            Ok(Err(e)) => {
                tracing::error!(error = format!("{e:#}"), "export failed");
                Failure::BuildFailed
            }
            Err(_) => {
                // The panic itself was reported by the panic hook.
                tracing::error!("export build panicked");
                Failure::BuildFailed
            }
        };
        Ok(Err(failure))
    })();
    let failure = match outcome {
        Ok(Ok(())) => return,
        Ok(Err(failure)) => failure,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "export could not run");
            Failure::BuildFailed
        }
    };
    let recorded = pool
        .get()
        .map_err(anyhow::Error::from)
        .and_then(|mut conn| Ok(store::fail(&mut conn, id, failure)?));
    if let Err(e) = recorded {
        // It stays unfinished until the interrupted sweep fails it.
        tracing::error!(
            error = format!("{e:#}"),
            "could not record an export's failure"
        );
    }
}
