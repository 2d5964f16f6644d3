//! Phone numbers as TeleSign writes them: country code and digits, no `+`.

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
}
