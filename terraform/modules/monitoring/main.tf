# Owns the alarms and where they go: an encrypted SNS topic (with optional
# e-mail subscriptions), Lambda errors per function, any message in a DLQ,
# failed or timed-out checkout executions, API 5xx responses, and alarms on the
# services' own metrics (namespace Shop, written as Embedded Metric Format log
# lines by crates/common/src/metrics.rs); plus the one CloudWatch dashboard of
# those metrics. Log metric filters are not here.
data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

locals {
  # The services' metrics: namespace and dimensions as crates/common/src/metrics.rs writes
  # them. Every document carries Service (the crate: the checkout worker runs the orders
  # image, the outbox relay the products image) and Environment (APP_ENV). Request metrics
  # (Requests, ClientErrors, ServerErrors, Latency, CacheHit, CacheMiss) are published per
  # RouteClass and rolled up per [Service, Environment]; failures by Reason likewise, so the
  # alarms below address a service's totals exactly (alarms cannot use SEARCH).
  namespace = "Shop"

  # Service of the checkout worker's metrics (CheckoutsConfirmed, CheckoutsFailed, TimeToConfirm).
  checkout_service = "orders"

  # Who writes ProjectionLag: the relay (products image) and the image processor, which
  # drains the product outbox after a product image.
  projection_services = toset(["products", "image_processor"])

  # CheckoutsFailed reasons that are the shop working as intended (the customer's card, the
  # stock); every other reason (step_timed_out, "checkout_failed: <error>") is a fault.
  expected_checkout_failures = ["insufficient_stock", "payment_declined"]

  alarm_actions = [aws_sns_topic.alarms.arn]
}

resource "aws_sns_topic" "alarms" {
  name              = "${var.name_prefix}alarms"
  kms_master_key_id = var.kms_key_arn
}

data "aws_iam_policy_document" "alarms" {
  statement {
    sid       = "CloudWatchAlarms"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms.arn]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_sns_topic_policy" "alarms" {
  arn    = aws_sns_topic.alarms.arn
  policy = data.aws_iam_policy_document.alarms.json
}

resource "aws_sns_topic_subscription" "email" {
  for_each  = toset(var.alarm_emails)
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = each.key
}

resource "aws_cloudwatch_metric_alarm" "lambda_errors" {
  for_each            = var.function_names
  alarm_name          = "${var.name_prefix}${each.key}-errors"
  alarm_description   = "${each.key} reported errors (unhandled failures, timeouts)."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = each.value }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.thresholds.lambda_errors
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_metric_alarm" "dlq_depth" {
  for_each            = var.dlq_names
  alarm_name          = "${var.name_prefix}${each.key}-dlq-not-empty"
  alarm_description   = "Messages of ${each.key} exhausted their retries and wait in ${each.value}."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.value }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_metric_alarm" "checkout_failed" {
  for_each            = toset(["ExecutionsFailed", "ExecutionsTimedOut"])
  alarm_name          = "${var.name_prefix}checkout_workflow-${lower(trimprefix(each.key, "Executions"))}"
  alarm_description   = "checkout_workflow executions ${lower(trimprefix(each.key, "Executions"))}: orders may be stuck between states."
  namespace           = "AWS/States"
  metric_name         = each.key
  dimensions          = { StateMachineArn = var.state_machine_arn }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_metric_alarm" "api_5xx" {
  alarm_name          = "${var.name_prefix}api-5xx"
  alarm_description   = "The HTTP API answered 5xx."
  namespace           = "AWS/ApiGateway"
  metric_name         = "5xx"
  dimensions          = { ApiId = var.api_id }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.thresholds.api_5xx
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

# --- the services' own metrics (namespace Shop) ---------------------------------------------

resource "aws_cloudwatch_metric_alarm" "server_errors" {
  for_each            = var.http_services
  alarm_name          = "${var.name_prefix}${each.key}-server-errors"
  alarm_description   = "The ${each.key} service answered 5xx (ServerErrors over all its route classes; the dashboard splits them by route class)."
  namespace           = local.namespace
  metric_name         = "ServerErrors"
  dimensions          = { Service = each.key, Environment = var.environment }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.thresholds.server_errors
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "checkouts_failed" {
  alarm_name          = "${var.name_prefix}checkouts-failed"
  alarm_description   = "Checkouts failed, any reason (declined payments and missing stock included): a spike means customers cannot buy."
  namespace           = local.namespace
  metric_name         = "CheckoutsFailed"
  dimensions          = { Service = local.checkout_service, Environment = var.environment }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.thresholds.checkouts_failed
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# All reasons minus the expected ones: a step that timed out or an error the saga did not
# expect ("checkout_failed: <error>", an open-ended Reason no alarm could list).
resource "aws_cloudwatch_metric_alarm" "checkouts_failed_unexpectedly" {
  alarm_name          = "${var.name_prefix}checkouts-failed-unexpectedly"
  alarm_description   = "Checkouts failed for a reason other than ${join(" or ", local.expected_checkout_failures)} (a timed-out step, an unexpected error): see the dashboard's failures by reason and the worker's logs."
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  metric_query {
    id          = "unexpected"
    expression  = join(" - ", concat(["failed"], [for r in local.expected_checkout_failures : "FILL(${r}, 0)"]))
    label       = "CheckoutsFailed, unexpected reasons"
    return_data = true
  }

  metric_query {
    id = "failed"

    metric {
      namespace   = local.namespace
      metric_name = "CheckoutsFailed"
      dimensions  = { Service = local.checkout_service, Environment = var.environment }
      stat        = "Sum"
      period      = 300
    }
  }

  dynamic "metric_query" {
    for_each = toset(local.expected_checkout_failures)

    content {
      id = metric_query.key

      metric {
        namespace   = local.namespace
        metric_name = "CheckoutsFailed"
        dimensions  = { Service = local.checkout_service, Environment = var.environment, Reason = metric_query.key }
        stat        = "Sum"
        period      = 300
      }
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "time_to_confirm" {
  alarm_name                            = "${var.name_prefix}time-to-confirm-p99"
  alarm_description                     = "p99 of TimeToConfirm (an order's creation to CONFIRMED) above ${var.thresholds.time_to_confirm_p99_ms} ms: the checkout saga is slow (payments, queue backlog, throttled worker)."
  namespace                             = local.namespace
  metric_name                           = "TimeToConfirm"
  dimensions                            = { Service = local.checkout_service, Environment = var.environment }
  extended_statistic                    = "p99"
  evaluate_low_sample_count_percentiles = "evaluate"
  period                                = 300
  evaluation_periods                    = 1
  threshold                             = var.thresholds.time_to_confirm_p99_ms
  comparison_operator                   = "GreaterThanThreshold"
  treat_missing_data                    = "notBreaching"
  alarm_actions                         = local.alarm_actions
  ok_actions                            = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "projection_lag" {
  for_each            = local.projection_services
  alarm_name          = "${var.name_prefix}${each.key}-projection-lag"
  alarm_description   = "An outbox entry reached ProductCatalog and the cache more than ${var.thresholds.projection_lag_ms} ms after the write (measured by ${each.key}): reads are stale; is the relay failing?"
  namespace           = local.namespace
  metric_name         = "ProjectionLag"
  dimensions          = { Service = each.key, Environment = var.environment }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.thresholds.projection_lag_ms
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "images_failed" {
  alarm_name          = "${var.name_prefix}images-failed"
  alarm_description   = "Uploaded images were refused (any reason: corrupt, too_large, type_mismatch ...); the dashboard splits them by reason."
  namespace           = local.namespace
  metric_name         = "ImagesFailed"
  dimensions          = { Service = "image_processor", Environment = var.environment }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.thresholds.images_failed
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# --- the dashboard ----------------------------------------------------------------------------

locals {
  period = 300

  # SEARCH schemas: exactly these dimension keys, so the per-service rollup and the
  # per-route-class (or per-reason) series never mix in one widget.
  per_service = "{${local.namespace},Environment,Service}"
  per_route   = "{${local.namespace},Environment,RouteClass,Service}"
  per_reason  = "{${local.namespace},Environment,Reason,Service}"
  env_filter  = "Environment=\"${var.environment}\""

  # Renders one line per series: SEARCH results labelled by their dimensions.
  by_service = "$${PROP('Dim.Service')}"
  by_route   = "$${PROP('Dim.Service')} $${PROP('Dim.RouteClass')}"
  by_reason  = "$${PROP('Dim.Reason')}"

  dashboard_alarm_arns = concat(
    [for a in aws_cloudwatch_metric_alarm.server_errors : a.arn],
    [aws_cloudwatch_metric_alarm.checkouts_failed.arn, aws_cloudwatch_metric_alarm.checkouts_failed_unexpectedly.arn],
    [aws_cloudwatch_metric_alarm.time_to_confirm.arn],
    [for a in aws_cloudwatch_metric_alarm.projection_lag : a.arn],
    [aws_cloudwatch_metric_alarm.images_failed.arn, aws_cloudwatch_metric_alarm.api_5xx.arn],
    [for a in aws_cloudwatch_metric_alarm.checkout_failed : a.arn],
    [for a in aws_cloudwatch_metric_alarm.lambda_errors : a.arn],
    [for a in aws_cloudwatch_metric_alarm.dlq_depth : a.arn],
  )
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = "${var.name_prefix}service-metrics"

  dashboard_body = jsonencode({
    widgets = [
      {
        type = "text", x = 0, y = 0, width = 24, height = 2
        properties = {
          markdown = "## ${var.name_prefix}service-metrics\nThe services' own metrics (namespace `${local.namespace}`, Environment `${var.environment}`), written as Embedded Metric Format log lines. Sums and percentiles per ${local.period / 60} minutes; what each metric means: docs/observability.md."
        }
      },
      {
        type = "metric", x = 0, y = 2, width = 8, height = 6
        properties = {
          title  = "Requests by service"
          region = data.aws_region.current.name
          view   = "timeSeries"
          period = local.period
          stat   = "Sum"
          metrics = [
            [{ id = "requests", label = local.by_service, expression = "SEARCH('${local.per_service} MetricName=\"Requests\" ${local.env_filter}', 'Sum', ${local.period})" }],
          ]
        }
      },
      {
        type = "metric", x = 8, y = 2, width = 8, height = 6
        properties = {
          title  = "Server errors (5xx) by service"
          region = data.aws_region.current.name
          view   = "timeSeries"
          period = local.period
          stat   = "Sum"
          metrics = [
            [{ id = "server", label = local.by_service, expression = "SEARCH('${local.per_service} MetricName=\"ServerErrors\" ${local.env_filter}', 'Sum', ${local.period})" }],
          ]
          annotations = { horizontal = [{ label = "alarm", value = var.thresholds.server_errors }] }
        }
      },
      {
        type = "metric", x = 16, y = 2, width = 8, height = 6
        properties = {
          title  = "Client errors (4xx) by service"
          region = data.aws_region.current.name
          view   = "timeSeries"
          period = local.period
          stat   = "Sum"
          metrics = [
            [{ id = "client", label = local.by_service, expression = "SEARCH('${local.per_service} MetricName=\"ClientErrors\" ${local.env_filter}', 'Sum', ${local.period})" }],
          ]
        }
      },
      {
        type = "metric", x = 0, y = 8, width = 12, height = 6
        properties = {
          title  = "Latency p50 and p99 by service (ms)"
          region = data.aws_region.current.name
          view   = "timeSeries"
          period = local.period
          metrics = [
            [{ id = "p50", label = "p50 ${local.by_service}", expression = "SEARCH('${local.per_service} MetricName=\"Latency\" ${local.env_filter}', 'p50', ${local.period})" }],
            [{ id = "p99", label = "p99 ${local.by_service}", expression = "SEARCH('${local.per_service} MetricName=\"Latency\" ${local.env_filter}', 'p99', ${local.period})" }],
          ]
        }
      },
      {
        type = "metric", x = 12, y = 8, width = 12, height = 6
        properties = {
          title  = "Latency p99 by route class (ms)"
          region = data.aws_region.current.name
          view   = "timeSeries"
          period = local.period
          metrics = [
            [{ id = "routes", label = local.by_route, expression = "SEARCH('${local.per_route} MetricName=\"Latency\" ${local.env_filter}', 'p99', ${local.period})" }],
          ]
        }
      },
      {
        type = "metric", x = 0, y = 14, width = 12, height = 6
        properties = {
          title  = "Errors by route class (5xx and 4xx)"
          region = data.aws_region.current.name
          view   = "timeSeries"
          period = local.period
          metrics = [
            [{ id = "server_routes", label = "5xx ${local.by_route}", expression = "SEARCH('${local.per_route} MetricName=\"ServerErrors\" ${local.env_filter}', 'Sum', ${local.period})" }],
            [{ id = "client_routes", label = "4xx ${local.by_route}", expression = "SEARCH('${local.per_route} MetricName=\"ClientErrors\" ${local.env_filter}', 'Sum', ${local.period})" }],
          ]
        }
      },
      {
        type = "metric", x = 12, y = 14, width = 12, height = 6
        properties = {
          title  = "Catalogue cache hit ratio (%)"
          region = data.aws_region.current.name
          view   = "timeSeries"
          period = local.period
          metrics = [
            [{ id = "ratio", label = "hit ratio", expression = "100 * hits / (hits + misses)" }],
            [{ id = "hits", label = "hits", yAxis = "right", expression = "SUM(SEARCH('${local.per_service} MetricName=\"CacheHit\" ${local.env_filter}', 'Sum', ${local.period}))" }],
            [{ id = "misses", label = "misses", yAxis = "right", expression = "SUM(SEARCH('${local.per_service} MetricName=\"CacheMiss\" ${local.env_filter}', 'Sum', ${local.period}))" }],
          ]
          yAxis = { left = { min = 0, max = 100 } }
        }
      },
      {
        type = "metric", x = 0, y = 20, width = 12, height = 6
        properties = {
          title  = "Checkouts confirmed, failed by reason, reconciled"
          region = data.aws_region.current.name
          view   = "timeSeries"
          period = local.period
          stat   = "Sum"
          metrics = [
            [local.namespace, "CheckoutsConfirmed", "Service", local.checkout_service, "Environment", var.environment, { id = "confirmed", label = "confirmed" }],
            [{ id = "failed", label = "failed: ${local.by_reason}", expression = "SEARCH('${local.per_reason} MetricName=\"CheckoutsFailed\" ${local.env_filter}', 'Sum', ${local.period})" }],
            [local.namespace, "OrdersReconciled", "Service", local.checkout_service, "Environment", var.environment, { id = "reconciled", label = "unwound by the reconciler" }],
          ]
        }
      },
      {
        type = "metric", x = 12, y = 20, width = 12, height = 6
        properties = {
          title  = "Time to confirm, order created to CONFIRMED (ms)"
          region = data.aws_region.current.name
          view   = "timeSeries"
          period = local.period
          metrics = [
            [local.namespace, "TimeToConfirm", "Service", local.checkout_service, "Environment", var.environment, { id = "ttc_p50", label = "p50", stat = "p50" }],
            [local.namespace, "TimeToConfirm", "Service", local.checkout_service, "Environment", var.environment, { id = "ttc_p99", label = "p99", stat = "p99" }],
          ]
          annotations = { horizontal = [{ label = "p99 alarm", value = var.thresholds.time_to_confirm_p99_ms }] }
        }
      },
      {
        type = "metric", x = 0, y = 26, width = 12, height = 6
        properties = {
          title  = "Projection lag, outbox write to ProductCatalog (ms)"
          region = data.aws_region.current.name
          view   = "timeSeries"
          period = local.period
          metrics = [
            [{ id = "lag_max", label = "max ${local.by_service}", expression = "SEARCH('${local.per_service} MetricName=\"ProjectionLag\" ${local.env_filter}', 'Maximum', ${local.period})" }],
            [{ id = "lag_p50", label = "p50 ${local.by_service}", expression = "SEARCH('${local.per_service} MetricName=\"ProjectionLag\" ${local.env_filter}', 'p50', ${local.period})" }],
          ]
          annotations = { horizontal = [{ label = "alarm", value = var.thresholds.projection_lag_ms }] }
        }
      },
      {
        type = "metric", x = 12, y = 26, width = 12, height = 6
        properties = {
          title  = "Images processed and failed by reason"
          region = data.aws_region.current.name
          view   = "timeSeries"
          period = local.period
          stat   = "Sum"
          metrics = [
            [local.namespace, "ImagesProcessed", "Service", "image_processor", "Environment", var.environment, { id = "processed", label = "processed" }],
            [{ id = "images_failed", label = "failed: ${local.by_reason}", expression = "SEARCH('${local.per_reason} MetricName=\"ImagesFailed\" ${local.env_filter}', 'Sum', ${local.period})" }],
          ]
        }
      },
      {
        type = "alarm", x = 0, y = 32, width = 24, height = 5
        properties = {
          title  = "Alarms"
          alarms = local.dashboard_alarm_arns
        }
      },
    ]
  })
}
