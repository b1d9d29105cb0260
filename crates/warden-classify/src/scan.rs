//! The state of one scan: the text, the JSON key it sits under, the findings.

use std::collections::BTreeSet;

use crate::Finding;

/// What a JSON key says about the value under it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyHint {
    Iban,
    Ssn,
    Password,
    Secret,
    Dob,
    Routing,
    Swift,
    Medical,
    Email,
    Phone,
    Card,
    Nino,
    Passport,
    MedicalRecord,
    NationalId,
}

/// The words a key is read for, in the order they are tried: the first
/// word the key starts or ends with gives the hint.
const KEY_WORDS: &[(&str, KeyHint)] = &[
    ("iban", KeyHint::Iban),
    ("ssn", KeyHint::Ssn),
    ("socialsecurity", KeyHint::Ssn),
    ("password", KeyHint::Password),
    ("passwd", KeyHint::Password),
    ("pwd", KeyHint::Password),
    ("passphrase", KeyHint::Password),
    ("secret", KeyHint::Secret),
    ("token", KeyHint::Secret),
    ("apikey", KeyHint::Secret),
    ("accesskey", KeyHint::Secret),
    ("privatekey", KeyHint::Secret),
    ("credential", KeyHint::Secret),
    ("dob", KeyHint::Dob),
    ("dateofbirth", KeyHint::Dob),
    ("birthdate", KeyHint::Dob),
    ("birthday", KeyHint::Dob),
    ("geburtsdatum", KeyHint::Dob),
    ("fechadenacimiento", KeyHint::Dob),
    ("fechanacimiento", KeyHint::Dob),
    ("datadinascita", KeyHint::Dob),
    ("geboortedatum", KeyHint::Dob),
    ("datedenaissance", KeyHint::Dob),
    ("routing", KeyHint::Routing),
    ("aba", KeyHint::Routing),
    ("swift", KeyHint::Swift),
    ("bic", KeyHint::Swift),
    ("diagnosis", KeyHint::Medical),
    ("icd", KeyHint::Medical),
    ("condition", KeyHint::Medical),
    ("email", KeyHint::Email),
    ("mail", KeyHint::Email),
    ("phone", KeyHint::Phone),
    ("mobile", KeyHint::Phone),
    ("tel", KeyHint::Phone),
    ("fax", KeyHint::Phone),
    ("card", KeyHint::Card),
    ("pan", KeyHint::Card),
    ("ccnumber", KeyHint::Card),
    ("nino", KeyHint::Nino),
    ("nationalinsurance", KeyHint::Nino),
    ("passport", KeyHint::Passport),
    ("reisepass", KeyHint::Passport),
    ("passeport", KeyHint::Passport),
    ("mrn", KeyHint::MedicalRecord),
    ("medicalrecord", KeyHint::MedicalRecord),
    ("patientid", KeyHint::MedicalRecord),
    ("patientnumber", KeyHint::MedicalRecord),
    ("steuerid", KeyHint::NationalId),
    ("taxid", KeyHint::NationalId),
    ("bsn", KeyHint::NationalId),
    ("burgerservicenummer", KeyHint::NationalId),
    ("nir", KeyHint::NationalId),
    ("dni", KeyHint::NationalId),
    ("codicefiscale", KeyHint::NationalId),
    ("nationalid", KeyHint::NationalId),
];

/// For each byte, the words of [`KEY_WORDS`] that start with it (bit `i`
/// for word `i`), and those that end with it: a key is compared only with
/// the few words that share its first or last letter.
static KEY_WORDS_BY_FIRST: [u64; 256] = key_words_by(true);
static KEY_WORDS_BY_LAST: [u64; 256] = key_words_by(false);

const fn key_words_by(first: bool) -> [u64; 256] {
    assert!(KEY_WORDS.len() <= 64, "one bit per word");
    let mut by = [0u64; 256];
    let mut i = 0;
    while i < KEY_WORDS.len() {
        let word = KEY_WORDS[i].0.as_bytes();
        let byte = if first { word[0] } else { word[word.len() - 1] };
        by[byte as usize] |= 1 << i;
        i += 1;
    }
    by
}

impl KeyHint {
    /// Reads a key such as `customer_iban`, `dateOfBirth` or `api-key`.
    pub(crate) fn from_key(key: &str) -> Option<Self> {
        // The key's ASCII letters and digits, lowercased: on the stack for
        // keys of up to 64 bytes (nearly all). This runs for every value of
        // a JSON document, and allocating cost as much as the rest.
        let letters = key
            .bytes()
            .filter(u8::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase());
        let mut short = [0u8; 64];
        let long: Vec<u8>;
        let norm: &[u8] = if key.len() <= short.len() {
            let n = short.iter_mut().zip(letters).map(|(s, c)| *s = c).count();
            short.get(..n).unwrap_or_default()
        } else {
            long = letters.collect();
            &long
        };
        let (&first, &last) = (norm.first()?, norm.last()?);
        let starts = KEY_WORDS_BY_FIRST[usize::from(first)];
        let ends = KEY_WORDS_BY_LAST[usize::from(last)];
        let mut candidates = starts | ends;
        while candidates != 0 {
            let i = candidates.trailing_zeros();
            candidates &= candidates - 1;
            let (word, hint) = KEY_WORDS.get(i as usize)?;
            let bit = 1u64 << i;
            if (starts & bit != 0 && norm.starts_with(word.as_bytes()))
                || (ends & bit != 0 && norm.ends_with(word.as_bytes()))
            {
                return Some(*hint);
            }
        }
        None
    }
}

/// One scan over one text.
pub(crate) struct Scan<'a> {
    pub(crate) text: &'a str,
    pub(crate) b: &'a [u8],
    pub(crate) hint: Option<KeyHint>,
    pub(crate) key: Option<&'a str>,
    pub(crate) out: Vec<Finding>,
    disabled: &'a BTreeSet<String>,
}

impl<'a> Scan<'a> {
    pub(crate) fn new(text: &'a str, key: Option<&'a str>, disabled: &'a BTreeSet<String>) -> Self {
        Self {
            text,
            b: text.as_bytes(),
            hint: key.and_then(KeyHint::from_key),
            key,
            out: Vec::new(),
            disabled,
        }
    }

    /// Records a finding unless its detector is turned off.
    pub(crate) fn emit(
        &mut self,
        detector: &'static str,
        class: &str,
        confidence: f32,
        start: usize,
        end: usize,
    ) {
        if self.disabled.is_empty() || !self.disabled.contains(detector) {
            self.out.push(Finding {
                detector,
                class: class.to_owned(),
                confidence,
                start,
                end,
            });
        }
    }

    /// The byte at `i`, or 0 past the end.
    pub(crate) fn at(&self, i: usize) -> u8 {
        self.b.get(i).copied().unwrap_or(0)
    }

    /// The byte before `i`, or 0 at the start.
    pub(crate) fn before(&self, i: usize) -> u8 {
        i.checked_sub(1).map_or(0, |j| self.at(j))
    }

    /// Whether one of `words` (lowercase ASCII) occurs, case-insensitively,
    /// within `before` bytes before `start` or `after` bytes after `end`.
    pub(crate) fn context(
        &self,
        start: usize,
        end: usize,
        words: &[&str],
        before: usize,
        after: usize,
    ) -> bool {
        let lo = start.saturating_sub(before);
        let hi = end.saturating_add(after).min(self.b.len());
        let windows = [self.b.get(lo..start), self.b.get(end..hi)];
        windows
            .into_iter()
            .flatten()
            .any(|w| contains_any_ci(w, words))
    }

    /// Digits in `[i, i+n)` with no non-digit between, as a count from `i`.
    pub(crate) fn digits(&self, i: usize) -> usize {
        self.b
            .get(i..)
            .map_or(0, |s| s.iter().take_while(|c| c.is_ascii_digit()).count())
    }
}

/// Whether `hay` contains one of `words` (lowercase ASCII), ignoring ASCII
/// case. A word of three letters or fewer (`dx`, `ssn`, `pan`) counts only as
/// a whole word: `dx` is not found in `index` or `rdx`.
pub(crate) fn contains_any_ci(hay: &[u8], words: &[&str]) -> bool {
    words.iter().any(|w| {
        let w = w.as_bytes();
        if w.len() > hay.len() {
            return false;
        }
        if w.len() > 3 {
            return hay.windows(w.len()).any(|x| x.eq_ignore_ascii_case(w));
        }
        hay.windows(w.len()).enumerate().any(|(i, x)| {
            x.eq_ignore_ascii_case(w)
                && (i == 0 || !alnum(hay[i - 1]))
                && hay.get(i + w.len()).is_none_or(|c| !alnum(*c))
        })
    })
}

/// ASCII letter or digit.
pub(crate) fn alnum(c: u8) -> bool {
    c.is_ascii_alphanumeric()
}
