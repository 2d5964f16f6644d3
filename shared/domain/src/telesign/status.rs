//! TeleSign status codes mapped to the states of an outbound message, and the rule that orders them.

use serde::{Deserialize, Serialize};

/// The state of a message as agents see it (`status` in the HTTP contract).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, strum::IntoStaticStr, strum::EnumString)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum MessageState {
    /// An inbound message, stored.
    Received,
    /// Accepted by TeleSign, in progress (290).
    Queued,
    /// Handed to the carrier or gateway (203, 292, 295).
    Sent,
    /// Delivered to the handset (200, 201).
    Delivered,
    /// Not delivered; the code says why.
    Failed,
    /// The outcome is not known: TeleSign said so (250, 251, 599), or the send timed out after the
    /// request left (to be settled by a delivery report).
    Unknown,
}

impl MessageState {
    /// The contract's spelling.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Parses the contract's spelling.
    pub fn parse(text: &str) -> Option<Self> {
        text.parse().ok()
    }
}

/// The state a TeleSign status code means. Codes TeleSign does not document are `Unknown`.
pub fn state_of_code(code: u32) -> MessageState {
    match code {
        290 => MessageState::Queued,
        203 | 292 | 295 => MessageState::Sent,
        200 | 201 => MessageState::Delivered,
        207 | 210 | 211 | 220 | 221 | 222 | 229 | 230 | 231 | 233 | 237 | 238 | 286 => MessageState::Failed,
        500..=521 | 10_000..=11_000 => MessageState::Failed,
        _ => MessageState::Unknown,
    }
}

/// The order of a message's states. A status may replace the stored one only when its rank is
/// higher, so a late intermediate report never overwrites a final one.
///
/// `code` is TeleSign's status code, `None` when the state comes from the channel itself (an
/// `unknown` outcome of a send that timed out ranks lowest: any report from TeleSign settles it).
pub fn rank(state: MessageState, code: Option<u32>) -> u8 {
    match (state, code) {
        (MessageState::Unknown, None) => 0,
        (MessageState::Queued, _) => 1,
        (MessageState::Sent, _) => 2,
        (MessageState::Unknown, Some(_)) => 3,
        (MessageState::Delivered | MessageState::Failed | MessageState::Received, _) => 4,
    }
}

/// Whether a report of `new` (with its code) may replace the stored `old` state.
pub fn may_replace(old: (MessageState, Option<u32>), new: (MessageState, Option<u32>)) -> bool {
    rank(new.0, new.1) > rank(old.0, old.1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn states_spell_as_the_contract() {
        let all = [
            (MessageState::Received, "received"),
            (MessageState::Queued, "queued"),
            (MessageState::Sent, "sent"),
            (MessageState::Delivered, "delivered"),
            (MessageState::Failed, "failed"),
            (MessageState::Unknown, "unknown"),
        ];
        for (state, text) in all {
            assert_eq!((state.as_str(), MessageState::parse(text)), (text, Some(state)));
        }
        assert_eq!(MessageState::parse("Delivered"), None);
    }

    use super::*;

    #[test]
    fn codes_map_to_the_documented_states() {
        assert_eq!(state_of_code(290), MessageState::Queued);
        for code in [203, 292, 295] {
            assert_eq!(state_of_code(code), MessageState::Sent);
        }
        assert_eq!(state_of_code(200), MessageState::Delivered);
        assert_eq!(state_of_code(201), MessageState::Delivered);
        for code in [207, 210, 286, 500, 503, 521, 10_000, 11_000] {
            assert_eq!(state_of_code(code), MessageState::Failed, "{code}");
        }
        for code in [250, 251, 599, 1234] {
            assert_eq!(state_of_code(code), MessageState::Unknown, "{code}");
        }
    }

    #[test]
    fn late_intermediate_report_never_replaces_a_final_state() {
        let delivered = (MessageState::Delivered, Some(200));
        assert!(!may_replace(delivered, (MessageState::Sent, Some(203))));
        assert!(!may_replace(delivered, (MessageState::Queued, Some(290))));
        assert!(!may_replace(delivered, (MessageState::Failed, Some(210))));
        assert!(may_replace(
            (MessageState::Queued, Some(290)),
            (MessageState::Sent, Some(203))
        ));
        assert!(may_replace((MessageState::Sent, Some(203)), delivered));
    }

    #[test]
    fn unknown_send_outcome_is_settled_by_any_report() {
        let local_unknown = (MessageState::Unknown, None);
        assert!(may_replace(local_unknown, (MessageState::Queued, Some(290))));
        assert!(may_replace(
            (MessageState::Unknown, Some(251)),
            (MessageState::Delivered, Some(200))
        ));
        assert!(!may_replace(
            (MessageState::Unknown, Some(251)),
            (MessageState::Sent, Some(203))
        ));
    }
}
