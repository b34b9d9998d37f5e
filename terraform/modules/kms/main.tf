# One customer-managed key per environment encrypts data at rest everywhere
# (tables, queues, topics, logs, secrets, images, Lambda environments). The key
# policy grants the AWS services that must use it on our behalf only what they
# need, scoped to this account.
data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name
  partition  = data.aws_partition.current.partition
}

data "aws_iam_policy_document" "key" {
  #checkov:skip=CKV_AWS_111:A key policy's Resource "*" means this key only; the account-root statement is AWS's default key policy, which delegates access control to IAM.
  #checkov:skip=CKV_AWS_356:A key policy's Resource "*" means this key only (it cannot name other resources).
  #checkov:skip=CKV_AWS_109:The account-root kms:* statement keeps the key manageable (without it the key can become unmanageable); IAM policies still decide who may use it.
  statement {
    sid       = "AccountAdministration"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchLogs"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"]
    }
  }

  # Vended logs: the state machine (encrypted with this key) hands its
  # execution logs to CloudWatch Logs through the log delivery service, which
  # must be able to use the key, or the execution logs are dropped (Step
  # Functions "encryption at rest": the key policy allows
  # delivery.logs.amazonaws.com).
  statement {
    sid       = "VendedLogsDelivery"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["delivery.logs.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  # S3 publishes bucket notifications to the encrypted SNS topic, SNS delivers
  # to encrypted SQS queues and CloudWatch publishes alarms to the encrypted
  # alarm topic: each needs a data key.
  statement {
    sid       = "ServicePublishers"
    actions   = ["kms:GenerateDataKey*", "kms:Decrypt"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com", "sns.amazonaws.com", "cloudwatch.amazonaws.com", "events.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  # CloudFront (origin access control) decrypts the SSE-KMS image objects it
  # serves; the bucket policy still decides which objects it may read.
  statement {
    sid       = "CloudFrontServesImages"
    actions   = ["kms:Decrypt"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudfront.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "AWS:SourceArn"
      values   = ["arn:${local.partition}:cloudfront::${local.account_id}:distribution/*"]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "${var.name_prefix}data"
  enable_key_rotation     = true
  deletion_window_in_days = var.deletion_window_in_days
  policy                  = data.aws_iam_policy_document.key.json
}

resource "aws_kms_alias" "this" {
  name          = "alias/${trimsuffix(var.name_prefix, "-")}-data"
  target_key_id = aws_kms_key.this.key_id
}
