//! Contract cases for Stripe invoice links ([`InvoiceLinkStore`], docs/design.md §7): a link
//! reads back, an unknown PaymentIntent has none, a redelivery changes nothing, and links
//! are independent of customers' commits.

use jiff::Timestamp;
use saguaro_domain::links::{InvoiceLink, InvoiceLinkStore};
use saguaro_domain::ports::{CommitOutcome, StateStore};

use crate::{commit, commit_for, customer, load, payment};

fn link(payment_intent: &str, invoice: &str) -> InvoiceLink {
    InvoiceLink {
        payment_intent: payment_intent.to_owned(),
        invoice: invoice.to_owned(),
        paid_at: Timestamp::from_second(1_749_000_000).unwrap_or(Timestamp::UNIX_EPOCH),
    }
}

async fn get<S: InvoiceLinkStore>(store: &S, payment_intent: &str) -> Option<String> {
    match store.invoice_link(payment_intent).await {
        Ok(found) => found,
        Err(e) => panic!("invoice_link({payment_intent}) failed: {e}"),
    }
}

async fn put<S: InvoiceLinkStore>(store: &S, link: &InvoiceLink) {
    if let Err(e) = store.put_invoice_link(link).await {
        panic!("put_invoice_link failed: {e}");
    }
}

pub async fn invoice_links_read_back_and_redelivery_changes_nothing<
    S: StateStore + InvoiceLinkStore,
>(
    store: S,
) {
    assert_eq!(get(&store, "pi_3QBasil").await, None, "nothing kept yet");
    let paid = link("pi_3QBasil", "in_1QBasil");
    put(&store, &paid).await;
    put(&store, &link("pi_3QOther", "in_1QOther")).await;
    assert_eq!(
        get(&store, "pi_3QBasil").await.as_deref(),
        Some("in_1QBasil")
    );
    assert_eq!(
        get(&store, "pi_3QOther").await.as_deref(),
        Some("in_1QOther")
    );
    // Stripe redelivers the event: the same link, still one answer.
    put(&store, &paid).await;
    assert_eq!(
        get(&store, "pi_3QBasil").await.as_deref(),
        Some("in_1QBasil")
    );
    // Ids are exact: no prefix or case folding.
    assert_eq!(get(&store, "pi_3QBASIL").await, None);
    assert_eq!(get(&store, "pi_3QBasi").await, None);
    // A link is no customer: a customer's commit neither sees nor disturbs it.
    let c = customer("links");
    let state = load(&store, &c)
        .await
        .unwrap_or_else(|| saguaro_domain::CustomerState::new(c.clone()));
    let first = commit_for(&state, &payment(&c, 0, 5_000));
    assert_eq!(
        commit(&store, first).await.ok(),
        Some(CommitOutcome::Applied)
    );
    assert_eq!(
        get(&store, "pi_3QBasil").await.as_deref(),
        Some("in_1QBasil")
    );
}
