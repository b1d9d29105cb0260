//! Walking JSON text as it is parsed: serde_json's parser calls a visitor
//! for each value, which scans strings and numbers through the same
//! [`Walk`] as [`Classifier::classify_json`] — no tree is built, strings
//! without escapes are borrowed from the text, and the path lives in one
//! buffer.
//!
//! One case cannot be walked in one pass: an object that names a key twice.
//! `serde_json::Value` keeps the member where the key first appeared with
//! the value of its last appearance, which is known only at the end. When a
//! key repeats, the walk starts over on the parsed tree (what every
//! document cost before), so that findings stay the same.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Number, Value};

use crate::json::{JsonSink, Walk};
use crate::{Classifier, ClassifyError};

/// Above this many members, an object's keys are looked up in a set rather
/// than compared one by one.
const FEW_KEYS: usize = 32;

impl Classifier {
    /// Parses `text` as one JSON document and pushes to `sink` what
    /// [`classify_json`](Self::classify_json) would find in it, in the same
    /// order, without building the document's tree: memory stays that of the
    /// deepest path, whatever the size of the document.
    ///
    /// On an error (the text is not one JSON document, or is nested deeper
    /// than serde_json's limit of 128) what `sink` received is to be
    /// discarded.
    ///
    /// ```
    /// use warden_classify::{Classifier, ClassifierConfig, JsonFinding};
    ///
    /// let classifier = Classifier::new(&ClassifierConfig::default())?;
    /// let mut found: Vec<JsonFinding> = Vec::new();
    /// classifier.classify_json_text(r#"{"to": ["ann@example.com"]}"#, &mut found)?;
    /// assert_eq!(found[0].path, "$.to[0]");
    ///
    /// let err = classifier.classify_json_text("{\"to\":\n ]", &mut found).unwrap_err();
    /// assert!(err.to_string().starts_with("line 2 column 2: not a JSON document"));
    /// # Ok::<(), warden_classify::ClassifyError>(())
    /// ```
    pub fn classify_json_text<S: JsonSink + ?Sized>(
        &self,
        text: &str,
        sink: &mut S,
    ) -> Result<(), ClassifyError> {
        let mut stream = Stream {
            walk: Walk::new(self, sink),
            keys: Vec::new(),
            repeated: false,
        };
        let mut parser = serde_json::Deserializer::from_str(text);
        let parsed = Node {
            stream: &mut stream,
            key: None,
        }
        .deserialize(&mut parser)
        .and_then(|()| parser.end());
        match parsed {
            Ok(()) => Ok(()),
            Err(_) if stream.repeated => {
                let value: Value = serde_json::from_str(text).map_err(ClassifyError::NotJson)?;
                let walk = &mut stream.walk;
                walk.sink.clear();
                walk.restart();
                walk.value(&value, None);
                Ok(())
            }
            Err(e) => Err(ClassifyError::NotJson(e)),
        }
    }
}

/// The walk, and the keys of the objects open on the way down (hashed; a
/// hash seen twice in one object counts as a repeated key).
struct Stream<'a, S: ?Sized> {
    walk: Walk<'a, S>,
    keys: Vec<u64>,
    repeated: bool,
}

/// One value to visit, under the nearest key.
struct Node<'s, 'a, 'k, S: ?Sized> {
    stream: &'s mut Stream<'a, S>,
    key: Option<&'k str>,
}

impl<'de, S: JsonSink + ?Sized> DeserializeSeed<'de> for Node<'_, '_, '_, S> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, parser: D) -> Result<(), D::Error> {
        parser.deserialize_any(self)
    }
}

impl<'de, S: JsonSink + ?Sized> Visitor<'de> for Node<'_, '_, '_, S> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    // Numbers as `Value` holds them, so that their decimal form is the same.
    fn visit_u64<E>(self, n: u64) -> Result<(), E> {
        self.stream.walk.number(&Number::from(n), self.key);
        Ok(())
    }

    fn visit_i64<E>(self, n: i64) -> Result<(), E> {
        self.stream.walk.number(&Number::from(n), self.key);
        Ok(())
    }

    fn visit_f64<E>(self, n: f64) -> Result<(), E> {
        // The parser gives only finite numbers; `Value` could hold no other.
        if let Some(n) = Number::from_f64(n) {
            self.stream.walk.number(&n, self.key);
        }
        Ok(())
    }

    fn visit_str<E>(self, text: &str) -> Result<(), E> {
        self.stream.walk.string(text, self.key);
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        for index in 0.. {
            let len = self.stream.walk.enter_index(index);
            let item = items.next_element_seed(Node {
                stream: &mut *self.stream,
                key: self.key,
            })?;
            self.stream.walk.leave(len);
            if item.is_none() {
                break;
            }
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut members: A) -> Result<(), A::Error> {
        let first = self.stream.keys.len();
        let mut many: Option<HashSet<u64>> = None;
        while let Some(key) = members.next_key_seed(Key)? {
            let hash = key_hash(&key);
            let seen = &mut self.stream.keys;
            let repeated = match &mut many {
                Some(set) => !set.insert(hash),
                None => {
                    let repeated = seen[first..].contains(&hash);
                    if seen.len() - first >= FEW_KEYS {
                        many = Some(seen[first..].iter().copied().chain([hash]).collect());
                    }
                    repeated
                }
            };
            if repeated {
                self.stream.repeated = true;
                return Err(A::Error::custom("a key repeats"));
            }
            if many.is_none() {
                seen.push(hash);
            }
            let len = self.stream.walk.enter_key(&key);
            members.next_value_seed(Node {
                stream: &mut *self.stream,
                key: Some(&key),
            })?;
            self.stream.walk.leave(len);
        }
        self.stream.keys.truncate(first);
        Ok(())
    }
}

/// An object's key, borrowed from the text unless it holds escapes.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, parser: D) -> Result<Self::Value, D::Error> {
        parser.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_borrowed_str<E>(self, key: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(key))
    }

    fn visit_str<E>(self, key: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(key.to_owned()))
    }
}

/// A quick hash of a key (FxHash's mixing, eight bytes at a time, seeded
/// with the length). Equal keys hash alike; two keys that merely collide
/// only send the document down the slower way.
fn key_hash(key: &str) -> u64 {
    let mut hash = key.len() as u64;
    for chunk in key.as_bytes().chunks(8) {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        hash = (hash.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    hash
}
