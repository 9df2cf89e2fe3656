//! A transaction being built: its writes, each with the error its failed condition means.

use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};

use autolock_core::error::StoreError;
use autolock_core::ports::StoreResult;

use crate::item::{Cond, Item, build_err};
use crate::{ITEM_LIMIT, TRANSACTION_LIMIT};

#[derive(Default)]
pub(crate) struct Tx {
    pub(crate) items: Vec<TransactWriteItem>,
    pub(crate) on_fail: Vec<StoreError>,
}

impl Tx {
    pub(crate) fn put(
        &mut self,
        table: &str,
        item: Item,
        cond: Option<Cond>,
        fail: StoreError,
    ) -> StoreResult<()> {
        let size = item_size(&item);
        if size > ITEM_LIMIT {
            return Err(StoreError::TooLarge(format!(
                "an item of {size} bytes exceeds DynamoDB's {ITEM_LIMIT}-byte item"
            )));
        }
        let (expression, names, values) = cond.unwrap_or_default().split();
        let put = Put::builder()
            .table_name(table)
            .set_item(Some(item))
            .set_condition_expression(expression)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .build()
            .map_err(build_err)?;
        self.items
            .push(TransactWriteItem::builder().put(put).build());
        self.on_fail.push(fail);
        Ok(())
    }

    pub(crate) fn update(
        &mut self,
        table: &str,
        key: Item,
        update: Cond,
        condition: Option<&str>,
        fail: StoreError,
    ) -> StoreResult<()> {
        let (expression, names, values) = update.split();
        let u = Update::builder()
            .table_name(table)
            .set_key(Some(key))
            .set_update_expression(expression)
            .set_condition_expression(condition.map(str::to_owned))
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .build()
            .map_err(build_err)?;
        self.items
            .push(TransactWriteItem::builder().update(u).build());
        self.on_fail.push(fail);
        Ok(())
    }

    pub(crate) fn delete(
        &mut self,
        table: &str,
        key: Item,
        cond: Cond,
        fail: StoreError,
    ) -> StoreResult<()> {
        let (expression, names, values) = cond.split();
        let d = Delete::builder()
            .table_name(table)
            .set_key(Some(key))
            .set_condition_expression(expression)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .build()
            .map_err(build_err)?;
        self.items
            .push(TransactWriteItem::builder().delete(d).build());
        self.on_fail.push(fail);
        Ok(())
    }
}

impl Tx {
    /// Refuses a transaction DynamoDB would refuse for its size (more than
    /// [`TRANSACTION_LIMIT`] items), before it is sent: emulators may be lax.
    pub(crate) fn check_size(&self) -> StoreResult<()> {
        if self.items.len() > TRANSACTION_LIMIT {
            return Err(StoreError::TooLarge(format!(
                "a change of {} items exceeds DynamoDB's {TRANSACTION_LIMIT}-item transaction",
                self.items.len()
            )));
        }
        Ok(())
    }
}

/// An item's size as DynamoDB counts it: each attribute's name and value (strings and binary
/// by their bytes, numbers by their digits, containers by their members plus a few bytes).
pub(crate) fn item_size(item: &Item) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + value_size(value))
        .sum()
}

fn value_size(value: &aws_sdk_dynamodb::types::AttributeValue) -> usize {
    use aws_sdk_dynamodb::types::AttributeValue as V;
    match value {
        V::S(s) => s.len(),
        V::N(n) => n.len().div_ceil(2) + 1,
        V::B(b) => b.as_ref().len(),
        V::Ss(all) => all.iter().map(String::len).sum(),
        V::Ns(all) => all.iter().map(|n| n.len().div_ceil(2) + 1).sum(),
        V::Bs(all) => all.iter().map(|b| b.as_ref().len()).sum(),
        V::L(all) => 3 + all.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        V::M(all) => {
            3 + all
                .iter()
                .map(|(k, v)| 1 + k.len() + value_size(v))
                .sum::<usize>()
        }
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::types::AttributeValue;

    use super::*;

    fn item(bytes: usize) -> Item {
        [
            ("pk".to_owned(), AttributeValue::S("P#x".into())),
            ("doc".to_owned(), AttributeValue::S("x".repeat(bytes))),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn an_item_over_400_kb_is_refused_before_it_is_sent() {
        let mut tx = Tx::default();
        tx.put(
            "t",
            item(300 * 1024),
            None,
            StoreError::Conflict("c".into()),
        )
        .unwrap();
        let refused = tx.put(
            "t",
            item(ITEM_LIMIT),
            None,
            StoreError::Conflict("c".into()),
        );
        assert!(
            matches!(refused, Err(StoreError::TooLarge(_))),
            "{refused:?}"
        );
        assert_eq!(tx.items.len(), 1, "nothing of the refused item was added");
    }

    #[test]
    fn a_transaction_of_more_than_100_items_is_refused_before_it_is_sent() {
        let mut tx = Tx::default();
        for _ in 0..TRANSACTION_LIMIT {
            tx.put("t", item(10), None, StoreError::Conflict("c".into()))
                .unwrap();
        }
        assert!(tx.check_size().is_ok());
        tx.put("t", item(10), None, StoreError::Conflict("c".into()))
            .unwrap();
        assert!(matches!(tx.check_size(), Err(StoreError::TooLarge(_))));
    }

    #[test]
    fn sizes_count_names_and_values_as_dynamodb_does() {
        let one: Item = [("ab".to_owned(), AttributeValue::S("xyz".into()))]
            .into_iter()
            .collect();
        assert_eq!(item_size(&one), 5);
        let n: Item = [("n".to_owned(), AttributeValue::N("12345".into()))]
            .into_iter()
            .collect();
        assert_eq!(item_size(&n), 1 + 4);
    }
}
