//! Phone numbers as TeleSign writes them: country code and digits, no `+`; and numbers as people
//! type them (`+1 (425) 555-0100`, `425-555-0100`, `07400 123456`), read with libphonenumber's
//! metadata and checked against the numbering plan of their country.

/// Why a number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// Something other than digits, `+`, spaces, dashes or dots.
    #[error("a phone number may hold only digits, with an optional leading +, spaces, dashes or dots")]
    InvalidCharacters,
    /// Too few or too many digits.
    #[error("a phone number must have between {min} and {max} digits, country code included")]
    Length {
        /// The fewest digits allowed.
        min: usize,
        /// The most digits allowed.
        max: usize,
    },
    /// Country codes never start with 0.
    #[error("a phone number starts with its country code, which never starts with 0")]
    LeadingZero,
    /// Read as typed, the digits are no number of their country's plan.
    #[error("{0:?} is not a valid phone number: check the digits, and write a number of another country with + and its country code")]
    NotValid(String),
    /// A national format with no country to read it in (no support number, or a short code).
    #[error("{0:?} needs its country code: write it as + and the country code, then the number (+1 425 555 0100)")]
    NeedsCountryCode(String),
}

/// Normalises a full international number (E.164 without `+`): 8 to 15 digits, no leading 0.
pub fn normalise(input: &str) -> Result<String, PhoneError> {
    let digits = digits_of(input)?;
    if !(8..=15).contains(&digits.len()) {
        return Err(PhoneError::Length { min: 8, max: 15 });
    }
    if digits.starts_with('0') {
        return Err(PhoneError::LeadingZero);
    }
    Ok(digits)
}

/// Normalises a short code (a support number of 3 to 8 digits, no country code).
pub fn normalise_short_code(input: &str) -> Result<String, PhoneError> {
    let digits = digits_of(input)?;
    if !(3..=8).contains(&digits.len()) {
        return Err(PhoneError::Length { min: 3, max: 8 });
    }
    Ok(digits)
}

/// Normalises a number TeleSign reported (a callback): full numbers and short codes both pass.
pub fn normalise_any(input: &str) -> Result<String, PhoneError> {
    normalise(input).or_else(|_| normalise_short_code(input))
}

/// Reads a number as a person typed it into the console, a script or a form, and answers it as
/// TeleSign writes numbers (country code and digits, no `+`).
///
/// - `+` and the country code: read in that country (`+1 (425) 555-0100`, `+44 20 7946 0958`).
/// - No `+`: first read in `home`'s country, the country of the support number the message goes
///   through (`425-555-0100`, `(425) 555-0100`, `020 7946 0958`, `0048 …` with that country's
///   international prefix), then, failing that, as country code and digits as TeleSign writes
///   them (`14255550100`).
/// - Spaces, dashes, dots, slashes and parentheses are formatting; anything else is refused.
///
/// The number must be valid in its country's numbering plan; short codes are not (they are
/// support numbers, see [`normalise_short_code`]). Numbers that come from TeleSign are never read
/// with this: they are kept as TeleSign wrote them ([`normalise_any`]).
pub fn parse_typed(input: &str, home: Option<&str>) -> Result<String, PhoneError> {
    let typed = input.trim();
    let allowed = |c: char| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '/' | '(' | ')' | '+');
    if !typed.chars().all(allowed) || typed.matches('+').count() > 1 || typed.find('+').is_some_and(|i| i > 0) {
        return Err(PhoneError::InvalidCharacters);
    }
    let digits: String = typed.chars().filter(char::is_ascii_digit).collect();
    if !(3..=17).contains(&digits.len()) {
        return Err(PhoneError::Length { min: 8, max: 15 });
    }
    if typed.starts_with('+') {
        return international(&digits).ok_or_else(|| PhoneError::NotValid(typed.to_owned()));
    }
    let country = home.and_then(country_of);
    if let Some(found) = country.and_then(|c| valid(phonenumber::parse(Some(c), typed).ok())) {
        return Ok(found);
    }
    match international(&digits) {
        Some(found) => Ok(found),
        None if country.is_none() => Err(PhoneError::NeedsCountryCode(typed.to_owned())),
        None => Err(PhoneError::NotValid(typed.to_owned())),
    }
}

/// A support number as an operator or agent types it: a number read as [`parse_typed`] reads one
/// with a `+` or its country code, or a short code (3 to 8 digits). Not checked against the plan:
/// the account's own numbers decide whether it is one of theirs.
pub fn parse_support(input: &str) -> Result<String, PhoneError> {
    let typed = input.trim();
    let digits: String = typed.chars().filter(char::is_ascii_digit).collect();
    let formatting = |c: char| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '/' | '(' | ')');
    let body = typed.strip_prefix('+').unwrap_or(typed);
    if !body.chars().all(formatting) {
        return Err(PhoneError::InvalidCharacters);
    }
    if !typed.starts_with('+') && (3..=8).contains(&digits.len()) {
        return Ok(digits);
    }
    normalise(&digits)
}

/// The country of a support number (country code and digits), if it has one.
fn country_of(support: &str) -> Option<phonenumber::country::Id> {
    let digits = normalise(support).ok()?;
    phonenumber::parse(None, format!("+{digits}")).ok()?.country().id()
}

/// Country code and digits read as an international number, if valid.
fn international(digits: &str) -> Option<String> {
    if digits.starts_with('0') {
        return None;
    }
    valid(phonenumber::parse(None, format!("+{digits}")).ok())
}

fn valid(number: Option<phonenumber::PhoneNumber>) -> Option<String> {
    let number = number.filter(|n| phonenumber::is_valid(n) && n.extension().is_none())?;
    let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
    e164.strip_prefix('+').map(str::to_owned)
}

fn digits_of(input: &str) -> Result<String, PhoneError> {
    let trimmed = input.trim();
    let body = trimmed.strip_prefix('+').unwrap_or(trimmed);
    let mut digits = String::with_capacity(body.len());
    for c in body.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' => {}
            _ => return Err(PhoneError::InvalidCharacters),
        }
    }
    Ok(digits)
}

/// A phone number as the channel keeps it: country code and digits (or a short code), no `+`.
/// Made only by parsing, so a number inside the service layer is always normalised.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// A full international number a person typed (see [`normalise`]).
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        normalise(input).map(Self)
    }

    /// A short code a person typed (see [`normalise_short_code`]).
    pub fn parse_short_code(input: &str) -> Result<Self, PhoneError> {
        normalise_short_code(input).map(Self)
    }

    /// A number as a person typed it (see [`parse_typed`]): a national format is read in the
    /// country of `home` (the support number).
    pub fn parse_typed(input: &str, home: Option<&PhoneNumber>) -> Result<Self, PhoneError> {
        parse_typed(input, home.map(PhoneNumber::as_str)).map(Self)
    }

    /// A support number as a person typed it (see [`parse_support`]).
    pub fn parse_support(input: &str) -> Result<Self, PhoneError> {
        parse_support(input).map(Self)
    }

    /// A full number or a short code (see [`normalise_any`]).
    pub fn parse_any(input: &str) -> Result<Self, PhoneError> {
        normalise_any(input).map(Self)
    }

    /// A number as it was stored (already normalised when it was written).
    pub fn from_stored(digits: String) -> Self {
        Self(digits)
    }

    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plus_spaces_dashes_and_dots_are_removed() {
        assert_eq!(normalise("+1 425-230.6549").unwrap(), "14252306549");
        assert_eq!(normalise(" 14252306549 ").unwrap(), "14252306549");
    }

    #[test]
    fn letters_and_bad_lengths_are_refused() {
        assert_eq!(normalise("1425CALLNOW"), Err(PhoneError::InvalidCharacters));
        assert_eq!(normalise("(425) 230-6549"), Err(PhoneError::InvalidCharacters));
        assert_eq!(normalise("++14252306549"), Err(PhoneError::InvalidCharacters));
        assert!(matches!(normalise("1234567"), Err(PhoneError::Length { .. })));
        assert!(matches!(normalise("1234567890123456"), Err(PhoneError::Length { .. })));
        assert_eq!(normalise("04252306549"), Err(PhoneError::LeadingZero));
        assert!(normalise("").is_err());
    }

    #[test]
    fn a_parsed_number_shows_its_digits() {
        let n = PhoneNumber::parse("+48 601-234-567").unwrap();
        assert_eq!((n.as_str(), n.to_string()), ("48601234567", "48601234567".to_owned()));
        assert_eq!(PhoneNumber::parse_any("22395").unwrap().as_str(), "22395");
        assert_eq!(PhoneNumber::parse_short_code("22 395").unwrap().as_str(), "22395");
        assert_eq!(PhoneNumber::from_stored("15550100".into()).as_str(), "15550100");
        assert!(PhoneNumber::parse("22395").is_err());
    }

    #[test]
    fn short_codes_have_their_own_length() {
        assert_eq!(normalise_short_code("22 395").unwrap(), "22395");
        assert!(normalise_short_code("12").is_err());
        assert_eq!(normalise_any("22395").unwrap(), "22395");
    }

    /// The support numbers a message goes through, by country.
    const US: &str = "14255550100";
    const UK: &str = "442079460958";
    const PL: &str = "48221234567";

    #[test]
    fn international_formats_are_read_whatever_the_support_number() {
        for home in [None, Some(US), Some(UK), Some(PL)] {
            assert_eq!(parse_typed("+1 (425) 555-0100", home).unwrap(), "14255550100");
            assert_eq!(parse_typed("+1 425.555.0123", home).unwrap(), "14255550123");
            assert_eq!(parse_typed("+44 20 7946 0958", home).unwrap(), "442079460958");
            assert_eq!(parse_typed("+44 (0)7400 123456", home).unwrap(), "447400123456");
            assert_eq!(parse_typed("+48 601 234 567", home).unwrap(), "48601234567");
            assert_eq!(parse_typed("+48 22 123 45 67", home).unwrap(), "48221234567");
        }
    }

    #[test]
    fn digits_as_telesign_writes_them_are_international() {
        for home in [None, Some(US), Some(UK), Some(PL)] {
            assert_eq!(parse_typed("14255550100", home).unwrap(), "14255550100");
            assert_eq!(parse_typed("447400123456", home).unwrap(), "447400123456");
            assert_eq!(parse_typed("48601234567", home).unwrap(), "48601234567");
        }
    }

    #[test]
    fn national_formats_are_read_in_the_support_numbers_country() {
        assert_eq!(parse_typed("425-555-0100", Some(US)).unwrap(), "14255550100");
        assert_eq!(parse_typed("(425) 555-0100", Some(US)).unwrap(), "14255550100");
        assert_eq!(parse_typed("1 425 555 0100", Some(US)).unwrap(), "14255550100");
        assert_eq!(parse_typed("07400 123456", Some(UK)).unwrap(), "447400123456");
        assert_eq!(parse_typed("020 7946 0958", Some(UK)).unwrap(), "442079460958");
        assert_eq!(parse_typed("601 234 567", Some(PL)).unwrap(), "48601234567");
        assert_eq!(parse_typed("22 123 45 67", Some(PL)).unwrap(), "48221234567");
        // Another country through the support number's international prefix.
        assert_eq!(parse_typed("0048 601 234 567", Some(UK)).unwrap(), "48601234567");
        assert_eq!(parse_typed("011 44 7400 123456", Some(US)).unwrap(), "447400123456");
    }

    #[test]
    fn a_national_format_without_a_country_is_refused_not_guessed() {
        // Without a support number's country, 425-555-0100 would be stored as 4255550100: a
        // different number, with no country code.
        assert_eq!(
            parse_typed("(425) 555-0100", None),
            Err(PhoneError::NeedsCountryCode("(425) 555-0100".into()))
        );
        assert_eq!(
            parse_typed("07400 123456", None),
            Err(PhoneError::NeedsCountryCode("07400 123456".into()))
        );
        assert!(parse_typed("425-555-0100", None).is_err());
        // A short code's country is not known either.
        assert!(parse_typed("601 234 567", Some("22395")).is_err());
    }

    #[test]
    fn numbers_outside_the_plan_are_refused() {
        // US area codes never start with 0 or 1; 555 is no area code.
        assert!(matches!(
            parse_typed("+1 155 555 0100", None),
            Err(PhoneError::NotValid(_))
        ));
        assert!(matches!(
            parse_typed("+1 555 010 0000", None),
            Err(PhoneError::NotValid(_))
        ));
        // Too few digits for the UK and for Poland.
        assert!(matches!(parse_typed("+44 20 7946", None), Err(PhoneError::NotValid(_))));
        assert!(matches!(parse_typed("+48 601 234", None), Err(PhoneError::NotValid(_))));
        assert!(matches!(parse_typed("601 234", Some(PL)), Err(PhoneError::NotValid(_))));
        // No country has code 999.
        assert!(matches!(
            parse_typed("+999 123 4567", None),
            Err(PhoneError::NotValid(_))
        ));
    }

    #[test]
    fn letters_and_stray_symbols_are_refused() {
        assert_eq!(
            parse_typed("1-800-FLOWERS", Some(US)),
            Err(PhoneError::InvalidCharacters)
        );
        assert_eq!(
            parse_typed("+1 425 555 0100 x12", None),
            Err(PhoneError::InvalidCharacters)
        );
        assert_eq!(parse_typed("++14255550100", None), Err(PhoneError::InvalidCharacters));
        assert_eq!(parse_typed("1+4255550100", None), Err(PhoneError::InvalidCharacters));
        assert!(matches!(parse_typed("", Some(US)), Err(PhoneError::Length { .. })));
        assert!(matches!(parse_typed("   ", Some(US)), Err(PhoneError::Length { .. })));
    }

    #[test]
    fn short_codes_are_support_numbers_not_customers() {
        // A customer is never a short code: not a valid number in any country.
        assert!(parse_typed("22395", Some(US)).is_err());
        assert!(parse_typed("22395", None).is_err());
        // As a support number, a short code is kept as its digits.
        assert_eq!(parse_support("22395").unwrap(), "22395");
        assert_eq!(parse_support("223 95").unwrap(), "22395");
        assert_eq!(normalise_short_code("80 888").unwrap(), "80888");
        // And a long code as typed with its country code.
        assert_eq!(parse_support("+1 (425) 555-0100").unwrap(), "14255550100");
        assert_eq!(parse_support("14255550100").unwrap(), "14255550100");
        assert!(parse_support("12").is_err());
        assert!(parse_support("SUPPORT").is_err());
    }

    #[test]
    fn refusals_explain_what_to_do() {
        let e = parse_typed("425-555-0100", None).unwrap_err().to_string();
        assert!(e.contains("country code"), "{e}");
        let e = parse_typed("+1 555 010 0000", None).unwrap_err().to_string();
        assert!(e.contains("not a valid phone number"), "{e}");
    }
}
