//! Business keys.
//!
//! SAP stores numeric keys such as customer (KUNNR, 10 characters) and material (MATNR, 18 or
//! 40) numbers zero-padded, by its "ALPHA" conversion; IDocs carry them padded
//! (`0000100123`), S/4 APIs often unpadded (`100123`). The hub's canonical form is the ALPHA
//! *output* form: a purely numeric key loses its leading zeros, anything else is kept as it is
//! (trimmed, upper-cased, as SAP keys are). Every parser and every reader uses this one
//! function, so `0000100123` and `100123` name the same customer.

/// The canonical form of an SAP business key.
///
/// ```
/// use hub_model::key::normalize;
/// assert_eq!(normalize("0000100123"), "100123");
/// assert_eq!(normalize("100123"), "100123");
/// assert_eq!(normalize("000000000000100234"), "100234");
/// assert_eq!(normalize(" pump-01 "), "PUMP-01");
/// assert_eq!(normalize("0000"), "0");
/// ```
pub fn normalize(raw: &str) -> String {
    normalize_text(raw).into_string()
}

/// [`normalize`] as a record's [`crate::records::Text`] (inline, no allocation, for keys of up
/// to 24 bytes).
pub fn normalize_text(raw: &str) -> crate::records::Text {
    use crate::records::Text;
    let t = raw.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        let stripped = t.trim_start_matches('0');
        Text::from(if stripped.is_empty() { "0" } else { stripped })
    } else {
        Text::from_str_to_uppercase(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn padding_never_changes_the_key(n in 1u64..10_000_000_000, pad in 0usize..30) {
            // Scenario: a number zero-padded to any width normalises to the same key.
            let plain = n.to_string();
            let padded = format!("{}{}", "0".repeat(pad), plain);
            prop_assert_eq!(normalize(&padded), normalize(&plain));
        }

        #[test]
        fn normalize_is_idempotent(s in "\\PC{0,20}") {
            // Scenario: normalising a normalised key changes nothing.
            let once = normalize(&s);
            prop_assert_eq!(normalize(&once), once.clone());
        }

        #[test]
        fn inline_text_normalises_as_std_strings_do(s in "\\PC{0,40}") {
            // Scenario: the inline form upper-cases (Unicode included) and strips exactly as
            // `str` does.
            let t = s.trim();
            let expected = if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
                let stripped = t.trim_start_matches('0');
                if stripped.is_empty() { "0".to_string() } else { stripped.to_string() }
            } else {
                t.to_uppercase()
            };
            let text = normalize_text(&s);
            prop_assert_eq!(text.as_str(), expected.as_str());
        }
    }
}
