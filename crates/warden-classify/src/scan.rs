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

impl KeyHint {
    /// Reads a key such as `customer_iban`, `dateOfBirth` or `api-key`.
    pub(crate) fn from_key(key: &str) -> Option<Self> {
        let norm: String = key
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect();
        // First and last bytes before the comparison: most keys match no
        // word, and a `memcmp` call per word cost more than the rest of
        // scanning a short JSON value.
        let (first, last) = (norm.bytes().next(), norm.bytes().next_back());
        let has = |w: &str| {
            (first == w.bytes().next() && norm.starts_with(w))
                || (last == w.bytes().next_back() && norm.ends_with(w))
        };
        let table: &[(&[&str], KeyHint)] = &[
            (&["iban"], KeyHint::Iban),
            (&["ssn", "socialsecurity"], KeyHint::Ssn),
            (
                &["password", "passwd", "pwd", "passphrase"],
                KeyHint::Password,
            ),
            (
                &[
                    "secret",
                    "token",
                    "apikey",
                    "accesskey",
                    "privatekey",
                    "credential",
                ],
                KeyHint::Secret,
            ),
            (
                &[
                    "dob",
                    "dateofbirth",
                    "birthdate",
                    "birthday",
                    "geburtsdatum",
                    "fechadenacimiento",
                    "fechanacimiento",
                    "datadinascita",
                    "geboortedatum",
                    "datedenaissance",
                ],
                KeyHint::Dob,
            ),
            (&["routing", "aba"], KeyHint::Routing),
            (&["swift", "bic"], KeyHint::Swift),
            (&["diagnosis", "icd", "condition"], KeyHint::Medical),
            (&["email", "mail"], KeyHint::Email),
            (&["phone", "mobile", "tel", "fax"], KeyHint::Phone),
            (&["card", "pan", "ccnumber"], KeyHint::Card),
            (&["nino", "nationalinsurance"], KeyHint::Nino),
            (&["passport", "reisepass", "passeport"], KeyHint::Passport),
            (
                &["mrn", "medicalrecord", "patientid", "patientnumber"],
                KeyHint::MedicalRecord,
            ),
            (
                &[
                    "steuerid",
                    "taxid",
                    "bsn",
                    "burgerservicenummer",
                    "nir",
                    "dni",
                    "codicefiscale",
                    "nationalid",
                ],
                KeyHint::NationalId,
            ),
        ];
        table
            .iter()
            .find(|(words, _)| words.iter().any(|w| has(w)))
            .map(|(_, hint)| *hint)
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
