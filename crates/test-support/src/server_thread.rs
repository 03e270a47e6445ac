//! One actix server on a thread of its own, with its own `System`: how [`crate::backend`] and
//! [`crate::frontend`] run the real services in-process, so they work from sync tests and from any
//! async runtime.

use std::future::Future;
use std::sync::mpsc;
use std::thread::JoinHandle;

use actix_web::dev::ServerHandle;

/// A server running on its own thread. Dropping it stops the server (without waiting for in-flight
/// requests) and joins the thread.
pub(crate) struct ServerThread {
    handle: ServerHandle,
    thread: Option<JoinHandle<()>>,
}

impl ServerThread {
    /// Runs `start` on a new thread inside a fresh actix `System`. `start` binds the server and returns
    /// what the caller needs to reach it (`R`), its handle, and the future that serves until stopped.
    /// Returns once `start` has returned, so the server already accepts connections.
    pub(crate) fn spawn<R, Serve, Start>(
        name: &str,
        start: Start,
    ) -> Result<(R, ServerThread), String>
    where
        R: Send + 'static,
        Serve: Future<Output = std::io::Result<()>> + 'static,
        Start: FnOnce() -> Result<(R, ServerHandle, Serve), String> + Send + 'static,
    {
        let (ready_tx, ready_rx) = mpsc::channel();
        let thread_name = name.to_owned();
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                actix_web::rt::System::new().block_on(async move {
                    match start() {
                        Ok((reach, handle, serve)) => {
                            let _ = ready_tx.send(Ok((reach, handle)));
                            if let Err(err) = serve.await {
                                log::error!("{thread_name} stopped with an error: {err}");
                            }
                        }
                        Err(err) => {
                            let _ = ready_tx.send(Err(err));
                        }
                    }
                })
            })
            .map_err(|e| format!("cannot start the {name} thread: {e}"))?;
        match ready_rx.recv() {
            Ok(Ok((reach, handle))) => Ok((
                reach,
                ServerThread {
                    handle,
                    thread: Some(thread),
                },
            )),
            Ok(Err(err)) => {
                let _ = thread.join();
                Err(err)
            }
            Err(_) => Err(format!("the {name} thread panicked during start-up")),
        }
    }

    /// Stops the server and waits for its thread (once; later calls do nothing).
    pub(crate) fn stop(&mut self) {
        // `stop` sends the command at once; the returned future only reports completion.
        drop(self.handle.stop(false));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for ServerThread {
    fn drop(&mut self) {
        self.stop();
    }
}
