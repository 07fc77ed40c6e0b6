//! `[pipeline]`: the queues and worker threads between the listeners and the sink.

use serde::{Deserialize, Serialize};

/// The `[pipeline]` section.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineConfig {
    /// Parser threads.
    ///
    /// Each one takes frame batches off the queue and encodes them into documents.
    /// `0` means one per CPU core. Default 0.
    pub workers: usize,

    /// Frame batches that may wait between the listeners and the parser threads.
    ///
    /// When the queue is full, TCP listeners stop reading (the sender is slowed) and
    /// UDP listeners drop datagrams (counted). Mostly a burst allowance: a UDP
    /// batch is what one `recvmmsg` call returned (often a handful of datagrams
    /// at high rates), a TCP batch the frames of one read of at most 64 KiB, so
    /// TCP holds at most about 8192 × 64 KiB here, and UDP's share is bounded in
    /// bytes by each listener's `max_queued_bytes`. Default 8192 batches.
    pub queue_batches: usize,

    /// Document batches that may wait between the parser threads and the sink.
    ///
    /// When full, parser threads wait for the sink, which in turn fills the frame
    /// queue. Default 64 batches.
    pub sink_queue_batches: usize,

    /// Seconds between the summary lines logged at info level; `0` turns them off.
    ///
    /// Default 60.
    pub summary_interval_secs: u64,
}

impl Default for PipelineConfig {
    fn default() -> PipelineConfig {
        PipelineConfig {
            workers: 0,
            queue_batches: 8192,
            sink_queue_batches: 64,
            summary_interval_secs: 60,
        }
    }
}

impl PipelineConfig {
    /// The number of parser threads to start, with `0` resolved to the core count.
    pub fn worker_count(&self) -> usize {
        match self.workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }

    /// Refuses values that cannot work, naming the key.
    pub fn validate(&self) -> Result<(), String> {
        if self.queue_batches == 0 {
            return Err("pipeline.queue_batches must be above 0".into());
        }
        if self.sink_queue_batches == 0 {
            return Err("pipeline.sink_queue_batches must be above 0".into());
        }
        Ok(())
    }
}
