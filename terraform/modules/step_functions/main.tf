# Owns the checkout_workflow state machine, its role and its logs. The ASL
# file belongs to the orders code and is executed unchanged by the local
# emulator; scripts/dev/provision.py fills the same ${placeholders}
# (case-insensitively), so every name it offers is offered here in lower,
# upper and original case. The role may only hand tasks to checkout-tasks,
# publish to order-events and append to OrderEvents.
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  generated = merge(
    {
      AWS_REGION              = data.aws_region.current.name
      ACCOUNT_ID              = data.aws_caller_identity.current.account_id
      DYNAMODB_TABLE_PREFIX   = var.name_prefix
      RESOURCE_PREFIX         = var.name_prefix
      task_queue_url          = var.task_queue.url
      task_queue_arn          = var.task_queue.arn
      checkout_task_queue_url = var.task_queue.url
      topic_arn               = var.topic_arns["order-events"]
    },
    { for k, arn in var.topic_arns : "${replace(k, "-", "_")}_topic_arn" => arn },
    { for k, q in var.queues : "${replace(k, "-", "_")}_queue_url" => q.url },
    { for k, q in var.queues : "${replace(k, "-", "_")}_queue_arn" => q.arn },
    { for k, t in var.tables : "${k}_table" => t.name },
    { for k, t in var.tables : "${k}_table_arn" => t.arn },
    var.template_values,
  )

  template_values = merge(
    local.generated,
    { for k, v in local.generated : lower(k) => v },
    { for k, v in local.generated : upper(k) => v },
  )
}

resource "aws_cloudwatch_log_group" "this" {
  # Step Functions requires the /aws/vendedlogs/ prefix for large policies.
  name              = "/aws/vendedlogs/states/${var.name_prefix}checkout_workflow"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = "${var.name_prefix}checkout_workflow"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

data "aws_iam_policy_document" "this" {
  statement {
    sid       = "HandTasksToTheOrdersWorker"
    actions   = ["sqs:SendMessage"]
    resources = [var.task_queue.arn]
  }

  statement {
    sid       = "PublishOrderEvents"
    actions   = ["sns:Publish"]
    resources = [var.topic_arns["order-events"]]
  }

  statement {
    sid       = "AppendOrderEvents"
    actions   = ["dynamodb:PutItem"]
    resources = [var.tables["OrderEvents"].arn]
  }

  statement {
    sid       = "UseDataKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }

  statement {
    sid       = "Tracing"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"]
    resources = ["*"]
  }

  # Log delivery APIs have no resource-level permissions.
  statement {
    sid = "DeliverLogs"
    actions = [
      "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "checkout-workflow"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

resource "aws_sfn_state_machine" "this" {
  name       = "${var.name_prefix}checkout_workflow"
  role_arn   = aws_iam_role.this.arn
  type       = "STANDARD"
  definition = templatefile(var.definition_file, local.template_values)

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.this.arn}:*"
    include_execution_data = true
    level                  = var.log_level
  }

  tracing_configuration {
    enabled = true
  }

  encryption_configuration {
    type                              = "CUSTOMER_MANAGED_KMS_KEY"
    kms_key_id                        = var.kms_key_arn
    kms_data_key_reuse_period_seconds = 300
  }

  depends_on = [aws_iam_role_policy.this]
}
