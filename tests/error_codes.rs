//! The error codes of `docs/architecture.md` are `ErrorCode`, neither more nor less. (The
//! layers' rules are `tools/structure`'s, checked without the stack by `make check`.)

use std::collections::BTreeSet;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn the_documented_error_codes_are_the_enum() {
    use strum::IntoEnumIterator;
    let doc = std::fs::read_to_string(root().join("docs/architecture.md")).expect("docs/architecture.md");
    let start = doc.find("<!-- error-codes -->").expect("the error-codes marker");
    let end = doc.find("<!-- /error-codes -->").expect("the end marker");
    let documented: BTreeSet<String> = doc[start..end]
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    let code: BTreeSet<String> = shared::error::ErrorCode::iter()
        .map(|c| c.as_str().to_owned())
        .collect();
    assert_eq!(documented, code);
}
