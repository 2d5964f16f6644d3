//! Pages of a list read whole and sorted (lists with a small cap: an account's canned responses,
//! the accounts an operator sees): `limit` items after a cursor that names the last item of the
//! page before by its sort key. A cursor is opaque to the caller and names no position, so a page
//! is right whatever was added or deleted since the one before.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// The page of `sorted` (in the order of `key`) that comes after `cursor`: at most `limit`
/// items, and the next page's cursor when more follow; `None` for a cursor that is none of ours.
pub fn page_after<T>(
    sorted: Vec<T>,
    key: impl Fn(&T) -> (String, String),
    limit: usize,
    cursor: Option<&str>,
) -> Option<(Vec<T>, Option<String>)> {
    let after: Option<(String, String)> = match cursor {
        None => None,
        Some(c) => serde_json::from_slice(&URL_SAFE_NO_PAD.decode(c).ok()?).ok()?,
    };
    let mut rest: Vec<T> = sorted
        .into_iter()
        .filter(|item| after.as_ref().is_none_or(|a| key(item) > *a))
        .collect();
    let more = rest.len() > limit;
    rest.truncate(limit);
    let next = match (more, rest.last()) {
        (true, Some(last)) => Some(cursor_of(&key(last))),
        _ => None,
    };
    Some((rest, next))
}

/// The cursor that names an item by its sort key.
pub fn cursor_of(key: &(String, String)) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::json!([key.0, key.1]).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &&str) -> (String, String) {
        (s.to_lowercase(), s.to_string())
    }

    #[test]
    fn pages_follow_the_sort_key_and_the_last_has_no_cursor() {
        let all = vec!["a", "B", "c", "d", "E"];
        let (first, next) = page_after(all.clone(), key, 2, None).unwrap();
        assert_eq!(first, ["a", "B"]);
        let (second, next) = page_after(all.clone(), key, 2, next.as_deref()).unwrap();
        assert_eq!(second, ["c", "d"]);
        let (last, none) = page_after(all.clone(), key, 2, next.as_deref()).unwrap();
        assert_eq!((last, none), (vec!["E"], None));
        assert!(page_after(all, key, 2, Some("not ours")).is_none());
    }

    #[test]
    fn a_page_is_right_after_the_item_before_it_was_deleted() {
        let (first, next) = page_after(vec!["a", "b", "c"], key, 1, None).unwrap();
        assert_eq!(first, ["a"]);
        let (second, _) = page_after(vec!["b", "c"], key, 1, next.as_deref()).unwrap();
        assert_eq!(second, ["b"]);
    }
}
