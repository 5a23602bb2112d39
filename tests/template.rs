//! `template.yaml` and `infra/openapi.yaml` checked for what cfn-lint and `sam validate` do
//! not see (both run in `infra/test.sh` before this): a FIFO queue as a failure destination
//! (Lambda refuses it at deploy time), `MaximumRecordAgeInSeconds` outside −1 or 60…604800,
//! timezone names that are not IANA's, schedule expressions with the wrong shape, `*` in IAM
//! actions or resources, functions that are not arm64 / `provided.al2023` / cargo-lambda or
//! have no log group with a retention, failure queues without an alarm, and the routes: the
//! template's, the OpenAPI file's and the router's are the same set.
//!
//! Each check is a function over the parsed YAML returning what it found wrong, so that the
//! tests at the bottom also show that each check catches a broken template.
#![allow(clippy::unwrap_used, clippy::expect_used)] // in tests a failed unwrap is a failed test

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_norway::Value;

fn repo_file(path: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parse(text: &str) -> Value {
    serde_norway::from_str(text).unwrap_or_else(|e| panic!("not YAML: {e}"))
}

fn template() -> Value {
    parse(&repo_file("template.yaml"))
}

/// Reading CloudFormation YAML: its short-form intrinsics are YAML tags (`!Ref X`).
mod cfn {
    use serde_norway::Value;

    /// The resource a `!Ref X`, `!GetAtt X.Attr` (or their long forms) names.
    pub fn referenced(v: &Value) -> Option<String> {
        match v {
            Value::Tagged(t) if t.tag == "Ref" => t.value.as_str().map(str::to_owned),
            Value::Tagged(t) if t.tag == "GetAtt" => match &t.value {
                Value::String(s) => s.split('.').next().map(str::to_owned),
                Value::Sequence(s) => s.first().and_then(Value::as_str).map(str::to_owned),
                _ => None,
            },
            Value::Mapping(m) if m.len() == 1 => {
                if let Some(r) = m.get("Ref") {
                    return r.as_str().map(str::to_owned);
                }
                m.get("Fn::GetAtt").and_then(|g| match g {
                    Value::Sequence(s) => s.first().and_then(Value::as_str).map(str::to_owned),
                    Value::String(s) => s.split('.').next().map(str::to_owned),
                    _ => None,
                })
            }
            _ => None,
        }
    }

    /// Every value under `v` whose key is `key`, at any depth (through tags too).
    pub fn find_key<'a>(v: &'a Value, key: &str, out: &mut Vec<&'a Value>) {
        match v {
            Value::Mapping(m) => {
                for (k, child) in m {
                    if k.as_str() == Some(key) {
                        out.push(child);
                    }
                    find_key(child, key, out);
                }
            }
            Value::Sequence(s) => s.iter().for_each(|c| find_key(c, key, out)),
            Value::Tagged(t) => find_key(&t.value, key, out),
            _ => {}
        }
    }

    /// Every literal string in `v` (a list, an `!If`'s branches, ...), not inside a `!Sub`.
    pub fn strings<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::String(s) => out.push(s),
            Value::Sequence(s) => s.iter().for_each(|c| strings(c, out)),
            Value::Tagged(t) if t.tag == "If" => strings(&t.value, out),
            _ => {}
        }
    }
}

fn resources(t: &Value) -> BTreeMap<String, &Value> {
    t["Resources"]
        .as_mapping()
        .expect("Resources")
        .iter()
        .map(|(k, v)| (k.as_str().unwrap().to_owned(), v))
        .collect()
}

fn of_type<'a>(t: &'a Value, ty: &str) -> Vec<(String, &'a Value)> {
    resources(t)
        .into_iter()
        .filter(|(_, r)| r["Type"].as_str() == Some(ty))
        .collect()
}

/// A function's property, from its own `Properties` or else `Globals.Function`.
fn function_property<'a>(t: &'a Value, function: &'a Value, key: &str) -> Option<&'a Value> {
    function["Properties"]
        .get(key)
        .or_else(|| t.get("Globals")?.get("Function")?.get(key))
}

/// Every function is Rust on `provided.al2023`, arm64, built by cargo-lambda, with a timeout,
/// a memory size, and a log group of this template with a retention.
fn check_functions(t: &Value) -> Vec<String> {
    let mut wrong = Vec::new();
    let all = resources(t);
    for (name, f) in of_type(t, "AWS::Serverless::Function") {
        if function_property(t, f, "Runtime").and_then(Value::as_str) != Some("provided.al2023") {
            wrong.push(format!("{name}: Runtime is not provided.al2023"));
        }
        let arch = function_property(t, f, "Architectures");
        if arch != Some(&Value::Sequence(vec![Value::String("arm64".into())])) {
            wrong.push(format!("{name}: Architectures is not [arm64]"));
        }
        if f["Metadata"]["BuildMethod"].as_str() != Some("rust-cargolambda") {
            wrong.push(format!("{name}: BuildMethod is not rust-cargolambda"));
        }
        if f["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .is_none()
        {
            wrong.push(format!("{name}: no BuildProperties.Binary"));
        }
        for key in ["Timeout", "MemorySize"] {
            if function_property(t, f, key)
                .and_then(Value::as_u64)
                .is_none()
            {
                wrong.push(format!("{name}: no {key}"));
            }
        }
        let group = f["Properties"]
            .get("LoggingConfig")
            .and_then(|l| l.get("LogGroup"))
            .and_then(cfn::referenced);
        match group.as_deref().and_then(|g| all.get(g)) {
            Some(g) if g["Type"].as_str() == Some("AWS::Logs::LogGroup") => {
                if g["Properties"].get("RetentionInDays").is_none() {
                    wrong.push(format!("{name}: its log group has no RetentionInDays"));
                }
            }
            _ => wrong.push(format!(
                "{name}: no LoggingConfig.LogGroup of this template"
            )),
        }
    }
    wrong
}

/// Failure destinations (event source mappings' and asynchronous invocations' `OnFailure`)
/// that are FIFO queues: Lambda accepts only standard queues, SNS topics, S3 buckets or
/// functions there.
fn check_failure_destinations(t: &Value) -> Vec<String> {
    let mut wrong = Vec::new();
    let all = resources(t);
    for (name, f) in of_type(t, "AWS::Serverless::Function") {
        let mut on_failure = Vec::new();
        cfn::find_key(&f["Properties"], "OnFailure", &mut on_failure);
        for dest in on_failure {
            let target = dest.get("Destination").and_then(cfn::referenced);
            let Some(queue) = target.as_deref().and_then(|q| all.get(q)) else {
                continue;
            };
            if queue["Type"].as_str() == Some("AWS::SQS::Queue")
                && queue["Properties"]
                    .get("FifoQueue")
                    .and_then(Value::as_bool)
                    == Some(true)
            {
                wrong.push(format!(
                    "{name}: OnFailure destination {} is a FIFO queue",
                    target.unwrap_or_default()
                ));
            }
        }
    }
    wrong
}

/// Stream event sources: `MaximumRecordAgeInSeconds` −1 (forever) or 60…604800,
/// `MaximumRetryAttempts` −1…10000, bisect on error and partial batch responses.
fn check_stream_sources(t: &Value) -> Vec<String> {
    let mut wrong = Vec::new();
    for (name, f) in of_type(t, "AWS::Serverless::Function") {
        let Some(events) = f["Properties"].get("Events").and_then(Value::as_mapping) else {
            continue;
        };
        for (event, e) in events {
            let ty = e["Type"].as_str().unwrap_or_default();
            if ty != "DynamoDB" && ty != "Kinesis" {
                continue;
            }
            let p = &e["Properties"];
            let event = event.as_str().unwrap_or_default();
            match p.get("MaximumRecordAgeInSeconds").and_then(Value::as_i64) {
                Some(-1) | Some(60..=604_800) => {}
                other => wrong.push(format!(
                    "{name}.{event}: MaximumRecordAgeInSeconds {other:?} is not -1 or 60..=604800"
                )),
            }
            match p.get("MaximumRetryAttempts").and_then(Value::as_i64) {
                Some(-1..=10_000) => {}
                other => wrong.push(format!(
                    "{name}.{event}: MaximumRetryAttempts {other:?} is not bounded (-1..=10000)"
                )),
            }
            if p.get("BisectBatchOnFunctionError").and_then(Value::as_bool) != Some(true) {
                wrong.push(format!("{name}.{event}: no BisectBatchOnFunctionError"));
            }
            let reports = p
                .get("FunctionResponseTypes")
                .and_then(Value::as_sequence)
                .is_some_and(|s| {
                    s.iter()
                        .any(|v| v.as_str() == Some("ReportBatchItemFailures"))
                });
            if !reports {
                wrong.push(format!("{name}.{event}: no ReportBatchItemFailures"));
            }
        }
    }
    wrong
}

/// Timezone names: every `ScheduleExpressionTimezone` given as a literal, and the default of
/// every parameter whose name ends in `Timezone`, must be in the IANA database (jiff's
/// bundled copy).
fn check_timezones(t: &Value) -> Vec<String> {
    let mut names: Vec<(String, String)> = Vec::new();
    let mut found = Vec::new();
    cfn::find_key(&t["Resources"], "ScheduleExpressionTimezone", &mut found);
    // A `!Ref` to a parameter reads as the parameter's name: its default is checked below.
    let is_parameter = |s: &str| t.get("Parameters").and_then(|p| p.get(s)).is_some();
    for v in found {
        if let Some(s) = v.as_str().filter(|s| !is_parameter(s)) {
            names.push(("ScheduleExpressionTimezone".into(), s.to_owned()));
        }
    }
    if let Some(params) = t.get("Parameters").and_then(Value::as_mapping) {
        for (k, p) in params {
            let k = k.as_str().unwrap_or_default();
            if let (true, Some(d)) = (
                k.ends_with("Timezone"),
                p.get("Default").and_then(Value::as_str),
            ) {
                names.push((k.to_owned(), d.to_owned()));
            }
        }
    }
    names
        .into_iter()
        .filter(|(_, tz)| jiff::tz::TimeZone::get(tz).is_err())
        .map(|(what, tz)| format!("{what}: {tz:?} is not an IANA timezone name"))
        .collect()
}

/// One EventBridge (Scheduler) expression: `rate(N unit)`, `cron(six fields)` or
/// `at(yyyy-mm-ddThh:mm:ss)`.
fn schedule_expression_error(expr: &str) -> Option<String> {
    if let Some(inner) = expr.strip_prefix("rate(").and_then(|e| e.strip_suffix(')')) {
        let mut parts = inner.split(' ');
        let (Some(n), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
            return Some(format!("{expr}: rate takes a number and a unit"));
        };
        let Ok(n) = n.parse::<u32>() else {
            return Some(format!("{expr}: {n:?} is not a positive integer"));
        };
        let units: &[&str] = if n == 1 {
            &["minute", "hour", "day"]
        } else {
            &["minutes", "hours", "days"]
        };
        if n == 0 || !units.contains(&unit) {
            return Some(format!("{expr}: the unit must be one of {units:?} (n ≥ 1)"));
        }
        return None;
    }
    if let Some(inner) = expr.strip_prefix("cron(").and_then(|e| e.strip_suffix(')')) {
        let fields: Vec<&str> = inner.split_whitespace().collect();
        if fields.len() != 6 {
            return Some(format!(
                "{expr}: cron takes 6 fields (minutes hours day-of-month month day-of-week year), not {}",
                fields.len()
            ));
        }
        // One of day-of-month and day-of-week must be `?`.
        if fields[2] != "?" && fields[4] != "?" {
            return Some(format!("{expr}: day-of-month or day-of-week must be `?`"));
        }
        return None;
    }
    if let Some(inner) = expr.strip_prefix("at(").and_then(|e| e.strip_suffix(')')) {
        return inner
            .parse::<jiff::civil::DateTime>()
            .err()
            .map(|e| format!("{expr}: {e}"));
    }
    Some(format!("{expr}: not rate(...), cron(...) or at(...)"))
}

fn check_schedules(t: &Value) -> Vec<String> {
    let mut found = Vec::new();
    cfn::find_key(&t["Resources"], "ScheduleExpression", &mut found);
    found
        .into_iter()
        .filter_map(|v| match v.as_str() {
            Some(expr) => schedule_expression_error(expr),
            None => Some(format!("ScheduleExpression {v:?} is not a literal")),
        })
        .collect()
}

/// IAM policy statements (roles, inline policies, SAM `Policies`): no action with a `*`, no
/// resource that is `*`.
fn check_iam(t: &Value) -> Vec<String> {
    let mut wrong = Vec::new();
    let mut statements = Vec::new();
    cfn::find_key(&t["Resources"], "Statement", &mut statements);
    for list in statements {
        let mut items = Vec::new();
        collect_statements(list, &mut items);
        for s in items {
            let mut actions = Vec::new();
            for key in ["Action", "NotAction"] {
                if let Some(a) = s.get(key) {
                    cfn::strings(a, &mut actions);
                }
            }
            for a in actions.iter().filter(|a| a.contains('*')) {
                wrong.push(format!("IAM action {a:?} has a wildcard"));
            }
            let mut res = Vec::new();
            if let Some(r) = s.get("Resource") {
                cfn::strings(r, &mut res);
            }
            for r in res.iter().filter(|r| **r == "*") {
                wrong.push(format!("IAM resource {r:?} (actions {actions:?})"));
            }
        }
    }
    wrong
}

/// Statements of a `Statement` list, through `!If` branches.
fn collect_statements<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    match v {
        Value::Sequence(s) => s.iter().for_each(|c| collect_statements(c, out)),
        Value::Tagged(t) if t.tag == "If" => {
            if let Some(s) = t.value.as_sequence() {
                s.iter().skip(1).for_each(|c| collect_statements(c, out));
            }
        }
        Value::Mapping(m) if m.contains_key("Effect") => out.push(v),
        _ => {}
    }
}

/// Every dead-letter or failure queue has an alarm on its visible messages, and every alarm
/// notifies the template's SNS topic.
fn check_alarms(t: &Value) -> Vec<String> {
    let mut wrong = Vec::new();
    let mut failure_queues = BTreeSet::new();
    for key in [
        "deadLetterTargetArn",
        "OnFailure",
        "DeadLetterConfig",
        "DeadLetterQueue",
    ] {
        let mut found = Vec::new();
        cfn::find_key(&t["Resources"], key, &mut found);
        for v in found {
            let target = cfn::referenced(v)
                .or_else(|| v.get("Destination").and_then(cfn::referenced))
                .or_else(|| v.get("Arn").and_then(cfn::referenced))
                .or_else(|| v.get("TargetArn").and_then(cfn::referenced));
            failure_queues.extend(target);
        }
    }
    let topics: BTreeSet<String> = of_type(t, "AWS::SNS::Topic")
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let alarms = of_type(t, "AWS::CloudWatch::Alarm");
    for q in &failure_queues {
        let watched = alarms.iter().any(|(_, a)| {
            let p = &a["Properties"];
            p["MetricName"].as_str() == Some("ApproximateNumberOfMessagesVisible")
                && p["Dimensions"].as_sequence().is_some_and(|d| {
                    d.iter()
                        .any(|d| cfn::referenced(&d["Value"]).as_deref() == Some(q))
                })
        });
        if !watched {
            wrong.push(format!("failure queue {q} has no alarm"));
        }
    }
    for (name, a) in &alarms {
        let notifies = a["Properties"]["AlarmActions"]
            .as_sequence()
            .is_some_and(|s| {
                s.iter()
                    .any(|v| cfn::referenced(v).is_some_and(|r| topics.contains(&r)))
            });
        if !notifies {
            wrong.push(format!(
                "alarm {name} notifies no SNS topic of this template"
            ));
        }
    }
    wrong
}

/// (METHOD, path) of every `HttpApi` event, and whether its route is unauthenticated.
fn template_routes(t: &Value) -> BTreeMap<(String, String), bool> {
    let mut routes = BTreeMap::new();
    for (_, f) in of_type(t, "AWS::Serverless::Function") {
        let Some(events) = f["Properties"].get("Events").and_then(Value::as_mapping) else {
            continue;
        };
        for e in events
            .values()
            .filter(|e| e["Type"].as_str() == Some("HttpApi"))
        {
            let p = &e["Properties"];
            let key = (
                p["Method"].as_str().unwrap().to_uppercase(),
                p["Path"].as_str().unwrap().to_owned(),
            );
            let open = p
                .get("Auth")
                .and_then(|a| a.get("Authorizer"))
                .and_then(Value::as_str)
                == Some("NONE");
            assert!(routes.insert(key.clone(), open).is_none(), "{key:?} twice");
        }
    }
    routes
}

fn openapi_routes(doc: &Value) -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for (path, item) in doc["paths"].as_mapping().expect("paths") {
        for (method, _) in item.as_mapping().unwrap() {
            let method = method.as_str().unwrap();
            if ["get", "put", "post", "delete", "patch", "head", "options"].contains(&method) {
                routes.insert((method.to_uppercase(), path.as_str().unwrap().to_owned()));
            }
        }
    }
    routes
}

/// The methods the local runner's router takes on `path` (with `{provider}`/`{id}` filled),
/// from the `Allow` header of its 405 to a method no route takes; `None` for a 404.
async fn router_methods(path: &str) -> Option<BTreeSet<String>> {
    use tower::ServiceExt as _;
    let program = saguaro_app::config::load_program(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../infra/program.example.toml"),
    )
    .unwrap();
    let router = saguaro::Runner::new(program).router();
    let uri = path.replace("{provider}", "custom").replace("{id}", "c-1");
    let request = http::Request::builder()
        .method("PROPFIND")
        .uri(uri)
        .body(axum::body::Body::empty())
        .unwrap();
    let response = router.oneshot(request).await.unwrap();
    match response.status().as_u16() {
        404 => None,
        405 => Some(
            response.headers()[http::header::ALLOW]
                .to_str()
                .unwrap()
                .split(',')
                .map(|m| m.trim().to_owned())
                .filter(|m| m != "HEAD")
                .collect(),
        ),
        other => panic!("PROPFIND {path}: {other}"),
    }
}

fn assert_clean(what: &str, wrong: Vec<String>) {
    assert!(wrong.is_empty(), "{what}:\n  {}", wrong.join("\n  "));
}

#[test]
fn when_the_template_is_read_then_every_function_is_arm64_al2023_cargolambda_with_a_log_group() {
    let t = template();
    assert!(of_type(&t, "AWS::Serverless::Function").len() >= 5);
    assert_clean("functions", check_functions(&t));
}

#[test]
fn when_the_template_is_read_then_no_failure_destination_is_fifo_and_stream_sources_are_bounded() {
    let t = template();
    assert_clean("failure destinations", check_failure_destinations(&t));
    assert_clean("stream sources", check_stream_sources(&t));
    // the fulfil stream is one of them, with its filter on new reward rows
    let fulfil = &resources(&t)["FulfilFunction"]["Properties"]["Events"]["Rewards"];
    assert_eq!(fulfil["Type"].as_str(), Some("DynamoDB"));
    let pattern = fulfil["Properties"]["FilterCriteria"]["Filters"][0]["Pattern"]
        .as_str()
        .unwrap();
    let pattern: serde_json::Value = serde_json::from_str(pattern).unwrap();
    assert_eq!(
        pattern,
        serde_json::json!({"eventName":["INSERT"],"dynamodb":{"NewImage":{"sk":{"S":[{"prefix":"R#"}]}}}})
    );
}

#[test]
fn when_the_template_is_read_then_timezones_and_schedules_are_valid() {
    let t = template();
    assert_clean("timezones", check_timezones(&t));
    assert_clean("schedules", check_schedules(&t));
    let mut found = Vec::new();
    cfn::find_key(&t["Resources"], "ScheduleExpression", &mut found);
    assert!(found.iter().any(|v| v.as_str() == Some("rate(15 minutes)")));
}

#[test]
fn when_the_template_is_read_then_iam_has_no_wildcard_and_every_failure_queue_is_alarmed() {
    let t = template();
    assert_clean("IAM", check_iam(&t));
    assert_clean("alarms", check_alarms(&t));
    // SAM's generated roles attach a managed policy with `*` resources: every function has
    // its own role instead.
    for (name, f) in of_type(&t, "AWS::Serverless::Function") {
        assert!(
            f["Properties"].get("Role").is_some() && f["Properties"].get("Policies").is_none(),
            "{name}: no role of its own"
        );
    }
}

#[test]
fn when_the_template_is_read_then_the_table_is_retained_with_pitr_sse_and_a_stream() {
    let t = template();
    let tables = of_type(&t, "AWS::DynamoDB::Table");
    assert_eq!(tables.len(), 1);
    let (_, table) = &tables[0];
    assert_eq!(table["DeletionPolicy"].as_str(), Some("Retain"));
    assert_eq!(table["UpdateReplacePolicy"].as_str(), Some("Retain"));
    let p = &table["Properties"];
    assert_eq!(
        p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"].as_bool(),
        Some(true)
    );
    assert_eq!(p["SSESpecification"]["SSEEnabled"].as_bool(), Some(true));
    assert_eq!(
        p["StreamSpecification"]["StreamViewType"].as_str(),
        Some("NEW_IMAGE")
    );
}

#[test]
fn when_the_template_is_read_then_no_secret_is_a_parameter_value_or_an_environment_variable() {
    let t = template();
    let mut vars = Vec::new();
    cfn::find_key(&t["Resources"], "Variables", &mut vars);
    for v in vars {
        for (k, _) in v.as_mapping().unwrap() {
            let k = k.as_str().unwrap();
            assert!(
                !["SECRET", "PASSWORD", "API_KEY"]
                    .iter()
                    .any(|s| k.contains(s)),
                "environment variable {k} looks like a secret"
            );
        }
    }
    for (k, p) in t["Parameters"].as_mapping().unwrap() {
        let k = k.as_str().unwrap();
        if ["Secret", "Password", "ApiKey"]
            .iter()
            .any(|s| k.contains(s))
        {
            assert!(
                k.ends_with("Parameter") || k.ends_with("Path") || k.ends_with("KmsKeyArn"),
                "{k} should name an SSM parameter, not hold the secret"
            );
            assert!(p.get("NoEcho").is_none(), "{k}: a name needs no NoEcho");
        }
    }
}

#[tokio::test]
async fn when_routes_are_compared_then_template_openapi_and_router_agree() {
    let t = template();
    assert_eq!(
        t["Resources"]["HttpApi"]["Properties"]["Auth"]["DefaultAuthorizer"].as_str(),
        Some("AWS_IAM")
    );
    let routes = template_routes(&t);
    let open: BTreeSet<_> = routes
        .iter()
        .filter(|(_, open)| **open)
        .map(|(r, _)| r.1.clone())
        .collect();
    assert_eq!(
        open,
        BTreeSet::from([
            "/webhooks/stripe".to_owned(),
            "/webhooks/chargebee".to_owned()
        ]),
        "only the webhooks are without IAM auth"
    );
    let template: BTreeSet<_> = routes.into_keys().collect();

    let openapi = parse(&repo_file("infra/openapi.yaml"));
    assert_eq!(openapi["openapi"].as_str().map(|v| &v[..4]), Some("3.0."));
    assert_eq!(
        openapi_routes(&openapi),
        template,
        "infra/openapi.yaml vs template.yaml"
    );

    // The router's routes: every path the application crate names, with the methods its
    // router answers there. `GET /rejected` is the local runner's alone (on AWS, the earn
    // dead-letter queue holds what cannot be applied).
    use saguaro_app::router as r;
    let mut router = BTreeSet::new();
    for path in [
        r::EVENTS,
        r::CUSTOMER,
        r::CUSTOMER_LEDGER,
        r::CUSTOMER_REWARDS,
        r::CUSTOMER_ADJUSTMENTS,
        r::STRIPE_WEBHOOK,
        r::CHARGEBEE_WEBHOOK,
    ] {
        let methods = router_methods(path)
            .await
            .unwrap_or_else(|| panic!("{path}: 404"));
        router.extend(methods.into_iter().map(|m| (m, path.to_owned())));
    }
    assert_eq!(router, template, "the router vs template.yaml");
    assert_eq!(
        router_methods(r::REJECTED).await,
        Some(BTreeSet::from(["GET".to_owned()]))
    );
    assert_eq!(router_methods("/no/such/route").await, None);
}

// ---- the checks catch what they are for

fn broken(yaml: &str) -> Value {
    parse(yaml)
}

#[test]
fn when_a_fifo_queue_is_a_stream_failure_destination_then_the_check_names_it() {
    let t = broken(
        r#"
Resources:
  Failures:
    Type: AWS::SQS::Queue
    Properties: { FifoQueue: true }
  F:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        S:
          Type: DynamoDB
          Properties:
            DestinationConfig:
              OnFailure: { Type: SQS, Destination: !GetAtt Failures.Arn }
"#,
    );
    assert_eq!(
        check_failure_destinations(&t),
        ["F: OnFailure destination Failures is a FIFO queue"]
    );
}

#[test]
fn when_record_age_or_retries_are_out_of_range_then_the_check_names_them() {
    let t = broken(
        r#"
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        S:
          Type: DynamoDB
          Properties:
            MaximumRecordAgeInSeconds: 30
            BisectBatchOnFunctionError: true
            FunctionResponseTypes: [ReportBatchItemFailures]
"#,
    );
    let wrong = check_stream_sources(&t);
    assert_eq!(wrong.len(), 2, "{wrong:?}");
    assert!(
        wrong[0].contains("MaximumRecordAgeInSeconds Some(30)"),
        "{wrong:?}"
    );
    assert!(wrong[1].contains("MaximumRetryAttempts None"), "{wrong:?}");
    for ok in ["-1", "60", "604800"] {
        let t = broken(&format!(
            "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Events:\n        S:\n          Type: Kinesis\n          Properties: {{ MaximumRecordAgeInSeconds: {ok}, MaximumRetryAttempts: 3, BisectBatchOnFunctionError: true, FunctionResponseTypes: [ReportBatchItemFailures] }}\n"
        ));
        assert!(check_stream_sources(&t).is_empty(), "{ok}");
    }
    let t = broken(
        "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Events:\n        S:\n          Type: Kinesis\n          Properties: { MaximumRecordAgeInSeconds: 604801, MaximumRetryAttempts: 3, BisectBatchOnFunctionError: true, FunctionResponseTypes: [ReportBatchItemFailures] }\n",
    );
    assert_eq!(check_stream_sources(&t).len(), 1);
}

#[test]
fn when_a_timezone_name_is_not_iana_then_the_check_names_it() {
    let t = broken(
        r#"
Parameters:
  ProgramTimezone: { Type: String, Default: America/New_Yrok }
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        H: { Type: ScheduleV2, Properties: { ScheduleExpression: rate(1 hour), ScheduleExpressionTimezone: Europe/Paris } }
        D: { Type: ScheduleV2, Properties: { ScheduleExpression: rate(1 day), ScheduleExpressionTimezone: CEST } }
"#,
    );
    let wrong = check_timezones(&t);
    assert_eq!(
        wrong,
        [
            r#"ScheduleExpressionTimezone: "CEST" is not an IANA timezone name"#,
            r#"ProgramTimezone: "America/New_Yrok" is not an IANA timezone name"#,
        ]
    );
}

#[test]
fn when_a_schedule_expression_has_the_wrong_shape_then_the_check_says_why() {
    for ok in [
        "rate(15 minutes)",
        "rate(1 hour)",
        "rate(1 day)",
        "cron(5 * * * ? *)",
        "cron(0 3 ? * MON-FRI *)",
        "at(2027-01-01T00:00:00)",
    ] {
        assert_eq!(schedule_expression_error(ok), None, "{ok}");
    }
    for (bad, why) in [
        ("cron(5 * * * ?)", "cron takes 6 fields"),
        ("cron(0 0 * * * * *)", "not 7"),
        ("cron(0 3 * * MON *)", "must be `?`"),
        ("rate(15 minute)", "the unit must be"),
        ("rate(1 hours)", "the unit must be"),
        ("rate(0 minutes)", "n ≥ 1"),
        ("rate(-5 minutes)", "not a positive integer"),
        ("rate(1)", "a number and a unit"),
        ("every 15 minutes", "not rate(...)"),
        ("at(2027-13-01T00:00:00)", "at("),
    ] {
        let err = schedule_expression_error(bad).unwrap_or_else(|| panic!("{bad} accepted"));
        assert!(err.contains(why), "{bad}: {err}");
    }
}

#[test]
fn when_an_iam_statement_has_a_wildcard_then_the_check_names_it() {
    let t = broken(
        r#"
Resources:
  R:
    Type: AWS::IAM::Role
    Properties:
      Policies:
        - PolicyDocument:
            Statement:
              - { Effect: Allow, Action: "dynamodb:*", Resource: !GetAtt T.Arn }
              - !If [C, { Effect: Allow, Action: [sqs:SendMessage], Resource: "*" }, !Ref AWS::NoValue]
"#,
    );
    let wrong = check_iam(&t);
    assert_eq!(wrong.len(), 2, "{wrong:?}");
    assert!(wrong[0].contains("dynamodb:*"));
    assert!(wrong[1].contains(r#"IAM resource "*""#));
}

#[test]
fn when_a_function_is_x86_or_without_log_group_then_the_check_names_it() {
    let t = broken(
        r#"
Globals:
  Function: { Runtime: provided.al2023, Architectures: [arm64], Timeout: 10, MemorySize: 128 }
Resources:
  Logs: { Type: AWS::Logs::LogGroup, Properties: { RetentionInDays: 30 } }
  Good:
    Type: AWS::Serverless::Function
    Metadata: { BuildMethod: rust-cargolambda, BuildProperties: { Binary: good } }
    Properties: { LoggingConfig: { LogGroup: !Ref Logs } }
  Bad:
    Type: AWS::Serverless::Function
    Metadata: { BuildMethod: makefile }
    Properties: { Architectures: [x86_64] }
"#,
    );
    assert_eq!(
        check_functions(&t),
        [
            "Bad: Architectures is not [arm64]",
            "Bad: BuildMethod is not rust-cargolambda",
            "Bad: no BuildProperties.Binary",
            "Bad: no LoggingConfig.LogGroup of this template",
        ]
    );
}

#[test]
fn when_a_dead_letter_queue_has_no_alarm_then_the_check_names_it() {
    let t = broken(
        r#"
Resources:
  Topic: { Type: AWS::SNS::Topic }
  Dlq: { Type: AWS::SQS::Queue }
  Q:
    Type: AWS::SQS::Queue
    Properties: { RedrivePolicy: { deadLetterTargetArn: !GetAtt Dlq.Arn, maxReceiveCount: 5 } }
  Silent:
    Type: AWS::CloudWatch::Alarm
    Properties: { MetricName: Errors }
"#,
    );
    assert_eq!(
        check_alarms(&t),
        [
            "failure queue Dlq has no alarm",
            "alarm Silent notifies no SNS topic of this template"
        ]
    );
}
