//! Listeners: receive syslog over UDP, TCP and TLS and hand frames to the pipeline.
//!
//! SEED: only the hand-off types exist yet; the listeners themselves come next.

use bytes::Bytes;

use crate::document::Received;

/// One syslog message as received: a whole frame, never a partial one.
#[derive(Debug, Clone)]
pub struct Frame {
    pub bytes: Bytes,
    pub received: Received,
}

/// Frames travel in batches so that queue operations are paid per batch, not per message.
pub type FrameBatch = Vec<Frame>;
