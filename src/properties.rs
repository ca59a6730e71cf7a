//! Property tests over the parsers and validators that take untrusted input: whatever comes
//! in, they answer (Ok or a reasoned Err) and never panic, and what they accept holds up.

use proptest::prelude::*;
use serde_json::{Map, Value};

use crate::domain::{normalise, IndexedText, TextPosition};

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,20}".prop_map(Value::String),
        prop_oneof![
            Just("http://www.w3.org/ns/anno.jsonld"),
            Just("Annotation"),
            Just("assessing"),
            Just("TextQuoteSelector"),
            Just("TextPositionSelector"),
            Just("/articles/x"),
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        Just("@context".to_owned()),
                        Just("type".to_owned()),
                        Just("motivation".to_owned()),
                        Just("body".to_owned()),
                        Just("bodyValue".to_owned()),
                        Just("target".to_owned()),
                        Just("selector".to_owned()),
                        Just("source".to_owned()),
                        Just("exact".to_owned()),
                        Just("start".to_owned()),
                        Just("end".to_owned()),
                        Just("verdict".to_owned()),
                        ".{0,8}",
                    ],
                    inner
                ),
                0..8
            )
            .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

proptest! {
    #[test]
    fn the_annotation_parser_never_panics(json in json_value()) {
        let _ = crate::w3c::parse_annotation(&json, "http://desk.test");
    }

    /// Any address has a key, and any account a valid user name.
    #[test]
    fn addresses_and_accounts_never_panic(address in ".{0,80}", account in ".{0,80}") {
        let key = crate::hypothesis::page_key(&address);
        prop_assert_eq!(crate::hypothesis::page_key(&format!("{address}#x")), key);
        let name = crate::hypothesis::author(&account);
        prop_assert!(name.as_str().starts_with("h.") && name.as_str().len() <= 32);
    }

    /// A Hypothesis file: parsed or refused with a reason; every row accepted gives its
    /// passage, address key and author without panicking.
    #[test]
    fn the_hypothesis_parser_never_panics(json in json_value(), raw in ".{0,64}") {
        let _ = crate::hypothesis::parse(raw.as_bytes());
        for body in [json.clone(), serde_json::json!({ "rows": [json.clone()] }), Value::Array(vec![json])] {
            if let Ok(rows) = crate::hypothesis::parse(body.to_string().as_bytes()) {
                for row in rows {
                    let _ = row.passage();
                    let _ = row.address().map(crate::hypothesis::page_key);
                    let _ = crate::hypothesis::author(&row.user);
                }
            }
        }
    }

    #[test]
    fn the_wire_decoder_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = crate::sync::wire::decode(&bytes);
    }

    #[test]
    fn normalisation_is_idempotent_and_tidy(raw in "(?s).{0,200}") {
        let once = normalise(&raw);
        prop_assert_eq!(normalise(&once), once.clone());
        prop_assert!(!once.contains("\n\n") && !once.contains("  "));
        prop_assert_eq!(once.trim(), once.as_str());
    }

    #[test]
    fn a_described_passage_locates_back_to_itself(raw in "[a-c “”—é\n]{1,120}", a in 0usize..120, b in 0usize..120) {
        let text = normalise(&raw);
        let indexed = IndexedText::new(&text);
        let len = indexed.len() as usize;
        prop_assume!(len > 0);
        let (start, end) = (a.min(b) % len, (a.max(b) % len) + 1);
        prop_assume!(start < end);
        let position = TextPosition { start: start as u64, end: end as u64 };
        let quote = indexed.describe(position);
        prop_assert_eq!(indexed.locate(&quote, Some(position)), Ok(position));
        // Without the position the quote either finds the same passage or says it is ambiguous.
        match indexed.locate(&quote, None) {
            Ok(found) => prop_assert_eq!(found, position),
            Err(reason) => prop_assert!(reason.0.contains("times"), "{}", reason.0),
        }
    }
}
