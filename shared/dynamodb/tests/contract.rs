//! The shared store contract (docs/design.md §6), run against DynamoDB on moto server.

mod common;

saguaro_store_contract::contract_tests!(async || {
    common::OneAtATime(common::fresh_store("contract").await.0)
});
