//! The Embedded Metric Format specification's rules, as a test assertion.

use serde_json::Value;

/// Panics unless `doc` is a valid EMF document (awslabs' specification, v1): an `_aws` member
/// with an integer millisecond `Timestamp` and `CloudWatchMetrics` directives, each with a
/// namespace, dimension sets (≤ 30 names, each a string member of the document) and metric
/// definitions (≤ 100, each with a numeric member of the same name and a known unit).
pub fn assert_valid(doc: &Value) {
    let aws = &doc["_aws"];
    assert!(aws["Timestamp"].is_i64(), "Timestamp in ms: {doc}");
    let directives = aws["CloudWatchMetrics"].as_array().expect("directives");
    assert!(!directives.is_empty(), "{doc}");
    for directive in directives {
        assert!(
            directive["Namespace"]
                .as_str()
                .is_some_and(|n| !n.is_empty() && n.len() <= 1024),
            "{doc}"
        );
        for set in directive["Dimensions"].as_array().expect("Dimensions") {
            let set = set.as_array().expect("a dimension set is an array");
            assert!(set.len() <= 30, "at most 30 dimensions per set");
            for name in set {
                let name = name.as_str().expect("dimension names are strings");
                assert!(
                    doc[name].is_string(),
                    "dimension {name} is a string member: {doc}"
                );
            }
        }
        let metrics = directive["Metrics"].as_array().expect("Metrics");
        assert!(metrics.len() <= 100);
        for metric in metrics {
            let name = metric["Name"].as_str().expect("Name");
            assert!(!name.is_empty() && name.len() <= 1024);
            let unit = metric["Unit"].as_str().unwrap_or("None");
            assert!(["Count", "Milliseconds", "None"].contains(&unit), "{unit}");
            assert!(
                doc[name].is_number(),
                "metric {name} has a numeric member: {doc}"
            );
        }
    }
}
