//! Item sizes and write units by DynamoDB's published rules ("Item sizes and formats" in the
//! developer guide), so that what a commit costs can be counted in a test, not guessed:
//!
//! - a string is its UTF-8 bytes, a binary its raw bytes, a number 1 byte per two
//!   significant digits plus 1, a boolean or null 1 byte;
//! - a list or map is 3 bytes plus 1 byte per element plus its elements (a map's keys count
//!   as attribute names);
//! - an item is the sum of its attribute names and values;
//! - a transactional write costs 2 write units per started KB of each item it writes; a
//!   delete or condition check is billed on the size of the item it touches.
//!
//! The number rule is "approximately" in the guide; this counts it as stated, so a figure here
//! may be a byte off DynamoDB's own for some numbers, never a KB.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};

/// One KB, the unit write capacity is billed by.
pub const WRITE_UNIT_BYTES: usize = 1024;

/// The size of an item, in bytes.
pub fn item_size(item: &HashMap<String, AttributeValue>) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + value_size(value))
        .sum()
}

/// Write units of one transactional write of an item of `bytes`: 2 per started KB, at least 2.
pub fn transactional_write_units(bytes: usize) -> u64 {
    2 * bytes.div_ceil(WRITE_UNIT_BYTES).max(1) as u64
}

/// What one `TransactWriteItems` writes: the size of each action's item (a put's item, or a
/// delete's / update's / condition check's key, which is all that is known without reading).
pub fn transaction_item_sizes(actions: &[TransactWriteItem]) -> Vec<usize> {
    actions
        .iter()
        .map(|action| {
            if let Some(put) = action.put() {
                item_size(put.item())
            } else if let Some(delete) = action.delete() {
                item_size(delete.key())
            } else if let Some(update) = action.update() {
                item_size(update.key())
            } else if let Some(check) = action.condition_check() {
                item_size(check.key())
            } else {
                0
            }
        })
        .collect()
}

fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => number_size(n),
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(set) => set.iter().map(String::len).sum(),
        AttributeValue::Ns(set) => set.iter().map(|n| number_size(n)).sum(),
        AttributeValue::Bs(set) => set.iter().map(|b| b.as_ref().len()).sum(),
        AttributeValue::L(list) => 3 + list.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        AttributeValue::M(map) => {
            3 + map
                .iter()
                .map(|(k, v)| 1 + k.len() + value_size(v))
                .sum::<usize>()
        }
        // `AttributeValue` is non-exhaustive: an unknown kind counts as nothing rather than
        // failing a measurement.
        _ => 0,
    }
}

/// 1 byte per two significant digits (leading and trailing zeros trimmed), plus 1.
fn number_size(n: &str) -> usize {
    let digits: String = n
        .chars()
        .take_while(|c| *c != 'e' && *c != 'E')
        .filter(char::is_ascii_digit)
        .collect();
    let significant = digits.trim_start_matches('0').trim_end_matches('0').len();
    significant.div_ceil(2) + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(pairs: &[(&str, AttributeValue)]) -> HashMap<String, AttributeValue> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    #[test]
    fn when_an_item_has_strings_then_names_and_utf8_bytes_count() {
        let it = item(&[
            ("pk", AttributeValue::S("CUST#stripe#cus_1".into())),
            ("é", AttributeValue::S("ü".into())),
        ]);
        assert_eq!(item_size(&it), 2 + 17 + 2 + 2);
    }

    #[test]
    fn when_a_number_is_stored_then_it_costs_a_byte_per_two_significant_digits_plus_one() {
        assert_eq!(number_size("0"), 1);
        assert_eq!(number_size("7"), 2);
        assert_eq!(number_size("1999"), 3);
        assert_eq!(number_size("-12345"), 4);
        assert_eq!(number_size("120000"), 2);
        assert_eq!(number_size("0.00125"), 3);
        assert_eq!(number_size("9223372036854775807"), 11);
    }

    #[test]
    fn when_an_attribute_is_a_map_or_list_then_3_bytes_plus_1_per_element() {
        let map = AttributeValue::M(
            [("a".to_owned(), AttributeValue::N("1".into()))]
                .into_iter()
                .collect(),
        );
        // 3 + (1 + "a" + 2)
        assert_eq!(value_size(&map), 7);
        let list = AttributeValue::L(vec![AttributeValue::Bool(true), AttributeValue::Null(true)]);
        assert_eq!(value_size(&list), 3 + 2 + 2);
        assert_eq!(value_size(&AttributeValue::L(vec![])), 3);
    }

    #[test]
    fn when_an_item_is_written_in_a_transaction_then_2_units_per_started_kb() {
        assert_eq!(transactional_write_units(0), 2);
        assert_eq!(transactional_write_units(1), 2);
        assert_eq!(transactional_write_units(1024), 2);
        assert_eq!(transactional_write_units(1025), 4);
        assert_eq!(transactional_write_units(3 * 1024 + 1), 8);
    }
}
