//! How names are matched by a search: one folding used for the stored key and for the query, so
//! SQLite and PostgreSQL find the same products (SQLite's `LIKE` folds ASCII only).

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Queries shorter than this many characters match the start of a word ("la" finds "Lamp"),
/// served by a word index; longer ones match anywhere in the name, served by a trigram index.
pub const SUBSTRING_MIN_CHARS: usize = 3;

/// The folded form of a product name or a search text: lowercase, accents removed ("Crème
/// Brûlée" → "creme brulee"), every run of characters that are not letters or digits turned into
/// one space, trimmed. Compatibility forms fold too (full-width "Ｌａｍｐ" → "lamp"); Hangul and
/// other scripts keep their letters (NFKD, drop combining marks, NFC again).
pub fn search_key(text: &str) -> String {
    let folded: String = text.nfkd().filter(|c| !is_combining_mark(*c)).nfc().flat_map(char::to_lowercase).collect();
    let mut key = String::with_capacity(folded.len());
    for word in folded.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        if !key.is_empty() {
            key.push(' ');
        }
        key.push_str(word);
    }
    key
}

/// What a search text asks for once folded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameMatch {
    /// Nothing searchable (only punctuation): matches nothing.
    Nothing,
    /// 1–2 characters: names with a word starting with each of these words.
    WordPrefix(Vec<String>),
    /// 3 or more characters: names containing this folded text.
    Substring(String),
}

impl NameMatch {
    pub fn of(text: &str) -> NameMatch {
        let key = search_key(text);
        if key.is_empty() {
            NameMatch::Nothing
        } else if key.chars().count() < SUBSTRING_MIN_CHARS {
            NameMatch::WordPrefix(key.split(' ').map(str::to_string).collect())
        } else {
            NameMatch::Substring(key)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_accents_and_punctuation() {
        assert_eq!(search_key("Crème  Brûlée!"), "creme brulee");
        assert_eq!(search_key("ÉCOLE-Lamp 3000"), "ecole lamp 3000");
        assert_eq!(search_key("  "), "");
        assert_eq!(search_key("Straße"), "straße");
        assert_eq!(search_key("한글 머그컵"), "한글 머그컵");
        assert_eq!(search_key("Ｌａｍｐ ﬁne"), "lamp fine");
    }

    #[test]
    fn short_texts_are_word_prefixes() {
        assert_eq!(NameMatch::of("É"), NameMatch::WordPrefix(vec!["e".into()]));
        assert_eq!(NameMatch::of("a b"), NameMatch::Substring("a b".into()));
        assert_eq!(NameMatch::of("a-"), NameMatch::WordPrefix(vec!["a".into()]));
        assert_eq!(NameMatch::of("--"), NameMatch::Nothing);
        assert_eq!(NameMatch::of("Lamp"), NameMatch::Substring("lamp".into()));
    }
}
