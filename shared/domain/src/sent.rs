//! A send's outcome: how TeleSign took a message the channel recorded, as the send answers it
//! and as an idempotency key keeps it for its replays.

use serde::{Deserialize, Serialize};

use crate::conversation::Message;
use crate::ids::ConversationId;

/// How TeleSign took the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Accepted (queued).
    Accepted,
    /// The request left and no answer came: never resent, settled by the delivery report.
    OutcomeUnknown,
    /// TeleSign refused it.
    Rejected {
        /// TeleSign's code.
        telesign_code: Option<u32>,
        /// TeleSign's text.
        description: String,
    },
    /// TeleSign was unavailable (after the retries): nothing was sent, the caller may retry.
    Unavailable {
        /// Why.
        description: String,
    },
}

/// A message recorded and handed to TeleSign (or not), with how TeleSign took it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentMessage {
    /// The conversation.
    pub conversation_id: ConversationId,
    /// The message as recorded now.
    pub message: Message,
    /// TeleSign's verdict.
    pub verdict: Verdict,
}
