//! SMS text: the 1600-character limit, GSM-7 / UCS-2 encoding and segment counting.

use serde::{Deserialize, Serialize};

/// The most characters TeleSign takes in one message (it splits long texts itself).
pub const MAX_MESSAGE_CHARS: usize = 1600;

/// GSM 03.38 basic character set (the escape itself excluded): one septet each.
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// GSM 03.38 extension table: an escape plus one septet, so two each.
const GSM7_EXTENSION: &str = "^{}\\[~]|€\u{000C}";

/// How a text goes over the air.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Encoding {
    /// GSM 03.38 7-bit: 160 septets in one part, 153 per part when split.
    Gsm7,
    /// UCS-2 (UTF-16 units): 70 in one part, 67 per part when split.
    Ucs2,
}

impl Encoding {
    /// The contract's spelling.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// What a text costs to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TextInfo {
    /// Characters as the 1600 limit counts them (Unicode scalar values).
    pub characters: usize,
    /// The encoding the text needs.
    pub encoding: Encoding,
    /// Parts the text is split into.
    pub segments: usize,
    /// The distinct characters that force UCS-2, in order of appearance (empty for GSM-7).
    pub ucs2_characters: Vec<char>,
}

impl TextInfo {
    /// The info of a text that is never sent (a system note): no parts.
    pub fn none() -> Self {
        Self {
            characters: 0,
            encoding: Encoding::Gsm7,
            segments: 0,
            ucs2_characters: Vec::new(),
        }
    }
}

/// Why a text cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// Nothing but white space.
    #[error("the message has no text")]
    Empty,
    /// Over [`MAX_MESSAGE_CHARS`].
    #[error("the message has {count} characters; the limit is {MAX_MESSAGE_CHARS}")]
    TooLong {
        /// Characters as the limit counts them.
        count: usize,
    },
}

/// The contract's rules for a text to send: not empty, at most 1600 characters.
pub fn check_text(text: &str) -> Result<TextInfo, TextError> {
    if text.trim().is_empty() {
        return Err(TextError::Empty);
    }
    let info = analyse(text);
    if info.characters > MAX_MESSAGE_CHARS {
        return Err(TextError::TooLong { count: info.characters });
    }
    Ok(info)
}

/// Septets a character takes in GSM-7, or `None` when GSM-7 cannot carry it.
pub fn gsm7_septets(c: char) -> Option<usize> {
    if c.is_ascii() {
        // ASCII is the hot path: decided without searching the tables.
        return match c {
            '\n' | '\r' => Some(1),
            '\u{000C}' | '[' | '\\' | ']' | '^' | '{' | '|' | '}' | '~' => Some(2),
            '`' => None,
            ' '..='}' => Some(1),
            _ => None,
        };
    }
    if GSM7_BASIC.contains(c) {
        Some(1)
    } else if GSM7_EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// Counts characters, picks the encoding and counts the parts, never splitting an escape pair
/// or a surrogate pair across two parts (as handsets and carriers do).
pub fn analyse(text: &str) -> TextInfo {
    let characters = text.chars().count();
    let mut ucs2_characters = Vec::new();
    for c in text.chars() {
        if gsm7_septets(c).is_none() && !ucs2_characters.contains(&c) {
            ucs2_characters.push(c);
        }
    }
    let (encoding, units): (Encoding, Vec<usize>) = if ucs2_characters.is_empty() {
        (
            Encoding::Gsm7,
            text.chars().map(|c| gsm7_septets(c).unwrap_or(1)).collect(),
        )
    } else {
        (Encoding::Ucs2, text.chars().map(char::len_utf16).collect())
    };
    let (single, multi) = match encoding {
        Encoding::Gsm7 => (160, 153),
        Encoding::Ucs2 => (70, 67),
    };
    let total: usize = units.iter().sum();
    let segments = if total <= single {
        1
    } else {
        let mut parts = 1;
        let mut used = 0;
        for u in units {
            if used + u > multi {
                parts += 1;
                used = 0;
            }
            used += u;
        }
        parts
    };
    TextInfo {
        characters,
        encoding,
        segments,
        ucs2_characters,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_text_to_send_is_not_empty_and_at_most_1600_characters() {
        assert_eq!(check_text(" \n "), Err(TextError::Empty));
        assert_eq!(check_text(&"é".repeat(1600)).map(|i| i.characters), Ok(1600));
        assert_eq!(check_text(&"é".repeat(1601)), Err(TextError::TooLong { count: 1601 }));
        assert_eq!((Encoding::Gsm7.as_str(), Encoding::Ucs2.as_str()), ("gsm7", "ucs2"));
    }

    use super::*;

    #[test]
    fn plain_text_fits_160_gsm7_septets_in_one_part() {
        let info = analyse(&"a".repeat(160));
        assert_eq!((info.encoding, info.segments), (Encoding::Gsm7, 1));
        assert_eq!(analyse(&"a".repeat(161)).segments, 2);
        assert_eq!(analyse(&"a".repeat(306)).segments, 2);
        assert_eq!(analyse(&"a".repeat(307)).segments, 3);
    }

    #[test]
    fn extension_characters_count_twice() {
        let info = analyse(&"€".repeat(80));
        assert_eq!((info.encoding, info.segments), (Encoding::Gsm7, 1));
        assert_eq!(analyse(&"€".repeat(81)).segments, 2);
        // 152 septets then an escape pair: the pair moves whole to the second part.
        let text = format!("{}{}{}", "a".repeat(152), "[", "a".repeat(10));
        assert_eq!(analyse(&text).segments, 2);
    }

    #[test]
    fn emoji_forces_ucs2_and_counts_two_units() {
        let info = analyse("Thanks 😀");
        assert_eq!(info.encoding, Encoding::Ucs2);
        assert_eq!(info.ucs2_characters, vec!['😀']);
        assert_eq!(info.characters, 8);
        assert_eq!(analyse(&"é".repeat(160)).encoding, Encoding::Gsm7);
        assert_eq!(analyse(&"ж".repeat(70)).segments, 1);
        assert_eq!(analyse(&"ж".repeat(71)).segments, 2);
        assert_eq!(analyse(&"😀".repeat(35)).segments, 1);
        assert_eq!(analyse(&"😀".repeat(36)).segments, 2);
    }

    #[test]
    fn the_ascii_fast_path_agrees_with_the_tables() {
        for b in 0u8..128 {
            let c = b as char;
            let table = if GSM7_BASIC.contains(c) {
                Some(1)
            } else if GSM7_EXTENSION.contains(c) {
                Some(2)
            } else {
                None
            };
            assert_eq!(gsm7_septets(c), table, "{b:#x}");
        }
    }

    #[test]
    fn empty_text_is_one_gsm7_part() {
        assert_eq!(analyse("").segments, 1);
    }
}
