//! A transaction being built: its writes, each with the error its failed condition means.

use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};

use autolock_core::error::StoreError;
use autolock_core::ports::StoreResult;

use crate::item::{Cond, Item, build_err};

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
