//! Secrets read from SSM Parameter Store SecureStrings on moto server (`infra/test.sh`
//! starts it), through the real SDK client: what each function does once at cold start.
#![allow(clippy::unwrap_used, clippy::expect_used)] // in tests a failed unwrap is a failed test

use aws_sdk_ssm::Client;
use aws_sdk_ssm::types::ParameterType;
use saguaro_app::config::{CHARGEBEE_WEBHOOK_PASSWORD, Env, STRIPE_API_KEY, STRIPE_WEBHOOK_SECRET};
use saguaro_lambda::secrets::{self, SecretNames, SecretsError};
use saguaro_testkit::unique_name;

async fn client() -> Client {
    Client::new(&saguaro_testkit::aws().await)
}

async fn put(client: &Client, name: &str, value: &str) {
    client
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(ParameterType::SecureString)
        .send()
        .await
        .unwrap_or_else(|e| panic!("put {name}: {e:?}"));
}

#[tokio::test]
async fn when_parameters_are_named_then_their_decrypted_values_are_the_variables() {
    let client = client().await;
    let root = format!("/{}", unique_name("saguaro-secrets"));
    put(
        &client,
        &format!("{root}/stripe/webhook-secret"),
        "whsec_a,whsec_b",
    )
    .await;
    put(&client, &format!("{root}/stripe/api-key"), "rk_test_lookup").await;
    let names = SecretNames::parse(
        Some(&format!(
            "STRIPE_WEBHOOK_SECRET={root}/stripe/webhook-secret, ,STRIPE_API_KEY={root}/stripe/api-key,"
        )),
        None,
    )
    .unwrap();
    assert_eq!(names.parameters.len(), 2);

    let secrets = secrets::load(&client, &names).await.unwrap();
    // Debug names the variables, never a value
    let shown = format!("{secrets:?}");
    assert_eq!(
        shown,
        r#"Secrets(["STRIPE_API_KEY", "STRIPE_WEBHOOK_SECRET"])"#
    );

    // laid over an environment, they are read like any variable
    let env = Env::from_lookup(|_| None).with_values(secrets.0);
    assert!(env.stripe_verifier().is_ok());
    assert_eq!(
        env.stripe_api_key().unwrap().unwrap().expose(),
        "rk_test_lookup"
    );
    assert_eq!(env.optional(CHARGEBEE_WEBHOOK_PASSWORD).unwrap(), None);
}

#[tokio::test]
async fn when_more_than_ten_parameters_are_named_then_all_are_read() {
    let client = client().await;
    let root = format!("/{}", unique_name("saguaro-many"));
    let mut spec = Vec::new();
    for i in 0..23 {
        put(&client, &format!("{root}/p{i}"), &format!("value-{i}")).await;
        spec.push(format!("VAR_{i}={root}/p{i}"));
    }
    let names = SecretNames::parse(Some(&spec.join(",")), None).unwrap();
    let secrets = secrets::load(&client, &names).await.unwrap();
    assert_eq!(secrets.0.len(), 23);
    assert_eq!(secrets.0["VAR_22"], "value-22");
    assert_eq!(secrets.0["VAR_0"], "value-0");
}

#[tokio::test]
async fn when_a_named_parameter_does_not_exist_then_the_error_names_it() {
    let client = client().await;
    let root = format!("/{}", unique_name("saguaro-missing"));
    put(&client, &format!("{root}/present"), "x").await;
    let names = SecretNames::parse(
        Some(&format!(
            "{STRIPE_WEBHOOK_SECRET}={root}/present,{STRIPE_API_KEY}={root}/absent"
        )),
        None,
    )
    .unwrap();
    let err = secrets::load(&client, &names).await.unwrap_err();
    assert!(
        matches!(&err, SecretsError::NotFound(n) if *n == [format!("{root}/absent")]),
        "{err:?}"
    );
    assert!(err.to_string().contains(&format!("{root}/absent")), "{err}");
    assert!(err.to_string().contains("aws ssm put-parameter"), "{err}");
}

#[tokio::test]
async fn when_a_path_is_named_then_each_parameter_under_it_is_the_variable_of_its_last_segment() {
    let client = client().await;
    let root = format!("/{}", unique_name("saguaro-perks"));
    put(&client, &format!("{root}/perks/PERK_ACME"), "whsec_acme").await;
    put(&client, &format!("{root}/perks/PERK_ZED"), "whsec_zed").await;
    // not directly under the path: not read
    put(&client, &format!("{root}/perks/deeper/PERK_NO"), "whsec_no").await;
    put(&client, &format!("{root}/other"), "nope").await;
    let names = SecretNames::parse(None, Some(&format!("{root}/perks/"))).unwrap();
    let secrets = secrets::load(&client, &names).await.unwrap();
    let mut vars: Vec<_> = secrets
        .0
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    vars.sort();
    assert_eq!(
        vars,
        [("PERK_ACME", "whsec_acme"), ("PERK_ZED", "whsec_zed")]
    );
}

#[test]
fn when_an_entry_is_not_variable_equals_name_then_parsing_names_it() {
    for bad in ["STRIPE_WEBHOOK_SECRET", "=/x", "A=relative/name"] {
        let err = SecretNames::parse(Some(bad), None).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("SAGUARO_SSM_PARAMETERS: `{bad}` is not VARIABLE=/parameter/name")
        );
    }
    let names = SecretNames::parse(Some(" , "), Some(" ")).unwrap();
    assert!(names.is_empty());
}
