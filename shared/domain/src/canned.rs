//! Canned responses: an account's answers to common questions, which agents insert into a reply
//! (and edit before sending). Supervisors and operators write them; every member reads them.

use serde::{Deserialize, Serialize};

use crate::ids::{AccountId, CannedResponseId, Timestamp};

/// The longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 100;
/// The longest text, in characters: the longest message a reply may send.
pub const MAX_TEXT_CHARS: usize = 1600;

/// The most canned responses an account keeps: a picker of more is not read by anyone, and the
/// whole list stays well within one answer (200 of the longest, 1600 emoji each, are about 1.4 MB
/// against Lambda's 6 MB) and one read of the account's partition.
pub const MAX_PER_ACCOUNT: usize = 200;

/// The most canned responses of one page of the list (and its default).
pub const MAX_PAGE: usize = 100;

/// A canned response's place in the list: its title (case aside), then its id.
pub fn sort_key(r: &CannedResponse) -> (String, String) {
    (r.title.to_lowercase(), r.canned_response_id.as_str().to_owned())
}

/// A page of the list sorted by [`sorted`]: the `limit` after `cursor`, and the cursor of the
/// next page when there is one; `None` for a cursor that is none of ours.
pub fn page(
    sorted: Vec<CannedResponse>,
    limit: usize,
    cursor: Option<&str>,
) -> Option<(Vec<CannedResponse>, Option<String>)> {
    crate::paging::page_after(sorted, sort_key, limit, cursor)
}

/// A canned response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CannedResponse {
    /// Its id.
    pub canned_response_id: CannedResponseId,
    /// Its account.
    pub account_id: AccountId,
    /// What the picker shows and filters by.
    pub title: String,
    /// What goes into the reply.
    pub text: String,
    /// When it was written.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// Why a canned response's fields were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CannedError {
    /// A blank or too long title.
    #[error("title is 1 to {MAX_TITLE_CHARS} characters")]
    Title,
    /// A blank or too long text.
    #[error("text is 1 to {MAX_TEXT_CHARS} characters")]
    Text,
}

/// The title and text as kept: the title trimmed and on one line, the text trimmed at its ends;
/// each not blank and within its length.
pub fn validated(title: &str, text: &str) -> Result<(String, String), CannedError> {
    let title = title.split_whitespace().collect::<Vec<_>>().join(" ");
    if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS {
        return Err(CannedError::Title);
    }
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_TEXT_CHARS {
        return Err(CannedError::Text);
    }
    Ok((title, text.to_owned()))
}

/// Canned responses in the order the picker shows them: by title, case aside, then by id.
pub fn sorted(mut all: Vec<CannedResponse>) -> Vec<CannedResponse> {
    all.sort_by(|a, b| {
        (a.title.to_lowercase(), &a.canned_response_id).cmp(&(b.title.to_lowercase(), &b.canned_response_id))
    });
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(title: &str) -> CannedResponse {
        CannedResponse {
            canned_response_id: CannedResponseId::new(),
            account_id: AccountId::new(),
            title: title.into(),
            text: "t".into(),
            created_at: Timestamp::now(),
            updated_at: Timestamp::now(),
        }
    }

    #[test]
    fn pages_follow_the_titles_and_the_last_has_no_cursor() {
        let all = sorted(["b", "A", "c", "a", "D"].iter().map(|t| response(t)).collect());
        let (first, next) = page(all.clone(), 2, None).unwrap();
        assert_eq!(
            first.iter().map(|r| r.title.to_lowercase()).collect::<Vec<_>>(),
            ["a", "a"]
        );
        let (second, next) = page(all.clone(), 2, next.as_deref()).unwrap();
        assert_eq!(second.iter().map(|r| r.title.as_str()).collect::<Vec<_>>(), ["b", "c"]);
        let (last, next) = page(all.clone(), 2, next.as_deref()).unwrap();
        assert_eq!((last.len(), next), (1, None));
        assert!(page(all, 2, Some("not-ours")).is_none());
    }

    #[test]
    fn titles_are_one_trimmed_line_and_texts_are_trimmed() {
        assert_eq!(
            validated("  Where is\n my  parcel ", "\n It ships in 2 days. \n"),
            Ok(("Where is my parcel".to_owned(), "It ships in 2 days.".to_owned()))
        );
    }

    #[test]
    fn blank_or_long_fields_are_refused_by_name() {
        assert_eq!(validated(" ", "x"), Err(CannedError::Title));
        assert_eq!(
            validated(&"t".repeat(MAX_TITLE_CHARS + 1), "x"),
            Err(CannedError::Title)
        );
        assert!(validated(&"ł".repeat(MAX_TITLE_CHARS), "x").is_ok());
        assert_eq!(validated("t", " \n"), Err(CannedError::Text));
        assert_eq!(validated("t", &"x".repeat(MAX_TEXT_CHARS + 1)), Err(CannedError::Text));
        assert!(validated("t", &"ż".repeat(MAX_TEXT_CHARS)).is_ok());
    }

    #[test]
    fn the_picker_orders_by_title_whatever_the_case() {
        let at = Timestamp::now();
        let one = |title: &str| CannedResponse {
            canned_response_id: CannedResponseId::new(),
            account_id: AccountId::new(),
            title: title.into(),
            text: "x".into(),
            created_at: at,
            updated_at: at,
        };
        let titles: Vec<String> = sorted(vec![one("refund"), one("Address"), one("billing")])
            .into_iter()
            .map(|c| c.title)
            .collect();
        assert_eq!(titles, ["Address", "billing", "refund"]);
    }
}
