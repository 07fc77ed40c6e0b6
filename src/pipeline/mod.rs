//! The pipeline: listeners → frame queue → parser threads → document queue → sink.
//!
//! Listeners hold clones of `Pipeline::frames()`, a bounded tokio channel of
//! `FrameBatch`es. Parser threads (one per core by default) share its receiver,
//! encode each batch with the one shared `Encoder` into a pooled `DocumentBatch`,
//! and send it over a bounded channel to the sink thread, which hands emptied
//! batches back to the pool.
//!
//! Both queues are bounded, so a slow sink slows the parsers, which fill the frame
//! queue, which makes TCP listeners stop reading and UDP listeners drop (and
//! count) datagrams. Nothing in between drops a document.
//!
//! Shutdown is by closing, not by signalling: once the listeners have stopped and
//! dropped their senders, `finish` drops the pipeline's own; the parser threads
//! then drain the frame queue and exit, which closes the document queue, and the
//! sink thread writes what it holds, closes its files and returns. Every frame a
//! listener queued before it stopped is written.

mod batch;
mod sink;
mod worker;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc as std_mpsc, Arc, Mutex};
use std::thread::JoinHandle;

use tokio::sync::mpsc;

pub use batch::{BatchPool, DocumentBatch};
pub use sink::{Sink, SinkMessage};

use crate::config::pipeline::PipelineConfig;
use crate::document::Encoder;
use crate::listener::FrameBatch;
use crate::telemetry::pipeline::QueueDepthSampled;

/// Why the pipeline did not finish cleanly.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("cannot start a pipeline thread")]
    Spawn(#[source] std::io::Error),
    #[error("a pipeline thread panicked")]
    Panicked,
    #[error("sink failed to flush at shutdown; documents were lost")]
    Sink(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The running queues and threads. Dropping it without `finish` detaches the
/// threads; they still drain once every frame sender is gone.
pub struct Pipeline<S: Sink> {
    frames: mpsc::Sender<FrameBatch>,
    control: std_mpsc::SyncSender<SinkMessage>,
    workers: Vec<JoinHandle<()>>,
    sink: JoinHandle<Result<(), S::Error>>,
    sink_depth: Arc<AtomicUsize>,
    sink_capacity: usize,
}

impl<S: Sink + 'static> Pipeline<S> {
    /// Starts the parser threads and the sink thread.
    pub fn start(
        config: &PipelineConfig,
        encoder: Arc<Encoder>,
        sink: S,
    ) -> Result<Pipeline<S>, PipelineError> {
        let (frames, frame_receiver) = mpsc::channel(config.queue_batches);
        let frame_receiver = Arc::new(Mutex::new(frame_receiver));
        let (documents, document_receiver) = std_mpsc::sync_channel(config.sink_queue_batches);
        let worker_count = config.worker_count();
        // Enough free batches for every slot of the queue and every worker.
        let pool = Arc::new(BatchPool::new(config.sink_queue_batches + worker_count + 1));
        let sink_depth = Arc::new(AtomicUsize::new(0));

        let sink = {
            let (pool, depth) = (pool.clone(), sink_depth.clone());
            std::thread::Builder::new()
                .name("sink".into())
                .spawn(move || {
                    let mut sink = sink;
                    sink::run(&mut sink, document_receiver, pool, depth)
                })
                .map_err(PipelineError::Spawn)?
        };

        let mut workers = Vec::with_capacity(worker_count);
        for n in 0..worker_count {
            let context = worker::WorkerContext {
                frames: frame_receiver.clone(),
                encoder: encoder.clone(),
                sink: documents.clone(),
                pool: pool.clone(),
                sink_depth: sink_depth.clone(),
            };
            let handle = std::thread::Builder::new()
                .name(format!("parser-{n}"))
                .spawn(move || worker::run(context))
                .map_err(PipelineError::Spawn)?;
            workers.push(handle);
        }

        tracing::debug!(workers = worker_count, "Started the pipeline threads.");
        Ok(Pipeline {
            frames,
            control: documents,
            workers,
            sink,
            sink_depth,
            sink_capacity: config.sink_queue_batches,
        })
    }

    /// A sender for a listener. The pipeline drains only after every clone is gone.
    pub fn frames(&self) -> mpsc::Sender<FrameBatch> {
        self.frames.clone()
    }

    /// Asks the sink to finish its files and start new ones (SIGHUP). Waits while
    /// the document queue is full.
    pub fn reopen(&self) {
        let _ = self.control.send(SinkMessage::Reopen);
    }

    /// Sets the queue-depth gauges.
    pub fn sample_queues(&self) -> QueueDepths {
        let depths = QueueDepths {
            frames: self.frames.max_capacity() - self.frames.capacity(),
            frames_capacity: self.frames.max_capacity(),
            documents: self.sink_depth.load(Ordering::Relaxed),
            documents_capacity: self.sink_capacity,
        };
        QueueDepthSampled {
            queue: "frames",
            depth: depths.frames,
            capacity: depths.frames_capacity,
        }
        .emit();
        QueueDepthSampled {
            queue: "documents",
            depth: depths.documents,
            capacity: depths.documents_capacity,
        }
        .emit();
        depths
    }

    /// Closes the pipeline's own frame sender and waits, blocking, until the
    /// queues are drained and the sink has closed its files. Call it after the
    /// listeners have stopped, from a thread that may block.
    pub fn finish(self) -> Result<(), PipelineError> {
        let Pipeline {
            frames,
            control,
            workers,
            sink,
            ..
        } = self;
        drop(frames);
        drop(control);

        let mut panicked = false;
        for worker in workers {
            panicked |= worker.join().is_err();
        }
        match sink.join() {
            Ok(Ok(())) if !panicked => Ok(()),
            Ok(Ok(())) => Err(PipelineError::Panicked),
            Ok(Err(e)) => Err(PipelineError::Sink(Box::new(e))),
            Err(_) => Err(PipelineError::Panicked),
        }
    }
}

/// Batches waiting in each queue, and the queue sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueDepths {
    pub frames: usize,
    pub frames_capacity: usize,
    pub documents: usize,
    pub documents_capacity: usize,
}

#[cfg(test)]
mod tests;
